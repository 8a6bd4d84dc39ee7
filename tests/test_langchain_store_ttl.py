"""MemoryMeshStore TTLs: LangGraph's ``ttl`` and ``TTLConfig`` as MemoryMesh expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

pytest.importorskip("langgraph.store.base")

from langchain_memorymesh import MemoryMeshStore
from langchain_memorymesh._store import TTL_KEY

from memorymesh import AsyncMemoryMesh, InvalidInputError, MemoryMesh

pytestmark = pytest.mark.anyio

#: A TTL so short that the item has expired by the time anything reads it (3.6 µs).
INSTANT = 6e-8


async def _memory_expiry(mesh: AsyncMemoryMesh, key: str) -> datetime | None:
    [memory] = await mesh.list(metadata_filter={"langgraph_key": key}, include_expired=True)
    return memory.expires_at


async def test_a_put_ttl_is_the_memory_expiry(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh)
    assert store.supports_ttl is True
    before = datetime.now(UTC)
    await store.aput(("t",), "k", {"text": "expires in an hour"}, ttl=60)
    expiry = await _memory_expiry(mesh, "k")
    assert expiry is not None
    assert before + timedelta(minutes=60) <= expiry <= datetime.now(UTC) + timedelta(minutes=60)
    item = await store.aget(("t",), "k")
    assert item is not None and item.value == {"text": "expires in an hour"}  # no TTL key
    [memory] = await mesh.list()
    assert memory.metadata[TTL_KEY] == 60
    # A put without a TTL over an item with one: the item no longer expires.
    await store.aput(("t",), "k", {"text": "forever"}, ttl=None)
    assert await _memory_expiry(mesh, "k") is None
    assert await mesh.count(metadata_filter={"langgraph_key": "k"}) == 1


async def test_default_ttl_applies_to_puts_that_name_none(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh, ttl={"default_ttl": 30})
    await store.aput(("t",), "default", {"text": "a"})
    await store.aput(("t",), "explicit-none", {"text": "b"}, ttl=None)
    default = await _memory_expiry(mesh, "default")
    assert default is not None and default - datetime.now(UTC) <= timedelta(minutes=30)
    assert default - datetime.now(UTC) > timedelta(minutes=29)
    assert await _memory_expiry(mesh, "explicit-none") is None


async def test_reads_refresh_the_ttl_unless_told_not_to(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh)
    await store.aput(("t",), "k", {"text": "kept alive by reads"}, ttl=10)
    first = await _memory_expiry(mesh, "k")
    stored = await store.aget(("t",), "k", refresh_ttl=False)
    assert await _memory_expiry(mesh, "k") == first
    refreshed = await store.aget(("t",), "k")  # refresh_on_read defaults to True
    second = await _memory_expiry(mesh, "k")
    assert first is not None and second is not None and second > first
    # Moving the expiry is not an edit: updated_at stays the time of the put.
    assert stored is not None and refreshed is not None
    assert refreshed.updated_at == stored.updated_at
    await store.asearch(("t",), refresh_ttl=False)
    assert await _memory_expiry(mesh, "k") == second
    await store.asearch(("t",), query="alive")
    third = await _memory_expiry(mesh, "k")
    assert third is not None and third > second
    # refresh_on_read=False in the config: reads leave the expiry alone by default.
    quiet = MemoryMeshStore(mesh=mesh, ttl={"refresh_on_read": False})
    await quiet.aget(("t",), "k")
    await quiet.asearch(("t",))
    assert await _memory_expiry(mesh, "k") == third
    await quiet.aget(("t",), "k", refresh_ttl=True)
    fourth = await _memory_expiry(mesh, "k")
    assert fourth is not None and fourth > third


async def test_expired_items_stay_until_swept_unless_omitted(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh)
    await store.aput(("t",), "gone", {"text": "short-lived"}, ttl=INSTANT)
    await store.aput(("t",), "kept", {"text": "long-lived"}, ttl=60)
    # As in LangGraph's stores: an expired item is returned until a sweep deletes it...
    assert await store.aget(("t",), "gone") is not None
    assert sorted(i.key for i in await store.asearch(("t",))) == ["gone", "kept"]
    # ...unless the store omits expired items.
    omitting = MemoryMeshStore(mesh=mesh, ttl={"omit_expired": True})
    assert await omitting.aget(("t",), "gone") is None
    assert [i.key for i in await omitting.asearch(("t",))] == ["kept"]
    assert await store.asweep_ttl() == 1
    assert await store.aget(("t",), "gone") is None
    assert await store.asweep_ttl() == 0
    assert [i.key for i in await store.asearch(("t",))] == ["kept"]
    # A put over an expired item makes a fresh one.
    await store.aput(("t",), "again", {"text": "v1"}, ttl=INSTANT)
    old = await store.aget(("t",), "again")
    await store.aput(("t",), "again", {"text": "v2"})
    new = await store.aget(("t",), "again")
    assert old is not None and new is not None and new.created_at > old.created_at
    assert new.value == {"text": "v2"} and await _memory_expiry(mesh, "again") is None


async def test_the_sweeper_deletes_expired_items_until_stopped(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh, ttl={"sweep_interval_minutes": 1e-5})
    done = store.start_ttl_sweeper()
    assert store.start_ttl_sweeper() is done  # one sweeper per store
    await store.aput(("t",), "gone", {"text": "short-lived"}, ttl=INSTANT)
    await store.aput(("t",), "kept", {"text": "long-lived"}, ttl=60)
    with anyio.fail_after(10):
        while await mesh.count(include_expired=True) > 1:
            await store._swept.wait()
    assert [i.key for i in await store.asearch(("t",))] == ["kept"]
    assert await store.stop_ttl_sweeper() is True
    with anyio.fail_after(10):
        while not done.done():
            await anyio.lowlevel.checkpoint()
    assert done.result() is None
    # Without a TTL configuration there is nothing to sweep.
    assert MemoryMeshStore(mesh=mesh).start_ttl_sweeper().done()


async def test_ttl_methods_are_awaited_on_the_mesh_loop(mesh: AsyncMemoryMesh) -> None:
    """LangGraph's async stores are called `await store.sweep_ttl()`, `await
    store.start_ttl_sweeper()`, `await store.stop_ttl_sweeper()`: on the mesh's own loop
    (where a sync call cannot wait) the same calls work on MemoryMeshStore."""
    store = MemoryMeshStore(mesh=mesh, ttl={"sweep_interval_minutes": 60})
    await store.aput(("t",), "gone", {"text": "short-lived"}, ttl=INSTANT)
    await store.aput(("t",), "kept", {"text": "long-lived"}, ttl=60)
    assert await store.sweep_ttl() == 1
    assert [i.key for i in await store.asearch(("t",))] == ["kept"]
    handle = await store.start_ttl_sweeper()
    assert handle is store.start_ttl_sweeper() and not handle.done()
    assert await store.stop_ttl_sweeper() is True
    assert handle.done()
    assert await store.stop_ttl_sweeper() is True  # stopping twice is fine


def test_the_sweeper_runs_from_sync_code(tmp_path: Path) -> None:
    with MemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        store = MemoryMeshStore(mesh=mesh, ttl={"sweep_interval_minutes": 60})
        done = store.start_ttl_sweeper()
        store.put(("t",), "gone", {"text": "short-lived"}, ttl=INSTANT)
        assert store.sweep_ttl() == 1
        assert store.get(("t",), "gone") is None
        assert store.stop_ttl_sweeper(timeout=10) is True
        assert done.done()


async def test_bad_ttls_are_refused(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh)
    for bad in (0, -1, float("inf"), "5"):
        with pytest.raises(InvalidInputError, match="ttl"):
            await store.aput(("t",), "k", {"text": "x"}, ttl=bad)  # type: ignore[arg-type]
    assert await mesh.count() == 0
    for config in ({"default_ttl": -1}, {"refresh_on_read": "yes"}, {"ttl": 5}):
        with pytest.raises(InvalidInputError):
            MemoryMeshStore(mesh=mesh, ttl=config)  # type: ignore[arg-type]
