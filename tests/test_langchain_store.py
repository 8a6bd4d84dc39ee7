"""MemoryMeshStore: every LangGraph store op, on real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("langgraph.store.base")

from anyio.from_thread import start_blocking_portal
from langchain_memorymesh import MemoryMeshStore
from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)

from memorymesh import (
    AsyncMemoryMesh,
    InjectedContextError,
    InvalidFilterError,
    InvalidInputError,
    mark_injected,
)


@pytest.fixture
def mesh(either_mesh: AsyncMemoryMesh) -> AsyncMemoryMesh:
    """Every test below runs on SQLite and on PostgreSQL (``either_mesh`` in conftest.py)."""
    return either_mesh


@pytest.fixture
async def store(mesh: AsyncMemoryMesh) -> MemoryMeshStore:
    return MemoryMeshStore(mesh=mesh)


@pytest.mark.anyio
async def test_put_get_round_trips_every_key_with_real_timestamps(
    store: MemoryMeshStore, mesh: AsyncMemoryMesh
) -> None:
    value = {
        "text": "User prefers dark mode in every editor",
        "kind": "preference",
        "stars": 4,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "tags": ["ui", "theme"],
        "nested": {"a": [1, {"b": "c"}]},
        "weird-key": "x",
    }
    before = datetime.now().astimezone()
    await store.aput(("users", "u1"), "theme", value)
    item = await store.aget(("users", "u1"), "theme")
    assert isinstance(item, Item)
    assert item.value == value
    assert item.key == "theme"
    assert item.namespace == ("users", "u1")
    assert item.created_at.tzinfo is not None
    assert before <= item.created_at <= item.updated_at
    [memory] = await mesh.list()
    assert memory.text == value["text"]
    assert memory.source == "langchain"
    assert await store.aget(("users", "u2"), "theme") is None
    assert await store.aget(("users",), "theme") is None


@pytest.mark.anyio
async def test_put_again_updates_in_place_and_none_deletes(
    store: MemoryMeshStore, mesh: AsyncMemoryMesh
) -> None:
    ns = ("users", "u1")
    await store.aput(ns, "k", {"text": "Deploys go out on Tuesdays", "v": 1})
    first = await store.aget(ns, "k")
    await store.aput(ns, "k", {"text": "Deploys go out on Thursdays", "v": 2})
    second = await store.aget(ns, "k")
    assert first is not None and second is not None
    assert second.value == {"text": "Deploys go out on Thursdays", "v": 2}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert await mesh.count() == 1
    await store.adelete(ns, "k")
    assert await store.aget(ns, "k") is None
    assert await mesh.count() == 0
    await store.adelete(ns, "k")  # deleting what is gone is fine


@pytest.mark.anyio
async def test_equal_text_under_two_keys_stays_two_items(store: MemoryMeshStore) -> None:
    await store.aput(("a",), "one", {"text": "The same sentence"})
    await store.aput(("a",), "two", {"text": "The same sentence"})
    await store.aput(("b",), "one", {"text": "The same sentence"})
    keys = {(i.namespace, i.key) for i in await store.asearch(("a",))}
    assert keys == {(("a",), "one"), (("a",), "two")}
    await store.adelete(("a",), "one")
    assert (await store.aget(("a",), "two")) is not None
    assert (await store.aget(("b",), "one")) is not None


@pytest.mark.anyio
async def test_value_without_text_is_searchable_as_json(store: MemoryMeshStore) -> None:
    await store.aput(("docs",), "d1", {"title": "Billing database", "engine": "postgres"})
    [hit] = await store.asearch(("docs",), query="postgres billing")
    assert hit.value == {"title": "Billing database", "engine": "postgres"}


@pytest.mark.anyio
async def test_search_prefix_is_exact_on_labels(store: MemoryMeshStore) -> None:
    await store.aput(("users", "u1"), "a", {"text": "alpha"})
    await store.aput(("users", "u1", "notes"), "b", {"text": "beta"})
    await store.aput(("users", "u10"), "c", {"text": "gamma"})
    await store.aput(("usersX",), "d", {"text": "delta"})
    keys = sorted(i.key for i in await store.asearch(("users", "u1")))
    assert keys == ["a", "b"]
    assert sorted(i.key for i in await store.asearch(("users",))) == ["a", "b", "c"]
    assert sorted(i.key for i in await store.asearch(())) == ["a", "b", "c", "d"]


@pytest.mark.anyio
async def test_search_filters_with_every_operator(store: MemoryMeshStore) -> None:
    for n in range(6):
        await store.aput(
            ("items",),
            f"k{n}",
            {"text": f"item number {n}", "n": n, "color": "red" if n % 2 else "blue"},
        )

    async def keys(spec: dict[str, Any]) -> list[str]:
        return sorted(i.key for i in await store.asearch(("items",), filter=spec))

    assert await keys({"color": "red"}) == ["k1", "k3", "k5"]
    assert await keys({"color": {"$eq": "blue"}}) == ["k0", "k2", "k4"]
    assert await keys({"color": {"$ne": "blue"}}) == ["k1", "k3", "k5"]
    assert await keys({"n": {"$gt": 3}}) == ["k4", "k5"]
    assert await keys({"n": {"$gte": 3}}) == ["k3", "k4", "k5"]
    assert await keys({"n": {"$lt": 2}}) == ["k0", "k1"]
    assert await keys({"n": {"$lte": 2}}) == ["k0", "k1", "k2"]
    assert await keys({"n": {"$gte": 1, "$lt": 4}, "color": "red"}) == ["k1", "k3"]
    with pytest.raises(InvalidFilterError):
        await keys({"n": {"$regex": "x"}})
    with pytest.raises(InvalidFilterError):
        await keys({"langgraph_ns": "items."})


@pytest.mark.anyio
async def test_filters_sql_cannot_express_are_checked_in_python(store: MemoryMeshStore) -> None:
    await store.aput(("p",), "a", {"text": "a", "meta": {"lang": "py", "v": 3}, "my-key": 1})
    await store.aput(("p",), "b", {"text": "b", "meta": {"lang": "go", "v": 1}, "my-key": 2})
    [hit] = await store.asearch(("p",), filter={"meta": {"lang": "py"}})
    assert hit.key == "a"
    [hit] = await store.asearch(("p",), filter={"my-key": {"$gt": 1}})
    assert hit.key == "b"
    [hit] = await store.asearch(("p",), filter={"meta": {"lang": "go"}}, query="b")
    assert hit.key == "b"


@pytest.mark.anyio
async def test_search_pages_with_limit_and_offset(store: MemoryMeshStore) -> None:
    for n in range(7):
        await store.aput(("pg",), f"k{n}", {"text": f"page entry {n}", "n": n})
    seen: list[str] = []
    for offset in range(0, 7, 3):
        page = await store.asearch(("pg",), limit=3, offset=offset)
        assert len(page) == min(3, 7 - offset)
        seen.extend(i.key for i in page)
    assert sorted(seen) == [f"k{n}" for n in range(7)]
    # Newest update first, and an update moves an item to the front.
    await store.aput(("pg",), "k0", {"text": "page entry zero", "n": 0})
    assert (await store.asearch(("pg",), limit=1))[0].key == "k0"
    assert await store.asearch(("pg",), limit=0) == []


@pytest.mark.anyio
async def test_query_search_is_recall_with_real_scores(store: MemoryMeshStore) -> None:
    await store.aput(("m", "u1"), "db", {"text": "We chose PostgreSQL for the billing service"})
    await store.aput(("m", "u1"), "ui", {"text": "The dashboard uses a dark theme"})
    await store.aput(("m", "u2"), "db", {"text": "Billing for user two runs on MySQL"})
    hits = await store.asearch(("m", "u1"), query="which database for billing?")
    assert [h.key for h in hits] == ["db"]
    assert isinstance(hits[0], SearchItem)
    assert hits[0].score is not None and 0.0 < hits[0].score <= 1.0
    both = await store.asearch(("m",), query="billing", limit=10)
    assert sorted(h.namespace[1] for h in both) == ["u1", "u2"]
    assert [h.score for h in both] == sorted((h.score for h in both), reverse=True)
    [second] = await store.asearch(("m",), query="billing", limit=1, offset=1)
    assert second.key == both[1].key and second.namespace == both[1].namespace
    no_query = await store.asearch(("m", "u1"))
    assert all(h.score is None for h in no_query)


@pytest.mark.anyio
async def test_list_namespaces_with_prefix_suffix_wildcards_depth_and_paging(
    store: MemoryMeshStore,
) -> None:
    for ns in [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"), ("a", "b", "f")]:
        await store.aput(ns, "k", {"text": "/".join(ns)})
    await store.aput(("a", "c", "f"), "k", {"text": "a c f"})
    await store.aput(("x", "y"), "k", {"text": "x y"})
    everything = await store.alist_namespaces()
    assert everything == sorted(everything)
    assert len(everything) == 6
    assert await store.alist_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "b", "f"),
    ]
    assert await store.alist_namespaces(suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert await store.alist_namespaces(prefix=("a", "*", "f")) == [
        ("a", "b", "f"),
        ("a", "c", "f"),
    ]
    assert await store.alist_namespaces(prefix=("a",), suffix=("d", "*")) == [
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
    ]
    assert await store.alist_namespaces(max_depth=1) == [("a",), ("x",)]
    assert await store.alist_namespaces(limit=2, offset=1) == everything[1:3]
    assert await store.alist_namespaces(prefix=("nope",)) == []


@pytest.mark.anyio
async def test_batch_runs_in_order_and_a_bad_put_writes_nothing(
    store: MemoryMeshStore, mesh: AsyncMemoryMesh
) -> None:
    results = await store.abatch(
        [
            PutOp(("b",), "k1", {"text": "first thing"}),
            GetOp(("b",), "k1"),
            PutOp(("b",), "k1", None),
            GetOp(("b",), "k1"),
            PutOp(("b",), "k2", {"text": "second thing"}),
            SearchOp(("b",)),
            ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("b",)),)),
        ]
    )
    assert results[0] is None
    assert isinstance(results[1], Item) and results[1].value == {"text": "first thing"}
    assert results[3] is None
    assert [i.key for i in results[5]] == ["k2"]  # type: ignore[union-attr]
    assert results[6] == [("b",)]
    before = await mesh.count()
    for bad in (
        {"text": "ok", "langgraph_key": "x"},
        {"text": "not json", "when": datetime.now()},
        {"text": float("nan")},
    ):
        with pytest.raises(InvalidInputError):
            await store.abatch([PutOp(("b",), "k3", {"text": "fine"}), PutOp(("b",), "k4", bad)])
    assert await mesh.count() == before
    with pytest.raises(InvalidNamespaceError):
        await store.abatch([PutOp(("a.b",), "k", {"text": "dotted"})])
    with pytest.raises(InvalidNamespaceError):
        await store.abatch([SearchOp(("b", ""))])
    with pytest.raises(InvalidInputError):
        await store.abatch(["not an op"])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="ttl"):
        await store.abatch([PutOp(("b",), "k", {"text": "ttl"}, ttl=-5.0)])


@pytest.mark.anyio
async def test_injected_context_is_not_stored_back(
    store: MemoryMeshStore, mesh: AsyncMemoryMesh
) -> None:
    recalled = mark_injected("Relevant memories:\n- User prefers tea", label="recall")
    with pytest.raises(InjectedContextError):
        await store.aput(("c",), "echo", {"text": recalled})
    await store.aput(("c",), "mixed", {"text": f"{recalled}\nUser now drinks coffee", "n": 1})
    item = await store.aget(("c",), "mixed")
    assert item is not None and item.value == {"text": "User now drinks coffee", "n": 1}
    [memory] = await mesh.list()
    assert memory.text == "User now drinks coffee"
    assert await store.asearch(("c",), query="tea") == []


@pytest.mark.anyio
async def test_scope_pins_every_item_to_one_store(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh, scope="global")
    await store.aput(("s",), "k", {"text": "We decided to use Rust for the parser"})
    [memory] = await mesh.list(scope="global")
    assert memory.metadata["langgraph_key"] == "k"
    assert await MemoryMeshStore(mesh=mesh, scope="project").aget(("s",), "k") is None


def test_sync_methods_go_through_a_portal(project_db: Path, global_db: Path) -> None:
    with start_blocking_portal("asyncio") as portal:
        mesh = portal.call(AsyncMemoryMesh(project_db, global_path=global_db).open)
        try:
            store = MemoryMeshStore(mesh=mesh, portal=portal)
            store.put(("sync",), "k", {"text": "Sync callers use the portal", "n": 1})
            item = store.get(("sync",), "k")
            assert item is not None and item.value["n"] == 1
            assert [i.key for i in store.search(("sync",), query="portal")] == ["k"]
            assert store.list_namespaces() == [("sync",)]
            store.delete(("sync",), "k")
            assert store.get(("sync",), "k") is None
        finally:
            portal.call(mesh.aclose)


@pytest.mark.anyio
async def test_sync_methods_from_a_worker_thread_reach_the_mesh_loop(
    store: MemoryMeshStore,
) -> None:
    def work() -> Item | None:
        assert threading.current_thread() is not threading.main_thread()
        store.put(("t",), "k", {"text": "Written from a worker thread"})
        return store.get(("t",), "k")

    item = await anyio.to_thread.run_sync(work)
    assert item is not None and item.value == {"text": "Written from a worker thread"}


@pytest.mark.anyio
async def test_sync_method_on_the_loop_thread_fails_clearly(store: MemoryMeshStore) -> None:
    with pytest.raises(RuntimeError, match="await the async method"):
        store.get(("t",), "k")


def test_store_without_loop_or_portal_explains_itself(project_db: Path) -> None:
    store = MemoryMeshStore(mesh=AsyncMemoryMesh(":memory:", global_path=":memory:"))
    with pytest.raises(RuntimeError, match="portal="):
        store.get(("t",), "k")


def test_mesh_must_be_an_async_mesh() -> None:
    with pytest.raises(TypeError, match="AsyncMemoryMesh"):
        MemoryMeshStore(mesh="not a mesh")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_bad_options_raise_typed_errors(mesh: AsyncMemoryMesh) -> None:
    from langchain_memorymesh import MemoryMeshMiddleware

    with pytest.raises(InvalidInputError, match="scope"):
        MemoryMeshStore(mesh=mesh, scope="everywhere")
    with pytest.raises(InvalidInputError, match="category"):
        MemoryMeshStore(mesh=mesh, category="gossip")
    with pytest.raises(InvalidInputError, match="scope"):
        MemoryMeshMiddleware(mesh=mesh, scope="nowhere")


@pytest.mark.anyio
async def test_python_side_filters_page_through_every_candidate(
    store: MemoryMeshStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import langchain_memorymesh._store as store_module

    monkeypatch.setattr(store_module, "_PAGE", 2)  # force several pages of candidates
    for n in range(7):
        await store.aput(("r",), f"k{n}", {"text": f"row {n}", "meta": {"odd": n % 2}})
    odd = await store.asearch(("r",), filter={"meta": {"odd": 1}}, limit=10)
    assert sorted(i.key for i in odd) == ["k1", "k3", "k5"]
    page = await store.asearch(("r",), filter={"meta": {"odd": 1}}, limit=1, offset=1)
    assert [i.key for i in page] == [odd[1].key]
