"""Conflict-detection quality on labelled corpora, its cost on real conversations, and its
write-throughput cost.

For each pair of ``tests/conflict_corpus.py`` (the development corpus, every pair labelled
with its class and kind; and, scored apart, 45 pairs written after an earlier judge was tuned
on the others), a fresh store on disk remembers the old text, then the new one with the
default policy (``supersede``); the verdict is the kind of the conflict the new memory reports
with the old one, or none. Printed as Markdown: precision / recall / F1 per kind, the issue's
target figures, a per-kind table and the confusion matrix. Keyword mode (the default, no
embedder) always; the local model (``embedding="local"``) when the ``local`` extra and its
weights are installed.

``--heldout`` scores the frozen held-out corpus (``tests/heldout/conflict_pairs.json``,
written independently of the detector and never used to tune it) the same way, printing only
aggregate figures. ``--dev2`` scores the second development corpus
(``tests/conflicts/dev2_pairs.json``): ``--dev2-split A`` (the default, tuned on) in full,
``--dev2-split B`` in aggregate only, like a held-out set. ``--dev3`` scores the third
development corpus (``tests/conflicts/dev3_pairs.json``: time-frame and different-entity
pairs, session 8) in full. ``--dev4`` scores the fourth (``tests/conflicts/dev4_pairs.json``:
terse notes, third person, project facts, changes told as events, numbers and abbreviations,
session 9): ``--dev4-split A`` (tuned on) in full, ``B`` in aggregate only, ``all`` in full.
``--locomo`` stores every turn of
the LoCoMo dev conversations with the default policy and counts the memories hidden
(superseded). ``--throughput`` measures
``remember_many`` into a store that already holds memories, with and without the model.

A false *contradiction* or *near-duplicate* hides the old memory from recall under the default
policy, so precision matters most; low-confidence verdicts (``possible_*``) keep both.

    python benchmarks/bench_conflicts.py             # dev corpus, keyword and local
    python benchmarks/bench_conflicts.py --mistakes  # also list every pair judged wrongly
    python benchmarks/bench_conflicts.py --no-dev --dev2 --dev2-split B --modes keyword
    python benchmarks/bench_conflicts.py --heldout --locomo --throughput
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _conflict_eval import (
    DEV2_PATH,
    HELDOUT_PATH,
    by_kind,
    load_dev2,
    load_heldout,
    markdown,
    mistakes,
    outcomes,
    targets,
    targets_markdown,
)
from conflict_corpus import HELD_OUT, PAIR_KINDS, PAIRS

from memorymesh import AsyncMemoryMesh, NewMemory

DEV3_PATH = DEV2_PATH.with_name("dev3_pairs.json")
DEV4_PATH = DEV2_PATH.with_name("dev4_pairs.json")


def _local_available() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None


_MODEL: list[Any] = []


def _embedding(mode: str) -> Any:
    if mode == "keyword":
        return "none"
    if not _MODEL:  # one model for every store of the run
        from memorymesh import LocalEmbedder

        _MODEL.append(LocalEmbedder())
    return _MODEL[0]


async def corpus(mode: str, *, show_mistakes: bool) -> None:
    kinds_45 = ["held_out_45"] * len(HELD_OUT)
    for name, pairs, kinds in (("dev corpus", PAIRS, PAIR_KINDS), ("45 pairs", HELD_OUT, kinds_45)):
        started = time.perf_counter()
        outs = await outcomes(pairs, embedding=_embedding(mode))
        took = time.perf_counter() - started
        labels = [label for label, _, _ in pairs]
        got = [o.kind for o in outs]
        print(f"\n### {mode}, {name} ({len(pairs)} pairs, {took:.1f} s)\n")
        print(targets_markdown(targets(labels, outs)))
        print()
        print(markdown(labels, got))
        print()
        print(by_kind(labels, kinds, outs))
        if show_mistakes:
            print()
            print("\n".join(mistakes(pairs, got)))


def _load_or_none(path: Path) -> list[tuple[str, str, str, str]] | None:
    return load_heldout(path) if path.exists() else None


async def heldout(mode: str, path: Path, *, auto_scope: bool = False) -> None:
    """Aggregates only: the held-out pairs are never printed."""
    rows = await anyio.to_thread.run_sync(_load_or_none, path)
    if rows is None:
        print(f"\n(no held-out corpus at {path})")
        return
    pairs = [(label, old, new) for label, _, old, new in rows]
    started = time.perf_counter()
    outs = await outcomes(
        pairs, embedding=_embedding(mode), scope=None if auto_scope else "project"
    )
    took = time.perf_counter() - started
    labels = [label for label, _, _, _ in rows]
    scopes = ", scopes inferred" if auto_scope else ""
    print(f"\n### {mode}, held-out corpus{scopes} ({len(rows)} pairs, {took:.1f} s)\n")
    print(targets_markdown(targets(labels, outs)))
    print()
    print(by_kind(labels, [kind for _, kind, _, _ in rows], outs))


async def dev2(
    mode: str, split: str, *, show_mistakes: bool, path: Path = DEV2_PATH, name: str = "dev2"
) -> None:
    """The second development corpus: split A (tuned on) in full, split B (measured like a
    held-out set) in aggregate only, its pairs never printed. With ``path``, another corpus
    of the same format (the third, ``split="all"``)."""
    rows = load_dev2(None if split == "all" else split, path)
    pairs = [(label, old, new) for label, _, old, new in rows]
    started = time.perf_counter()
    outs = await outcomes(pairs, embedding=_embedding(mode))
    took = time.perf_counter() - started
    labels = [label for label, _, _, _ in rows]
    print(f"\n### {mode}, {name} split {split} ({len(rows)} pairs, {took:.1f} s)\n")
    print(targets_markdown(targets(labels, outs)))
    if split == "B":
        return
    print()
    print(by_kind(labels, [kind for _, kind, _, _ in rows], outs))
    if show_mistakes:
        print()
        print("\n".join(mistakes(pairs, [o.kind for o in outs])))


async def locomo(mode: str) -> None:
    """Every LoCoMo dev turn stored with the default policy: how many memories get hidden."""
    from bench_quality import DATA, turns

    if not DATA.exists():
        print(f"\n(no LoCoMo data at {DATA})")
        return
    data = json.loads(DATA.read_text())
    total = hidden = low = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for conv in data:
            items = [
                item.model_copy(update={"on_conflict": None})
                for item in turns(conv["conversation"])
            ]
            base = Path(tmp) / str(conv["sample_id"])
            async with AsyncMemoryMesh(
                base / "p.db", global_path=base / "g.db", embedding=_embedding(mode)
            ) as mesh:
                stored = await mesh.remember_many(items)
                total += len(items)
                hidden += await mesh.count(include_superseded=True) - await mesh.count()
                low += sum(1 for m in stored for c in m.conflicts if c.kind.startswith("possible_"))
    took = time.perf_counter() - started
    print(
        f"\nLoCoMo dev, {mode}: {total} turns stored with the default policy, {hidden} hidden "
        f"(superseded), {low} low-confidence conflicts reported ({took:.1f} s)"
    )


_SUBJECTS = ["the user", "our team", "the billing service", "Maria", "the staging server",
             "the mobile app", "the data team", "Omar", "the API gateway", "the build"]  # fmt: skip
_VERBS = ["uses", "prefers", "runs on", "is owned by", "deploys to", "depends on", "likes",
          "moved to", "switched to", "needs"]  # fmt: skip


def _synthetic(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(5000)]
    return [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(words)} "
        f"{rng.choice(words)} for {rng.choice(words)} {rng.randint(1, 500)}"
        for _ in range(n)
    ]


async def throughput(mode: str, *, stored: int, batch: int) -> None:
    """``remember_many`` of ``batch`` new memories into a store already holding ``stored``."""
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncMemoryMesh(
            Path(tmp) / "p.db", global_path=Path(tmp) / "g.db", embedding=_embedding(mode)
        ) as mesh:
            fill = _synthetic(stored, 1)
            for at in range(0, stored, 1000):
                chunk = fill[at : at + 1000]
                await mesh.remember_many(
                    [NewMemory(text=t, scope="project", on_conflict="keep_both") for t in chunk]
                )
            rates, cpu_rates, found = [], [], []
            for run in range(3):
                texts = _synthetic(batch, 100 + run)
                items = [NewMemory(text=t, scope="project") for t in texts]
                started, cpu = time.perf_counter(), time.process_time()
                written = await mesh.remember_many(items)
                rates.append(batch / (time.perf_counter() - started))
                # Every thread's CPU time: on a loaded machine the wall clock measures the
                # other processes too.
                cpu_rates.append(batch / (time.process_time() - cpu))
                found.append(sum(len(m.conflicts) for m in written))
            rates.sort()
            cpu_rates.sort()
    print(
        f"\nthroughput, {mode}: remember_many of {batch} into {stored:,} stored: "
        f"median {rates[1]:,.0f}/s (runs {', '.join(f'{r:,.0f}' for r in rates)}); "
        f"CPU time median {cpu_rates[1]:,.0f}/s "
        f"(runs {', '.join(f'{r:,.0f}' for r in cpu_rates)}); "
        f"= {1e6 / cpu_rates[1]:,.0f} µs per memory; conflicts reported per run {found}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mistakes", action="store_true", help="list the pairs judged wrongly")
    parser.add_argument(
        "--modes", default="keyword,local", help="comma-separated: keyword, local (default both)"
    )
    parser.add_argument("--no-dev", action="store_true", help="skip the development corpus")
    parser.add_argument("--dev2", action="store_true", help="score the second dev corpus")
    parser.add_argument(
        "--dev2-split",
        choices=("A", "B", "all"),
        default="A",
        help="dev2: split A (tuned on, full tables), B (aggregates only) or all",
    )
    parser.add_argument("--dev3", action="store_true", help="score the third dev corpus")
    parser.add_argument("--dev4", action="store_true", help="score the fourth dev corpus")
    parser.add_argument(
        "--dev4-split",
        choices=("A", "B", "all"),
        default="A",
        help="dev4: split A (tuned on, full tables), B (aggregates only) or all",
    )
    parser.add_argument("--heldout", action="store_true", help="score the held-out corpus")
    parser.add_argument(
        "--heldout-path", type=Path, default=HELDOUT_PATH, help="the held-out corpus file"
    )
    parser.add_argument(
        "--auto-scope", action="store_true", help="held-out: let each text's scope be inferred"
    )
    parser.add_argument("--locomo", action="store_true", help="store LoCoMo dev, count hidden")
    parser.add_argument("--throughput", action="store_true", help="measure remember_many")
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    for mode in args.modes.split(","):
        if mode == "local" and not _local_available():
            print("\n(local model not installed: pip install 'memorymesh[local]')")
            continue
        if not args.no_dev:
            await corpus(mode, show_mistakes=args.mistakes)
        if args.dev2:
            await dev2(mode, args.dev2_split, show_mistakes=args.mistakes)
        if args.dev3:
            await dev2(mode, "all", show_mistakes=args.mistakes, path=DEV3_PATH, name="dev3")
        if args.dev4:
            await dev2(
                mode, args.dev4_split, show_mistakes=args.mistakes, path=DEV4_PATH, name="dev4"
            )
        if args.heldout:
            await heldout(mode, args.heldout_path, auto_scope=args.auto_scope)
        if args.locomo:
            await locomo(mode)
        if args.throughput:
            await throughput(mode, stored=args.stored, batch=args.batch)


if __name__ == "__main__":
    anyio.run(main)
