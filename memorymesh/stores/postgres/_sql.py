"""Filters compiled to PostgreSQL: a WHERE clause over alias ``m`` and its bound parameters.

Every clause starts with the tenant key (``m.tenant = %s``), so no query built here can see
another project's or user's rows, whatever the caller's filters say: each user clause is
parenthesised and AND-ed after it, and every value (metadata keys included) is bound.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..._text import query_terms
from .._where import column_clauses
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


def _any(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    return f"{column} = ANY(%s)", [list(values)]


def where(filters: Filters, now: float, tenant: str) -> tuple[str, list[Any]]:
    """``filters`` as a WHERE clause for ``tenant`` (see the module docstring)."""
    clauses, params = column_clauses(filters, now, mark="%s", one_of=_any)
    for condition in filters.metadata:
        clause, values = _metadata(condition)
        clauses.append(f"({clause})")
        params.extend(values)
    return " AND ".join(["m.tenant = %s", *clauses]), [tenant, *params]


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
