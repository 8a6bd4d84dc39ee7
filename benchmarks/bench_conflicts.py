"""Conflict-detection quality: the hand-labelled corpus of memory pairs through real stores.

For each pair of ``tests/conflict_corpus.py`` (310 pairs: duplicates, near-duplicates,
contradictions, unrelated and compatible memories; and, scored apart, 45 held-out pairs
written after the judge was tuned on the others), a fresh store on disk remembers the old
text, then the new one with the default policy (``supersede``); the verdict is the kind of the
conflict the new memory reports with the old one, or none. Printed as Markdown: precision /
recall / F1 per kind, for "any conflict" (flagged at all) and micro-averaged over kinds, then
the confusion matrix. Keyword mode (the default, no embedder) always; the local model
(``embedding="local"``) when the ``local`` extra and its weights are installed.

A false *contradiction* or *near-duplicate* hides the old memory from recall under the default
policy, so precision matters most.

    python benchmarks/bench_conflicts.py             # keyword, and local when installed
    python benchmarks/bench_conflicts.py --mistakes  # also list every pair judged wrongly
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _conflict_eval import markdown, mistakes, verdicts
from conflict_corpus import HELD_OUT, PAIRS


def _local_available() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mistakes", action="store_true", help="list the pairs judged wrongly")
    parser.add_argument(
        "--modes", default="keyword,local", help="comma-separated: keyword, local (default both)"
    )
    args = parser.parse_args()
    for mode in args.modes.split(","):
        if mode == "local" and not _local_available():
            print("\n(local model not installed: pip install 'memorymesh[local]')")
            continue
        for name, pairs in (("corpus", PAIRS), ("held out", HELD_OUT)):
            started = time.perf_counter()
            got = await verdicts(pairs, embedding="none" if mode == "keyword" else "local")
            took = time.perf_counter() - started
            print(f"\n### {mode}, {name} ({len(pairs)} pairs, {took:.1f} s)\n")
            print(markdown([label for label, _, _ in pairs], got))
            if args.mistakes:
                print()
                print("\n".join(mistakes(pairs, got)))


if __name__ == "__main__":
    anyio.run(main)
