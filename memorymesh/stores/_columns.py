"""The columns of the ``memories`` table that every engine selects to build a memory.

One list for both engines (their tables have the same columns under the same names), in
the order :func:`~memorymesh.stores.base.memory_from_row` reads them. Standard library
only: the one-shot reader of ``memorymesh list`` imports it without pydantic.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "M_COLUMNS"]

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
