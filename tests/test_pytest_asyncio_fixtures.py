"""``async with`` a mesh or a store inside a pytest-asyncio async-generator fixture.

pytest-asyncio runs such a fixture's setup (up to ``yield``) and its teardown in different
tasks. A mesh that held an anyio task group (a cancel scope) from ``__aenter__`` to
``__aexit__`` failed at teardown ("Attempted to exit cancel scope in a different task than it
was entered in"), so LangGraph-style fixtures (``async with AsyncSqliteStore...: yield``)
could not be written for MemoryMesh. These tests are pytest-asyncio's, on purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from langchain_memorymesh import MemoryMeshStore

from memorymesh import AsyncMemoryMesh

_closed: list[AsyncMemoryMesh] = []


@pytest_asyncio.fixture(loop_scope="function")
async def mesh(tmp_path: Path) -> AsyncIterator[AsyncMemoryMesh]:
    async with AsyncMemoryMesh(
        tmp_path / "project.db", global_path=tmp_path / "global.db", embedding=None
    ) as opened:
        yield opened
    _closed.append(opened)


@pytest_asyncio.fixture(loop_scope="function")
async def store(tmp_path: Path) -> AsyncIterator[MemoryMeshStore]:
    async with AsyncMemoryMesh(
        tmp_path / "store.db", global_path=tmp_path / "store-global.db", embedding=None
    ) as opened:
        yield MemoryMeshStore(mesh=opened)
    _closed.append(opened)


@pytest.mark.asyncio(loop_scope="function")
async def test_mesh_fixture_with_a_background_flush(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("The billing service runs on PostgreSQL 16")
    hits = await mesh.recall("billing PostgreSQL")  # schedules a background access flush
    assert hits
    assert mesh._flush_scheduled


@pytest.mark.asyncio(loop_scope="function")
async def test_store_fixture(store: MemoryMeshStore) -> None:
    await store.aput(("docs",), "d1", {"title": "Billing database"})
    assert (await store.aget(("docs",), "d1")).value == {"title": "Billing database"}
    assert [hit.key for hit in await store.asearch(("docs",), query="billing")] == ["d1"]


@pytest.mark.asyncio(loop_scope="function")
async def test_the_fixtures_closed_and_kept_access_counts(tmp_path: Path) -> None:
    # Runs after the two above (file order): both fixtures' teardowns closed their mesh.
    assert len(_closed) >= 2 and all(m.closed for m in _closed)
    project, global_db = tmp_path / "p.db", tmp_path / "g.db"
    async with AsyncMemoryMesh(project, global_path=global_db, embedding=None) as first:
        memory = await first.remember("The staging URL is staging.example.com")
        await first.recall("staging URL")
    async with AsyncMemoryMesh(project, global_path=global_db, embedding=None) as reopened:
        assert (await reopened.get(memory.id)).access_count == 1
