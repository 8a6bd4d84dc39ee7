"""Uncertain conflicts in the review queue, on every backend: a ``possible_`` pair a write
kept both of waits in its store until a person (or the judge) accepts the new memory as the
replacement or keeps both; the decision is logged and undoable."""

from __future__ import annotations

import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError

from ._helpers import Model as _Model
from .conftest import OpenMesh

pytestmark = pytest.mark.anyio

OLD = "Maria owns the billing service"
NEW = "Maria owns the billing service and its on-call rotation"


async def _pair(mesh: AsyncMemoryMesh) -> tuple[str, str]:
    old = await mesh.remember(OLD, scope="project")
    new = await mesh.remember(NEW, scope="project")
    assert [(c.kind[:9], c.action) for c in new.conflicts] == [("possible_", "kept_both")]
    return old.id, new.id


async def test_an_uncertain_pair_waits_in_the_review_queue(any_mesh: AsyncMemoryMesh) -> None:
    old, new = await _pair(any_mesh)
    [pair] = await any_mesh.conflict_pairs()
    assert (pair.old.id, pair.new.id, pair.policy) == (old, new, "supersede")
    assert pair.kind.startswith("possible_") and pair.reason
    # Without a judge, judge_pending sends nothing and says how many wait.
    report = await any_mesh.judge_pending()
    assert (report.judge, report.pairs, report.sent) == (None, 1, 0)


async def test_accept_as_replacement_is_logged_and_undoable(any_mesh: AsyncMemoryMesh) -> None:
    old, new = await _pair(any_mesh)
    decided = await any_mesh.resolve_conflict(new, old, action="replace")
    assert (decided.action, decided.decided_by, decided.memory_id) == ("superseded", "review", old)
    assert (await any_mesh.get(old)).superseded_by == new
    assert [r.memory.text for r in await any_mesh.recall("billing service")] == [NEW]
    assert await any_mesh.conflict_pairs() == []
    [entry] = [e for e in await any_mesh.log(limit=20) if e.action == "judged"]
    assert entry.memory_id == new and entry.detail["decided_by"] == "review"
    await any_mesh.restore(old)
    assert (await any_mesh.get(old)).superseded_by is None
    with pytest.raises(InvalidInputError, match="no uncertain pair"):
        await any_mesh.resolve_conflict(new, old, action="replace")


async def test_keep_both_takes_the_pair_off_the_queue(any_mesh: AsyncMemoryMesh) -> None:
    old, new = await _pair(any_mesh)
    decided = await any_mesh.resolve_conflict(new, old, action="keep_both")
    assert decided.action == "kept_both"
    assert await any_mesh.conflict_pairs() == []
    assert (await any_mesh.get(old)).superseded_by is None
    assert await any_mesh.count() == 2
    with pytest.raises(InvalidInputError, match="action"):
        await any_mesh.resolve_conflict(new, old, action="merge")  # type: ignore[arg-type]


async def test_a_pair_whose_memory_is_gone_leaves_the_queue(any_mesh: AsyncMemoryMesh) -> None:
    old, new = await _pair(any_mesh)
    await any_mesh.forget(old)
    assert await any_mesh.conflict_pairs() == []
    with pytest.raises(InvalidInputError):
        await any_mesh.resolve_conflict(new, old, action="replace")


async def test_the_judge_caches_and_applies_on_every_backend(open_mesh: OpenMesh) -> None:
    # Opened without `async with`, as a one-shot process: no background run, the pairs wait
    # for judge_pending().
    unsure = _Model("test:unsure", "contradiction", 0.3)
    mesh = open_mesh(store="judged", judge=unsure)
    try:
        old, new = await _pair(mesh)
        assert unsure.asked == 0
        first = await mesh.judge_pending()
        assert (first.sent, first.unsure) == (1, 1)
        second = await mesh.judge_pending()
        assert (second.sent, second.cached) == (0, 1) and unsure.asked == 1
    finally:
        await mesh.aclose()
    sure = _Model("test:sure", "contradiction", 0.9)
    mesh = open_mesh(store="judged", judge=sure)
    try:
        report = await mesh.judge_pending()
        assert (report.sent, report.applied) == (1, 1)  # another model: not the cached verdict
        [decided] = report.decisions
        assert (decided.decided_by, decided.action) == ("judge:test:sure", "superseded")
        assert (await mesh.get(old)).superseded_by == new
        assert await mesh.conflict_pairs() == []
    finally:
        await mesh.aclose()


async def _pair_across(mesh: AsyncMemoryMesh) -> tuple[str, str]:
    """An uncertain pair whose old memory is global and whose new one is the project's."""
    old = await mesh.remember(OLD, scope="global")
    new = await mesh.remember(NEW, scope="project")
    assert [(c.kind[:9], c.action, c.memory_id) for c in new.conflicts] == [
        ("possible_", "kept_both", old.id)
    ]
    return old.id, new.id


async def test_an_uncertain_pair_across_scopes_is_queued_and_replaced_like_any(
    any_mesh: AsyncMemoryMesh,
) -> None:
    old, new = await _pair_across(any_mesh)
    [pair] = await any_mesh.conflict_pairs()
    assert (pair.old.id, pair.new.id) == (old, new)
    assert (pair.old.scope.value, pair.new.scope.value) == ("global", "project")
    decided = await any_mesh.resolve_conflict(new, old, action="replace")
    assert (decided.action, decided.memory_id, decided.decided_by) == ("superseded", old, "review")
    # The global memory is history of the project one: recall, history and restore follow.
    assert (await any_mesh.get(old)).superseded_by == new
    assert [r.memory.id for r in await any_mesh.recall("billing service")] == [new]
    assert [m.id for m in await any_mesh.history(new)] == [old, new]
    assert [m.id for m in await any_mesh.history(old)] == [old, new]
    assert await any_mesh.conflict_pairs() == []
    await any_mesh.restore(old)
    assert (await any_mesh.get(old)).superseded_by is None
    assert (await any_mesh.get(new)).superseded_by == old


async def test_keep_both_across_scopes(any_mesh: AsyncMemoryMesh) -> None:
    old, new = await _pair_across(any_mesh)
    assert (await any_mesh.resolve_conflict(new, old, action="keep_both")).action == "kept_both"
    assert await any_mesh.conflict_pairs() == []
    assert {(await any_mesh.get(i)).superseded_by for i in (old, new)} == {None}


@pytest.mark.parametrize("policy", ["supersede", "skip"])
async def test_the_judge_decides_across_scopes_with_the_writes_policy(
    open_mesh: OpenMesh, policy: str
) -> None:
    sure = _Model("test:sure", "contradiction", 0.9)
    mesh = open_mesh(store="across", judge=sure, on_conflict=policy)
    try:
        old, new = await _pair_across(mesh)
        report = await mesh.judge_pending()
        assert (report.sent, report.applied) == (1, 1)
        if policy == "supersede":  # the new memory replaces the global one
            assert (await mesh.get(old)).superseded_by == new
            assert (await mesh.get(new)).superseded_by is None
        else:  # skip: the old memory stays, the new one becomes its history
            assert (await mesh.get(new)).superseded_by == old
            assert (await mesh.get(old)).superseded_by is None
        assert [m.id for m in await mesh.history(new)] == [m.id for m in await mesh.history(old)]
        assert await mesh.conflict_pairs() == []
    finally:
        await mesh.aclose()
