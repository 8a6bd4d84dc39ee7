"""The review queue and compaction's archive: moving memories between life-cycle statuses.

Hooks queue what they capture as ``pending``; a person accepts (``active``) or rejects it.
Compaction archives stale memories (``archived``) and supersedes merged ones; restoring makes
them current again. Each function works on the stores it is given, one all-or-nothing
transaction per store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

from .._errors import InvalidInputError
from .._models import Conflict, ConflictPair, Memory
from .._text import content_hash
from ..stores.base import Filters, Store
from ..writes._indexes import Indexes
from ..writes._judge import pair_memories, settle
from ..writes._privacy import PrivacyGuard

__all__ = [
    "accept",
    "by_status",
    "conflict_pairs",
    "id_list",
    "reject",
    "resolve_pair",
    "restore_compacted",
]


def id_list(ids: Iterable[str], name: str) -> list[str]:
    """``ids`` as a list without repeats, or :class:`InvalidInputError` naming ``name``."""
    if isinstance(ids, str):
        raise InvalidInputError(f"{name} takes a list of ids")
    wanted = list(dict.fromkeys(ids))
    if not all(isinstance(i, str) and i for i in wanted):
        raise InvalidInputError("every id must be a non-empty string")
    return wanted


async def by_status(
    stores: Sequence[Store], status: str, *, limit: int, newest_first: bool
) -> list[Memory]:
    """Up to ``limit`` memories in ``status`` across the stores: by last change, newest first,
    or by creation, oldest first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInputError("limit must be an integer from 1 to 10000")
    now = time.time()
    found: list[Memory] = []
    for store in stores:
        found += await store.select(
            Filters(status=status, include_expired=True),
            order="updated" if newest_first else "oldest",
            limit=limit,
            offset=0,
            now=now,
        )
    # Stable sorts: rows of one batch keep their order.
    if newest_first:
        found.sort(key=lambda m: m.updated_at, reverse=True)
    else:
        found.sort(key=lambda m: m.created_at)
    return found[:limit]


async def accept(stores: Sequence[Store], wanted: list[str]) -> list[Memory]:
    """Make the pending memories among ``wanted`` active, in ``wanted``'s order; a pending
    memory whose text is by now remembered is rejected instead (it would be a duplicate)."""
    accepted: list[Memory] = []
    for store in stores:
        async with store.write() as tx:
            statuses = await tx.statuses(wanted)
            pending = [i for i in wanted if statuses.get(i) == "pending"]
            if not pending:
                continue
            memories = await tx.get_many(pending)
            known = await tx.active_ids_by_hash([content_hash(m.text) for m in memories])
            duplicates = [m.id for m in memories if content_hash(m.text) in known]
            fresh = [m.id for m in memories if m.id not in duplicates]
            await tx.set_status(duplicates, "rejected", only_from=("pending",))
            moved = await tx.set_status(fresh, "active", only_from=("pending",))
            await tx.log(
                [("accepted", i, "review", {}) for i in moved]
                + [("rejected", i, "review", {"duplicate_text": True}) for i in duplicates]
            )
            accepted += await tx.get_many(moved)
    order = {memory_id: index for index, memory_id in enumerate(wanted)}
    return sorted(accepted, key=lambda m: order[m.id])


async def reject(stores: Sequence[Store], wanted: list[str]) -> int:
    """Reject the pending memories among ``wanted``; return how many."""
    total = 0
    for store in stores:
        async with store.write() as tx:
            moved = await tx.set_status(wanted, "rejected", only_from=("pending",))
            await tx.log([("rejected", i, "review", {}) for i in moved])
            total += len(moved)
    return total


async def restore_compacted(stores: Sequence[Store], wanted: list[str]) -> list[Memory]:
    """Make the merged (superseded) or archived memories among ``wanted`` current again."""
    restored: list[Memory] = []
    for store in stores:
        async with store.write() as tx:
            present = await tx.statuses(wanted)
            if not present:
                continue
            for memory_id in present:
                await tx.update(
                    memory_id,
                    {"superseded_by": None, "superseded_at": None, "superseded_across": None},
                )
            await tx.set_status(list(present), "active", only_from=("archived",))
            await tx.log([("restored", i, "compact", {}) for i in present])
            restored += await tx.get_many(list(present))
    return restored


async def conflict_pairs(
    stores: Sequence[Store], *, limit: int, privacy: PrivacyGuard
) -> list[ConflictPair]:
    """The uncertain pairs waiting in the stores (both memories still current), oldest
    first, redacted on the way out like every read."""
    found: list[ConflictPair] = []
    for store in stores:
        rows = await store.pending_pairs(limit=limit)
        # A pair across scopes (project and global) has its old memory in the other store.
        memories = await pair_memories(stores, store, rows)
        for row in rows:
            new, old = memories.get(row.new_id), memories.get(row.old_id)
            if new is None or old is None or new.superseded_by or old.superseded_by:
                continue  # stale: dropped by the next judge run or decision
            new, old = (m.model_copy(update=privacy.scrub_memory(m)) for m in (new, old))
            found.append(
                ConflictPair(
                    new=new,
                    old=old,
                    kind=row.kind,
                    similarity=row.similarity,
                    policy=row.policy,
                    reason=row.reason,
                    created_at=datetime.fromtimestamp(row.created_at, UTC),
                )
            )
    found.sort(key=lambda p: p.created_at)
    return found[:limit]


async def resolve_pair(
    stores: Sequence[Store],
    new_id: str,
    old_id: str,
    action: Literal["replace", "keep_both"],
    *,
    indexes: Indexes | None,
) -> Conflict:
    """A person's decision on a queued pair: ``replace`` (the new memory supersedes the old,
    whatever the write's policy) or ``keep_both``.

    Raises:
        InvalidInputError: no such pair is waiting (or one memory is no longer current).
    """
    for store in stores:
        for row in await store.pending_pairs(limit=10_000):
            if (row.new_id, row.old_id) != (new_id, old_id):
                continue
            decided = await settle(
                store,
                row,
                "replace" if action == "replace" else "keep_both",
                decided_by="review",
                indexes=indexes,
                stores=stores,
            )
            if decided is not None:
                return decided
    raise InvalidInputError(f"no uncertain pair {new_id} / {old_id} is waiting for review")
