"""An in-memory token index of one store, for finding duplicate/contradiction candidates fast.

A near-duplicate or contradiction shares most of its subject words with the new text: a
conflicting memory holds :func:`memorymesh._contradiction.needed_shared` of them. So it holds
at least two of the text's ``size - needed + 2`` *rarest* words (pigeonhole). A lookup counts,
over the postings of just those rare words, how often each memory appears, and only memories
seen at least twice are compared word for word. Rare words have short postings, and requiring
two hits instead of one discards nearly every memory that merely shares a word: microseconds
per text where an FTS5 query costs a millisecond.

The index is append-only: a forgotten, superseded or rewritten memory may linger in it, so
callers verify every candidate against the store (one read per batch) before judging it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ._contradiction import Tokens, needed_shared

__all__ = ["LexicalIndex"]

# Past this many candidates a text's rarest words are too common to narrow anything: the
# closest (by shared words) are kept.
_MAX_CANDIDATES = 64
#: Most memories probed per word. Even a new text's rarest words can be shared by thousands
#: of memories (templated notes, logs); probing only the most recent holders keeps a write's
#: cost flat as the store grows, and recent memories are the likeliest to be restated.
_MAX_POSTINGS = 512


class LexicalIndex:
    """Subject word → memory ids, plus each memory's subject words."""

    def __init__(self) -> None:
        self._postings: dict[str, list[str]] = {}
        self._tokens: dict[str, Tokens] = {}
        # Memories whose subject is one word: judged against any text that has that word.
        self._single: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, items: Iterable[tuple[str, Tokens]]) -> None:
        """Index (or re-index, after a text change) memories with their content tokens."""
        for memory_id, tokens in items:
            old = self._tokens.get(memory_id)
            self._tokens[memory_id] = tokens
            for token in tokens[0] - old[0] if old is not None else tokens[0]:
                self._postings.setdefault(token, []).append(memory_id)
            if len(tokens[0]) == 1:
                (word,) = tokens[0]
                self._single.setdefault(word, []).append(memory_id)

    def tokens(self, memory_id: str) -> Tokens | None:
        return self._tokens.get(memory_id)

    def candidates(self, tokens: frozenset[str]) -> list[str]:
        """Ids of memories that share enough of ``tokens`` to be a conflict, closest first."""
        size = len(tokens)
        if not size:
            return []
        needed = needed_shared(size)
        # A memory holding `needed` of the words holds `hits` of the `probed` rarest ones.
        probed = min(size, size - needed + 2)
        hits = needed - (size - probed)
        postings = self._postings
        by_rarity = sorted(tokens, key=lambda t: len(postings.get(t, ())))
        seen: Counter[str] = Counter()
        for token in by_rarity[:probed]:
            seen.update(postings.get(token, ())[-_MAX_POSTINGS:])
        known = self._tokens
        found = []
        for memory_id in [mid for mid, n in seen.items() if n >= hits]:
            shared = len(known[memory_id][0] & tokens)
            if shared >= needed:
                found.append((shared, memory_id))
        if needed > 1:
            singles = self._single
            found.extend(
                (1, memory_id)
                for token in tokens
                for memory_id in singles.get(token, ())[-_MAX_POSTINGS:]
                if len(known[memory_id][0]) == 1
            )
        found.sort(reverse=True)
        return [mid for _, mid in found[:_MAX_CANDIDATES]]
