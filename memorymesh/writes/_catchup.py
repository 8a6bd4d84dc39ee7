"""Applying other processes' writes to this process's in-memory indexes.

Several processes share one store file: an MCP server per assistant, CLI hooks, scripts. Each
keeps the store's vectors (:class:`VectorIndex`) and conflict tokens (:class:`LexicalIndex`) in
memory, so a memory another process wrote must reach them before they answer: otherwise
vector recall would never find it and conflict checks would never compare against it.

The store's change feed (migration ``0005_change_feed``) names every memory touched since a
process's mark; :func:`apply_changes` makes the indexes match those memories as they are now.
Applying a change twice is harmless, so a process may re-read its own writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..search._lexical import LexicalIndex
from ..search._vectors import IndexRow, VectorIndex, from_blob
from ..stores.base import ChangedMemory
from ._conflicts import content_tokens

if TYPE_CHECKING:
    pass

__all__ = ["CatchUp", "apply_changes"]


@dataclass(slots=True)
class CatchUp:
    """What applying the changes found beyond what the indexes can take in themselves."""

    #: Memories written without a vector (by a process without an embedder): embed them.
    unembedded: list[str] = field(default_factory=list)
    #: Embedders other than ours that vectors were written by: the store needs `reembed`.
    other_models: set[str] = field(default_factory=set)
    #: Memories deleted (forgotten): their vectors must leave the cache file too.
    deleted: list[str] = field(default_factory=list)


def apply_changes(
    touched: Sequence[str],
    now_are: Sequence[ChangedMemory],
    *,
    everything: bool,
    index: VectorIndex | None,
    lexicon: LexicalIndex[str] | None,
    model: str | None,
    vectors_elsewhere: bool = False,
) -> CatchUp:
    """Make ``index`` and ``lexicon`` agree with ``now_are``, the current state of the
    ``touched`` memories (those missing from it were deleted). With ``everything``, the
    memories are the whole store, and the index drops whatever is not among them. With
    ``vectors_elsewhere`` (no index: the store searches its own vectors), only what needs
    embedding or re-embedding is reported."""
    import numpy as np

    found = CatchUp()
    if index is not None:
        present = {m.id for m in now_are}
        gone = index.ids() if everything else touched
        found.deleted = [mid for mid in gone if mid not in present]
        index.remove(found.deleted)
        rows: list[IndexRow] = []
        vectors = []
        for memory in now_are:
            vector = None
            if memory.embedding is not None and memory.embedding_model == model:
                vector = from_blob(memory.embedding, index.dim)
            if vector is None:
                index.remove([memory.id])
                if memory.embedding_model is None or memory.embedding is None:
                    found.unembedded.append(memory.id)
                elif memory.embedding_model != model:
                    found.other_models.add(memory.embedding_model)
                continue
            rows.append(
                IndexRow(
                    id=memory.id,
                    category=memory.category,
                    importance=memory.importance,
                    pinned=memory.pinned,
                    created_at=memory.created_at,
                    expires_at=memory.expires_at,
                    session_id=memory.session_id,
                    superseded=memory.superseded,
                )
            )
            vectors.append(vector)
        if rows:
            index.add(rows, np.stack(vectors))
    elif vectors_elsewhere and model is not None:
        for memory in now_are:
            if memory.embedding_model is None or memory.embedding is None:
                found.unembedded.append(memory.id)
            elif memory.embedding_model != model:
                found.other_models.add(memory.embedding_model)
    if lexicon is not None:
        # The token index is append-only and its hits are confirmed against the store before
        # they count, so a superseded or deleted memory needs nothing here.
        lexicon.add(
            (m.id, content_tokens(m.text)) for m in now_are if m.active and not m.superseded
        )
    return found
