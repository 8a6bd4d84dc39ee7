"""MemoryMeshStore against LangGraph's own stores: put, get, filtered and semantic search.

Run on demand: ``.venv/bin/python benchmarks/bench_langgraph_store.py [items] [--cpu]``. Every store
gets the same items, the same semantic index (a deterministic bag-of-words embedding, so the
embedder costs the same for all and the stores' own work is what differs) and the same
operations. Prints the median (p50) latency of each operation in milliseconds and the ratio of
MemoryMesh's to each other store's: ``InMemoryStore`` keeps nothing on disk, ``SqliteStore``
(``langgraph-checkpoint-sqlite``, in the ``dev`` extra) is a file like ours.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from langchain_memorymesh import MemoryMeshStore
from langgraph.store.base import BaseStore, IndexConfig
from langgraph.store.memory import InMemoryStore

from memorymesh import AsyncMemoryMesh

WORDS = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
    "golf", "hotel", "india", "juliet", "kilo", "lima",
]  # fmt: skip
DIMS = 64
_WORD = re.compile(r"\w+")
SAMPLES = 200


def embed(texts: Sequence[str]) -> list[list[float]]:
    """Hashed bag of words: shared words make similar vectors."""
    out = []
    for text in texts:
        vector = [0.0] * DIMS
        for word in _WORD.findall(text.casefold()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % DIMS] += 1.0
        out.append(vector)
    return out


INDEX: IndexConfig = {"dims": DIMS, "embed": embed, "fields": ["text"]}


def value(i: int) -> dict[str, object]:
    return {"text": f"note {i} about {WORDS[i % 12]} and {WORDS[(i * 7) % 12]}", "n": i}


#: ``--cpu``: time with the process's CPU clock instead of the wall clock (on a busy, shared
#: machine, wall time is mostly other processes' turns).
CLOCK = time.process_time if "--cpu" in sys.argv else time.perf_counter


async def p50(samples: int, op: Callable[[int], Awaitable[object]]) -> float:
    """The median latency of ``op`` in milliseconds."""
    times = []
    for i in range(samples):
        start = CLOCK()
        await op(i)
        times.append((CLOCK() - start) * 1000)
    return statistics.median(times)


async def measure(store: BaseStore, items: int, *, semantic: bool = True) -> dict[str, float]:
    for i in range(items):  # load: not timed
        await store.aput(("users", f"u{i % 10}"), f"k{i}", value(i))
    n = min(items, SAMPLES)
    found = {
        "put (update)": await p50(
            n, lambda i: store.aput(("users", f"u{i % 10}"), f"k{i}", value(i + 1))
        ),
        "put (new)": await p50(n, lambda i: store.aput(("new",), f"k{i}", value(i))),
        "get": await p50(n, lambda i: store.aget(("users", f"u{i % 10}"), f"k{i}")),
        "search, filter": await p50(
            50, lambda i: store.asearch(("users", f"u{i % 10}"), filter={"n": {"$gte": i}})
        ),
        "list namespaces": await p50(50, lambda i: store.alist_namespaces(prefix=("users",))),
        # 60 puts made together (parallel graph nodes, gather): the time for all of them.
        "60 puts at once": await p50(
            10,
            lambda i: asyncio.gather(
                *(store.aput(("burst", str(i)), f"k{j}", value(j)) for j in range(60))
            ),
        ),
    }
    if semantic:
        found["search, semantic"] = await p50(
            50, lambda i: store.asearch(("users",), query=f"{WORDS[i % 12]} note", limit=5)
        )
    return found


@asynccontextmanager
async def memorymesh_store(folder: Path) -> AsyncIterator[BaseStore]:
    async with AsyncMemoryMesh(folder / "p.db", global_path=folder / "g.db") as mesh:
        yield MemoryMeshStore(mesh=mesh, index=INDEX)


@asynccontextmanager
async def sqlite_store(folder: Path) -> AsyncIterator[BaseStore | None]:
    try:
        from langgraph.store.sqlite.aio import AsyncSqliteStore
    except ImportError:  # pragma: no cover - langgraph-checkpoint-sqlite not installed
        yield None
        return
    # Its vector search is the sqlite-vec extension, which needs a Python built with loadable
    # SQLite extensions; without one it runs without an index (no semantic search).
    index = INDEX if hasattr(sqlite3.Connection, "enable_load_extension") else None
    async with AsyncSqliteStore.from_conn_string(str(folder / "lg.db"), index=index) as store:
        await store.setup()
        yield store


async def main(items: int) -> None:
    baseline = await measure(InMemoryStore(index=INDEX), items)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with sqlite_store(folder) as sqlite:
            sqlite_p50 = (
                {}
                if sqlite is None
                else await measure(sqlite, items, semantic=sqlite.index_config is not None)
            )
        async with memorymesh_store(folder) as ours:
            ours_p50 = await measure(ours, items)
    clock = "CPU" if CLOCK is time.process_time else "wall"
    print(f"{items} items in 10 namespaces; p50 {clock} time in ms (lower is better)\n")
    print(
        f"{'operation':<18} {'MemoryMesh':>10} {'InMemory':>9} {'SqliteStore':>11} "
        f"{'÷InMemory':>9} {'÷Sqlite':>8}"
    )
    nan = float("nan")
    for op, ms in ours_p50.items():
        base, lite = baseline[op], sqlite_p50.get(op, nan)
        print(
            f"{op:<18} {ms:>10.2f} {base:>9.3f} {lite:>11.2f} {ms / base:>9.1f} {ms / lite:>8.1f}"
        )


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    asyncio.run(main(int(numbers[0]) if numbers else 1000))
