"""``stats`` reads counts kept by triggers: they must always equal a count of the rows."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh

pytestmark = pytest.mark.anyio


def counted(db: Path) -> tuple[dict[tuple[str, str, int], int], dict[tuple[str, str, int], int]]:
    """The trigger-kept counts, and the same counted from the rows."""
    with sqlite3.connect(db) as conn:
        kept = {
            (s, c, p): n
            for s, c, p, n in conn.execute("SELECT scope, category, pinned, n FROM memory_counts")
            if n
        }
        truth = {
            (s, c, p): n
            for s, c, p, n in conn.execute(
                "SELECT scope, category, pinned, COUNT(*) FROM memories "
                "WHERE superseded_by IS NULL AND status = 'active' GROUP BY 1, 2, 3"
            )
        }
    conn.close()
    return kept, truth


async def test_counts_follow_every_kind_of_write(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    async with AsyncMemoryMesh(db, global_path=tmp_path / "g.db") as mesh:
        stored = await mesh.remember_many(
            [
                {"text": f"Note {i}: the billing queue runs on host {i}", "scope": "project"}
                for i in range(20)
            ]
        )
        await mesh.remember("We use PostgreSQL 15 for billing", scope="project")
        await mesh.remember("We use PostgreSQL 16 for billing", scope="project")  # supersedes
        await mesh.pin(stored[0].id)
        await mesh.update(stored[1].id, category="decision")
        await mesh.forget_many([stored[2].id, stored[3].id])
        await mesh.remember(
            "Temporary: the staging host is down",
            scope="project",
            metadata={"why": "expiry"},
        )
        kept, truth = counted(db)
        assert kept == truth
        stats = await mesh.stats()
        assert stats.total == sum(truth.values()) >= 18 and stats.pinned == 1
        assert stats.by_category.get("decision", 0) >= 1


async def test_stats_leave_out_memories_expired_since(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    async with AsyncMemoryMesh(db, global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("The deploy freeze holds this week", scope="project")
        soon = await mesh.remember("The office wifi password rotates daily", scope="project")
        with sqlite3.connect(db) as conn:  # expired an hour ago: no API sets a past expiry
            past = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
            conn.execute("UPDATE memories SET expires_at = ? WHERE id = ?", [past, soon.id])
        conn.close()
        stats = await mesh.stats()
        assert stats.total == 1 and stats.expired == 1
        assert time.time() > past
