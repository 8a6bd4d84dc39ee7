"""Keeping a store's conflict tokens (``TokenPostings``) in step with its memories.

The tokens follow the store's change feed, not each write path: inside a write transaction,
:func:`sync_tokens` re-tokenises every memory touched since the tokens' mark (inserted,
rewritten, superseded, restored, deleted; by this process, another one, or a version that
knew nothing of tokens) and records the new mark, in that same transaction. A keyword-mode
write syncs before it looks for conflicts and again after it has written, so its own rows
are stored with it, all or nothing. A store never tokenised (just migrated) is filled whole
by its first sync, as is one whose feed was pruned past the mark.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..stores.base import Store, StoreTransaction, TokenRow, token_postings
from ._conflicts import content_tokens, content_tokens_many

__all__ = ["keep_tokens", "refresh_tokens", "sync_tokens"]

# Past this many changed memories a sync reads the texts it re-tokenises in pages.
_PAGE = 5_000


async def sync_tokens(tx: StoreTransaction, *, build: bool = True) -> None:
    """Bring the stored conflict tokens of ``tx``'s store up to the change feed's mark
    (without ``build``, tokens never built are left for the first keyword-mode write)."""
    tokens = token_postings(tx)
    if tokens is None:
        return
    mark = await tokens.mark()
    if mark is None and not build:
        return
    if mark is None:
        ids: list[str] | None = None
        new_mark = await tx.change_mark()
    else:
        changes = await tx.changes_since(mark)
        if not changes.ids:
            return
        ids = None if changes.everything else changes.ids
        new_mark = changes.mark
    if ids is None:
        texts = await tokens.current_texts(None)
        rows: list[TokenRow] = [
            (seq, mid, tok)
            for (seq, mid, _), tok in zip(
                texts, content_tokens_many(text for _, _, text in texts), strict=True
            )
        ]
        await tokens.replace(None, rows, new_mark)
        return
    for start in range(0, len(ids), _PAGE):
        page = ids[start : start + _PAGE]
        texts = await tokens.current_texts(page)
        # Texts just written are in the tokeniser's cache already.
        rows = [(seq, mid, content_tokens(text)) for seq, mid, text in texts]
        await tokens.replace(page, rows, new_mark)


async def keep_tokens(tx: StoreTransaction, keyword_mode: bool, touched: Sequence[str]) -> None:
    """After an edit outside the write pipeline (update, forget, restore): the touched
    memories' tokens follow in the same transaction. A mesh with an embedder finds conflicts
    by vectors and leaves re-tokenising to the next keyword-mode write (the feed names the
    touched memories), but drops their tokens now: a forgotten or rewritten text's words
    leave the file with it."""
    if keyword_mode:
        await sync_tokens(tx, build=False)
        return
    tokens = token_postings(tx)
    if tokens is not None and touched:
        await tokens.replace(touched, [], None)


async def refresh_tokens(store: Store) -> None:
    """Sync the tokens of a store a write reads but does not write to (the other scope),
    in a short transaction of its own, only when they are behind."""
    tokens = token_postings(store)
    if tokens is None:
        return
    mark = await tokens.mark()
    if mark is not None and mark >= await store.change_mark():
        return
    async with store.write() as tx:
        await sync_tokens(tx)
