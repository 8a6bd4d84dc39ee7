"""Several mesh objects on one store, as several processes (an MCP server per assistant,
the CLI hooks) share one database: each one's in-memory indexes follow the others' writes
through the store's change feed, and concurrent writers lose nothing.

Each mesh from ``open_mesh(store="shared")`` has its own connection to the same store,
which is all the change feed and the backend's locking see.
"""

from __future__ import annotations

import io

import anyio
import pytest

from memorymesh import AsyncMemoryMesh

from ._helpers import embedder, found, ids
from .conftest import OpenMesh

pytestmark = pytest.mark.anyio


async def test_vector_recall_follows_the_other_mesh_writes(open_mesh: OpenMesh) -> None:
    async with (
        open_mesh(store="shared", embedding=embedder()) as a,
        open_mesh(store="shared", embedding=embedder()) as b,
    ):
        await a.remember("the staging cluster runs in frankfurt")  # a's index exists
        new = await b.remember("billing invoices are archived nightly", category="decision")
        assert ids(await a.recall("billing invoices archived", mode="vector"))[0] == new.id
        assert ids(await a.recall("billing invoices", mode="hybrid", category="decision")) == [
            new.id
        ]

        await b.update(new.id, category="pattern", text="billing receipts are archived weekly")
        assert await a.recall("billing receipts", mode="vector", category="decision") == []
        assert ids(await a.recall("billing receipts weekly", mode="vector"))[0] == new.id

        await b.forget(new.id)
        assert new.id not in ids(await a.recall("billing receipts weekly", mode="vector", k=10))


async def test_supersede_restore_and_review_by_one_mesh_are_seen_by_the_other(
    open_mesh: OpenMesh,
) -> None:
    async with (
        open_mesh(store="shared", embedding=embedder()) as a,
        open_mesh(store="shared", embedding=embedder()) as b,
    ):
        old = await a.remember("The staging database runs PostgreSQL 14")
        new = await b.remember("The staging database runs PostgreSQL 16")
        assert await found(a, "staging database PostgreSQL") == [new.id]
        await b.restore(old.id)
        assert await found(a, "staging database PostgreSQL") == [old.id]

        [queued] = await b.remember_many(["the kiwi crates ship on fridays"], review=True)
        assert await found(a, "kiwi crates ship") == []
        await b.accept([queued.id])
        assert await found(a, "kiwi crates ship") == [queued.id]


async def test_an_import_by_one_mesh_is_seen_by_the_other(open_mesh: OpenMesh) -> None:
    async with open_mesh() as source:
        memory = await source.remember("the cold storage bucket is in iceland")
        buffer = io.StringIO()
        await source.export(buffer)
    async with (
        open_mesh(store="shared", embedding=embedder()) as a,
        open_mesh(store="shared", embedding=embedder()) as b,
    ):
        await a.remember("lunch is served at noon")
        await b.import_(io.StringIO(buffer.getvalue()))
        assert await found(a, "cold storage bucket") == [memory.id]


async def test_a_mesh_with_an_embedder_embeds_what_a_keyword_mesh_wrote(
    open_mesh: OpenMesh,
) -> None:
    async with (
        open_mesh(store="shared", embedding=embedder()) as vectors,
        open_mesh(store="shared") as keywords,
    ):
        await vectors.remember("an early memory so the index exists")
        memory = await keywords.remember("the release train leaves every tuesday")
        assert ids(await vectors.recall("release train tuesday", mode="vector"))[0] == memory.id
        assert await vectors.embedding_backlog() == 0


@pytest.mark.parametrize("with_vectors", [False, True], ids=["keyword", "vectors"])
async def test_conflict_checks_see_the_other_mesh_memories(
    open_mesh: OpenMesh, with_vectors: bool
) -> None:
    kwargs = {"embedding": embedder()} if with_vectors else {}
    async with (
        open_mesh(store="shared", **kwargs) as a,
        open_mesh(store="shared", **kwargs) as b,
    ):
        await a.remember("the office plants are watered on fridays")  # a's indexes exist
        old = await b.remember("The API rate limit is 100 requests per minute.")
        new = await a.remember("The API rate limit is 500 requests per minute.")
        assert [c.memory_id for c in new.conflicts] == [old.id]
        assert (await b.get(old.id)).superseded_by == new.id
        duplicate = await a.remember("the office PLANTS are watered on fridays")
        again = await b.remember("the office plants are watered on fridays")
        assert again.id == duplicate.id


WRITERS = 4
PER_WRITER = 12


async def _write(mesh: AsyncMemoryMesh, writer: int, out: list[str]) -> None:
    for i in range(PER_WRITER // 2):
        memory = await mesh.remember(f"writer {writer} wrote note {i}", on_conflict="keep_both")
        out.append(memory.id)
    batch = await mesh.remember_many(
        [
            {"text": f"writer {writer} batched note {i}", "on_conflict": "keep_both"}
            for i in range(PER_WRITER // 2)
        ]
    )
    out.extend(m.id for m in batch)


@pytest.mark.parametrize("with_vectors", [False, True], ids=["keyword", "vectors"])
async def test_concurrent_writers_lose_nothing(open_mesh: OpenMesh, with_vectors: bool) -> None:
    # keep_both: this is about every write landing, not about how conflicts resolve.
    kwargs = {"embedding": embedder()} if with_vectors else {}
    meshes = [open_mesh(store="shared", **kwargs) for _ in range(WRITERS)]
    written: list[list[str]] = [[] for _ in range(WRITERS + 1)]
    try:
        for mesh in meshes:
            await mesh.open()
        async with anyio.create_task_group() as tg:
            for writer, mesh in enumerate(meshes):
                tg.start_soon(_write, mesh, writer, written[writer])
            # Two tasks on one mesh object, as an async server shares one.
            tg.start_soon(_write, meshes[0], WRITERS, written[WRITERS])
    finally:
        for mesh in meshes:
            await mesh.aclose()
    everything = [memory_id for ids_ in written for memory_id in ids_]
    assert len(set(everything)) == len(everything) == (WRITERS + 1) * PER_WRITER
    async with open_mesh(store="shared", **kwargs) as reader:
        assert await reader.count() == len(everything)
        assert {m.id for m in await reader.list(limit=1000)} == set(everything)
        hits = await reader.recall("writer wrote batched note", k=1000, mode="keyword")
        assert {h.memory.id for h in hits} == set(everything)
        if with_vectors:
            assert await reader.embedding_backlog() == 0
            hits = await reader.recall("writer wrote batched note", k=1000, mode="vector")
            assert {h.memory.id for h in hits if h.breakdown.relevance > 0} == set(everything)


@pytest.mark.parametrize("with_vectors", [False, True], ids=["keyword", "vectors"])
async def test_concurrent_contradictions_leave_one_current_version(
    open_mesh: OpenMesh, with_vectors: bool
) -> None:
    """Conflict checks run under the store's write lock: however writes interleave, each one
    sees every memory committed before it, so exactly one version stays current."""
    kwargs = {"embedding": embedder()} if with_vectors else {}
    meshes = [open_mesh(store="shared", **kwargs) for _ in range(WRITERS)]
    try:
        for mesh in meshes:
            await mesh.open()
        async with anyio.create_task_group() as tg:
            for n, mesh in enumerate(meshes):
                tg.start_soon(
                    mesh.remember, f"The API rate limit is {100 * (n + 1)} requests per minute"
                )
    finally:
        for mesh in meshes:
            await mesh.aclose()
    async with open_mesh(store="shared", **kwargs) as reader:
        assert await reader.count() == 1
        assert await reader.count(include_superseded=True) == WRITERS
        [current] = await reader.list()
        assert len(await reader.history(current.id)) == WRITERS
