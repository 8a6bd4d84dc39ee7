"""A LangGraph store's items belong to the store: MemoryMesh's own housekeeping and other
writers never merge, supersede, deduplicate into or archive them."""

from __future__ import annotations

import pytest

pytest.importorskip("langgraph.store.base")

from langchain_memorymesh import MemoryMeshStore

from memorymesh import AsyncMemoryMesh

pytestmark = pytest.mark.anyio

FIRST = "We decided to use PostgreSQL 16 for the billing service"
NEAR = "We have decided to use PostgreSQL 16 for billing service"


async def test_compaction_leaves_store_items_alone(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh)
    await store.aput(("d",), "a", {"text": FIRST, "n": 1})
    await store.aput(("d",), "b", {"text": NEAR, "n": 2})
    # The same two texts as plain memories: compaction merges those, as a control.
    await mesh.remember(FIRST, category="decision", on_conflict="keep_both")
    await mesh.remember(NEAR, category="decision", on_conflict="keep_both")
    report = await mesh.compact()
    assert report.merged_count == 1 and report.examined == 2
    assert (await store.aget(("d",), "a")) is not None
    assert (await store.aget(("d",), "b")) is not None
    assert sorted(i.key for i in await store.asearch(("d",))) == ["a", "b"]


async def test_other_writes_never_supersede_or_deduplicate_into_an_item(
    mesh: AsyncMemoryMesh,
) -> None:
    store = MemoryMeshStore(mesh=mesh)
    await store.aput(("d",), "db", {"text": FIRST})
    [item_memory] = await mesh.list()
    # The same text, remembered elsewhere: a memory of its own, not the store's item.
    same = await mesh.remember(FIRST, scope="project")
    assert same.id != item_memory.id
    # A near-duplicate with the default policy (supersede) supersedes neither.
    near = await mesh.remember(NEAR, scope="project")
    assert near.id not in (item_memory.id, same.id)
    item = await store.aget(("d",), "db")
    assert item is not None and item.value == {"text": FIRST}
    assert (await mesh.get(item_memory.id)).superseded_by is None
    # Merging into it would rewrite the item's value: it does not happen either.
    await mesh.remember(FIRST, scope="project", metadata={"x": 1}, on_conflict="merge")
    item = await store.aget(("d",), "db")
    assert item is not None and item.value == {"text": FIRST}
