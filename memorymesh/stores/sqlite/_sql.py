"""The SQL the SQLite store and its one-shot reader share, and how their rows read back.

:class:`~memorymesh.stores.sqlite._store.SQLiteStore` (async, over aiosqlite) and
:class:`~memorymesh.stores.sqlite._oneshot.OneShotReader` (synchronous, the standard
library's ``sqlite3``, for commands that read once and exit) run the same statements: they
are written once, here. Standard library only, so a one-shot command imports neither
aiosqlite nor pydantic. Every value is a bound parameter; the only identifiers spliced into
SQL come from the allowlists in this module and ``_schema``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .._columns import COLUMNS, M_COLUMNS, memory_fields
from .._where import column_clauses
from ._schema import INDEXED_METADATA_KEYS

if TYPE_CHECKING:
    from ..base import Filters, MetadataCondition

__all__ = [
    "COLUMNS",
    "COUNT_EXPIRED_GROUPS",
    "COUNT_GROUPS",
    "COUNT_OTHERS",
    "M_COLUMNS",
    "ORDERS",
    "QUICK_CHECK_MAX_BYTES",
    "memory_fields",
    "select_sql",
    "tally_counts",
    "where",
]

#: Files up to this size get SQLite's ``quick_check`` every time they are opened (about
#: 5-7 ms per MiB): a damaged file is refused before anything writes to it and makes the damage
#: worse. Larger files are checked by ``memorymesh doctor``, and damage met while reading stops
#: every later write (see ``SQLiteStore._damaged``). Kept small on purpose: most processes
#: open a store for one command, and a check that reads the whole file made opening cost
#: grow with the store (~300 ms at 100k memories, 37 MiB); capped here it stays under ~25 ms.
QUICK_CHECK_MAX_BYTES = 4 * 1024 * 1024

ORDERS: dict[str, str] = {
    "newest": "m.created_at DESC, m.seq DESC",
    "oldest": "m.created_at ASC, m.seq ASC",
    "importance": "m.importance DESC, m.created_at DESC, m.seq DESC",
    "updated": "m.updated_at DESC, m.seq DESC",
    "accessed": "m.access_count DESC, m.last_accessed_at DESC, m.seq DESC",
}

_SQL_OPERATORS: dict[str, str] = {"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _one_of(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    if not values:
        return "0", []
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def where(filters: Filters, now: float, *, use_index: bool = True) -> tuple[str, list[Any]]:
    """Compile ``filters`` into a WHERE clause over alias ``m`` and its bound parameters."""
    clauses, params = column_clauses(filters, now, mark="?", one_of=_one_of)
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


def select_sql(where_clause: str, order: str) -> str:
    """One page of memories (``list``): bound as ``[*where params, limit, offset]``."""
    return (
        f"SELECT {M_COLUMNS} FROM memories AS m WHERE {where_clause} "
        f"ORDER BY {ORDERS[order]} LIMIT ? OFFSET ?"
    )


# -- counts (``stats``) ---------------------------------------------------------------------

#: Kept by triggers (migration 0008): flat in the store's size.
COUNT_GROUPS = "SELECT scope, category, pinned, n FROM memory_counts"
#: Those that expired since (unpinned, found through the expiry index): bound as ``[now]``.
COUNT_EXPIRED_GROUPS = (
    "SELECT scope, category, COUNT(*) FROM memories "
    "WHERE expires_at IS NOT NULL AND expires_at <= ? AND pinned = 0 "
    "AND superseded_by IS NULL AND status = 'active' GROUP BY scope, category"
)
#: Superseded and expired: bound as ``[now]``.
COUNT_OTHERS = (
    "SELECT "
    "  (SELECT COUNT(*) FROM memories WHERE superseded_by IS NOT NULL), "
    "  (SELECT COUNT(*) FROM memories WHERE superseded_by IS NULL AND pinned = 0 "
    "     AND status = 'active' AND expires_at IS NOT NULL AND expires_at <= ?)"
)


def tally_counts(
    groups: Iterable[Sequence[Any]], expired_groups: Iterable[Sequence[Any]], others: Sequence[Any]
) -> tuple[dict[str, int], dict[str, int], int, int, int]:
    """The rows of the three counting statements as ``(by_scope, by_category, pinned,
    superseded, expired)``."""
    by_scope: dict[str, int] = {}
    by_category: dict[str, int] = {}
    pinned = 0
    tallied: dict[tuple[str, str, int], int] = {
        (scope, category, is_pinned): n for scope, category, is_pinned, n in groups
    }
    for scope, category, n in expired_groups:
        tallied[(scope, category, 0)] = tallied.get((scope, category, 0), 0) - n
    for (scope, category, is_pinned), n in sorted(tallied.items()):
        if n <= 0:
            continue
        by_scope[scope] = by_scope.get(scope, 0) + n
        by_category[category] = by_category.get(category, 0) + n
        pinned += n if is_pinned else 0
    superseded, expired = others
    return by_scope, by_category, pinned, int(superseded), int(expired)
