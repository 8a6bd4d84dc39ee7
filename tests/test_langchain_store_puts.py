"""MemoryMeshStore puts are atomic upserts: one item per namespace + key, in every process."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Awaitable
from pathlib import Path

import anyio
import pytest

pytest.importorskip("langgraph.store.base")

from langchain_memorymesh import MemoryMeshStore

from memorymesh import AsyncMemoryMesh, KeyConflictError, StoreError
from memorymesh._models import Scope
from memorymesh.stores.sqlite._schema import MIGRATIONS
from memorymesh.stores.sqlite._store import MemoryRow, SQLiteStore

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("langgraph_put_worker.py")
ITEM = {"langgraph_ns": "users.u1.", "langgraph_key": "k"}


async def test_concurrent_puts_to_one_key_leave_one_item(either_mesh: AsyncMemoryMesh) -> None:
    mesh = either_mesh
    store = MemoryMeshStore(mesh=mesh)
    ns = ("users", "u1")
    async with anyio.create_task_group() as tg:
        for n in range(10):
            tg.start_soon(store.aput, ns, "k", {"text": f"version {n}", "n": n})
    assert await mesh.count(metadata_filter={"langgraph_key": "k"}) == 1
    item = await store.aget(ns, "k")
    assert item is not None and item.value["text"] == f"version {item.value['n']}"

    # Deletes racing puts: whatever wins, there is never more than one item, and a final
    # delete leaves nothing behind for a get to find.
    async with anyio.create_task_group() as tg:
        for n in range(10):
            if n % 2:
                tg.start_soon(store.adelete, ns, "k")
            else:
                tg.start_soon(store.aput, ns, "k", {"text": f"again {n}"})
    assert await mesh.count(metadata_filter={"langgraph_key": "k"}) <= 1
    await store.adelete(ns, "k")
    assert await store.aget(ns, "k") is None
    assert await mesh.count(metadata_filter={"langgraph_key": "k"}) == 0


async def test_puts_from_several_processes_leave_one_item_per_key(
    project_db: Path, global_db: Path, mesh: AsyncMemoryMesh
) -> None:
    workers, keys = 4, 15
    processes = []
    for worker in range(workers):
        processes.append(
            await anyio.open_process(
                [
                    sys.executable,
                    str(WORKER),
                    str(project_db),
                    str(global_db),
                    str(worker),
                    str(keys),
                ]
            )
        )
    try:
        for process in processes:  # every worker has opened the store: start them together
            assert process.stdout is not None
            assert (await process.stdout.receive()).strip() == b"ready"
        for process in processes:
            assert process.stdin is not None
            await process.stdin.send(b"go\n")
        for process in processes:
            assert await process.wait() == 0
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
            await process.aclose()
    store = MemoryMeshStore(mesh=mesh)
    assert await mesh.count(metadata_filter={"langgraph_ns": "shared."}) == keys
    for key in range(keys):
        item = await store.aget(("shared",), f"k{key}")
        assert item is not None and item.value["text"] == f"written by {item.value['w']}"


async def test_the_store_refuses_a_second_current_holder_of_a_key(
    mesh: AsyncMemoryMesh,
) -> None:
    # The guarantee lives in the database, not in the adapter: any writer is refused.
    await mesh.remember("first", scope="project", metadata=ITEM, on_conflict="keep_both")
    with pytest.raises(KeyConflictError) as caught:
        await mesh.remember("second", scope="project", metadata=ITEM, on_conflict="keep_both")
    assert isinstance(caught.value, StoreError)
    assert [m.text for m in await mesh.list()] == ["first"]
    # Other namespaces, other keys and memories without a namespace are not constrained.
    await mesh.remember("x", scope="project", metadata={**ITEM, "langgraph_key": "k2"})
    await mesh.remember("y", scope="project", metadata={"langgraph_key": "k"})
    await mesh.remember("y2", scope="project", metadata={"langgraph_key": "k"})


def _row(memory_id: str, updated_at: float) -> MemoryRow:
    return MemoryRow(
        id=memory_id,
        text=f"duplicate {memory_id}",
        content_hash=memory_id,
        category="context",
        importance=0.5,
        scope="project",
        pinned=False,
        metadata='{"langgraph_ns": "users.u1.", "langgraph_key": "k"}',
        session_id=None,
        source="langchain",
        agent=None,
        redactions="[]",
        created_at=1.0,
        updated_at=updated_at,
        event_time=None,
        expires_at=None,
    )


async def test_migration_keeps_the_newest_duplicate_and_archives_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    old = SQLiteStore(path, scope=Scope.PROJECT)
    await old.open(_migrate_upto=[m.name for m in MIGRATIONS].index("0006_unique_items"))
    async with old.write() as tx:  # what racing puts could leave before 0006
        await tx.insert_many([_row("a", 5.0), _row("b", 9.0), _row("c", 7.0)])
    await old.close()

    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        store = MemoryMeshStore(mesh=mesh)
        item = await store.aget(("users", "u1"), "k")
        assert item is not None and item.value == {}
        assert [m.id for m in await mesh.list()] == ["b"]
        assert sorted(m.id for m in await mesh.archived()) == ["a", "c"]
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY 1")]
    conn.close()
    assert names == sorted(m.name for m in MIGRATIONS)


async def test_interleaved_puts_gets_and_deletes_never_fail(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh, ttl={"default_ttl": 60})
    ns = ("test", "foo")
    results: list[object] = []

    async def run(coro: Awaitable[object]) -> None:
        results.append(await coro)

    async with anyio.create_task_group() as tg:
        for round_ in range(100):
            for key in range(3):
                tg.start_soon(run, store.aput(ns, f"key{key}", {"v": round_}))
                tg.start_soon(run, store.aget(ns, f"key{key}"))
                tg.start_soon(run, store.aput(ns, f"key{key}", {"v": -round_}))
                tg.start_soon(run, store.adelete(ns, f"key{key}"))
    assert len(results) == 1200
    for key in range(3):
        assert await mesh.count(metadata_filter={"langgraph_key": f"key{key}"}) <= 1
