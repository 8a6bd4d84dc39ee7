"""Reading memories across a mesh's stores: pages, counts, totals, lookups and the write log.

A mesh has up to two stores (project and global); each answer here merges theirs into one, in
the order the caller asked for. The facade checks the arguments first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from .._errors import MemoryNotFoundError
from .._models import ListOrder, Memory, MemoryStats, Scope, WriteLogEntry
from ..stores.base import Filters, Store

__all__ = [
    "ORDERS",
    "count",
    "find",
    "metadata_values",
    "page",
    "resolve_prefix",
    "stats",
    "write_log",
]

_MAX_LIMIT = 2**62
ORDERS: frozenset[str] = frozenset({"newest", "oldest", "importance", "updated", "accessed"})


def _sort_key(order: str) -> Callable[[Memory], Any]:
    keys: dict[str, Callable[[Memory], Any]] = {
        "newest": lambda m: -m.created_at.timestamp(),
        "oldest": lambda m: m.created_at.timestamp(),
        "importance": lambda m: (-m.importance, -m.created_at.timestamp()),
        "updated": lambda m: -m.updated_at.timestamp(),
        "accessed": lambda m: (
            -m.access_count,
            -(m.last_accessed_at.timestamp() if m.last_accessed_at else 0.0),
        ),
    }
    return keys[order]


async def page(
    stores: Sequence[Store],
    filters: Filters,
    *,
    order: ListOrder,
    limit: int,
    offset: int,
    now: float,
) -> list[Memory]:
    """One page of the memories the filters allow, in ``order`` across every store."""
    merged: list[Memory] = []
    # No cap on the page: asking for 50,000 memories means all of them (engines read LIMIT as
    # a signed 64-bit integer, so an absurd one is clamped rather than refused).
    rows = min(limit + offset, _MAX_LIMIT)
    for store in stores:
        merged += await store.select(filters, order=order, limit=rows, offset=0, now=now)
    if len(stores) > 1:
        merged.sort(key=_sort_key(order))
    return merged[offset : offset + limit]


async def count(stores: Sequence[Store], filters: Filters, *, now: float) -> int:
    """How many memories the filters allow, across every store."""
    total = 0
    for store in stores:
        total += await store.count(filters, now=now)
    return total


async def metadata_values(
    stores: Sequence[Store], key: str, filters: Filters, *, now: float
) -> list[str | int | float]:
    """The distinct values of metadata ``key``, numbers before strings, each sorted."""
    values: set[str | int | float] = set()
    for store in stores:
        values.update(await store.metadata_values(key, filters, now=now))
    return sorted(values, key=lambda v: (isinstance(v, str), v))


async def stats(
    stores: Sequence[Store],
    *,
    now: float,
    project_path: str | None,
    global_path: str,
    embedder: str,
) -> MemoryStats:
    """Totals per scope and category, and the pinned, superseded and expired counts."""
    by_scope: dict[str, int] = {s.value: 0 for s in Scope}
    by_category: dict[str, int] = {}
    pinned = superseded = expired = 0
    for store in stores:
        counts = await store.counts(now=now)
        for key, n in counts.by_scope.items():
            by_scope[key] = by_scope.get(key, 0) + n
        for key, n in counts.by_category.items():
            by_category[key] = by_category.get(key, 0) + n
        pinned += counts.pinned
        superseded += counts.superseded
        expired += counts.expired
    return MemoryStats(
        total=sum(by_scope.values()),
        by_scope=by_scope,
        by_category=dict(sorted(by_category.items())),
        pinned=pinned,
        superseded=superseded,
        expired=expired,
        project_path=project_path,
        global_path=global_path,
        embedder=embedder,
    )


async def write_log(
    stores: Sequence[Store], *, limit: int, memory_id: str | None
) -> list[WriteLogEntry]:
    """The newest ``limit`` write-log entries across every store, newest first."""
    entries: list[WriteLogEntry] = []
    for store in stores:
        for at, (action, about, source, detail) in await store.recent_log(
            limit, memory_id=memory_id
        ):
            entries.append(
                WriteLogEntry(
                    at=datetime.fromtimestamp(at, tz=UTC),
                    action=action,
                    memory_id=about,
                    source=source,
                    scope=store.scope,
                    detail=detail,
                )
            )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


async def find(stores: Sequence[Store], memory_id: str) -> tuple[Store, Memory]:
    """The store holding ``memory_id`` and the memory (current, superseded or expired)."""
    if not isinstance(memory_id, str) or not memory_id:
        raise MemoryNotFoundError(str(memory_id))
    for store in stores:
        found = await store.get_many([memory_id])
        if found:
            return store, found[0]
    raise MemoryNotFoundError(memory_id)


async def resolve_prefix(stores: Sequence[Store], prefix: str) -> str:
    """The full id of the one memory whose id starts with ``prefix``."""
    matches: list[str] = []
    for store in stores:
        matches.extend(await store.resolve_prefix(prefix))
    if len(matches) != 1:
        raise MemoryNotFoundError(prefix)
    return matches[0]
