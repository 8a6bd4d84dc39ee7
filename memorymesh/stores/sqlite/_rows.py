"""A memory's row as recall reads it: ranked from the row, a :class:`Memory` only if returned.

Building a :class:`Memory` from a row (four timestamps, two enums, JSON) cost about as much
as SQLite's own search of a 10k store for the 40-60 candidates of one recall, of which 10
are returned. A :class:`StoredRow` exposes what ranking reads (see
``stores/_recalled.py``), converting a timestamp only when it is read, and builds the
:class:`Memory` on :meth:`StoredRow.memory`, exactly as the store would have.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..._models import Memory, trusted_memory

__all__ = ["StoredRow", "as_datetime_seconds"]

# Positions in the store's column list (``_COLUMNS`` in ``_store.py``).
_ID, _TEXT, _IMPORTANCE, _PINNED, _SESSION = 0, 1, 3, 5, 7
_CREATED, _UPDATED, _EVENT, _ACCESSES = 11, 12, 13, 15


def as_datetime_seconds(stored: float) -> float:
    """``datetime.fromtimestamp(stored, UTC).timestamp()``, without building the datetime.

    A datetime keeps whole microseconds, rounding half to even; so does this, then divides
    the whole count of microseconds as ``timestamp()`` does, so the float is the same.
    """
    fraction, whole = math.modf(stored)
    return (int(whole) * 1_000_000 + round(fraction * 1e6)) / 1_000_000


class StoredRow:
    """One row of ``memories`` (the store's column order) with this process's access
    counts not yet written (``pending``: count and last time) applied, as :meth:`memory`
    applies them to the :class:`Memory`."""

    __slots__ = ("_fields", "_pending", "_row", "access_count", "id", "importance", "pinned")

    def __init__(
        self,
        row: Sequence[Any],
        pending: tuple[int, float] | None,
        fields: Callable[[Sequence[Any], tuple[int, float] | None], dict[str, Any]],
    ) -> None:
        self._row = row
        self._pending = pending
        self._fields = fields
        self.id: str = row[_ID]
        self.importance: float = row[_IMPORTANCE]
        self.pinned = bool(row[_PINNED])
        self.access_count: int = row[_ACCESSES] + (0 if pending is None else pending[0])

    @property
    def text(self) -> str:
        return str(self._row[_TEXT])

    @property
    def session_id(self) -> str | None:
        session: str | None = self._row[_SESSION]
        return session

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self._row[_CREATED], tz=UTC)

    @property
    def updated_at(self) -> datetime:
        return datetime.fromtimestamp(self._row[_UPDATED], tz=UTC)

    @property
    def event_time(self) -> datetime | None:
        event = self._row[_EVENT]
        return None if event is None else datetime.fromtimestamp(event, tz=UTC)

    def recency_seconds(self, by_event_time: bool) -> float:
        """The moment recency counts from, in seconds, exactly as
        ``(event_time or created_at if by_event_time else updated_at).timestamp()``: ranking
        reads it for every candidate (see ``search/_scoring.signals_many``)."""
        row = self._row
        if by_event_time:
            event = row[_EVENT]
            return as_datetime_seconds(row[_CREATED] if event is None else event)
        return as_datetime_seconds(row[_UPDATED])

    def memory(self) -> Memory:
        """The :class:`Memory` the store builds from this row."""
        return trusted_memory(self.fields())

    def fields(self) -> dict[str, Any]:
        """A new dict of the fields of :meth:`memory`: recall adds what it changes (the
        access count, redactions) and builds the one :class:`Memory` it returns."""
        return self._fields(self._row, self._pending)

    def __repr__(self) -> str:
        return f"StoredRow({self.id!r})"
