"""The MCP server, driven by the official SDK's own client against the real server process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from _http_server import ChatServer

mcp = pytest.importorskip("mcp")

import httpx2  # noqa: E402
from mcp.client import Client, ClientRequestContext  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402
from mcp_types import Implementation, ListRootsResult, Root  # noqa: E402
from memorymesh_mcp._flatten import flatten_schema, has_refs  # noqa: E402
from memorymesh_mcp._limits import MAX_RECALL_K, MAX_TEXT_CHARS  # noqa: E402

from memorymesh import AsyncMemoryMesh  # noqa: E402

BIN = Path(sys.executable).parent
TOOLS = {
    "remember",
    "recall",
    "forget",
    "update_memory",
    "session_start",
    "memory_stats",
    "pin",
    "list_memories",
}
CLIENT = Implementation(name="pytest-client", version="1.0")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def _env(root: Path) -> dict[str, str]:
    # PYTHONPATH passes through, so the server runs the code under test (a worktree, say),
    # not whatever the environment's editable install points at.
    inherited = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {
        **inherited,
        "HOME": str(root / "home"),
        "MEMORYMESH_HOME": str(root / "home" / ".memorymesh"),
        "MEMORYMESH_PROJECT_ROOT": str(root / "project"),
    }


def _stdio(root: Path, *args: str, command: str = "memorymesh") -> StdioServerParameters:
    (root / "project").mkdir(parents=True, exist_ok=True)
    extra = ["mcp"] if command == "memorymesh" else []
    return StdioServerParameters(
        command=str(BIN / command), args=[*extra, *args], env=_env(root), cwd=str(root)
    )


@pytest.fixture(scope="module")
def server_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-stdio")


@pytest.fixture(scope="module")
async def client(server_root: Path) -> AsyncIterator[Client]:
    """One real server process over stdio for the module, on the legacy handshake that
    today's clients use."""
    async with Client(_stdio(server_root), mode="legacy", client_info=CLIENT) as connected:
        yield connected


def _open_mesh(root: Path) -> AsyncMemoryMesh:
    return AsyncMemoryMesh(
        root / "project" / ".memorymesh" / "memories.db",
        global_path=root / "home" / ".memorymesh" / "global.db",
    )


async def _call(client: Client, name: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def _error(client: Client, name: str, **arguments: Any) -> str:
    result = await client.call_tool(name, arguments)
    assert result.is_error, result.structured_content
    text = result.content[0]
    assert text.type == "text"
    return text.text


# -- handshake and listing ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_handshake_names_the_server_and_teaches_the_assistant(client: Client) -> None:
    assert client.server_info is not None and client.server_info.name == "memorymesh"
    assert client.protocol_version == "2025-11-25"
    assert client.instructions and "session_start" in client.instructions
    assert client.server_capabilities.tools is not None


@pytest.mark.anyio
async def test_the_current_protocol_works_too(server_root: Path) -> None:
    async with Client(_stdio(server_root), mode="auto", client_info=CLIENT) as modern:
        assert modern.protocol_version == "2026-07-28"
        stored = await _call(modern, "remember", text="The modern handshake works as well")
        assert stored["status"] == "stored"
        assert stored["memory"]["agent"] == "pytest-client"


@pytest.mark.anyio
async def test_every_tool_has_flat_input_and_output_schemas_and_honest_hints(
    client: Client,
) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 80, name
        assert tool.input_schema["type"] == "object", name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", name
        assert not has_refs(tool.input_schema), name
        assert not has_refs(tool.output_schema), name
        assert tool.annotations is not None, name
        # An assistant chooses arguments from these words alone: every parameter has some.
        for param, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{name}.{param} has no description"
    hints = {n: t.annotations for n, t in tools.items()}
    for name in ("recall", "session_start", "memory_stats", "list_memories"):
        assert hints[name].read_only_hint is True, name  # type: ignore[union-attr]
    for name in ("forget", "update_memory"):
        assert hints[name].destructive_hint is True, name  # type: ignore[union-attr]
    for name in ("remember", "pin"):
        assert hints[name].read_only_hint is False, name  # type: ignore[union-attr]
        assert hints[name].destructive_hint is False, name  # type: ignore[union-attr]
    # Limits are published in the schemas, so a client can see them before calling.
    assert tools["remember"].input_schema["properties"]["text"]["maxLength"] == MAX_TEXT_CHARS
    assert tools["recall"].input_schema["properties"]["k"]["maximum"] == MAX_RECALL_K
    assert tools["remember"].input_schema["required"] == ["text"]


@pytest.mark.anyio
async def test_the_tools_are_listed_before_they_are_built_as_building_them_lists_them(
    tmp_path: Path,
) -> None:
    """A new server answers ``tools/list`` from the stored listing without building its
    tools (pydantic models and schemas); that listing is exactly what building them
    publishes. If a tool changed, write it again: ``python -m memorymesh_mcp._write_listing``."""
    from memorymesh_mcp._listing import TOOL_LISTING
    from memorymesh_mcp._server import _LazyTools, build_server, built_listing, tool_listing

    assert await built_listing() == TOOL_LISTING, (
        "mcp/memorymesh_mcp/_listing.py is stale: run `python -m memorymesh_mcp._write_listing && "
        "ruff format mcp/memorymesh_mcp/_listing.py`"
    )
    server = build_server(str(tmp_path / "p.db"), str(tmp_path / "g.db"))
    manager = server._tool_manager
    assert isinstance(manager, _LazyTools) and not manager.built
    early = tool_listing(await server.list_tools())
    assert not manager.built and early == TOOL_LISTING
    assert {tool["name"] for tool in early} == TOOLS
    assert all(not has_refs(tool) for tool in early)
    # The first call (or lookup) builds them; the listing stays the same.
    assert server._tool_manager.get_tool("recall") is not None and manager.built
    assert tool_listing(await server.list_tools()) == early


def test_flatten_inlines_nested_definitions() -> None:
    schema = {
        "type": "object",
        "properties": {"hits": {"type": "array", "items": {"$ref": "#/$defs/Hit"}}},
        "$defs": {
            "Hit": {"type": "object", "properties": {"m": {"$ref": "#/$defs/M"}}},
            "M": {"type": "string"},
        },
    }
    flat = flatten_schema(schema)
    assert not has_refs(flat)
    assert flat["properties"]["hits"]["items"]["properties"]["m"] == {"type": "string"}
    with pytest.raises(ValueError, match="recursive"):
        flatten_schema({"$ref": "#/$defs/A", "$defs": {"A": {"items": {"$ref": "#/$defs/A"}}}})


# -- tools ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_remember_recall_update_pin_list_forget(client: Client, server_root: Path) -> None:
    stored = await _call(
        client,
        "remember",
        text="We decided to use PostgreSQL 16 for the billing service",
        metadata={"area": "billing"},
    )
    assert stored["status"] == "stored"
    memory = stored["memory"]
    assert memory["category"] == "decision" and memory["scope"] == "project"
    assert memory["source"] == "mcp" and memory["agent"] == "pytest-client"

    again = await _call(
        client, "remember", text="we decided to use postgresql 16 for the  billing service"
    )
    assert again["status"] == "duplicate" and again["memory"]["id"] == memory["id"]

    found = await _call(client, "recall", query="which database for billing?", k=3)
    assert found["count"] >= 1 and found["results"][0]["memory"]["id"] == memory["id"]
    assert 0 < found["results"][0]["score"] <= 1

    short = memory["id"][:8]
    updated = await _call(client, "update_memory", memory_id=short, importance=0.95)
    assert updated["importance"] == 0.95 and updated["id"] == memory["id"]
    pinned = await _call(client, "pin", memory_id=short)
    assert pinned["pinned"] is True
    unpinned = await _call(client, "pin", memory_id=short, pinned=False)
    assert unpinned["pinned"] is False

    listed = await _call(client, "list_memories", category="decision", limit=10)
    assert memory["id"] in [m["id"] for m in listed["memories"]]

    # The write really landed in the project store on disk, with who wrote it.
    async with _open_mesh(server_root) as mesh:
        on_disk = await mesh.get(memory["id"])
        assert on_disk.agent == "pytest-client" and on_disk.metadata == {"area": "billing"}
        assert mesh.project_path is not None and mesh.project_path.endswith("memories.db")

    gone = await _call(client, "forget", memory_id=memory["id"])
    assert gone["forgotten"]["id"] == memory["id"]
    assert "No memory with id" in await _error(client, "forget", memory_id=memory["id"])


@pytest.mark.anyio
async def test_recall_explains_scores_and_empty_results(client: Client) -> None:
    await _call(client, "remember", text="The staging cluster runs on Hetzner", importance=0.4)
    found = await _call(client, "recall", query="where does staging run?", explain=True)
    assert found["terms"] == ["staging", "run"]
    why = found["results"][0]["why"]
    assert why["importance"] == 0.4
    assert set(why["weights"]) == {"relevance", "recency", "importance", "frequency"}
    plain = await _call(client, "recall", query="where does staging run?")
    assert plain["results"][0]["why"] is None
    nothing = await _call(client, "recall", query="kubernetes", explain=True)
    assert nothing["count"] == 0
    assert nothing["reason"] == "no memory contains any of the query's terms"


@pytest.mark.anyio
async def test_session_start_links_sessions_into_a_chain(client: Client) -> None:
    first = await _call(client, "session_start")
    await _call(
        client,
        "remember",
        text="We decided to keep the MCP schemas flat",
        category="decision",
        session_id=first["session_id"],
    )
    second = await _call(client, "session_start")
    assert second["continues"] == first["session_id"]
    assert [i["text"] for i in second["items"] if i["section"] == "last_time"] == [
        "We decided to keep the MCP schemas flat"
    ]
    branch = await _call(client, "session_start", continues=first["session_id"])
    assert branch["continues"] == first["session_id"]
    assert branch["session_id"] not in (first["session_id"], second["session_id"])


@pytest.mark.anyio
async def test_session_start_returns_marked_context_within_budget(client: Client) -> None:
    await _call(client, "remember", text="Never force-push to main", category="guardrail")
    await _call(client, "remember", text="User prefers concise answers without emojis")
    await _call(client, "remember", text="Paired on the flaky login test", session_id="s-42")
    resumed = await _call(client, "session_start", session_id="s-42")
    assert [i["text"] for i in resumed["items"] if i["section"] == "session"] == [
        "Paired on the flaky login test"
    ]
    context = await _call(
        client, "session_start", query="how should I push my branch?", budget_tokens=300
    )
    assert context["used_tokens"] <= 300
    assert context["text"].startswith('<memorymesh-context source="session-start">')
    sections = {item["section"] for item in context["items"]}
    assert "Never force-push to main" in context["text"]
    assert sections & {"guardrails", "relevant"}
    # Echoing that context back must not store it again.
    echoed = await _call(client, "remember", text=context["text"])
    assert echoed["status"] == "not_stored_injected_context" and echoed["memory"] is None


@pytest.mark.anyio
async def test_recall_and_list_output_is_marked_and_never_stored_back(client: Client) -> None:
    await _call(client, "remember", text="The deploy pipeline runs on GitHub Actions")
    before = (await _call(client, "memory_stats"))["total"]
    for tool, arguments, label in (
        ("recall", {"query": "deploy pipeline", "k": 2}, "recall"),
        ("list_memories", {"limit": 2}, "list"),
    ):
        result = await client.call_tool(tool, arguments)
        assert not result.is_error and result.structured_content is not None
        text = result.content[0]
        assert text.type == "text"
        # What the model reads is marked, like session_start's context ...
        assert text.text.startswith(f'<memorymesh-context source="{label}">')
        assert "GitHub Actions" in text.text
        # ... so passing it back to remember stores nothing,
        echoed = await _call(client, "remember", text=text.text)
        assert echoed["status"] == "not_stored_injected_context", tool
        assert echoed["memory"] is None
        # and neither does the structured result passed back as JSON.
        raw = await _call(client, "remember", text=json.dumps(result.structured_content))
        assert raw["status"] == "not_stored_injected_context", tool
    # One memory as the memory:// resource gives it, passed back whole, is not stored either.
    [memory] = (await _call(client, "list_memories", limit=1))["memories"]
    resource = await client.read_resource(f"memory://{memory['id']}")
    raw = await _call(client, "remember", text=resource.contents[0].text)  # type: ignore[union-attr]
    assert raw["status"] == "not_stored_injected_context"
    assert (await _call(client, "memory_stats"))["total"] == before
    # A fact that merely looks like JSON is still remembered.
    kept = await _call(client, "remember", text='{"team": "billing", "oncall": "weekly"}')
    assert kept["status"] == "stored"


@pytest.mark.anyio
async def test_a_store_refused_on_opening_is_the_first_calls_error(tmp_path: Path) -> None:
    """The stores open on the first call that needs them: one the core refuses (written by
    a newer MemoryMesh) comes back as that call's error, in one plain line, and the server
    keeps answering."""
    import sqlite3

    db = tmp_path / "newer.db"
    async with AsyncMemoryMesh(db, global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("Written before the upgrade")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_from_the_future', 0)"
        )
    conn.close()
    params = _stdio(tmp_path, "--db", str(db), "--global-db", str(tmp_path / "g.db"))
    async with Client(params, mode="legacy", client_info=CLIENT) as connected:
        assert {tool.name for tool in (await connected.list_tools()).tools} == TOOLS
        for _ in range(2):
            message = await _error(connected, "memory_stats")
            assert "written by a newer MemoryMesh" in message and "9999_from_the_future" in message
            assert "Traceback" not in message


@pytest.mark.anyio
async def test_errors_come_back_as_tool_errors_and_write_nothing(
    client: Client, server_root: Path
) -> None:
    before = (await _call(client, "memory_stats"))["total"]
    too_long = await _error(client, "remember", text="x" * (MAX_TEXT_CHARS + 1))
    assert too_long == (
        "Invalid arguments for remember: text: String should have at most 10000 characters"
    )
    assert "larger than" in await _error(
        client, "remember", text="a fact with big metadata", metadata={"blob": "y" * 20_000}
    )
    assert "text" in await _error(client, "remember", text="")
    assert "category" in await _error(client, "remember", text="ok", category="nonsense")
    assert "k" in await _error(client, "recall", query="anything", k=MAX_RECALL_K + 1)
    assert "valid integer" in await _error(client, "recall", query="anything", k="lots")
    assert "No memory with id" in await _error(
        client, "update_memory", memory_id="00000000", importance=0.5
    )
    assert "Nothing to update" in await _error(client, "update_memory", memory_id="00000000")
    assert "No memory with id" in await _error(client, "pin", memory_id="ffffffff")
    assert "unknown tool" in (await _error(client, "no_such_tool")).lower()
    stats = await _call(client, "memory_stats")
    assert stats["total"] == before
    assert stats["client"] == "pytest-client"
    assert stats["global_store"].startswith(str(server_root))
    # The server is still answering after every error.
    assert (await _call(client, "recall", query="force-push"))["count"] >= 1


@pytest.mark.anyio
async def test_resources_and_prompt(client: Client) -> None:
    stored = await _call(client, "remember", text="Release notes live in CHANGELOG.md")
    memory_id = stored["memory"]["id"]

    resources = {str(r.uri) for r in (await client.list_resources()).resources}
    assert "memory://stats" in resources
    templates = {
        t.uri_template for t in (await client.list_resource_templates()).resource_templates
    }
    assert "memory://{memory_id}" in templates

    stats = await client.read_resource("memory://stats")
    assert json.loads(stats.contents[0].text)["total"] >= 1  # type: ignore[union-attr]
    one = await client.read_resource(f"memory://{memory_id[:8]}")
    assert json.loads(one.contents[0].text)["id"] == memory_id  # type: ignore[union-attr]
    with pytest.raises(MCPError, match="Resource not found") as missing:
        await client.read_resource("memory://00000000")
    assert missing.value.error.code == -32002  # the handshake protocol's "not found"

    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert "load_memory" in prompts
    prompt = await client.get_prompt("load_memory", {"task": "update the changelog"})
    text = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "<memorymesh-context" in text and "CHANGELOG.md" in text


# -- project detection ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_project_store_follows_the_clients_roots(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    (workspace / ".git").mkdir(parents=True)  # roots must be projects (tests/security)

    roots = [Root(uri=(tmp_path / "home").as_uri(), name="home")]
    (tmp_path / "home").mkdir(exist_ok=True)

    async def list_roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=roots)

    # Roots may pick projects only in allowed folders: the server's own, and this one.
    params = _stdio(tmp_path, "--allow-root", str(tmp_path))
    async with Client(
        params, mode="legacy", client_info=CLIENT, list_roots_callback=list_roots
    ) as rooted:
        # The home directory is never a project: the environment's project is used.
        at_home = await _call(rooted, "memory_stats")
        assert at_home["project_store"] == str(tmp_path / "project" / ".memorymesh" / "memories.db")
        # The client changes its roots: the next call follows them.
        roots[:] = [Root(uri=workspace.as_uri(), name="workspace")]
        stored = await _call(
            rooted, "remember", text="Build with `make wheel` in this repo", scope="project"
        )
        stats = await _call(rooted, "memory_stats")
    assert stats["project_store"] == str(workspace / ".memorymesh" / "memories.db")
    # The server shut down cleanly: the last connection to close removes SQLite's WAL file,
    # so the lifespan closed the mesh it opened for the root (and the default one).
    assert not (workspace / ".memorymesh" / "memories.db-wal").exists()
    assert not (tmp_path / "home" / ".memorymesh" / "global.db-wal").exists()
    async with AsyncMemoryMesh(
        workspace / ".memorymesh" / "memories.db",
        global_path=tmp_path / "home" / ".memorymesh" / "global.db",
    ) as mesh:
        assert (await mesh.get(stored["memory"]["id"])).scope.value == "project"
    # Nothing went to the project the environment names.
    async with _open_mesh(tmp_path) as default:
        assert await default.count(scope="project") == 0


@pytest.mark.anyio
async def test_a_project_mesh_opened_for_a_root_judges_in_the_background(tmp_path: Path) -> None:
    # The judge configured for the server (MEMORYMESH_JUDGE) settles an uncertain pair in the
    # mesh a client's root opened, shortly after the write, as the default mesh does.
    workspace = tmp_path / "workspace"
    (workspace / ".git").mkdir(parents=True)
    roots = [Root(uri=workspace.as_uri(), name="workspace")]

    async def list_roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=roots)

    old_text = "Maria owns the billing service"
    new_text = "Maria owns the billing service and its on-call rotation"
    with ChatServer() as chat:
        chat.answer = lambda pairs: json.dumps(
            {"verdicts": [{"pair": 1, "verdict": "contradiction", "confidence": 0.95}]}
        )
        params = _stdio(tmp_path, "--allow-root", str(tmp_path))
        params.env = {
            **(params.env or {}),
            "MEMORYMESH_JUDGE": "ollama:llama3.2",
            "MEMORYMESH_JUDGE_URL": chat.url,
        }
        async with Client(
            params, mode="legacy", client_info=CLIENT, list_roots_callback=list_roots
        ) as rooted:
            old = await _call(rooted, "remember", text=old_text, scope="project")
            new = await _call(rooted, "remember", text=new_text, scope="project")
            # The write returned at once; the judge's verdict lands shortly after.
            with anyio.fail_after(60):
                while (await _call(rooted, "list_memories", scope="project"))["count"] != 1:
                    await anyio.lowlevel.checkpoint()
        [(path, body, _)] = chat.requests
        assert path == "/api/chat" and body["model"] == "llama3.2"
    async with AsyncMemoryMesh(
        workspace / ".memorymesh" / "memories.db",
        global_path=tmp_path / "home" / ".memorymesh" / "global.db",
    ) as mesh:
        assert (await mesh.get(old["memory"]["id"])).superseded_by == new["memory"]["id"]
        judged = [e for e in await mesh.log(limit=20) if e.action == "judged"]
        assert [e.detail["decided_by"] for e in judged] == ["judge:ollama:llama3.2"]


# -- several processes, one database --------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.slow
async def test_two_server_processes_writing_one_database_lose_nothing(tmp_path: Path) -> None:
    per_server = 25

    async def writer(label: str) -> None:
        params = _stdio(tmp_path, command="memorymesh-mcp")
        async with Client(params, mode="legacy", client_info=CLIENT) as c:

            async def one(i: int) -> None:
                text = f"Server {label} decided on option {i} for the build"
                assert (await _call(c, "remember", text=text))["status"] == "stored"

            async with anyio.create_task_group() as tg:
                for i in range(per_server):
                    tg.start_soon(one, i)

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer, "A")
        tg.start_soon(writer, "B")
    async with _open_mesh(tmp_path) as mesh:
        # Later options supersede earlier ones ("decided on option 3" → "option 4"), and
        # history is kept: every write is in the file.
        assert await mesh.count(include_superseded=True) == 2 * per_server


# -- streamable HTTP ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [str(BIN / "memorymesh"), "mcp", "--http", "--host", "127.0.0.1", "--port", str(port)],
        env={**_env(tmp_path), "PATH": str(BIN)},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for the port to accept connections: the server is up
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        process.stderr.read().decode() if process.stderr else ""
                    ) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_streamable_http(http_server: str, mode: str, tmp_path: Path) -> None:
    # The server requires its bearer token (tests/security/test_http_auth.py covers refusals).
    token = (tmp_path / "home" / ".memorymesh" / "mcp-http-token").read_text().strip()
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(
            streamable_http_client(http_server, http_client=http), mode=mode, client_info=CLIENT
        ) as web,
    ):
        assert {t.name for t in (await web.list_tools()).tools} == TOOLS
        stored = await _call(web, "remember", text="HTTP clients share the same memory")
        assert stored["memory"]["agent"] == "pytest-client"
        found = await _call(web, "recall", query="HTTP clients memory")
        assert found["results"][0]["memory"]["id"] == stored["memory"]["id"]
        assert "No memory with id" in await _error(web, "forget", memory_id="12345678")
        context = await _call(web, "session_start")
        assert "HTTP clients share" in context["text"] or context["items"] == []


# -- entry points ---------------------------------------------------------------------------------


def test_entry_points_offer_both_transports() -> None:
    for command in (["memorymesh", "mcp", "--help"], ["memorymesh-mcp", "--help"]):
        out = subprocess.run(
            [str(BIN / command[0]), *command[1:]], capture_output=True, text=True, check=True
        ).stdout
        assert "--http" in out and "--port" in out


def test_the_top_level_folder_never_shadows_the_sdk() -> None:
    import mcp as sdk

    assert not (Path(__file__).parent.parent / "mcp" / "__init__.py").exists()
    assert Path(sdk.__file__).parent.parent.name == "site-packages"


def test_registry_manifest_matches_the_package() -> None:
    from memorymesh import __version__

    root = Path(__file__).parent.parent
    manifest = json.loads((root / "mcp" / "server.json").read_text(encoding="utf-8"))
    assert manifest["version"] == __version__
    [package] = manifest["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == "memorymesh"
    assert package["version"] == __version__ and package["transport"] == {"type": "stdio"}
    # The registry checks PyPI ownership through this marker in the README.
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {manifest['name']}" in readme


def test_every_tool_and_limit_is_documented() -> None:
    from memorymesh_mcp import _limits
    from memorymesh_mcp._server import TOOLS as REGISTERED

    docs = (Path(__file__).parent.parent / "docs" / "mcp.md").read_text(encoding="utf-8")
    assert {fn.__name__ for fn, _ in REGISTERED} == TOOLS
    for name in TOOLS:
        assert f"| `{name}` |" in docs, name
    assert f"{_limits.MAX_TEXT_CHARS:,} characters" in docs
    assert f"{_limits.MAX_METADATA_BYTES // 1024} KiB" in docs
    assert f"{_limits.MAX_QUERY_CHARS:,} characters" in docs
    dash = "\N{EN DASH}"  # the docs write ranges with an en dash
    assert f"1{dash}{_limits.MAX_RECALL_K}" in docs and f"1{dash}{_limits.MAX_LIST}" in docs
    assert f"{_limits.MIN_BUDGET_TOKENS}{dash}{_limits.MAX_BUDGET_TOKENS:,} tokens" in docs


_DEPLOY = "The deploy pipeline uses blue-green releases"
_PARAPHRASE = "how do we ship new versions to production"  # no word in common with it


@pytest.mark.slow
@pytest.mark.anyio
async def test_semantic_recall_through_the_server_with_the_local_model(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    params = _stdio(tmp_path)
    configured = StdioServerParameters(
        command=params.command,
        args=params.args,
        env={**(params.env or {}), "MEMORYMESH_EMBEDDING": "local"},
        cwd=params.cwd,
    )
    async with Client(configured, mode="legacy", client_info=CLIENT) as server:
        stored = (await _call(server, "remember", text=_DEPLOY, scope="project"))["memory"]
        await _call(server, "remember", text="Invoices go out on the first of the month")
        found = await _call(server, "recall", query=_PARAPHRASE, k=1)
        assert [hit["memory"]["id"] for hit in found["results"]] == [stored["id"]]
    # A server started without the setting uses the embedder the store recorded.
    async with Client(params, mode="legacy", client_info=CLIENT) as server:
        found = await _call(server, "recall", query=_PARAPHRASE, k=1)
        assert [hit["memory"]["id"] for hit in found["results"]] == [stored["id"]]


@pytest.mark.anyio
async def test_memorymesh_db_points_the_server_at_a_postgresql_store(tmp_path: Path) -> None:
    """``MEMORYMESH_DB`` names the project store when ``--db`` is not given (issue 14): a
    team sets one variable and ``memorymesh-mcp`` writes to the shared server."""
    import _postgres

    url = _postgres.server_url(_postgres.fresh_name("s"), project="acme/env")
    params = _stdio(tmp_path, command="memorymesh-mcp")
    params.env = {**(params.env or {}), "MEMORYMESH_DB": url}
    async with Client(params, mode="legacy", client_info=CLIENT) as connected:
        written = await _call(
            connected, "remember", text="Deploys go out on Tuesdays", scope="project"
        )
    async with AsyncMemoryMesh(url) as mesh:
        assert [m.id for m in await mesh.list()] == [written["memory"]["id"]]
    assert not (tmp_path / "project" / ".memorymesh").exists()  # no local file was made
