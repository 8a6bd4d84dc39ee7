"""The SQLite store: the only module that writes SQL.

One :class:`SQLiteStore` owns one aiosqlite connection to one database file. Every statement
goes through :meth:`SQLiteStore._run` or a :class:`WriteTransaction`, where ``sqlite3`` errors
are translated into :mod:`memorymesh._errors` types in one place. Every value is a bound
parameter; the only identifiers spliced into SQL come from the allowlists in this module.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import time
import warnings
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import anyio

from ..._errors import (
    ClosedError,
    CorruptDatabaseError,
    DatabaseLockedError,
    EncryptionError,
    InvalidFilterError,
    InvalidInputError,
    KeyConflictError,
    SchemaVersionError,
    StoreError,
)
from ..._models import ListOrder, Memory, Scope, SessionRecord, trusted_memory
from ..._paths import IN_MEMORY
from ..._text import query_terms
from ..._version import install_command
from .._columns import timestamp
from .._recalled import Recalled, as_memory
from ..base import (
    CHANGES_KEPT,
    EXPORT_COLUMNS,
    UNIQUE_METADATA_KEYS,
    ChangedMemory,
    Changes,
    CompactionRow,
    Filters,
    ImportCounts,
    LogEntry,
    MemoryRow,
    PairRow,
    StoreCounts,
    VectorRow,
)
from ._crypto import EncryptionKey, RowCodec
from ._empty import EmptyProbe
from ._file import prepare_store_file
from ._maintenance import leading_varint as _leading_varint
from ._maintenance import preflight
from ._rows import StoredRow
from ._schema import MIGRATIONS, UNIQUE_ITEM_INDEX, Migration
from ._sql import COLUMNS as _COLUMNS
from ._sql import (
    COUNT_EXPIRED_GROUPS,
    COUNT_GROUPS,
    COUNT_OTHERS,
    ORDERS,
    memory_fields,
    select_sql,
    tally_counts,
)
from ._sql import M_COLUMNS as _M_COLUMNS
from ._sql import where as _where
from ._tokens import SQLiteTokenPostings

logger = logging.getLogger("memorymesh")
__all__ = ["SQLiteStore", "WriteTransaction", "fts_match"]

T = TypeVar("T")

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
        "superseded_across",
        "redactions",
        "embedding",
        "embedding_model",
    }
)

# SQLite's default limit on bound parameters is 32766 since 3.32; stay far below it.
_CHUNK = 500
# FTS5's `secure-delete` option (SQLite 3.44): deleted words leave the index at once.
_FTS5_SECURE_DELETE = sqlite3.sqlite_version_info >= (3, 44, 0)
# Older FTS5 (3.40 among them) adds a level to the index's structure record on every
# 'optimize' that merges segments of different levels and never drops the empty ones; at
# 2000 levels the table can no longer be opened ("database disk image is malformed"). Well
# before that, :meth:`WriteTransaction.erase` rebuilds the index, which starts it afresh.
_FTS5_LEVEL_LIMIT = 500
_LOCK_RETRIES = 4


async def _change_mark(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("SELECT coalesce(max(seq), 0) FROM memory_changes")
    return int(next(iter(rows))[0])


async def _changes_since(conn: aiosqlite.Connection, mark: int) -> Changes:
    rows = await conn.execute_fetchall(
        # Two subqueries: SQLite answers a lone min() or max() from the key, but not both.
        "SELECT coalesce((SELECT min(seq) FROM memory_changes), 0), "
        "coalesce((SELECT max(seq) FROM memory_changes), 0)"
    )
    first, last = (int(v) for v in next(iter(rows)))
    if last <= mark:
        return Changes(last, [], everything=False)
    if first > mark + 1:  # pruned past the mark: what changed is no longer known, so all has
        ids = await conn.execute_fetchall("SELECT id FROM memories")
        return Changes(last, [str(r[0]) for r in ids], everything=True)
    ids = await conn.execute_fetchall(
        "SELECT DISTINCT memory_id FROM memory_changes WHERE seq > ? AND seq <= ?", [mark, last]
    )
    return Changes(last, [str(r[0]) for r in ids], everything=False)


async def _changed_memories(
    store: SQLiteStore, conn: aiosqlite.Connection, ids: Sequence[str]
) -> list[ChangedMemory]:
    found: list[ChangedMemory] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        rows = await conn.execute_fetchall(
            "SELECT id, text, metadata, category, importance, pinned, created_at, expires_at, "
            "session_id, superseded_by IS NOT NULL, status = 'active', embedding, "
            f"embedding_model FROM memories WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        found.extend(
            ChangedMemory(
                id=str(r[0]),
                text=store._plain_text(r[0], r[1], r[2]),
                category=str(r[3]),
                importance=float(r[4]),
                pinned=bool(r[5]),
                created_at=float(r[6]),
                expires_at=None if r[7] is None else float(r[7]),
                session_id=r[8],
                superseded=bool(r[9]),
                active=bool(r[10]),
                embedding=r[11],
                embedding_model=r[12],
            )
            for r in rows
        )
    return found


def fts_match(query: str) -> str | None:
    """The FTS5 MATCH expression that ORs the query's terms, or None if it has no words.

    Each term is a quoted string, so FTS5 syntax in the user's text (``"``, ``*``, ``NEAR``,
    ``AND``, ``col:``) is matched as plain words, never interpreted.
    """
    terms = query_terms(query)
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms)


def _memory(row: Sequence[Any]) -> Memory:
    return trusted_memory(memory_fields(row))


def _refuse_sealed(metadata: Mapping[str, Any], label: str) -> None:
    """Refuse a row encrypted by another process after this one opened the store without a
    key: never hand out the keyed tokens as if they were the text."""
    sealed = metadata.get("sealed") if len(metadata) == 1 else None
    if isinstance(sealed, str) and sealed.startswith("mm1:"):
        raise EncryptionError(f"{label} is encrypted: reopen it with encryption_key=")


def _pair_values(p: PairRow, *, sealed: bool) -> tuple[Any, ...]:
    reason = "" if sealed else p.reason
    return (p.new_id, p.old_id, p.kind, p.similarity, p.policy, reason, p.created_at)


def _translate(exc: sqlite3.Error, path: str) -> StoreError:
    message = str(exc)
    lowered = message.lower()
    if isinstance(exc, sqlite3.IntegrityError) and UNIQUE_ITEM_INDEX in message:
        return KeyConflictError(f"{path}: another current memory already holds that item")
    if "locked" in lowered or "busy" in lowered:
        return DatabaseLockedError(
            f"{path} stayed locked by another process past the busy timeout: {message}"
        )
    if "is full" in lowered:  # SQLITE_FULL: "database or disk is full"
        return StoreError(
            f"{path}: the disk is full (or the database reached its size limit); nothing was "
            f"written. Free some space and try again ({message})"
        )
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return StoreError(
            f"cannot open {path} for writing: the file or its folder is read-only or not "
            f"accessible ({message})"
        )
    if (
        "not a database" in lowered
        or "malformed" in lowered
        or "corrupt" in lowered
        or "disk image" in lowered
        or "vtable constructor failed" in lowered  # the keyword index's tables are damaged
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
    except UnicodeEncodeError as exc:
        # A lone surrogate ("\ud800") in a bound value: Python strings may hold one, UTF-8
        # (and so SQLite) cannot. Raised while binding, before anything is written.
        raise InvalidInputError(
            f"text must be valid Unicode: {exc.object[exc.start : exc.end]!a} at position "
            f"{exc.start} is a lone surrogate"
        ) from None


def _search_sql(filters: Filters, now: float) -> tuple[str, list[Any]]:
    """Bound as ``[match, *params, limit]``."""
    where, params = _where(filters, now)
    sql = (
        f"SELECT {_M_COLUMNS}, -bm25(memories_fts) AS relevance "
        "FROM memories_fts JOIN memories AS m ON m.seq = memories_fts.rowid "
        f"WHERE memories_fts MATCH ? AND {where} "
        "ORDER BY bm25(memories_fts) LIMIT ?"
    )
    return sql, params


def _search_best_first_sql(filters: Filters, now: float) -> tuple[str, list[Any]]:
    """The best ``prefetch`` matches, best first, each with whether ``filters`` allow it:
    bound as ``[match, prefetch, *params]``.

    Only those rows are joined to ``memories`` (at 100k memories a common word matches
    thousands). Exact when fewer than ``prefetch`` rows come back (that was every match) or
    when ``limit`` of them are allowed (every match outside ranks below them); otherwise the
    caller runs :func:`_search_sql`.
    """
    where, params = _where(filters, now)
    # CROSS JOIN keeps ``best`` the outer loop, so its rows come out in its own order, best
    # first, ties in FTS5's rowid order, as the ``ORDER BY best.score`` this replaces gave
    # them: the best rows become a co-routine read once, instead of a table materialised and
    # then sorted a second time with every column (~0.1 ms of a 1.6 ms query at 100k).
    sql = (
        "WITH best AS (SELECT rowid AS seq, bm25(memories_fts) AS score FROM memories_fts "
        "WHERE memories_fts MATCH ? ORDER BY score LIMIT ?) "
        f"SELECT {_M_COLUMNS}, -best.score AS relevance, CASE WHEN {where} THEN 1 ELSE 0 END "
        "FROM best CROSS JOIN memories AS m ON m.seq = best.seq"
    )
    return sql, params


class WriteTransaction:
    """An open ``BEGIN IMMEDIATE`` transaction on one store; see :meth:`SQLiteStore.write`."""

    def __init__(self, store: SQLiteStore, conn: aiosqlite.Connection) -> None:
        self._store = store
        self._conn = conn
        self.now = time.time()
        #: Something was deleted or a text replaced: see :meth:`_erasing` and :meth:`erase`.
        self.erased = False

    async def _erasing(self) -> None:
        """Before a delete or a text change: make what goes leave the file, not only the view.

        ``secure_delete`` zeroes the freed parts of pages. The keyword index still keeps a
        deleted memory's words in its older segments until they are merged: SQLite 3.44+
        can remove them on the spot (FTS5 ``secure-delete``); older versions get the index
        merged into one segment at the end of the transaction (:meth:`erase`).
        """
        if self.erased:
            return
        self.erased = True
        await self._execute("PRAGMA secure_delete = ON")
        if _FTS5_SECURE_DELETE:
            await self._execute(
                "INSERT INTO memories_fts (memories_fts, rank) VALUES ('secure-delete', 1)"
            )

    async def erase(self) -> None:
        """At the end of a transaction that deleted or replaced text (see :meth:`_erasing`)."""
        if self.erased and not _FTS5_SECURE_DELETE:
            # Both merge the index into one segment, so the deleted words leave it.
            command = "rebuild" if await self._fts_levels() > _FTS5_LEVEL_LIMIT else "optimize"
            await self._execute("INSERT INTO memories_fts (memories_fts) VALUES (?)", [command])

    async def _fts_levels(self) -> int:
        """How many levels the keyword index's structure record holds (see _FTS5_LEVEL_LIMIT).

        The record (FTS5's row 10) is a 4-byte cookie followed by the level count as a varint.
        """
        rows = await self._fetch("SELECT block FROM memories_fts_data WHERE id = 10")
        block = rows[0][0] if rows else None
        levels = _leading_varint(bytes(block)[4:]) if isinstance(block, bytes) else None
        return levels or 0

    def conflict_tokens(self) -> SQLiteTokenPostings | None:
        """The store's conflict tokens, read and written in this transaction (None when
        encrypted: its words must not be stored in the clear)."""
        if self._store._codec is not None:
            return None

        async def run(fn: Callable[[aiosqlite.Connection], Awaitable[Any]]) -> Any:
            with _translated(self._store.label):
                return await fn(self._conn)

        return SQLiteTokenPostings(run)

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
        codec = self._store._codec
        if codec is not None:  # encryption at rest: see _crypto.py
            rows = [self._store._seal_row(codec, r) for r in rows]
        columns = (
            "id, text, content_hash, category, importance, scope, pinned, metadata, session_id, "
            "source, agent, redactions, created_at, updated_at, event_time, expires_at, "
            "embedding, embedding_model"
        )
        params: list[tuple[Any, ...]] = [
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
        # `status` (migration 0003) is named only when a row is not simply active, so plain
        # writes keep working on a database opened before that migration.
        if any(r.status != "active" for r in rows):
            columns += ", status"
            params = [(*p, r.status) for p, r in zip(params, rows, strict=True)]
        marks = ", ".join("?" * len(params[0]))
        sql = f"INSERT INTO memories ({columns}) VALUES ({marks})"
        with _translated(self._store.label):
            await self._conn.executemany(sql, params)

    async def update(self, memory_id: str, fields: dict[str, Any]) -> bool:
        """Set ``fields`` (names from the updatable allowlist) on one memory."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if not fields:
            return True
        if "text" in fields or "metadata" in fields:
            await self._erasing()
        codec = self._store._codec
        if codec is not None and ({"text", "metadata", "content_hash"} & set(fields)):
            fields = await self._seal_update(codec, memory_id, fields)
        assignments = ", ".join(f"{name} = ?" for name in fields)
        changed = await self._execute(
            f"UPDATE memories SET {assignments} WHERE id = ?", [*fields.values(), memory_id]
        )
        return changed > 0

    async def _seal_update(
        self, codec: RowCodec, memory_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        # Text and metadata are sealed together, so changing one re-seals both.
        current = await self.get_many([memory_id])
        if not current:
            return fields
        text = fields.get("text", current[0].text)
        metadata = fields.get("metadata", json.dumps(current[0].metadata, ensure_ascii=False))
        sealed = dict(fields)
        sealed["text"] = codec.tokens(text)
        sealed["metadata"] = codec.seal_memory(memory_id, text, metadata)
        if "content_hash" in fields:
            sealed["content_hash"] = codec.content_hash(fields["content_hash"])
        return sealed

    async def delete_many(self, ids: Sequence[str]) -> list[str]:
        """Delete the memories with these ids; return the ids that existed."""
        deleted: list[str] = []
        if ids:
            await self._erasing()
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = await self._fetch(
                f"DELETE FROM memories WHERE id IN ({marks}) RETURNING id", chunk
            )
            deleted.extend(row[0] for row in rows)
        return deleted

    async def earlier_versions(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The copies ``update`` kept of these memories' earlier texts (see the write log's
        ``earlier_version``): versions of the same memory, so forgetting it forgets them."""
        found: dict[str, list[str]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = await self._fetch(
                f"SELECT memory_id, detail FROM write_log WHERE memory_id IN ({marks}) "
                "AND action = 'updated'",
                chunk,
            )
            for row in rows:
                version = self._store._open_detail(row[1]).get("earlier_version")
                if isinstance(version, str):
                    found.setdefault(str(row[0]), []).append(version)
        return found

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
        await self.import_log([(self.now, entry) for entry in entries])

    async def import_log(self, entries: Sequence[tuple[float, LogEntry]]) -> None:
        """Append write-log entries with their own times (``stores.base.LogImport``)."""
        codec = self._store._codec
        params = [
            (at, action, memory_id, source, self._store._seal_detail(codec, detail))
            for at, (action, memory_id, source, detail) in entries
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

    async def add_session(self, session: SessionRecord) -> None:
        await self._execute(
            "INSERT INTO sessions (id, started_at, client, continues) VALUES (?, ?, ?, ?)",
            [session.id, session.started_at.timestamp(), session.client, session.continues],
        )

    async def add_pairs(self, pairs: Sequence[PairRow]) -> None:
        # The detector's reason quotes words of the texts: an encrypted store keeps none.
        sealed = self._store._codec is not None
        if pairs:
            with _translated(self._store.label):
                await self._conn.executemany(
                    "INSERT INTO conflict_pairs (new_id, old_id, kind, similarity, policy, "
                    "reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (new_id, old_id) DO NOTHING",
                    [_pair_values(p, sealed=sealed) for p in pairs],
                )

    async def resolve_pairs(self, keys: Sequence[tuple[str, str]]) -> int:
        total = 0
        for new_id, old_id in keys:
            total += await self._execute(
                "DELETE FROM conflict_pairs WHERE new_id = ? AND old_id = ?", [new_id, old_id]
            )
        return total

    async def _insert_new(self, sql: str, params: list[tuple[Any, ...]]) -> int:
        """Run an ``INSERT ... ON CONFLICT DO NOTHING`` per row; how many rows it added."""
        if not params:
            return 0
        with _translated(self._store.label):
            cursor = await self._conn.executemany(sql, params)
            return cursor.rowcount

    async def import_pairs(self, pairs: Sequence[PairRow]) -> int:
        """Queue pairs from another store or an export (``stores.base.SideImport``)."""
        sealed = self._store._codec is not None
        return await self._insert_new(
            "INSERT INTO conflict_pairs (new_id, old_id, kind, similarity, policy, reason, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (new_id, old_id) DO NOTHING",
            [_pair_values(p, sealed=sealed) for p in pairs],
        )

    async def import_verdicts(self, items: Sequence[tuple[str, str, float]]) -> int:
        """Cache verdicts with their own times (``stores.base.SideImport``)."""
        return await self._insert_new(
            "INSERT INTO judge_verdicts (key, verdict, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            [(self._store._verdict_key(key), verdict, at) for key, verdict, at in items],
        )

    async def import_sessions(self, sessions: Sequence[SessionRecord]) -> int:
        """Record sessions as they were started (``stores.base.SideImport``)."""
        return await self._insert_new(
            "INSERT INTO sessions (id, started_at, client, continues) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            [(s.id, s.started_at.timestamp(), s.client, s.continues) for s in sessions],
        )

    async def cache_verdicts(self, items: Sequence[tuple[str, str]]) -> None:
        items = [(self._store._verdict_key(key), verdict) for key, verdict in items]
        if items:
            with _translated(self._store.label):
                await self._conn.executemany(
                    "INSERT INTO judge_verdicts (key, verdict, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET verdict = excluded.verdict",
                    [(key, verdict, self.now) for key, verdict in items],
                )

    async def active_ids_by_hash(
        self, hashes: Sequence[str], *, any_status: bool = False
    ) -> dict[str, str]:
        """Map each content hash to the id of a current memory that has it (``any_status``:
        pending, rejected and archived ones count too, so a capture is never queued twice)."""
        return await self._store._active_ids_by_hash(self._conn, hashes, any_status=any_status)

    async def set_status(
        self, ids: Sequence[str], status: str, *, only_from: Sequence[str]
    ) -> list[str]:
        """Move the memories with these ids whose status is in ``only_from`` to ``status``;
        return the ids that moved. Statuses are bound values checked by the table's CHECK."""
        moved: list[str] = []
        froms = list(only_from)
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            rows = await self._fetch(
                f"UPDATE memories SET status = ?, updated_at = ? "
                f"WHERE id IN ({', '.join('?' * len(chunk))}) "
                f"AND status IN ({', '.join('?' * len(froms))}) RETURNING id",
                [status, self.now, *chunk, *froms],
            )
            moved.extend(row[0] for row in rows)
        return moved

    async def supersede(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Mark each ``(old_id, new_id)``: old is kept as history superseded by new."""
        if not pairs:
            return 0
        with _translated(self._store.label):
            await self._conn.executemany(
                "UPDATE memories SET superseded_by = ?, superseded_at = ? "
                "WHERE id = ? AND superseded_by IS NULL",
                [(new, self.now, old) for old, new in pairs],
            )
        return len(pairs)

    async def supersede_across(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Mark each ``(old_id, successor_id)``, the successor in the other scope's store."""
        if not pairs:
            return 0
        with _translated(self._store.label):
            await self._conn.executemany(
                "UPDATE memories SET superseded_by = id, superseded_across = ?, "
                "superseded_at = ? WHERE id = ? AND superseded_by IS NULL",
                [(new, self.now, old) for old, new in pairs],
            )
        return len(pairs)

    async def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        """The life-cycle status of each memory in ``ids`` that exists."""
        found: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            rows = await self._fetch(
                f"SELECT id, status FROM memories WHERE id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update({row[0]: row[1] for row in rows})
        return found

    async def get_many(self, ids: Sequence[str]) -> list[Memory]:
        return await self._store._get_many(self._conn, ids)

    # -- the change feed (see migration 0005): how processes sharing the file stay in step --

    async def change_mark(self) -> int:
        """The newest change recorded, this transaction's own included."""
        with _translated(self._store.label):
            return await _change_mark(self._conn)

    async def changes_since(self, mark: int) -> Changes:
        """The memories changed after ``mark``, by this process or any other."""
        with _translated(self._store.label):
            return await _changes_since(self._conn, mark)

    async def changed_memories(self, ids: Sequence[str]) -> list[ChangedMemory]:
        """The current indexed columns of these memories (deleted ones are absent)."""
        with _translated(self._store.label):
            return await _changed_memories(self._store, self._conn, ids)

    async def prune_changes(self, mark: int) -> None:
        """Forget changes older than the newest :data:`CHANGES_KEPT` before ``mark``."""
        await self._execute("DELETE FROM memory_changes WHERE seq <= ?", [mark - CHANGES_KEPT])

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
        codec = self._store._codec
        if codec is not None:  # encryption at rest: imported rows are sealed like any write
            rows = [
                {
                    **r,
                    "text": codec.tokens(r["text"]),
                    "content_hash": codec.content_hash(r["content_hash"]),
                    "metadata": codec.seal_memory(r["id"], r["text"], r["metadata"]),
                }
                for r in rows
            ]
        before = await self.existing_ids([r["id"] for r in rows])
        await self._execute("PRAGMA defer_foreign_keys = ON")
        with _translated(self._store.label):
            cursor = await self._conn.executemany(sql, [[r[c] for c in columns] for r in rows])
        changed = max(0, cursor.rowcount)
        fresh = sum(1 for r in rows if r["id"] not in before)
        replaced = changed - fresh
        return ImportCounts(imported=fresh, replaced=replaced, skipped=len(rows) - fresh - replaced)

    # -- retrieval engine (issue #3): vectors, conflicts, history --------------------------

    async def set_embeddings(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        """Store ``(memory_id, vector_blob, embedder_name)`` for existing memories."""
        if items:
            with _translated(self._store.label):
                await self._conn.executemany(
                    "UPDATE memories SET embedding = ?, embedding_model = ? WHERE id = ?",
                    [(blob, model, memory_id) for memory_id, blob, model in items],
                )

    async def search_text(
        self, query: str, filters: Filters, *, limit: int, now: float
    ) -> list[tuple[Memory, float]]:
        """:meth:`SQLiteStore.search_text` inside this transaction (it sees its writes)."""
        store = self._store
        store._check_filters(filters)
        match = fts_match(query)
        if match is None:
            return []
        if store._codec is not None:
            match = store._codec.match(match)
        sql, params = _search_sql(filters, now)
        rows = await self._fetch(sql, [match, *params, limit])
        return [
            (memory, float(row[19]))
            for row in rows
            if (memory := store._readable(_memory(row))) is not None
        ]


class SQLiteStore:
    """One MemoryMesh database file (or ``":memory:"``) and its single connection."""

    def __init__(
        self,
        path: Path | str,
        *,
        scope: Scope,
        busy_timeout_ms: int = 5000,
        encryption_key: EncryptionKey | None = None,
    ) -> None:
        self.path: Path | None = None if str(path) == IN_MEMORY else Path(path)
        self.scope = scope
        self.label = IN_MEMORY if self.path is None else str(self.path)
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        self._closed = False
        # A free lock is taken without a trip through the event loop (every read and write
        # awaits the connection's thread while holding it, so no task can hog it).
        self._lock = anyio.Lock(fast_acquire=True)
        # Accesses recorded by recall but not yet written: applied by the next write
        # transaction (or flush_access), and overlaid on every read under the same lock, so a
        # reader sees each access exactly once whether or not it has reached the file yet.
        self._pending: dict[str, tuple[int, float]] = {}
        self._damaged = False  # set when SQLite reports corruption: no more writes
        self._key = encryption_key
        self._codec: RowCodec | None = None  # set on open when the store is encrypted
        #: Ids of rows of an encrypted store that did not open (tampered or planted); skipped.
        self.unreadable: set[str] = set()
        # Whether the file is known to be empty, without a trip to the connection's thread
        # (an empty global store is searched by every recall): file stores only.
        self._empty = None if self.path is None else EmptyProbe(self.path)

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
            prepare_store_file(self.path)
        with _translated(self.label):
            conn = await aiosqlite.connect(self.label, isolation_level=None)
        try:
            await self._configure(conn)
            await self._migrate(conn, _migrate_upto)
            await self._setup_encryption(conn)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await conn.close()
            raise
        self._conn = conn
        if self._empty is not None:
            self._empty.opened()

    async def _configure(self, conn: aiosqlite.Connection) -> None:
        with _translated(self.label):
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            # Before anything below changes the file: refuse a damaged or foreign one.
            await preflight(conn, self.label, self.path, scope=self.scope.value)
            await conn.execute("PRAGMA foreign_keys = ON")
            if self.path is not None:
                mode = await self._switch_to_wal(conn)
                if str(mode).lower() != "wal":
                    raise StoreError(f"{self.label}: could not switch to WAL mode (got {mode})")
                await conn.execute("PRAGMA synchronous = NORMAL")
                # 16 MiB of page cache instead of SQLite's 2 MiB: a batch writer at 100k
                # memories updates random pages of four indexes (ids, hashes, the write
                # log's) and re-read them from the OS each time (~12% of its SQLite CPU).
                # Grown only as pages are read: a one-shot process stays small.
                await conn.execute("PRAGMA cache_size = -16384")

    async def _switch_to_wal(self, conn: aiosqlite.Connection) -> str:
        """``PRAGMA journal_mode = WAL``, waiting out another process that holds the file.

        Switching a new file to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY at
        once, without calling its busy handler, while another connection holds a lock (two
        MCP servers opening a new store together). So wait here, as the busy timeout would.
        """
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        pause = 0.005
        while True:
            try:
                rows = await conn.execute_fetchall("PRAGMA journal_mode = WAL")
                return str(next(iter(rows))[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
            await anyio.sleep(pause)
            pause = min(pause * 2, 0.1)

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
                f"{', '.join(newer)}); upgrade with `{install_command()}`"
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
        if self._empty is not None:
            self._empty.close()
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
            self._refuse_if_damaged()
            pending, self._pending = self._pending, {}
            try:
                async with self._begin(conn):
                    if self._codec is None and self.path is not None:
                        await self._refuse_if_encrypted_since_open(conn)
                    tx = WriteTransaction(self, conn)
                    yield tx
                    await tx.add_accesses(pending)
                    await tx.erase()
            except BaseException as exc:
                if isinstance(exc, CorruptDatabaseError):
                    self._damaged = True
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
        return self._overlaid(memory, self._pending.get(memory.id))

    @staticmethod
    def _overlaid(memory: Memory, pending: tuple[int, float] | None) -> Memory:
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
            try:
                with _translated(self.label):
                    return await fn(conn)
            except CorruptDatabaseError:
                self._damaged = True
                raise

    def _refuse_if_damaged(self) -> None:
        # Once SQLite has reported damage, writing more could spread it (a corrupt free list
        # hands out pages that are still in use): this connection stays read-only.
        if self._damaged:
            raise CorruptDatabaseError(
                f"{self.label} is damaged, so MemoryMesh will not write to it; run "
                "`memorymesh doctor --backup DIR` to save a copy and see what is wrong"
            )

    # -- encryption at rest (see _crypto.py; inactive unless a key was given) ----------------

    @property
    def encrypted(self) -> bool:
        return self._codec is not None

    def conflict_tokens(self) -> SQLiteTokenPostings | None:
        """The store's conflict tokens, for reads (None when encrypted)."""
        return None if self._codec is not None else SQLiteTokenPostings(self._run)

    async def _setup_encryption(self, conn: aiosqlite.Connection) -> None:
        from ._crypto import META_KEY, load_codec, new_codec_record

        with _translated(self.label):
            rows = list(
                await conn.execute_fetchall(
                    "SELECT value FROM store_meta WHERE key = ?", [META_KEY]
                )
            )
        if rows and self._key is None:
            raise EncryptionError(
                f"{self.label} is encrypted: open it with encryption_key= (or "
                "MEMORYMESH_ENCRYPTION_KEY for the CLI)"
            )
        if self._key is None:
            return
        if rows:
            self._codec = load_codec(self._key, str(rows[0][0]))
            return
        async with self._begin(conn):
            with _translated(self.label):
                # Another process may have set it up (and written) while we waited for the lock.
                again = list(
                    await conn.execute_fetchall(
                        "SELECT value FROM store_meta WHERE key = ?", [META_KEY]
                    )
                )
                if again:
                    self._codec = load_codec(self._key, str(again[0][0]))
                    return
                existing = list(await conn.execute_fetchall("SELECT 1 FROM memories LIMIT 1"))
                if existing:
                    raise EncryptionError(
                        f"{self.label} already holds unencrypted memories; encryption applies "
                        "to new stores only (export them and import into a new encrypted store)"
                    )
                codec, record = new_codec_record(self._key)
                await conn.execute(
                    "INSERT INTO store_meta (key, value) VALUES (?, ?)", [META_KEY, record]
                )
        self._codec = codec

    async def _refuse_if_encrypted_since_open(self, conn: aiosqlite.Connection) -> None:
        # Two tools opened a brand-new store at once, only one with the key: the other must not
        # then write plaintext into what has become an encrypted store.
        from ._crypto import META_KEY

        with _translated(self.label):
            rows = list(
                await conn.execute_fetchall("SELECT 1 FROM store_meta WHERE key = ?", [META_KEY])
            )
        if rows:
            raise EncryptionError(
                f"{self.label} was encrypted by another process after this one opened it; "
                "reopen it with encryption_key="
            )

    @staticmethod
    def _seal_row(codec: RowCodec, row: MemoryRow) -> MemoryRow:
        return dataclasses.replace(
            row,
            text=codec.tokens(row.text),
            content_hash=codec.content_hash(row.content_hash),
            metadata=codec.seal_memory(row.id, row.text, row.metadata),
        )

    def _readable(self, memory: Memory) -> Memory | None:
        """``memory`` opened, or None (logged once, counted in ``unreadable``) when one row
        of an encrypted store does not open: a planted or damaged row must not hide every
        other memory from ``list`` and ``session_start``."""
        try:
            return self._open_row(memory)
        except EncryptionError as exc:
            if self._codec is None:
                raise  # the whole store needs a key: not a bad row
            if memory.id not in self.unreadable:
                self.unreadable.add(memory.id)
                logger.warning(
                    "%s: skipping memory %s, it does not open: %s", self.label, memory.id, exc
                )
            return None

    def _recalled(self, row: Sequence[Any]) -> Recalled | None:
        """A row for recall to rank: a :class:`StoredRow` (its :class:`Memory` built only
        if returned), or the opened :class:`Memory` when the row needs opening (encrypted),
        or None for a row that does not open (see :meth:`_readable`)."""
        if self._codec is not None or '"sealed"' in row[6]:
            memory = self._readable(_memory(row))
            return None if memory is None else self._overlay(memory)
        return StoredRow(row, self._pending.get(row[0]), self._plain_fields)

    def _plain_fields(
        self, row: Sequence[Any], pending: tuple[int, float] | None
    ) -> dict[str, Any]:
        """The fields of ``self._overlaid(self._open_row(_memory(row)), pending)`` for a row
        that needs no opening (:meth:`_recalled`), without building the memory twice."""
        fields = memory_fields(row)
        _refuse_sealed(fields["metadata"], self.label)
        if pending is not None:
            fields["access_count"] += pending[0]
            fields["last_accessed_at"] = datetime.fromtimestamp(pending[1], tz=UTC)
        return fields

    def _open_row(self, memory: Memory) -> Memory:
        if self._codec is None:
            _refuse_sealed(memory.metadata, self.label)
            return memory
        sealed = json.dumps(memory.metadata)
        text, metadata = self._codec.open_memory(memory.id, sealed)
        return memory.model_copy(update={"text": text, "metadata": metadata})

    @staticmethod
    def _seal_detail(codec: RowCodec | None, detail: dict[str, Any]) -> str:
        plain = json.dumps(detail, default=str)
        if codec is None:
            return plain
        return json.dumps({"sealed": codec.seal(plain.encode("utf-8"), "write_log")})

    def _open_detail(self, stored: str) -> dict[str, Any]:
        detail: dict[str, Any] = json.loads(stored)
        if self._codec is None or "sealed" not in detail:
            return detail
        opened: dict[str, Any] = json.loads(self._codec.open(detail["sealed"], "write_log"))
        return opened

    def _check_filters(self, filters: Filters) -> None:
        if self._codec is not None and filters.metadata:
            raise InvalidFilterError(
                "metadata filters are not available on an encrypted store (metadata is "
                "sealed); filter by category, scope, importance, session or time instead"
            )

    # -- reads --------------------------------------------------------------------------------

    async def _get_many(self, conn: aiosqlite.Connection, ids: Sequence[str]) -> list[Memory]:
        found: list[Memory] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = await conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks})", chunk
            )
            # Asked for by id: a row that does not open is an error here, not skipped.
            found.extend(self._overlay(self._open_row(_memory(row))) for row in rows)
        return found

    async def _active_ids_by_hash(
        self, conn: aiosqlite.Connection, hashes: Sequence[str], *, any_status: bool = False
    ) -> dict[str, str]:
        result: dict[str, str] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            codec = self._codec
            keyed = chunk if codec is None else [codec.content_hash(h) for h in chunk]
            plain = dict(zip(keyed, chunk, strict=True))
            with _translated(self.label):
                rows = await conn.execute_fetchall(
                    f"SELECT content_hash, id FROM memories WHERE content_hash IN ({marks}) "
                    "AND superseded_by IS NULL "
                    + ("" if any_status else "AND status = 'active' ")
                    + "ORDER BY seq",
                    keyed,
                )
            for content_hash, memory_id in rows:
                result.setdefault(plain.get(content_hash, content_hash), memory_id)
        return result

    async def ids_by_hash(
        self, hashes: Sequence[str], *, any_status: bool = False
    ) -> dict[str, str]:
        """Map each content hash to the id of a current memory with that text, if any."""
        return await self._run(
            lambda conn: self._active_ids_by_hash(conn, hashes, any_status=any_status)
        )

    async def get_many(self, ids: Sequence[str]) -> list[Memory]:
        """The memories with these ids, current or not, in no particular order."""
        return await self._run(lambda conn: self._get_many(conn, ids))

    async def search_text(
        self, query: str, filters: Filters, *, limit: int, now: float
    ) -> list[tuple[Recalled, float]]:
        """Full-text matches for the words of ``query``, best first, with their BM25
        relevance (higher is better). The filters narrow the matches inside the same query.
        Each match is a :class:`Recalled` row: :func:`as_memory` builds its memory."""
        self._check_filters(filters)
        match = fts_match(query)
        if match is None:
            return []
        if self._codec is not None:
            match = self._codec.match(match)

        async def run(conn: aiosqlite.Connection) -> list[tuple[Recalled, float]]:
            rows: list[sqlite3.Row] | None = None
            if not filters.narrows:
                # Most matches are current: rank first, then join and filter only the best.
                sql, params = _search_best_first_sql(filters, now)
                # Room for a few history rows among the best; more take the exact path.
                prefetch = limit + limit // 2
                best = list(await conn.execute_fetchall(sql, [match, prefetch, *params]))
                allowed = [row for row in best if row[20]]
                if len(best) < prefetch or len(allowed) >= limit:
                    rows = allowed[:limit]
            if rows is None:
                sql, params = _search_sql(filters, now)
                rows = list(await conn.execute_fetchall(sql, [match, *params, limit]))
            return [
                (memory, float(row[19]))
                for row in rows
                if (memory := self._recalled(row)) is not None
            ]

        if self._known_empty():
            return []
        found = await self._run(run)
        if not found and self._empty is not None and self._empty.learning:
            await self._learn_if_empty()
        return found

    def _known_empty(self) -> bool:
        """True only when the file holds no memory now, known without a trip to the
        connection's thread (see :class:`EmptyProbe`). Never while another task holds the
        store's lock: a read waits for that task's write, which may add a memory."""
        if self._empty is None or self._lock.locked():
            return False
        self._connection()  # a closed store says so, as a search would
        return self._empty.empty()

    async def _learn_if_empty(self) -> None:
        """After a search that found nothing: whether the store has any memory at all,
        read between two of the probe's versions (:meth:`EmptyProbe.learned`)."""
        assert self._empty is not None
        before = self._empty.version()
        if before is None:
            return

        async def query(conn: aiosqlite.Connection) -> bool:
            rows = await conn.execute_fetchall("SELECT EXISTS (SELECT 1 FROM memories)")
            return bool(next(iter(rows))[0])

        try:
            has_memories = await self._run(query)
        except StoreError:
            # Only a shortcut for later searches: this one has its answer already (a busy
            # or damaged file says so again on the next read, and is still searched).
            return
        self._empty.learned(before, has_memories=has_memories)

    async def term_statistics(
        self, terms: Sequence[str], ids: Sequence[str]
    ) -> tuple[int, dict[str, int], dict[str, dict[str, float]]]:
        """What recall needs to score this store's matches on statistics shared with another
        store: the rows FTS5 counts, each term's document count, and each term's own BM25
        share (higher is better) of the memories ``ids``.

        FTS5 weighs a term by its rarity in *this* file, so a new project's two memories get
        a near-zero weight for every word (see :func:`memorymesh._scoring.shared_bm25`).
        """
        marks = ", ".join("?" * len(ids))
        count_sql = "SELECT COUNT(*) FROM memories_fts WHERE memories_fts MATCH ?"
        share_sql = (
            "SELECT m.id, -bm25(memories_fts) FROM memories_fts "
            "JOIN memories AS m ON m.seq = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND m.id IN ({marks})"
        )

        async def query(
            conn: aiosqlite.Connection,
        ) -> tuple[int, dict[str, int], dict[str, dict[str, float]]]:
            rows = await conn.execute_fetchall(
                "SELECT block FROM memories_fts_data WHERE id = 1"  # FTS5's totals record
            )
            block = next(iter(rows), None)
            total = _leading_varint(bytes(block[0])) if block and block[0] else None
            if total is None:
                counted = await conn.execute_fetchall("SELECT COUNT(*) FROM memories")
                total = int(next(iter(counted))[0])
            counts: dict[str, int] = {}
            shares: dict[str, dict[str, float]] = {}
            for term in terms:
                match = f'"{term}"'
                if self._codec is not None:
                    match = self._codec.match(match)
                found = await conn.execute_fetchall(count_sql, [match])
                counts[term] = int(next(iter(found))[0])
                scored = await conn.execute_fetchall(share_sql, [match, *ids])
                shares[term] = {str(row[0]): float(row[1]) for row in scored}
            return total, counts, shares

        return await self._run(query)

    async def count_text(self, query: str, filters: Filters, *, now: float) -> int:
        """How many memories match the words of ``query`` under ``filters``."""
        match = fts_match(query)
        if match is None:
            return 0
        if self._codec is not None:
            match = self._codec.match(match)
        where, params = _where(filters, now)
        sql = (
            "SELECT COUNT(*) FROM memories_fts JOIN memories AS m ON m.seq = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where}"
        )

        async def run(conn: aiosqlite.Connection) -> int:
            rows = await conn.execute_fetchall(sql, [match, *params])
            return int(next(iter(rows))[0])

        return await self._run(run)

    async def select(
        self, filters: Filters, *, order: ListOrder, limit: int, offset: int, now: float
    ) -> list[Memory]:
        found = await self.select_recalled(
            filters, order=order, limit=limit, offset=offset, now=now
        )
        return [as_memory(row) for row in found]

    async def select_recalled(
        self, filters: Filters, *, order: ListOrder, limit: int, offset: int, now: float
    ) -> list[Recalled]:
        """:meth:`select` as :class:`Recalled` rows (see ``stores/_recalled.py``)."""
        self._check_filters(filters)
        where, params = _where(filters, now)
        sql = select_sql(where, order)

        async def query(conn: aiosqlite.Connection) -> list[Recalled]:
            rows = await conn.execute_fetchall(sql, [*params, limit, offset])
            return [memory for row in rows if (memory := self._recalled(row)) is not None]

        return await self._run(query)

    async def count(self, filters: Filters, *, now: float) -> int:
        self._check_filters(filters)
        where, params = _where(filters, now)

        async def query(conn: aiosqlite.Connection) -> int:
            rows = await conn.execute_fetchall(
                f"SELECT COUNT(*) FROM memories AS m WHERE {where}", params
            )
            return int(next(iter(rows))[0])

        return await self._run(query)

    async def counts(self, *, now: float) -> StoreCounts:
        async def query(conn: aiosqlite.Connection) -> StoreCounts:
            # The same statements and tally as the one-shot reader's (see _sql.py).
            groups = await conn.execute_fetchall(COUNT_GROUPS)
            expired_groups = await conn.execute_fetchall(COUNT_EXPIRED_GROUPS, [now])
            others = next(iter(await conn.execute_fetchall(COUNT_OTHERS, [now])))
            return StoreCounts(*tally_counts(groups, expired_groups, others))

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
            page = [(row[0], dict(zip(columns, row[1:], strict=True))) for row in rows]
            if self._codec is not None:  # encryption at rest: exports carry the plain text
                for _, raw in page:
                    text, metadata = self._codec.open_memory(raw["id"], raw["metadata"])
                    raw["text"] = text
                    raw["metadata"] = json.dumps(metadata, ensure_ascii=False)
            return page

        return await self._run(query)

    async def compaction_rows(self) -> list[CompactionRow]:
        """Every active, current memory with what compaction weighs, and its FTS5 terms.

        The terms come straight from the full-text index (an ``fts5vocab`` view of it), as
        the tokenizer stemmed them, so near-duplicate candidates need no second tokenizer
        and no pass over pairs of memories.
        """

        async def query(conn: aiosqlite.Connection) -> list[CompactionRow]:
            await conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memories_terms "
                "USING fts5vocab(main, 'memories_fts', 'instance')"
            )
            # Two plain scans joined here: SQLite would join the grouped vocab view to
            # memories by rescanning it for every row.
            grouped = await conn.execute_fetchall(
                "SELECT doc, group_concat(term, ' ') FROM temp.memories_terms GROUP BY doc"
            )
            terms: dict[int, str] = {row[0]: row[1] for row in grouped}
            rows = await conn.execute_fetchall(
                "SELECT m.id, m.category, m.pinned, m.importance, m.access_count, "
                "m.updated_at, m.expires_at, m.seq FROM memories AS m "
                "WHERE m.status = 'active' AND m.superseded_by IS NULL "
                # Keyed items (a LangGraph store's) live and expire under their adapter.
                f"AND json_extract(m.metadata, '$.{UNIQUE_METADATA_KEYS[0]}') IS NULL "
                "ORDER BY m.seq"
            )
            return [
                CompactionRow(
                    id=r[0],
                    category=r[1],
                    pinned=bool(r[2]),
                    importance=float(r[3]),
                    access_count=int(r[4]),
                    updated_at=float(r[5]),
                    expires_at=None if r[6] is None else float(r[6]),
                    terms=frozenset((terms.get(r[7]) or "").split()),
                )
                for r in rows
            ]

        return await self._run(query)

    # -- retrieval engine (issue #3): vectors, conflicts, history ------------------------------

    async def embedding_models(self) -> dict[str | None, int]:
        """How many memories carry vectors of each embedder (None: no vector)."""

        async def query(conn: aiosqlite.Connection) -> dict[str | None, int]:
            rows = await conn.execute_fetchall(
                "SELECT embedding_model, COUNT(*) FROM memories GROUP BY embedding_model"
            )
            return {r[0]: int(r[1]) for r in rows}

        return await self._run(query)

    async def vector_rows(
        self, model: str, *, after_seq: int = 0, limit: int = 20_000
    ) -> list[VectorRow]:
        """A page of memories embedded by ``model``, in ``seq`` order, for the vector index:
        ``(seq, id, category, importance, pinned, created_at, expires_at, session_id,
        superseded, embedding)``."""

        async def query(
            conn: aiosqlite.Connection,
        ) -> list[VectorRow]:
            rows = await conn.execute_fetchall(
                "SELECT seq, id, category, importance, pinned, created_at, expires_at, "
                "session_id, superseded_by IS NOT NULL, embedding FROM memories "
                "WHERE embedding_model = ? AND seq > ? ORDER BY seq LIMIT ?",
                [model, after_seq, limit],
            )
            return [tuple(r) for r in rows]

        return await self._run(query)

    async def change_mark(self) -> int:
        """The newest change recorded in the file's change feed."""
        return await self._run(_change_mark)

    async def changes_since(self, mark: int) -> Changes:
        """The memories changed after ``mark``, by this process or any other."""
        return await self._run(lambda conn: _changes_since(conn, mark))

    async def changed_memories(self, ids: Sequence[str]) -> list[ChangedMemory]:
        """The current indexed columns of these memories (deleted ones are absent)."""
        return await self._run(lambda conn: _changed_memories(self, conn, ids))

    def _plain_text(self, memory_id: str, text: str, metadata: str) -> str:
        """A row's text as written: on an encrypted store the column holds keyed tokens."""
        if self._codec is None:
            return str(text)
        return self._codec.open_memory(memory_id, metadata)[0]

    async def current_texts(
        self, *, after_seq: int = 0, limit: int = 20_000
    ) -> list[tuple[int, str, str]]:
        """A page of ``(seq, id, text)`` of the memories not superseded, in ``seq`` order."""

        async def query(conn: aiosqlite.Connection) -> list[tuple[int, str, str]]:
            rows = await conn.execute_fetchall(
                "SELECT seq, id, text, metadata FROM memories WHERE superseded_by IS NULL "
                "AND status = 'active' AND seq > ? ORDER BY seq LIMIT ?",
                [after_seq, limit],
            )
            return [(int(r[0]), str(r[1]), self._plain_text(r[1], r[2], r[3])) for r in rows]

        return await self._run(query)

    async def texts_to_embed(
        self, model: str, *, after_seq: int = 0, limit: int = 256
    ) -> list[tuple[int, str, str]]:
        """A page of ``(seq, id, text)`` of memories without a vector from ``model``."""

        async def query(conn: aiosqlite.Connection) -> list[tuple[int, str, str]]:
            rows = await conn.execute_fetchall(
                "SELECT seq, id, text, metadata FROM memories "
                "WHERE (embedding_model IS NULL OR embedding_model != ?) AND seq > ? "
                "ORDER BY seq LIMIT ?",
                [model, after_seq, limit],
            )
            return [(int(r[0]), str(r[1]), self._plain_text(r[1], r[2], r[3])) for r in rows]

        return await self._run(query)

    async def metadata_of(
        self, key: str, filters: Filters, *, now: float
    ) -> list[tuple[str, str | None, float]] | None:
        """``(id, metadata[key] as JSON text, updated_at)`` of every memory the filters
        allow, most recently updated first (None in the middle where the value is not an
        object or array), or None when the store is encrypted (its metadata is sealed).
        ``key`` must already have been checked against ``METADATA_KEY``; the path is bound."""
        if self._codec is not None:
            return None
        self._check_filters(filters)
        where, params = _where(filters, now)
        # json_extract gives an object or array as its JSON text (left for the caller to
        # parse: it may have parsed the same text before).
        sql = (
            "SELECT m.id, CASE WHEN json_type(m.metadata, ?) IN ('object', 'array') "
            "THEN json_extract(m.metadata, ?) END, m.updated_at "
            f"FROM memories AS m WHERE {where} ORDER BY {ORDERS['updated']}"
        )
        path = "$." + key

        async def query(conn: aiosqlite.Connection) -> list[tuple[str, str | None, float]]:
            rows = await conn.execute_fetchall(sql, [path, path, *params])
            return [(str(r[0]), r[1], float(r[2])) for r in rows]

        return await self._run(query)

    async def ids_matching(self, filters: Filters, *, now: float) -> frozenset[str]:
        """The ids of every memory the filters allow (for filters only SQL can evaluate)."""
        where, params = _where(filters, now)

        async def query(conn: aiosqlite.Connection) -> frozenset[str]:
            rows = await conn.execute_fetchall(
                f"SELECT m.id FROM memories AS m WHERE {where}", params
            )
            return frozenset(r[0] for r in rows)

        return await self._run(query)

    async def session_neighbours(
        self, ids: Sequence[str], filters: Filters, *, now: float
    ) -> list[tuple[str, Recalled]]:
        """For each memory in ``ids`` that has a session, the memories written just before
        and just after it in that session (that the filters allow), as ``(anchor_id, memory)``.
        """
        if not ids:
            return []
        where, params = _where(filters, now)
        marks = ", ".join("?" * len(ids))
        sql = (
            f"SELECT a.id, {_M_COLUMNS} FROM memories AS a JOIN memories AS m "
            "ON m.session_id = a.session_id AND m.seq IN ("
            "  (SELECT max(p.seq) FROM memories AS p "
            "   WHERE p.session_id = a.session_id AND p.seq < a.seq),"
            "  (SELECT min(n.seq) FROM memories AS n "
            "   WHERE n.session_id = a.session_id AND n.seq > a.seq)) "
            f"WHERE a.id IN ({marks}) AND a.session_id IS NOT NULL AND {where}"
        )

        async def query(conn: aiosqlite.Connection) -> list[tuple[str, Recalled]]:
            rows = await conn.execute_fetchall(sql, [*ids, *params])
            return [
                (str(r[0]), memory) for r in rows if (memory := self._recalled(r[1:])) is not None
            ]

        return await self._run(query)

    async def history(self, memory_id: str) -> list[Memory]:
        """Every memory linked to ``memory_id`` by ``superseded_by``, oldest first."""
        sql = (
            "WITH RECURSIVE chain(id) AS ("
            "  SELECT ? UNION"
            "  SELECT m.id FROM memories AS m JOIN chain ON m.superseded_by = chain.id"
            "  UNION"
            "  SELECT m.superseded_by FROM memories AS m JOIN chain ON m.id = chain.id"
            "  WHERE m.superseded_by IS NOT NULL"
            ") "
            f"SELECT {_M_COLUMNS} FROM memories AS m JOIN chain ON m.id = chain.id "
            # Current versions last; history in the order it was superseded.
            "ORDER BY m.superseded_by IS NULL, coalesce(m.superseded_at, m.updated_at), m.seq"
        )

        async def query(conn: aiosqlite.Connection) -> list[Memory]:
            rows = await conn.execute_fetchall(sql, [memory_id])
            return [
                self._overlay(memory)
                for row in rows
                if (memory := self._readable(_memory(row))) is not None
            ]

        return await self._run(query)

    async def predecessors_across(self, ids: Sequence[str]) -> list[Memory]:
        wanted = list(dict.fromkeys(ids))

        async def query(conn: aiosqlite.Connection) -> list[Memory]:
            found: list[Memory] = []
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = await conn.execute_fetchall(
                    f"SELECT {_M_COLUMNS} FROM memories AS m "
                    f"WHERE m.superseded_across IS NOT NULL AND m.superseded_across IN ({marks})",
                    chunk,
                )
                found += [
                    self._overlay(memory)
                    for row in rows
                    if (memory := self._readable(_memory(row))) is not None
                ]
            return found

        return await self._run(query) if wanted else []

    async def pending_pairs(self, *, limit: int) -> list[PairRow]:
        async def query(conn: aiosqlite.Connection) -> list[PairRow]:
            rows = await conn.execute_fetchall(
                "SELECT new_id, old_id, kind, similarity, policy, reason, created_at "
                "FROM conflict_pairs ORDER BY created_at, new_id, old_id LIMIT ?",
                [limit],
            )
            return [PairRow(r[0], r[1], r[2], float(r[3]), r[4], r[5], float(r[6])) for r in rows]

        return await self._run(query)

    def _verdict_key(self, key: str) -> str:
        # A key is a plain hash of the two texts: in an encrypted store it is keyed like the
        # content hash, so the cache cannot confirm a guessed text.
        codec = self._codec
        return key if codec is None else codec.content_hash(key)

    async def cached_verdicts(self, keys: Sequence[str]) -> dict[str, str]:
        by_stored = {self._verdict_key(key): key for key in keys}
        wanted = list(by_stored)

        async def query(conn: aiosqlite.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows = await conn.execute_fetchall(
                    f"SELECT key, verdict FROM judge_verdicts WHERE key IN ({marks})", chunk
                )
                found.update((by_stored[str(r[0])], str(r[1])) for r in rows)
            return found

        return await self._run(query) if wanted else {}

    async def all_verdicts(self) -> list[tuple[str, str, float]]:
        """Every cached verdict (``stores.base.SideRecords``); none in an encrypted file,
        which keeps only keyed hashes of the keys."""
        if self._codec is not None:
            return []

        async def query(conn: aiosqlite.Connection) -> list[tuple[str, str, float]]:
            rows = await conn.execute_fetchall(
                "SELECT key, verdict, created_at FROM judge_verdicts ORDER BY created_at, key"
            )
            return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]

        return await self._run(query)

    async def all_sessions(self) -> list[SessionRecord]:
        """Every recorded session, in the order they started (``stores.base.SideRecords``)."""
        return await self._sessions("ORDER BY started_at, rowid", [])

    async def get_meta(self, key: str) -> str | None:
        async def query(conn: aiosqlite.Connection) -> str | None:
            rows = list(
                await conn.execute_fetchall("SELECT value FROM store_meta WHERE key = ?", [key])
            )
            return str(rows[0][0]) if rows else None

        return await self._run(query)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        """The session recorded as ``session_id``, or None."""
        found = await self._sessions("WHERE id = ?", [session_id])
        return found[0] if found else None

    async def latest_session(self, *, client: str | None = None) -> SessionRecord | None:
        """The session started last (by ``client`` only, when given), or None."""
        where, params = ("WHERE client = ?", [client]) if client is not None else ("", [])
        tail = f"{where} ORDER BY started_at DESC, rowid DESC LIMIT 1"
        found = await self._sessions(tail, params)
        return found[0] if found else None

    async def _sessions(self, tail: str, params: list[Any]) -> list[SessionRecord]:
        sql = f"SELECT id, started_at, client, continues FROM sessions {tail}"

        async def query(conn: aiosqlite.Connection) -> list[SessionRecord]:
            rows = await conn.execute_fetchall(sql, params)
            return [
                SessionRecord(id=r[0], started_at=timestamp(r[1]), client=r[2], continues=r[3])
                for r in rows
            ]

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
            return [(r[0], (r[1], r[2], r[3], self._open_detail(r[4]))) for r in rows]

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
