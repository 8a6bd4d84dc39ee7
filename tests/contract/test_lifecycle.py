"""A memory's life: update, pin, forget, supersede and restore, expire, and time travel.

Each test runs with and without an embedder (``any_mesh``): recall must follow every change
whether it searches the keyword index or the vectors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memorymesh import AsyncMemoryMesh, Category, MemoryNotFoundError

from ._helpers import found

pytestmark = pytest.mark.anyio

OLD = "User prefers dark mode in the editor"
NEW = "User prefers light mode in the editor"


async def test_update_changes_only_the_given_fields(any_mesh: AsyncMemoryMesh) -> None:
    memory = await any_mesh.remember(
        "The nightly build uses clang",
        importance=0.3,
        metadata={"a": 1, "b": 2},
        category="pattern",
    )
    event = datetime(2024, 2, 29, 12, tzinfo=UTC)
    updated = await any_mesh.update(
        memory.id, importance=0.8, metadata={"c": 3}, category="decision", event_time=event
    )
    assert (updated.importance, updated.metadata, updated.category) == (
        0.8,
        {"c": 3},  # metadata is replaced whole, not merged
        Category.DECISION,
    )
    assert updated.event_time == event
    assert (updated.text, updated.created_at, updated.scope) == (
        memory.text,
        memory.created_at,
        memory.scope,
    )
    assert updated.updated_at >= memory.updated_at
    assert await any_mesh.get(memory.id) == updated
    assert await found(any_mesh, "nightly build clang", category="decision") == [memory.id]
    assert await found(any_mesh, "nightly build clang", category="pattern") == []


async def test_updated_text_is_what_recall_finds(any_mesh: AsyncMemoryMesh) -> None:
    memory = await any_mesh.remember("The mascot is a purple walrus")
    await any_mesh.remember("Unrelated note about invoices")
    await any_mesh.update(memory.id, text="The mascot is a golden pelican")
    assert (await any_mesh.get(memory.id)).text == "The mascot is a golden pelican"
    assert await found(any_mesh, "golden pelican") == [memory.id]
    assert memory.id not in await found(any_mesh, "purple walrus")


async def test_pin_and_unpin(any_mesh: AsyncMemoryMesh) -> None:
    memory = await any_mesh.remember("Always run the migrations first")
    pinned = await any_mesh.pin(memory.id)
    assert pinned.pinned and (await any_mesh.get(memory.id)).pinned
    assert [m.id for m in await any_mesh.list(pinned=True)] == [memory.id]
    assert (await any_mesh.stats()).pinned == 1
    unpinned = await any_mesh.unpin(memory.id)
    assert not unpinned.pinned
    assert await any_mesh.list(pinned=True) == []


async def test_forget_deletes_for_good(any_mesh: AsyncMemoryMesh) -> None:
    memory = await any_mesh.remember("The old VPN endpoint is vpn1.example.com", scope="global")
    keep = await any_mesh.remember("The wiki lives on confluence")
    gone = await any_mesh.forget(memory.id)
    assert gone == memory
    with pytest.raises(MemoryNotFoundError):
        await any_mesh.get(memory.id)
    assert await found(any_mesh, "VPN endpoint", current_only=False) == []
    assert [m.id for m in await any_mesh.list(include_superseded=True, include_expired=True)] == [
        keep.id
    ]
    with pytest.raises(MemoryNotFoundError):
        await any_mesh.forget(memory.id)


async def test_forget_many_spans_both_scopes_and_skips_unknown_ids(
    any_mesh: AsyncMemoryMesh,
) -> None:
    project = await any_mesh.remember("Project-scoped walrus fact", scope="project")
    user = await any_mesh.remember("Global-scoped walrus fact", scope="global")
    keep = await any_mesh.remember("A memory that stays")
    assert await any_mesh.forget_many([project.id, user.id, "no-such-id", project.id]) == 2
    assert [m.id for m in await any_mesh.list()] == [keep.id]
    assert await found(any_mesh, "walrus fact") == []
    assert await any_mesh.forget_many([]) == 0


async def test_superseding_keeps_history_and_restore_undoes_it(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember(OLD, scope="project")
    new = await any_mesh.remember(NEW, scope="project")
    hidden = await any_mesh.get(old.id)
    assert hidden.superseded_by == new.id and hidden.superseded_at is not None
    assert await found(any_mesh, "editor mode") == [new.id]
    assert set(await found(any_mesh, "editor mode", current_only=False)) == {old.id, new.id}
    for member in (old.id, new.id):
        assert [m.id for m in await any_mesh.history(member)] == [old.id, new.id]
    assert await any_mesh.count() == 1 and await any_mesh.count(include_superseded=True) == 2

    restored = await any_mesh.restore(old.id)
    assert restored.superseded_by is None and restored.superseded_at is None
    assert (await any_mesh.get(new.id)).superseded_by == old.id
    assert await found(any_mesh, "editor mode") == [old.id]
    # Restoring what is current changes nothing.
    assert (await any_mesh.restore(old.id)).superseded_by is None


async def test_history_follows_a_chain_of_three(any_mesh: AsyncMemoryMesh) -> None:
    texts = [f"The API rate limit is {n} requests per minute" for n in (100, 200, 300)]
    versions = [await any_mesh.remember(text, scope="project") for text in texts]
    chain = await any_mesh.history(versions[1].id)
    assert [m.id for m in chain] == [v.id for v in versions]
    assert [m.superseded_by for m in chain] == [versions[1].id, versions[2].id, None]


async def test_ttl_and_expiry(any_mesh: AsyncMemoryMesh) -> None:
    before = datetime.now(UTC)
    lasting = await any_mesh.remember("The demo banner shows this week", ttl=timedelta(days=7))
    assert lasting.expires_at is not None
    assert lasting.expires_at - lasting.created_at == timedelta(days=7)
    assert lasting.expires_at >= before + timedelta(days=7)

    past = datetime.now(UTC) - timedelta(minutes=5)
    expired = await any_mesh.remember("The banner said the demo is on monday", expires_at=past)
    assert await found(any_mesh, "demo banner") == [lasting.id]
    assert set(await found(any_mesh, "demo banner", current_only=False)) == {
        lasting.id,
        expired.id,
    }
    assert await any_mesh.count() == 1 and await any_mesh.count(include_expired=True) == 2
    assert [m.id for m in await any_mesh.list(include_expired=True, order="oldest")] == [
        lasting.id,
        expired.id,
    ]
    assert (await any_mesh.stats()).expired == 1
    assert (await any_mesh.get(expired.id)).expires_at == expired.expires_at


async def test_pinned_memories_never_expire(any_mesh: AsyncMemoryMesh) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    memory = await any_mesh.remember("The office door code changes", expires_at=past)
    assert await found(any_mesh, "office door code") == []
    await any_mesh.pin(memory.id)
    assert await found(any_mesh, "office door code") == [memory.id]


async def test_expiry_can_be_set_and_moved_by_update(any_mesh: AsyncMemoryMesh) -> None:
    memory = await any_mesh.remember("The beta flag is on for staging")
    await any_mesh.update(memory.id, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await found(any_mesh, "beta flag staging") == []
    await any_mesh.update(memory.id, expires_at=datetime.now(UTC) + timedelta(days=1))
    assert await found(any_mesh, "beta flag staging") == [memory.id]


async def test_event_time_given_or_read_from_the_text(any_mesh: AsyncMemoryMesh) -> None:
    given = datetime(2021, 6, 15, 9, 30, tzinfo=UTC)
    explicit = await any_mesh.remember(
        "We migrated the ledger to the new cluster", event_time=given
    )
    assert (await any_mesh.get(explicit.id)).event_time == given
    parsed = await any_mesh.remember("We rotated the signing keys on 2023-11-20")
    assert parsed.event_time is not None
    assert parsed.event_time.astimezone().date().isoformat() == "2023-11-20"
    assert (await any_mesh.get(parsed.id)).event_time == parsed.event_time
    plain = await any_mesh.remember("The ledger service is written in Go")
    assert plain.event_time is None

    cutoff = datetime(2022, 1, 1, tzinfo=UTC)
    before = await found(any_mesh, "ledger cluster keys", until=cutoff, time_field="event")
    assert before == [explicit.id]
    after = await found(any_mesh, "ledger cluster keys", since=cutoff, time_field="event")
    assert set(after) == {parsed.id, plain.id}  # no event time: when it was recorded


async def test_as_of_answers_what_was_current_then(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember("The team lead for payments is Priya", scope="project")
    new = await any_mesh.remember("The team lead for payments is Omar", scope="project")
    assert [c.memory_id for c in new.conflicts] == [old.id]
    between = old.created_at + (new.created_at - old.created_at) / 2
    assert await found(any_mesh, "team lead payments") == [new.id]
    assert await found(any_mesh, "team lead payments", as_of=between) == [old.id]
    assert await found(any_mesh, "team lead payments", as_of=old.created_at - timedelta(1)) == []
    assert await found(any_mesh, "team lead payments", as_of=datetime.now(UTC)) == [new.id]


async def test_as_of_sees_memories_that_expired_since(any_mesh: AsyncMemoryMesh) -> None:
    memory = await any_mesh.remember("The freeze window covers the launch")
    expired = await any_mesh.update(memory.id, expires_at=datetime.now(UTC))
    assert expired.expires_at is not None and expired.expires_at > memory.created_at
    assert await found(any_mesh, "freeze window launch") == []  # expired by now
    then = memory.created_at + (expired.expires_at - memory.created_at) / 2
    assert await found(any_mesh, "freeze window launch", as_of=then) == [memory.id]
