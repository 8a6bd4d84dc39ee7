"""Many erasing writes on one SQLite file keep its keyword index readable, and
``memorymesh doctor --repair`` mends a file an older MemoryMesh let break.

Before SQLite 3.44 (no FTS5 ``secure-delete``) every write that deletes or replaces text ends
with an FTS5 'optimize', so the forgotten words leave the index. SQLite 3.40's 'optimize' adds
a level to the index's structure record each time; at 2000 levels the table can no longer be
opened and every later read or write fails with "database disk image is malformed". That took
about a thousand updates or forgets (LangGraph's ``test_large_batches_async`` hit it).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import anyio
import pytest

from memorymesh import AsyncMemoryMesh, MemoryMesh, MemoryMeshError
from memorymesh.cli import main
from memorymesh.stores.sqlite._maintenance import FTS5_MAX_LEVELS, leading_varint

WRITERS = 4
UPDATES_PER_WRITER = 300  # 1,200 erasing transactions: past the ~1,000 that broke the index
WORDS = ["billing", "search", "payments", "mailer", "gateway"]


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


def _break_keyword_index(db: Path) -> int:
    """Break a store's keyword index the way SQLite < 3.44 did, with plain sqlite3: add a
    memory (a copy of the first one's fields under a new id and text, so FTS5 adds a segment)
    and 'optimize', over and over, each in its own transaction, until FTS5 refuses the
    table; return the structure's level count then."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")  # only the loop's speed; the file stays sound
        if sqlite3.sqlite_version_info < (3, 44, 0):
            kept = [
                str(row[1])
                for row in conn.execute("PRAGMA table_info(memories)")
                if row[1] not in ("seq", "id", "text", "content_hash")
            ]
            add = (
                f"INSERT INTO memories (id, text, content_hash, {', '.join(kept)}) "
                f"SELECT ?, ?, ?, {', '.join(kept)} FROM memories "
                "WHERE seq = (SELECT min(seq) FROM memories)"
            )
            for n in range(5000):
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(add, [uuid.uuid4().hex, f"filler note {n}", uuid.uuid4().hex])
                    conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")
                    conn.execute("COMMIT")
                except sqlite3.DatabaseError:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    break
        else:
            # A fixed FTS5 no longer adds the levels: write what the loop leaves behind, a
            # structure record of 2,001 empty levels (cookie; levels, segments and writes as
            # varints; then each level's merge and segment counts).
            (block,) = conn.execute("SELECT block FROM memories_fts_data WHERE id = 10").fetchone()
            levels = bytes(block[:4]) + bytes([0x8F, 0x51, 0, 0]) + b"\x00\x00" * 2001
            conn.execute("UPDATE memories_fts_data SET block = ? WHERE id = 10", [levels])
        (block,) = conn.execute("SELECT block FROM memories_fts_data WHERE id = 10").fetchone()
        return leading_varint(bytes(block)[4:]) or 0
    finally:
        conn.close()


def _ids(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {str(row[0]) for row in conn.execute("SELECT id FROM memories")}
    finally:
        conn.close()


def _checks(db: Path) -> tuple[list[tuple[str]], str]:
    """``PRAGMA integrity_check`` and FTS5's own check of the keyword index."""
    conn = sqlite3.connect(db)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchall()
        try:
            conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
            fts = "ok"
        except sqlite3.DatabaseError as exc:
            fts = str(exc)
        conn.rollback()
        return integrity, fts
    finally:
        conn.close()


def test_doctor_repair_mends_a_file_the_level_bug_broke_losing_no_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    texts = [f"note {n} about the {word} service" for n, word in enumerate(WORDS)]
    with MemoryMesh(db, global_path=global_db, embedding=None) as mesh:
        mesh.remember_many([{"text": t, "scope": "project"} for t in texts])
    assert _break_keyword_index(db) > FTS5_MAX_LEVELS
    ids = _ids(db)
    integrity, fts = _checks(db)
    # Sound pages, an unreadable index: "vtable constructor failed" on a fresh connection.
    assert integrity == [("ok",)] and fts != "ok"
    with pytest.raises(MemoryMeshError), MemoryMesh(db, global_path=global_db) as mesh:
        mesh.recall(WORDS[0])

    # Plain doctor finds it, even beside another problem (loose file permissions).
    db.chmod(0o644)
    assert main(["--db", str(db), "--global-db", str(global_db), "doctor", "--json"]) == 1
    found = json.loads(capsys.readouterr().out)["stores"]["project"]
    assert found["integrity"] == ["ok"] and found["keyword_index"] == fts
    assert len(found["problems"]) == 2
    db.chmod(0o600)

    code = main(["--db", str(db), "--global-db", str(global_db), "doctor", "--repair", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["healthy"] is True and out["not_repaired"] == {}
    repair = out["repairs"]["project"]
    assert repair["levels_before"] > FTS5_MAX_LEVELS
    assert (repair["memories_before"], repair["memories_after"]) == (len(ids), len(ids))
    assert (repair["integrity"], repair["keyword_index"], repair["healthy"]) == (["ok"], "ok", True)
    assert _checks(db) == ([("ok",)], "ok")
    # The copy made first is the file as it was: still broken, for whoever needs it.
    backup = Path(repair["backup"])
    assert backup.parent == db.parent and _checks(backup)[1] == fts

    assert _ids(db) == ids
    with MemoryMesh(db, global_path=global_db) as mesh:
        assert mesh.count() == len(ids)
        for word, text in zip(WORDS, texts, strict=True):
            assert [hit.memory.text for hit in mesh.recall(word, k=3)] == [text]
        assert [hit.memory.text for hit in mesh.recall("filler note 7", k=1)] == ["filler note 7"]
        mesh.update(next(iter(ids)), text="a new text the repaired index takes")
    assert main(["--db", str(db), "--global-db", str(global_db), "doctor", "--repair"]) == 0
    assert "healthy, nothing to repair" in capsys.readouterr().out


def test_doctor_repair_leaves_damaged_pages_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --repair mends only the keyword index of a sound file: damaged pages are reported, and
    # the file is not written to.
    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    with MemoryMesh(db, global_path=global_db, embedding=None) as mesh:
        mesh.remember_many([f"filler memory number {n} " * 20 for n in range(200)])
    data = bytearray(db.read_bytes())
    page = 4096
    data[page * 3 : page * 3 + 200] = b"\xff" * 200  # overwrite part of a page
    db.write_bytes(bytes(data))
    code = main(["--db", str(db), "--global-db", str(global_db), "doctor", "--repair"])
    out = capsys.readouterr().out
    assert code == 1 and "UNHEALTHY, not repaired" in out
    assert db.read_bytes() == bytes(data)
    assert not list(tmp_path.glob("project-*"))
