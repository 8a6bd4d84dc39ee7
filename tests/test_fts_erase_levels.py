"""Many erasing writes on one SQLite file keep its keyword index readable.

Before SQLite 3.44 (no FTS5 ``secure-delete``) every write that deletes or replaces text ends
with an FTS5 'optimize', so the forgotten words leave the index. SQLite 3.40's 'optimize' adds
a level to the index's structure record each time; at 2000 levels the table can no longer be
opened and every later read or write fails with "database disk image is malformed". That took
about a thousand updates or forgets (LangGraph's ``test_large_batches_async`` hit it).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from memorymesh import AsyncMemoryMesh

WRITERS = 4
UPDATES_PER_WRITER = 300  # 1,200 erasing transactions: past the ~1,000 that broke the index


@pytest.mark.anyio
async def test_a_thousand_concurrent_updates_and_forgets_leave_the_file_sound(
    tmp_path: Path,
) -> None:
    db = tmp_path / "p.db"
    async with AsyncMemoryMesh(db, global_path=tmp_path / "g.db", embedding=None) as mesh:
        kept = [(await mesh.remember(f"writer {w} started in room {w}")).id for w in range(WRITERS)]

        async def writer(w: int) -> None:
            for i in range(UPDATES_PER_WRITER):
                await mesh.update(kept[w], text=f"writer {w} moved to room {w}-{i}")
                if i % 10 == 0:  # forgets take the same erasing path as updates
                    gone = await mesh.remember(f"scratch note {w}-{i} about zebras")
                    await mesh.forget(gone.id)

        async with anyio.create_task_group() as tg:
            for w in range(WRITERS):
                tg.start_soon(writer, w)

        last = UPDATES_PER_WRITER - 1
        for w in range(WRITERS):
            hits = await mesh.recall(f"room {w}-{last}", k=5)
            assert kept[w] in [hit.memory.id for hit in hits]
        assert [hit.memory.id for hit in await mesh.recall("zebras", k=5)] == []

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
    finally:
        conn.close()
