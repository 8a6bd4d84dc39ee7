"""An in-memory token index of one store, for finding duplicate/contradiction candidates fast.

A near-duplicate or contradiction shares many of its subject words with the new text: a
conflicting memory holds :func:`needed_shared` of them. So it holds
at least two of the text's ``size - needed + 2`` *rarest* words (pigeonhole). A lookup counts,
over the postings of just those rare words, how often each memory appears, and only memories
seen at least twice are compared word for word. Rare words have short postings, and requiring
two hits instead of one discards nearly every memory that merely shares a word: microseconds
per text where an FTS5 query costs a millisecond.

The index is append-only: a forgotten, superseded or rewritten memory may linger in it, so
callers verify every candidate against the store (one read per batch) before judging it.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar, cast, overload

if TYPE_CHECKING:
    from ..stores.base import TokenPostings, TokenRow


__all__ = [
    "LexicalIndex",
    "StoredLexicon",
    "Tokens",
    "candidate_keys",
    "max_missing",
    "needed_shared",
    "probe_words",
]

K = TypeVar("K", bound=Hashable)

#: A text's ``(subject words, numbers, negated)``, see
#: :func:`memorymesh.writes._conflicts.content_tokens`.
Tokens = tuple[frozenset[str], frozenset[str], bool]

# Past this many candidates a text's rarest words are too common to narrow anything: the
# closest (by shared words) are kept.
_MAX_CANDIDATES = 64
#: Most memories probed per word. Even a new text's rarest words can be shared by thousands
#: of memories (templated notes, logs); probing only the most recent holders keeps a write's
#: cost flat as the store grows, and recent memories are the likeliest to be restated.
_MAX_POSTINGS = 512
# Slots are int32 (the postings' arrays): a candidate's sort key is shared words << 32 | slot.
_SLOT_BITS = 32
_SLOT_MASK = (1 << _SLOT_BITS) - 1
_SEQ_MASK = (1 << 64) - 1
#: Up to this many probed postings, a lookup counts them in Python rather than numpy.
_SMALL_PROBE = 96


def max_missing(size: int) -> int:
    """How many of a text's ``size`` subject words a memory it conflicts with may lack."""
    return max(3, size // 2)


def needed_shared(size: int) -> int:
    """How many of a text's ``size`` subject words a memory it conflicts with must share.

    Every lexical verdict of :func:`memorymesh.writes._conflicts.judge` keeps to this: a
    replaced value leaves at most three of the new words out, an elaboration that contains
    the old text at most half, the other rules fewer. The index prunes candidates by it, so
    a change to ``judge`` that loosens it must change this too: ``tests/test_lexical_cap.py``
    checks the two agree.
    """
    return max(min(2, size), size - max_missing(size))


_Packed = tuple[tuple[str, ...], tuple[str, ...], bool]
V = TypeVar("V")


def probe_words(
    words: Iterable[str], held: Mapping[str, V], probed: int, size: Callable[[V], int]
) -> list[str]:
    """The ``probed`` rarest of ``words`` that ``held`` knows (``size`` of its value: how
    many memories hold the word), ties broken by the word itself.

    ``words`` is a frozenset, whose order follows the process's hash seed: ordered by
    rarity alone, which of equally rare words are probed (and so, once a word's holders pass
    ``_MAX_POSTINGS``, which memories are candidates, and which conflicts a write finds)
    changed from one process to the next. The probe PostgreSQL plans in SQL orders them the
    same way.
    """
    known = [w for w in words if w in held]
    if len(known) <= probed:
        return known  # every word is probed: their order changes nothing
    return sorted(known, key=lambda w: (size(held[w]), w))[:probed]


def _plan(size: int, needed: int | None = None) -> tuple[int, int, int]:
    """``(needed, probed, hits)`` for a text of ``size`` subject words: a memory holding
    ``needed`` of the words holds ``hits`` of the ``probed`` rarest ones (``needed`` is
    :func:`needed_shared` unless given: a probe by a wider set of words asks for fewer)."""
    needed = needed_shared(size) if needed is None else min(size, needed)
    probed = min(size, size - needed + 2)
    return needed, probed, needed - (size - probed)


def _pack(tokens: Tokens) -> _Packed:
    return tuple(tokens[0]), tuple(tokens[1]), tokens[2]


class LexicalIndex(Generic[K]):
    """Subject word → memory keys (ids in a store, positions in a batch), plus each
    memory's subject words.

    Memories are numbered in the order they are first indexed and postings hold those
    numbers in ``int32`` arrays, so a lookup's counting is one numpy sort over the probed
    postings rather than a Python loop over them. Each memory's words are kept as tuples of
    strings, which the garbage collector stops tracking, rather than frozensets, which it
    scans on every full collection: at 100k memories that was ~300k objects per pass.
    """

    def __init__(self) -> None:
        self._slots: dict[K, int] = {}
        self._keys: list[K] = []
        self._tokens: list[_Packed] = []
        self._postings: dict[str, array[int]] = {}
        # Memories whose subject is one word: judged against any text that has that word.
        self._single: dict[str, array[int]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, items: Iterable[tuple[K, Tokens]]) -> None:
        """Index (or re-index, after a text change) memories with their content tokens."""
        postings, single = self._postings, self._single
        for key, tokens in items:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = len(self._keys)
                self._keys.append(key)
                self._tokens.append(_pack(tokens))
                new_words = tokens[0]
            else:
                new_words = tokens[0].difference(self._tokens[slot][0])
                self._tokens[slot] = _pack(tokens)
            for word in new_words:
                held = postings.get(word)
                if held is None:
                    held = postings[word] = array("i")
                held.append(slot)
            if len(tokens[0]) == 1:
                (word,) = tokens[0]
                single.setdefault(word, array("i")).append(slot)

    def tokens(self, key: K) -> Tokens | None:
        slot = self._slots.get(key)
        if slot is None:
            return None
        words, numbers, negated = self._tokens[slot]
        return frozenset(words), frozenset(numbers), negated

    def candidates(self, tokens: frozenset[str], needed: int | None = None) -> list[K]:
        """Keys of memories that share enough of ``tokens`` to be a conflict (``needed`` of
        them, if given), closest first (the most recent first among equally close ones)."""
        size = len(tokens)
        if not size:
            return []
        needed, probed, hits = _plan(size, needed)
        postings = self._postings
        held = [postings[w] for w in probe_words(tokens, postings, probed, len)]
        # Each candidate as one int, shared words above slot: a plain descending sort of
        # ints orders them closest first, the most recent first among equals (a sort by a
        # tuple key cost more than the rest of a lookup when texts share many words).
        found: list[int] = []
        if held:
            probes = [h[-_MAX_POSTINGS:] for h in held]
            repeated: Iterable[int]
            if sum(map(len, probes)) <= _SMALL_PROBE:
                # A few postings (a batch's own index, rare words): counted in a dict, at a
                # fraction of numpy's fixed cost per call.
                seen: dict[int, int] = {}
                for probe in probes:
                    for slot in probe:
                        seen[slot] = seen.get(slot, 0) + 1
                repeated = [slot for slot, n in seen.items() if n >= hits]
            else:
                import numpy as np

                merged = np.concatenate(probes)
                merged.sort()
                # In sorted order, a slot seen `hits` times equals the entry `hits - 1` later.
                span = len(merged) - hits + 1
                repeated = np.unique(
                    merged[:span][merged[hits - 1 :] == merged[:span]] if span > 0 else merged[:0]
                ).tolist()
            words = self._tokens
            intersection = tokens.intersection
            for slot in repeated:
                shared = len(intersection(words[slot][0]))
                if shared >= needed:
                    found.append(shared << _SLOT_BITS | slot)
        if needed > 1:
            found.extend(
                1 << _SLOT_BITS | slot
                for word in tokens
                for slot in self._single.get(word, ())[-_MAX_POSTINGS:]
                if len(self._tokens[slot][0]) == 1
            )
        found.sort(reverse=True)
        keys = self._keys
        return [keys[item & _SLOT_MASK] for item in found[:_MAX_CANDIDATES]]

    async def lookup(
        self,
        token_sets: Sequence[frozenset[str]],
        needed: int | None = None,
        limit: int = _MAX_CANDIDATES,
    ) -> list[Sequence[tuple[K, Tokens]]]:
        """Per text's subject words, :meth:`candidates` with their tokens (as
        :meth:`StoredLexicon.lookup`), each candidate's tokens built only when read."""
        return [_Candidates(self, self.candidates(words, needed)[:limit]) for words in token_sets]


class _Candidates(Sequence[tuple[K, Tokens]]):
    """One text's candidates from a :class:`LexicalIndex`: their keys, and their tokens built
    as each is read. A write stops reading at its first few matches, and building every
    candidate's sets up front cost a quarter of a write of texts sharing many words."""

    __slots__ = ("_index", "keys")

    def __init__(self, index: LexicalIndex[K], keys: list[K]) -> None:
        self._index = index
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, at: int) -> tuple[K, Tokens]: ...

    @overload
    def __getitem__(self, at: slice) -> Sequence[tuple[K, Tokens]]: ...

    def __getitem__(self, at: int | slice) -> tuple[K, Tokens] | Sequence[tuple[K, Tokens]]:
        if isinstance(at, slice):
            return _Candidates(self._index, self.keys[at])
        key = self.keys[at]
        return key, cast(Tokens, self._index.tokens(key))  # candidates are indexed keys

    def __iter__(self) -> Iterator[tuple[K, Tokens]]:
        tokens = self._index.tokens
        for key in self.keys:
            yield key, cast(Tokens, tokens(key))


def candidate_keys(row: Sequence[tuple[K, Tokens]]) -> list[K]:
    """The keys of one text's candidates from a lookup, without building their tokens."""
    return row.keys if isinstance(row, _Candidates) else [key for key, _ in row]


class StoredLexicon:
    """:class:`LexicalIndex`'s lookup over the tokens a store keeps (``TokenPostings``):
    the same rarest-words probe, caps and order, in four reads per batch (word counts,
    postings of the probed words, one-word memories, the candidates' tokens) whatever the
    store's size, or two where the store plans the probe itself (``TokenCandidates``:
    PostgreSQL, its first three reads in one statement). The stored tokens are current
    (kept in the write's own transaction), and ``seq`` order is the order an index built
    from the store would have numbered them in.
    """

    def __init__(self, source: TokenPostings) -> None:
        self.source = source

    async def lookup(
        self,
        token_sets: Sequence[frozenset[str]],
        needed: int | None = None,
        limit: int = _MAX_CANDIDATES,
    ) -> list[list[tuple[str, Tokens]]]:
        """Per text's subject words, the memories sharing enough of them to be a conflict
        (``needed`` of them, if given), closest first (the most recent first among equally
        close ones), at most ``limit`` of them, with their tokens."""
        from ..stores.base import TokenCandidates

        if not isinstance(self.source, TokenCandidates):
            return await self.lookup_by_reads(token_sets, needed, limit)
        asked = [words for words in token_sets if words]
        probed, postings, singles = await self.source.probe(
            [(words, *_plan(len(words), needed)) for words in asked], _MAX_POSTINGS
        )
        held = iter(probed)
        probes: list[tuple[int, int, list[str]] | None] = []
        for words in token_sets:
            if not words:
                probes.append(None)
                continue
            least, _, hits = _plan(len(words), needed)
            probes.append((least, hits, next(held)))
        return await self._candidates(token_sets, probes, postings, singles, limit)

    async def lookup_by_reads(
        self,
        token_sets: Sequence[frozenset[str]],
        needed: int | None = None,
        limit: int = _MAX_CANDIDATES,
    ) -> list[list[tuple[str, Tokens]]]:
        """:meth:`lookup` in four reads of the stored tokens, each for the whole batch."""
        source = self.source
        asked = needed
        every = set().union(*token_sets) if token_sets else set()
        counts = await source.counts(every)
        probes: list[tuple[int, int, list[str]] | None] = []
        probe: set[str] = set()
        singles_wanted: set[str] = set()
        for words in token_sets:
            size = len(words)
            if not size:
                probes.append(None)
                continue
            needed, probed, hits = _plan(size, asked)
            held = probe_words(words, counts, probed, int)
            probe.update(held)
            if needed > 1:
                singles_wanted.update(w for w in words if w in counts)
            probes.append((needed, hits, held))
        postings = await source.postings(probe, _MAX_POSTINGS)
        singles = await source.postings(singles_wanted, _MAX_POSTINGS, single=True)
        return await self._candidates(token_sets, probes, postings, singles, limit)

    async def _candidates(
        self,
        token_sets: Sequence[frozenset[str]],
        probes: Sequence[tuple[int, int, list[str]] | None],
        postings: Mapping[str, list[int]],
        singles: Mapping[str, list[int]],
        limit: int,
    ) -> list[list[tuple[str, Tokens]]]:
        """Count each text's hits in its probed words' ``postings`` (``probes``: how many
        words a candidate must share, how many hits it needs, the words probed), read the
        tokens of the memories hit enough and of the one-word ``singles``, and rank them."""
        plans: list[tuple[int, list[int], list[int]] | None] = []
        wanted: set[int] = set()
        for words, plan in zip(token_sets, probes, strict=True):
            if plan is None:
                plans.append(None)
                continue
            needed, hits, held = plan
            tally: dict[int, int] = {}
            for word in held:
                for seq in postings.get(word, ()):
                    tally[seq] = tally.get(seq, 0) + 1
            repeated = [seq for seq, n in tally.items() if n >= hits]
            ones = [seq for word in words for seq in singles.get(word, ())] if needed > 1 else []
            wanted.update(repeated, ones)
            plans.append((needed, repeated, ones))
        entries = await self.source.entries(wanted)
        return _ranked(token_sets, plans, entries, limit)


def _ranked(
    token_sets: Sequence[frozenset[str]],
    plans: Sequence[tuple[int, list[int], list[int]] | None],
    entries: Mapping[int, TokenRow],
    limit: int,
) -> list[list[tuple[str, Tokens]]]:
    """Per text, its probe's memories (``plans``: how many words a candidate must share,
    the memories its probe hit enough times, the one-word memories holding one of its
    words) that share enough words, closest first, the most recent first among equals."""
    found_all: list[list[tuple[str, Tokens]]] = []
    for words, plan in zip(token_sets, plans, strict=True):
        if plan is None:
            found_all.append([])
            continue
        needed, repeated, ones = plan
        found: list[int] = []  # shared words << 64 | seq, as in LexicalIndex.candidates
        for seq in repeated:
            entry = entries.get(seq)
            if entry is not None:
                shared = len(words.intersection(entry[2][0]))
                if shared >= needed:
                    found.append(shared << 64 | seq)
        if needed > 1:
            found.extend(1 << 64 | seq for seq in ones if seq in entries)
        found.sort(reverse=True)
        found_all.append(
            [
                (entries[seq][1], entries[seq][2])
                for seq in (item & _SEQ_MASK for item in found[:limit])
            ]
        )
    return found_all
