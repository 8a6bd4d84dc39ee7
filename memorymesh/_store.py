"""The SQLite store: the only module that writes SQL.

One :class:`SQLiteStore` owns one aiosqlite connection to one database file. Every statement
goes through :meth:`SQLiteStore._run` or a :class:`WriteTransaction`, where ``sqlite3`` errors
are translated into :mod:`memorymesh._errors` types in one place. Every value is a bound
parameter; the only identifiers spliced into SQL come from the allowlists in this module.
"""

from __future__ import annotations

import json
import sqlite3
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import anyio

from ._errors import (
    ClosedError,
    CorruptDatabaseError,
    DatabaseLockedError,
    SchemaVersionError,
    StoreError,
)
from ._filters import Filters, MetadataCondition
from ._models import Category, ListOrder, Memory, Scope
from ._paths import IN_MEMORY, prepare_database_file
from ._schema import INDEXED_METADATA_KEYS, MIGRATIONS, Migration

__all__ = [
    "EXPORT_COLUMNS",
    "ImportCounts",
    "LogEntry",
    "MemoryRow",
    "SQLiteStore",
    "StoreCounts",
    "WriteTransaction",
    "memory_from_row",
]

T = TypeVar("T")
#: ``(action, memory_id, source, detail)`` as the write log records it.
LogEntry = tuple[str, str | None, str | None, dict[str, Any]]

_COLUMNS = (
    "id, text, category, importance, scope, pinned, metadata, session_id, source, agent, "
    "redactions, created_at, updated_at, event_time, expires_at, access_count, "
    "last_accessed_at, superseded_by"
)
_M_COLUMNS = ", ".join("m." + c.strip() for c in _COLUMNS.split(","))

_ORDERS: dict[str, str] = {
    "newest": "m.created_at DESC, m.seq DESC",
    "oldest": "m.created_at ASC, m.seq ASC",
    "importance": "m.importance DESC, m.created_at DESC, m.seq DESC",
    "updated": "m.updated_at DESC, m.seq DESC",
    "accessed": "m.access_count DESC, m.last_accessed_at DESC, m.seq DESC",
}

#: Columns ``update`` may set, mapped to themselves: the allowlist for dynamic SET clauses.
_UPDATABLE: frozenset[str] = frozenset(
    {
        "text",
        "content_hash",
        "category",
        "importance",
        "pinned",
        "metadata",
        "session_id",
        "event_time",
        "expires_at",
        "updated_at",
        "superseded_by",
        "superseded_at",
        "redactions",
        "embedding",
        "embedding_model",
    }
)

_SQL_OPERATORS: dict[str, str] = {"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

# SQLite's default limit on bound parameters is 32766 since 3.32; stay far below it.
_CHUNK = 500
_LOCK_RETRIES = 4


@dataclass(frozen=True, slots=True)
class MemoryRow:
    """Everything ``insert_many`` writes for one memory."""

    id: str
    text: str
    content_hash: str
    category: str
    importance: float
    scope: str
    pinned: bool
    metadata: str
    session_id: str | None
    source: str
    agent: str | None
    redactions: str
    created_at: float
    updated_at: float
    event_time: float | None
    expires_at: float | None
    embedding: bytes | None = None
    embedding_model: str | None = None


#: Every column an export carries, in order (the schema's columns less the internal ones).
EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "text", "category", "importance", "scope", "pinned", "metadata", "session_id",
    "source", "agent", "redactions", "created_at", "updated_at", "event_time", "expires_at",
    "access_count", "last_accessed_at", "superseded_by", "superseded_at", "embedding",
    "embedding_model",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImportCounts:
    imported: int
    replaced: int
    skipped: int


@dataclass(frozen=True, slots=True)
class StoreCounts:
    by_scope: dict[str, int]
    by_category: dict[str, int]
    pinned: int
    superseded: int
    expired: int


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def _ts_required(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _memory(row: Sequence[Any]) -> Memory:
    # Rows come from our own CHECK-constrained table, so skip re-validation on this hot path.
    return Memory.model_construct(
        id=row[0],
        text=row[1],
        category=Category(row[2]),
        importance=row[3],
        scope=Scope(row[4]),
        pinned=bool(row[5]),
        metadata=json.loads(row[6]),
        session_id=row[7],
        source=row[8],
        agent=row[9],
        redactions=tuple(json.loads(row[10])),
        created_at=_ts_required(row[11]),
        updated_at=_ts_required(row[12]),
        event_time=_ts(row[13]),
        expires_at=_ts(row[14]),
        access_count=row[15],
        last_accessed_at=_ts(row[16]),
        superseded_by=row[17],
    )


def memory_from_row(row: MemoryRow, *, access_count: int = 0) -> Memory:
    """The :class:`Memory` a just-inserted row reads back as, without a round trip."""
    return _memory(
        (
            row.id,
            row.text,
            row.category,
            row.importance,
            row.scope,
            row.pinned,
            row.metadata,
            row.session_id,
            row.source,
            row.agent,
            row.redactions,
            row.created_at,
            row.updated_at,
            row.event_time,
            row.expires_at,
            access_count,
            None,
            None,
        )
    )


def _translate(exc: sqlite3.Error, path: str) -> StoreError:
    message = str(exc)
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered:
        return DatabaseLockedError(
            f"{path} stayed locked by another process past the busy timeout: {message}"
        )
    if (
        "not a database" in lowered
        or "malformed" in lowered
        or "corrupt" in lowered
        or "disk image" in lowered
    ):
        return CorruptDatabaseError(
            f"{path} is damaged or not a MemoryMesh database ({message}); "
            "run `memorymesh doctor` to check it"
        )
    return StoreError(f"SQLite error on {path}: {message}")


@contextmanager
def _translated(path: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise _translate(exc, path) from exc


def _where(filters: Filters, now: float, *, use_index: bool = True) -> tuple[str, list[Any]]:
    """Compile ``filters`` into a WHERE clause over alias ``m`` and its bound parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    # "Current" is judged at `as_of` when given ("what was true then"), else now.
    moment = now if filters.as_of is None else filters.as_of.timestamp()
    if filters.as_of is not None:
        clauses.append("m.created_at <= ?")
        params.append(moment)
    if not filters.include_superseded:
        if filters.as_of is None:
            clauses.append("m.superseded_by IS NULL")
        else:
            clauses.append(
                "(m.superseded_by IS NULL OR coalesce(m.superseded_at, m.updated_at) > ?)"
            )
            params.append(moment)
    if not filters.include_expired:
        clauses.append("(m.expires_at IS NULL OR m.expires_at > ? OR m.pinned = 1)")
        params.append(moment)
    if filters.categories:
        clauses.append(f"m.category IN ({', '.join('?' * len(filters.categories))})")
        params.extend(str(c) for c in filters.categories)
    if filters.scope is not None:
        clauses.append("m.scope = ?")
        params.append(str(filters.scope))
    if filters.min_importance is not None:
        clauses.append("m.importance >= ?")
        params.append(filters.min_importance)
    when = (
        "coalesce(m.event_time, m.created_at)"
        if filters.time_field == "event"
        else ("m.created_at")
    )
    if filters.since is not None:
        clauses.append(f"{when} >= ?")
        params.append(filters.since.timestamp())
    if filters.until is not None:
        clauses.append(f"{when} < ?")
        params.append(filters.until.timestamp())
    if filters.session_id is not None:
        clauses.append("m.session_id = ?")
        params.append(filters.session_id)
    if filters.pinned is not None:
        clauses.append("m.pinned = ?")
        params.append(int(filters.pinned))
    if filters.ids is not None:
        clauses.append(f"m.id IN ({', '.join('?' * len(filters.ids))})" if filters.ids else "0")
        params.extend(filters.ids)
    for condition in filters.metadata:
        clause, values = _metadata_clause(condition, use_index=use_index)
        clauses.append(clause)
        params.extend(values)
    return (" AND ".join(clauses) or "1"), params


def _metadata_clause(
    condition: MetadataCondition, *, use_index: bool = True
) -> tuple[str, list[Any]]:
    # The JSON path is itself a bound parameter; the key was checked against METADATA_KEY too.
    path = "$." + condition.key
    extract = "json_extract(m.metadata, ?)"
    ref: list[Any] = [path]
    # -- 0004_indexed_metadata (polish): an allowlisted key's path is inlined as a constant,
    # spelled exactly as in the expression index, so SQLite can use it. Identifier from the
    # allowlist only; values stay bound.
    if use_index and condition.key in INDEXED_METADATA_KEYS:
        extract, ref = f"json_extract(m.metadata, '{path}')", []
    value = condition.value
    if condition.op == "$exists":
        sql = f"json_type(m.metadata, ?) IS {'NOT ' if value else ''}NULL"
        return sql, [path]
    if condition.op in ("$in", "$nin"):
        assert isinstance(value, tuple)
        present = [v for v in value if v is not None]
        marks = ", ".join("?" * len(present))
        parts: list[str] = []
        params: list[Any] = []
        if condition.op == "$in":
            if present:
                parts.append(f"{extract} IN ({marks})")
                params += [*ref, *present]
            if None in value:
                parts.append(f"{extract} IS NULL")
                params.extend(ref)
            return "(" + " OR ".join(parts) + ")", params
        # NULL IN (...) is NULL, so a missing key counts as "not in" unless null is listed.
        if present:
            parts.append(f"coalesce({extract} IN ({marks}), 0) = 0")
            params += [*ref, *present]
        if None in value:
            parts.append(f"{extract} IS NOT NULL")
            params.extend(ref)
        return "(" + " AND ".join(parts) + ")", params
    if value is None:
        return f"{extract} IS {'NOT ' if condition.op == '$ne' else ''}NULL", ref
    bound = int(value) if isinstance(value, bool) else value
    if condition.op == "$ne":
        return f"({extract} IS NULL OR {extract} != ?)", [*ref, *ref, bound]
    return f"{extract} {_SQL_OPERATORS[condition.op]} ?", [*ref, bound]


class WriteTransaction:
    """An open ``BEGIN IMMEDIATE`` transaction on one store; see :meth:`SQLiteStore.write`."""

    def __init__(self, store: SQLiteStore, conn: aiosqlite.Connection) -> None:
        self._store = store
        self._conn = conn
        self.now = time.time()

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with _translated(self._store.label):
            cursor = await self._conn.execute(sql, params)
            return cursor.rowcount

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with _translated(self._store.label):
            return list(await self._conn.execute_fetchall(sql, params))

    async def insert_many(self, rows: Sequence[MemoryRow]) -> None:
        if not rows:
            return
        sql = (
            "INSERT INTO memories (id, text, content_hash, category, importance, scope, pinned, "
            "metadata, session_id, source, agent, redactions, created_at, updated_at, "
            "event_time, expires_at, embedding, embedding_model) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        params = [
            (
                r.id,
                r.text,
                r.content_hash,
                r.category,
                r.importance,
                r.scope,
                int(r.pinned),
                r.metadata,
                r.session_id,
                r.source,
                r.agent,
                r.redactions,
                r.created_at,
                r.updated_at,
                r.event_time,
                r.expires_at,
                r.embedding,
                r.embedding_model,
            )
            for r in rows
        ]
        with _translated(self._store.label):
            await self._conn.executemany(sql, params)

    async def update(self, memory_id: str, fields: dict[str, Any]) -> bool:
        """Set ``fields`` (names from the updatable allowlist) on one memory."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if not fields:
            return True
        assignments = ", ".join(f"{name} = ?" for name in fields)
        changed = await self._execute(
            f"UPDATE memories SET {assignments} WHERE id = ?", [*fields.values(), memory_id]
        )
        return changed > 0

    async def delete_many(self, ids: Sequence[str]) -> list[str]:
        """Delete the memories with these ids; return the ids that existed."""
        deleted: list[str] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = await self._fetch(
                f"DELETE FROM memories WHERE id IN ({marks}) RETURNING id", chunk
            )
            deleted.extend(row[0] for row in rows)
        return deleted

    async def add_accesses(self, counts: dict[str, tuple[int, float]]) -> None:
        if not counts:
            return
        with _translated(self._store.label):
            await self._conn.executemany(
                "UPDATE memories SET access_count = access_count + ?, "
                "last_accessed_at = max(coalesce(last_accessed_at, 0), ?) WHERE id = ?",
                [(n, at, memory_id) for memory_id, (n, at) in counts.items()],
            )

    async def log(self, entries: Iterable[LogEntry]) -> None:
        """Append ``(action, memory_id, source, detail)`` entries to the write log."""
        params = [
            (self.now, action, memory_id, source, json.dumps(detail, default=str))
            for action, memory_id, source, detail in entries
        ]
        if params:
            with _translated(self._store.label):
                await self._conn.executemany(
                    "INSERT INTO write_log (at, action, memory_id, source, detail) "
                    "VALUES (?, ?, ?, ?, ?)",
                    params,
                )

    async def set_meta(self, key: str, value: str) -> None:
        await self._execute(
            "INSERT INTO store_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    async def active_ids_by_hash(self, hashes: Sequence[str]) -> dict[str, str]:
        """Map each content hash to the id of a current memory that has it."""
        return await self._store._active_ids_by_hash(self._conn, hashes)

    async def get_many(self, ids: Sequence[str]) -> list[Memory]:
        return await self._store._get_many(self._conn, ids)

    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = await self._fetch(f"SELECT id FROM memories WHERE id IN ({marks})", chunk)
            found.update(row[0] for row in rows)
        return found

    async def import_rows(self, rows: Sequence[dict[str, Any]], on_clash: str) -> ImportCounts:
        """Insert exported rows with every field kept (ids, times, counts, history links).

        ``on_clash`` decides what an id already in the store does: ``skip`` keeps the stored
        memory, ``replace`` takes the imported one, ``newer`` keeps whichever was updated last.
        History links may point forward in the batch, so foreign keys are checked at commit.
        """
        if on_clash not in ("skip", "replace", "newer"):
            raise ValueError(f"unknown on_clash {on_clash!r}")
        if not rows:
            return ImportCounts(0, 0, 0)
        columns = [*EXPORT_COLUMNS, "content_hash"]
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO memories ({names}) VALUES ({marks}) ON CONFLICT (id) DO "
        if on_clash == "skip":
            sql += "NOTHING"
        else:
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
            sql += f"UPDATE SET {updates}"
            if on_clash == "newer":
                sql += " WHERE excluded.updated_at > memories.updated_at"
        before = await self.existing_ids([r["id"] for r in rows])
        await self._execute("PRAGMA defer_foreign_keys = ON")
        with _translated(self._store.label):
            cursor = await self._conn.executemany(sql, [[r[c] for c in columns] for r in rows])
        changed = max(0, cursor.rowcount)
        fresh = sum(1 for r in rows if r["id"] not in before)
        replaced = changed - fresh
        return ImportCounts(imported=fresh, replaced=replaced, skipped=len(rows) - fresh - replaced)


class SQLiteStore:
    """One MemoryMesh database file (or ``":memory:"``) and its single connection."""

    def __init__(self, path: Path | str, *, scope: Scope, busy_timeout_ms: int = 5000) -> None:
        self.path: Path | None = None if str(path) == IN_MEMORY else Path(path)
        self.scope = scope
        self.label = IN_MEMORY if self.path is None else str(self.path)
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        self._closed = False
        self._lock = anyio.Lock()
        # Accesses recorded by recall but not yet written: applied by the next write
        # transaction (or flush_access), and overlaid on every read under the same lock, so a
        # reader sees each access exactly once whether or not it has reached the file yet.
        self._pending: dict[str, tuple[int, float]] = {}

    # -- lifetime -----------------------------------------------------------------------------

    async def open(self, *, _migrate_upto: int | None = None) -> None:
        """Connect, configure WAL and the busy timeout, and apply pending migrations.

        ``_migrate_upto`` stops after that many migrations: only for migration tests.
        """
        if self._closed:
            raise ClosedError(f"store {self.label} is closed")
        if self._conn is not None:
            return
        if self.path is not None:
            try:
                prepare_database_file(self.path)
            except OSError as exc:
                raise StoreError(f"cannot create the database at {self.path}: {exc}") from exc
        with _translated(self.label):
            conn = await aiosqlite.connect(self.label, isolation_level=None)
        try:
            await self._configure(conn)
            await self._migrate(conn, _migrate_upto)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await conn.close()
            raise
        self._conn = conn
        if self.path is not None:
            prepare_database_file(self.path)  # the -wal/-shm files exist now: keep them 0600

    async def _configure(self, conn: aiosqlite.Connection) -> None:
        with _translated(self.label):
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await conn.execute("PRAGMA foreign_keys = ON")
            if self.path is not None:
                rows = await conn.execute_fetchall("PRAGMA journal_mode = WAL")
                mode = next(iter(rows))[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"{self.label}: could not switch to WAL mode (got {mode})")
                await conn.execute("PRAGMA synchronous = NORMAL")

    async def _migrate(self, conn: aiosqlite.Connection, upto: int | None = None) -> None:
        with _translated(self.label):
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            applied = {
                row[0] for row in await conn.execute_fetchall("SELECT name FROM schema_migrations")
            }
        known = {m.name for m in MIGRATIONS}
        newer = sorted(applied - known)
        if newer:
            raise SchemaVersionError(
                f"{self.label} was written by a newer MemoryMesh (it has migrations "
                f"{', '.join(newer)}); upgrade with `pip install -U memorymesh`"
            )
        for migration in MIGRATIONS[:upto]:
            if migration.name not in applied:
                await self._apply(conn, migration)

    async def _apply(self, conn: aiosqlite.Connection, migration: Migration) -> None:
        async with self._begin(conn):
            # Another process may have applied it while we waited for the write lock.
            with _translated(self.label):
                done = await conn.execute_fetchall(
                    "SELECT 1 FROM schema_migrations WHERE name = ?", [migration.name]
                )
                if list(done):
                    return
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    [migration.name, time.time()],
                )

    async def close(self) -> None:
        """Close the connection. Safe to call more than once."""
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            with anyio.CancelScope(shield=True), _translated(self.label):
                await conn.close()

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if getattr(self, "_conn", None) is not None:
            _warn(f"MemoryMesh store {self.label} was not closed", ResourceWarning, stacklevel=1)

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise ClosedError(f"store {self.label} is {'closed' if self._closed else 'not open'}")
        return self._conn

    # -- transactions -------------------------------------------------------------------------

    @asynccontextmanager
    async def _begin(self, conn: aiosqlite.Connection) -> AsyncIterator[None]:
        # BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails halfway
        # on lock upgrade. busy_timeout waits inside SQLite; we retry a few times on top so a
        # burst of writers from other processes never surfaces "database is locked".
        for attempt in range(_LOCK_RETRIES):
            try:
                await conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or attempt == _LOCK_RETRIES - 1:
                    raise _translate(exc, self.label) from exc
                await anyio.sleep(0.05 * (attempt + 1))
        try:
            yield
        except BaseException:
            with anyio.CancelScope(shield=True):
                # SQLite may already have rolled back by itself (e.g. after SQLITE_FULL).
                with suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
            raise
        with anyio.CancelScope(shield=True), _translated(self.label):
            await conn.execute("COMMIT")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteTransaction]:
        """Hold this store's lock and one ``BEGIN IMMEDIATE`` transaction for the block.

        Everything written inside commits together or not at all.
        """
        async with self._lock:
            conn = self._connection()
            pending, self._pending = self._pending, {}
            try:
                async with self._begin(conn):
                    tx = WriteTransaction(self, conn)
                    yield tx
                    await tx.add_accesses(pending)
            except BaseException:
                for memory_id, (n, at) in pending.items():
                    old_n, old_at = self._pending.get(memory_id, (0, 0.0))
                    self._pending[memory_id] = (old_n + n, max(old_at, at))
                raise

    # -- access statistics --------------------------------------------------------------------

    def record_access(self, memory_id: str, at: float) -> None:
        """Count one recall of ``memory_id``; written with the next transaction."""
        count = self._pending.get(memory_id, (0, 0.0))[0]
        self._pending[memory_id] = (count + 1, at)

    @property
    def has_pending_access(self) -> bool:
        return bool(self._pending)

    async def flush_access(self) -> None:
        """Write the recorded accesses now (an empty transaction applies them)."""
        if self._pending and self._conn is not None:
            async with self.write():
                pass

    def _overlay(self, memory: Memory) -> Memory:
        pending = self._pending.get(memory.id)
        if pending is None:
            return memory
        return memory.model_copy(
            update={
                "access_count": memory.access_count + pending[0],
                "last_accessed_at": datetime.fromtimestamp(pending[1], tz=UTC),
            }
        )

    async def _run(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run a read under the store's lock, so it never sees another task's open write."""
        async with self._lock:
            conn = self._connection()
            with _translated(self.label):
                return await fn(conn)

    # -- reads --------------------------------------------------------------------------------

    async def _get_many(self, conn: aiosqlite.Connection, ids: Sequence[str]) -> list[Memory]:
        found: list[Memory] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = await conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks})", chunk
            )
            found.extend(self._overlay(_memory(row)) for row in rows)
        return found

    async def _active_ids_by_hash(
        self, conn: aiosqlite.Connection, hashes: Sequence[str]
    ) -> dict[str, str]:
        result: dict[str, str] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            with _translated(self.label):
                rows = await conn.execute_fetchall(
                    f"SELECT content_hash, id FROM memories WHERE content_hash IN ({marks}) "
                    "AND superseded_by IS NULL ORDER BY seq",
                    chunk,
                )
            for content_hash, memory_id in rows:
                result.setdefault(content_hash, memory_id)
        return result

    async def get_many(self, ids: Sequence[str]) -> list[Memory]:
        """The memories with these ids, current or not, in no particular order."""
        return await self._run(lambda conn: self._get_many(conn, ids))

    async def search_text(
        self, match: str, filters: Filters, *, limit: int, now: float
    ) -> list[tuple[Memory, float]]:
        """Full-text matches for an FTS5 ``match`` expression, best first, with their BM25
        relevance (higher is better). The filters narrow the matches inside the same query."""
        where, params = _where(filters, now)
        sql = (
            f"SELECT {_M_COLUMNS}, -bm25(memories_fts) AS relevance "
            "FROM memories_fts JOIN memories AS m ON m.seq = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where} "
            "ORDER BY bm25(memories_fts) LIMIT ?"
        )

        async def query(conn: aiosqlite.Connection) -> list[tuple[Memory, float]]:
            rows = await conn.execute_fetchall(sql, [match, *params, limit])
            return [(self._overlay(_memory(row)), float(row[18])) for row in rows]

        return await self._run(query)

    async def count_text(self, match: str, filters: Filters, *, now: float) -> int:
        """How many memories match the FTS5 expression under ``filters`` (for explanations)."""
        where, params = _where(filters, now)
        sql = (
            "SELECT COUNT(*) FROM memories_fts JOIN memories AS m ON m.seq = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where}"
        )

        async def query(conn: aiosqlite.Connection) -> int:
            rows = await conn.execute_fetchall(sql, [match, *params])
            return int(next(iter(rows))[0])

        return await self._run(query)

    async def select(
        self, filters: Filters, *, order: ListOrder, limit: int, offset: int, now: float
    ) -> list[Memory]:
        where, params = _where(filters, now)
        sql = (
            f"SELECT {_M_COLUMNS} FROM memories AS m WHERE {where} "
            f"ORDER BY {_ORDERS[order]} LIMIT ? OFFSET ?"
        )

        async def query(conn: aiosqlite.Connection) -> list[Memory]:
            rows = await conn.execute_fetchall(sql, [*params, limit, offset])
            return [self._overlay(_memory(row)) for row in rows]

        return await self._run(query)

    async def count(self, filters: Filters, *, now: float) -> int:
        where, params = _where(filters, now)

        async def query(conn: aiosqlite.Connection) -> int:
            rows = await conn.execute_fetchall(
                f"SELECT COUNT(*) FROM memories AS m WHERE {where}", params
            )
            return int(next(iter(rows))[0])

        return await self._run(query)

    async def counts(self, *, now: float) -> StoreCounts:
        async def query(conn: aiosqlite.Connection) -> StoreCounts:
            current = (
                "superseded_by IS NULL AND (expires_at IS NULL OR expires_at > ? OR pinned = 1)"
            )
            by_scope: dict[str, int] = {}
            by_category: dict[str, int] = {}
            pinned = 0
            rows = await conn.execute_fetchall(
                f"SELECT scope, category, pinned, COUNT(*) FROM memories WHERE {current} "
                "GROUP BY scope, category, pinned",
                [now],
            )
            for scope, category, is_pinned, n in rows:
                by_scope[scope] = by_scope.get(scope, 0) + n
                by_category[category] = by_category.get(category, 0) + n
                pinned += n if is_pinned else 0
            rows = await conn.execute_fetchall(
                "SELECT "
                "  (SELECT COUNT(*) FROM memories WHERE superseded_by IS NOT NULL), "
                "  (SELECT COUNT(*) FROM memories WHERE superseded_by IS NULL AND pinned = 0 "
                "     AND expires_at IS NOT NULL AND expires_at <= ?)",
                [now],
            )
            superseded, expired = next(iter(rows))
            return StoreCounts(by_scope, by_category, pinned, int(superseded), int(expired))

        return await self._run(query)

    # -- distinct metadata values (issue #5: LangGraph namespaces) ---------------------------

    async def metadata_values(self, key: str, filters: Filters, *, now: float) -> list[Any]:
        """The distinct string and number values of metadata ``key`` among matching memories.

        ``key`` must already have been checked against ``METADATA_KEY``; the JSON path is bound.
        """
        # A scan beats the metadata index here: a namespace prefix usually covers most rows,
        # and each index hit costs a row lookup (measured in bench_langgraph_store.py).
        where, params = _where(filters, now, use_index=False)
        path = "$." + key
        sql = (
            "SELECT DISTINCT json_extract(m.metadata, ?) AS v FROM memories AS m "
            f"WHERE {where} AND json_type(m.metadata, ?) IN ('text', 'integer', 'real') "
            "ORDER BY v"
        )

        async def query(conn: aiosqlite.Connection) -> list[Any]:
            rows = await conn.execute_fetchall(sql, [path, *params, path])
            return [row[0] for row in rows]

        return await self._run(query)

    async def resolve_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        """Ids that start with ``prefix`` (for humans typing short ids at the CLI)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

        async def query(conn: aiosqlite.Connection) -> list[str]:
            rows = await conn.execute_fetchall(
                "SELECT id FROM memories WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
                [escaped + "%", limit],
            )
            return [row[0] for row in rows]

        return await self._run(query)

    async def dump_page(
        self, *, after_seq: int, limit: int, include_embeddings: bool
    ) -> list[tuple[int, dict[str, Any]]]:
        """Every memory with every exported column, in insertion order, a page at a time."""
        columns = [c for c in EXPORT_COLUMNS if include_embeddings or not c.startswith("embed")]
        sql = f"SELECT seq, {', '.join(columns)} FROM memories WHERE seq > ? ORDER BY seq LIMIT ?"

        async def query(conn: aiosqlite.Connection) -> list[tuple[int, dict[str, Any]]]:
            rows = await conn.execute_fetchall(sql, [after_seq, limit])
            return [(row[0], dict(zip(columns, row[1:], strict=True))) for row in rows]

        return await self._run(query)

    async def get_meta(self, key: str) -> str | None:
        async def query(conn: aiosqlite.Connection) -> str | None:
            rows = list(
                await conn.execute_fetchall("SELECT value FROM store_meta WHERE key = ?", [key])
            )
            return str(rows[0][0]) if rows else None

        return await self._run(query)

    async def recent_log(
        self, limit: int, *, memory_id: str | None = None
    ) -> list[tuple[float, LogEntry]]:
        """The newest ``limit`` write-log entries with their times, newest first."""
        where = "WHERE memory_id = ? " if memory_id is not None else ""
        params: list[Any] = [memory_id] if memory_id is not None else []

        async def query(conn: aiosqlite.Connection) -> list[tuple[float, LogEntry]]:
            rows = await conn.execute_fetchall(
                "SELECT at, action, memory_id, source, detail FROM write_log "
                f"{where}ORDER BY seq DESC LIMIT ?",
                [*params, limit],
            )
            return [(r[0], (r[1], r[2], r[3], json.loads(r[4]))) for r in rows]

        return await self._run(query)

    async def schema(self) -> list[tuple[str, str, str]]:
        """``(type, name, sql)`` of every schema object, for migration checks and ``doctor``."""

        async def query(conn: aiosqlite.Connection) -> list[tuple[str, str, str]]:
            rows = await conn.execute_fetchall(
                "SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name"
            )
            return [(r[0], r[1], r[2]) for r in rows]

        return await self._run(query)

    async def health(self) -> list[str]:
        """SQLite's ``quick_check``: ``["ok"]`` for a healthy file, else what is wrong."""

        async def query(conn: aiosqlite.Connection) -> list[str]:
            rows = await conn.execute_fetchall("PRAGMA quick_check")
            return [str(r[0]) for r in rows]

        return await self._run(query)

    async def migrations(self) -> list[str]:
        async def query(conn: aiosqlite.Connection) -> list[str]:
            rows = await conn.execute_fetchall("SELECT name FROM schema_migrations ORDER BY name")
            return [r[0] for r in rows]

        return await self._run(query)
