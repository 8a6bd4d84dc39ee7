"""Vector and hybrid recall: exact results over every memory, kept in step with every write."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from _embedders import HashEmbedder

from memorymesh import AsyncMemoryMesh, EmbeddingError, InvalidInputError
from memorymesh.search._vectors import IndexRow, VectorFilter, VectorIndex, unit_rows

pytestmark = pytest.mark.anyio


def _row(i: int, category: str = "context", **kw: object) -> IndexRow:
    base: dict[str, object] = {
        "id": f"m{i}",
        "category": category,
        "importance": 0.5,
        "pinned": False,
        "created_at": float(i),
        "expires_at": None,
        "session_id": None,
        "superseded": False,
    }
    base.update(kw)
    return IndexRow(**base)  # type: ignore[arg-type]


def test_index_search_is_exact_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    vectors = unit_rows(rng.standard_normal((3000, 32)).astype(np.float32))
    cats = ["context", "decision", "pattern"]
    index = VectorIndex(32)
    index.add([_row(i, cats[i % 3]) for i in range(3000)], vectors)
    queries = unit_rows(rng.standard_normal((5, 32)).astype(np.float32))
    got = index.search(queries, 10)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    for q in range(5):
        assert [mid for mid, _ in got[q]] == [f"m{j}" for j in truth[q]]
    # A category filter scans only that block and is still exact within it.
    only = VectorFilter(categories=("decision",))  # type: ignore[arg-type]
    (hits,) = index.search(queries[:1], 5, only)
    allowed = [j for j in range(3000) if j % 3 == 1]
    sims = queries[0] @ vectors[allowed].T
    assert [mid for mid, _ in hits] == [f"m{allowed[j]}" for j in np.argsort(-sims)[:5]]


def test_index_remove_and_supersede_keep_rows_consistent() -> None:
    rng = np.random.default_rng(1)
    vectors = unit_rows(rng.standard_normal((50, 8)).astype(np.float32))
    index = VectorIndex(8)
    index.add([_row(i) for i in range(50)], vectors)
    index.remove(["m0", "m10", "missing"])
    index.set_superseded(["m5"])
    assert len(index) == 48
    for j in (3, 49, 20):
        (hits,) = index.search(vectors[j][None, :], 1)
        assert hits[0][0] == f"m{j}"
    (hits,) = index.search(vectors[5][None, :], 48)
    assert "m5" not in [mid for mid, _ in hits]
    (hits,) = index.search(vectors[5][None, :], 1, VectorFilter(include_superseded=True))
    assert hits[0][0] == "m5"
    np.testing.assert_allclose(index.vectors(["m49"])[0], vectors[49])


@pytest.fixture
async def vmesh(project_db: Path, global_db: Path) -> AsyncMemoryMesh:
    mesh = AsyncMemoryMesh(project_db, global_path=global_db, embedding=HashEmbedder())
    async with mesh:
        yield mesh  # type: ignore[misc]


async def test_vector_recall_finds_every_memory_not_just_recent_ones(
    vmesh: AsyncMemoryMesh,
) -> None:
    old = await vmesh.remember(
        "the quarterly invoice archive lives on the cold storage bucket", importance=0.1
    )
    await vmesh.remember_many(
        [
            {"text": f"routine note {i} about standups and lunch", "importance": 0.9}
            for i in range(1500)
        ]
    )
    hits = await vmesh.recall("where is the invoice archive bucket", mode="vector", k=3)
    assert hits[0].memory.id == old.id
    assert 0.0 < hits[0].breakdown.relevance <= 1.0


async def test_hybrid_is_the_default_with_an_embedder(vmesh: AsyncMemoryMesh) -> None:
    a = await vmesh.remember("billing runs on PostgreSQL 16")
    await vmesh.remember("the frontend uses React")
    hits = await vmesh.recall("billing database PostgreSQL")
    assert hits[0].memory.id == a.id
    kw = await vmesh.recall("billing database PostgreSQL", mode="keyword")
    assert kw[0].memory.id == a.id


async def test_vector_filters_match_keyword_filters(vmesh: AsyncMemoryMesh) -> None:
    a = await vmesh.remember(
        "deploy checklist for ops", category="pattern", metadata={"team": "ops"}, session_id="s1"
    )
    b = await vmesh.remember(
        "deploy checklist for web", category="decision", metadata={"team": "web"}, session_id="s2"
    )
    for mode in ("vector", "hybrid", "keyword"):
        hits = await vmesh.recall("deploy checklist", mode=mode, category="decision")
        assert [h.memory.id for h in hits] == [b.id], mode
        hits = await vmesh.recall("deploy checklist", mode=mode, metadata_filter={"team": "ops"})
        assert [h.memory.id for h in hits] == [a.id], mode
        hits = await vmesh.recall("deploy checklist", mode=mode, session_id="s2")
        assert [h.memory.id for h in hits] == [b.id], mode


async def test_index_follows_update_forget_and_reopen(project_db: Path, global_db: Path) -> None:
    embedder = HashEmbedder()
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding=embedder) as mesh:
        m = await mesh.remember("alpha beta gamma")
        other = await mesh.remember("delta epsilon zeta")
        await mesh.update(m.id, text="kappa lambda mu")
        hits = await mesh.recall("kappa lambda", mode="vector", k=1)
        assert hits[0].memory.id == m.id
        await mesh.forget(other.id)
        hits = await mesh.recall("delta epsilon", mode="vector", k=5)
        assert other.id not in [h.memory.id for h in hits]
    # Reopening builds the index from SQLite: the same answers without re-embedding.
    embedder.calls.clear()
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding=embedder) as mesh:
        hits = await mesh.recall("kappa lambda", mode="vector", k=1)
        assert hits[0].memory.id == m.id
    assert embedder.calls == [1]  # only the query


async def test_vector_modes_need_an_embedder(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("x y z")
    with pytest.raises(InvalidInputError, match="embedder"):
        await mesh.recall("x", mode="vector")
    with pytest.raises(InvalidInputError, match="mode"):
        await mesh.recall("x", mode="fuzzy")  # type: ignore[arg-type]


async def test_another_embedder_never_mixes_vectors_until_reembed(
    project_db: Path, global_db: Path
) -> None:
    async with AsyncMemoryMesh(
        project_db, global_path=global_db, embedding=HashEmbedder(name="test:a")
    ) as mesh:
        m = await mesh.remember("vectors from model a")
    async with AsyncMemoryMesh(
        project_db, global_path=global_db, embedding=HashEmbedder(dim=32, name="test:b")
    ) as mesh:
        with pytest.raises(EmbeddingError, match="reembed"):
            await mesh.recall("vectors", mode="vector")
        # Keyword recall still works on a stale store.
        assert (await mesh.recall("vectors", mode="keyword"))[0].memory.id == m.id
        assert await mesh.embedding_backlog() == 1
        seen: list[int] = []
        assert await mesh.reembed(progress=seen.append) == 1
        assert sum(seen) == 1
        assert await mesh.embedding_backlog() == 0
        assert (await mesh.recall("vectors", mode="vector"))[0].memory.id == m.id


async def test_keyword_only_memories_get_vectors_when_an_embedder_opens(
    project_db: Path, global_db: Path
) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        m = await mesh.remember("written without an embedder")
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding=HashEmbedder()) as mesh:
        assert (await mesh.recall("embedder written", mode="vector"))[0].memory.id == m.id


async def test_a_failing_embedder_writes_nothing(project_db: Path, global_db: Path) -> None:
    class Broken(HashEmbedder):
        fail = False

        async def embed(self, texts):  # type: ignore[no-untyped-def]
            if self.fail:
                raise RuntimeError("model crashed")
            return await super().embed(texts)

    broken = Broken()
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding=broken) as mesh:
        broken.fail = True
        with pytest.raises(EmbeddingError, match="model crashed"):
            await mesh.remember_many(["one", "two"])
        broken.fail = False
        assert await mesh.count() == 0


def test_standard_score_fusion_weighs_how_far_each_signal_stands_out() -> None:
    from memorymesh.search._hybrid import standard_score_fusion

    keyword = {"a": 12.0, "b": 7.0, "c": 3.0}
    cosines = {"a": 0.31, "b": 0.52, "c": 0.18, "d": 0.40}
    fused = standard_score_fusion(keyword, cosines)
    assert max(fused.values()) == pytest.approx(1.0) and min(fused.values()) == pytest.approx(0.0)
    # Each signal counts by its spread, not its scale: rescaling or shifting BM25 scores
    # (another corpus, another tokenizer) or cosines (another model) changes nothing.
    rescaled = standard_score_fusion(
        {key: 40 * v + 3 for key, v in keyword.items()},
        {key: 0.5 * v - 0.1 for key, v in cosines.items()},
    )
    assert rescaled == pytest.approx(fused)
    # "d" was no keyword candidate: it counts as the weakest one there, so with the same
    # cosine as "c" it ties with "c".
    assert standard_score_fusion(keyword, {**cosines, "d": 0.18})["d"] == pytest.approx(0.0)
    # Alpha moves the weight between the two signals.
    assert standard_score_fusion(keyword, cosines, alpha=1.0)["a"] == pytest.approx(1.0)
    assert standard_score_fusion(keyword, cosines, alpha=0.0)["b"] == pytest.approx(1.0)
    # One candidate, or candidates that tie, are each the best there is.
    assert standard_score_fusion({"x": 2.0}, {"x": 0.3}) == {"x": 1.0}
    assert standard_score_fusion({}, {"x": 0.3, "y": 0.3}) == {"x": 1.0, "y": 1.0}
    assert standard_score_fusion({}, {}) == {}


@pytest.mark.slow
async def test_hybrid_with_the_local_model_finds_the_reply_that_shares_no_words(
    project_db: Path, global_db: Path
) -> None:
    pytest.importorskip("sentence_transformers")
    turns = [
        ("s1", "Melanie: I went hiking with the kids last weekend."),
        ("s1", "Caroline: What kind of counseling are you thinking about?"),
        ("s1", "Melanie: I want to help trans youth through their mental health struggles."),
        ("s1", "Caroline: My cat knocked over a plant this morning."),
        ("s2", "Caroline: The counseling office closes at five on Fridays."),
        ("s2", "Melanie: Good to know, thanks."),
        ("s2", "Caroline: Melanie, did you finish the pottery class?"),
        ("s2", "Melanie: Yes, I made a bowl for my mother."),
    ]
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding="local") as mesh:
        stored = await mesh.remember_many(
            [{"text": t, "session_id": s, "on_conflict": "keep_both"} for s, t in turns]
        )
        answer = stored[2].id
        query = "What does Melanie hope to do for young transgender people?"
        # Only the name is shared, so BM25 prefers Melanie's shortest turn ...
        keyword = await mesh.recall(query, k=4, mode="keyword")
        assert keyword[0].memory.id != answer
        # ... while hybrid adds meaning: the answer comes first.
        hybrid = await mesh.recall(query, k=4, mode="hybrid")
        assert hybrid[0].memory.id == answer
        assert hybrid[0].breakdown.relevance == pytest.approx(1.0)
        # Among the two neighbours the "counseling" question lends to, the reply that
        # relates to the query outranks the unrelated one.
        ranked = [h.memory.id for h in await mesh.recall("Which counseling field?", k=8)]
        assert ranked.index(answer) < ranked.index(stored[0].id)


def test_named_period_reads_only_dates_that_name_their_year() -> None:
    from memorymesh.search._querytime import named_period

    def days(query: str) -> tuple[str, str] | None:
        period = named_period(query)
        return None if period is None else (str(period[0].date()), str(period[1].date()))

    assert days("What did Nate cook on 9 November, 2022?") == ("2022-11-09", "2022-11-10")
    assert days("what painting did she show on October 13, 2023") == ("2023-10-13", "2023-10-14")
    assert days("the 3rd of May 2024 standup") == ("2024-05-03", "2024-05-04")
    assert days("deploys on 2024-02-29") == ("2024-02-29", "2024-03-01")
    assert days("What happened to John's job in August 2023?") == ("2023-08-01", "2023-09-01")
    assert days("Dec 2023 budget") == ("2023-12-01", "2024-01-01")
    # Guessing would be needed (no year, relative words) or no date exists: nothing.
    for query in ("What did we ship in June?", "what broke yesterday", "release 2023", ""):
        assert named_period(query) is None, query
    assert days("February 30, 2023 or March 2023") == ("2023-03-01", "2023-04-01")


async def test_recall_prefers_memories_from_the_named_day(mesh: AsyncMemoryMesh) -> None:
    may = datetime(2024, 5, 3, 15, 0).astimezone()
    june = datetime(2024, 6, 7, 15, 0).astimezone()
    in_may = await mesh.remember(
        "retro: the deploy pipeline was flaky", event_time=may, on_conflict="keep_both"
    )
    in_june = await mesh.remember(
        "retro: the deploy pipeline was flaky again, pipeline retries added",
        event_time=june,
        on_conflict="keep_both",
    )
    plain = await mesh.recall("deploy pipeline retro", k=2)
    assert [h.memory.id for h in plain] == [in_may.id, in_june.id]  # the shorter match
    for query in ("deploy pipeline retro on 7 June 2024", "deploy pipeline retro in June 2024"):
        dated = await mesh.recall(query, k=2)
        assert [h.memory.id for h in dated] == [in_june.id, in_may.id], query
        assert all(0.0 <= h.breakdown.relevance <= 1.0 for h in dated)
    # A date no memory is from changes nothing: the preference never filters.
    other = await mesh.recall("deploy pipeline retro in March 2021", k=2)
    assert [h.memory.id for h in other] == [in_may.id, in_june.id]


_FUSE_IN_A_PROCESS = """
import json, random
from memorymesh.search._hybrid import convex_fusion, standard_score_fusion
rng = random.Random(7)
keyword = {f"m{i:03d}": rng.random() * 12 for i in range(60)}
vector = {f"m{i:03d}": rng.uniform(0.1, 0.9) for i in range(30, 90)}
fused = [standard_score_fusion(keyword, vector, alpha=0.37), convex_fusion(keyword, vector)]
print(json.dumps([sorted(scores.items()) for scores in fused]))
"""


def test_hybrid_fusion_scores_the_same_in_every_process() -> None:
    """A set's order follows the hash seed, and float sums in another order differ in their
    last bits: fused scores (and so ties) must not depend on which process computes them."""
    import os
    import subprocess
    import sys

    import memorymesh

    root = str(Path(memorymesh.__file__).resolve().parent.parent)
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _FUSE_IN_A_PROCESS],
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(outputs) == 1
