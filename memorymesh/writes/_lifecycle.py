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
from ..search._vectors import from_blob
from ..stores.base import (
    UNIQUE_METADATA_KEYS,
    LogEntry,
    Store,
    StoreTransaction,
    TransientWriteError,
    neighbour_searcher,
)
from ._conflicts import content_tokens
from ._indexes import Indexes
from ._pipeline import memory_index_row, snapshot_row, supersede_across
from ._postings import keep_tokens
from ._retry import retried

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["forget", "forget_many", "history_across", "restore", "update"]


async def _update(
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
            elif index is None and indexes.embedder_name is not None:
                # A store that keeps its own vectors: the earlier one is read from it.
                earlier_vector = await _stored_vector(tx, memory_id, indexes.embedder_name)
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
        await keep_tokens(tx, indexes.embedder is None, [memory_id] if "text" in fields else [])
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
    A transient conflict with another writer runs the transaction again (``_retry.py``).
    """
    return await retried(
        lambda: _update(
            store,
            memory_id,
            dict(fields),
            redacted=redacted,
            vector=vector,
            indexes=indexes,
            source=source,
        )
    )


async def forget(store: Store, memory_id: str, *, indexes: Indexes, source: str) -> None:
    """Delete one memory, and the earlier wordings update kept of it, for good."""
    await retried(lambda: _forget(store, memory_id, indexes=indexes, source=source))


async def forget_many(
    stores: Sequence[Store], wanted: list[str], *, indexes: Indexes, source: str
) -> int:
    """Delete every memory in ``wanted`` from every store, all or nothing; return how many."""
    return await retried(lambda: _forget_many(stores, wanted, indexes=indexes, source=source))


async def restore(
    store: Store,
    memory_id: str,
    *,
    indexes: Indexes,
    source: str,
    others: Sequence[Store] = (),
) -> Memory:
    """Make a superseded memory current again; its successor, if current, becomes history
    (in ``others``, the other scope's store, when it was superseded across scopes)."""
    return await retried(
        lambda: _restore(store, memory_id, indexes=indexes, source=source, others=others)
    )


async def _stored_vector(
    tx: StoreTransaction, memory_id: str, model: str
) -> npt.NDArray[np.float32] | None:
    searcher = neighbour_searcher(tx)
    if searcher is None:
        return None
    blob = (await searcher.vectors_of([memory_id], model)).get(memory_id)
    return None if blob is None else from_blob(blob, len(blob) // 4)


async def _forget(store: Store, memory_id: str, *, indexes: Indexes, source: str) -> None:
    """Delete one memory, and the earlier wordings update kept of it, for good."""
    async with store.write() as tx:
        earlier = (await tx.earlier_versions([memory_id])).get(memory_id, [])
        if not await tx.delete_many([memory_id]):
            raise MemoryNotFoundError(memory_id)
        # The wordings update() kept are this memory's own history: they go with it.
        versions = await tx.delete_many(earlier)
        detail = {"earlier_versions": versions} if versions else {}
        await tx.log([("forgotten", memory_id, source, detail)])
        await keep_tokens(tx, indexes.embedder is None, [memory_id, *versions])
    if store in indexes.vectors:
        indexes.vectors[store].remove([memory_id, *versions])
    indexes.forgotten(store, [memory_id, *versions])


async def _forget_many(
    stores: Sequence[Store], wanted: list[str], *, indexes: Indexes, source: str
) -> int:
    total = 0
    gone: list[tuple[Store, list[str]]] = []
    written = False
    try:
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
                await keep_tokens(tx, indexes.embedder is None, deleted)
                gone.append((store, deleted))
            written = True
    except TransientWriteError as exc:
        # Once one store has committed, deleting again would not be all-or-nothing.
        exc.retryable = exc.retryable and not (written and len(stores) > 1)
        raise
    for store, deleted in gone:
        if store in indexes.vectors:
            indexes.vectors[store].remove(deleted)
        if deleted:
            indexes.forgotten(store, deleted)
    return total


async def history_across(stores: Sequence[Store], store: Store, memory_id: str) -> list[Memory]:
    """:meth:`Store.history` of ``memory_id``, followed across scopes: a version superseded
    by (or superseding) a memory of the other scope's store brings that store's chain in.

    Both directions are read from the superseded memory's row (its ``superseded_across``),
    which export/import and ``migrate`` carry, so the link holds from either side wherever
    the stores were copied."""
    found: dict[str, Memory] = {}
    todo: list[tuple[Store, str]] = [(store, memory_id)]
    while todo and len(found) < 1000:
        here, wanted = todo.pop()
        chain = [m for m in await here.history(wanted) if m.id not in found]
        found.update((m.id, m) for m in chain)
        ids = [m.id for m in chain]
        # A version superseded by a memory of another store names it as its successor.
        links = {m.superseded_by for m in chain if m.superseded_by and m.superseded_by not in ids}
        for other in stores:
            if other is here or not ids:
                continue
            for link in links - found.keys():
                if await other.get_many([link]):
                    todo.append((other, link))
            # And a version that superseded memories of another store is named by them.
            todo += [
                (other, m.id) for m in await other.predecessors_across(ids) if m.id not in found
            ]
    # Current versions last; history in the order it was superseded.
    return sorted(
        found.values(),
        key=lambda m: (m.superseded_by is None, (m.superseded_at or m.updated_at).timestamp()),
    )


async def _restore(
    store: Store,
    memory_id: str,
    *,
    indexes: Indexes,
    source: str,
    others: Sequence[Store] = (),
) -> Memory:
    hidden: list[str] = []
    across: str | None = None
    async with store.write() as tx:
        (memory,) = await tx.get_many([memory_id])
        if memory.superseded_by is None:
            return memory
        successors = await tx.get_many([memory.superseded_by])
        await tx.update(
            memory_id, {"superseded_by": None, "superseded_at": None, "superseded_across": None}
        )
        if successors and successors[0].superseded_by is None:
            await tx.supersede([(successors[0].id, memory_id)])
            hidden.append(successors[0].id)
        elif not successors:
            across = memory.superseded_by
        await tx.log([("restored", memory_id, source, {"was_superseded_by": memory.superseded_by})])
        (memory,) = await tx.get_many([memory_id])
        await keep_tokens(tx, indexes.embedder is None, [])
    if store in indexes.lexicons:
        indexes.lexicons[store].add([(memory_id, content_tokens(memory.text))])
    index = indexes.vectors.get(store)
    if index is not None:
        index.set_superseded([memory_id], False)
        index.set_superseded(hidden)
    for other in others if across else ():
        async with other.write() as tx:
            found = await tx.get_many([across])  # type: ignore[list-item]
            if not found or found[0].superseded_by is not None:
                continue
            await supersede_across(tx, [(found[0].id, memory_id)])
        if indexes.vectors.get(other) is not None:
            indexes.vectors[other].set_superseded([found[0].id])
        async with store.write() as tx:  # so history() finds the link from this side too
            await tx.log([("supersedes", memory_id, source, {"across": found[0].id})])
        break
    return memory
