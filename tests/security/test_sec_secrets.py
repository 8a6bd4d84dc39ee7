"""Issue #17, Medium 4: no secret of any format in the corpus reaches disk in clear, through
any write path, in any stored field; and the guard stays linear on hostile text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _leaks import checkpoint, leaked
from secret_corpus import NEGATIVES, SECRETS

from memorymesh import AsyncMemoryMesh, SecretDetectedError
from memorymesh.cli import main
from memorymesh.writes._privacy import redact

BIN = Path(sys.executable).parent
#: Entries whose text fits in a label (one line, at most 256 characters). A label gets the
#: whole text, as a secret is typed with its context: a bare 40-character AWS secret or a bare
#: password has no shape of its own, in a label or anywhere else.
LABELS = [(f, t, s) for f, t, s in SECRETS if "\n" not in t and len(t) <= 256]


def _label(text: str) -> str | None:
    return text if "\n" not in text and len(text) <= 256 else None


def _folders(tmp_path: Path) -> list[Path]:
    return [tmp_path / "home" / ".memorymesh", tmp_path / "project" / ".memorymesh"]


def _close_and_scan(tmp_path: Path, project_db: Path, global_db: Path) -> list[str]:
    checkpoint(project_db, global_db)
    return leaked(_folders(tmp_path), SECRETS)


def test_the_guard_redacts_every_format_and_leaves_every_negative() -> None:
    missed = [f for f, text, secret in SECRETS if secret in redact(text)[0]]
    assert missed == []
    alarms = [text for text in NEGATIVES if redact(text) != (text, ())]
    assert alarms == []
    assert len({f for f, _, _ in SECRETS}) >= 60


@pytest.mark.anyio
async def test_api_write_paths_store_no_secret_in_any_field(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        for _, text, _ in SECRETS:
            await mesh.remember(text, on_conflict="keep_both")
        await mesh.remember_many(
            [
                {
                    "text": f"note {n} about the deploy",
                    "metadata": {"value": text, "nested": [{"deep": {"k": text}}], text: 1},
                    "on_conflict": "keep_both",
                }
                for n, (_, text, secret) in enumerate(SECRETS)
            ]
        )
        for n, (_, text, _) in enumerate(LABELS):
            await mesh.remember(f"labelled note {n}", session_id=text, agent=text, source=text)
        plain = await mesh.remember("a plain note that will be edited")
        for _, text, _ in SECRETS:
            await mesh.update(plain.id, text=text, metadata={"edit": text, text: "key"})
    assert _close_and_scan(tmp_path, project_db, global_db) == []


@pytest.mark.anyio
async def test_a_secret_in_a_keyed_items_name_is_refused(mesh: AsyncMemoryMesh) -> None:
    secret = LABELS[0][1]
    with pytest.raises(SecretDetectedError):
        await mesh.remember(
            "an item", metadata={"langgraph_ns": ["u", secret], "langgraph_key": "k"}
        )
    assert await mesh.count() == 0


def test_cli_remember_and_remember_file_store_no_secret(
    tmp_path: Path, project_db: Path, global_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for n, (_, text, _) in enumerate(SECRETS):
        session = ["--session", text] if _label(text) else []
        assert main(["remember", "--on-conflict", "keep_both", *session, text]) == 0, n
    notes = tmp_path / "notes.txt"
    notes.write_text("\n\n".join(text for _, text, _ in SECRETS), encoding="utf-8")
    assert main(["remember", "--on-conflict", "keep_both", "--file", str(notes)]) == 0
    err = capsys.readouterr().err
    assert "redacted a secret (private_key)" in err
    assert _close_and_scan(tmp_path, project_db, global_db) == []


@pytest.mark.anyio
async def test_import_stores_no_secret(tmp_path: Path, project_db: Path, global_db: Path) -> None:
    # An export written by a store that kept secrets (privacy="allow"), then imported.
    other = tmp_path / "other"
    async with AsyncMemoryMesh(
        other / "p.db", global_path=other / "g.db", privacy="allow"
    ) as loose:
        for n, (_, text, _) in enumerate(SECRETS):
            short = _label(text)
            await loose.remember(
                text,
                metadata={text: text},
                session_id=short,
                agent=short,
                source=short,
                on_conflict="keep_both",
                scope="project" if n % 2 else "global",
            )
        await loose.export(tmp_path / "loose.jsonl")
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        report = await mesh.import_(tmp_path / "loose.jsonl")
        assert report.imported == len(SECRETS)
    assert _close_and_scan(tmp_path, project_db, global_db) == []


@pytest.mark.anyio
async def test_mcp_remember_stores_no_secret(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters
    from mcp_types import Implementation

    env = {
        **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
        "HOME": str(tmp_path / "home"),
        "MEMORYMESH_HOME": str(tmp_path / "home" / ".memorymesh"),
        "MEMORYMESH_PROJECT_ROOT": str(tmp_path / "project"),
    }
    params = StdioServerParameters(
        command=str(BIN / "memorymesh"), args=["mcp"], env=env, cwd=str(tmp_path)
    )
    # The client's own name becomes the memory's agent: a secret there must not land either.
    client_info = Implementation(name=LABELS[0][1], version="1.0")
    async with Client(params, mode="legacy", client_info=client_info) as client:
        for n, (_, text, _) in enumerate(SECRETS):
            short = _label(text)
            arguments: dict[str, Any] = {"text": text, "metadata": {text: text}}
            if short and not short.startswith("{"):  # (JSON-looking strings: sec-access's)
                arguments["session_id"] = short
            result = await client.call_tool("remember", arguments)
            assert not result.is_error, (n, result.content)
    assert _close_and_scan(tmp_path, project_db, global_db) == []


def test_hook_capture_stores_no_secret(tmp_path: Path, project_db: Path, global_db: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(exist_ok=True)
    lines = []
    for n, (_, text, _) in enumerate(SECRETS):
        said = f"From now on, I prefer that we always deploy with this setting: {text}"
        lines.append(
            {
                "type": "user",
                "sessionId": "s-1",
                "cwd": str(project),
                "message": {"role": "user", "content": said},
                "uuid": f"u{n}",
                "parentUuid": f"u{n - 1}" if n else None,
                "timestamp": "2026-11-25T10:01:00.000Z",
            }
        )
    transcript = tmp_path / "transcript.jsonl"
    transcript.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    event = {
        "session_id": "8c35adc1-0a1b-4c2d-9e8f-1234567890ab",
        "transcript_path": str(transcript),
        "cwd": str(project),
        "hook_event_name": "Stop",
        "stop_hook_active": False,
    }
    done = subprocess.run(
        [str(BIN / "memorymesh"), "hook", "stop", "--json"],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["queued"], done.stdout  # something was captured
    assert _close_and_scan(tmp_path, project_db, global_db) == []
