"""MCP server speed: cold start to the first ``tools/list``, and the recall round trip.

Both servers are driven the same way, by the official Python SDK's client over stdio:

* **cold start** — spawn the server process, ``initialize``, then ``tools/list``; the time until
  the tool list arrives is what a client waits before it can use the server (median of N runs,
  each a fresh process);
* **recall round trip** — on a warm connection, one search tool call over a store of
  ``--memories`` items: MemoryMesh's ``recall`` (SQLite FTS5, ranked) vs. the reference server's
  ``search_nodes`` (substring match over a JSON-lines file).

The reference is ``@modelcontextprotocol/server-memory``, installed with npm into a temporary
directory at run time (needs ``node`` and ``npm``; skipped with a note when they are missing).

Run: ``python benchmarks/bench_mcp.py [--runs 5] [--calls 200] [--memories 1000]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from memorymesh import AsyncMemoryMesh

BIN = Path(sys.executable).parent
WORDS = ["billing", "deploy", "cache", "login", "search", "export", "queue", "theme", "retry"]


def _text(i: int) -> str:
    a, b = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
    return f"Note {i}: the {a} service talks to {b} through adapter number {i}"


async def _seed_memorymesh(root: Path, n: int) -> dict[str, str]:
    project, home = root / "project", root / "home"
    project.mkdir(parents=True)
    async with AsyncMemoryMesh(
        project / ".memorymesh" / "memories.db", global_path=home / ".memorymesh" / "global.db"
    ) as mesh:
        for start in range(0, n, 500):
            await mesh.remember_many(
                [
                    {"text": _text(i), "category": "context"}
                    for i in range(start, min(n, start + 500))
                ]
            )
    return {
        "HOME": str(home),
        "MEMORYMESH_HOME": str(home / ".memorymesh"),
        "MEMORYMESH_PROJECT_ROOT": str(project),
    }


def _install_reference(folder: Path) -> Path | None:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    subprocess.run(
        [
            npm,
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "@modelcontextprotocol/server-memory",
        ],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    script = folder / "node_modules" / ".bin" / "mcp-server-memory"
    return script if script.exists() else None


async def _cold_start(params: StdioServerParameters) -> tuple[float, float]:
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        initialized = time.perf_counter()
        tools = await client.list_tools()
        listed = time.perf_counter()
        assert tools.tools
    return (initialized - started) * 1000, (listed - started) * 1000


async def _round_trips(
    params: StdioServerParameters,
    calls: int,
    setup: Callable[[Client], Awaitable[None]],
    call: Callable[[Client, int], Awaitable[Any]],
) -> list[float]:
    async with Client(params, mode="legacy") as client:
        await setup(client)
        for i in range(5):  # warm up
            await call(client, i)
        times = []
        for i in range(calls):
            start = time.perf_counter()
            await call(client, i)
            times.append((time.perf_counter() - start) * 1000)
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts per server")
    parser.add_argument("--calls", type=int, default=200, help="timed recall calls")
    parser.add_argument("--memories", type=int, default=1000, help="items in each store")
    args = parser.parse_args()

    rows: list[tuple[str, float, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as scratch:
        root = Path(scratch)
        env = await _seed_memorymesh(root / "mm", args.memories)
        ours = StdioServerParameters(command=str(BIN / "memorymesh"), args=["mcp"], env=env)

        async def mm_call(client: Client, i: int) -> Any:
            result = await client.call_tool(
                "recall", {"query": f"{WORDS[i % len(WORDS)]} adapter", "k": 5}
            )
            assert not result.is_error, result.content
            assert result.structured_content is not None
            assert result.structured_content["count"] == 5

        async def no_setup(client: Client) -> None:
            return None

        starts = [await _cold_start(ours) for _ in range(args.runs)]
        trips = await _round_trips(ours, args.calls, no_setup, mm_call)
        rows.append(
            (
                "memorymesh (Python, mcp SDK 2)",
                statistics.median(s[0] for s in starts),
                statistics.median(s[1] for s in starts),
                _pct(trips, 0.5),
                _pct(trips, 0.95),
            )
        )

        reference_dir = root / "ref"
        reference_dir.mkdir()
        script = _install_reference(reference_dir)
        if script is None:
            print("(npm or node missing: reference server skipped)")
        else:
            ref_env = {"MEMORY_FILE_PATH": str(reference_dir / "memory.jsonl")}
            theirs = StdioServerParameters(command=str(script), args=[], env=ref_env)

            async def ref_setup(client: Client) -> None:
                entities = [
                    {"name": f"note-{i}", "entityType": "note", "observations": [_text(i)]}
                    for i in range(args.memories)
                ]
                result = await client.call_tool("create_entities", {"entities": entities})
                assert not result.is_error, result.content

            async def ref_call(client: Client, i: int) -> Any:
                result = await client.call_tool("search_nodes", {"query": WORDS[i % len(WORDS)]})
                assert not result.is_error, result.content

            trips = await _round_trips(theirs, args.calls, ref_setup, ref_call)
            starts = [await _cold_start(theirs) for _ in range(args.runs)]
            rows.append(
                (
                    "@modelcontextprotocol/server-memory (Node)",
                    statistics.median(s[0] for s in starts),
                    statistics.median(s[1] for s in starts),
                    _pct(trips, 0.5),
                    _pct(trips, 0.95),
                )
            )

    print(
        f"\nMCP over stdio · {args.runs} cold starts · {args.calls} recalls over "
        f"{args.memories} items · {os.cpu_count()} CPUs\n"
    )
    header = ("server", "initialize ms", "first tools/list ms", "recall p50 ms", "recall p95 ms")
    print(f"{header[0]:<44} {header[1]:>14} {header[2]:>20} {header[3]:>14} {header[4]:>14}")
    for name, init, listed, p50, p95 in rows:
        print(f"{name:<44} {init:>14.0f} {listed:>20.0f} {p50:>14.2f} {p95:>14.2f}")
    if len(rows) == 2:
        (_, _, ours_list, ours_p50, _), (_, _, ref_list, ref_p50, _) = rows
        print(
            f"\nratio memorymesh / reference: first tools/list {ours_list / ref_list:.2f}x, "
            f"recall p50 {ours_p50 / ref_p50:.2f}x"
        )


if __name__ == "__main__":
    anyio.run(main)
