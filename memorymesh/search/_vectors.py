"""The in-memory vector index of one store: exact cosine top-k over every memory.

Each store keeps its unit vectors in float32 matrices, one per category (a *block*), built once
from SQLite when the mesh opens and kept in step by every write, update, supersede, restore and
forget. A query is one matrix-vector product per block it may touch, so a category filter scans
only that category's rows, as a per-partition brute force would. The other filters are numpy
masks over per-row columns (importance, times, session, pinned, superseded), applied before the
top-k selection; filters only SQL can answer (metadata) arrive as a set of allowed row keys.

There is no candidate cap and no approximation: every current row is scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .._models import Category
from ..stores._filters import Filters

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    F32 = npt.NDArray[np.float32]

__all__ = [
    "IndexRow",
    "VectorFilter",
    "VectorIndex",
    "from_blob",
    "to_blob",
    "unit_rows",
    "vector_filter",
]

_INITIAL_CAPACITY = 64


def unit_rows(matrix: F32) -> F32:
    """Scale each row to length 1 (zero rows stay zero), so a dot product is the cosine."""
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def to_blob(vector: F32) -> bytes:
    import numpy as np

    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dim: int) -> F32 | None:
    import numpy as np

    if len(blob) != dim * 4:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What the index keeps about one memory besides its vector."""

    id: str
    category: str
    importance: float
    pinned: bool
    created_at: float
    expires_at: float | None
    session_id: str | None
    superseded: bool


@dataclass(frozen=True, slots=True)
class VectorFilter:
    """The recall filters, as the index applies them."""

    categories: tuple[Category, ...] = ()
    min_importance: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    session_id: str | None = None
    pinned: bool | None = None
    include_superseded: bool = False
    include_expired: bool = False
    allowed: frozenset[str] | None = None
    """Only these ids (from a filter that only SQL can evaluate), or None for no such filter."""


def vector_filter(filters: Filters) -> VectorFilter:
    """The part of recall's :class:`Filters` the index evaluates itself (scope picks the
    store; metadata and id filters arrive as ``allowed``)."""
    # The index holds when memories were recorded, not when they happened: event-time
    # bounds arrive as ``allowed`` instead (see search/_recall.py).
    by_created = filters.time_field == "created"
    return VectorFilter(
        categories=filters.categories,
        min_importance=filters.min_importance,
        since=filters.since if by_created else None,
        until=filters.until if by_created else None,
        session_id=filters.session_id,
        pinned=filters.pinned,
        include_superseded=filters.include_superseded,
        include_expired=filters.include_expired,
    )


class _Block:
    """The rows of one category: a growable matrix and its per-row columns."""

    def __init__(self, dim: int) -> None:
        import numpy as np

        self.n = 0
        self.matrix = np.zeros((_INITIAL_CAPACITY, dim), dtype=np.float32)
        self.importance = np.zeros(_INITIAL_CAPACITY, dtype=np.float32)
        self.pinned = np.zeros(_INITIAL_CAPACITY, dtype=bool)
        self.created = np.zeros(_INITIAL_CAPACITY, dtype=np.float64)
        # +inf for memories that never expire (pinned ones included), so one comparison does.
        self.expires = np.full(_INITIAL_CAPACITY, np.inf, dtype=np.float64)
        self.session = np.full(_INITIAL_CAPACITY, -1, dtype=np.int32)
        self.active = np.zeros(_INITIAL_CAPACITY, dtype=bool)
        self.ids: list[str] = []
        self.inactive = 0
        self.expiring = 0

    def _grow(self, needed: int) -> None:
        import numpy as np

        capacity = len(self.active)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        for name in ("matrix", "importance", "pinned", "created", "expires", "session", "active"):
            old = getattr(self, name)
            shape = (capacity, *old.shape[1:])
            fill = np.inf if name == "expires" else (-1 if name == "session" else 0)
            new = np.full(shape, fill, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)


class VectorIndex:
    """Unit vectors of one store's memories, searchable exactly by cosine similarity.

    Args:
        dim: The embedder's vector length.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._blocks: dict[str, _Block] = {}
        self._where: dict[str, tuple[str, int]] = {}
        self._sessions: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, memory_id: object) -> bool:
        return memory_id in self._where

    def ids(self) -> list[str]:
        """Every memory the index holds."""
        return list(self._where)

    def _session_code(self, session_id: str | None) -> int:
        if session_id is None:
            return -1
        return self._sessions.setdefault(session_id, len(self._sessions))

    # -- keeping in step with the store --------------------------------------------------------

    def add(self, rows: Sequence[IndexRow], vectors: F32) -> None:
        """Add (or replace) memories with their unit vectors, one row of ``vectors`` each."""
        import numpy as np

        if len(rows) != len(vectors):
            raise ValueError("one vector per row")
        if vectors.ndim != 2 or (len(rows) and vectors.shape[1] != self.dim):
            raise ValueError(f"vectors must have shape (n, {self.dim})")
        self.remove(r.id for r in rows if r.id in self._where)
        by_category: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_category.setdefault(row.category, []).append(i)
        for category, positions in by_category.items():
            block = self._blocks.get(category)
            if block is None:
                block = self._blocks[category] = _Block(self.dim)
            start = block.n
            block._grow(start + len(positions))
            stop = start + len(positions)
            block.matrix[start:stop] = vectors[positions]
            for offset, i in enumerate(positions):
                row = rows[i]
                at = start + offset
                block.importance[at] = row.importance
                block.pinned[at] = row.pinned
                block.created[at] = row.created_at
                never = row.expires_at is None or row.pinned
                block.expires[at] = np.inf if never else row.expires_at
                block.expiring += 0 if never else 1
                block.session[at] = self._session_code(row.session_id)
                block.active[at] = not row.superseded
                block.inactive += 1 if row.superseded else 0
                block.ids.append(row.id)
                self._where[row.id] = (category, at)
            block.n = stop

    def remove(self, ids: Iterable[str]) -> None:
        """Drop memories (forgotten ones); unknown ids are ignored."""
        import numpy as np

        for memory_id in list(ids):
            place = self._where.pop(memory_id, None)
            if place is None:
                continue
            category, at = place
            block = self._blocks[category]
            block.inactive -= 0 if block.active[at] else 1
            block.expiring -= 0 if np.isinf(block.expires[at]) else 1
            last = block.n - 1
            if at != last:
                # Swap-remove: the last row fills the hole, so blocks stay dense.
                for name in ("matrix", "importance", "pinned", "created", "expires", "session"):
                    column = getattr(block, name)
                    column[at] = column[last]
                block.active[at] = block.active[last]
                moved = block.ids[last]
                block.ids[at] = moved
                self._where[moved] = (category, at)
            block.ids.pop()
            block.active[last] = False
            block.n = last

    def set_superseded(self, ids: Iterable[str], superseded: bool = True) -> None:
        """Hide (or, with ``superseded=False``, restore) memories without dropping vectors."""
        for memory_id in ids:
            place = self._where.get(memory_id)
            if place is None:
                continue
            block = self._blocks[place[0]]
            if block.active[place[1]] == superseded:
                block.active[place[1]] = not superseded
                block.inactive += 1 if superseded else -1

    def update(
        self,
        memory_id: str,
        *,
        importance: float | None = None,
        pinned: bool | None = None,
        expires_at: float | None = None,
        clear_expiry: bool = False,
    ) -> None:
        """Change the filterable columns of one memory in place."""
        import numpy as np

        place = self._where.get(memory_id)
        if place is None:
            return
        block = self._blocks[place[0]]
        at = place[1]
        if importance is not None:
            block.importance[at] = importance
        if pinned is not None:
            block.pinned[at] = pinned
        if expires_at is not None or clear_expiry or pinned:
            block.expiring -= 0 if np.isinf(block.expires[at]) else 1
            never = expires_at is None or bool(block.pinned[at])
            block.expires[at] = np.inf if never else expires_at
            block.expiring += 0 if never else 1

    def vectors(self, ids: Sequence[str]) -> F32:
        """The stored vectors of ``ids`` (zero rows for ids the index does not hold)."""
        import numpy as np

        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for i, memory_id in enumerate(ids):
            place = self._where.get(memory_id)
            if place is not None:
                out[i] = self._blocks[place[0]].matrix[place[1]]
        return out

    # -- search --------------------------------------------------------------------------------

    def _mask(self, block: _Block, f: VectorFilter, now: float) -> npt.NDArray[np.bool_] | None:
        import numpy as np

        n = block.n
        mask: npt.NDArray[np.bool_] | None = None

        def narrow(condition: npt.NDArray[np.bool_]) -> None:
            nonlocal mask
            mask = condition if mask is None else (mask & condition)

        if not f.include_superseded and block.inactive:
            narrow(block.active[:n])
        if not f.include_expired and block.expiring:
            narrow(block.expires[:n] > now)
        if f.min_importance is not None:
            narrow(block.importance[:n] >= f.min_importance)
        if f.since is not None:
            narrow(block.created[:n] >= f.since.timestamp())
        if f.until is not None:
            narrow(block.created[:n] < f.until.timestamp())
        if f.session_id is not None:
            code = self._sessions.get(f.session_id, -2)
            narrow(block.session[:n] == code)
        if f.pinned is not None:
            narrow(block.pinned[:n] == f.pinned)
        if f.allowed is not None:
            allowed = np.zeros(n, dtype=bool)
            for i, memory_id in enumerate(block.ids):
                if memory_id in f.allowed:
                    allowed[i] = True
            narrow(allowed)
        return mask

    def search(
        self,
        queries: F32,
        k: int,
        f: VectorFilter | None = None,
        *,
        now: float = 0.0,
        min_score: float | None = None,
    ) -> list[list[tuple[str, float]]]:
        """The ``k`` most similar memories to each query row, best first, as ``(id, cosine)``.

        Args:
            queries: Unit query vectors, shape ``(q, dim)``.
            k: How many per query.
            f: Filters; None means every current, unexpired memory.
            now: The time expiry is judged against.
            min_score: Only memories at least this similar (conflict checks ask for a few
                close neighbours of many texts: a threshold finds them without a top-k
                selection over every row).
        """
        import numpy as np

        f = f or VectorFilter()
        if queries.ndim == 1:
            queries = queries[None, :]
        wanted = {str(c) for c in f.categories} if f.categories else None
        found: list[list[tuple[str, float]]] = [[] for _ in range(len(queries))]
        for category, block in self._blocks.items():
            if block.n == 0 or (wanted is not None and category not in wanted):
                continue
            mask = self._mask(block, f, now)
            rows: npt.NDArray[np.intp] | None = None
            if mask is None:
                scores = queries @ block.matrix[: block.n].T
            else:
                rows = np.flatnonzero(mask)
                if len(rows) == 0:
                    continue
                if len(rows) * 4 < block.n:
                    # A narrow filter: gathering its rows beats scoring the whole block.
                    scores = queries @ block.matrix[rows].T
                else:
                    scores = (queries @ block.matrix[: block.n].T)[:, rows]
            if min_score is not None:
                which, cols = np.nonzero(scores >= min_score)
            else:
                keep = min(k, scores.shape[1])
                if keep < scores.shape[1]:
                    top = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
                else:
                    top = np.broadcast_to(np.arange(keep), (len(queries), keep))
                which = np.repeat(np.arange(len(queries)), keep)
                cols = top.ravel()
            picked = scores[which, cols]
            positions = cols if rows is None else rows[cols]
            ids = block.ids
            for qi, at, score in zip(
                which.tolist(), positions.tolist(), picked.tolist(), strict=True
            ):
                found[qi].append((ids[at], score))
        for hits in found:
            hits.sort(key=lambda item: item[1], reverse=True)
            del hits[k:]
        return found
