"""MemoryMeshStore under concurrent single-op calls: they run as one group (``_batching.py``),
and semantic search reads candidates' vectors in SQL, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("langgraph.store.base")

from _embedders import bag_of_words
from langchain_core.embeddings import Embeddings
from langchain_memorymesh import MemoryMeshStore
from langgraph.store.base import InvalidNamespaceError

from memorymesh import AsyncMemoryMesh, EmbeddingError

pytestmark = pytest.mark.anyio

DIMS = 64


class CountingEmbeddings(Embeddings):
    """Bag-of-words vectors; records each request, and refuses texts saying "poison"."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        if any("poison" in t for t in texts):
            raise ValueError("the embedding service refused a text")
        return bag_of_words(texts, DIMS)

    def embed_query(self, text: str) -> list[float]:
        return bag_of_words([text], DIMS)[0]


def cosine(a: str, b: str) -> float:
    x, y = (np.asarray(v) for v in bag_of_words([a, b], DIMS))
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


async def test_concurrent_puts_are_embedded_in_one_request(either_mesh: AsyncMemoryMesh) -> None:
    embeddings = CountingEmbeddings()
    store = MemoryMeshStore(
        mesh=either_mesh, index={"dims": DIMS, "embed": embeddings, "fields": ["text"]}
    )
    await asyncio.gather(
        *(store.aput(("n",), f"k{i}", {"text": f"note {i} about herons"}) for i in range(20))
    )
    # One embedding request for the 20 puts in flight together, not 20.
    assert len(embeddings.calls) == 1
    assert sorted(embeddings.calls[0]) == sorted(f"note {i} about herons" for i in range(20))
    items = await store.asearch(("n",), limit=50)
    assert sorted(item.key for item in items) == sorted(f"k{i}" for i in range(20))


async def test_a_text_the_embedder_refuses_fails_only_its_own_put(
    either_mesh: AsyncMemoryMesh,
) -> None:
    store = MemoryMeshStore(
        mesh=either_mesh,
        index={"dims": DIMS, "embed": CountingEmbeddings(), "fields": ["text"]},
    )
    outcomes = await asyncio.gather(
        store.aput(("n",), "good1", {"text": "herons fish at dawn"}),
        store.aput(("n",), "bad", {"text": "poison pill"}),
        store.aput(("n",), "good2", {"text": "egrets fish at dusk"}),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], EmbeddingError)
    assert await store.aget(("n",), "bad") is None
    assert {i.key for i in await store.asearch(("n",))} == {"good1", "good2"}


async def test_a_bad_op_fails_only_its_own_call(either_mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=either_mesh)
    await store.aput(("n",), "old", {"text": "kept"})
    outcomes = await asyncio.gather(
        store.aput(("n",), "new", {"text": "written"}),
        store.aput(("n", "bad.label"), "x", {"text": "refused"}),
        store.asearch(("n",), filter={"bad key!": 1}),
        store.aget(("n",), "old"),
        return_exceptions=True,
    )
    assert outcomes[0] is None
    assert isinstance(outcomes[1], InvalidNamespaceError)
    assert isinstance(outcomes[2], ValueError)
    got = outcomes[3]
    assert not isinstance(got, BaseException) and got is not None
    assert got.value == {"text": "kept"}
    assert (await store.aget(("n",), "new")) is not None


async def test_concurrent_writes_to_one_key_leave_the_last_one(
    either_mesh: AsyncMemoryMesh,
) -> None:
    store = MemoryMeshStore(mesh=either_mesh)
    await store.aput(("n",), "gone", {"text": "to delete"})
    await store.aput(("n",), "kept", {"v": 0})
    await asyncio.gather(
        *(store.aput(("n",), "k", {"v": i}) for i in range(10)),
        store.adelete(("n",), "gone"),
        store.aput(("n",), "kept", {"v": 1}),  # an update in place, in the same group
        store.aput(("n",), "brief", {"v": 1}),
        store.adelete(("n",), "brief"),  # put then deleted: never there
    )
    item = await store.aget(("n",), "k")
    assert item is not None and item.value == {"v": 9}
    assert await store.aget(("n",), "gone") is None
    assert await store.aget(("n",), "brief") is None
    kept = await store.aget(("n",), "kept")
    assert kept is not None and kept.value == {"v": 1}
    assert kept.created_at < kept.updated_at  # updated, not made anew
    assert await either_mesh.count() == 2


async def test_semantic_search_reads_vectors_in_sql_on_either_engine(
    either_mesh: AsyncMemoryMesh,
) -> None:
    store = MemoryMeshStore(
        mesh=either_mesh,
        index={"dims": DIMS, "embed": CountingEmbeddings(), "fields": ["text"]},
    )
    texts = {
        "a": "billing database outage",
        "b": "billing invoices",
        "c": "weekly standup notes",
    }
    for key, text in texts.items():
        await store.aput(("docs", "eng"), key, {"text": text, "team": "eng"})
    await store.aput(("docs", "ops"), "d", {"text": "billing database", "team": "ops"})
    await store.aput(("docs", "eng"), "plain", {"text": "billing"}, index=False)
    await store.aput(("other",), "e", {"text": "billing database"})

    hits = await store.asearch(("docs",), query="billing database", limit=10)
    # Best field's raw cosine first; the unindexed item follows unscored.
    assert [h.key for h in hits] == ["d", "a", "b", "c", "plain"]
    for hit in hits[:4]:
        assert hit.score == pytest.approx(cosine("billing database", hit.value["text"]), abs=1e-6)
    assert hits[-1].score is None
    eng = await store.asearch(("docs",), query="billing database", filter={"team": "eng"})
    assert [h.key for h in eng] == ["a", "b", "c"]
    page = await store.asearch(("docs", "eng"), query="billing database", limit=1, offset=1)
    assert [h.key for h in page] == ["b"]


async def test_fifty_parallel_graph_nodes_writing_one_key_leave_one_item(
    either_mesh: AsyncMemoryMesh,
) -> None:
    from typing import Any, TypedDict

    from langgraph.config import get_store
    from langgraph.graph import START, StateGraph

    class State(TypedDict):
        topic: str

    def writer(i: int) -> Any:
        async def node(state: State) -> dict[str, Any]:
            await get_store().aput(("graph", state["topic"]), "shared", {"writer": i})
            return {}

        return node

    builder = StateGraph(State)
    for i in range(50):
        builder.add_node(f"n{i}", writer(i))
        builder.add_edge(START, f"n{i}")
    store = MemoryMeshStore(mesh=either_mesh)
    await builder.compile(store=store).ainvoke({"topic": "t"})
    [item] = await store.asearch(("graph", "t"))
    assert item.key == "shared" and item.value["writer"] in range(50)
    assert await either_mesh.count() == 1


async def test_a_put_again_is_searched_with_its_new_vectors(either_mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(
        mesh=either_mesh,
        index={"dims": DIMS, "embed": CountingEmbeddings(), "fields": ["text"]},
    )
    await store.aput(("n",), "k", {"text": "billing database"})
    await store.aput(("n",), "other", {"text": "weekly standup"})
    [first, _] = await store.asearch(("n",), query="billing database")
    assert first.key == "k" and first.score == pytest.approx(1.0)
    await store.aput(("n",), "k", {"text": "quarterly standup notes"})
    hits = {h.key: h.score for h in await store.asearch(("n",), query="billing database")}
    assert hits["k"] == pytest.approx(cosine("billing database", "quarterly standup notes"))
    await store.aput(("n",), "k", {"text": "billing database"}, index=False)
    hits = {h.key: h.score for h in await store.asearch(("n",), query="billing database")}
    assert hits["k"] is None
