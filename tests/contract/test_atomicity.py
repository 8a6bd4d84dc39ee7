"""A write that spans both stores is all or nothing: when one store cannot be written (another
process holds its write lock past the busy timeout), the other store keeps nothing either,
and neither the keyword side nor the vectors remember the failed write."""

from __future__ import annotations

import io

import pytest

from memorymesh import DatabaseLockedError

from ._helpers import embedder, found, snapshot
from .conftest import HoldWriteLock, OpenMesh

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[False, True], ids=["keyword", "vectors"])
def with_vectors(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


async def test_a_batch_that_fails_in_one_store_lands_in_neither(
    open_mesh: OpenMesh, hold_write_lock: HoldWriteLock, with_vectors: bool
) -> None:
    kwargs = {"embedding": embedder()} if with_vectors else {}
    async with open_mesh(store="locked", busy_timeout=0.05, **kwargs) as mesh:
        await mesh.remember("the kiwi crates ship on fridays", scope="project")
        await mesh.remember("the user likes mango sorbet", scope="global")
        before = await snapshot(mesh)
        batch = [
            {"text": "the kiwi orchard moved north", "scope": "project"},
            {"text": "the user dislikes mango chutney", "scope": "global"},
        ]
        async with hold_write_lock("locked", "global"):
            with pytest.raises(DatabaseLockedError):
                await mesh.remember_many(batch)
        assert await snapshot(mesh) == before
        assert await found(mesh, "orchard moved") == []
        # Once the lock is gone the same batch lands whole, and is checked against the
        # store as it is, not against the failed attempt.
        written = await mesh.remember_many(batch)
        assert all(m.conflicts == () for m in written)
        assert await mesh.count() == 4
        assert await found(mesh, "orchard moved") == [written[0].id]


async def test_forgetting_across_stores_is_all_or_nothing(
    open_mesh: OpenMesh, hold_write_lock: HoldWriteLock, with_vectors: bool
) -> None:
    kwargs = {"embedding": embedder()} if with_vectors else {}
    async with open_mesh(store="locked", busy_timeout=0.05, **kwargs) as mesh:
        project = await mesh.remember("the kiwi crates ship on fridays", scope="project")
        user = await mesh.remember("the user likes kiwi sorbet", scope="global")
        before = await snapshot(mesh)
        async with hold_write_lock("locked", "global"):
            with pytest.raises(DatabaseLockedError):
                await mesh.forget_many([project.id, user.id])
        assert await snapshot(mesh) == before
        assert set(await found(mesh, "kiwi")) == {project.id, user.id}


async def test_an_import_across_stores_is_all_or_nothing(
    open_mesh: OpenMesh, hold_write_lock: HoldWriteLock
) -> None:
    async with open_mesh() as source:
        await source.remember("a project memory to import", scope="project")
        await source.remember("a global memory to import", scope="global")
        document = io.StringIO()
        await source.export(document)
    async with open_mesh(store="locked", busy_timeout=0.05) as target:
        before = await snapshot(target)
        async with hold_write_lock("locked", "global"):
            with pytest.raises(DatabaseLockedError):
                await target.import_(io.StringIO(document.getvalue()))
        assert await snapshot(target) == before
        assert (await target.import_(io.StringIO(document.getvalue()))).imported == 2
