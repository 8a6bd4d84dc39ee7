"""Damaged, foreign, read-only, locked and full database files: typed errors, no further harm.

Each test builds the fault for real on a real file (bytes overwritten, file truncated, another
connection holding the lock, SQLite's page limit standing in for a full disk) and checks both
the error and that the file was left exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from memorymesh import (
    AsyncMemoryMesh,
    CorruptDatabaseError,
    DatabaseLockedError,
    MemoryMeshError,
    SchemaVersionError,
    StoreError,
)
from memorymesh.cli import main
from memorymesh.stores.sqlite import _maintenance

pytestmark = pytest.mark.anyio


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _populated(db: Path, n: int = 2000) -> None:
    async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
        await mesh.remember_many(
            [
                {"text": f"memory {i} about the deploy pipeline", "scope": "project"}
                for i in range(n)
            ]
        )
    # Fold the WAL into the main file so the faults below hit the real pages.
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _table_root_page(db: Path, table: str) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()
    finally:
        conn.close()
    return int(page_size), int(root[0])


def _smash_page(db: Path, page: int, page_size: int) -> None:
    data = bytearray(db.read_bytes())
    start = (page - 1) * page_size
    data[start : start + page_size] = bytes([0xA5]) * page_size
    db.write_bytes(bytes(data))


async def _expect(db: Path, error: type[MemoryMeshError]) -> MemoryMeshError:
    """Open ``db`` and try a read and a write; the first failure must be ``error``."""

    async def attempt() -> None:
        async with AsyncMemoryMesh(db, global_path=":memory:", busy_timeout=0.2) as mesh:
            await mesh.list(limit=10_000)
            await mesh.remember("a write that must not land", scope="project")

    with pytest.raises(error) as info:
        await attempt()
    assert isinstance(info.value.__cause__, sqlite3.Error) or info.value.__cause__ is None
    return info.value


async def test_damaged_page_is_refused_before_any_write(tmp_path: Path) -> None:
    db = tmp_path / "damaged.db"
    await _populated(db)
    page_size, root = _table_root_page(db, "memories")
    _smash_page(db, root, page_size)
    before = _digest(db)
    error = await _expect(db, CorruptDatabaseError)
    assert "doctor" in str(error)
    assert _digest(db) == before


async def test_truncated_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "truncated.db"
    await _populated(db)
    with db.open("r+b") as f:
        f.truncate(db.stat().st_size // 2)
    before = _digest(db)
    await _expect(db, CorruptDatabaseError)
    assert _digest(db) == before


async def test_garbage_header_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "header.db"
    await _populated(db, 10)
    data = bytearray(db.read_bytes())
    data[:16] = b"not sqlite here!"
    db.write_bytes(bytes(data))
    before = _digest(db)
    await _expect(db, CorruptDatabaseError)
    assert _digest(db) == before


async def test_damage_found_later_stops_all_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store too big for the open-time check finds damage mid-use: it then stays read-only."""
    db = tmp_path / "big.db"
    await _populated(db)
    page_size, root = _table_root_page(db, "memories")
    _smash_page(db, root, page_size)
    monkeypatch.setattr(_maintenance, "QUICK_CHECK_MAX_BYTES", 0)
    async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
        with pytest.raises(CorruptDatabaseError):
            await mesh.recall("deploy pipeline")
        before = _digest(db)
        # The write may stop at its first read of the file (conflict candidates) or at the
        # damaged-store guard: either way a typed error, and the file is untouched.
        with pytest.raises(CorruptDatabaseError):
            await mesh.remember("this would touch a damaged file", scope="project")
        with pytest.raises(CorruptDatabaseError):
            await mesh.forget_many(["anything"])
    assert _digest(db) == before


async def test_foreign_sqlite_file_is_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "someone-elses.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    conn.commit()
    conn.close()
    before = _digest(db)
    error = await _expect(db, StoreError)
    assert "not a MemoryMesh store" in str(error) and "invoices" in str(error)
    assert _digest(db) == before
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert tables == {"invoices"}  # not even schema_migrations was added


async def test_newer_schema_is_refused_without_writing(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    await _populated(db, 5)
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('0099_future', 0)")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = _digest(db)
    error = await _expect(db, SchemaVersionError)
    assert "upgrade" in str(error)
    assert _digest(db) == before


@contextlib.contextmanager
def _read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders really unwritable: chmod for users, the immutable flag for root
    (whom permission bits do not stop)."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o500 if p.is_dir() else 0o400)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    try:
        subprocess.run(["chattr", "+i", *map(str, paths)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make files read-only as root here: {exc}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True, capture_output=True)


async def test_read_only_store_gives_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "ro" / "memories.db"
    await _populated(db, 20)
    before = _digest(db)
    with _read_only(db, db.parent):
        with pytest.raises(StoreError, match="read-only") as info:
            async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
                await mesh.remember("cannot land", scope="project")
        assert not isinstance(info.value, CorruptDatabaseError)
    assert _digest(db) == before


async def test_a_held_write_lock_gives_database_locked_then_recovers(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    await _populated(db, 5)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process is mid-write and stays there
        async with AsyncMemoryMesh(db, global_path=":memory:", busy_timeout=0.1) as mesh:
            assert await mesh.count() == 5  # WAL: reading goes on while another writes
            with pytest.raises(DatabaseLockedError, match="locked"):
                await mesh.remember("waits for the lock", scope="project")
            assert await mesh.count() == 5
            other.execute("ROLLBACK")
            await mesh.remember("lands once the lock is free", scope="project")
            assert await mesh.count() == 6
    finally:
        other.close()


async def test_an_exclusive_lock_blocks_opening_with_a_typed_error(tmp_path: Path) -> None:
    db = tmp_path / "exclusive.db"
    await _populated(db, 5)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("PRAGMA locking_mode = EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("UPDATE store_meta SET value = value")
        other.execute("COMMIT")  # exclusive locking mode keeps the lock after the commit
        await _expect(db, DatabaseLockedError)
    finally:
        other.close()
    async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
        assert await mesh.count() == 5


async def test_a_full_disk_fails_the_batch_whole_and_writes_resume(tmp_path: Path) -> None:
    db = tmp_path / "full.db"
    async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
        await mesh.remember("before the disk filled up", scope="project")
        # SQLite's page limit behaves exactly like a full disk (SQLITE_FULL) for this
        # connection; a real tiny filesystem needs mount privileges tests do not have.
        conn = mesh.stores[0]._connection()
        pages = (await conn.execute_fetchall("PRAGMA page_count"))[0][0]
        await conn.execute(f"PRAGMA max_page_count = {pages + 4}")
        batch = [{"text": f"filler {i} " * 40, "scope": "project"} for i in range(2000)]
        with pytest.raises(StoreError, match="disk is full") as info:
            await mesh.remember_many(batch)
        assert type(info.value) is StoreError
        assert await mesh.count() == 1  # all or nothing
        assert (await mesh.health())[str(db)] == ["ok"]
        await conn.execute("PRAGMA max_page_count = 1073741823")
        await mesh.remember_many(batch)  # space is back: the same batch lands whole
        assert await mesh.count() == 2001


# -- doctor and backup -----------------------------------------------------------------------


def _doctor(db: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(
        ["doctor", "--db", str(db), "--global-db", str(db.with_name("g.db")), "--json", *extra]
    )
    return code, json.loads(capsys.readouterr().out)


async def test_doctor_reports_a_healthy_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ok" / "memories.db"
    await _populated(db, 50)
    code, report = await anyio.to_thread.run_sync(lambda: _doctor(db, capsys=capsys))
    assert code == 0 and report["healthy"]
    project = report["stores"]["project"]
    assert project["integrity"] == ["ok"] and project["keyword_index"] == "ok"
    assert project["journal_mode"] == "wal" and project["permissions"] == "0o600"
    assert "0001_initial" in project["migrations"]


async def test_doctor_finds_damage_backs_it_up_raw_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bad" / "memories.db"
    await _populated(db)
    page_size, root = _table_root_page(db, "memories")
    _smash_page(db, root, page_size)
    before = _digest(db)
    backups = tmp_path / "saved"
    code, report = await anyio.to_thread.run_sync(
        lambda: _doctor(db, "--backup", str(backups), capsys=capsys)
    )
    assert code == 1 and not report["healthy"]
    assert report["stores"]["project"]["problems"]
    saved = Path(report["backups"]["project"]["path"])
    assert saved.name.endswith("-damaged.db") and _digest(saved) == before
    assert _mode(saved) == 0o600 and _mode(backups) == 0o700
    assert _digest(db) == before


async def test_backup_while_another_mesh_keeps_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "live" / "memories.db"
    global_db = tmp_path / "live" / "global.db"
    folder = tmp_path / "backups"
    async with AsyncMemoryMesh(db, global_path=global_db) as mesh:
        await mesh.remember_many([f"note {i} before the backup" for i in range(300)])

        async def keep_writing() -> None:
            for i in range(200):
                await mesh.remember(f"note {i} during the backup", scope="project")

        async with anyio.create_task_group() as tg:
            tg.start_soon(keep_writing)
            code = await anyio.to_thread.run_sync(
                main,
                ["backup", str(folder), "--db", str(db), "--global-db", str(global_db), "--json"],
            )
        assert code == 0
        total = await mesh.count(scope="project")
    done = json.loads(capsys.readouterr().out)
    copy = Path(done["project"]["path"])
    assert _mode(copy) == 0o600
    async with AsyncMemoryMesh(copy, global_path=":memory:") as restored:
        copied = await restored.count(scope="project")
        assert (await restored.health())[str(copy)] == ["ok"]
    # A consistent snapshot: everything from before, and some prefix of what came during.
    project_before = total - 200
    assert project_before <= copied <= total
    # Never overwrite an existing backup file.
    with pytest.raises(StoreError, match="already exists"):
        await _maintenance.backup(db, copy)


async def test_loosened_permissions_are_left_as_the_owner_set_them(tmp_path: Path) -> None:
    # MemoryMesh never changes an existing file's mode (#17): `memorymesh doctor` reports a
    # store readable by others instead (tests/security/test_store_paths.py).
    db = tmp_path / "perm" / "memories.db"
    await _populated(db, 3)
    for path in (db, db.with_name("memories.db-wal"), db.with_name("memories.db-shm")):
        if path.exists():
            path.chmod(0o644)
    async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
        await mesh.remember("after someone ran chmod", scope="project")
        assert _mode(db) == 0o644
