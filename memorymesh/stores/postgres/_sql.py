"""Filters compiled to PostgreSQL: a WHERE clause over alias ``m`` and its bound parameters.

Every clause starts with the tenant key (``m.tenant = %s``), so no query built here can see
another project's or user's rows, whatever the caller's filters say: each user clause is
parenthesised and AND-ed after it, and every value (metadata keys included) is bound.
"""

from __future__ import annotations

import json
from typing import Any

from ..._text import query_terms
from ..base import Filters, MetadataCondition
from ._schema import TS_CONFIG

__all__ = ["ORDERS", "tsquery", "where"]

ORDERS: dict[str, str] = {
    "newest": "m.created_at DESC, m.seq DESC",
    "oldest": "m.created_at ASC, m.seq ASC",
    "importance": "m.importance DESC, m.created_at DESC, m.seq DESC",
    "updated": "m.updated_at DESC, m.seq DESC",
    # NULLS LAST: SQLite sorts NULL below every value; PostgreSQL above.
    "accessed": "m.access_count DESC, m.last_accessed_at DESC NULLS LAST, m.seq DESC",
}

_COMPARE: dict[str, str] = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def tsquery(query: str) -> tuple[str, list[str]] | None:
    """The tsquery expression that ORs the query's words (as ``fts_match`` does for SQLite),
    with its parameters, or None if the query has no words. Each word is bound and parsed by
    ``plainto_tsquery``, so text-search syntax in it (``&``, ``|``, ``!``, ``:*``) is plain text.
    """
    terms = query_terms(query)
    if not terms:
        return None
    one = f"plainto_tsquery('{TS_CONFIG}'::regconfig, %s)"
    return "(" + " || ".join([one] * len(terms)) + ")", terms


def where(filters: Filters, now: float, tenant: str) -> tuple[str, list[Any]]:
    """``filters`` as a WHERE clause for ``tenant`` (see the module docstring)."""
    clauses: list[str] = ["m.tenant = %s"]
    params: list[Any] = [tenant]
    moment = now if filters.as_of is None else filters.as_of.timestamp()
    if filters.as_of is not None:
        clauses.append("m.created_at <= %s")
        params.append(moment)
    if not filters.include_superseded:
        if filters.as_of is None:
            clauses.append("m.superseded_by IS NULL")
        else:
            clauses.append(
                "(m.superseded_by IS NULL OR coalesce(m.superseded_at, m.updated_at) > %s)"
            )
            params.append(moment)
    if filters.status is not None:
        clauses.append("m.status = %s")
        params.append(filters.status)
    if not filters.include_expired:
        clauses.append("(m.expires_at IS NULL OR m.expires_at > %s OR m.pinned = 1)")
        params.append(moment)
    if filters.categories:
        clauses.append("m.category = ANY(%s)")
        params.append([str(c) for c in filters.categories])
    if filters.scope is not None:
        clauses.append("m.scope = %s")
        params.append(str(filters.scope))
    if filters.min_importance is not None:
        clauses.append("m.importance >= %s")
        params.append(filters.min_importance)
    when = (
        "coalesce(m.event_time, m.created_at)"
        if filters.time_field == "event"
        else ("m.created_at")
    )
    if filters.since is not None:
        clauses.append(f"{when} >= %s")
        params.append(filters.since.timestamp())
    if filters.until is not None:
        clauses.append(f"{when} < %s")
        params.append(filters.until.timestamp())
    if filters.session_id is not None:
        clauses.append("m.session_id = %s")
        params.append(filters.session_id)
    if filters.pinned is not None:
        clauses.append("m.pinned = %s")
        params.append(int(filters.pinned))
    if filters.source is not None:
        clauses.append("m.source = %s")
        params.append(filters.source)
    if filters.agent is not None:
        clauses.append("m.agent = %s")
        params.append(filters.agent)
    if filters.ids is not None:
        clauses.append("m.id = ANY(%s)")
        params.append(list(filters.ids))
    for condition in filters.metadata:
        clause, values = _metadata(condition)
        clauses.append(f"({clause})")
        params.extend(values)
    return " AND ".join(clauses), params


def _json(value: Any) -> str:
    return json.dumps(value)


def _metadata(condition: MetadataCondition) -> tuple[str, list[Any]]:
    # The key is bound (and was checked against METADATA_KEY); values are bound as jsonb.
    # JSON null and a missing key both count as null, as SQLite's json_extract has it.
    key = condition.key
    value = condition.value
    value_of = "(m.meta -> %s)"
    is_null = "coalesce(m.meta -> %s, 'null'::jsonb) = 'null'::jsonb"
    if condition.op == "$exists":
        return ("" if value else "NOT ") + "jsonb_exists(m.meta, %s)", [key]
    if condition.op in ("$in", "$nin"):
        assert isinstance(value, tuple)
        present = [_json(v) for v in value if v is not None]
        with_null = None in value
        if condition.op == "$in":
            parts: list[str] = []
            params: list[Any] = []
            if present:
                parts.append(f"{value_of} = ANY(%s::jsonb[])")
                params += [key, present]
            if with_null:
                parts.append(is_null)
                params.append(key)
            return " OR ".join(parts), params
        parts, params = [], []
        if present:
            parts.append(f"NOT coalesce({value_of} = ANY(%s::jsonb[]), false)")
            params += [key, present]
        if with_null:
            parts.append(f"NOT {is_null}")
            params.append(key)
        return " AND ".join(parts), params
    if value is None:
        return ("NOT " if condition.op == "$ne" else "") + is_null, [key]
    if condition.op == "$eq":
        return f"{value_of} = %s::jsonb", [key, _json(value)]
    if condition.op == "$ne":
        return f"{is_null} OR {value_of} <> %s::jsonb", [key, key, _json(value)]
    # Ranges compare like with like: a number with numbers, a string with strings.
    sql = (
        f"jsonb_typeof({value_of}) = jsonb_typeof(%s::jsonb) "
        f"AND {value_of} {_COMPARE[condition.op]} %s::jsonb"
    )
    return sql, [key, _json(value), key, _json(value)]
