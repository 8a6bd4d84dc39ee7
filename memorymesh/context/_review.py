"""The review queue and compaction's archive: moving memories between life-cycle statuses.

Hooks queue what they capture as ``pending``; a person accepts (``active``) or rejects it.
Compaction archives stale memories (``archived``) and supersedes merged ones; restoring makes
them current again. Each function works on the stores it is given, one all-or-nothing
transaction per store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from .._errors import InvalidInputError
from .._models import Memory
from .._text import content_hash
from ..stores.base import Filters, Store

__all__ = ["accept", "by_status", "id_list", "reject", "restore_compacted"]


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
                await tx.update(memory_id, {"superseded_by": None, "superseded_at": None})
            await tx.set_status(list(present), "active", only_from=("archived",))
            await tx.log([("restored", i, "compact", {}) for i in present])
            restored += await tx.get_many(list(present))
    return restored
