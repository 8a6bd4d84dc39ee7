"""Core speed: remember, recall (keyword / vector / hybrid / filtered) at 1k, 10k, 100k memories.

Every figure is measured in one run next to its floor, so it can be read as a ratio:

- a numpy brute force over the same float32 vectors (``q @ M.T`` + ``argpartition``), and
  the same over one category's rows only (the per-partition floor for filtered recall);
- MemoryMesh 4.x from PyPI (``memorymesh==4.3.0``) in its own virtualenv
  (``.venv-memorymesh4``, created on first use), keyword mode, at the sizes given by
  ``--mm4-sizes``.

Vectors are precomputed random 384-d unit vectors served by an embedder that looks them up,
so the figures measure MemoryMesh, not a model. Texts are synthetic: 8-15 words drawn from a
20,000-word vocabulary with Zipf frequencies (ranks from 100 on, as content words after
stopwords); queries are 4 words of another such text.

    python benchmarks/bench_core.py                       # 1k, 10k, 100k; 4.x at 1k and 10k
    python benchmarks/bench_core.py --sizes 1000 --mm4-sizes ""   # a quick look
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt

from memorymesh import AsyncMemoryMesh, Category

ROOT = Path(__file__).resolve().parent.parent
MM4_VENV = ROOT / ".venv-memorymesh4"
DIM = 384
CATEGORIES = [c.value for c in Category]
F32 = npt.NDArray[np.float32]


# -- synthetic data ------------------------------------------------------------------------------


class Corpus:
    """Deterministic texts, queries and vectors."""

    def __init__(self, seed: int = 42, vocab: int = 20_000) -> None:
        self.rng = np.random.default_rng(seed)
        syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vo", "ne", "qui", "dar", "pel", "zo"]
        words: set[str] = set()
        while len(words) < vocab:
            n = int(self.rng.integers(2, 5))
            words.add("".join(self.rng.choice(syllables, n)))
        self.words = sorted(words)
        # Zipf over content words: the head of real text is stopwords, which recall drops,
        # so ranks start at 100 (the most common content word is in ~3% of memories).
        ranks = np.arange(100, vocab + 100, dtype=np.float64)
        self.p = (1 / ranks) / (1 / ranks).sum()
        self.cdf = np.cumsum(self.p)
        self.vectors: dict[str, F32] = {}

    def text(self) -> str:
        n = int(self.rng.integers(8, 16))
        picks = np.searchsorted(self.cdf, self.rng.random(n) * self.cdf[-1])
        return " ".join(self.words[int(i)] for i in picks)

    def vector(self, text: str) -> F32:
        v = self.vectors.get(text)
        if v is None:
            v = self.rng.standard_normal(DIM).astype(np.float32)
            v /= np.linalg.norm(v)
            self.vectors[text] = v
        return v

    def items(self, n: int) -> list[dict[str, Any]]:
        return [
            {
                "text": self.text(),
                "category": CATEGORIES[int(self.rng.integers(len(CATEGORIES)))],
                "importance": round(float(self.rng.random()), 2),
                "scope": "project",
            }
            for _ in range(n)
        ]


class PrecomputedEmbedder:
    """Serves the corpus's vectors: an embedder whose cost is a dictionary lookup."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus

    @property
    def name(self) -> str:
        return "bench:precomputed-384"

    @property
    def dim(self) -> int:
        return DIM

    async def embed(self, texts: Sequence[str]) -> F32:
        return np.stack([self.corpus.vector(t) for t in texts]) if texts else np.zeros((0, DIM))


# -- measuring -----------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "mean_ms": 1000 * sum(ordered) / len(ordered),
    }


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, float]:
    await fn()  # warm-up
    samples, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        await fn()
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    # CPU time per call (every thread of the process) beside the wall clock: on a loaded
    # machine the wall clock also measures the other processes.
    return {**stats(samples), "cpu_p50_ms": stats(cpu)["p50_ms"]}


def floor(matrix: F32, queries: F32, k: int) -> dict[str, float]:
    samples, cpu = [], []
    for q in queries:
        started, cpu_started = time.perf_counter(), time.process_time()
        scores = matrix @ q
        top = np.argpartition(-scores, k)[:k]
        top[np.argsort(-scores[top])]
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return {**stats(samples), "cpu_p50_ms": stats(cpu)["p50_ms"]}


#: The insert floor again without some of the triggers every write fires: what each costs.
FLOOR_PARTS: dict[str, tuple[str, ...]] = {
    "without memory_counts": ("memory_counts_insert",),
    "without the change feed": ("memories_change_insert",),
    "without FTS5": ("memories_fts_insert",),
    "without any trigger": (
        "memory_counts_insert",
        "memories_change_insert",
        "memories_fts_insert",
    ),
}


def _insert_floor(
    conn: sqlite3.Connection, batches: list[list[tuple[Any, ...]]]
) -> dict[str, float]:
    """Rows a second, wall and CPU, of ``batches`` inserted as ``remember_many`` would write
    them: one transaction each, the memories and a write-log row each (rows of 13 values
    carry the embedding and its model too)."""
    vectors = bool(batches) and len(batches[0][0]) == 13
    started, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO memories (id, text, content_hash, category, importance, scope, "
            "metadata, source, redactions, created_at, updated_at"
            + (", embedding, embedding_model) " if vectors else ") ")
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
            + (", ?, ?)" if vectors else ")"),
            batch,
        )
        conn.executemany(
            "INSERT INTO write_log (at, action, memory_id, source, detail) "
            "VALUES (?, 'stored', ?, 'api', '{}')",
            [(row[9], row[0]) for row in batch],
        )
        conn.execute("COMMIT")
    n = sum(len(b) for b in batches)
    return {
        "wall": n / (time.perf_counter() - started),
        "cpu": n / max(time.process_time() - cpu, 1e-9),
    }


def _rows(corpus: Corpus, n: int, now: float, embedder: str | None = None) -> list[tuple[Any, ...]]:
    """``n`` new memories as the insert floor writes them (with their vectors and the
    embedder's name when ``embedder`` is given)."""
    from memorymesh._text import content_hash
    from memorymesh.search._vectors import to_blob

    rows: list[tuple[Any, ...]] = []
    for item in corpus.items(n):
        text = item["text"]
        row: tuple[Any, ...] = (
            os.urandom(16).hex(), text, content_hash(text), item["category"],
            item["importance"], "project", "{}", "api", "[]", now, now,
        )  # fmt: skip
        if embedder is not None:
            row += (to_blob(corpus.vector(text)), embedder)
        rows.append(row)
    return rows


async def thread_floor(db: Path, queries: list[str]) -> dict[str, float]:
    """The FTS5 floor's query through an ``aiosqlite`` connection (its own thread), as every
    store read runs: what the thread hop alone adds to the bare query."""
    import aiosqlite

    from memorymesh.stores.sqlite._store import fts_match as fts_query

    match = [m for m in (fts_query(q) for q in queries) if m is not None]
    async with aiosqlite.connect(db) as conn:
        await conn.execute("PRAGMA cache_size = -16384")

        async def one(m: str) -> None:
            await conn.execute_fetchall(FTS_FLOOR, (m,))

        samples, cpu = [], []
        for m in match:
            started, cpu_started = time.perf_counter(), time.process_time()
            await one(m)
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    return {**stats(samples), "cpu_p50_ms": stats(cpu)["p50_ms"]}


#: The bare FTS5 query of the keyword floor: the 40 best rows by ``bm25()``.
FTS_FLOOR = (
    "SELECT rowid, bm25(memories_fts) FROM memories_fts WHERE memories_fts MATCH ? "
    "ORDER BY bm25(memories_fts) LIMIT 40"
)


def sqlite_floors(db: Path, corpus: Corpus, queries: list[str]) -> dict[str, Any]:
    """What SQLite alone costs for MemoryMesh's work, on the same file.

    - insert: 5 transactions of 1,000 rows into the same table (so the same indexes and
      FTS5 trigger) plus one write-log row each, straight through ``sqlite3.executemany``:
      what ``remember_many`` writes, with none of its checks.
    - fts: the 40 best rows by ``bm25()`` for each query's FTS5 expression, without the join
      to the memories table: what one ``recall(k=10)`` asks FTS5 for (4 candidates a result).
    """
    from memorymesh.stores.sqlite._store import fts_match as fts_query

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        match = [m for m in (fts_query(q) for q in queries) if m is not None]
        samples, cpu = [], []
        for m in match:
            started, cpu_started = time.perf_counter(), time.process_time()
            conn.execute(FTS_FLOOR, (m,)).fetchall()
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        out: dict[str, Any] = {"fts": {**stats(samples), "cpu_p50_ms": stats(cpu)["p50_ms"]}}
        now = time.time()
        batches = [_rows(corpus, 1000, now) for _ in range(5)]
        # What each trigger costs the floor: the same inserts into copies of the file
        # without it (the copies are made before the floor writes, so all start alike).
        parts: dict[str, dict[str, float]] = {}
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for name, dropped in FLOOR_PARTS.items():
            copy = db.with_name(f"floor-{db.name}")
            shutil.copyfile(db, copy)
            part = sqlite3.connect(copy, isolation_level=None)
            try:
                part.execute("PRAGMA journal_mode = WAL")
                part.execute("PRAGMA synchronous = NORMAL")
                part.execute("PRAGMA cache_size = -16384")
                for trigger in dropped:
                    part.execute(f"DROP TRIGGER {trigger}")  # names from FLOOR_PARTS
                parts[name] = _insert_floor(part, batches)
            finally:
                part.close()
                for extra in copy.parent.glob(copy.name + "*"):
                    extra.unlink()
        out["insert_parts"] = parts
        # As a store's connection is set up (stores/sqlite/_store.py).
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -16384")
        floor_run = _insert_floor(conn, batches)
        out["insert_per_s"] = floor_run["wall"]
        out["insert_cpu_per_s"] = floor_run["cpu"]
        # One row a transaction, 200 times: what a single ``remember`` writes, bare.
        single = _insert_floor(conn, [[row] for row in _rows(corpus, 200, time.time())])
        out["insert_single_ms"] = 1000 / single["wall"]
        out["insert_single_cpu_ms"] = 1000 / single["cpu"]
        return out
    finally:
        conn.close()


def db_size(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


# -- the runs ------------------------------------------------------------------------------------


async def bench_keyword(n: int, corpus: Corpus, work: Path, queries: int) -> dict[str, Any]:
    db = work / f"kw-{n}.db"
    out: dict[str, Any] = {}
    async with AsyncMemoryMesh(db, global_path=work / f"kw-{n}-global.db") as mesh:
        for start in range(0, n, 5000):
            await mesh.remember_many(corpus.items(min(5000, n - start)))
        # remember_many at N existing: 10 batches of 1000.
        batches = [corpus.items(1000) for _ in range(5)]
        started, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            await mesh.remember_many(batch)
        out["remember_many_per_s"] = 5000 / (time.perf_counter() - started)
        # Every thread of the process (SQLite works on aiosqlite's): on a loaded machine
        # the wall clock measures the other processes too.
        out["remember_many_cpu_per_s"] = 5000 / (time.process_time() - cpu)
        singles = iter(corpus.items(queries + 1))
        out["remember"] = await timed(lambda: mesh.remember(**next(singles)), queries)
        texts = [corpus.text() for _ in range(queries + 1)]
        qs = iter(" ".join(t.split()[:4]) for t in texts)
        out["keyword"] = await timed(lambda: mesh.recall(next(qs), k=10, mode="keyword"), queries)
        qs = iter(" ".join(t.split()[:4]) for t in texts)
        out["keyword_filtered"] = await timed(
            lambda: mesh.recall(next(qs), k=10, mode="keyword", category="decision"), queries
        )
    started = time.perf_counter()
    async with AsyncMemoryMesh(db, global_path=work / f"kw-{n}-global.db") as mesh:
        out["open_ms"] = 1000 * (time.perf_counter() - started)
        # The first write after opening: what a one-shot CLI or hook process pays. It reads
        # its conflict candidates from the tokens the store keeps (it used to build an index
        # of every memory's tokens first).
        (item,) = corpus.items(1)
        started = time.perf_counter()
        await mesh.remember(**item)
        out["first_remember_ms"] = 1000 * (time.perf_counter() - started)
    out["db_mb"] = db_size(db)
    out["fts_thread"] = await thread_floor(db, [" ".join(t.split()[:4]) for t in texts])
    out["sqlite"] = sqlite_floors(db, corpus, [" ".join(t.split()[:4]) for t in texts])
    return out


async def bench_vector(n: int, corpus: Corpus, work: Path, queries: int) -> dict[str, Any]:
    db = work / f"vec-{n}.db"
    out: dict[str, Any] = {}
    embedder = PrecomputedEmbedder(corpus)
    rss_before = rss_mb()
    async with AsyncMemoryMesh(
        db, global_path=work / f"vec-{n}-global.db", embedding=embedder
    ) as mesh:
        for start in range(0, n, 5000):
            await mesh.remember_many(corpus.items(min(5000, n - start)))
        batch = corpus.items(1000)
        await embedder.embed([i["text"] for i in batch])  # precomputed: not timed
        started, cpu = time.perf_counter(), time.process_time()
        await mesh.remember_many(batch)
        out["remember_many_vec_per_s"] = 1000 / (time.perf_counter() - started)
        out["remember_many_vec_cpu_per_s"] = 1000 / (time.process_time() - cpu)
        index = mesh._indexes.vectors[mesh.stores[0]]
        # The conflict check's arithmetic alone: one batch x index product.
        batch_vectors = await embedder.embed([i["text"] for i in corpus.items(1000)])
        everything = index.vectors(index.ids())
        started, cpu = time.perf_counter(), time.process_time()
        batch_vectors @ everything.T
        out["matmul_floor_per_s"] = 1000 / (time.perf_counter() - started)
        out["matmul_floor_cpu_per_s"] = 1000 / (time.process_time() - cpu)
        del everything
        # The floor: the same vectors in one float32 matrix, and one category's rows.
        matrix = index.vectors(index.ids())
        partition = np.concatenate([b.matrix[: b.n] for b in index._blocks["decision"]])
        qtexts = [corpus.text() for _ in range(queries + 1)]
        qvecs = np.stack([corpus.vector(t) for t in qtexts])
        out["floor"] = floor(matrix, qvecs, 10)
        out["floor_partition"] = floor(partition, qvecs, 10)
        qi = iter(range(queries + 1))

        async def index_only() -> None:
            index.search(qvecs[next(qi) % len(qvecs)][None, :], 10, now=time.time())

        out["index_search"] = await timed(index_only, queries)
        qs = iter(qtexts * 2)
        out["vector"] = await timed(lambda: mesh.recall(next(qs), k=10, mode="vector"), queries)
        qs = iter(qtexts * 2)
        out["vector_filtered"] = await timed(
            lambda: mesh.recall(next(qs), k=10, mode="vector", category="decision"), queries
        )
        qs = iter(qtexts * 2)
        out["hybrid"] = await timed(lambda: mesh.recall(next(qs), k=10, mode="hybrid"), queries)
        out["rss_mb"] = rss_mb()
        out["rss_growth_mb"] = out["rss_mb"] - rss_before
        del matrix, partition
    gc.collect()
    started = time.perf_counter()
    async with AsyncMemoryMesh(
        db, global_path=work / f"vec-{n}-global.db", embedding=embedder
    ) as mesh:
        out["open_ms"] = 1000 * (time.perf_counter() - started)
    out["db_mb"] = db_size(db)
    # The insert floor with vectors: one batch of 1,000 rows with their embeddings into
    # the same table (same indexes and triggers), as the timed remember_many wrote.
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -16384")
        vec_floor = _insert_floor(conn, [_rows(corpus, 1000, time.time(), embedder.name)])
    finally:
        conn.close()
    out["insert_vec_per_s"] = vec_floor["wall"]
    out["insert_vec_cpu_per_s"] = vec_floor["cpu"]
    return out


# The store is filled through 4.x's own `MemoryStore.save`, the row its `remember` writes,
# because building 10k memories through `remember` takes hours: every 50th call runs an
# all-pairs compaction. That compaction is part of what a `remember` costs a user, so the
# timed writes are one full period of it and the report gives their mean next to the p50.
_MM4_WORKER = r"""
import json, sys, tempfile, time
from pathlib import Path
from memorymesh import MemoryMesh
from memorymesh.memory import Memory
n, queries, writes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
items = json.load(sys.stdin)
with tempfile.TemporaryDirectory() as d:
    mesh = MemoryMesh(path=str(Path(d) / "p.db"), global_path=str(Path(d) / "g.db"),
                      embedding="none")
    for item in items[:n]:
        mesh._project_store.save(
            Memory(text=item["text"], importance=item["importance"], scope="project"))
    r = []
    for item in items[:queries]:
        q = " ".join(item["text"].split()[:4])
        s = time.perf_counter()
        mesh.recall(q, k=10)
        r.append(time.perf_counter() - s)
    t = []
    for item in items[n:n + writes]:
        s = time.perf_counter()
        mesh.remember(item["text"], importance=item["importance"], scope="project")
        t.append(time.perf_counter() - s)
    mesh.close()
mean = sum(t) / len(t); t.sort(); r.sort()
print(json.dumps({"remember_p50_ms": 1000 * t[len(t) // 2], "remember_mean_ms": 1000 * mean,
                  "recall_p50_ms": 1000 * r[len(r) // 2]}))
"""

#: 4.x compacts every 50 writes: timing 50 includes exactly one compaction.
MM4_WRITES = 50


def bench_mm4(n: int, corpus: Corpus, queries: int, timeout: float) -> dict[str, Any] | None:
    python = MM4_VENV / "bin" / "python"
    if not python.exists():
        print("creating .venv-memorymesh4 with memorymesh==4.3.0 ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(MM4_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "memorymesh==4.3.0"], check=True
        )
    items = corpus.items(n + MM4_WRITES)
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", _MM4_WORKER, str(n), str(queries), str(MM4_WRITES)],
            input=json.dumps(items),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "HOME": tempfile.gettempdir()},
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        print(f"MemoryMesh 4.x did not finish at {n:,} in {timeout:.0f} s", file=sys.stderr)
        return {"timed_out_s": timeout}
    if done.returncode != 0:
        print(f"MemoryMesh 4.x failed: {done.stderr[-500:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--mm4-sizes", default="1000,2000,10000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--mm4-timeout", type=float, default=1800, help="seconds before giving up on 4.x"
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    mm4_sizes = {int(s) for s in args.mm4_sizes.split(",") if s}
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for n in sizes:
            corpus = Corpus(seed=n)
            print(f"N = {n:,} ...", file=sys.stderr)
            kw = anyio.run(bench_keyword, n, corpus, Path(scratch), args.queries)
            vec = anyio.run(bench_vector, n, corpus, Path(scratch), args.queries)
            results[n] = {"keyword": kw, "vector": vec}
    mm4: dict[int, dict[str, Any] | None] = {}
    for n in sorted(mm4_sizes):
        print(f"MemoryMesh 4.x, N = {n:,} ...", file=sys.stderr)
        mm4[n] = bench_mm4(n, Corpus(seed=n), args.queries, args.mm4_timeout)
    report(results, mm4)
    if args.json:
        args.json.write_text(json.dumps({"ours": results, "mm4": mm4}, indent=2))
    return 0


def report(results: dict[int, dict[str, Any]], mm4: dict[int, dict[str, Any] | None]) -> None:
    print("## Recall latency (k = 10), ms\n")
    print(
        "| N | keyword p50 / p95 | FTS5 bm25 floor p50 | keyword / floor "
        "| keyword+category p50 | vector p50 / p95 | numpy floor p50 "
        "| vector / floor | index only p50 | filtered vector p50 | partition floor p50 "
        "| filtered / floor | hybrid p50 |"
    )
    print("|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in results.items():
        k, v = r["keyword"], r["vector"]
        print(
            f"| {n:,} | {k['keyword']['p50_ms']:.2f} / {k['keyword']['p95_ms']:.2f} "
            f"| {k['sqlite']['fts']['p50_ms']:.2f} "
            f"| {k['keyword']['p50_ms'] / k['sqlite']['fts']['p50_ms']:.2f}x "
            f"| {k['keyword_filtered']['p50_ms']:.2f} "
            f"| {v['vector']['p50_ms']:.2f} / {v['vector']['p95_ms']:.2f} "
            f"| {v['floor']['p50_ms']:.2f} | {v['vector']['p50_ms'] / v['floor']['p50_ms']:.2f}x "
            f"| {v['index_search']['p50_ms']:.2f} | {v['vector_filtered']['p50_ms']:.2f} "
            f"| {v['floor_partition']['p50_ms']:.2f} "
            f"| {v['vector_filtered']['p50_ms'] / v['floor_partition']['p50_ms']:.2f}x "
            f"| {v['hybrid']['p50_ms']:.2f} |"
        )
    print("\n## Keyword recall in CPU time (every thread; read these when the machine is loaded)\n")
    print("| N | keyword CPU p50 ms | FTS5 bm25 floor CPU p50 ms | keyword / floor |")
    print("|---:|---:|---:|---:|")
    for n, r in results.items():
        k = r["keyword"]
        ours, bare = k["keyword"]["cpu_p50_ms"], k["sqlite"]["fts"]["cpu_p50_ms"]
        print(f"| {n:,} | {ours:.2f} | {bare:.2f} | {ours / bare:.2f}x |")
    print("\n## Writes, size, open\n")
    print(
        "| N | remember p50 / p95 ms | remember_many /s (no embedder) "
        "| SQLite insert floor /s | ratio "
        "| remember_many /s (384-d vectors + conflicts) | batch x index matmul floor /s "
        "| ratio | DB MB (kw / vec) | open ms (kw / vec) | first remember after open ms "
        "| RSS MB |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for n, r in results.items():
        k, v = r["keyword"], r["vector"]
        print(
            f"| {n:,} | {k['remember']['p50_ms']:.2f} / {k['remember']['p95_ms']:.2f} "
            f"| {k['remember_many_per_s']:,.0f} | {k['sqlite']['insert_per_s']:,.0f} "
            f"| {k['remember_many_per_s'] / k['sqlite']['insert_per_s']:.2f} "
            f"| {v['remember_many_vec_per_s']:,.0f} | {v['matmul_floor_per_s']:,.0f} "
            f"| {v['remember_many_vec_per_s'] / v['matmul_floor_per_s']:.2f} "
            f"| {k['db_mb']:.1f} / {v['db_mb']:.1f} | {k['open_ms']:.0f} / {v['open_ms']:.0f} "
            f"| {k['first_remember_ms']:.0f} | {v['rss_mb']:.0f} |"
        )
    print("\n## Writes in CPU time (every thread; read these when the machine is loaded)\n")
    print(
        "| N | remember_many /s (no embedder) | SQLite insert floor /s | ratio "
        "| remember_many /s (vectors + conflicts) | matmul floor /s | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in results.items():
        k, v = r["keyword"], r["vector"]
        print(
            f"| {n:,} | {k['remember_many_cpu_per_s']:,.0f} "
            f"| {k['sqlite']['insert_cpu_per_s']:,.0f} "
            f"| {k['remember_many_cpu_per_s'] / k['sqlite']['insert_cpu_per_s']:.2f} "
            f"| {v['remember_many_vec_cpu_per_s']:,.0f} | {v['matmul_floor_cpu_per_s']:,.0f} "
            f"| {v['remember_many_vec_cpu_per_s'] / v['matmul_floor_cpu_per_s']:.2f} |"
        )
    print("\n## The insert floor without its triggers (CPU rows/s; share of the floor's CPU)\n")
    print("| N | all triggers | " + " | ".join(FLOOR_PARTS) + " |")
    print("|---:|---:|" + "---:|" * len(FLOOR_PARTS))
    for n, r in results.items():
        sq = r["keyword"]["sqlite"]
        base = sq["insert_cpu_per_s"]
        cells = []
        for name in FLOOR_PARTS:
            rate = sq["insert_parts"][name]["cpu"]
            # The part's share: the floor's CPU per row it saves.
            cells.append(f"{rate:,.0f} ({1 - base / rate:.0%} less)")
        print(f"| {n:,} | {base:,.0f} | " + " | ".join(cells) + " |")
    targets(results)
    if not mm4:
        return
    print("\n## Against MemoryMesh 4.3.0 (keyword mode, same kind of texts)\n")
    print("4.x's store is filled through its own MemoryStore.save; its remember is timed over")
    print(f"{MM4_WRITES} calls, one period of its automatic all-pairs compaction, so its mean")
    print("is what a remember costs on average. Ours at the same N, or at the next larger N")
    print("measured (our costs grow with N, so that ratio is a lower bound).\n")
    print(
        "| N (4.x) | 4.x remember p50 / mean ms | 4.x recall p50 ms | our N "
        "| our remember p50 / mean ms | remember ratio (mean) | our recall p50 ms "
        "| recall ratio |"
    )
    print("|---:|---|---:|---:|---|---:|---:|---:|")
    for n, old in mm4.items():
        if old is None:
            continue
        ours_n = min((m for m in results if m >= n), default=max(results, default=0))
        if ours_n == 0:
            continue
        k = results[ours_n]["keyword"]
        ours_w, ours_r = k["remember"], k["keyword"]["p50_ms"]
        ours_cell = f"{ours_w['p50_ms']:.2f} / {ours_w['mean_ms']:.2f}"
        if "timed_out_s" in old:
            print(
                f"| {n:,} | did not finish in {old['timed_out_s']:.0f} s | "
                f"| {ours_n:,} | {ours_cell} | | {ours_r:.2f} | |"
            )
            continue
        print(
            f"| {n:,} | {old['remember_p50_ms']:.2f} / {old['remember_mean_ms']:.1f} "
            f"| {old['recall_p50_ms']:.2f} | {ours_n:,} | {ours_cell} "
            f"| {old['remember_mean_ms'] / ours_w['mean_ms']:.0f}x "
            f"| {ours_r:.2f} | {old['recall_p50_ms'] / ours_r:.1f}x |"
        )


def targets(results: dict[int, dict[str, Any]]) -> None:
    """Issue 19's targets, each figure beside its floor from this run (wall and CPU)."""
    print("\n## Issue 19 targets, each beside its floor (wall; CPU per call in brackets)\n")
    print("| N | target | figure | floor | ratio | goal |")
    print("|---:|---|---|---|---|---|")
    for n, r in results.items():
        k, v = r["keyword"], r["vector"]

        def row(name: str, fig: str, flo: str, ratio: str, goal: str, n: int = n) -> None:
            print(f"| {n:,} | {name} | {fig} | {flo} | {ratio} | {goal} |")

        sq, fts, hop = k["sqlite"], k["sqlite"]["fts"], k["fts_thread"]

        def ms(d: dict[str, float]) -> str:
            return f"{d['p50_ms']:.2f} ms ({d['cpu_p50_ms']:.2f})"

        def x(a: dict[str, float], b: dict[str, float]) -> str:
            return f"{a['p50_ms'] / b['p50_ms']:.2f}x ({a['cpu_p50_ms'] / b['cpu_p50_ms']:.2f}x)"

        row("keyword recall p50", ms(k["keyword"]), f"bare FTS5 bm25 top 40: {ms(fts)}",
            x(k["keyword"], fts), "≤ 1.2x")  # fmt: skip
        row("(same query through aiosqlite's thread)", ms(hop), f"bare FTS5: {ms(fts)}",
            x(hop, fts), "what the thread hop adds")  # fmt: skip
        row("vector recall p50", ms(v["vector"]), f"numpy float32 q @ M.T + top k: "
            f"{ms(v['floor'])}", x(v["vector"], v["floor"]), "≤ 1.2x")  # fmt: skip
        row("(index search alone)", ms(v["index_search"]), ms(v["floor"]),
            x(v["index_search"], v["floor"]), "")  # fmt: skip
        row("filtered vector p50 (one category)", ms(v["vector_filtered"]),
            f"numpy over the category's rows: {ms(v['floor_partition'])}",
            x(v["vector_filtered"], v["floor_partition"]), "≤ 2x")  # fmt: skip
        single = {"p50_ms": sq["insert_single_ms"], "cpu_p50_ms": sq["insert_single_cpu_ms"]}
        row("remember p50", ms(k["remember"]), f"one-row insert transaction: {ms(single)} "
            "(mean)", x(k["remember"], single), "≤ 2 ms")  # fmt: skip
        row("remember_many, no embedder", f"{k['remember_many_per_s']:,.0f}/s "
            f"({k['remember_many_cpu_per_s']:,.0f})", f"executemany, same table/FTS5/triggers: "
            f"{sq['insert_per_s']:,.0f}/s ({sq['insert_cpu_per_s']:,.0f})",
            f"{k['remember_many_per_s'] / sq['insert_per_s']:.2f} "
            f"({k['remember_many_cpu_per_s'] / sq['insert_cpu_per_s']:.2f}) of the floor",
            "≥ 20,000/s")  # fmt: skip
        row("remember_many, 384-d vectors + conflicts", f"{v['remember_many_vec_per_s']:,.0f}/s "
            f"({v['remember_many_vec_cpu_per_s']:,.0f})", f"executemany with vectors: "
            f"{v['insert_vec_per_s']:,.0f}/s ({v['insert_vec_cpu_per_s']:,.0f}); batch x index "
            f"product: {v['matmul_floor_per_s']:,.0f}/s ({v['matmul_floor_cpu_per_s']:,.0f})",
            f"{v['remember_many_vec_per_s'] / v['insert_vec_per_s']:.2f} "
            f"({v['remember_many_vec_cpu_per_s'] / v['insert_vec_cpu_per_s']:.2f}) / "
            f"{v['remember_many_vec_per_s'] / v['matmul_floor_per_s']:.2f} "
            f"({v['remember_many_vec_cpu_per_s'] / v['matmul_floor_cpu_per_s']:.2f}) "
            "of the two floors", "≥ 5,000/s")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
