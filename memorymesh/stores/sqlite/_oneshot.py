"""A read-only, synchronous view of one store file, for commands that read once and exit.

``memorymesh list`` and ``stats`` open a store, run one or two statements and exit: through
:class:`~memorymesh.stores.sqlite._store.SQLiteStore` that means importing asyncio, anyio,
aiosqlite and pydantic first, several times the cost of the reading itself. This reader runs
the same statements (:mod:`._sql`) with the standard library's ``sqlite3`` and returns plain
records, and it only takes a file the store would open without changing anything: a current
MemoryMesh store (every migration applied, none newer), already in WAL mode, unencrypted,
that passes the same ``quick_check`` the store runs on small files. Anything else (a missing,
new, older, foreign, damaged, encrypted or read-only file; one whose recorded embedder the
caller would have to load) gets ``None`` from :meth:`OneShotReader.open`, and the caller
opens it the ordinary way, which migrates, creates or refuses it with the usual errors.

Standard library only (and the standard-library parts of MemoryMesh): importing it loads
neither aiosqlite, anyio nor pydantic.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._paths import check_database_file
from ..._vocab import Category, ListOrder, Scope
from ..base import StoreCounts
from ._schema import ENCRYPTION_META_KEY, MIGRATIONS
from ._sql import (
    COUNT_EXPIRED_GROUPS,
    COUNT_GROUPS,
    COUNT_OTHERS,
    QUICK_CHECK_MAX_BYTES,
    memory_fields,
    select_sql,
    tally_counts,
    where,
)

if TYPE_CHECKING:
    from ..base import Filters

__all__ = ["MemoryRecord", "OneShotReader"]

#: The store's default busy timeout (``AsyncMemoryMesh(busy_timeout=5.0)``).
_BUSY_TIMEOUT_MS = 5000
_CURRENT = frozenset(m.name for m in MIGRATIONS)


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One memory as a plain record: the fields of :class:`~memorymesh.Memory`, unvalidated
    (they come from the store's own CHECK-constrained table)."""

    id: str
    text: str
    category: Category
    importance: float
    scope: Scope
    pinned: bool
    metadata: dict[str, Any]
    session_id: str | None
    created_at: datetime
    updated_at: datetime
    event_time: datetime | None
    expires_at: datetime | None
    access_count: int
    last_accessed_at: datetime | None
    superseded_by: str | None
    superseded_at: datetime | None
    source: str
    agent: str | None
    redactions: tuple[str, ...]
    conflicts: tuple[Any, ...]

    def fields(self) -> dict[str, Any]:
        """The fields, as ``trusted_memory`` takes them."""
        return {name: getattr(self, name) for name in self.__slots__}


class OneShotReader:
    """Read-only, synchronous access to one current store file; see the module docstring."""

    def __init__(self, conn: sqlite3.Connection, label: str) -> None:
        self._conn = conn
        self.label = label

    @classmethod
    def open(cls, path: Path, *, recorded_embedder_ok: bool) -> OneShotReader | None:
        """A reader on ``path``, or None when the ordinary store must open it instead.

        Args:
            path: The store file.
            recorded_embedder_ok: False when a store that recorded an embedder must be
                opened the ordinary way (the caller would load that embedder first).
        """
        try:
            if not path.is_file():
                return None  # the store creates it
            check_database_file(path)  # as the store checks it: not a database, read-only
        except OSError:
            return None
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return None
        try:
            if cls._usable(conn, path, recorded_embedder_ok=recorded_embedder_ok):
                return cls(conn, str(path))
        except sqlite3.Error:
            pass
        conn.close()
        return None

    @staticmethod
    def _usable(conn: sqlite3.Connection, path: Path, *, recorded_embedder_ok: bool) -> bool:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = ON")  # this connection never writes
        tables = {
            str(row[0])
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not {"schema_migrations", "memories", "memory_counts", "store_meta"} <= tables:
            return False  # new, foreign, 4.x or older: the store decides
        # The check the store runs before opening a small file (see _maintenance.preflight).
        small = path.stat().st_size <= QUICK_CHECK_MAX_BYTES
        if small and [str(row[0]) for row in conn.execute("PRAGMA quick_check")] != ["ok"]:
            return False
        applied = {str(row[0]) for row in conn.execute("SELECT name FROM schema_migrations")}
        if applied != _CURRENT:
            return False  # migrations to apply, or a newer MemoryMesh's file
        mode = conn.execute("PRAGMA journal_mode").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            return False  # the store switches it first
        keys = {
            str(row[0])
            for row in conn.execute(
                "SELECT key FROM store_meta WHERE key IN (?, ?)", [ENCRYPTION_META_KEY, "embedder"]
            )
        }
        if ENCRYPTION_META_KEY in keys:
            return False  # encrypted: the store opens (or refuses) it with the key
        return recorded_embedder_ok or "embedder" not in keys

    def close(self) -> None:
        self._conn.close()

    def select(
        self, filters: Filters, *, order: ListOrder, limit: int, offset: int, now: float
    ) -> list[MemoryRecord]:
        """One page, as ``SQLiteStore.select`` reads it."""
        clause, params = where(filters, now)
        rows = self._conn.execute(select_sql(clause, order), [*params, limit, offset])
        return [MemoryRecord(**memory_fields(row)) for row in rows]

    def counts(self, *, now: float) -> StoreCounts:
        """The store's counts, as ``SQLiteStore.counts`` reads them."""
        groups = self._conn.execute(COUNT_GROUPS).fetchall()
        expired_groups = self._conn.execute(COUNT_EXPIRED_GROUPS, [now]).fetchall()
        others = self._conn.execute(COUNT_OTHERS, [now]).fetchone()
        return StoreCounts(*tally_counts(groups, expired_groups, others))
