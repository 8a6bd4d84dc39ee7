"""Compaction, session start and quality review: the maintenance operations read and
rewrite the store through the same contract, and lose nothing."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from memorymesh import AsyncMemoryMesh, CompactPolicy

from ._helpers import found, snapshot

pytestmark = pytest.mark.anyio


async def _import_old(mesh: AsyncMemoryMesh, text: str, importance: float) -> str:
    """A memory recorded years ago and never used: the only way to make one without waiting."""
    then = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
    record = {
        "id": "0" * 31 + "1",
        "text": text,
        "category": "context",
        "importance": importance,
        "scope": "project",
        "created_at": then,
        "updated_at": then,
    }
    header = {"format": "memorymesh", "version": 1}
    await mesh.import_(io.StringIO(f"{json.dumps(header)}\n{json.dumps(record)}\n"))
    return str(record["id"])


async def test_compaction_merges_near_duplicates_and_restore_undoes_it(
    any_mesh: AsyncMemoryMesh,
) -> None:
    first = await any_mesh.remember(
        "Deploys go out on Tuesdays at ten in the morning", category="pattern"
    )
    second = await any_mesh.remember(
        "Deploys go out on Tuesdays at ten in the morning sharp",
        category="pattern",
        on_conflict="keep_both",
    )
    before = await snapshot(any_mesh)
    dry = await any_mesh.compact(dry_run=True)
    assert len(dry.merges) == 1 and await snapshot(any_mesh) == before

    report = await any_mesh.compact()
    [group] = report.merges
    assert {group.kept, *group.merged} == {first.id, second.id}
    [gone] = group.merged
    assert (await any_mesh.get(gone)).superseded_by == group.kept
    assert await found(any_mesh, "deploys tuesdays morning") == [group.kept]

    [back] = await any_mesh.restore_compacted([gone])
    assert back.id == gone and back.superseded_by is None
    assert set(await found(any_mesh, "deploys tuesdays morning")) == {first.id, second.id}


async def test_compaction_archives_stale_memories_and_restore_undoes_it(
    any_mesh: AsyncMemoryMesh,
) -> None:
    stale = await _import_old(any_mesh, "The old intranet page listed the lunch menu", 0.1)
    fresh = await any_mesh.remember("The new intranet page lists the parking rules")
    report = await any_mesh.compact(policy=CompactPolicy(stale_days=30))
    assert report.archived == [stale]
    assert [m.id for m in await any_mesh.archived()] == [stale]
    assert await found(any_mesh, "intranet page") == [fresh.id]
    assert await any_mesh.count() == 1

    [back] = await any_mesh.restore_compacted([stale])
    assert back.id == stale
    assert set(await found(any_mesh, "intranet page")) == {stale, fresh.id}
    assert await any_mesh.archived() == []


async def test_session_start_reads_what_matters_within_its_budget(
    any_mesh: AsyncMemoryMesh,
) -> None:
    guardrail = await any_mesh.remember("Never force-push to main", category="guardrail")
    answer = await any_mesh.remember("We decided to use PostgreSQL for billing")
    context = await any_mesh.session_start("which database does billing use?", budget_tokens=400)
    assert context.used_tokens <= 400
    # Once, in whichever section ranks it first (with vectors it is also "relevant").
    assert [item.memory.id for item in context.items].count(guardrail.id) == 1
    assert context.relevant[0].memory.id == answer.id


async def test_quality_review_changes_nothing(any_mesh: AsyncMemoryMesh) -> None:
    await any_mesh.remember("We decided to use PostgreSQL for billing")
    await any_mesh.remember("stuff")
    before = await snapshot(any_mesh)
    report = await any_mesh.quality_report()
    assert report.examined == 2 and 0 <= report.score <= 100
    assert await snapshot(any_mesh) == before
