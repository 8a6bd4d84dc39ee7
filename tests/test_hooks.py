"""Auto-remember hooks: the real hook commands, real Claude Code hook JSON on stdin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError, Memory
from memorymesh.cli import main
from memorymesh.context._hooks import HOOK_COMMANDS, extract, install_claude_hooks

FIXTURES = Path(__file__).parent / "fixtures" / "claude_code"
BIN = Path(sys.executable).parent


def _script(name: str) -> str:
    return shutil.which(name, path=str(BIN)) or str(BIN / name)


def run_hook(
    event: str, payload: dict[str, Any] | str, *, via: str = "memorymesh-hook", **env: str
) -> subprocess.CompletedProcess[str]:
    argv = [_script("memorymesh-hook"), event]
    if via == "memorymesh":
        argv = [_script("memorymesh"), "hook", event, "--json"]
    stdin = payload if isinstance(payload, str) else json.dumps(payload)
    return subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def stop_event(project: Path, transcript: Path) -> dict[str, Any]:
    return {
        "session_id": "8c35adc1-0a1b-4c2d-9e8f-1234567890ab",
        "transcript_path": str(transcript),
        "cwd": str(project),
        "permission_mode": "default",
        "hook_event_name": "Stop",
        "stop_hook_active": False,
    }


def tool_event(
    project: Path, tool: str, tool_input: dict[str, Any], response: Any
) -> dict[str, Any]:
    return {
        "session_id": "8c35adc1-0a1b-4c2d-9e8f-1234567890ab",
        "transcript_path": str(FIXTURES / "transcript.jsonl"),
        "cwd": str(project),
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_response": response,
        "tool_use_id": "toolu_01DUxyz",
    }


def queue(project_db: Path, global_db: Path) -> list[Memory]:
    async def read() -> list[Memory]:
        async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
            assert await mesh.count() == 0  # nothing captured is live before review
            return await mesh.review_queue()

    return anyio.run(read)


def test_stop_hook_queues_decisions_mistakes_and_preferences(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    project = tmp_path / "project"
    done = run_hook("stop", stop_event(project, FIXTURES / "transcript.jsonl"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # a Stop hook's stdout would be read by Claude Code
    queued = {m.text: m for m in queue(project_db, global_db)}
    assert set(queued) == {
        "Please use pytest-xdist for the test runs from now on, I prefer fast feedback.",
        "The root cause was a race between the cache warm-up thread and the first request, "
        "so the test saw an empty cache.",
        "We decided to keep the in-process cache instead of Redis because the data set is tiny.",
    }
    cause = queued[next(t for t in queued if t.startswith("The root cause"))]
    assert cause.category.value == "mistake" and cause.scope.value == "project"
    preference = queued[next(t for t in queued if t.startswith("Please use"))]
    assert preference.category.value == "preference" and preference.scope.value == "global"
    assert preference.session_id == "8c35adc1-0a1b-4c2d-9e8f-1234567890ab"
    assert preference.source == "claude-code-hook" and preference.metadata["hook"] == "Stop"
    # The injected session-start block in the same message was not captured, nor the code,
    # nor the earlier turn, nor the tool output.
    assert not any("DNS" in t or "warm()" in t or "lint" in t for t in queued)

    # The same turn again (Claude Code fires Stop once per turn; a resumed session may repeat)
    again = run_hook("stop", stop_event(project, FIXTURES / "transcript.jsonl"), via="memorymesh")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"queued": []}
    assert len(queue(project_db, global_db)) == 3


def test_near_duplicates_of_known_memories_are_dropped(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    async def seed() -> None:
        async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
            await mesh.remember(
                "The root cause was a race between the cache warm-up thread and the first "
                "request, so tests saw an empty cache."
            )
            [rejected] = await mesh.remember_many(
                [
                    "We decided to keep the in-process cache instead of Redis "
                    "since the data is tiny."
                ],
                review=True,
            )
            await mesh.reject([rejected.id])

    anyio.run(seed)
    done = run_hook("stop", stop_event(tmp_path / "project", FIXTURES / "transcript.jsonl"))
    assert done.returncode == 0, done.stderr
    assert [m.category.value for m in queue_any(project_db, global_db)] == ["preference"]


def queue_any(project_db: Path, global_db: Path) -> list[Memory]:
    async def read() -> list[Memory]:
        async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
            return await mesh.review_queue()

    return anyio.run(read)


def test_post_tool_use_keeps_commit_reasons_and_ignores_the_rest(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    project = tmp_path / "project"
    read = tool_event(
        project,
        "Read",
        {"file_path": str(project / "CLAUDE.md")},
        {"type": "text", "file": {"filePath": "CLAUDE.md", "content": "We decided to never X."}},
    )
    assert run_hook("post-tool-use", read).returncode == 0
    plain_commit = tool_event(
        project,
        "Bash",
        {"command": 'git commit -m "fix typo"', "description": "Commit"},
        {"stdout": "[main 1a2b3c4] fix typo", "stderr": "", "interrupted": False, "isImage": False},
    )
    assert run_hook("post-tool-use", plain_commit).returncode == 0
    assert queue_any(project_db, global_db) == []

    commit = tool_event(
        project,
        "Bash",
        {
            "command": "git add -A && git commit -m 'Pin httpx below 1.0 because 1.0 drops the "
            "sync client we depend on'",
            "description": "Commit the pin",
        },
        {
            "stdout": "[main 1a2b3c4] Pin httpx",
            "stderr": "",
            "interrupted": False,
            "isImage": False,
        },
    )
    adr = tool_event(
        project,
        "Write",
        {
            "file_path": str(project / "docs" / "adr" / "0007-queue.md"),
            "content": "# 7. Queue\n\nDecision: we will use SQLite as the job queue because "
            "it needs no server.\n\n```sql\nCREATE TABLE jobs (id INTEGER);\n```\n",
        },
        {"type": "create", "filePath": "docs/adr/0007-queue.md", "content": "..."},
    )
    for event in (commit, adr):
        done = run_hook("post-tool-use", event)
        assert done.returncode == 0 and done.stdout == "", done.stderr
    queued = queue_any(project_db, global_db)
    assert sorted(m.text for m in queued) == [
        "Decision: we will use SQLite as the job queue because it needs no server.",
        "Pin httpx below 1.0 because 1.0 drops the sync client we depend on",
    ]
    assert {m.metadata["tool"] for m in queued} == {"Bash", "Write"}
    assert all(m.category.value == "decision" and m.scope.value == "project" for m in queued)


def test_opt_out_and_bad_input(tmp_path: Path, project_db: Path, global_db: Path) -> None:
    event = stop_event(tmp_path / "project", FIXTURES / "transcript.jsonl")
    off = run_hook("stop", event, MEMORYMESH_AUTO_REMEMBER="0")
    assert off.returncode == 0 and not project_db.exists() and not global_db.exists()
    bad = run_hook("stop", "this is not json")
    # Said on stderr, exit 0: the installed hook never fails a session (#17).
    assert bad.returncode == 0 and "JSON" in bad.stderr
    bad_cli = run_hook("stop", "[1, 2]", via="memorymesh")
    assert bad_cli.returncode == 2 and "memorymesh: error:" in bad_cli.stderr
    usage = subprocess.run(
        [_script("memorymesh-hook"), "pre-tool-use"], input="{}", capture_output=True, text=True
    )
    assert usage.returncode == 2
    missing = run_hook("stop", {**event, "transcript_path": str(tmp_path / "gone.jsonl")})
    assert missing.returncode == 0 and not project_db.exists()


def test_extract_noise_gate() -> None:
    texts = [
        ("assistant", "We decided to use it."),  # too short
        ("assistant", "We decided to go with `a/b/c.py:{x}` = [1, 2]; (see $PATH) <ok>"),  # code
        ("assistant", "I will now run the whole test suite again to check everything passes."),
        ("user", "Never push directly to the main branch, always open a pull request first."),
        ("user", "never push directly to the main branch; always open a pull request first!"),
        ("user", "Why does the release script never pick up the new version number?"),
        ("user", "Never mind the flaky test, let us look at the deploy script first."),
        (
            "user",
            "Here is our CLAUDE.md:\n<!-- memorymesh:start -->\n### Guardrails\n\n"
            "- Always run the full test suite before tagging a release <!-- mm:0123456789ab -->"
            "\n<!-- memorymesh:end -->",
        ),
    ]
    found = extract(texts)
    assert [c.text for c in found] == [
        "Never push directly to the main branch, always open a pull request first."
    ]


def test_install_claude_hooks_merges_without_clobbering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "project" / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    mine = {
        "model": "opus",
        "permissions": {"allow": ["Bash(npm test)"]},
        "hooks": {
            "PostToolUse": [
                {"matcher": "Write", "hooks": [{"type": "command", "command": "prettier -w"}]}
            ]
        },
    }
    settings.write_text(json.dumps(mine), encoding="utf-8")
    assert main(["hook", "install", "--scope", "project", "--dry-run"]) == 0
    assert "Would update" in capsys.readouterr().out
    assert json.loads(settings.read_text()) == mine

    assert main(["hook", "install", "--scope", "project"]) == 0
    merged = json.loads(settings.read_text())
    assert merged["model"] == "opus" and merged["permissions"] == mine["permissions"]
    post = merged["hooks"]["PostToolUse"]
    assert post[0] == mine["hooks"]["PostToolUse"][0]
    assert post[1]["matcher"] == HOOK_COMMANDS["PostToolUse"][0]
    # The command is the memorymesh-hook installed beside this Python, and it really runs.
    command = post[1]["hooks"][0]["command"]
    assert command == f"{_script('memorymesh-hook')} post-tool-use"
    assert merged["hooks"]["Stop"][0]["hooks"][0]["command"].endswith("memorymesh-hook stop")
    ran = subprocess.run(
        command, shell=True, input="{}", capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr

    _, changed = install_claude_hooks(settings)
    assert not changed and json.loads(settings.read_text()) == merged

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="cannot read"):
        install_claude_hooks(broken)
    assert broken.read_text() == "{not json"
    user = tmp_path / "home" / ".claude" / "settings.json"
    assert main(["hook", "install"]) == 0 and user.exists()
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["auto_remember"] == "on"
    assert status["claude_code_hooks"] == f"{user}, {settings}"
