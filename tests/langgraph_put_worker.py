"""A child process for the cross-process put test: ``python langgraph_put_worker.py DB GLOBAL W N``.

Opens a ``MemoryMeshStore`` on the shared files, prints ``ready``, waits for a line on stdin
(so every worker starts writing at the same moment, with no sleeps), then puts keys
``k0 .. k{N-1}`` in namespace ``("shared",)`` and prints ``done``.
"""

from __future__ import annotations

import sys

import anyio
from langchain_memorymesh import MemoryMeshStore

from memorymesh import AsyncMemoryMesh


async def main(db: str, global_db: str, worker: int, keys: int) -> None:
    async with AsyncMemoryMesh(db, global_path=global_db) as mesh:
        store = MemoryMeshStore(mesh=mesh, scope="project")
        await store.aget(("shared",), "warm-up")  # open and migrate before the start line
        print("ready", flush=True)
        sys.stdin.readline()
        for key in range(keys):
            await store.aput(("shared",), f"k{key}", {"text": f"written by {worker}", "w": worker})
        print("done", flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
