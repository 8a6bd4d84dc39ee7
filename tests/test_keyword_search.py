"""Keyword recall joins only the best FTS5 matches when no filter narrows them: still exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh


async def _ids(mesh: AsyncMemoryMesh, query: str, k: int, **filters: object) -> list[str]:
    return [r.memory.id for r in await mesh.recall(query, k=k, mode="keyword", **filters)]  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_best_matches_that_are_history_do_not_crowd_out_current_ones(
    mesh: AsyncMemoryMesh,
) -> None:
    # The strongest matches (the word three times) are superseded; current memories that
    # mention it once must still be found, exactly as the unabridged search finds them.
    strong = await mesh.remember_many(
        [
            {"text": f"canary canary canary rollout step {i}", "on_conflict": "keep_both"}
            for i in range(120)
        ]
    )
    weak = await mesh.remember_many(
        [{"text": f"note {i}: the canary went fine", "on_conflict": "keep_both"} for i in range(30)]
    )
    async with mesh.stores[0].write() as tx:
        await tx.supersede([(m.id, weak[0].id) for m in strong])
    for k in (1, 5, 10, 25):
        found = await _ids(mesh, "canary", k)
        # min_importance=0 narrows nothing but takes the unabridged query.
        assert found == await _ids(mesh, "canary", k, min_importance=0.0)
        assert len(found) == k
        assert set(found) <= {m.id for m in weak}


@pytest.mark.anyio
async def test_few_matches_are_all_returned(mesh: AsyncMemoryMesh) -> None:
    stored = await mesh.remember_many(["the blue whale is large", "a blue sky today", "red car"])
    found = await _ids(mesh, "blue", 10)
    assert set(found) == {stored[0].id, stored[1].id}


_GLOBAL_NOTES = [
    "User prefers dark mode in every editor",
    "User's name is Sam",
    "User likes concise answers",
    "User works in Berlin",
    "Always use the metric system in answers",
    "The user reads the database newsletter weekly",
]


@pytest.mark.anyio
@pytest.mark.parametrize("encryption_key", [None, "correct horse battery staple"])
async def test_a_new_projects_best_match_outranks_unrelated_global_memories(
    tmp_path: Path, encryption_key: str | None
) -> None:
    # A new project holds two memories, so FTS5 weighs every word of it at almost nothing
    # (each is in half the file); the global store has a few memories that share one word.
    async with AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", encryption_key=encryption_key
    ) as mesh:
        decision = await mesh.remember(
            "We decided to use MySQL for the billing database", scope="project"
        )
        await mesh.remember("The CI pipeline runs on GitHub Actions", scope="project")
        for text in _GLOBAL_NOTES:
            await mesh.remember(text, scope="global")
        hits = await mesh.recall("Which database do we use for billing?", mode="keyword")
    assert hits[0].memory.id == decision.id
    assert hits[0].breakdown.relevance == 1.0
    # The global memories match one common word each, so they are far less relevant.
    assert all(h.breakdown.relevance < 0.5 for h in hits[1:])


@pytest.mark.anyio
async def test_split_stores_rank_like_one_store(tmp_path: Path) -> None:
    # The same memories in one store or spread over two: the keyword ranking is the same.
    texts = [
        *_GLOBAL_NOTES,
        "We decided to use MySQL for the billing database",
        "The billing service retries failed invoices twice",
        "Database backups run nightly at two",
        "Use the staging database for load tests",
    ]
    query = "Which database do we use for billing?"
    async with AsyncMemoryMesh(tmp_path / "one.db", global_path=tmp_path / "empty.db") as mesh:
        for text in texts:
            await mesh.remember(text, scope="project", on_conflict="keep_both")
        together = [h.memory.text for h in await mesh.recall(query, k=10, mode="keyword")]
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        for i, text in enumerate(texts):
            scope = "global" if i % 2 else "project"
            await mesh.remember(text, scope=scope, on_conflict="keep_both")
        split = [h.memory.text for h in await mesh.recall(query, k=10, mode="keyword")]
    assert split == together


@pytest.mark.anyio
async def test_a_store_error_in_a_two_store_search_is_raised_as_itself(tmp_path: Path) -> None:
    """Both stores are searched at once; a failure still surfaces as the store's own typed
    error, not wrapped in an ExceptionGroup."""
    import sqlite3

    from memorymesh import AsyncMemoryMesh, MemoryMeshError

    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("deploy the billing service with helm", scope="project")
        await mesh.remember("billing runs on the global cluster", scope="global")
        with sqlite3.connect(tmp_path / "g.db") as conn:
            conn.execute("DROP TABLE memories_fts")
        conn.close()
        with pytest.raises(MemoryMeshError) as caught:
            await mesh.recall("billing deploy", k=3)
    assert not isinstance(caught.value, BaseExceptionGroup)
