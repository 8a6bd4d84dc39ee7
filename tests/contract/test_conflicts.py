"""Duplicates and contradictions under each policy: found in the store and within a batch,
resolved as the policy says, and nothing ever lost (superseded versions stay as history).

Every test runs with and without an embedder: conflict candidates come from vector search
in one case and from the keyword side in the other, and a backend must serve both.
"""

from __future__ import annotations

import pytest

from memorymesh import AsyncMemoryMesh

from ._helpers import embedder, found
from .conftest import OpenMesh

pytestmark = pytest.mark.anyio

OLD = "The staging database runs PostgreSQL 14"
NEW = "The staging database runs PostgreSQL 16"


async def test_supersede_is_the_default(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember(OLD)
    new = await any_mesh.remember(NEW)
    [conflict] = new.conflicts
    assert (conflict.kind, conflict.memory_id, conflict.action, conflict.policy) == (
        "contradiction",
        old.id,
        "superseded",
        "supersede",
    )
    assert 0.0 <= conflict.similarity <= 1.0 and conflict.reason
    assert (await any_mesh.get(old.id)).superseded_by == new.id
    assert await found(any_mesh, "staging database PostgreSQL") == [new.id]
    assert [m.id for m in await any_mesh.history(new.id)] == [old.id, new.id]


async def test_keep_both_stores_the_new_one_beside_the_old(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember(OLD)
    new = await any_mesh.remember(NEW, on_conflict="keep_both")
    assert [(c.memory_id, c.action) for c in new.conflicts] == [(old.id, "kept_both")]
    assert (await any_mesh.get(old.id)).superseded_by is None
    assert set(await found(any_mesh, "staging database PostgreSQL")) == {old.id, new.id}


async def test_skip_stores_nothing(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember(OLD)
    kept = await any_mesh.remember(NEW, on_conflict="skip")
    assert (kept.id, kept.text) == (old.id, OLD)
    assert [(c.memory_id, c.action) for c in kept.conflicts] == [(old.id, "skipped")]
    assert await any_mesh.count(include_superseded=True) == 1


async def test_merge_rewrites_in_place_and_keeps_the_old_text_as_history(
    any_mesh: AsyncMemoryMesh,
) -> None:
    old = await any_mesh.remember(OLD, metadata={"owner": "dba"}, importance=0.9)
    merged = await any_mesh.remember(
        NEW, metadata={"ticket": 42}, importance=0.1, on_conflict="merge"
    )
    assert (merged.id, merged.text) == (old.id, NEW)
    assert merged.metadata == {"owner": "dba", "ticket": 42}
    assert merged.importance == 0.9
    assert [(c.memory_id, c.action) for c in merged.conflicts] == [(old.id, "merged")]
    assert await any_mesh.get(old.id) == merged.model_copy(update={"conflicts": ()})
    versions = await any_mesh.history(old.id)
    assert [m.text for m in versions] == [OLD, NEW]
    assert versions[0].superseded_by == old.id and versions[-1].id == old.id
    assert await found(any_mesh, "staging database PostgreSQL") == [old.id]


async def test_exact_duplicates_under_each_policy(any_mesh: AsyncMemoryMesh) -> None:
    first = await any_mesh.remember("Commit messages say why", metadata={"a": 1})
    for policy in ("supersede", "skip"):
        again = await any_mesh.remember("commit  MESSAGES say why", on_conflict=policy)
        assert again.id == first.id and again.conflicts[0].kind == "duplicate"
    merged = await any_mesh.remember(
        "Commit messages say why", metadata={"b": 2}, pin=True, on_conflict="merge"
    )
    assert merged.id == first.id and merged.metadata == {"a": 1, "b": 2} and merged.pinned
    assert await any_mesh.count() == 1
    twin = await any_mesh.remember("Commit messages say why", on_conflict="keep_both")
    assert twin.id != first.id and await any_mesh.count() == 2


async def test_the_mesh_default_policy_applies_unless_a_call_names_one(
    open_mesh: OpenMesh,
) -> None:
    async with open_mesh(on_conflict="keep_both") as mesh:
        old = await mesh.remember(OLD)
        beside = await mesh.remember(NEW)
        assert beside.conflicts[0].action == "kept_both"
        assert (await mesh.get(old.id)).superseded_by is None
        later = await mesh.remember("The staging database runs PostgreSQL 17", on_conflict="skip")
        assert later.id in {old.id, beside.id}
        assert await mesh.count(include_superseded=True) == 2


async def test_a_batch_is_checked_against_the_store_and_against_itself(
    any_mesh: AsyncMemoryMesh,
) -> None:
    stored = await any_mesh.remember(OLD, scope="project")
    texts = [
        NEW,  # contradicts the stored memory
        "We deploy with the blue pipeline on Mondays",
        "We do not deploy with the blue pipeline on Mondays",  # contradicts the item above
        "Release notes live in CHANGELOG.md",
        "release notes live in changelog.md",  # duplicates the item above
    ]
    # One scope, so one store: "do not ..." alone would read as a guardrail, kept globally.
    out = await any_mesh.remember_many([{"text": t, "scope": "project"} for t in texts])
    assert [(c.memory_id, c.action) for c in out[0].conflicts] == [(stored.id, "superseded")]
    assert [(c.memory_id, c.action) for c in out[2].conflicts] == [(out[1].id, "superseded")]
    assert out[4].id == out[3].id and out[4].conflicts[0].kind == "duplicate"
    assert await any_mesh.count() == 3
    assert await any_mesh.count(include_superseded=True) == 5


async def test_each_item_of_a_batch_can_name_its_policy(any_mesh: AsyncMemoryMesh) -> None:
    out = await any_mesh.remember_many(
        [
            {"text": OLD, "scope": "project"},
            {"text": NEW, "scope": "project", "on_conflict": "skip"},
            {"text": "We use Redis for caching", "scope": "project", "metadata": {"a": 1}},
            {"text": "We do not use Redis for caching", "scope": "project", "on_conflict": "merge"},
        ]
    )
    assert out[1].id == out[0].id and out[1].text == OLD
    assert out[3].id == out[2].id and out[3].text == "We do not use Redis for caching"
    assert await any_mesh.count() == 2


async def test_a_conflict_across_scopes_is_resolved_and_undoable(
    any_mesh: AsyncMemoryMesh,
) -> None:
    # The global memory is superseded by the project one: the link names a memory of the
    # other store, and history and restore follow it there.
    user = await any_mesh.remember(OLD, scope="global")
    project = await any_mesh.remember(NEW, scope="project")
    assert [(c.memory_id, c.action) for c in project.conflicts] == [(user.id, "superseded")]
    assert (await any_mesh.get(user.id)).superseded_by == project.id
    assert await found(any_mesh, "staging database PostgreSQL") == [project.id]
    assert await any_mesh.count() == 1
    assert [m.id for m in await any_mesh.history(user.id)] == [user.id, project.id]
    assert [m.id for m in await any_mesh.history(project.id)] == [user.id, project.id]
    restored = await any_mesh.restore(user.id)
    assert restored.superseded_by is None
    assert (await any_mesh.get(project.id)).superseded_by == user.id
    assert await found(any_mesh, "staging database PostgreSQL") == [user.id]
    assert [m.id for m in await any_mesh.history(user.id)] == [project.id, user.id]
    await any_mesh.restore(project.id)  # and back again
    assert await found(any_mesh, "staging database PostgreSQL") == [project.id]


@pytest.mark.parametrize("policy", ["skip", "merge", "keep_both"])
async def test_the_other_policies_across_scopes(any_mesh: AsyncMemoryMesh, policy: str) -> None:
    user = await any_mesh.remember(OLD, scope="global")
    project = await any_mesh.remember(NEW, scope="project", on_conflict=policy)  # type: ignore[arg-type]
    [conflict] = project.conflicts
    # skip keeps the old one (returned), merge never rewrites the other scope's memory (it
    # supersedes it), keep_both keeps both.
    expected = {"skip": "skipped", "merge": "superseded", "keep_both": "kept_both"}[policy]
    assert conflict.action == expected
    if policy == "skip":
        assert project.id == user.id and await any_mesh.count() == 1
    elif policy == "merge":
        assert (await any_mesh.get(user.id)).superseded_by == project.id
    else:
        assert await any_mesh.count() == 2


@pytest.mark.parametrize("with_vectors", [False, True], ids=["keyword", "vectors"])
async def test_conflicts_are_found_after_reopening_the_store(
    open_mesh: OpenMesh, with_vectors: bool
) -> None:
    kwargs = {"embedding": embedder()} if with_vectors else {}
    async with open_mesh(store="kept", **kwargs) as first:
        old = await first.remember(OLD)
    async with open_mesh(store="kept", **kwargs) as second:
        new = await second.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == [old.id]
        assert (await second.get(old.id)).superseded_by == new.id
