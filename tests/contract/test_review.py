"""The review queue: queued memories are stored but invisible until accepted.

A backend keeps each memory's review status and filters every read by it: recall (keyword
and vector), list, count and stats see only accepted memories.
"""

from __future__ import annotations

import pytest

from memorymesh import AsyncMemoryMesh

from ._helpers import found

pytestmark = pytest.mark.anyio


async def test_queued_memories_are_invisible_until_accepted(any_mesh: AsyncMemoryMesh) -> None:
    queued = await any_mesh.remember_many(
        [
            "We decided to vendor the protobuf files",
            {"text": "The user likes terse commit messages", "scope": "global"},
        ],
        review=True,
    )
    assert await any_mesh.count() == 0 and await any_mesh.list() == []
    assert (await any_mesh.stats()).total == 0
    assert await found(any_mesh, "vendor protobuf files") == []
    assert [m.id for m in await any_mesh.review_queue()] == [m.id for m in queued]
    assert await any_mesh.get(queued[0].id) == queued[0]  # stored, only not active

    accepted = await any_mesh.accept([queued[0].id, "not-an-id"])
    assert [m.id for m in accepted] == [queued[0].id]
    assert await found(any_mesh, "vendor protobuf files") == [queued[0].id]
    assert [m.id for m in await any_mesh.review_queue()] == [queued[1].id]

    assert await any_mesh.reject([queued[1].id, queued[0].id]) == 1  # only queued ones count
    assert await any_mesh.review_queue() == []
    assert await found(any_mesh, "terse commit messages") == []
    assert await any_mesh.count() == 1


async def test_the_queue_is_oldest_first_and_paged(any_mesh: AsyncMemoryMesh) -> None:
    queued = await any_mesh.remember_many(
        [f"captured note number {word}" for word in ("alpha", "bravo", "charlie")], review=True
    )
    assert [m.id for m in await any_mesh.review_queue()] == [m.id for m in queued]
    assert [m.id for m in await any_mesh.review_queue(limit=2)] == [m.id for m in queued[:2]]


async def test_a_capture_is_never_queued_twice(any_mesh: AsyncMemoryMesh) -> None:
    known = await any_mesh.remember("Tests run with make test")
    [same] = await any_mesh.remember_many(["tests run with  MAKE test"], review=True)
    assert same.id == known.id and await any_mesh.review_queue() == []

    [first] = await any_mesh.remember_many(["Format with ruff before committing"], review=True)
    [again] = await any_mesh.remember_many(["Format with ruff before committing"], review=True)
    assert again.id == first.id and len(await any_mesh.review_queue()) == 1
    await any_mesh.reject([first.id])
    # Rejected text is remembered as rejected, so the same capture is not queued again.
    [after] = await any_mesh.remember_many(["Format with ruff before committing"], review=True)
    assert after.id == first.id and await any_mesh.review_queue() == []


async def test_accepting_text_remembered_meanwhile_rejects_it(any_mesh: AsyncMemoryMesh) -> None:
    [queued] = await any_mesh.remember_many(["Deploys go out on Tuesdays"], review=True)
    await any_mesh.remember("Deploys go out on Tuesdays")
    assert await any_mesh.accept([queued.id]) == []
    assert await any_mesh.review_queue() == [] and await any_mesh.count() == 1


async def test_a_queued_memory_can_be_edited_before_it_is_accepted(
    any_mesh: AsyncMemoryMesh,
) -> None:
    [queued] = await any_mesh.remember_many(["The build uses gcc 12"], review=True)
    await any_mesh.update(queued.id, text="The build uses clang 17")
    [accepted] = await any_mesh.accept([queued.id])
    assert accepted.text == "The build uses clang 17"
    assert await found(any_mesh, "build clang") == [queued.id]
    assert await found(any_mesh, "gcc") == []


async def test_forget_removes_queued_memories_too(any_mesh: AsyncMemoryMesh) -> None:
    [queued] = await any_mesh.remember_many(["A capture nobody wants"], review=True)
    assert await any_mesh.forget_many([queued.id]) == 1
    assert await any_mesh.review_queue() == []
