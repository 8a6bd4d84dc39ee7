"""Reading memories across a mesh's stores: pages, counts, totals, lookups and the write log.

A mesh has up to two stores (project and global); each answer here merges theirs into one, in
the order the caller asked for. The facade checks the arguments first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import MemoryNotFoundError
from .._vocab import ListOrder, Scope
from ..stores.base import Filters, Store, StoreCounts, order_key

if TYPE_CHECKING:
    # Built only by the functions that return them: the command line's one-shot `list` and
    # `stats` merge plain records with this module, without pydantic.
    from .._models import Memory, MemoryStats, WriteLogEntry

T = TypeVar("T")

__all__ = [
    "ORDERS",
    "count",
    "find",
    "merged_page",
    "metadata_values",
    "page",
    "page_rows",
    "resolve_prefix",
    "stats",
    "totals",
    "write_log",
]

_MAX_LIMIT = 2**62
ORDERS: frozenset[str] = frozenset({"newest", "oldest", "importance", "updated", "accessed"})


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
    rows = page_rows(limit, offset)
    pages = [
        await store.select(filters, order=order, limit=rows, offset=0, now=now) for store in stores
    ]
    return merged_page(pages, order=order, limit=limit, offset=offset)


def page_rows(limit: int, offset: int) -> int:
    """How many rows each store reads for a page: all up to its end, from the first."""
    # No cap on the page: asking for 50,000 memories means all of them (engines read LIMIT as
    # a signed 64-bit integer, so an absurd one is clamped rather than refused).
    return min(limit + offset, _MAX_LIMIT)


def merged_page(
    pages: Sequence[Sequence[T]], *, order: ListOrder, limit: int, offset: int
) -> list[T]:
    """The stores' pages (each of :func:`page_rows` rows, in ``order``) as one page."""
    merged: list[T] = [memory for one in pages for memory in one]
    if len(pages) > 1:
        merged.sort(key=order_key(order))
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
    from .._models import MemoryStats

    counts = [await store.counts(now=now) for store in stores]
    return MemoryStats(
        **totals(counts), project_path=project_path, global_path=global_path, embedder=embedder
    )


def totals(counts: Iterable[StoreCounts]) -> dict[str, Any]:
    """The stores' counts added up: the count fields of :class:`~memorymesh.MemoryStats`."""
    by_scope: dict[str, int] = {s.value: 0 for s in Scope}
    by_category: dict[str, int] = {}
    pinned = superseded = expired = 0
    for one in counts:
        for key, n in one.by_scope.items():
            by_scope[key] = by_scope.get(key, 0) + n
        for key, n in one.by_category.items():
            by_category[key] = by_category.get(key, 0) + n
        pinned += one.pinned
        superseded += one.superseded
        expired += one.expired
    return {
        "total": sum(by_scope.values()),
        "by_scope": by_scope,
        "by_category": dict(sorted(by_category.items())),
        "pinned": pinned,
        "superseded": superseded,
        "expired": expired,
    }


async def write_log(
    stores: Sequence[Store], *, limit: int, memory_id: str | None
) -> list[WriteLogEntry]:
    """The newest ``limit`` write-log entries across every store, newest first."""
    from .._models import WriteLogEntry

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
