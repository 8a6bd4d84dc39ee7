"""A child process for the PostgreSQL multi-process tests: ``python postgres_worker.py MODE ...``.

Each mode prints ``ready`` once connected, then waits for a line on stdin, so the parent can
release every child at the same moment (a gate, not a sleep), and prints one JSON line.

``migrate URL SCHEMA``: bring SCHEMA up to date; print the migrations this process applied.

``write URL PROJECT WORKER COUNT``: remember COUNT memories (one call each) in project
PROJECT; print their ids and every error seen.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import psycopg

from memorymesh import AsyncMemoryMesh, MemoryMeshError
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


async def run_write(url: str, project: str, worker: int, count: int) -> dict[str, Any]:
    ids: list[str] = []
    errors: list[str] = []
    async with AsyncMemoryMesh(url, project=project, user=f"worker{worker}") as mesh:
        _gate()
        for i in range(count):
            try:
                memory = await mesh.remember(
                    f"worker {worker} wrote note {i} about the shared ledger",
                    scope="project",
                    on_conflict="keep_both",
                )
                ids.append(memory.id)
            except MemoryMeshError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
    return {"ids": ids, "errors": errors}


def main() -> None:
    mode, *args = sys.argv[1:]
    result: Any
    if mode == "migrate":
        result = anyio.run(run_migrate, args[0], args[1])
    elif mode == "write":
        result = anyio.run(run_write, args[0], args[1], int(args[2]), int(args[3]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
