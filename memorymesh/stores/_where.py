"""The engine-independent part of compiling :class:`~memorymesh.stores.base.Filters` to SQL.

Both engines filter memories' own columns the same way (what "current" means at a moment,
expiry, categories, scope, importance, time, labels, ids); only two things differ: how a
value is bound (SQLite's ``?``, psycopg's ``%s``) and how a column is tested against a list
(``IN (?, ?)`` against ``= ANY(%s)``). This module writes the clauses once with those two as
parameters; each engine's ``_sql.where`` adds what is its own (the tenant key, metadata over
JSON or jsonb). Every value is bound; the only identifiers spliced in are the column names
written here and the time expression chosen from :data:`TIME_EXPRESSIONS`.

Standard library only: the SQLite one-shot reader (``memorymesh list``) imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Filters

__all__ = ["TIME_EXPRESSIONS", "OneOf", "column_clauses"]

#: ``one_of(column, values)``: an engine's test that ``column`` is one of ``values`` (never
#: empty for categories; possibly empty for ids, when it must match nothing), as a clause
#: and its parameters.
OneOf = Callable[[str, Sequence[Any]], tuple[str, list[Any]]]

#: The expression each ``Filters.time_field`` compares ``since`` / ``until`` with.
TIME_EXPRESSIONS: dict[str, str] = {
    "created": "m.created_at",
    "event": "coalesce(m.event_time, m.created_at)",
}


def column_clauses(
    filters: Filters, now: float, *, mark: str, one_of: OneOf
) -> tuple[list[str], list[Any]]:
    """The clauses (AND-ed by the caller) over alias ``m``'s columns that ``filters`` asks
    for, and their parameters in order, each bound with ``mark``."""
    p = mark
    clauses: list[str] = []
    params: list[Any] = []
    # "Current" is judged at `as_of` when given ("what was true then"), else now.
    moment = now if filters.as_of is None else filters.as_of.timestamp()
    if filters.as_of is not None:
        clauses.append(f"m.created_at <= {p}")
        params.append(moment)
    if not filters.include_superseded:
        if filters.as_of is None:
            clauses.append("m.superseded_by IS NULL")
        else:
            clauses.append(
                f"(m.superseded_by IS NULL OR coalesce(m.superseded_at, m.updated_at) > {p})"
            )
            params.append(moment)
    if filters.status is not None:
        clauses.append(f"m.status = {p}")
        params.append(filters.status)
    if not filters.include_expired:
        clauses.append(f"(m.expires_at IS NULL OR m.expires_at > {p} OR m.pinned = 1)")
        params.append(moment)
    if filters.categories:
        clause, values = one_of("m.category", [str(c) for c in filters.categories])
        clauses.append(clause)
        params.extend(values)
    if filters.scope is not None:
        clauses.append(f"m.scope = {p}")
        params.append(str(filters.scope))
    if filters.min_importance is not None:
        clauses.append(f"m.importance >= {p}")
        params.append(filters.min_importance)
    when = TIME_EXPRESSIONS[filters.time_field]
    if filters.since is not None:
        clauses.append(f"{when} >= {p}")
        params.append(filters.since.timestamp())
    if filters.until is not None:
        clauses.append(f"{when} < {p}")
        params.append(filters.until.timestamp())
    # Labels compared for equality, in this order.
    for column, value in (
        ("session_id", filters.session_id),
        ("pinned", None if filters.pinned is None else int(filters.pinned)),
        ("source", filters.source),
        ("agent", filters.agent),
    ):
        if value is not None:
            clauses.append(f"m.{column} = {p}")
            params.append(value)
    if filters.ids is not None:
        clause, values = one_of("m.id", list(filters.ids))
        clauses.append(clause)
        params.extend(values)
    return clauses, params
