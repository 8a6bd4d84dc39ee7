"""The README's "Give your AI tools one memory", followed as a first-time user would.

`memorymesh setup claude` writes Claude Code's config; this test then starts exactly the
server that config names (command, arguments, environment), the way Claude Code does, in two
sessions one after the other: what the first session remembers, the second one is told at
`session_start` and finds by `recall`, and `memorymesh status` (the README's "how you know it
worked") shows the client and the memory. Nothing here is configured by hand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")
pytest.importorskip("tomlkit")

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import Implementation

BIN = Path(sys.executable).parent
README = Path(__file__).parent.parent / "README.md"
CLAUDE_CODE = Implementation(name="claude-code", version="2.0.0")
FACT = "The team deploys the API with blue-green releases on Fridays"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def user(tmp_path: Path) -> dict[str, str]:
    """A fresh user: an empty home and nothing MemoryMesh-specific in the environment."""
    home = tmp_path / "fresh-user"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORYMESH_") and k != "HOME"}
    return {**env, "HOME": str(home)}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "acme-api"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _readme_commands() -> list[list[str]]:
    """The `memorymesh` commands of the README's AI-tools quick start, in order."""
    section = README.read_text(encoding="utf-8").split("### Give your AI tools one memory", 1)[1]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].split() for line in block.splitlines()]
    return [line for line in lines if line[:1] == ["memorymesh"]]


def _memorymesh(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [str(BIN / "memorymesh"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _call(client: Client, name: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


@pytest.mark.anyio
async def test_setup_then_two_claude_code_sessions_share_one_memory(
    user: dict[str, str], project: Path
) -> None:
    setup, status = _readme_commands()
    assert setup == ["memorymesh", "setup", "claude"] and status == ["memorymesh", "status"]
    _memorymesh(setup[1:], user, project)

    config = json.loads((Path(user["HOME"]) / ".claude.json").read_text(encoding="utf-8"))
    entry = config["mcpServers"]["memorymesh"]
    server = StdioServerParameters(
        command=entry["command"],
        args=entry.get("args", []),
        env={**user, **entry.get("env", {})},
        cwd=str(project),
    )

    async with Client(server, mode="legacy", client_info=CLAUDE_CODE) as first_session:
        await _call(first_session, "session_start")
        stored = (await _call(first_session, "remember", text=FACT, scope="project"))["memory"]

    async with Client(server, mode="legacy", client_info=CLAUDE_CODE) as next_session:
        context = await _call(next_session, "session_start")
        # What the last session remembered opens this one, without the assistant having
        # passed any session id around.
        last_time = context["text"].split("## Last time", 1)[1].split("## ", 1)[0]
        assert FACT in last_time, context["text"]
        found = await _call(next_session, "recall", query="how does the team deploy?", k=3)
        assert [hit["memory"]["id"] for hit in found["results"]][:1] == [stored["id"]]

    report = _memorymesh(status[1:], user, project)
    assert re.search(r"^ +claude: +user$", report, re.MULTILINE), report
    assert re.search(r"memories: +1 \(project 1, global 0\)", report), report
    assert str(project / ".memorymesh" / "memories.db") in report
