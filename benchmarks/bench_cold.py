"""One-shot processes: each command a person, a hook or an AI client runs, as a whole process.

Most MemoryMesh processes live for one call, so what a user waits for is the process: start
the interpreter, import, open the stores, do the work, close. Each command below runs as a
fresh process against stores of 1k, 10k and 100k memories (keyword only, the synthetic Zipf
texts of ``bench_core.py``), one warm-up and then the median of ``--runs``:

- ``memorymesh --version``, ``recall``, ``list``, ``stats``, ``remember``, ``session-start``
  (the context an assistant loads once per session, for a task);
- ``memorymesh-hook post-tool-use`` on a ``git commit -m`` worth keeping (it opens the stores
  and queues the capture), and on a command with nothing to keep (it must not import
  MemoryMesh at all);
- the MCP server, from spawn to the first ``tools/list`` answer through the official client,
  against a bare server of the same SDK with one tool.

Floors, measured in the same run: ``python -c pass`` (the interpreter alone) beside every
command, and the bare SDK server beside the MCP server. ``--compare DIR`` runs the same
commands with another checkout's code first on ``PYTHONPATH`` (e.g. ``main``), for a before →
after table from one run; with ``--interleave`` the two alternate run by run, command by
command, so the load of a shared machine weighs on both sides alike. The stores are built
once and kept in ``.cache/bench_cold/``.

    python benchmarks/bench_cold.py                         # 1k, 10k, 100k
    python benchmarks/bench_cold.py --sizes 1000 --runs 3   # a quick look
    python benchmarks/bench_cold.py --compare ../main       # before (../main) and after
    python benchmarks/bench_cold.py --compare ../main --interleave   # alternating run by run
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import Corpus

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench_cold"
BIN = Path(sys.executable).parent

#: Targets from issue 19 (seconds); the MCP one is relative to the bare SDK server.
TARGETS = {
    "python -c pass (floor)": None,
    "memorymesh --version": 0.10,
    "memorymesh recall": 0.30,
    "memorymesh list": 0.20,
    "memorymesh stats": 0.20,
    "memorymesh remember": 0.30,
    "memorymesh session-start": None,  # no target in the issue: measured for #19's follow-up
    "hook post-tool-use, commit captured": 0.30,
    "hook post-tool-use, nothing to keep": 0.04,
    "MCP spawn → first tools/list": None,
    "bare SDK server → first tools/list (floor)": None,
}

_BARE_SERVER = """
from mcp.server.mcpserver import MCPServer

server = MCPServer("bare")


@server.tool()
def echo(text: str) -> str:
    \"\"\"Say it back.\"\"\"
    return text


server.run()
"""


# -- stores ---------------------------------------------------------------------------------------


def store_dir(n: int, code: Path) -> Path:
    """A project folder with a store of ``n`` memories and a home with the global store,
    written by ``code``'s MemoryMesh (the oldest compared: a newer one migrates its copy)."""
    root = CACHE / f"n{n}-{code.name}"
    done = root / "built"
    if done.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "project" / ".git").mkdir(parents=True)
    (root / "home").mkdir()
    print(f"building a store of {n:,} memories with {code} ...", file=sys.stderr)
    subprocess.run(
        [sys.executable, __file__, "--fill", str(n), str(root)],
        env=environment(root, code),
        check=True,
    )
    done.write_text(str(n))
    return root


async def _fill(root: Path, n: int) -> None:
    from memorymesh import AsyncMemoryMesh

    corpus = Corpus(seed=n)
    async with AsyncMemoryMesh(
        root / "project" / ".memorymesh" / "memories.db",
        global_path=root / "home" / ".memorymesh" / "global.db",
        embedding=None,
    ) as mesh:
        for start in range(0, n, 5000):
            await mesh.remember_many(corpus.items(min(5000, n - start)))


def environment(root: Path, code: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONDONTWRITEBYTECODE", "MEMORYMESH_EMBEDDING"}
    }
    # Users run with compiled bytecode: the warm-up run writes it.
    env["PYTHONPATH"] = os.pathsep.join(str(code / p) for p in ("", "integrations", "mcp"))
    env["HOME"] = str(root / "home")
    env["MEMORYMESH_HOME"] = str(root / "home" / ".memorymesh")
    env["MEMORYMESH_PROJECT_ROOT"] = str(root / "project")
    env["MEMORYMESH_EMBEDDING"] = "none"
    return env


# -- the commands ---------------------------------------------------------------------------------


class Commands:
    """Each command as argv + standard input, with fresh texts so writes are never duplicates."""

    def __init__(self, root: Path, corpus: Corpus) -> None:
        self.root = root
        self.corpus = corpus
        self.query = " ".join(corpus.text().split()[:4])
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        return self.corpus.text()

    def hook_event(self, command: str) -> str:
        return json.dumps(
            {
                "hook_event_name": "PostToolUse",
                "session_id": "bench",
                "cwd": str(self.root / "project"),
                "tool_name": "Bash",
                "tool_input": {"command": command},
                "tool_response": {"stdout": "", "exit_code": 0},
            }
        )

    def table(self) -> dict[str, Callable[[], tuple[list[str], str | None]]]:
        mm, hook, py = str(BIN / "memorymesh"), str(BIN / "memorymesh-hook"), sys.executable
        return {
            "python -c pass (floor)": lambda: ([py, "-c", "pass"], None),
            "memorymesh --version": lambda: ([mm, "--version"], None),
            "memorymesh recall": lambda: ([mm, "recall", self.query], None),
            "memorymesh list": lambda: ([mm, "list"], None),
            "memorymesh stats": lambda: ([mm, "stats"], None),
            "memorymesh remember": lambda: ([mm, "remember", self.fresh()], None),
            "memorymesh session-start": lambda: ([mm, "session-start", self.query], None),
            "hook post-tool-use, commit captured": lambda: (
                [hook, "post-tool-use"],
                self.hook_event(
                    f'git commit -m "We decided to use {self.fresh()} instead of the old '
                    'queue because it kept failing under load"'
                ),
            ),
            "hook post-tool-use, nothing to keep": lambda: (
                [hook, "post-tool-use"],
                self.hook_event("ls -la"),
            ),
        }


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(
    argv: list[str], stdin: str | None, env: dict[str, str], cwd: Path
) -> tuple[float, float]:
    """Wall and CPU seconds of one process. On a shared machine the wall time follows the
    load; the CPU time is what the process itself costs, and moves much less."""
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        argv, input=stdin, env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({done.returncode}): {done.stderr[-800:]}")
    return elapsed, children_cpu() - cpu


async def first_tools_list(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=str(cwd))
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        tools = await client.list_tools()
        elapsed = time.perf_counter() - started
        assert tools.tools
    return elapsed


def mcp_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Spawn to first ``tools/list`` (wall), and the server process's whole CPU time."""
    cpu = children_cpu()
    elapsed = anyio.run(first_tools_list, argv, env, cwd)
    return elapsed, children_cpu() - cpu


def median_of(runs: int, once: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``runs`` runs after one warm-up."""
    once()  # warm-up: bytecode written, files in the page cache
    samples = [once() for _ in range(runs)]
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def _wanted(name: str, only: list[str]) -> bool:
    return not only or name.startswith("python") or any(w in name for w in only)


def commands_for(
    n: int, code: Path, built: Path, scratch: Path, only: list[str] | None = None
) -> dict[str, Callable[[], tuple[float, float]]]:
    """Each wanted command at ``n`` memories with ``code``'s MemoryMesh, as a callable that
    runs it once (wall and CPU seconds), on a copy of the store made for ``code``."""
    root = scratch / f"n{n}-{code.name}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(built, root)  # writes land in a copy: the cached store stays at n
    env = environment(root, code)
    cwd = root / "project"
    commands = Commands(root, Corpus(seed=n + 1))
    out: dict[str, Callable[[], tuple[float, float]]] = {}
    for name, make in commands.table().items():
        if not _wanted(name, only or []):
            continue

        def once(
            make: Callable[[], tuple[list[str], str | None]] = make,
        ) -> tuple[float, float]:
            argv, stdin = make()
            return run_once(argv, stdin, env, cwd)

        out[name] = once
    bare = scratch / "bare_server.py"
    bare.write_text(_BARE_SERVER)
    for name, argv in (
        ("MCP spawn → first tools/list", [str(BIN / "memorymesh-mcp")]),
        ("bare SDK server → first tools/list (floor)", [sys.executable, str(bare)]),
    ):
        if only and not any(w in name for w in only):
            continue
        out[name] = functools.partial(mcp_once, argv, env, cwd)
    return out


def measure(
    n: int, code: Path, built: Path, runs: int, scratch: Path, only: list[str] | None = None
) -> dict[str, tuple[float, float]]:
    """Every command's median seconds at ``n`` memories, with ``code``'s MemoryMesh."""
    out: dict[str, tuple[float, float]] = {}
    for name, once in commands_for(n, code, built, scratch, only).items():
        out[name] = median_of(runs, once)
        print(f"  {n:>7,} {name}: {_cell(out[name])} ms", file=sys.stderr)
    return out


def measure_interleaved(
    n: int,
    codes: dict[str, Path],
    built: Path,
    runs: int,
    scratch: Path,
    only: list[str] | None = None,
) -> dict[str, dict[str, tuple[float, float]]]:
    """As :func:`measure` for each of ``codes``, but one command at a time, its runs
    alternating between the codes (a warm-up each, then before, after, before, ...): on a
    shared machine the load then weighs on both sides alike, and their ratio stays fair."""
    plans = {label: commands_for(n, code, built, scratch, only) for label, code in codes.items()}
    out: dict[str, dict[str, tuple[float, float]]] = {label: {} for label in codes}
    for name in next(iter(plans.values())):
        for plan in plans.values():
            plan[name]()  # warm-up: bytecode written, files in the page cache
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in codes}
        for _ in range(runs):
            for label, plan in plans.items():
                samples[label].append(plan[name]())
        for label, got in samples.items():
            out[label][name] = (
                statistics.median(w for w, _ in got),
                statistics.median(c for _, c in got),
            )
        cells = " | ".join(f"{label} {_cell(out[label][name])}" for label in codes)
        print(f"  {n:>7,} {name}: {cells} ms", file=sys.stderr)
    return out


def _cell(figure: tuple[float, float]) -> str:
    return f"{1000 * figure[0]:.0f} ({1000 * figure[1]:.0f})"


# -- report ---------------------------------------------------------------------------------------


def report(results: dict[str, dict[int, dict[str, tuple[float, float]]]], sizes: list[int]) -> None:
    labels = list(results)
    print("## One-shot processes: median wall ms (median CPU ms of the process)\n")
    print("Floors in the same run: `python -c pass`, and a bare SDK server for the MCP row.\n")
    head = "| command | target |"
    rule = "|---|---:|"
    for n in sizes:
        for label in labels:
            head += f" {n:,} {label} |" if len(labels) > 1 else f" {n:,} |"
            rule += "---:|"
    print(head)
    print(rule)
    for name, target in TARGETS.items():
        if name not in results[labels[0]][sizes[0]]:
            continue  # left out with --only
        cells = ""
        for n in sizes:
            for label in labels:
                cells += f" {_cell(results[label][n][name])} |"
        if name.startswith("MCP"):
            goal = "≤ bare + 100"
        elif target is None:
            goal = "floor" if "floor" in name else "-"
        else:
            goal = f"≤ {1000 * target:.0f}"
        print(f"| {name} | {goal} |{cells}")
    print()
    for label in labels:
        for n in sizes:
            r = {name: wall for name, (wall, _) in results[label][n].items()}
            cpu = {name: spent for name, (_, spent) in results[label][n].items()}
            floor, cpu_floor = r["python -c pass (floor)"], cpu["python -c pass (floor)"]
            bare = "bare SDK server → first tools/list (floor)"
            mcp = "MCP spawn → first tools/list"
            over = ", ".join(
                f"{name.removeprefix('memorymesh ')} {1000 * (r[name] - floor):.0f} "
                f"({1000 * (cpu[name] - cpu_floor):.0f})"
                for name in TARGETS
                if TARGETS[name] is not None and name in r
            )
            server = (
                f"; MCP above the bare server: "
                f"{1000 * (r[mcp] - r[bare]):+.0f} ({1000 * (cpu[mcp] - cpu[bare]):+.0f}) ms"
                if mcp in r and bare in r
                else ""
            )
            print(
                f"- {label}, {n:,}: above the interpreter floor ({_cell((floor, cpu_floor))} "
                f"ms), wall (CPU): {over}{server}"
            )


def report_ratios(
    results: dict[str, dict[int, dict[str, tuple[float, float]]]], sizes: list[int]
) -> None:
    """After / before, CPU and wall, per command and size (with ``--compare``)."""
    if len(results) != 2:
        return
    before, after = results.values()
    print("\n## After / before (CPU ratio, wall ratio in brackets)\n")
    print("| command |" + "".join(f" {n:,} |" for n in sizes))
    print("|---|" + "---:|" * len(sizes))
    for name in TARGETS:
        if name not in before[sizes[0]]:
            continue
        cells = ""
        for n in sizes:
            (wall_b, cpu_b), (wall_a, cpu_a) = before[n][name], after[n][name]
            cells += f" {cpu_a / cpu_b:.2f} ({wall_a / wall_b:.2f}) |"
        print(f"| {name} |{cells}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--fill"]:  # the store builder, run with the chosen code on the path
        anyio.run(_fill, Path(argv[2]), int(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument(
        "--compare", type=Path, help="another checkout to run first (its code, same stores)"
    )
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="with --compare: alternate the two checkouts run by run, command by command, "
        "so a loaded machine weighs on both alike",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated words: run only the commands whose name holds one (the "
        "interpreter floor always runs), e.g. --only remember,captured",
    )
    args = parser.parse_args(argv)
    if args.interleave and args.compare is None:
        parser.error("--interleave alternates two checkouts: give --compare DIR")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    only = [w for w in args.only.split(",") if w]
    codes = {"this checkout": ROOT}
    if args.compare is not None:
        codes = {"before": args.compare.resolve(), "after": ROOT}
    results: dict[str, dict[int, dict[str, tuple[float, float]]]] = {label: {} for label in codes}
    with tempfile.TemporaryDirectory() as scratch:
        for n in sizes:
            built = store_dir(n, next(iter(codes.values())))
            if args.interleave:
                print(f"interleaved, N = {n:,}: {codes}", file=sys.stderr)
                both = measure_interleaved(n, codes, built, args.runs, Path(scratch), only)
                for label in codes:
                    results[label][n] = both[label]
                continue
            for label, code in codes.items():
                print(f"{label} ({code}), N = {n:,}", file=sys.stderr)
                results[label][n] = measure(n, code, built, args.runs, Path(scratch), only)
    report(results, sizes)
    report_ratios(results, sizes)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
