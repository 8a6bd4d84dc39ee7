"""The dashboard's server time at 100,000 memories: first page, a deep page, search, one memory.

Requests go through the whole application (the security middleware, the facade, the HTML
rendering) over httpx's in-process ASGI transport, so the figures are server time without a
network or a browser. Each is shown next to its floor, the facade call the page is built on
(``list`` + ``count``, ``recall(explain=True)``, ``get`` + ``history`` + ``log``), so the
dashboard's own cost reads as a ratio. Targets (issue #15): first page <= 200 ms, search
<= 100 ms, memory page <= 50 ms.

Texts are bench_core.py's synthetic corpus (8-15 Zipf-distributed words); search queries are
4 words of other such texts. Keyword recall (no embedder), as the dashboard runs by default.

    python benchmarks/bench_ui.py                 # 100,000 memories
    python benchmarks/bench_ui.py --size 10000    # a quick look
    python benchmarks/bench_ui.py --store /tmp/ui100k   # fill once, measure again later
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import Corpus

from memorymesh import AsyncMemoryMesh
from memorymesh.ui import Guard, create_app

PORT = 8765


async def _timed(runs: int, call: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    """p50 and p95 in milliseconds over ``runs`` calls (after one warm-up call)."""
    await call(0)
    times = []
    for i in range(runs):
        started = time.perf_counter()
        await call(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


async def main(size: int, runs: int, store: Path | None) -> None:
    corpus = Corpus()
    folder = store or Path(tempfile.mkdtemp(prefix="bench-ui-"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"path": folder / "project.db", "global_path": folder / "global.db"}
    async with AsyncMemoryMesh(**paths) as writer:
        have = await writer.count()
        started = time.perf_counter()
        for start in range(0, size, 5000):
            # The corpus is deterministic: texts already stored are generated again (and
            # skipped), so a top-up writes new texts, not duplicates.
            items = corpus.items(min(5000, size - start))
            if start + len(items) > have:
                await writer.remember_many(items[max(0, have - start) :])
        if have < size:
            print(f"stored {size - have:,} memories in {time.perf_counter() - started:.0f} s")
    # Measured on a freshly opened mesh, as `memorymesh ui` opens an existing store (the
    # writer's close checkpointed its write-ahead log).
    mesh = AsyncMemoryMesh(**paths)
    async with mesh:
        total = await mesh.count()
        ids = [m.id for m in await mesh.list(limit=runs + 1, order="importance")]
        queries = [" ".join(corpus.text().split()[:4]) for _ in range(runs + 1)]

        deep = max(3, runs // 10)  # a deep page takes seconds: fewer runs
        guard = Guard.for_address("127.0.0.1", PORT)
        transport = httpx.ASGITransport(app=create_app(mesh, guard))
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://127.0.0.1:{PORT}"
        ) as client:
            assert (await client.get(f"/?token={guard.new_login_token()}")).status_code == 303

            async def get(path: str) -> None:
                response = await client.get(path)
                assert response.status_code == 200, (path, response.status_code)

            rows = [
                (
                    "first page (50 of all, newest)",
                    await _timed(runs, lambda i: get("/")),
                    await _timed(runs, lambda i: _both(mesh.list(limit=51), mesh.count())),
                    200,
                ),
                (
                    "page 1,000 (offset 49,950)",
                    await _timed(deep, lambda i: get("/?page=1000")),
                    await _timed(
                        deep, lambda i: _both(mesh.list(limit=51, offset=49_950), mesh.count())
                    ),
                    None,
                ),
                (
                    "search (4 words, top 50)",
                    await _timed(runs, lambda i: get(f"/?q={queries[i]}")),
                    await _timed(runs, lambda i: mesh.recall(queries[i], k=51, explain=True)),
                    100,
                ),
                (
                    "memory page",
                    await _timed(runs, lambda i: get(f"/memory/{ids[i]}")),
                    await _timed(
                        runs,
                        lambda i: _both(
                            mesh.get(ids[i]),
                            mesh.history(ids[i]),
                            mesh.log(memory_id=ids[i], limit=50),
                        ),
                    ),
                    50,
                ),
                (
                    "insights page",
                    await _timed(deep, lambda i: get("/insights")),
                    (float("nan"), float("nan")),
                    None,
                ),
            ]
    print(f"\nDashboard server time at {total:,} memories (ms; {runs} requests each)\n")
    print("| page | p50 | p95 | facade floor p50 | page / floor | target |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (p50, p95), (floor, _), target in rows:
        ratio = "—" if floor != floor else f"{p50 / floor:.2f}x"
        floor_text = "—" if floor != floor else f"{floor:.1f}"
        goal = "—" if target is None else f"≤ {target}"
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {floor_text} | {ratio} | {goal} |")


async def _both(*calls: Awaitable[object]) -> None:
    for call in calls:
        await call


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--store", type=Path, help="keep the stores in this folder (reused if already filled)"
    )
    options = parser.parse_args()
    anyio.run(main, options.size, options.runs, options.store)
