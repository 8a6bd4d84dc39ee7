"""Per-invocation cost of the Claude Code hooks, process start included.

Runs the real commands (``memorymesh-hook`` and ``memorymesh hook``) as Claude Code does: a new
process per event, the hook JSON on stdin, on a real project and real SQLite files. Events:

- ``read``    PostToolUse on Read (the most common tool call; nothing to keep)
- ``edit``    PostToolUse on Edit of a source file (nothing to keep)
- ``bash``    PostToolUse on Bash running the tests (nothing to keep)
- ``commit``  PostToolUse on Bash ``git commit -m "... because ..."`` (one decision)
- ``turn``    Stop at the end of an ordinary turn ("I fixed the failing test...": signal words,
              nothing worth keeping)
- ``stop``    Stop at the end of a turn whose transcript holds a decision and a root cause

The *mix* weighs them like a typical session: 30 tool calls and 4 finished turns, one of which
holds something to keep (12 read, 8 edit, 9 bash, 1 commit; 3 turn, 1 stop). Target: p50 of the
mix at most 150 ms.

    python benchmarks/bench_hooks.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
FIXTURE = Path(__file__).parent.parent / "tests" / "fixtures" / "claude_code" / "transcript.jsonl"
MIX = {"read": 12, "edit": 8, "bash": 9, "commit": 1, "turn": 3, "stop": 1}
PLAIN_TURN = [
    {"type": "user", "message": {"role": "user", "content": "The login test is failing, fix it"}},
    {
        "type": "assistant",
        "message": {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I fixed the failing login test: a stale fixture."},
                {"type": "text", "text": "All 214 tests pass now, and lint is clean."},
            ],
        },
    },
]


def events(project: Path, transcript: Path, plain: Path, n: int) -> dict[str, dict[str, Any]]:
    common = {
        "session_id": "bench-session",
        "transcript_path": str(transcript),
        "cwd": str(project),
        "permission_mode": "default",
    }
    tool = {**common, "hook_event_name": "PostToolUse", "tool_use_id": f"toolu_{n}"}
    return {
        "read": {
            **tool,
            "tool_name": "Read",
            "tool_input": {"file_path": str(project / "app.py")},
            "tool_response": {"type": "text", "file": {"content": "def main():\n    pass\n"}},
        },
        "edit": {
            **tool,
            "tool_name": "Edit",
            "tool_input": {
                "file_path": str(project / "app.py"),
                "old_string": "pass",
                "new_string": "return 0  # never fails",
            },
            "tool_response": {"filePath": str(project / "app.py"), "success": True},
        },
        "bash": {
            **tool,
            "tool_name": "Bash",
            "tool_input": {"command": "pytest -q", "description": "Run the tests"},
            "tool_response": {"stdout": "42 passed", "stderr": "", "interrupted": False},
        },
        "commit": {
            **tool,
            "tool_name": "Bash",
            "tool_input": {
                "command": f"git commit -m 'Use orjson for the API layer because stdlib json "
                f"was the bottleneck in profile run {n}'"
            },
            "tool_response": {
                "stdout": "[main abc] Use orjson",
                "stderr": "",
                "interrupted": False,
            },
        },
        "turn": {
            **common,
            "transcript_path": str(plain),
            "hook_event_name": "Stop",
            "stop_hook_active": False,
        },
        "stop": {**common, "hook_event_name": "Stop", "stop_hook_active": False},
    }


def run_once(argv: list[str], payload: dict[str, Any], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        argv, input=json.dumps(payload), capture_output=True, text=True, env=env, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr}")
    return elapsed * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="invocations per event and command")
    args = parser.parse_args()
    commands = {
        "memorymesh-hook": [str(BIN / "memorymesh-hook")],
        "memorymesh hook": [str(BIN / "memorymesh"), "hook"],
    }
    with tempfile.TemporaryDirectory(prefix="mm-bench-hooks-") as scratch:
        project = Path(scratch) / "project"
        (project / ".git").mkdir(parents=True)
        transcript = Path(scratch) / "transcript.jsonl"
        transcript.write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
        plain = Path(scratch) / "plain.jsonl"
        plain.write_text("\n".join(json.dumps(e) for e in PLAIN_TURN) + "\n", encoding="utf-8")
        env = {
            **os.environ,
            "MEMORYMESH_HOME": str(Path(scratch) / "home"),
            "MEMORYMESH_PROJECT_ROOT": str(project),
        }
        timings: dict[tuple[str, str], list[float]] = {}
        for label, argv in commands.items():
            for n in range(args.runs):
                for kind, payload in events(project, transcript, plain, n).items():
                    event = "stop" if kind in {"stop", "turn"} else "post-tool-use"
                    timings.setdefault((label, kind), []).append(
                        run_once([*argv, event], payload, env)
                    )
    print(f"Hook wall time per invocation (ms, process start included, {args.runs} runs each)\n")
    print(f"{'command':<17} {'event':<8} {'p50':>7} {'p90':>7} {'mean':>7}")
    for (label, kind), values in timings.items():
        print(
            f"{label:<17} {kind:<8} {percentile(values, 0.5):>7.1f} "
            f"{percentile(values, 0.9):>7.1f} {statistics.fmean(values):>7.1f}"
        )
    print("\nTypical session mix (30 tool calls, 4 finished turns, 1 with something to keep):")
    for label in commands:
        mix = [v for kind, w in MIX.items() for v in timings[(label, kind)] for _ in range(w)]
        p50 = percentile(mix, 0.5)
        verdict = "meets" if p50 <= 150 else "misses"
        print(
            f"  {label:<17} p50 {p50:7.1f} ms  p90 {percentile(mix, 0.9):7.1f} ms  "
            f"mean {statistics.fmean(mix):7.1f} ms  ({verdict} the 150 ms p50 target)"
        )
    fast = statistics.median(timings[("memorymesh-hook", "read")])
    full = statistics.median(timings[("memorymesh hook", "read")])
    print(f"\nmemorymesh-hook is {full / fast:.1f}x faster than `memorymesh hook` on a no-op event")


if __name__ == "__main__":
    main()
