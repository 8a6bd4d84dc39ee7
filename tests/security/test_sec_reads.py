"""Issue #17, Medium 4: memories stored with ``privacy="allow"`` (an older version, another
tool) come back redacted on every path that hands memories to a model: MCP list_memories,
recall, session_start, the ``memory://`` resource and the load_memory prompt; and the API's
get, list and session_start."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from secret_corpus import SECRETS

from memorymesh import AsyncMemoryMesh

BIN = Path(sys.executable).parent
#: One-line entries, stored as guardrails so session_start shows them all.
ENTRIES = [(f, t, s) for f, t, s in SECRETS if "\n" not in t][:20]


async def _store_loosely(project_db: Path, global_db: Path) -> list[str]:
    ids = []
    async with AsyncMemoryMesh(project_db, global_path=global_db, privacy="allow") as loose:
        for n, (_, text, _) in enumerate(ENTRIES):
            memory = await loose.remember(
                f"Never paste this into chat: {text}",
                category="guardrail",
                scope="project",
                metadata={"raw": text},
                session_id=f"s{n}",
                on_conflict="keep_both",
            )
            ids.append(memory.id)
    return ids


def _clean(blob: str) -> list[str]:
    return [f for f, _, secret in ENTRIES if secret in blob]


@pytest.mark.anyio
async def test_api_reads_redact_what_allow_stored(project_db: Path, global_db: Path) -> None:
    ids = await _store_loosely(project_db, global_db)
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        listed = await mesh.list(limit=100)
        got = [await mesh.get(i) for i in ids]
        context = await mesh.session_start("deploy", budget_tokens=20000)
        hits = await mesh.recall("paste chat", k=50)
    blob = json.dumps(
        [m.model_dump(mode="json") for m in [*listed, *got, *(h.memory for h in hits)]]
    )
    assert len(listed) == len(ENTRIES)
    assert _clean(blob) == []
    assert _clean(context.text) == []
    assert "[REDACTED:" in context.text


@pytest.mark.anyio
async def test_mcp_reads_redact_what_allow_stored(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters

    ids = await _store_loosely(project_db, global_db)
    env = {
        **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ},
        "HOME": str(tmp_path / "home"),
        "MEMORYMESH_HOME": str(tmp_path / "home" / ".memorymesh"),
        "MEMORYMESH_PROJECT_ROOT": str(tmp_path / "project"),
    }
    params = StdioServerParameters(
        command=str(BIN / "memorymesh"), args=["mcp"], env=env, cwd=str(tmp_path)
    )
    seen: list[str] = []
    async with Client(params, mode="legacy") as client:
        for tool, arguments in (
            ("list_memories", {"limit": 100}),
            ("recall", {"query": "paste chat", "k": 50}),
            ("session_start", {"query": "deploy", "budget_tokens": 8000}),
        ):
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, result.content
            seen.append(json.dumps(result.structured_content))
            seen.extend(c.text for c in result.content if c.type == "text")
        for memory_id in ids:
            read = await client.read_resource(f"memory://{memory_id}")
            seen.extend(c.text for c in read.contents if hasattr(c, "text"))
        prompt = await client.get_prompt("load_memory", {"task": "deploy"})
        seen.extend(m.content.text for m in prompt.messages if m.content.type == "text")
    blob = "\n".join(seen)
    assert blob.count("[REDACTED:") >= len(ENTRIES)
    assert _clean(blob) == []
