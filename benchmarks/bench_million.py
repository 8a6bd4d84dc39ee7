"""A million memories: open time, recall p50, RSS and file sizes, each beside its floor.

The store (384-d vectors) is built once through the bulk path and cached, so later runs (and
runs of other versions of the code, with ``PYTHONPATH`` pointing at them) measure the same
file: ``remember_many`` without an embedder, 10,000 memories a transaction, then
``reembed()`` with an embedder that derives each text's vector from a hash of it (so the
benchmark measures MemoryMesh, not a model). Building 1M takes a while; ``--n 300000`` is a
quicker look.

Each measurement runs in a fresh process, as a one-shot CLI command or hook would:

- open: ``AsyncMemoryMesh(...)`` entered with the embedder (the vector index comes from the
  memory-mapped cache file beside the store when it is current; the first open after a build
  writes it);
- vector / keyword recall p50 (k = 10) over 30 queries after one warm-up, beside a numpy
  float32 brute force over the same matrix and a bare FTS5 ``bm25()`` query;
- RSS after the queries, beside the raw float32 matrix (n x 384 x 4 bytes);
- the database and cache file sizes.

    python benchmarks/bench_million.py --n 1000000 --cache /tmp/mm-million
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

DIM = 384
F32 = npt.NDArray[np.float32]


class HashEmbedder:
    """A text's vector is drawn from a generator seeded by its CRC: same text, same vector."""

    @property
    def name(self) -> str:
        return "bench:hash-384"

    @property
    def dim(self) -> int:
        return DIM

    async def embed(self, texts: Sequence[str]) -> F32:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            rng = np.random.default_rng(zlib.crc32(text.encode()))
            out[i] = rng.standard_normal(DIM, dtype=np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def texts(n: int, seed: int) -> list[dict[str, Any]]:
    """Synthetic memories: 8-15 Zipf-distributed words of a 20,000-word vocabulary."""
    from memorymesh import Category

    rng = np.random.default_rng(seed)
    syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vo", "ne", "qui", "dar", "pel", "zo"]
    words: set[str] = set()
    while len(words) < 20_000:
        words.add("".join(rng.choice(syllables, int(rng.integers(2, 5)))))
    vocab = sorted(words)
    ranks = np.arange(100, 20_100, dtype=np.float64)
    cdf = np.cumsum(1 / ranks)
    cats = [c.value for c in Category]
    lengths = rng.integers(8, 16, n)
    picks = np.searchsorted(cdf, rng.random(int(lengths.sum())) * cdf[-1])
    out = []
    at = 0
    for i in range(n):
        words_i = picks[at : at + lengths[i]]
        at += int(lengths[i])
        out.append(
            {
                "text": " ".join(vocab[int(w)] for w in words_i) + f" n{i}",
                "category": cats[int(rng.integers(len(cats)))],
                "importance": round(float(rng.random()), 2),
                "scope": "project",
            }
        )
    return out


async def build(n: int, cache: Path) -> None:
    import anyio

    from memorymesh import AsyncMemoryMesh

    db = cache / f"m{n}.db"
    items = texts(n, 7)
    started = time.perf_counter()
    async with AsyncMemoryMesh(db, global_path=cache / f"m{n}-global.db") as mesh:
        for start in range(0, n, 10_000):
            await mesh.remember_many(items[start : start + 10_000])
            print(f"  {start + 10_000:,} written", file=sys.stderr, flush=True)
    print(f"  keyword bulk: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    started = time.perf_counter()
    async with AsyncMemoryMesh(
        db, global_path=cache / f"m{n}-global.db", embedding=HashEmbedder()
    ) as mesh:
        await mesh.reembed()
    print(f"  embedded: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    await anyio.Path(cache / f"m{n}.done").write_text("ok")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def measure(n: int, cache: Path, queries: int) -> dict[str, Any]:
    """One fresh process's view: open, recall, RSS (run by :func:`main` in a subprocess)."""
    from memorymesh import AsyncMemoryMesh

    db = cache / f"m{n}.db"
    items = texts(queries + 1, 99)
    qtexts = [" ".join(i["text"].split()[:4]) for i in items]
    out: dict[str, Any] = {"rss_start_mb": rss_mb()}
    started = time.perf_counter()
    async with AsyncMemoryMesh(
        db, global_path=cache / f"m{n}-global.db", embedding=HashEmbedder()
    ) as mesh:
        out["open_ms"] = 1000 * (time.perf_counter() - started)
        for mode in ("vector", "keyword"):
            samples = []
            for i, q in enumerate(qtexts):
                began = time.perf_counter()
                await mesh.recall(q, k=10, mode=mode)
                if i == 0:
                    out[f"first_{mode}_ms"] = 1000 * (time.perf_counter() - began)
                else:
                    samples.append(time.perf_counter() - began)
            samples.sort()
            out[f"{mode}_p50_ms"] = 1000 * samples[len(samples) // 2]
        out["rss_mb"] = rss_mb()
    return out


def floors(n: int, cache: Path, queries: int) -> dict[str, Any]:
    """The floors: numpy over the same float32 matrix, and bare FTS5 bm25() queries."""
    from memorymesh.stores.sqlite._store import fts_match

    db = cache / f"m{n}.db"
    conn = sqlite3.connect(db)
    matrix = np.empty((n, DIM), dtype=np.float32)
    at = 0
    for (blob,) in conn.execute("SELECT embedding FROM memories WHERE embedding IS NOT NULL"):
        if at < n:
            matrix[at] = np.frombuffer(blob, dtype="<f4")
            at += 1
    matrix = matrix[:at]
    embedder = HashEmbedder()
    items = texts(queries + 1, 99)
    qtexts = [" ".join(i["text"].split()[:4]) for i in items]
    import anyio

    qvecs = anyio.run(embedder.embed, qtexts)
    samples = []
    for q in qvecs:
        began = time.perf_counter()
        scores = matrix @ q
        top = np.argpartition(-scores, 10)[:10]
        top[np.argsort(-scores[top])]
        samples.append(time.perf_counter() - began)
    samples.sort()
    out: dict[str, Any] = {"vector_floor_p50_ms": 1000 * samples[len(samples) // 2]}
    samples = []
    for q in qtexts:
        match = fts_match(q)
        began = time.perf_counter()
        conn.execute(
            "SELECT rowid, bm25(memories_fts) FROM memories_fts WHERE memories_fts MATCH ? "
            "ORDER BY bm25(memories_fts) LIMIT 40",
            (match,),
        ).fetchall()
        samples.append(time.perf_counter() - began)
    samples.sort()
    out["keyword_floor_p50_ms"] = 1000 * samples[len(samples) // 2]
    out["matrix_mb"] = at * DIM * 4 / 2**20
    out["vectors"] = at
    conn.close()
    return out


def index_file(n: int, cache: Path) -> Path:
    """The index layer alone: a cache file of ``n`` random 384-d rows (nine categories, some
    superseded, some expiring), written once through ``write_index``."""
    from memorymesh.search._vector_file import FileKey, write_index
    from memorymesh.search._vectors import IndexRow, VectorIndex

    path = cache / f"index{n}-vectors"
    if path.exists():
        return path
    from memorymesh import Category

    cats = [c.value for c in Category]
    rng = np.random.default_rng(3)
    index = VectorIndex(DIM)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = rng.standard_normal((m, DIM), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        rows = [
            IndexRow(f"{i:032x}", cats[i % len(cats)], 0.5, False, 1.0,
                     2e9 if i % 50 == 0 else None, None, i % 30 == 0)
            for i in range(start, start + m)
        ]  # fmt: skip
        index.add(rows, block)
    write_index(index, path, FileKey("bench:index", DIM, "bench"), 1)
    return path


def measure_index(n: int, cache: Path, queries: int) -> dict[str, Any]:
    """A fresh process maps the index file and searches it, beside numpy over the same
    matrix (the mapped one: no second copy)."""
    from memorymesh.search._vector_file import FileKey, read_index
    from memorymesh.search._vectors import VectorFilter

    out: dict[str, Any] = {"rss_start_mb": rss_mb()}
    began = time.perf_counter()
    found = read_index(index_file(n, cache), FileKey("bench:index", DIM, "bench"), 1)
    out["open_ms"] = 1000 * (time.perf_counter() - began)
    assert found is not None
    index = found[0]
    matrix = index._file_matrix
    assert matrix is not None
    rng = np.random.default_rng(5)
    qs = rng.standard_normal((queries + 1, DIM), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    now = time.time()
    ours, floor = [], []
    for i, q in enumerate(qs):
        began = time.perf_counter()
        index.search(q[None, :], 10, VectorFilter(), now=now)
        took = time.perf_counter() - began
        if i == 0:
            out["first_search_ms"] = 1000 * took
            continue
        ours.append(took)
        began = time.perf_counter()
        scores = matrix @ q
        top = np.argpartition(-scores, 10)[:10]
        top[np.argsort(-scores[top])]
        floor.append(time.perf_counter() - began)
    ours.sort()
    floor.sort()
    out["search_p50_ms"] = 1000 * ours[len(ours) // 2]
    out["floor_p50_ms"] = 1000 * floor[len(floor) // 2]
    out["rss_mb"] = rss_mb()
    out["matrix_mb"] = n * DIM * 4 / 2**20
    out["file_mb"] = index_file(n, cache).stat().st_size / 2**20
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mm-million"))
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes to measure")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--index-only", action="store_true", help="the vector index file alone, at --n rows"
    )
    parser.add_argument("--base", type=Path, help="PYTHONPATH of a version to compare with")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure-index", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    import anyio

    if args.index_only:
        args.cache.mkdir(parents=True, exist_ok=True)
        index_file(args.n, args.cache)
        for _ in range(args.runs):  # each in a fresh process, as for the store
            done = subprocess.run(
                [sys.executable, __file__, "--measure-index", "--n", str(args.n), "--cache",
                 str(args.cache), "--queries", str(args.queries)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            print(done.stdout.strip().splitlines()[-1])
        return 0
    if args.measure_index:
        print(json.dumps(measure_index(args.n, args.cache, args.queries)))
        return 0
    if args.measure:
        print(json.dumps(anyio.run(measure, args.n, args.cache, args.queries)))
        return 0
    args.cache.mkdir(parents=True, exist_ok=True)
    if not (args.cache / f"m{args.n}.done").exists():
        for stale in args.cache.glob(f"m{args.n}*.db*"):  # an interrupted build starts over
            stale.unlink()
        anyio.run(build, args.n, args.cache)
    if args.build_only:
        return 0
    versions = {"ours": os.environ.get("PYTHONPATH", "")}
    if args.base:
        versions["base"] = str(args.base)

    def one(pythonpath: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, __file__, "--measure", "--n", str(args.n), "--cache",
             str(args.cache), "--queries", str(args.queries)],
            check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": pythonpath},
        )  # fmt: skip
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    # The first process after a build (or after the other version) pays for what it has to
    # build; it is reported apart from the runs that follow.
    first: dict[str, dict[str, Any]] = {}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
    for name, path in versions.items():
        first[name] = one(path)
    for _ in range(args.runs):
        for name, path in versions.items():  # interleaved: same load for both
            runs[name].append(one(path))
    floor = floors(args.n, args.cache, args.queries)
    db = args.cache / f"m{args.n}.db"
    sizes = {p.name: p.stat().st_size / 2**20 for p in args.cache.glob(db.name + "*")}
    load = os.getloadavg()[0]
    for name in versions:
        print(f"### {name} ({versions[name] or 'this checkout'})\n")
        report(args.n, first[name], runs[name], floor, sizes)
        print()
    print(f"load average at the end: {load:.1f} (2 cores)")
    if args.json:
        out = {"first": first, "runs": runs, "floor": floor, "sizes": sizes, "load": load}
        args.json.write_text(json.dumps(out, indent=2))
    return 0


def report(
    n: int,
    first: dict[str, Any],
    runs: list[dict[str, Any]],
    floor: dict[str, Any],
    sizes: dict[str, float],
) -> None:
    def med(key: str) -> float:
        values = sorted(r[key] for r in runs)
        return float(values[len(values) // 2])

    print(f"## {n:,} memories, 384-d vectors (median of {len(runs)} fresh processes)\n")
    print("| figure | MemoryMesh | floor | ratio |\n|---|---|---|---|")
    opens = ", ".join(f"{r['open_ms']:.0f}" for r in runs)
    print(f"| open, ms | {med('open_ms'):.0f} | - | runs: {opens} |")
    print(
        f"| first process: open + first vector recall, ms | {first['open_ms']:.0f} + "
        f"{first['first_vector_ms']:.0f} | - | - |"
    )
    print(f"| first vector recall after open, ms | {med('first_vector_ms'):.0f} | - | - |")
    for mode in ("vector", "keyword"):
        ours, base = med(f"{mode}_p50_ms"), floor[f"{mode}_floor_p50_ms"]
        print(f"| {mode} recall p50, ms | {ours:.1f} | {base:.1f} | {ours / base:.2f}x |")
    rss, raw = med("rss_mb"), floor["matrix_mb"]
    print(
        f"| RSS after recall, MB | {rss:.0f} | {raw:.0f} (raw float32 matrix) | {rss / raw:.2f}x |"
    )
    for name, mb in sorted(sizes.items()):
        print(f"| file {name}, MB | {mb:.0f} | - | - |")


if __name__ == "__main__":
    raise SystemExit(main())
