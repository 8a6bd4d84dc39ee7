"""MemoryMeshStore against LangGraph's InMemoryStore: put, get, filtered search, recall.

Run on demand: ``.venv/bin/python benchmarks/bench_langgraph_store.py [items]``. Prints a
table of operations per second and the ratio to InMemoryStore (which keeps nothing on disk).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from langchain_memorymesh import MemoryMeshStore
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from memorymesh import AsyncMemoryMesh

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]


async def _rate(n: int, op: Callable[[int], Awaitable[object]]) -> float:
    start = time.perf_counter()
    for i in range(n):
        await op(i)
    return n / (time.perf_counter() - start)


async def _measure(store: BaseStore, items: int) -> dict[str, float]:
    def value(i: int) -> dict[str, object]:
        return {"text": f"note {i} about {WORDS[i % 12]} and {WORDS[(i * 7) % 12]}", "n": i}

    rates = {
        "put": await _rate(items, lambda i: store.aput(("users", f"u{i % 10}"), f"k{i}", value(i))),
        "get": await _rate(items, lambda i: store.aget(("users", f"u{i % 10}"), f"k{i}")),
        "search filter": await _rate(
            100, lambda i: store.asearch(("users", f"u{i % 10}"), filter={"n": {"$gte": i}})
        ),
        "list namespaces": await _rate(100, lambda i: store.alist_namespaces(prefix=("users",))),
    }
    if isinstance(store, MemoryMeshStore):
        rates["search query"] = await _rate(
            100, lambda i: store.asearch(("users",), query=WORDS[i % 12], limit=5)
        )
    return rates


async def main(items: int) -> None:
    baseline = await _measure(InMemoryStore(), items)
    with tempfile.TemporaryDirectory() as folder:
        async with AsyncMemoryMesh(
            Path(folder) / "p.db", global_path=Path(folder) / "g.db"
        ) as mesh:
            ours = await _measure(MemoryMeshStore(mesh=mesh, scope="project"), items)
    print(f"{items} items, 10 namespaces\n")
    print(f"{'operation':<16} {'MemoryMesh op/s':>16} {'InMemory op/s':>14} {'ratio':>7}")
    for name, rate in ours.items():
        base = baseline.get(name)
        ratio = f"{rate / base:.3f}" if base else "-"
        print(f"{name:<16} {rate:>16.0f} {base or 0:>14.0f} {ratio:>7}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
