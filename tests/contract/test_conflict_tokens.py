"""Keyword-mode conflict candidates come from the tokens the store keeps, written in each
write's own transaction: a mesh opened fresh (a new process) finds conflicts with what any
other mesh wrote, the tokens follow edits and deletions, and a failed write leaves none."""

from __future__ import annotations

import pytest

from memorymesh import DatabaseLockedError

from ._helpers import snapshot
from .conftest import HoldWriteLock, OpenMesh

pytestmark = pytest.mark.anyio

OLD = "The staging database runs PostgreSQL 14"
NEW = "The staging database runs PostgreSQL 16"


async def test_a_fresh_mesh_finds_what_another_mesh_wrote(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="shared") as writer:
        old = await writer.remember(OLD)
        # Many unrelated memories in one batch: their tokens are stored with them.
        await writer.remember_many(
            [f"note {i}: the build cache lives in bucket {i}" for i in range(50)]
        )
    async with open_mesh(store="shared") as other:
        new = await other.remember(NEW)
        assert [(c.kind, c.memory_id) for c in new.conflicts] == [("contradiction", old.id)]
        # Its own write is stored with its tokens too: a third mesh sees the new memory.
    async with open_mesh(store="shared") as third:
        again = await third.remember("The staging database runs PostgreSQL 17")
        assert [c.memory_id for c in again.conflicts] == [new.id]


async def test_two_open_meshes_see_each_others_writes(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="shared") as one, open_mesh(store="shared") as two:
        await one.remember("the kiwi crates ship on fridays")
        old = await two.remember(OLD)
        new = await one.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == [old.id]


async def test_forgotten_memories_are_no_longer_candidates(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="shared") as writer:
        old = await writer.remember(OLD)
        await writer.forget(old.id)
    async with open_mesh(store="shared") as other:
        new = await other.remember(NEW)
        assert new.conflicts == ()


async def test_tokens_follow_an_update(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="shared") as writer:
        memory = await writer.remember("The cache server listens on port 6379")
        await writer.update(memory.id, text=OLD)
    async with open_mesh(store="shared") as other:
        # The old wording is no candidate any more; the new one is.
        port = await other.remember("The cache server listens on port 6380")
        assert port.conflicts == ()
        new = await other.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == [memory.id]


async def test_a_restored_memory_is_a_candidate_again(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="shared") as writer:
        old = await writer.remember(OLD)
        new = await writer.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == [old.id]
        await writer.restore(old.id)
    async with open_mesh(store="shared") as other:
        latest = await other.remember("The staging database runs PostgreSQL 15")
        assert [c.memory_id for c in latest.conflicts] == [old.id]


async def test_a_failed_batch_leaves_no_tokens(
    open_mesh: OpenMesh, hold_write_lock: HoldWriteLock
) -> None:
    async with open_mesh(store="locked", busy_timeout=0.05) as mesh:
        before = await snapshot(mesh)
        batch = [
            {"text": OLD, "scope": "project"},
            {"text": "the user dislikes mango chutney", "scope": "global"},
        ]
        async with hold_write_lock("locked", "global"):
            with pytest.raises(DatabaseLockedError):
                await mesh.remember_many(batch)
        assert await snapshot(mesh) == before
    async with open_mesh(store="locked") as other:
        new = await other.remember(NEW, scope="project")
        assert new.conflicts == ()
