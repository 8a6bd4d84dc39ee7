"""MemoryMeshStore filters as LangGraph's SQL stores define them, and sync calls on the loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("langgraph.store.base")

from langchain_memorymesh import MemoryMeshStore

from memorymesh import AsyncMemoryMesh, BlockingCallError, InvalidFilterError

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(mesh: AsyncMemoryMesh) -> MemoryMeshStore:
    store = MemoryMeshStore(mesh=mesh)
    await store.aput(("items",), "cheap", {"price": 10, "user": {"access-level": "public"}})
    await store.aput(("items",), "dear", {"price": 30, "user": {"access-level": "admin"}})
    await store.aput(("items",), "odd", {"price": -5, "123abc": "ok", "access-level": "top"})
    return store


async def _keys(store: MemoryMeshStore, spec: dict[str, Any]) -> list[str]:
    return sorted(i.key for i in await store.asearch(("items",), filter=spec))


async def test_numbers_beyond_64_bits_compare_exactly(store: MemoryMeshStore) -> None:
    assert await _keys(store, {"price": {"$lt": 10**100}}) == ["cheap", "dear", "odd"]
    assert await _keys(store, {"price": {"$gt": -(10**100)}}) == ["cheap", "dear", "odd"]
    assert await _keys(store, {"price": {"$gt": 10**100}}) == []
    assert await _keys(store, {"price": 10**100}) == []
    assert await _keys(store, {"price": {"$lt": float("inf")}}) == ["cheap", "dear", "odd"]
    assert await _keys(store, {"price": {"$eq": float("nan")}}) == []
    assert await _keys(store, {"price": {"$lt": 0}}) == ["odd"]


async def test_the_core_filter_refuses_unbindable_integers_with_a_typed_error(
    mesh: AsyncMemoryMesh,
) -> None:
    with pytest.raises(InvalidFilterError, match="64-bit"):
        await mesh.list(metadata_filter={"price": {"$lt": 10**100}})


async def test_dotted_keys_reach_nested_values(store: MemoryMeshStore) -> None:
    assert await _keys(store, {"user.access-level": "admin"}) == ["dear"]
    assert await _keys(store, {"user.access-level": {"$ne": "admin"}}) == ["cheap", "odd"]
    assert await _keys(store, {"access-level": "top"}) == ["odd"]
    assert await _keys(store, {"123abc": "ok"}) == ["odd"]
    assert await _keys(store, {"user.missing.deeper": "x"}) == []


@pytest.mark.parametrize(
    "key",
    [
        "access') = 'public' OR '1'='1' OR json_extract(value, '$.",
        "",
        "a..b",
        ".a",
        "a b",
        "langgraph_ns",
        "langgraph_key.x",
    ],
)
async def test_malformed_filter_keys_are_a_value_error(store: MemoryMeshStore, key: str) -> None:
    with pytest.raises(ValueError, match="filter key") as caught:
        await store.asearch(("items",), filter={key: "x"})
    assert isinstance(caught.value, InvalidFilterError)


async def test_a_sync_call_on_the_mesh_loop_is_an_invalid_state_error(
    store: MemoryMeshStore,
) -> None:
    with pytest.raises(asyncio.InvalidStateError, match="await the async method") as caught:
        store.get(("items",), "cheap")
    assert isinstance(caught.value, RuntimeError)
    assert isinstance(caught.value, BlockingCallError)
