"""The columns of the ``memories`` table that every engine selects, and how a row of them
reads back as a memory's fields.

One list for both engines (their tables have the same columns under the same names), in
the order :func:`~memorymesh.stores.base.memory_from_row` reads them. Standard library
only: the one-shot reader of ``memorymesh list`` imports it without pydantic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .._vocab import Category, Scope

__all__ = ["COLUMNS", "M_COLUMNS", "memory_fields", "timestamp"]

_NAMES = (
    "id, text, category, importance, scope, pinned, metadata, session_id, source, agent, "
    "redactions, created_at, updated_at, event_time, expires_at, access_count, "
    "last_accessed_at, superseded_by, superseded_at"
)

# ``superseded_by`` as memories report it: a memory superseded by one of the other scope's
# store links to itself (so every ``superseded_by IS NULL`` test of currency stays right,
# and the foreign key holds) and names its successor in ``superseded_across``.

#: The columns, unqualified.
COLUMNS = _NAMES.replace(" superseded_by,", " coalesce(superseded_across, superseded_by),")
#: The same columns qualified by the alias ``m`` (for joins).
M_COLUMNS = ", ".join("m." + c.strip() for c in _NAMES.split(",")).replace(
    " m.superseded_by,", " coalesce(m.superseded_across, m.superseded_by),"
)


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def timestamp(value: float) -> datetime:
    """A stored time (seconds since the epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(value, tz=UTC)


_CATEGORIES: dict[str, Category] = {c.value: c for c in Category}
_SCOPES: dict[str, Scope] = {s.value: s for s in Scope}


def memory_fields(row: Sequence[Any]) -> dict[str, Any]:
    """A ``memories`` row (selected as :data:`COLUMNS`) as the fields of a ``Memory``.

    Rows come from our own CHECK-constrained table, so nothing is validated again on this hot
    path (recall builds one per candidate): plain lookups for the enums, and the usual empty
    metadata and redactions without a JSON parse.
    """
    metadata, redactions = row[6], row[10]
    return {
        "id": row[0],
        "text": row[1],
        "category": _CATEGORIES[row[2]],
        "importance": row[3],
        "scope": _SCOPES[row[4]],
        "pinned": bool(row[5]),
        "metadata": {} if metadata == "{}" else json.loads(metadata),
        "session_id": row[7],
        "created_at": timestamp(row[11]),
        "updated_at": timestamp(row[12]),
        "event_time": _ts(row[13]),
        "expires_at": _ts(row[14]),
        "access_count": row[15],
        "last_accessed_at": _ts(row[16]),
        "superseded_by": row[17],
        "superseded_at": _ts(row[18]),
        "source": row[8],
        "agent": row[9],
        "redactions": () if redactions == "[]" else tuple(json.loads(redactions)),
        "conflicts": (),
    }
