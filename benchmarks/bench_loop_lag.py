"""How long the event loop stalls while AsyncMemoryMesh works on a real database file.

A probe task asks to wake every millisecond and records how late it actually woke: that delay
is what any other coroutine (an MCP server answering a client, a web handler) would suffer.
Each workload runs on a fresh file in a temporary folder; the "blocking sqlite3" row does the
same writes with plain ``sqlite3`` on the loop, to show what a stalled loop looks like.

Run: ``python benchmarks/bench_loop_lag.py [--memories 10000]``
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from memorymesh import AsyncMemoryMesh

Workload = Callable[[AsyncMemoryMesh, int], Awaitable[None]]


async def _probe(lags: list[float], stop: anyio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await anyio.sleep(0.001)
        lags.append(max(0.0, time.perf_counter() - start - 0.001))


async def _measure(work: Callable[[], Awaitable[None]]) -> tuple[list[float], float]:
    lags: list[float] = []
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(_probe, lags, stop)
        await anyio.sleep(0.01)
        started = time.perf_counter()
        await work()
        elapsed = time.perf_counter() - started
        stop.set()
    return lags, elapsed


async def idle(mesh: AsyncMemoryMesh, n: int) -> None:
    await anyio.sleep(1.0)


async def remember_one_by_one(mesh: AsyncMemoryMesh, n: int) -> None:
    for i in range(n // 10):
        await mesh.remember(f"single note {i} about the build cache", scope="project")


async def remember_many_batch(mesh: AsyncMemoryMesh, n: int) -> None:
    await mesh.remember_many(
        [{"text": f"batch note {i} about deploys and caches", "scope": "project"} for i in range(n)]
    )


async def recall_loop(mesh: AsyncMemoryMesh, n: int) -> None:
    for i in range(300):
        await mesh.recall(f"deploys caches note {i}", k=10)


async def concurrent_mix(mesh: AsyncMemoryMesh, n: int) -> None:
    async def task(t: int) -> None:
        for i in range(10):
            m = await mesh.remember(f"task {t} item {i} topic{i % 7}", scope="project")
            await mesh.recall(f"topic{i % 7}", k=5)
            await mesh.update(m.id, importance=0.7)

    async with anyio.create_task_group() as tg:
        for t in range(200):
            tg.start_soon(task, t)


async def blocking_sqlite3(mesh: AsyncMemoryMesh, n: int) -> None:
    # What MemoryMesh avoids: synchronous SQLite calls on the event loop's own thread.
    path = Path(mesh.project_path or "").with_name("blocking.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS t (text TEXT)")
    for i in range(n // 10):
        conn.execute("INSERT INTO t VALUES (?)", [f"blocking note {i}"])
        conn.commit()
    conn.close()


WORKLOADS: dict[str, Workload] = {
    "idle (baseline)": idle,
    "remember x N/10": remember_one_by_one,
    "remember_many(N)": remember_many_batch,
    "recall x 300": recall_loop,
    "200 tasks mixed": concurrent_mix,
    "blocking sqlite3": blocking_sqlite3,
}


async def main(memories: int) -> None:
    print(f"event-loop lag while MemoryMesh works (N = {memories}); probe wakes every 1 ms\n")
    print(f"{'workload':<20} {'time s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    with tempfile.TemporaryDirectory(prefix="mm-lag-") as tmp:
        for name, workload in WORKLOADS.items():
            folder = Path(tmp) / name.replace(" ", "_").replace("(", "").replace(")", "")
            async with AsyncMemoryMesh(
                folder / "memories.db", global_path=folder / "global.db"
            ) as mesh:
                if workload is recall_loop:
                    await remember_many_batch(mesh, memories)
                lags, elapsed = await _measure(lambda w=workload, m=mesh: w(m, memories))
            lags.sort()
            p50 = statistics.median(lags) * 1000
            p99 = lags[int(len(lags) * 0.99)] * 1000
            print(f"{name:<20} {elapsed:>8.2f} {p50:>8.2f} {p99:>8.2f} {lags[-1] * 1000:>8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memories", type=int, default=10_000)
    anyio.run(main, parser.parse_args().memories)
