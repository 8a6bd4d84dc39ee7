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


async def measure(directory: Path, n: int, count: int) -> dict[str, float]:
    from memorymesh import AsyncMemoryMesh
    from memorymesh.stores.sqlite._store import fts_match

    queries = (await build(directory, n))[:count]
    db = directory / f"kw-{n}.db"
    conn = sqlite3.connect(db)
    floor_cpu = 0.0
    for q in queries:
        match = fts_match(q)
        started = time.process_time()
        conn.execute(FLOOR, (match,)).fetchall()
        floor_cpu += time.process_time() - started
    conn.close()
    async with AsyncMemoryMesh(db, global_path=directory / f"kw-{n}-global.db") as mesh:
        await mesh.recall(queries[0], k=10, mode="keyword")
        walls = []
        cpu_started = time.process_time()
        for q in queries:
            started = time.perf_counter()
            await mesh.recall(q, k=10, mode="keyword")
            walls.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu_started
    walls.sort()
    return {
        "cpu_ms": 1000 * cpu / len(queries),
        "floor_cpu_ms": 1000 * floor_cpu / len(queries),
        "p50_ms": 1000 * walls[len(walls) // 2],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dir", type=Path, required=True, help="where the stores are kept")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--feedback", type=float, default=None, help="FEEDBACK_WEIGHT to use")
    args = parser.parse_args(argv)
    import memorymesh
    import memorymesh.search._recall as recall_module

    if args.feedback is not None:
        recall_module.FEEDBACK_WEIGHT = args.feedback
    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"memorymesh from {Path(memorymesh.__file__).parent}")
    print(f"feedback weight {recall_module.FEEDBACK_WEIGHT}\n")
    print("| N | recall CPU ms | FTS5 floor CPU ms | ratio | recall wall p50 ms |")
    print("|---:|---:|---:|---:|---:|")
    for n in [int(s) for s in args.sizes.split(",") if s]:
        r = anyio.run(measure, args.dir, n, args.queries)
        print(
            f"| {n:,} | {r['cpu_ms']:.2f} | {r['floor_cpu_ms']:.2f} "
            f"| {r['cpu_ms'] / r['floor_cpu_ms']:.2f}x | {r['p50_ms']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
