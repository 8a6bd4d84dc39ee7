"""Changing, forgetting and restoring memories that are already stored.

Each operation is one all-or-nothing transaction on the store holding the memory, followed by
the in-memory indexes learning what changed. Nothing is lost silently: an update keeps the
earlier wording as history (a copy under a new id, superseded by the memory), a restore swaps
a memory back in place of its successor, and forgetting a memory forgets the wordings update
kept of it (they are its own history, not separate memories).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from .._errors import MemoryNotFoundError
from .._models import Memory
from ..stores.base import UNIQUE_METADATA_KEYS, LogEntry, Store
from ._conflicts import content_tokens
from ._indexes import Indexes
from ._pipeline import memory_index_row, snapshot_row

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["forget", "forget_many", "restore", "update"]


async def update(
    store: Store,
    memory_id: str,
    fields: dict[str, Any],
    *,
    redacted: set[str],
    vector: npt.NDArray[np.float32] | None,
    indexes: Indexes,
    source: str,
) -> Memory:
    """Set checked ``fields`` on one memory; a new text keeps the earlier one as history.

    ``redacted`` are the kinds of secret the privacy guard took out of the new values (added
    to those the memory already records); ``vector`` is the new text's embedding, if any.
    """
    index = indexes.vectors.get(store)
    earlier: Memory | None = None
    earlier_vector: npt.NDArray[np.float32] | None = None
    async with store.write() as tx:
        if set(fields) != {"expires_at"}:  # moving the expiry alone is not an edit
            fields["updated_at"] = tx.now
        current = await tx.get_many([memory_id])
        if "text" in fields and "metadata" in fields:
            # Everything the guard checks was replaced: what it redacted before is gone.
            fields["redactions"] = json.dumps(sorted(redacted))
        elif redacted:  # privacy guard: add to the kinds already recorded on the memory
            known = set(current[0].redactions) if current else set()
            fields["redactions"] = json.dumps(sorted(known | redacted))
        detail: dict[str, Any] = {}
        # A keyed item (a LangGraph store's) is overwritten in place, as its store promises:
        # a history copy would hold the same namespace + key, which the store keeps unique.
        keyed = bool(current) and UNIQUE_METADATA_KEYS[0] in current[0].metadata
        if current and not keyed and "text" in fields and current[0].text != fields["text"]:
            # The earlier wording stays as history, as a supersede keeps it: a copy under a
            # new id, superseded by this one, so history() shows it and restore() can bring
            # it back. The memory keeps its id.
            if index is not None and memory_id in index:
                earlier_vector = index.vectors([memory_id])[0]
            row = snapshot_row(current[0], uuid.uuid4().hex, earlier_vector, indexes.embedder_name)
            await tx.insert_many([row])
            await tx.supersede([(row.id, memory_id)])
            detail["earlier_version"] = row.id
            (earlier,) = await tx.get_many([row.id])
        if not await tx.update(memory_id, fields):
            raise MemoryNotFoundError(memory_id)
        changed = sorted(set(fields) - {"updated_at", "content_hash", "embedding_model"})
        await tx.log([("updated", memory_id, source, {"fields": changed, **detail})])
        (memory,) = await tx.get_many([memory_id])
    if "text" in fields and store in indexes.lexicons:
        indexes.lexicons[store].add([(memory_id, content_tokens(memory.text))])
    if index is not None and earlier is not None and earlier_vector is not None:
        index.add([memory_index_row(earlier, superseded=True)], earlier_vector[None, :])
    if index is not None and (memory_id in index or vector is not None):
        if vector is None:
            vector = index.vectors([memory_id])[0]
        superseded = memory.superseded_by is not None
        index.add([memory_index_row(memory, superseded=superseded)], vector[None, :])
    return memory


async def forget(store: Store, memory_id: str, *, indexes: Indexes, source: str) -> None:
    """Delete one memory, and the earlier wordings update kept of it, for good."""
    async with store.write() as tx:
        earlier = (await tx.earlier_versions([memory_id])).get(memory_id, [])
        if not await tx.delete_many([memory_id]):
            raise MemoryNotFoundError(memory_id)
        # The wordings update() kept are this memory's own history: they go with it.
        versions = await tx.delete_many(earlier)
        detail = {"earlier_versions": versions} if versions else {}
        await tx.log([("forgotten", memory_id, source, detail)])
    if store in indexes.vectors:
        indexes.vectors[store].remove([memory_id, *versions])
    indexes.forgotten(store)


async def forget_many(
    stores: Sequence[Store], wanted: list[str], *, indexes: Indexes, source: str
) -> int:
    """Delete every memory in ``wanted`` from every store, all or nothing; return how many."""
    total = 0
    gone: list[tuple[Store, list[str]]] = []
    async with AsyncExitStack() as stack:
        for store in stores:
            tx = await stack.enter_async_context(store.write())
            earlier = await tx.earlier_versions(wanted)
            deleted = await tx.delete_many(wanted)
            total += len(deleted)
            # update()'s earlier wordings go with their memory (and are not counted).
            entries: list[LogEntry] = []
            for memory_id in list(deleted):
                versions = await tx.delete_many(earlier.get(memory_id, []))
                deleted += versions
                detail = {"earlier_versions": versions} if versions else {}
                entries.append(("forgotten", memory_id, source, detail))
            await tx.log(entries)
            gone.append((store, deleted))
    for store, deleted in gone:
        if store in indexes.vectors:
            indexes.vectors[store].remove(deleted)
        if deleted:
            indexes.forgotten(store)
    return total


async def restore(store: Store, memory_id: str, *, indexes: Indexes, source: str) -> Memory:
    """Make a superseded memory current again; its successor, if current, becomes history."""
    hidden: list[str] = []
    async with store.write() as tx:
        (memory,) = await tx.get_many([memory_id])
        if memory.superseded_by is None:
            return memory
        successors = await tx.get_many([memory.superseded_by])
        await tx.update(memory_id, {"superseded_by": None, "superseded_at": None})
        if successors and successors[0].superseded_by is None:
            await tx.supersede([(successors[0].id, memory_id)])
            hidden.append(successors[0].id)
        await tx.log([("restored", memory_id, source, {"was_superseded_by": memory.superseded_by})])
        (memory,) = await tx.get_many([memory_id])
    if store in indexes.lexicons:
        indexes.lexicons[store].add([(memory_id, content_tokens(memory.text))])
    index = indexes.vectors.get(store)
    if index is not None:
        index.set_superseded([memory_id], False)
        index.set_superseded(hidden)
    return memory
