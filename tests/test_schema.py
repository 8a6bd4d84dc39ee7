"""Migrations: named, recorded, and the same schema however a database got there."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh
from memorymesh._models import Scope
from memorymesh.stores.sqlite._schema import MIGRATIONS
from memorymesh.stores.sqlite._store import MemoryRow, SQLiteStore

pytestmark = pytest.mark.anyio


async def test_fresh_and_migrated_from_first_schema_are_identical(tmp_path: Path) -> None:
    fresh = SQLiteStore(tmp_path / "fresh.db", scope=Scope.PROJECT)
    await fresh.open()
    fresh_schema = await fresh.schema()
    await fresh.close()

    old_path = tmp_path / "old.db"
    old = SQLiteStore(old_path, scope=Scope.PROJECT)
    await old.open(_migrate_upto=1)
    assert await old.migrations() == [MIGRATIONS[0].name]
    async with old.write() as tx:
        await tx.insert_many(
            [
                MemoryRow(
                    id="m1",
                    text="written by the first schema",
                    content_hash="h",
                    category="context",
                    importance=0.5,
                    scope="project",
                    pinned=False,
                    metadata="{}",
                    session_id=None,
                    source="api",
                    agent=None,
                    redactions="[]",
                    created_at=1.0,
                    updated_at=1.0,
                    event_time=None,
                    expires_at=None,
                )
            ]
        )
    await old.close()

    async with AsyncMemoryMesh(old_path, global_path=":memory:") as mesh:
        hits = await mesh.recall("first schema")
        assert [h.memory.id for h in hits] == ["m1"]
    migrated = SQLiteStore(old_path, scope=Scope.PROJECT)
    await migrated.open()
    try:
        assert await migrated.schema() == fresh_schema
        assert await migrated.migrations() == sorted(m.name for m in MIGRATIONS)
    finally:
        await migrated.close()


async def test_migration_names_are_unique_and_ordered() -> None:
    names = [m.name for m in MIGRATIONS]
    assert names == sorted(set(names))


async def test_files_are_private(mesh: AsyncMemoryMesh, project_db: Path, global_db: Path) -> None:
    await mesh.remember("secret-ish project fact", scope="project")
    await mesh.remember("secret-ish global fact", scope="global")
    for db in (project_db, global_db):
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        for suffix in ("", "-wal", "-shm"):
            sidecar = db.with_name(db.name + suffix)
            assert sidecar.exists(), sidecar
            assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, sidecar


async def test_store_uses_wal(mesh: AsyncMemoryMesh, project_db: Path) -> None:
    import sqlite3

    await mesh.remember("x", scope="project")
    conn = sqlite3.connect(project_db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
