"""A child process for the PostgreSQL multi-process tests: ``python postgres_worker.py MODE ...``.

Each mode prints ``ready`` once connected, then waits for a line on stdin, so the parent can
release every child at the same moment (a gate, not a sleep), and prints one JSON line.

``migrate URL SCHEMA``: bring SCHEMA up to date; print the migrations this process applied.

``write URL PROJECT WORKER COUNT [BATCH]``: remember COUNT memories in project PROJECT, one
call each, or BATCH at a time through ``remember_many`` after ten single calls; print their
ids and every error seen.

``batch URL PROJECT COUNT``: one ``remember_many`` of COUNT memories (the parent kills this
process while the batch's transaction is open); prints the ids if it ever returns.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import psycopg

from memorymesh import AsyncMemoryMesh, MemoryMeshError, NewMemory
from memorymesh.stores.postgres._location import parse_location
from memorymesh.stores.postgres._store import migrate


def _gate() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


async def run_migrate(url: str, schema: str) -> list[str]:
    conninfo = parse_location(url).conninfo
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    try:
        _gate()
        return await migrate(conn, schema, url)
    finally:
        await conn.close()


def _note(worker: int, i: int) -> str:
    return f"worker {worker} wrote note {i} about the shared ledger"


async def run_write(url: str, project: str, worker: int, count: int, batch: int) -> dict[str, Any]:
    ids: list[str] = []
    errors: list[str] = []
    # A generous busy timeout: eight writers queue on one project's lock.
    async with AsyncMemoryMesh(
        url, project=project, user=f"worker{worker}", busy_timeout=60
    ) as mesh:
        _gate()
        i = 0
        while i < count:
            size = 1 if batch <= 1 or i < 10 else min(batch, count - i)
            try:
                if size == 1:
                    memory = await mesh.remember(
                        _note(worker, i), scope="project", on_conflict="keep_both"
                    )
                    ids.append(memory.id)
                else:
                    memories = await mesh.remember_many(
                        [
                            NewMemory(
                                text=_note(worker, j), scope="project", on_conflict="keep_both"
                            )
                            for j in range(i, i + size)
                        ]
                    )
                    ids.extend(m.id for m in memories)
            except MemoryMeshError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            i += size
    return {"ids": ids, "errors": errors}


async def run_batch(url: str, project: str, count: int) -> list[str]:
    async with AsyncMemoryMesh(url, project=project, user="doomed", busy_timeout=120) as mesh:
        _gate()
        memories = await mesh.remember_many(
            [NewMemory(text=f"doomed batch item {i}", scope="project") for i in range(count)]
        )
        return [m.id for m in memories]


def main() -> None:
    mode, *args = sys.argv[1:]
    result: Any
    if mode == "migrate":
        result = anyio.run(run_migrate, args[0], args[1])
    elif mode == "write":
        batch = int(args[4]) if len(args) > 4 else 1
        result = anyio.run(run_write, args[0], args[1], int(args[2]), int(args[3]), batch)
    elif mode == "batch":
        result = anyio.run(run_batch, args[0], args[1], int(args[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
