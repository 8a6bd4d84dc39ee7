"""#17 Low: what a memory's text or one bad row can do to the CLI, session_start and the hooks."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh
from memorymesh.cli import main

pytest.importorskip("cryptography")

HOSTILE = "deploy \x1b[2J\x1b]0;owned\x07 with \x9b31m care \u202eexe.txt\u202c done"


def test_human_output_shows_escapes_and_bidi_controls_never_obeys_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["remember", HOSTILE, "--scope", "project"]) == 0
    for command in (["list"], ["recall", "deploy care"], ["session-start", "deploy"]):
        capsys.readouterr()
        assert main(command) == 0
        out = capsys.readouterr().out
        for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\u202c"):
            assert raw not in out, (command, raw)
        assert "\\x1b[2J" in out and "\\u202e" in out, command
    # --json keeps the exact text for programs (JSON escapes it).
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    memories = listed["memories"] if isinstance(listed, dict) else listed
    assert memories[0]["text"] == HOSTILE


@pytest.mark.anyio
async def test_one_planted_unsealed_row_is_skipped_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = {"path": tmp_path / "p.db", "global_path": tmp_path / "g.db"}
    key = "a long test passphrase"
    async with AsyncMemoryMesh(**paths, encryption_key=key) as mesh:
        good = await mesh.remember("We deploy billing on Tuesdays", scope="project")
        bad = await mesh.remember("A row someone will overwrite", scope="project")
    with sqlite3.connect(tmp_path / "p.db") as conn:
        conn.execute(
            "UPDATE memories SET metadata = ? WHERE id = ?", ['{"planted": "plain"}', bad.id]
        )
    conn.close()
    with caplog.at_level(logging.WARNING, logger="memorymesh"):
        async with AsyncMemoryMesh(**paths, encryption_key=key) as mesh:
            listed = await mesh.list()
            assert [m.id for m in listed] == [good.id]
            context = await mesh.session_start("billing")
            assert "Tuesdays" in context.text
            assert [h.memory.id for h in await mesh.recall("deploy billing")] == [good.id]
    assert bad.id in caplog.text and "skipping" in caplog.text


@pytest.mark.parametrize("payload", [b"not json at all {", b"\xff\xfe", b"[1, 2", b""])
def test_hooks_exit_0_on_bad_json(tmp_path: Path, payload: bytes) -> None:
    hook = Path(sys.executable).parent / "memorymesh-hook"
    for event in ("post-tool-use", "stop"):
        done = subprocess.run(
            [str(hook), event], input=payload, capture_output=True, timeout=120, cwd=tmp_path
        )
        assert done.returncode == 0, (event, payload, done.stderr)
        assert b"Traceback" not in done.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("text", ['{"retries": 3, "backoff": "exponential"}', "[1, 2]", "42"])
async def test_mcp_update_memory_accepts_text_that_is_valid_json(text: str) -> None:
    pytest.importorskip("mcp")
    from mcp.client import Client
    from memorymesh_mcp._server import build_server

    async with Client(build_server(":memory:", ":memory:"), mode="legacy") as client:
        stored = await client.call_tool("remember", {"text": "The retry policy for the sync job"})
        assert stored.structured_content is not None
        memory_id = stored.structured_content["memory"]["id"]
        updated = await client.call_tool("update_memory", {"memory_id": memory_id, "text": text})
        assert not updated.is_error, updated.content
        assert updated.structured_content is not None
        assert updated.structured_content["text"] == text


def test_export_to_stdout_stays_exact_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["remember", HOSTILE, "--scope", "project"]) == 0
    capsys.readouterr()
    assert main(["export"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert any(record.get("text") == HOSTILE for record in lines)
