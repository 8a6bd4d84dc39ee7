"""Keyword recall against the bare FTS5 query, in CPU time as well as wall time.

On a shared machine a loaded scheduler inflates wall-clock latency for every asynchronous
hop, so besides p50 this prints the CPU time per recall (``time.process_time``: every thread
of the process) next to the CPU time of the bare FTS5 ``bm25()`` top 40 on the same file:
the figure to compare between two versions run in turn. Stores are ``bench_core.py``'s
corpus, built once into ``--dir`` and reused, so two checkouts can be measured on the same
files:

    python benchmarks/bench_keyword.py --sizes 10000,100000 --dir /tmp/kw
    PYTHONPATH=/path/to/other/checkout python benchmarks/bench_keyword.py --dir /tmp/kw
    python benchmarks/bench_keyword.py --dir /tmp/kw --feedback 0.35   # feedback switched on
    python benchmarks/bench_keyword.py --dir /tmp/kw --repeat 3   # each query's least CPU of 3
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import Corpus

FLOOR = (
    "SELECT rowid, bm25(memories_fts) FROM memories_fts WHERE memories_fts MATCH ? "
    "ORDER BY bm25(memories_fts) LIMIT 40"
)


async def build(directory: Path, n: int) -> list[str]:
    """The store of ``n`` memories (built on first use) and its queries."""
    from memorymesh import AsyncMemoryMesh

    db, queries = directory / f"kw-{n}.db", directory / f"kw-{n}-queries.txt"
    if not queries.exists():
        corpus = Corpus(seed=n)
        async with AsyncMemoryMesh(db, global_path=directory / f"kw-{n}-global.db") as mesh:
            for start in range(0, n, 5000):
                await mesh.remember_many(corpus.items(min(5000, n - start)))
        texts = [corpus.text() for _ in range(1000)]
        queries.write_text("\n".join(" ".join(t.split()[:4]) for t in texts), encoding="utf-8")
    return queries.read_text(encoding="utf-8").splitlines()


async def measure(directory: Path, n: int, count: int, repeat: int = 1) -> dict[str, float]:
    """CPU per call of recall and of the bare query; with ``repeat`` > 1 each query runs
    that many times and its least CPU counts (the others caught another process's burst)."""
    from memorymesh import AsyncMemoryMesh
    from memorymesh.stores.sqlite._store import fts_match

    queries = (await build(directory, n))[:count]
    db = directory / f"kw-{n}.db"
    conn = sqlite3.connect(db)
    floor: list[float] = []
    for q in queries:
        match = fts_match(q)
        best = float("inf")
        for _ in range(repeat):
            started = time.process_time()
            conn.execute(FLOOR, (match,)).fetchall()
            best = min(best, time.process_time() - started)
        floor.append(best)
    conn.close()
    async with AsyncMemoryMesh(db, global_path=directory / f"kw-{n}-global.db") as mesh:
        await mesh.recall(queries[0], k=10, mode="keyword")
        walls, cpu = [], []
        for q in queries:
            best_wall = best_cpu = float("inf")
            for _ in range(repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                await mesh.recall(q, k=10, mode="keyword")
                best_cpu = min(best_cpu, time.process_time() - cpu_started)
                best_wall = min(best_wall, time.perf_counter() - started)
            walls.append(best_wall)
            cpu.append(best_cpu)
    walls.sort()
    return {
        "cpu_ms": 1000 * sum(cpu) / len(queries),
        "floor_cpu_ms": 1000 * sum(floor) / len(queries),
        "cpu_p50_ms": 1000 * sorted(cpu)[len(cpu) // 2],
        "floor_cpu_p50_ms": 1000 * sorted(floor)[len(floor) // 2],
        "p50_ms": 1000 * walls[len(walls) // 2],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dir", type=Path, required=True, help="where the stores are kept")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--feedback", type=float, default=None, help="FEEDBACK_WEIGHT to use")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each query; the least CPU counts"
    )
    args = parser.parse_args(argv)
    import memorymesh
    import memorymesh.search._recall as recall_module

    if args.feedback is not None:
        recall_module.FEEDBACK_WEIGHT = args.feedback
    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"memorymesh from {Path(memorymesh.__file__).parent}")
    print(f"feedback weight {recall_module.FEEDBACK_WEIGHT}\n")
    print(f"each query run {args.repeat} time(s), its least CPU counted\n")
    print(
        "| N | recall CPU ms | FTS5 floor CPU ms | ratio | recall CPU p50 ms "
        "| floor CPU p50 ms | p50 ratio | recall wall p50 ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in [int(s) for s in args.sizes.split(",") if s]:
        r = anyio.run(measure, args.dir, n, args.queries, args.repeat)
        print(
            f"| {n:,} | {r['cpu_ms']:.2f} | {r['floor_cpu_ms']:.2f} "
            f"| {r['cpu_ms'] / r['floor_cpu_ms']:.2f}x | {r['cpu_p50_ms']:.2f} "
            f"| {r['floor_cpu_p50_ms']:.2f} | {r['cpu_p50_ms'] / r['floor_cpu_p50_ms']:.2f}x "
            f"| {r['p50_ms']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
