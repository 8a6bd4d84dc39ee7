"""Quality review: each kind of problem is found, scored and given a fix."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh
from memorymesh.cli import main

pytestmark = pytest.mark.anyio


async def test_each_kind_of_problem_is_found(mesh: AsyncMemoryMesh, project_db: Path) -> None:
    good = await mesh.remember(
        "We decided to use PostgreSQL 16 for the billing service", category="decision"
    )
    wrong_global = await mesh.remember(
        "Never edit src/billing/models.py by hand", category="guardrail", scope="global"
    )
    wrong_project = await mesh.remember(
        "User prefers tabs over spaces", category="preference", scope="project"
    )
    verbose = await mesh.remember(
        "We decided " + "and then we also discussed the rollout plan at length " * 12,
        category="decision",
    )
    uncategorised = await mesh.remember("The office coffee machine sits on the third floor")
    vague = await mesh.remember("misc stuff about things", category="context")
    duplicate = await mesh.remember(
        "We have decided to use PostgreSQL 16 for billing",
        category="decision",
        on_conflict="keep_both",  # planted: a write would otherwise supersede it
    )
    stale = await mesh.remember(
        "The nightly export job writes parquet files to the archive bucket", category="pattern"
    )
    await mesh.aclose()
    conn = sqlite3.connect(project_db)
    with conn:
        old = time.time() - 400 * 86_400
        conn.execute("UPDATE memories SET updated_at = ? WHERE id = ?", (old, stale.id))
    conn.close()

    async with AsyncMemoryMesh(project_db, global_path=mesh.global_path) as reopened:
        report = await reopened.quality_report()
    found = {(i.memory_id, i.kind) for i in report.issues}
    assert (wrong_global.id, "scope") in found
    assert (wrong_project.id, "scope") in found
    assert (verbose.id, "verbose") in found
    assert (uncategorised.id, "uncategorised") in found
    assert (vague.id, "low_quality") in found
    assert (stale.id, "stale") in found
    assert (duplicate.id, "duplicate") in found or (good.id, "duplicate") in found
    assert not any(memory_id == good.id and kind != "duplicate" for memory_id, kind in found)
    assert report.examined == 8 and 0 < report.score < 100
    assert report.scores[vague.id] == 100 - 30 - 10  # low quality and uncategorised
    assert all(issue.suggestion for issue in report.issues)
    assert report.issues[0].memory_id in {vague.id, duplicate.id, good.id}  # worst first


async def test_a_clean_store_scores_100(memory_mesh: AsyncMemoryMesh) -> None:
    await memory_mesh.remember("We decided to ship the API as JSON over HTTPS", category="decision")
    report = await memory_mesh.quality_report()
    assert report.score == 100.0 and report.issues == []


def test_review_quality_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["remember", "misc stuff about things", "--category", "context"]) == 0
    capsys.readouterr()
    assert main(["review", "--quality"]) == 0
    out = capsys.readouterr().out
    assert "Quality score 60.0/100 over 1 memories" in out and "fix:" in out
    assert main(["review", "--quality", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by_kind"] == {"low_quality": 1, "uncategorised": 1} and data["score"] == 60.0
