"""An empty SQLite store answers a keyword search without a trip to its connection's thread,
and never misses a memory written since: by itself, by another connection, by another
process, or by a write still open when the search starts."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from _rows import plain_row

from memorymesh import AsyncMemoryMesh, ClosedError, Scope
from memorymesh.stores._filters import Filters
from memorymesh.stores.base import MemoryRow
from memorymesh.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio


def _global_row(memory_id: str, text: str) -> MemoryRow:
    return plain_row(memory_id, text, scope="global")


class _Counted:
    """Counts the store's reads through its connection (``SQLiteStore._run``)."""

    def __init__(self, store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        run = store._run

        async def counted(fn: Callable[[Any], Awaitable[Any]]) -> Any:
            self.calls += 1
            return await run(fn)

        monkeypatch.setattr(store, "_run", counted)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "g.db", scope=Scope.GLOBAL)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def _ids(store: SQLiteStore, query: str = "kiwi crates") -> list[str]:
    found = await store.search_text(query, Filters(), limit=40, now=time.time())
    return [memory.id for memory, _ in found]


async def test_an_empty_store_is_read_once_then_answered_without_its_thread(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = _Counted(store, monkeypatch)
    assert await _ids(store) == []
    assert counted.calls == 2  # the search, then whether the store has any memory at all
    for query in ("kiwi crates", "fridays", "anything else"):
        assert await _ids(store, query) == []
    assert counted.calls == 2


async def test_a_store_with_memories_is_always_searched(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store.write() as tx:
        await tx.insert_many([_global_row("m1", "the kiwi crates ship on fridays")])
    counted = _Counted(store, monkeypatch)
    assert await _ids(store, "mangoes") == []
    assert await _ids(store, "mangoes") == []
    assert await _ids(store) == ["m1"]
    # One read to learn it has memories, then every search goes to the file.
    assert counted.calls == 4


async def test_a_memory_the_store_writes_itself_is_found(store: SQLiteStore) -> None:
    assert await _ids(store) == []
    async with store.write() as tx:
        await tx.insert_many([_global_row("m1", "the kiwi crates ship on fridays")])
    assert await _ids(store) == ["m1"]


async def test_a_memory_another_connection_writes_is_found(
    store: SQLiteStore, tmp_path: Path
) -> None:
    assert await _ids(store) == []
    assert await _ids(store) == []
    other = SQLiteStore(tmp_path / "g.db", scope=Scope.GLOBAL)
    await other.open()
    try:
        async with other.write() as tx:
            await tx.insert_many([_global_row("m1", "the kiwi crates ship on fridays")])
    finally:
        await other.close()
    assert await _ids(store) == ["m1"]


async def test_a_memory_another_process_writes_is_found(tmp_path: Path) -> None:
    script = (
        "import sys, anyio\n"
        "from memorymesh import AsyncMemoryMesh\n"
        "async def main():\n"
        "    async with AsyncMemoryMesh(sys.argv[1], global_path=sys.argv[2]) as mesh:\n"
        "        await mesh.remember('the kiwi crates ship on fridays', scope='global')\n"
        "anyio.run(main)\n"
    )
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("the team deploys on tuesdays", scope="project")
        assert not await mesh.recall("kiwi crates", mode="keyword")
        assert not await mesh.recall("kiwi crates", mode="keyword")
        done = await anyio.run_process(
            [sys.executable, "-c", script, str(tmp_path / "p2.db"), str(tmp_path / "g.db")],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        found = await mesh.recall("kiwi crates", mode="keyword")
        assert [r.memory.text for r in found] == ["the kiwi crates ship on fridays"]


async def test_a_search_waits_for_the_write_open_when_it_starts(store: SQLiteStore) -> None:
    """A read never sees another task's open write, and waits for it: the write may add
    the memory the search is for."""
    assert await _ids(store) == []
    found: list[list[str]] = []

    async def search() -> None:
        found.append(await _ids(store))

    async with anyio.create_task_group() as group, store.write() as tx:
        await tx.insert_many([_global_row("m1", "the kiwi crates ship on fridays")])
        group.start_soon(search)
        await anyio.lowlevel.checkpoint()  # the search starts while the write is open
        assert found == []
    assert found == [["m1"]]


async def test_a_closed_store_still_says_so(store: SQLiteStore) -> None:
    assert await _ids(store) == []
    await store.close()
    with pytest.raises(ClosedError):
        await _ids(store)


async def test_an_in_memory_store_is_searched_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory = SQLiteStore(":memory:", scope=Scope.GLOBAL)
    await memory.open()
    try:
        counted = _Counted(memory, monkeypatch)
        assert await _ids(memory) == []
        assert await _ids(memory) == []
        assert counted.calls == 2
    finally:
        await memory.close()
