"""Compaction: merge near-duplicates and archive stale, unimportant, never-used memories.

Nothing is ever deleted. A merged memory stays as history, superseded by the one it was merged
into (``superseded_by``), exactly as when a write supersedes a contradicted memory; a pruned
memory gets the ``archived`` status. Both can be brought back (:meth:`restore_compacted`).

**Scales without a quadratic pass.** Near-duplicate candidates come from the FTS5 index
itself: each memory's stemmed terms are read in one query (an ``fts5vocab`` view), and each
memory is filed under its few *rarest* terms that some other memory shares. Only memories
filed together (same store, same category) are compared, by the Jaccard similarity of their
term sets, so the work grows with the number of memories, not with its square.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._errors import InvalidInputError
from ..stores.base import CompactionRow

if TYPE_CHECKING:
    from ..stores.base import Store
    from ._ports import MeshServices

__all__ = ["CompactPolicy", "CompactReport", "MergeGroup", "compact", "plan_merges", "plan_prunes"]

_SECONDS_PER_DAY = 86_400.0
# A memory is filed under this many of its rarest shared terms; a term shared by more memories
# than _MAX_BUCKET says too little about any one of them to pair them.
_KEYS_PER_MEMORY = 3
_MAX_BUCKET = 64
_MIN_TERMS = 3


class CompactPolicy(BaseModel):
    """What compaction merges and prunes.

    A pair of memories is merged when both are in the same store and category and at least
    ``similarity`` of their distinct (stemmed) words are shared. A memory is archived when it
    is expired, or when it is *all* of: unpinned, less important than ``max_importance``,
    never returned by recall, and not updated for ``stale_days``.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    similarity: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    stale_days: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 180.0
    max_importance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3


class MergeGroup(BaseModel):
    """Near-duplicates folded into one memory."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kept: str
    merged: list[str]
    similarity: float
    """The lowest similarity between the kept memory and one merged into it."""


class CompactReport(BaseModel):
    """What a compaction pass changed (or, with ``dry_run``, would change)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    dry_run: bool
    examined: int
    merges: list[MergeGroup] = Field(default_factory=list)
    archived: list[str] = Field(default_factory=list)
    seconds: float

    @property
    def merged_count(self) -> int:
        return sum(len(g.merged) for g in self.merges)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _rank(row: CompactionRow) -> tuple[bool, float, int, float]:
    # Which copy survives a merge: pinned, then most important, most used, most recent.
    return (row.pinned, row.importance, row.access_count, row.updated_at)


def plan_merges(rows: Sequence[CompactionRow], similarity: float) -> list[MergeGroup]:
    """Groups of near-duplicates among ``rows`` (one store), found through rare shared terms."""
    usable = [r for r in rows if len(r.terms) >= _MIN_TERMS]
    frequency: Counter[str] = Counter(t for r in usable for t in r.terms)
    buckets: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, row in enumerate(usable):
        shared = [t for t in row.terms if 2 <= frequency[t] <= _MAX_BUCKET]
        for term in sorted(shared, key=lambda t: (frequency[t], t))[:_KEYS_PER_MEMORY]:
            buckets[(row.category, term)].append(index)

    parent = list(range(len(usable)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    compared: set[tuple[int, int]] = set()
    for members in buckets.values():
        for position, i in enumerate(members):
            for j in members[position + 1 :]:
                if (i, j) in compared:
                    continue
                compared.add((i, j))
                if _similarity(usable[i].terms, usable[j].terms) >= similarity:
                    parent[find(j)] = find(i)

    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(usable)):
        groups[find(index)].append(index)
    plans: list[MergeGroup] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        keep = max(members, key=lambda i: _rank(usable[i]))
        merged = [usable[i] for i in members if i != keep]
        plans.append(
            MergeGroup(
                kept=usable[keep].id,
                merged=[r.id for r in merged],
                similarity=min(_similarity(usable[keep].terms, r.terms) for r in merged),
            )
        )
    return plans


def plan_prunes(
    rows: Sequence[CompactionRow], policy: CompactPolicy, now: float, skip: set[str]
) -> list[str]:
    """Ids of memories to archive: expired, or stale, unimportant, unused and unpinned."""
    cutoff = now - policy.stale_days * _SECONDS_PER_DAY
    return [
        r.id
        for r in rows
        if r.id not in skip
        and not r.pinned
        and (
            (r.expires_at is not None and r.expires_at <= now)
            or (
                r.importance < policy.max_importance
                and r.access_count == 0
                and r.updated_at <= cutoff
            )
        )
    ]


async def _apply(
    store: Store, merges: list[MergeGroup], archived: list[str], rows: list[CompactionRow]
) -> None:
    importance = {r.id: r.importance for r in rows}
    async with store.write() as tx:
        pairs = [(old, group.kept) for group in merges for old in group.merged]
        await tx.supersede(pairs)
        for group in merges:
            # The survivor is as important as the most important copy it absorbed.
            best = max(importance[i] for i in (group.kept, *group.merged))
            if best > importance[group.kept]:
                await tx.update(group.kept, {"importance": best})
        moved = await tx.set_status(archived, "archived", only_from=("active",))
        await tx.log(
            [("merged", old, "compact", {"into": new}) for old, new in pairs]
            + [("archived", memory_id, "compact", {}) for memory_id in moved]
        )


async def compact(
    mesh: MeshServices, *, dry_run: bool = False, policy: CompactPolicy | None = None
) -> CompactReport:
    """Merge near-duplicates and archive stale memories in every store; see the module doc.

    Raises:
        InvalidInputError: ``policy`` is not a :class:`CompactPolicy`.
        StoreError: the database failed; that store is left as it was.
    """
    chosen = policy or CompactPolicy()
    if not isinstance(chosen, CompactPolicy):
        raise InvalidInputError("policy must be a CompactPolicy")
    try:  # again: model_construct() or attribute assignment skip the field limits
        chosen = CompactPolicy.model_validate(chosen.model_dump())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"policy: {problems}") from None
    started = time.perf_counter()
    await mesh.open()
    now = time.time()
    examined = 0
    all_merges: list[MergeGroup] = []
    all_archived: list[str] = []
    for store in mesh.stores:
        rows = await store.compaction_rows()
        examined += len(rows)
        merges = plan_merges(rows, chosen.similarity)
        merged_away = {i for g in merges for i in g.merged}
        archived = plan_prunes(rows, chosen, now, merged_away | {g.kept for g in merges})
        if not dry_run and (merges or archived):
            await _apply(store, merges, archived, rows)
        all_merges += merges
        all_archived += archived
    return CompactReport(
        dry_run=dry_run,
        examined=examined,
        merges=all_merges,
        archived=all_archived,
        seconds=time.perf_counter() - started,
    )
