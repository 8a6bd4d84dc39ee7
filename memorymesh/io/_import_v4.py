"""Importing MemoryMesh 4.x databases, losslessly and idempotently.

A 4.x store is one SQLite file with a single ``memories`` table (``id, text, metadata_json,
embedding_blob, created_at, updated_at, access_count, importance, decay_rate, session_id``);
the category and the pinned flag live inside ``metadata_json``, and whether a memory is
project or global is decided by which file holds it (``<project>/.memorymesh/memories.db`` or
``~/.memorymesh/global.db`` — the very paths 5.x uses, which is why a 4.x file found there is
first moved aside to ``*.v4.db``, never modified).

Every field is kept: the id (so importing twice adds nothing), text, importance, both
timestamps, access count, session, category, pinned, the other metadata keys, and
``decay_rate`` as ``metadata["v4_decay_rate"]``. The 4.x embedding is not carried over: it
came from another model, and text is the source of truth (an embedder re-embeds it).

This module reads the 4.x file with :mod:`sqlite3` in read-only mode; writing goes through
the 5.x store like every other write.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field

from .._errors import InvalidInputError
from .._models import Category, NewMemory, Scope

if TYPE_CHECKING:
    from ..context._ports import MeshServices
    from ..stores.base import MemoryRow

__all__ = ["V4ImportReport", "V4Memory", "import_v4", "is_v4_database", "move_aside", "read_v4"]

SOURCE = "memorymesh-4"


class V4ImportReport(BaseModel):
    """What importing one 4.x database did."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    source: str
    scope: str
    read: int
    imported: int
    already_present: int
    """Memories skipped because their id (an earlier import) or their text is already here."""
    ids: list[str] = Field(default_factory=list)
    """Ids of the memories imported now (the 4.x ids, kept)."""


@dataclass(frozen=True, slots=True)
class V4Memory:
    """One row of a 4.x ``memories`` table, decoded."""

    id: str
    text: str
    metadata: dict[str, Any]
    created_at: float
    updated_at: float
    access_count: int
    importance: float
    decay_rate: float
    session_id: str | None


def _timestamp(value: Any, path: str, memory_id: str) -> float:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInputError(
            f"{path}: memory {memory_id} has a bad timestamp {value!r}"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise InvalidInputError(f"{path} does not exist")
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidInputError(f"cannot open {path}: {exc}") from None


def is_v4_database(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a MemoryMesh 4.x store (and not a 5.x one)."""
    target = Path(path)
    if not target.is_file() or target.stat().st_size == 0:
        return False
    try:
        conn = _connect(target)
    except InvalidInputError:
        return False
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(memories)")}
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return "schema_migrations" not in tables and "metadata_json" in columns


def read_v4(path: str | os.PathLike[str]) -> list[V4Memory]:
    """Every memory of a 4.x database, oldest first.

    Raises:
        InvalidInputError: the file is missing, not a 4.x database, or holds a malformed row.
    """
    target = Path(path)
    label = str(target)
    if not is_v4_database(target):
        raise InvalidInputError(f"{label} is not a MemoryMesh 4.x database")
    conn = _connect(target)
    try:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(memories)")}
        # session_id arrived in 4.x's second schema version; older files lack it.
        session = "session_id" if "session_id" in columns else "NULL"
        rows = conn.execute(
            "SELECT id, text, metadata_json, created_at, updated_at, access_count, importance, "
            f"decay_rate, {session} FROM memories ORDER BY created_at, id"
        ).fetchall()
    except sqlite3.Error as exc:
        raise InvalidInputError(f"cannot read {label}: {exc}") from None
    finally:
        conn.close()
    memories: list[V4Memory] = []
    for row in rows:
        memory_id = str(row[0])
        try:
            metadata = json.loads(row[2] or "{}")
        except ValueError:
            raise InvalidInputError(f"{label}: memory {memory_id} has bad metadata") from None
        if not isinstance(metadata, dict):
            raise InvalidInputError(f"{label}: memory {memory_id} metadata is not an object")
        memories.append(
            V4Memory(
                id=memory_id,
                text=str(row[1]),
                metadata=metadata,
                created_at=_timestamp(row[3], label, memory_id),
                updated_at=_timestamp(row[4], label, memory_id),
                access_count=max(0, int(row[5] or 0)),
                importance=min(1.0, max(0.0, float(row[6]))),
                decay_rate=float(row[7]),
                session_id=None if row[8] is None else str(row[8]),
            )
        )
    return memories


def move_aside(path: str | os.PathLike[str]) -> Path | None:
    """If ``path`` (where 5.x keeps a store) holds a 4.x database, rename it to ``*.v4.db``
    beside it, untouched, and return the new path; None when there is nothing to move.

    Raises:
        InvalidInputError: the backup name is taken, or the rename failed.
    """
    source = Path(path)
    if not is_v4_database(source):
        return None
    backup = source.with_name(f"{source.stem}.v4{source.suffix}")
    if backup.exists():
        raise InvalidInputError(
            f"{source} is a 4.x database but {backup} exists too; move one of them away first"
        )
    try:
        source.rename(backup)
        for suffix in ("-wal", "-shm"):
            sidecar = source.with_name(source.name + suffix)
            if sidecar.exists():
                sidecar.rename(backup.with_name(backup.name + suffix))
    except OSError as exc:
        raise InvalidInputError(f"cannot move {source} aside: {exc}") from None
    return backup


def _item(memory: V4Memory, scope: Scope) -> NewMemory:
    metadata = dict(memory.metadata)
    raw_category = metadata.pop("category", None)
    pinned = metadata.pop("pinned", False) is True
    category: Category | None = None
    if raw_category is not None:
        try:
            category = Category(raw_category)
        except ValueError:
            metadata["v4_category"] = raw_category  # kept, and the text is classified instead
    metadata["v4_decay_rate"] = memory.decay_rate
    return NewMemory.model_construct(
        text=memory.text,
        category=category,
        importance=memory.importance,
        scope=scope,
        metadata=metadata,
        pin=pinned,
        session_id=memory.session_id,
        event_time=None,
        expires_at=None,
        ttl=None,
        source=SOURCE,
        agent=None,
        on_conflict=None,
    )


async def import_v4(
    mesh: MeshServices, path: str | os.PathLike[str], *, scope: Scope | str | None = None
) -> V4ImportReport:
    """Import one 4.x database into the mesh; see the module docstring for what is kept.

    Args:
        mesh: The mesh to import into.
        path: The 4.x database file.
        scope: ``project`` or ``global``; by default ``global`` for a file named
            ``global*.db`` and ``project`` otherwise, as 4.x decided it by file.

    Raises:
        InvalidInputError: not a 4.x database, a malformed row, or ``scope='project'`` with
            no project store; nothing is written then.
    """
    source = Path(os.fspath(path))
    if scope is None:
        chosen = Scope.GLOBAL if source.name.startswith("global") else Scope.PROJECT
    else:
        try:
            chosen = Scope(scope)
        except ValueError:
            raise InvalidInputError(f"unknown scope {scope!r}") from None
    source = await anyio.to_thread.run_sync(Path.expanduser, source)
    memories = await anyio.to_thread.run_sync(read_v4, source)
    await mesh.open()
    prepared: list[tuple[MemoryRow, V4Memory]] = []
    store = None
    for memory in memories:
        try:
            ready = mesh._prepare(_item(memory, chosen), memory.created_at)
        except InvalidInputError as exc:
            raise type(exc)(f"{source}: memory {memory.id}: {exc}") from exc
        store = ready.store
        row = replace(
            ready.row, id=memory.id, created_at=memory.created_at, updated_at=memory.updated_at
        )
        prepared.append((row, memory))
    if store is None:
        return V4ImportReport(
            source=str(source), scope=chosen.value, read=0, imported=0, already_present=0
        )
    async with store.write() as tx:
        known_ids = set(await tx.statuses([row.id for row, _ in prepared]))
        known_text = await tx.active_ids_by_hash([row.content_hash for row, _ in prepared])
        fresh: list[MemoryRow] = []
        accesses: dict[str, tuple[int, float]] = {}
        seen_hashes: set[str] = set()
        for row, memory in prepared:
            if row.id in known_ids or row.content_hash in known_text:
                continue
            if row.content_hash in seen_hashes:
                continue  # 4.x deduplicated exact text too; keep its first copy
            seen_hashes.add(row.content_hash)
            fresh.append(row)
            if memory.access_count:
                accesses[row.id] = (memory.access_count, memory.updated_at)
        await tx.insert_many(fresh)
        await tx.add_accesses(accesses)
        await tx.log([("imported", r.id, SOURCE, {"from": str(source)}) for r in fresh])
    return V4ImportReport(
        source=str(source),
        scope=chosen.value,
        read=len(memories),
        imported=len(fresh),
        already_present=len(memories) - len(fresh),
        ids=[r.id for r in fresh],
    )
