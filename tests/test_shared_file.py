"""Several processes on one store file: each one's in-memory indexes follow the others' writes.

An MCP server per assistant and the CLI hooks all open the same file. Vectors and conflict
tokens live in each process's memory, so without the change feed a memory written by one
would never be found by another's vector recall or compared by its conflict checks. Two
meshes on one file stand in for two processes: each has its own SQLite connection, which is
all the feed and SQLite's locking see.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from _embedders import HashEmbedder

import memorymesh.stores.sqlite._store
import memorymesh.writes._pipeline
from memorymesh import AsyncMemoryMesh, EmbeddingError

pytestmark = pytest.mark.anyio


def _pair(project_db: Path, global_db: Path, **kw: object) -> tuple[AsyncMemoryMesh, ...]:
    return tuple(
        AsyncMemoryMesh(project_db, global_path=global_db, **kw)  # type: ignore[arg-type]
        for _ in range(2)
    )


async def _ids(mesh: AsyncMemoryMesh, query: str, **kw: object) -> list[str]:
    hits = await mesh.recall(query, k=10, **kw)  # type: ignore[arg-type]
    return [h.memory.id for h in hits]


async def test_vector_recall_follows_another_process_writes(
    project_db: Path, global_db: Path
) -> None:
    a, b = _pair(project_db, global_db, embedding=HashEmbedder())
    async with a, b:
        await a.remember("the staging cluster runs in frankfurt")  # a's index is built
        new = await b.remember("billing invoices are archived nightly", category="decision")
        assert new.id in await _ids(a, "billing invoices archived", mode="vector")
        assert new.id in await _ids(a, "billing invoices", mode="hybrid", category="decision")

        # Indexed columns changed over there are changed here too.
        await b.update(new.id, category="pattern")
        assert new.id not in await _ids(a, "billing invoices", mode="vector", category="decision")
        assert new.id in await _ids(a, "billing invoices", mode="vector", category="pattern")

        await b.forget(new.id)
        assert new.id not in await _ids(a, "billing invoices archived", mode="vector")


async def test_memories_written_without_an_embedder_get_vectors_in_the_process_that_has_one(
    project_db: Path, global_db: Path
) -> None:
    async with (
        AsyncMemoryMesh(project_db, global_path=global_db, embedding=HashEmbedder()) as a,
        AsyncMemoryMesh(project_db, global_path=global_db) as keyword_only,
    ):
        await a.remember("an early memory so the index exists")
        m = await keyword_only.remember("the release train leaves every tuesday")
        assert (await _ids(a, "release train tuesday", mode="vector"))[0] == m.id
        # a wrote the vector back: the store no longer has a memory without one.
        assert await a.embedding_backlog() == 0


async def test_conflict_checks_compare_against_another_process_memories(
    project_db: Path, global_db: Path
) -> None:
    a, b = _pair(project_db, global_db)
    async with a, b:
        await a.remember("the office plants are watered on fridays")  # a's tokens are built
        old = await b.remember("The API rate limit is 100 requests per minute.")
        new = await a.remember("The API rate limit is 500 requests per minute.")
        assert [c.memory_id for c in new.conflicts] == [old.id]
        assert (await b.get(old.id)).superseded_by == new.id


async def test_a_process_too_far_behind_the_feed_rebuilds_what_it_holds(
    project_db: Path, global_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memorymesh.stores.sqlite._store, "CHANGES_KEPT", 5)
    monkeypatch.setattr(memorymesh.writes._pipeline, "_PRUNE_CHANGES_EVERY", 4)
    a, b = _pair(project_db, global_db, embedding=HashEmbedder())
    async with a, b:
        doomed = await a.remember("the legacy fax gateway relays alerts")
        await b.forget(doomed.id)
        added = await b.remember_many(
            [f"note {i} about the quarterly kiwi audit" for i in range(30)]
        )
        # The feed no longer reaches back to a's mark: a rebuilds from the whole store.
        with sqlite3.connect(project_db) as conn:
            (oldest,) = conn.execute("SELECT min(seq) FROM memory_changes").fetchone()
        assert oldest > 3
        found = await _ids(a, "quarterly kiwi audit", mode="vector")
        assert set(found) <= {m.id for m in added} and len(found) == 10
        assert doomed.id not in await _ids(a, "legacy fax gateway alerts", mode="vector")


async def test_vectors_from_another_embedder_elsewhere_are_never_mixed_in(
    project_db: Path, global_db: Path
) -> None:
    a = AsyncMemoryMesh(project_db, global_path=global_db, embedding=HashEmbedder(name="test:a"))
    b = AsyncMemoryMesh(
        project_db, global_path=global_db, embedding=HashEmbedder(dim=32, name="test:b")
    )
    async with a, b:
        # Both build their index of the empty store (on first need), so neither refuses the
        # other's model yet.
        for mesh in (a, b):
            assert await mesh.recall("anything", mode="vector") == []
        mine = await a.remember("the nightly backup runs at two")
        theirs = await b.remember("the weekly report goes out on mondays")
        for mesh in (a, b):
            with pytest.raises(EmbeddingError, match="reembed"):
                await mesh.recall("weekly report", mode="vector")
        assert await _ids(a, "weekly report", mode="keyword") == [theirs.id]
        assert await _ids(b, "nightly backup", mode="keyword") == [mine.id]
