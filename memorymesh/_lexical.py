"""An in-memory token index of one store, for finding duplicate/contradiction candidates fast.

A near-duplicate or contradiction shares most of its subject words with the new text (see
:func:`memorymesh._contradiction.judge`), so it must contain at least one of the new text's
few *rarest* words. The index maps each subject word to the memories that have it; a lookup
unions the postings of the rarest words, counts shared words, and keeps the memories that
share enough. That costs microseconds per text where an FTS5 query costs a millisecond.

The index is append-only: a forgotten, superseded or rewritten memory may linger in it, so
callers verify every candidate against the store (one read per batch) before judging it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._contradiction import Tokens

__all__ = ["LexicalIndex", "max_missing"]

# Past this many candidates a text's rarest words are too common to narrow anything: the
# closest (by shared words) are kept.
_MAX_CANDIDATES = 64
#: Most memories probed per word. Even a new text's rarest words can be shared by thousands
#: of memories (templated notes, logs); probing only the most recent holders keeps a write's
#: cost flat as the store grows, and recent memories are the likeliest to be restated.
_MAX_POSTINGS = 512


def max_missing(size: int) -> int:
    """How many of a text's ``size`` subject words a conflicting memory may lack."""
    return max(2, (2 * size) // 5)


class LexicalIndex:
    """Subject word → memory ids, plus each memory's subject words."""

    def __init__(self) -> None:
        self._postings: dict[str, list[str]] = {}
        self._tokens: dict[str, Tokens] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, items: Iterable[tuple[str, Tokens]]) -> None:
        """Index (or re-index, after a text change) memories with their content tokens."""
        for memory_id, tokens in items:
            old = self._tokens.get(memory_id)
            self._tokens[memory_id] = tokens
            for token in tokens[0] - old[0] if old is not None else tokens[0]:
                self._postings.setdefault(token, []).append(memory_id)

    def tokens(self, memory_id: str) -> Tokens | None:
        return self._tokens.get(memory_id)

    def candidates(self, tokens: frozenset[str]) -> list[str]:
        """Ids of memories that share enough of ``tokens`` to be a conflict, closest first."""
        if not tokens:
            return []
        by_rarity = sorted(tokens, key=lambda t: len(self._postings.get(t, ())))
        probe = by_rarity[: max_missing(len(tokens)) + 1]
        needed = min(2, len(tokens))
        shared: dict[str, int] = {}
        for token in probe:
            for memory_id in self._postings.get(token, [])[-_MAX_POSTINGS:]:
                if memory_id not in shared:
                    known = self._tokens.get(memory_id)
                    shared[memory_id] = len(known[0] & tokens) if known else 0
        found = [(n, mid) for mid, n in shared.items() if n >= needed]
        found.sort(reverse=True)
        return [mid for _, mid in found[:_MAX_CANDIDATES]]
