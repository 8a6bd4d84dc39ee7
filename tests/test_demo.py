"""demo/session.sh, the session behind the README's recording, still runs and shows memory
carried from one AI tool's session to another's (`make demo-recording` records it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_the_recorded_session_runs_and_a_new_session_recalls(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORYMESH_")}
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        DEMO_TYPING_DELAY="0",  # no pauses: the script sleeps only when recording
        DEMO_HOME=str(tmp_path / "demo"),
    )
    result = subprocess.run(
        ["bash", str(ROOT / "demo" / "session.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Added the memorymesh MCP server to Claude Code" in out
    assert "claude:         user" in out
    assert out.count("Remembered ") == 2
    # The other tool's new session starts with both memories, and the CLI finds the decision.
    briefing = out.split("calls session_start(", 1)[1]
    assert "User prefers small pull requests, under 200 lines (preference)" in briefing
    assert "PostgreSQL for billing because we need row locks (decision)" in briefing
    assert "1. [" in out.rsplit("which database for billing?", 1)[1]
