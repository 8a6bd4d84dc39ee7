"""Recall in every mode, with every filter: a backend must find, rank and filter alike.

Keyword recall runs on a mesh without an embedder; vector and hybrid recall on one with the
deterministic test embedder (a hashed bag of words), so shared words mean similar vectors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

import pytest

from memorymesh import AsyncMemoryMesh, EmbeddingError, Memory

from ._helpers import embedder, ids
from .conftest import OpenMesh

pytestmark = pytest.mark.anyio

Mode = Literal["keyword", "vector", "hybrid"]
MODES: list[Mode] = ["keyword", "vector", "hybrid"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    return cast(Mode, request.param)


@pytest.fixture
async def moded_mesh(open_mesh: OpenMesh, mode: Mode) -> AsyncIterator[AsyncMemoryMesh]:
    embedding = "none" if mode == "keyword" else embedder()
    async with open_mesh(embedding=embedding) as opened:
        yield opened


@pytest.fixture
async def corpus(moded_mesh: AsyncMemoryMesh) -> dict[str, Memory]:
    """Three memories that all mention kiwis and differ in every filterable field."""
    a, b, c = await moded_mesh.remember_many(
        [
            {
                "text": "kiwi orchard in the north valley",
                "category": "decision",
                "importance": 0.9,
                "scope": "project",
                "metadata": {"team": "ops", "n": 1},
                "session_id": "s1",
                "event_time": datetime(2023, 3, 1, tzinfo=UTC),
            },
            {
                "text": "kiwi harvest schedule for the south farm",
                "category": "pattern",
                "importance": 0.2,
                "scope": "project",
                "metadata": {"team": "dev", "n": 5},
                "session_id": "s2",
                "event_time": datetime(2024, 7, 1, tzinfo=UTC),
            },
            {
                "text": "kiwi export rules for the east port",
                "category": "preference",
                "importance": 0.5,
                "scope": "global",
                "metadata": {"team": "ops", "n": 10, "flag": True},
            },
        ]
    )
    return {"a": a, "b": b, "c": c}


async def test_the_best_match_ranks_first(
    moded_mesh: AsyncMemoryMesh, corpus: dict[str, Memory], mode: Mode
) -> None:
    hits = await moded_mesh.recall("north valley orchard kiwi", mode=mode)
    assert hits[0].memory.id == corpus["a"].id
    assert hits[0].memory.text == corpus["a"].text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    other = await moded_mesh.recall("east port export rules", mode=mode)
    assert other[0].memory.id == corpus["c"].id


async def test_k_caps_the_results(
    moded_mesh: AsyncMemoryMesh, corpus: dict[str, Memory], mode: Mode
) -> None:
    assert len(await moded_mesh.recall("kiwi", k=10, mode=mode)) == 3
    assert len(await moded_mesh.recall("kiwi", k=2, mode=mode)) == 2


FILTERS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("category", {"category": "decision"}, {"a"}),
    ("categories", {"category": ["decision", "preference"]}, {"a", "c"}),
    ("scope project", {"scope": "project"}, {"a", "b"}),
    ("scope global", {"scope": "global"}, {"c"}),
    ("min_importance", {"min_importance": 0.5}, {"a", "c"}),
    ("session", {"session_id": "s2"}, {"b"}),
    ("meta eq", {"metadata_filter": {"team": "ops"}}, {"a", "c"}),
    ("meta $eq", {"metadata_filter": {"team": {"$eq": "dev"}}}, {"b"}),
    ("meta $ne", {"metadata_filter": {"team": {"$ne": "ops"}}}, {"b"}),
    ("meta $gt", {"metadata_filter": {"n": {"$gt": 1}}}, {"b", "c"}),
    ("meta $gte", {"metadata_filter": {"n": {"$gte": 5}}}, {"b", "c"}),
    ("meta $lt", {"metadata_filter": {"n": {"$lt": 5}}}, {"a"}),
    ("meta $lte", {"metadata_filter": {"n": {"$lte": 5}}}, {"a", "b"}),
    ("meta $in", {"metadata_filter": {"team": {"$in": ["dev", "qa"]}}}, {"b"}),
    ("meta $nin", {"metadata_filter": {"team": {"$nin": ["dev"]}}}, {"a", "c"}),
    ("meta $exists", {"metadata_filter": {"flag": {"$exists": True}}}, {"c"}),
    ("meta not $exists", {"metadata_filter": {"flag": {"$exists": False}}}, {"a", "b"}),
    ("meta bool", {"metadata_filter": {"flag": True}}, {"c"}),
    ("meta and", {"metadata_filter": {"team": "ops", "n": {"$gt": 1}}}, {"c"}),
    ("meta none match", {"metadata_filter": {"team": "nobody"}}, set()),
    ("event since", {"since": datetime(2024, 1, 1, tzinfo=UTC), "time_field": "event"}, {"b", "c"}),
    ("event until", {"until": datetime(2024, 1, 1, tzinfo=UTC), "time_field": "event"}, {"a"}),
    ("combined", {"scope": "project", "min_importance": 0.5, "category": "decision"}, {"a"}),
]


@pytest.mark.parametrize(("case", "kwargs", "expected"), FILTERS, ids=[f[0] for f in FILTERS])
async def test_filters_narrow_recall_exactly(
    moded_mesh: AsyncMemoryMesh,
    corpus: dict[str, Memory],
    mode: Mode,
    case: str,
    kwargs: dict[str, Any],
    expected: set[str],
) -> None:
    hits = await moded_mesh.recall("kiwi", k=10, mode=mode, **kwargs)
    assert set(ids(hits)) == {corpus[name].id for name in expected}


async def test_filters_on_when_memories_were_recorded(
    moded_mesh: AsyncMemoryMesh, corpus: dict[str, Memory], mode: Mode
) -> None:
    written = min(m.created_at for m in corpus.values())
    everything = {m.id for m in corpus.values()}
    since = await moded_mesh.recall("kiwi", k=10, mode=mode, since=written - timedelta(seconds=1))
    assert set(ids(since)) == everything
    until = await moded_mesh.recall("kiwi", k=10, mode=mode, until=written - timedelta(seconds=1))
    assert until == []
    later = await moded_mesh.recall("kiwi", k=10, mode=mode, since=written + timedelta(hours=1))
    assert later == []


async def test_list_and_count_take_the_same_filters(
    moded_mesh: AsyncMemoryMesh, corpus: dict[str, Memory]
) -> None:
    assert {m.id for m in await moded_mesh.list(metadata_filter={"n": {"$gte": 5}})} == {
        corpus["b"].id,
        corpus["c"].id,
    }
    assert await moded_mesh.count(category=["decision", "pattern"]) == 2
    assert await moded_mesh.count(scope="global", metadata_filter={"team": "ops"}) == 1


async def test_auto_is_keyword_without_an_embedder_and_hybrid_with_one(
    open_mesh: OpenMesh,
) -> None:
    texts = ["the blue pipeline deploys the api", "the api gateway rate limits", "lunch is at noon"]
    async with open_mesh() as plain, open_mesh(embedding=embedder()) as embedded:
        await plain.remember_many(texts)
        await embedded.remember_many(texts)
        query = "which pipeline deploys the api"
        plain_auto = [h.memory.text for h in await plain.recall(query)]
        plain_keyword = [h.memory.text for h in await plain.recall(query, mode="keyword")]
        assert plain_auto == plain_keyword and plain_auto[0] == texts[0]
        embedded_auto = [h.memory.text for h in await embedded.recall(query)]
        embedded_hybrid = [h.memory.text for h in await embedded.recall(query, mode="hybrid")]
        assert embedded_auto == embedded_hybrid and embedded_auto[0] == texts[0]


async def test_recall_on_an_empty_store_explains_why_nothing_came_back(
    mesh: AsyncMemoryMesh,
) -> None:
    hits = await mesh.recall("anything at all", explain=True)
    assert hits == []
    assert hits.explanation is not None and hits.explanation.reason


async def test_recall_counts_accesses_and_the_count_survives_reopening(
    open_mesh: OpenMesh,
) -> None:
    async with open_mesh(store="shared") as first:
        memory = await first.remember("the staging database lives in frankfurt")
        await first.remember("the release train leaves on tuesdays")
        [hit] = await first.recall("staging database")
        assert hit.memory.access_count == 1
    async with open_mesh(store="shared") as second:
        stored = await second.get(memory.id)
        assert stored.access_count == 1 and stored.last_accessed_at is not None
        assert (await second.list(order="accessed"))[0].id == memory.id


async def test_query_syntax_is_plain_text(mesh: AsyncMemoryMesh) -> None:
    memory = await mesh.remember("Use the NEAR operator with care: a OR b AND NOT c")
    for query in (
        '"unbalanced',
        "a* OR (b",
        "NOT",
        "near(a b)",
        "col:value",
        "'; DROP TABLE x; --",
    ):
        await mesh.recall(query)  # never a syntax error from the search engine
    assert ids(await mesh.recall("NEAR operator care")) == [memory.id]


async def test_a_store_remembers_which_embedder_made_its_vectors(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="kept", embedding=embedder()) as first:
        memory = await first.remember("the cold storage bucket is in iceland")
    async with open_mesh(store="kept", embedding=embedder("test:other")) as second:
        with pytest.raises(EmbeddingError, match="reembed"):
            await second.recall("cold storage bucket", mode="vector")
        assert ids(await second.recall("cold storage bucket", mode="keyword")) == [memory.id]
        assert await second.reembed() == 1
        assert ids(await second.recall("cold storage bucket", mode="vector")) == [memory.id]
    async with open_mesh(store="kept", embedding=embedder()) as third:
        with pytest.raises(EmbeddingError, match="reembed"):
            await third.recall("cold storage bucket", mode="vector")


async def test_a_hit_brings_its_session_neighbours(mesh: AsyncMemoryMesh) -> None:
    """A reply rarely repeats its question's words: the memories written just before and
    after a hit in the same session come along, ranked below it."""
    turns = await mesh.remember_many(
        [
            {"text": text, "session_id": "s1", "scope": "project", "on_conflict": "keep_both"}
            for text in (
                "I went hiking with the kids last weekend",
                "What kind of counseling are you thinking about?",
                "I want to help young people through hard times",
                "My cat knocked over a plant this morning",
            )
        ]
        + [{"text": "Lunch is at noon on Fridays", "session_id": "s2"}]
    )
    hits = await mesh.recall("counseling", k=10, mode="keyword")
    assert hits[0].memory.id == turns[1].id
    assert set(ids(hits[1:])) == {turns[0].id, turns[2].id}
    assert all(hit.score < hits[0].score for hit in hits[1:])
    # Neighbours obey the filters like every other result.
    await mesh.update(turns[2].id, metadata={"reply": True})
    filtered = await mesh.recall(
        "counseling", k=10, mode="keyword", metadata_filter={"reply": {"$exists": False}}
    )
    assert set(ids(filtered)) == {turns[0].id, turns[1].id}


async def test_explain_says_why_nothing_came_back(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("User prefers dark mode in the editor", scope="project")
    await mesh.remember("User prefers light mode in the editor", scope="project")
    reasons: dict[str, str] = {}
    for name, query, category in (
        ("no terms", "kangaroo", None),
        ("superseded", "dark", None),
        ("filtered", "light", "guardrail"),
    ):
        hits = await mesh.recall(query, explain=True, category=category)
        assert hits == [] and hits.explanation is not None
        reasons[name] = hits.explanation.reason or ""
    assert "no memory contains" in reasons["no terms"]
    assert "superseded or expired" in reasons["superseded"]
    assert "filters exclude" in reasons["filtered"]
