"""MemoryMeshStore's semantic index, as LangGraph's stores define ``index={...}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

pytest.importorskip("langgraph.store.base")

from _embedders import HashEmbedder, bag_of_words
from langchain_core.embeddings import Embeddings
from langchain_memorymesh import MemoryMeshStore
from langchain_memorymesh._store import VECTORS_KEY

from memorymesh import AsyncMemoryMesh, EmbeddingError, InvalidInputError

pytestmark = pytest.mark.anyio

DIMS = 64


class BagEmbeddings(Embeddings):
    """A LangChain ``Embeddings``: shared words make similar vectors."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return bag_of_words(texts, DIMS)

    def embed_query(self, text: str) -> list[float]:
        return bag_of_words([text], DIMS)[0]


def cosine(a: str, b: str) -> float:
    x, y = (np.asarray(v) for v in bag_of_words([a, b], DIMS))
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


async def test_search_ranks_by_cosine_with_the_raw_score(mesh: AsyncMemoryMesh) -> None:
    embeddings = BagEmbeddings()
    store = MemoryMeshStore(mesh=mesh, index={"dims": DIMS, "embed": embeddings})
    assert store.index_config is not None and store.index_config["embed"] is embeddings
    assert store.index_config["dims"] == DIMS
    docs = {
        "zebra": {"text": "zany zebra Xerxes"},
        "dogs": {"text": "something about dogs"},
        "birds": {"text": "text about birds"},
    }
    for key, value in docs.items():
        await store.aput(("test",), key, value)
    results = await store.asearch(("test",), query="zany xerxes")
    assert results[0].key == "zebra" and len(results) == 3
    # Fields default to "$": the whole value, as JSON, is what was embedded.
    for r in results:
        expected = cosine("zany xerxes", '{"text": "' + docs[r.key]["text"] + '"}')
        assert r.score == pytest.approx(expected, abs=1e-6)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    # The vectors are the store's business: the value comes back as put.
    assert results[0].value == docs["zebra"]
    assert VECTORS_KEY in (await mesh.list(limit=1))[0].metadata

    # An update re-embeds: the old query now scores lower.
    before = results[0].score
    await store.aput(("test",), "zebra", {"text": "new text about dogs"})
    after = next(
        r.score for r in await store.asearch(("test",), query="zany xerxes") if r.key == "zebra"
    )
    assert after is not None and before is not None and after < before


async def test_fields_per_store_and_per_put(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(
        mesh=mesh, index={"dims": DIMS, "embed": BagEmbeddings(), "fields": ["title", "body"]}
    )
    await store.aput(("d",), "a", {"title": "apples", "body": "orchard harvest", "x": "zebra"})
    await store.aput(("d",), "b", {"title": "cars", "body": "engines"})
    # The best field counts: "orchard" is in a's body.
    [first, _] = await store.asearch(("d",), query="orchard harvest")
    assert first.key == "a" and first.score == pytest.approx(1.0, abs=1e-6)
    # An unindexed field ("x") is not searched.
    hits = await store.asearch(("d",), query="zebra")
    assert all(h.score is not None and h.score < 0.5 for h in hits)
    # put(index=[...]) embeds the named fields instead, index=False none at all.
    await store.aput(("d",), "c", {"title": "t", "tags": "zebra stripes"}, index=["tags"])
    await store.aput(("d",), "e", {"title": "zebra stripes"}, index=False)
    hits = await store.asearch(("d",), query="zebra stripes")
    assert hits[0].key == "c" and hits[0].score == pytest.approx(1.0, abs=1e-6)
    assert hits[-1].key == "e" and hits[-1].score is None  # unscored, after the scored
    assert "e" not in [h.key for h in await store.asearch(("d",), query="zebra", limit=3)]
    # LangGraph's SQL stores call the fields "text_fields": the same setting.
    sql_style = MemoryMeshStore(
        mesh=mesh, index={"dims": DIMS, "embed": BagEmbeddings(), "text_fields": ["body"]}
    )
    assert sql_style._index is not None and sql_style._index.fields == ["body"]
    # A path matching several texts ("[*]": each element) embeds each.
    await store.aput(("d",), "f", {"body": "x", "title": ["plums", "pears"]}, index=["title[*]"])
    [hit] = [h for h in await store.asearch(("d",), query="pears") if h.key == "f"]
    assert hit.score == pytest.approx(1.0, abs=1e-6)


async def test_filters_and_pages_apply_to_semantic_search(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh, index={"dims": DIMS, "embed": BagEmbeddings()})
    for i, color in enumerate(["red", "red", "green", "blue", "red"]):
        await store.aput(("t",), f"k{i}", {"text": f"{color} apple number {i}", "color": color})
    reds = await store.asearch(("t",), query="green apple", filter={"color": "red"})
    assert sorted(r.key for r in reds) == ["k0", "k1", "k4"]
    page1 = await store.asearch(("t",), query="apple", limit=2)
    page2 = await store.asearch(("t",), query="apple", limit=2, offset=2)
    everything = await store.asearch(("t",), query="apple", limit=10)
    assert len(everything) == 5
    assert [r.key for r in page1 + page2] == [r.key for r in everything[:4]]


async def test_sync_and_async_functions_are_accepted_as_embed(mesh: AsyncMemoryMesh) -> None:
    calls: list[int] = []

    async def aembed(texts: Sequence[str]) -> list[list[float]]:
        calls.append(len(texts))
        return bag_of_words(texts, DIMS)

    def embed(texts: Sequence[str]) -> list[list[float]]:
        return bag_of_words(texts, DIMS)

    for fn in (aembed, embed):
        store = MemoryMeshStore(mesh=mesh, index={"dims": DIMS, "embed": fn, "fields": ["text"]})
        await store.aput((fn.__name__,), "k", {"text": "kestrel falcon"})
        [hit] = await store.asearch((fn.__name__,), query="falcon kestrel")
        assert hit.score == pytest.approx(1.0, abs=1e-6)
    assert calls  # the async function was awaited, not called in a thread


async def test_the_mesh_embedder_is_the_default(tmp_path: Any) -> None:
    embedder = HashEmbedder(dim=32)
    async with AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", embedding=embedder
    ) as mesh:
        store = MemoryMeshStore(mesh=mesh, index={"fields": ["text"]})
        assert store.index_config is not None and store.index_config["dims"] == 32
        await store.aput(("n",), "k", {"text": "heron egret"})
        [hit] = await store.asearch(("n",), query="egret heron")
        assert hit.score == pytest.approx(1.0, abs=1e-6)
    async with AsyncMemoryMesh(tmp_path / "q.db", global_path=tmp_path / "h.db") as bare:
        with pytest.raises(InvalidInputError, match="no embedder"):
            MemoryMeshStore(mesh=bare, index={"fields": ["text"]})


async def test_a_failing_or_wrong_sized_embedder_writes_nothing(mesh: AsyncMemoryMesh) -> None:
    def broken(texts: Sequence[str]) -> list[list[float]]:
        raise ConnectionError("embedding service down")

    store = MemoryMeshStore(mesh=mesh, index={"dims": DIMS, "embed": broken})
    with pytest.raises(EmbeddingError, match="down"):
        await store.aput(("x",), "k", {"text": "anything"})
    wrong = MemoryMeshStore(mesh=mesh, index={"dims": DIMS + 1, "embed": BagEmbeddings()})
    with pytest.raises(EmbeddingError, match="dims"):
        await wrong.aput(("x",), "k", {"text": "anything"})
    assert await mesh.count() == 0
    with pytest.raises(InvalidInputError, match="reserved"):
        await store.aput(("x",), "k", {VECTORS_KEY: {}})


def test_the_sync_api_searches_the_index(tmp_path: Any) -> None:
    from memorymesh import MemoryMesh

    with MemoryMesh(tmp_path / "s.db", global_path=tmp_path / "sg.db") as mesh:
        store = MemoryMeshStore(mesh=mesh, index={"dims": DIMS, "embed": BagEmbeddings()})
        store.put(("s",), "k", {"text": "osprey"})
        [hit] = store.search(("s",), query="osprey")
        assert hit.key == "k" and hit.score is not None and hit.score > 0.5


@pytest.mark.slow
async def test_the_real_local_model_finds_meaning(tmp_path: Any) -> None:
    pytest.importorskip("sentence_transformers")
    async with AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", embedding="local"
    ) as mesh:
        store = MemoryMeshStore(mesh=mesh, index={"fields": ["text"]})
        await store.aput(("m",), "pet", {"text": "Our dog Rex needs his walk every morning"})
        await store.aput(("m",), "tax", {"text": "The quarterly tax filing is due in April"})
        hits = await store.asearch(("m",), query="when does the puppy go outside?")
        assert [h.key for h in hits] == ["pet", "tax"]
        assert hits[0].score is not None and hits[1].score is not None
        assert hits[0].score > hits[1].score + 0.1


@pytest.mark.parametrize("distance", ["cosine", "inner_product", "l2"])
async def test_distance_type_sets_the_score_as_in_postgres_store(
    mesh: AsyncMemoryMesh, distance: str
) -> None:
    # PostgresStore's index takes distance_type; a store moving from it keeps its scores.
    index = {"dims": DIMS, "embed": BagEmbeddings(), "distance_type": distance}
    store = MemoryMeshStore(mesh=mesh, index=index)
    await store.aput(("d",), "near", {"text": "billing database billing"})
    await store.aput(("d",), "far", {"text": "weekly standup notes"})
    query = np.asarray(bag_of_words(["billing database"], DIMS)[0])
    results = await store.asearch(("d",), query="billing database")
    assert [r.key for r in results] == ["near", "far"]
    for r in results:
        doc = np.asarray(bag_of_words(['{"text": "' + r.value["text"] + '"}'], DIMS)[0])
        expected = {
            "cosine": float(query @ doc / (np.linalg.norm(query) * np.linalg.norm(doc))),
            "inner_product": float(query @ doc),
            "l2": -float(np.linalg.norm(query - doc)),
        }[distance]
        assert r.score == pytest.approx(expected, abs=1e-6)


async def test_an_unknown_distance_type_is_refused(mesh: AsyncMemoryMesh) -> None:
    with pytest.raises(InvalidInputError, match="distance_type"):
        MemoryMeshStore(
            mesh=mesh, index={"dims": DIMS, "embed": BagEmbeddings(), "distance_type": "hamming"}
        )
