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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

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


class FileIds:
    """A file block's ids: fixed-width bytes in the memory-mapped file, decoded one at a time
    (a search decodes only its top k), overwritten in place by a swap-remove."""

    def __init__(self, raw: npt.NDArray[np.bytes_]) -> None:
        self.raw = raw
        self.n = len(raw)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, at: int) -> str:
        return bytes(self.raw[at]).decode(errors="replace")  # damaged bytes: no such id

    def __setitem__(self, at: int, memory_id: str) -> None:
        self.raw[at] = memory_id.encode()

    def __iter__(self) -> Iterator[str]:
        return (bytes(b).decode() for b in self.raw[: self.n])

    def pop(self) -> str:
        self.n -= 1
        return bytes(self.raw[self.n]).decode()


class _Block:
    """The rows of one category: a growable matrix and its per-row columns.

    A block loaded from the cache file (see ``_vector_file.py``) is *frozen*: its columns are
    copy-on-write views of the mapped file, so rows can change or leave in place but not be
    added; new rows of its category go to a block of their own.
    """

    frozen = False

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
        self.ids: list[str] | FileIds = []
        self.inactive = 0
        self.expiring = 0

    @classmethod
    def mapped(
        cls,
        matrix: F32,
        columns: dict[str, npt.NDArray[Any]],
        ids: FileIds,
    ) -> _Block:
        """A frozen block over views of the cache file."""
        import numpy as np

        block = cls.__new__(cls)
        block.frozen = True
        block.n = len(matrix)
        block.matrix = matrix
        for name, column in columns.items():
            setattr(block, name, column)
        block.ids = ids
        block.inactive = int(block.n - np.count_nonzero(block.active))
        block.expiring = int(np.count_nonzero(~np.isinf(block.expires)))
        return block

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


Place = tuple[_Block, int]


class VectorIndex:
    """Unit vectors of one store's memories, searchable exactly by cosine similarity.

    Args:
        dim: The embedder's vector length.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._blocks: dict[str, list[_Block]] = {}
        # Where each memory is. Rows of the cache file are found by binary search in its
        # sorted ids (``_file_*``), so opening never builds a dict of every id; this dict
        # holds the rows added since, and file rows that moved (None: removed).
        self._where: dict[str, Place | None] = {}
        self._file_sorted: npt.NDArray[np.bytes_] | None = None
        self._file_order: npt.NDArray[np.int64] | None = None
        self._file_blocks: list[tuple[int, str, _Block]] = []
        self._file_matrix: F32 | None = None
        self._count = 0
        self._sessions: dict[str, int] = {}
        #: Rows added, removed or changed since the index was built or mapped from its file:
        #: how far the file lags behind (see ``Indexes.persist``).
        self.changes = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, memory_id: object) -> bool:
        return isinstance(memory_id, str) and self._place(memory_id) is not None

    def ids(self) -> list[str]:
        """Every memory the index holds."""
        return [
            block.ids[at]
            for blocks in self._blocks.values()
            for block in blocks
            for at in range(block.n)
        ]

    def _place(self, memory_id: str) -> Place | None:
        if memory_id in self._where:
            return self._where[memory_id]
        if self._file_sorted is None or self._file_order is None:
            return None
        import numpy as np

        key = memory_id.encode()
        at = int(np.searchsorted(self._file_sorted, key))
        if at >= len(self._file_sorted) or bytes(self._file_sorted[at]) != key:
            return None
        position = int(self._file_order[at])
        for start, _, block in reversed(self._file_blocks):
            if position >= start:
                # Beyond the block's rows only in a damaged file: not found, not a crash.
                return (block, position - start) if position - start < block.n else None
        return None

    def _session_code(self, session_id: str | None) -> int:
        if session_id is None:
            return -1
        return self._sessions.setdefault(session_id, len(self._sessions))

    def _open_block(self, category: str) -> _Block:
        blocks = self._blocks.setdefault(category, [])
        if not blocks or blocks[-1].frozen:
            blocks.append(_Block(self.dim))
        return blocks[-1]

    # -- the cache file ------------------------------------------------------------------------

    def map_file(
        self,
        matrix: F32,
        blocks: Sequence[tuple[str, _Block]],
        sessions: Sequence[str],
        sorted_ids: npt.NDArray[np.bytes_],
        order: npt.NDArray[np.int64],
    ) -> None:
        """Take rows from the cache file: its whole matrix, frozen blocks over consecutive
        rows of it in file order, the session names their codes stand for, and the file's
        ids sorted with their row positions."""
        self._file_matrix = matrix
        start = 0
        for category, block in blocks:
            self._blocks.setdefault(category, []).append(block)
            self._file_blocks.append((start, category, block))
            start += block.n
        self._count += start
        self._sessions = {name: code for code, name in enumerate(sessions)}
        self._file_sorted = sorted_ids
        self._file_order = order

    def blocks(self) -> list[tuple[str, _Block]]:
        """Every non-empty block with its category, for writing the cache file."""
        return [(c, b) for c, blocks in self._blocks.items() for b in blocks if b.n]

    def session_names(self) -> list[str]:
        """The session names in code order."""
        return list(self._sessions)

    # -- keeping in step with the store --------------------------------------------------------

    def add(self, rows: Sequence[IndexRow], vectors: F32) -> None:
        """Add (or replace) memories with their unit vectors, one row of ``vectors`` each."""
        import numpy as np

        if len(rows) != len(vectors):
            raise ValueError("one vector per row")
        if vectors.ndim != 2 or (len(rows) and vectors.shape[1] != self.dim):
            raise ValueError(f"vectors must have shape (n, {self.dim})")
        self.remove(r.id for r in rows if r.id in self)
        by_category: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_category.setdefault(row.category, []).append(i)
        for category, positions in by_category.items():
            block = self._open_block(category)
            start = block.n
            block._grow(start + len(positions))
            stop = start + len(positions)
            block.matrix[start:stop] = vectors[positions]
            ids = block.ids
            assert isinstance(ids, list)
            # Column by column, not row by row: rebuilding a large index adds pages of
            # 20,000 rows, and a numpy item assignment per row per column dominated it.
            chosen = [rows[i] for i in positions]
            never = [r.expires_at is None or r.pinned for r in chosen]
            block.importance[start:stop] = [r.importance for r in chosen]
            block.pinned[start:stop] = [r.pinned for r in chosen]
            block.created[start:stop] = [r.created_at for r in chosen]
            block.expires[start:stop] = [
                np.inf if nv else r.expires_at for r, nv in zip(chosen, never, strict=True)
            ]
            block.expiring += len(chosen) - sum(never)
            block.session[start:stop] = [self._session_code(r.session_id) for r in chosen]
            block.active[start:stop] = [not r.superseded for r in chosen]
            block.inactive += sum(r.superseded for r in chosen)
            ids.extend(r.id for r in chosen)
            for at, row in enumerate(chosen, start):
                self._where[row.id] = (block, at)
            block.n = stop
        self._count += len(rows)
        self.changes += len(rows)

    def remove(self, ids: Iterable[str]) -> None:
        """Drop memories (forgotten ones); unknown ids are ignored."""
        import numpy as np

        for memory_id in list(ids):
            place = self._place(memory_id)
            if place is None:
                continue
            if self._file_sorted is None:
                del self._where[memory_id]
            else:
                self._where[memory_id] = None  # a file row: the tombstone hides it
            block, at = place
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
                self._where[moved] = (block, at)
            block.ids.pop()
            block.active[last] = False
            block.n = last
            self._count -= 1
            self.changes += 1

    def set_superseded(self, ids: Iterable[str], superseded: bool = True) -> None:
        """Hide (or, with ``superseded=False``, restore) memories without dropping vectors."""
        for memory_id in ids:
            place = self._place(memory_id)
            if place is None:
                continue
            block, at = place
            if block.active[at] == superseded:
                block.active[at] = not superseded
                block.inactive += 1 if superseded else -1
                self.changes += 1

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

        place = self._place(memory_id)
        if place is None:
            return
        block, at = place
        self.changes += 1
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
            place = self._place(memory_id)
            if place is not None:
                out[i] = place[0].matrix[place[1]]
        return out

    # -- search --------------------------------------------------------------------------------

    def _allowed(self, allowed: frozenset[str]) -> dict[int, list[int]]:
        """The rows of ``allowed`` ids, per block (by ``id()``)."""
        rows: dict[int, list[int]] = {}
        for memory_id in allowed:
            place = self._place(memory_id)
            if place is not None:
                rows.setdefault(id(place[0]), []).append(place[1])
        return rows

    def _mask(
        self,
        block: _Block,
        f: VectorFilter,
        now: float,
        allowed: dict[int, list[int]] | None = None,
    ) -> npt.NDArray[np.bool_] | None:
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
            if allowed is None:
                allowed = self._allowed(f.allowed)
            only = np.zeros(n, dtype=bool)
            only[allowed.get(id(block), [])] = True
            narrow(only)
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
        allowed = self._allowed(f.allowed) if f.allowed is not None else None
        # The file's blocks are consecutive rows of one matrix: one product over all of it
        # beats one per block (BLAS pays its fixed cost, threads included, per call), unless
        # a category filter leaves little of it to score.
        file_scores: F32 | None = None
        starts: dict[int, int] = {}
        if self._file_matrix is not None and self._file_blocks:
            starts = {id(b): start for start, _, b in self._file_blocks}
            scored = sum(b.n for _, c, b in self._file_blocks if wanted is None or c in wanted)
            if scored * 2 >= len(self._file_matrix):
                file_scores = queries @ self._file_matrix.T
        # A threshold over the file's scores: one pass over the whole product, then only
        # the few hits are sorted into their blocks (slicing and masking every block's
        # columns first copied most of the product again: ~1.3-2.5x the product's own cost
        # for a conflict check's 1,000 x N).
        file_hits: dict[int, tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] = {}
        no_rows = np.zeros(0, dtype=np.intp)
        if file_scores is not None and min_score is not None:
            which_all, cols_all = _above(file_scores, min_score)
            bounds = np.array([start for start, _, _ in self._file_blocks], dtype=np.intp)
            owner_of = np.searchsorted(bounds, cols_all, side="right") - 1
            for index in np.unique(owner_of).tolist():
                start, _, block = self._file_blocks[index]
                sel = owner_of == index
                file_hits[id(block)] = (which_all[sel], cols_all[sel] - start)
        # Per block, the candidates' (query, block, row, score): ids are decoded only for
        # the k kept at the end, never for every row scored.
        picks: list[tuple[_Block, npt.NDArray[np.intp], npt.NDArray[np.intp], F32]] = []
        for category, blocks in self._blocks.items():
            if wanted is not None and category not in wanted:
                continue
            for block in blocks:
                if block.n == 0:
                    continue
                mask = self._mask(block, f, now, allowed)
                if file_scores is not None and min_score is not None and id(block) in starts:
                    which, cols = file_hits.get(id(block), (no_rows, no_rows))
                    inside = cols < block.n
                    if mask is not None:
                        inside[inside] = mask[cols[inside]]
                    which, cols = which[inside], cols[inside]
                    if len(cols):
                        picked = file_scores[which, cols + starts[id(block)]]
                        picks.append((block, which, cols, picked))
                    continue
                rows: npt.NDArray[np.intp] | None = None
                full: F32 | None = None
                if file_scores is not None and id(block) in starts:
                    start = starts[id(block)]
                    full = file_scores[:, start : start + block.n]
                if mask is None:
                    scores = queries @ block.matrix[: block.n].T if full is None else full
                else:
                    rows = np.flatnonzero(mask)
                    if len(rows) == 0:
                        continue
                    if full is not None:
                        scores = full[:, rows]
                    elif len(rows) * 4 < block.n:
                        # A narrow filter: gathering its rows beats scoring the whole block.
                        scores = queries @ block.matrix[rows].T
                    else:
                        scores = (queries @ block.matrix[: block.n].T)[:, rows]
                if min_score is not None:
                    which, cols = _above(scores, min_score)
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
                picks.append((block, which, positions, picked))
        found: list[list[tuple[str, float]]] = [[] for _ in range(len(queries))]
        if not picks:
            return found
        if len(picks) == 1:
            block, which, positions, scores = picks[0]
            owners = [block]
            owner = np.zeros(len(which), dtype=np.intp)
        else:
            owners = [p[0] for p in picks]
            owner = np.concatenate([np.full(len(p[1]), i, np.intp) for i, p in enumerate(picks)])
            which = np.concatenate([p[1] for p in picks])
            positions = np.concatenate([p[2] for p in picks])
            scores = np.concatenate([p[3] for p in picks])
        # Best first within each query, then the first k of each query.
        order = np.lexsort((-scores, which))
        which, positions, owner = which[order], positions[order], owner[order]
        scores = scores[order]
        for qi, b, at, score in zip(
            which.tolist(), owner.tolist(), positions.tolist(), scores.tolist(), strict=True
        ):
            hits = found[qi]
            if len(hits) < k:
                hits.append((owners[b].ids[at], score))
        return found


def _above(scores: F32, threshold: float) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``np.nonzero(scores >= threshold)``, row-major as it gives them: rows with no score
    that high are dropped first by their maximum (a fast reduction), since ``nonzero`` over
    a whole batch x index product cost as much as the product itself."""
    import numpy as np

    rows = np.flatnonzero(scores.max(axis=1) >= threshold) if scores.size else np.zeros(0, np.intp)
    which, cols = np.nonzero(scores[rows] >= threshold)
    return rows[which], cols
