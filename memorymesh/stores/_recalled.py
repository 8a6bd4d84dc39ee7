"""What recall reads of a candidate before deciding whether to return it.

Recall scores every candidate (40 or more per call) and returns ``k`` of them. A store may
hand its candidates over as :class:`Recalled` rows rather than whole :class:`Memory`
objects: the fields the ranking reads, straight from the row, with the :class:`Memory`
built only for those returned (:func:`as_memory`). A :class:`Memory` is itself a
:class:`Recalled`, so stores that build memories anyway (PostgreSQL) need nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable

from .._models import ListOrder, Memory
from ._filters import Filters

__all__ = [
    "Deferred",
    "Recalled",
    "RecalledSelect",
    "as_memory",
    "fields_of",
    "recalled_select",
]


class Recalled(Protocol):
    """The fields of a memory that recall's candidates are ranked by."""

    @property
    def id(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def session_id(self) -> str | None: ...

    @property
    def importance(self) -> float: ...

    @property
    def pinned(self) -> bool: ...

    @property
    def access_count(self) -> int: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def updated_at(self) -> datetime: ...

    @property
    def event_time(self) -> datetime | None: ...


class Deferred(Protocol):
    """A :class:`Recalled` that builds its :class:`Memory` on demand."""

    def memory(self) -> Memory: ...


def as_memory(candidate: Recalled) -> Memory:
    """The :class:`Memory` of a candidate (built now if the store deferred it)."""
    if isinstance(candidate, Memory):
        return candidate
    # Not isinstance(candidate, Deferred): a runtime protocol check costs more than the rest.
    return cast(Deferred, candidate).memory()


def fields_of(candidate: Recalled) -> dict[str, Any]:
    """A new dict of the fields of :func:`as_memory`'s memory, for a caller that changes some
    and builds one :class:`Memory` (recall's results) instead of a memory and then a copy."""
    if isinstance(candidate, Memory):
        return dict(candidate.__dict__)
    fields: Callable[[], dict[str, Any]] | None = getattr(candidate, "fields", None)
    if fields is None:
        return dict(as_memory(candidate).__dict__)
    return fields()


@runtime_checkable
class RecalledSelect(Protocol):
    """An optional capability of a store: :meth:`Store.select` as :class:`Recalled` rows
    (vector recall fetches its hits through it and builds only the returned ones)."""

    async def select_recalled(
        self, filters: Filters, *, order: ListOrder, limit: int, offset: int, now: float
    ) -> Sequence[Recalled]: ...


_SELECTS: dict[type, bool] = {}


def recalled_select(store: object) -> RecalledSelect | None:
    """``store`` if it can select :class:`Recalled` rows, else None."""
    # Once per class: a runtime protocol check costs tens of microseconds, every recall.
    kind = type(store)
    selects = _SELECTS.get(kind)
    if selects is None:
        selects = _SELECTS[kind] = isinstance(store, RecalledSelect)
    return cast(RecalledSelect, store) if selects else None
