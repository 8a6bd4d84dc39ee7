"""Keeping database files healthy: checks before opening, ``doctor`` reports and backups.

Part of the SQLite engine (it writes SQL, like :mod:`memorymesh.stores.sqlite._store`).
Everything here reads the database, except :func:`backup`, which writes only the *new* file.
The checks run before MemoryMesh changes anything in a file (even switching it to WAL), so a
damaged or foreign file is refused without being touched.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
import anyio

from ..._errors import CorruptDatabaseError, StoreError, V4StoreError
from ..._paths import default_global_path, prepare_database_file
from ._sql import QUICK_CHECK_MAX_BYTES

__all__ = [
    "FTS5_MAX_LEVELS",
    "QUICK_CHECK_MAX_BYTES",
    "KeywordIndexRepair",
    "StoreReport",
    "backup",
    "check_file",
    "leading_varint",
    "preflight",
    "repair_keyword_index",
]


#: FTS5 refuses an index whose structure record holds more levels than this
#: (``FTS5_MAX_SEGMENT``): every read or write of the table is "database disk image is
#: malformed" then, though ``PRAGMA integrity_check`` stays ok (see ``SQLiteTransaction.erase``).
FTS5_MAX_LEVELS = 2000

#: The keyword index's structure record: row 10 of ``memories_fts_data`` (FTS5's
#: ``FTS5_STRUCTURE_ROWID``), a 4-byte cookie then the level count as a varint.
_STRUCTURE_ROW = 10

# Tables SQLite itself or a MemoryMesh store may hold; any other table in a file without our
# `schema_migrations` means it belongs to some other program.
_OURS = ("schema_migrations", "sqlite_")


async def _fetch(conn: aiosqlite.Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in await conn.execute_fetchall(sql)]


async def preflight(
    conn: aiosqlite.Connection, label: str, path: Path | None, *, scope: str | None = None
) -> None:
    """Refuse a file that is damaged or is not a MemoryMesh database, without writing to it.

    ``scope`` (``project``/``global``) lets a 4.x store's error name the exact command.

    Raises:
        CorruptDatabaseError: ``quick_check`` found damage.
        StoreError: the file is some other program's SQLite database.
    """
    tables = [
        str(row[0])
        for row in await _fetch(conn, "SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    if tables and "schema_migrations" not in tables:
        foreign = [t for t in tables if not t.startswith(_OURS)]
        if "memories" in foreign and await _is_v4(conn):
            raise V4StoreError(label, command=_import_command(path, scope))
        if foreign:
            raise StoreError(
                f"{label} is a SQLite database but not a MemoryMesh store (it has tables "
                f"{', '.join(sorted(foreign)[:5])}); MemoryMesh left it untouched. "
                "Point path=/--db at a MemoryMesh store or a new file"
            )
    if path is None or not tables:
        return
    try:
        size = (await anyio.Path(path).stat()).st_size
    except OSError:
        return
    if size <= QUICK_CHECK_MAX_BYTES:
        problems = [str(row[0]) for row in await _fetch(conn, "PRAGMA quick_check")]
        if problems != ["ok"]:
            raise CorruptDatabaseError(
                f"{label} is damaged ({'; '.join(problems)[:300]}); MemoryMesh will not write "
                "to it. Run `memorymesh doctor --backup DIR` to save a copy and see what is "
                "wrong"
            )


def _import_command(path: Path | None, scope: str | None) -> str:
    """``memorymesh import-v4``, with ``--db``/``--global-db PATH`` when the 4.x file is not
    where the plain command looks (the default global store, or a project's store)."""
    plain = "memorymesh import-v4"
    if path is None or scope is None:
        return plain
    if scope == "global":
        if path.expanduser().resolve() == default_global_path().expanduser().resolve():
            return plain
        return f"{plain} --global-db {shlex.quote(str(path))}"
    if path.name == "memories.db" and path.parent.name == ".memorymesh":
        return plain
    return f"{plain} --db {shlex.quote(str(path))}"


async def _is_v4(conn: aiosqlite.Connection) -> bool:
    """A 4.x store: one ``memories`` table with 4.x's ``metadata_json`` column (as
    :func:`memorymesh._import_v4.is_v4_database` decides it, on an open connection)."""
    columns = {str(row[1]) for row in await _fetch(conn, "PRAGMA table_info(memories)")}
    return "metadata_json" in columns


@dataclass(slots=True)
class StoreReport:
    """What ``doctor`` found about one database file."""

    path: str
    exists: bool
    size: int = 0
    integrity: list[str] = field(default_factory=list)
    fts: str = "not checked"
    migrations: list[str] = field(default_factory=list)
    journal_mode: str = ""
    permissions: str = ""
    encrypted: bool = False
    problems: list[str] = field(default_factory=list)
    v4: bool = False
    """A MemoryMesh 4.x store: intact, but 5.x uses it only after ``memorymesh import-v4``."""

    @property
    def healthy(self) -> bool:
        return self.exists and not self.problems


async def check_file(path: Path) -> StoreReport:
    """A full, read-only health check of one store file (``PRAGMA integrity_check``, the
    keyword index's own check, migrations, journal mode and file permissions).

    Opens the file read-only (``mode=ro``), so checking can never modify it.
    """
    report = StoreReport(str(path), await anyio.Path(path).exists())
    if not report.exists:
        return report
    stat = await anyio.Path(path).stat()
    report.size = stat.st_size
    report.permissions = oct(stat.st_mode & 0o777)
    if os.name == "posix" and stat.st_mode & 0o077:
        report.problems.append(f"file permissions {report.permissions}: should be 0o600")
    try:
        conn = await aiosqlite.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        report.problems.append(f"cannot open: {exc}")
        return report
    try:
        try:
            report.integrity = [str(r[0]) for r in await _fetch(conn, "PRAGMA integrity_check(20)")]
        except sqlite3.Error as exc:
            report.integrity = [str(exc)]
        if report.integrity != ["ok"]:
            report.problems.append("integrity check failed: " + "; ".join(report.integrity))
        try:
            report.journal_mode = str((await _fetch(conn, "PRAGMA journal_mode"))[0][0])
            if report.integrity == ["ok"] and await _is_v4(conn):
                report.v4 = True
                return report
            report.migrations = [
                str(r[0]) for r in await _fetch(conn, "SELECT name FROM schema_migrations")
            ]
            report.encrypted = bool(
                await _fetch(conn, "SELECT 1 FROM store_meta WHERE key = 'encryption'")
            )
        except sqlite3.Error as exc:
            report.problems.append(f"not a readable MemoryMesh store: {exc}")
            return report
    finally:
        await conn.close()
    # Sound pages (file permissions aside, which are no damage): the index can be checked.
    if report.integrity == ["ok"]:
        report.fts = await _check_fts(path)
        if report.fts != "ok":
            report.problems.append(f"keyword index: {report.fts}")
    return report


async def _check_fts(path: Path) -> str:
    # FTS5's own consistency check is spelled as an INSERT, which a read-only connection
    # refuses; it writes nothing, and the transaction is rolled back anyway. Only run on a
    # file that passed integrity_check, so a damaged file is never opened for writing.
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        await conn.execute("BEGIN")
        try:
            await conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
        finally:
            await conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        await conn.close()
    return "ok"


async def backup(source: Path, target: Path) -> int:
    """Copy a live store to ``target`` with SQLite's online backup API; return its size.

    Safe while other processes read and write the source: the copy is one consistent
    snapshot. The target is created 0600 in a 0700 folder, checked with ``integrity_check``,
    and never overwrites an existing file.

    Raises:
        StoreError: the source cannot be read, the target exists, or the copy is unhealthy.
    """
    if await anyio.Path(target).exists():
        raise StoreError(f"{target} already exists; choose a new backup file")
    if not await anyio.Path(source).exists():
        raise StoreError(f"{source} does not exist")
    try:
        prepare_database_file(target)
        src = await aiosqlite.connect(f"{source.as_uri()}?mode=ro", uri=True)
        try:
            dst = await aiosqlite.connect(str(target))
            try:
                await src.backup(dst)
                result = [str(r[0]) for r in await _fetch(dst, "PRAGMA integrity_check")]
            finally:
                await dst.close()
        finally:
            await src.close()
    except (sqlite3.Error, OSError) as exc:
        await anyio.Path(target).unlink(missing_ok=True)
        raise StoreError(f"backup of {source} to {target} failed: {exc}") from exc
    if result != ["ok"]:
        await anyio.Path(target).unlink(missing_ok=True)
        raise CorruptDatabaseError(
            f"the backup of {source} does not pass integrity_check ({'; '.join(result)}); "
            "the source is damaged: copy the file itself and see `memorymesh doctor`"
        )
    prepare_database_file(target)  # re-assert 0600 now SQLite has written it
    return (await anyio.Path(target).stat()).st_size


def leading_varint(data: bytes) -> int | None:
    """The first SQLite varint of ``data`` (FTS5's totals record starts with its row count,
    its structure record, after a 4-byte cookie, with its level count)."""
    value = 0
    for i, byte in enumerate(data[:9]):
        if i == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value
    return None


async def _memory_count(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("SELECT count(*) FROM memories")
    return int(next(iter(rows))[0])


@dataclass(frozen=True, slots=True)
class KeywordIndexRepair:
    """What :func:`repair_keyword_index` did to one file."""

    levels_before: int | None  # the structure record's level count (None: unreadable)
    memories_before: int
    memories_after: int


async def repair_keyword_index(path: Path) -> KeywordIndexRepair:
    """Rebuild a store file's keyword index from its memories, in one transaction.

    For a file whose pages are sound (``integrity_check`` ok) but whose FTS5 index fails its
    own check, such as one broken by SQLite < 3.44's level bug (past
    :data:`FTS5_MAX_LEVELS`): the structure record is first reset to an empty index, so FTS5
    never reads the broken one, then ``rebuild`` indexes every memory's text again. The index
    is external-content: only the index is written, never a memory (an encrypted file's
    index is of its word hashes, so no key is needed). The caller backs the file up first.

    Raises:
        StoreError: the file could not be repaired (nothing was changed: the transaction is
            rolled back).
    """
    try:
        conn = await aiosqlite.connect(str(path), isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path} to repair it: {exc}") from exc
    try:
        await conn.execute("PRAGMA busy_timeout = 10000")  # wait for a writer to finish
        await conn.execute("BEGIN IMMEDIATE")
        try:
            before = await _memory_count(conn)
            rows = await _fetch(
                conn, f"SELECT block FROM memories_fts_data WHERE id = {_STRUCTURE_ROW}"
            )
            block = rows[0][0] if rows else None
            levels = leading_varint(block[4:]) if isinstance(block, bytes) else None
            # An empty structure: the cookie kept, then no levels, no segments, no writes.
            empty = (block[:4] if isinstance(block, bytes) else b"\0\0\0\0") + b"\0\0\0"
            await conn.execute(
                "INSERT OR REPLACE INTO memories_fts_data (id, block) VALUES (?, ?)",
                [_STRUCTURE_ROW, empty],
            )
            await conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('rebuild')")
            after = await _memory_count(conn)
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise StoreError(f"could not repair the keyword index of {path}: {exc}") from exc
    finally:
        await conn.close()
    return KeywordIndexRepair(levels, before, after)
