"""Compaction merges near-duplicates and archives stale memories, and loses nothing."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh, CompactPolicy, InvalidInputError
from memorymesh.cli import main

pytestmark = pytest.mark.anyio
DAY = 86_400.0


def _age(db: Path, ids: list[str], days: float) -> None:
    # Make memories old the only honest way: by their recorded timestamps.
    conn = sqlite3.connect(db)
    with conn:
        old = time.time() - days * DAY
        conn.executemany(
            "UPDATE memories SET created_at = ?, updated_at = ? WHERE id = ?",
            [(old, old, i) for i in ids],
        )
    conn.close()


async def test_near_duplicates_merge_and_can_be_restored(mesh: AsyncMemoryMesh) -> None:
    first = await mesh.remember(
        "We decided to use PostgreSQL 16 for the billing service",
        category="decision",
        importance=0.6,
    )
    second = await mesh.remember(
        "We decided to use PostgreSQL 16 for the billing service.",
        category="decision",
        importance=0.9,
        on_conflict="keep_both",
    )
    near = await mesh.remember(
        "We have decided to use PostgreSQL 16 for billing service",
        category="decision",
        importance=0.5,
        on_conflict="keep_both",  # planted: writes would otherwise supersede near-duplicates
    )
    other = await mesh.remember("Deploys go out every Tuesday afternoon", category="decision")
    diff_category = await mesh.remember(
        "We decided to use PostgreSQL 16 for the billing service — a mistake?",
        category="mistake",
        scope="project",
        on_conflict="keep_both",
    )
    preview = await mesh.compact(dry_run=True)
    assert preview.dry_run and preview.examined == 5
    [group] = preview.merges
    assert group.kept == second.id  # the most important copy survives
    assert sorted(group.merged) == sorted([first.id, near.id])
    assert await mesh.count() == 5  # a dry run changes nothing

    done = await mesh.compact()
    assert [g.model_dump() for g in done.merges] == [g.model_dump() for g in preview.merges]
    assert await mesh.count() == 3
    hits = await mesh.recall("PostgreSQL billing", k=10)
    assert {h.memory.id for h in hits} == {second.id, diff_category.id}
    merged = await mesh.get(first.id)
    assert merged.superseded_by == second.id and merged.text.startswith("We decided")
    assert (await mesh.get(other.id)).superseded_by is None

    restored = await mesh.restore_compacted([first.id])
    assert [m.id for m in restored] == [first.id] and restored[0].superseded_by is None
    assert await mesh.count() == 4
    again = await mesh.compact()
    assert [sorted(g.merged) for g in again.merges] == [[first.id]]


async def test_stale_unused_unimportant_memories_are_archived(
    mesh: AsyncMemoryMesh, project_db: Path
) -> None:
    stale = await mesh.remember(
        "The old staging box was called kermit", importance=0.1, scope="project"
    )
    important = await mesh.remember(
        "The prod database lives in eu-west-1", importance=0.9, scope="project"
    )
    used = await mesh.remember(
        "The CI runners use Ubuntu 22.04 images", importance=0.1, scope="project"
    )
    pinned = await mesh.remember(
        "Lunch is at noon on Fridays", importance=0.1, pin=True, scope="project"
    )
    fresh = await mesh.remember(
        "Today the build takes nine minutes", importance=0.1, scope="project"
    )
    await mesh.recall("CI runners Ubuntu images")
    await mesh.aclose()
    _age(project_db, [stale.id, important.id, used.id, pinned.id], days=400)

    async with AsyncMemoryMesh(project_db, global_path=":memory:") as reopened:
        report = await reopened.compact(dry_run=True)
        assert report.archived == [stale.id]
        assert (await reopened.compact()).archived == [stale.id]
        assert {m.id for m in await reopened.list()} == {important.id, used.id, pinned.id, fresh.id}
        assert await reopened.recall("staging box kermit") == []
        assert (await reopened.get(stale.id)).text == "The old staging box was called kermit"
        assert (await reopened.compact()).archived == []
        assert [m.id for m in await reopened.archived()] == [stale.id]
        [back] = await reopened.restore_compacted([stale.id])
        assert await reopened.archived() == []
        assert [h.memory.id for h in await reopened.recall("staging box kermit")] == [back.id]
        loose = await reopened.compact(policy=CompactPolicy(stale_days=10_000))
        assert loose.archived == []
        with pytest.raises(InvalidInputError):
            await reopened.compact(policy="aggressive")  # type: ignore[arg-type]


async def test_review_queue_and_history_are_left_alone(mesh: AsyncMemoryMesh) -> None:
    kept = await mesh.remember("Use ruff for linting and formatting the code", category="pattern")
    await mesh.remember_many(["Use ruff for linting and formatting of code"], review=True)
    report = await mesh.compact()
    assert report.examined == 1 and report.merges == []
    assert len(await mesh.review_queue()) == 1 and (await mesh.get(kept.id)).superseded_by is None


def test_compact_cli(capsys: pytest.CaptureFixture[str]) -> None:
    for text in (
        "Always run the linter before pushing a feature branch",
        "Always run the linter before pushing the feature branch",
    ):
        assert main(["remember", text, "--category", "pattern", "--on-conflict", "keep_both"]) == 0
    capsys.readouterr()
    assert main(["compact", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Would merge 1 near-duplicates into 1 memories" in out and "dry run" in out
    assert main(["compact", "--json", "--similarity", "0.95"]) == 0
    assert json.loads(capsys.readouterr().out)["merges"] == []
    assert main(["compact", "--json"]) == 0
    [group] = json.loads(capsys.readouterr().out)["merges"]
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 1
    assert main(["compact", "--restore", group["merged"][0][:8]]) == 0
    assert "Restored" in capsys.readouterr().out
    assert main(["compact", "--archived"]) == 0
    assert "0 archived memories." in capsys.readouterr().out
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 2
