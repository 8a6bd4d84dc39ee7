"""#17 High 2: a client's MCP roots cannot pick any folder as its project.

The official MCP client drives the real server in process, so the test can count what the
server holds open (file descriptors of project stores, threads) after 150 roots.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp.client import Client, ClientRequestContext
from mcp_types import Implementation, ListRootsResult, Root
from memorymesh_mcp._limits import MAX_OPEN_PROJECTS
from memorymesh_mcp._server import build_server

from memorymesh import AsyncMemoryMesh

CLIENT = Implementation(name="roots-test", version="1.0")


def _project(folder: Path) -> Path:
    (folder / ".git").mkdir(parents=True)
    return folder


@asynccontextmanager
async def _rooted(roots: list[Root], allowed: list[Path]) -> AsyncIterator[Client]:
    async def list_roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=roots)

    server = build_server(allowed_roots=allowed)
    async with Client(
        server, mode="legacy", client_info=CLIENT, list_roots_callback=list_roots
    ) as client:
        yield client


async def _call(client: Client, name: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def _open_stores(under: Path) -> int:
    """File descriptors this process holds on SQLite files below ``under``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(under)) and ".memorymesh" in target:
            count += 1
    return count


@pytest.mark.anyio
async def test_a_root_outside_the_allowed_folders_never_opens_its_store(tmp_path: Path) -> None:
    default_store = tmp_path / "project" / ".memorymesh" / "memories.db"
    allowed = tmp_path / "allowed"
    mine = _project(allowed / "mine")
    secret = _project(tmp_path / "elsewhere" / "secret")
    async with AsyncMemoryMesh(secret / ".memorymesh" / "memories.db", global_path=":memory:") as m:
        await m.remember("The secret project's launch code is tangerine", scope="project")
    (allowed / "link").symlink_to(secret)  # a symlink inside that leads outside

    roots = [Root(uri=secret.as_uri(), name="secret")]
    async with _rooted(roots, [allowed]) as client:
        stats = await _call(client, "memory_stats")
        assert stats["project_store"] == str(default_store)
        found = await _call(client, "recall", query="launch code tangerine")
        assert found["count"] == 0
        roots[:] = [Root(uri=(allowed / "link").as_uri(), name="link")]
        assert (await _call(client, "memory_stats"))["project_store"] == str(default_store)
        # The allowed project is followed (a later root is used when the first is refused).
        roots[:] = [Root(uri=secret.as_uri(), name="s"), Root(uri=mine.as_uri(), name="m")]
        stats = await _call(client, "memory_stats")
        assert stats["project_store"] == str(mine / ".memorymesh" / "memories.db")


@pytest.mark.anyio
async def test_no_store_is_created_in_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    plain = allowed / "downloads"
    plain.mkdir(parents=True)
    sub = _project(allowed / "repo") / "src" / "pkg"
    sub.mkdir(parents=True)
    roots = [Root(uri=plain.as_uri(), name="plain")]
    async with _rooted(roots, [allowed]) as client:
        await _call(client, "remember", text="Plain folders never get a store", scope="project")
        assert not (plain / ".memorymesh").exists()
        # A folder inside a repository: the repository's store, not one in the subfolder.
        roots[:] = [Root(uri=sub.as_uri(), name="sub")]
        stats = await _call(client, "memory_stats")
    assert stats["project_store"] == str(allowed / "repo" / ".memorymesh" / "memories.db")
    assert not (sub / ".memorymesh").exists()
    assert not list(allowed.rglob("src/**/.memorymesh"))


@pytest.mark.anyio
async def test_150_roots_keep_open_stores_and_threads_bounded(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    projects = [_project(allowed / f"p{i:03}") for i in range(150)]
    roots = [Root(uri=projects[0].as_uri(), name="p")]
    async with _rooted(roots, [allowed]) as client:
        await _call(client, "memory_stats")
        threads_at_start = threading.active_count()
        most_stores = most_threads = 0
        for project in projects:
            roots[:] = [Root(uri=project.as_uri(), name=project.name)]
            stats = await _call(client, "memory_stats")
            assert stats["project_store"] == str(project / ".memorymesh" / "memories.db")
            most_stores = max(most_stores, _open_stores(allowed))
            most_threads = max(most_threads, threading.active_count())
        # Every project was really opened (its store exists), yet only the LRU stays open:
        # at most MAX_OPEN_PROJECTS stores, each a database file with its -wal and -shm.
        assert all((p / ".memorymesh" / "memories.db").exists() for p in projects)
        assert most_stores <= 3 * MAX_OPEN_PROJECTS, most_stores
        # Each open project mesh has two SQLite worker threads (its project store and its
        # own connection to the shared global store); 150 roots once meant 300 more.
        assert most_threads - threads_at_start <= 2 * MAX_OPEN_PROJECTS, (
            threads_at_start,
            most_threads,
        )
    assert _open_stores(allowed) == 0  # everything closed with the server
