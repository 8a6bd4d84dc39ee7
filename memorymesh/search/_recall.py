"""Finding a recall's candidates: keyword, vector or hybrid, with session context.

The facade checks the arguments and blends the final score (``_scoring``); this module decides
which memories are worth scoring and how relevant each is, in [0, 1]. Keyword relevance comes
from each store's own search; vector relevance from the in-memory indexes, which the caller
keeps fresh through :class:`VectorSource`; hybrid fuses both (``_hybrid``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import anyio

from .._errors import InvalidInputError
from .._models import ScoreBreakdown, ScoringWeights
from .._text import QUESTION_WORDS, STOPWORDS, query_terms
from ..stores._recalled import Recalled, recalled_select
from ..stores.base import Filters, Store, vector_searcher
from ._hybrid import standard_score_fusion
from ._querytime import named_period, prefer_period
from ._scoring import breakdown_of, shared_bm25, signals_many
from ._vectors import VectorIndex, to_blob, vector_filter

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "CANDIDATES_PER_RESULT",
    "MIN_CANDIDATES",
    "MODES",
    "Candidate",
    "RecallMode",
    "VectorSource",
    "candidates",
    "rank",
    "resolve_mode",
    "why_empty",
    "with_session_context",
]

#: ``recall(mode=...)``: ``auto`` is ``hybrid`` with an embedder and ``keyword`` without.
RecallMode = Literal["auto", "keyword", "vector", "hybrid"]
MODES: frozenset[str] = frozenset({"auto", "keyword", "vector", "hybrid"})
# Recall scores this many keyword candidates per result asked for, so the recency/importance
# blend can lift a slightly weaker match above a stale one.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 40
# Session context: the best keyword hits lend this share of their score to their neighbours.
SESSION_ANCHORS = 20
SESSION_CONTEXT_SHARE = 0.5
# Pseudo-relevance feedback on the keyword side (see :func:`with_feedback`): the best
# FEEDBACK_DOCS hits name FEEDBACK_TERMS more words worth searching for, whose matches add
# FEEDBACK_WEIGHT of their own (best-scaled) BM25 to the first search's. 5-fold
# cross-validation over LoCoMo conversations chose 0.35 (docs/benchmarks.md), but it adds
# about one point of recall@10 text-only for 5-6x the keyword latency (two queries per
# feedback word): off by default until those lookups are one query.
FEEDBACK_DOCS = 3
FEEDBACK_TERMS = 8
FEEDBACK_WEIGHT = 0.0
# Vector relevance is each cosine min-max scaled over the candidates, as keyword relevance is
# BM25 over the best and hybrid's fused score is min-max scaled: a small model's cosines sit
# in a narrow band (0.34-0.62 for the best 40 on LoCoMo), where raw they let the blend's
# importance, recency and use weights outvote the meaning. Cross-validated (docs/benchmarks.md).
VECTOR_SCALED = True
# Field weighting (see :func:`with_field_weights`): a keyword hit whose label ("Caroline: ...")
# names a word of the query scores this much more. Chosen by the same cross-validation.
LABEL_WEIGHT = 0.5
# A label is at most this many words before the first colon of the text.
_LABEL_WORDS = 3

_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_LABEL_WORD = re.compile(r"\w+", re.UNICODE)

#: A candidate: the store it came from, the memory (or the row that builds it, see
#: ``stores/_recalled.py``: only the memories returned are built), and its relevance.
Candidate = tuple[Store, Recalled, float]


class VectorSource(Protocol):
    """The vector side of recall: each store's index, kept fresh, and the query's embedding."""

    @property
    def vectors(self) -> Mapping[Store, VectorIndex]: ...

    @property
    def pending(self) -> AbstractSet[Store]:
        """Stores whose index :meth:`refresh` builds first (no usable cache file)."""
        ...

    @property
    def embedder_name(self) -> str | None: ...

    async def refresh(self, store: Store) -> None: ...

    def tracks(self, store: Store) -> bool: ...

    def check_fresh(self, stores: Iterable[Store]) -> None: ...

    async def embed(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


def resolve_mode(mode: Any, *, has_embedder: bool) -> RecallMode:
    """``mode`` checked, with ``auto`` resolved: hybrid with an embedder, keyword without."""
    if mode not in MODES:
        raise InvalidInputError(f"unknown recall mode {mode!r}; use one of {sorted(MODES)}")
    if mode == "auto":
        return "hybrid" if has_embedder else "keyword"
    if mode != "keyword" and not has_embedder:
        raise InvalidInputError(
            f"mode={mode!r} needs an embedder: open the mesh with embedding='local' "
            "(or another provider)"
        )
    return cast(RecallMode, mode)


async def candidates(
    stores: Sequence[Store],
    query: str,
    filters: Filters,
    mode: RecallMode,
    *,
    limit: int,
    now: float,
    vectors: VectorSource | None,
) -> list[Candidate]:
    """The memories worth scoring, each with its relevance in [0, 1].

    Keyword candidates come from each store's own search; vector candidates from the
    in-memory indexes ``vectors`` keeps (needed for the vector and hybrid modes), or from
    the store itself when it searches its own vectors (:func:`vector_searcher`: PostgreSQL).
    """
    keyword: list[Candidate] = []
    if mode in ("keyword", "hybrid"):
        keyword = await search_stores(stores, query, filters, limit=limit, now=now)
        keyword = await comparable_across_stores(query, keyword)
        keyword = with_field_weights(query, keyword)
        keyword = await with_feedback(stores, query, keyword, filters, limit=limit, now=now)
        if mode == "keyword":
            best = keyword[0][2] if keyword and keyword[0][2] > 0 else 1.0
            ranked = [(st, m, bm25 / best) for st, m, bm25 in keyword]
            return await with_session_context(ranked, filters, now=now)
    assert vectors is not None, "vector and hybrid recall need an embedder"
    for store in stores:
        if vectors.tracks(store):
            await vectors.refresh(store)
    vectors.check_fresh(stores)
    (q,) = await vectors.embed([query])
    vector: list[Candidate] = []
    vf = vector_filter(filters)
    model = vectors.embedder_name
    assert model is not None
    blob = to_blob(q)
    for store in stores:
        searcher = vector_searcher(store)
        if searcher is not None:
            # The engine applies every filter itself, in the same query as the search.
            found_here = await searcher.vector_search(blob, model, filters, limit=limit, now=now)
            vector.extend((store, memory, cos) for memory, cos in found_here)
            continue
        index = vectors.vectors.get(store)
        if index is None or not len(index):
            continue
        if filters.as_of is not None:
            # What was current then is not what the index marks current now: SQL says
            # exactly which rows qualify, superseded or expired since included.
            vf = dataclasses.replace(
                vf,
                include_superseded=True,
                include_expired=True,
                allowed=await store.ids_matching(filters, now=now),
            )
        elif (
            filters.metadata
            or filters.ids is not None
            or (filters.time_field == "event" and (filters.since or filters.until))
            # The index holds no source or agent: SQL picks the rows, so k hits still come back.
            or filters.source is not None
            or filters.agent is not None
        ):
            vf = dataclasses.replace(vf, allowed=await store.ids_matching(filters, now=now))
        (hits,) = index.search(q[None, :], limit, vf, now=now)
        # The index knows scope, category, time and history; the SQL filters (life-cycle
        # status, metadata) are applied to its hits here.
        ids = tuple(mid for mid, _ in hits)
        # The index has applied category, importance, session and pinned exactly; left in
        # the SQL they tempt SQLite to scan a whole category by its index instead of
        # looking the hits up by id (30 ms instead of 1 at 100k memories).
        exact = dataclasses.replace(
            filters, ids=ids, categories=(), min_importance=None, session_id=None, pinned=None
        )
        # Rows, not memories, where the store can: only the k returned become memories.
        reader = recalled_select(store)
        fetched: Sequence[Recalled]
        if reader is not None:
            fetched = await reader.select_recalled(
                exact, order="newest", limit=max(1, len(ids)), offset=0, now=now
            )
        else:
            fetched = await store.select(
                exact, order="newest", limit=max(1, len(ids)), offset=0, now=now
            )
        found = {m.id: m for m in fetched}
        vector.extend((store, found[mid], cos) for mid, cos in hits if mid in found)
    vector.sort(key=lambda item: item[2], reverse=True)
    if mode == "vector":
        ranked = _scaled(vector) if VECTOR_SCALED else [(st, m, max(0.0, c)) for st, m, c in vector]
        return await with_session_context(ranked, filters, now=now)
    best = keyword[0][2] if keyword and keyword[0][2] > 0 else 1.0
    kw_ranked = [(st, m, bm25 / best) for st, m, bm25 in keyword]
    # Session context belongs to the keyword side: a reply that shares no word with the
    # question still has its own meaning, which the vector side scores for itself.
    kw_ranked = await with_session_context(kw_ranked, filters, now=now)
    # Score the keyword candidates the vector search did not return too, exactly, so a
    # strong keyword hit is never fused with a made-up cosine.
    cosines = {m.id: c for _, m, c in vector}
    for store in stores:
        index = vectors.vectors.get(store)
        missing = [m.id for st, m, _ in kw_ranked if st is store and m.id not in cosines]
        searcher = vector_searcher(store)
        if searcher is not None and missing:
            exact = dataclasses.replace(filters, ids=tuple(missing))
            scored = await searcher.vector_search(blob, model, exact, limit=len(missing), now=now)
            cosines.update((m.id, cos) for m, cos in scored)
            # A memory without a vector scores as the in-memory index's zero row would.
            cosines.update((mid, 0.0) for mid in missing if mid not in cosines)
        elif index is not None and missing:
            sims = index.vectors(missing) @ q
            cosines.update(zip(missing, sims.tolist(), strict=True))
    fused = standard_score_fusion({m.id: s for _, m, s in kw_ranked}, cosines)
    seen: dict[str, tuple[Store, Recalled]] = {}
    for st, m, _ in (*kw_ranked, *vector):
        seen.setdefault(m.id, (st, m))
    return sorted(
        ((st, m, fused[mid]) for mid, (st, m) in seen.items()),
        key=lambda item: item[2],
        reverse=True,
    )


async def search_stores(
    stores: Sequence[Store], query: str, filters: Filters, *, limit: int, now: float
) -> list[Candidate]:
    """Each store's keyword matches for ``query`` (:meth:`Store.search_text`), store by store.

    With two stores the searches run at once (each SQLite file has its own connection
    thread, so a large global store's search costs no wait on top of the project's),
    unless the later store matched nothing the last time it was searched (a new user's
    empty global store): then one after the other, which costs ~0.2 ms less CPU at 100k
    (two threads at once contend for the GIL) for one short round trip more. Either way the
    same matches come back in the same order.
    """
    if len(stores) < 2 or not any(_matched_before(store) for store in stores[1:]):
        each = [await store.search_text(query, filters, limit=limit, now=now) for store in stores]
        _remember_matched(stores, each)
        return [
            (store, memory, bm25)
            for store, hits in zip(stores, each, strict=True)
            for memory, bm25 in hits
        ]
    found: list[Sequence[tuple[Recalled, float]]] = [[] for _ in stores]
    failed: list[BaseException | None] = [None for _ in stores]

    async def search(i: int, store: Store) -> None:
        try:
            found[i] = await store.search_text(query, filters, limit=limit, now=now)
        except Exception as exc:  # raised as itself below, not in an ExceptionGroup
            failed[i] = exc

    async with anyio.create_task_group() as group:
        # The first store (the project's) searched in this task: one task fewer to start.
        for i, store in enumerate(stores[1:], 1):
            group.start_soon(search, i, store)
        await search(0, stores[0])
    for exc in failed:
        if exc is not None:
            # The caller sees the store's own typed error (MemoryMeshError), as when the
            # stores were searched one after the other.
            raise exc
    _remember_matched(stores, found)
    return [
        (store, memory, bm25)
        for store, hits in zip(stores, found, strict=True)
        for memory, bm25 in hits
    ]


#: Whether each store's last keyword search matched anything: how :func:`search_stores`
#: schedules the next one (never what it finds).
_MATCHED: weakref.WeakKeyDictionary[Store, bool] = weakref.WeakKeyDictionary()


def _matched_before(store: Store) -> bool:
    try:
        return _MATCHED.get(store, True)
    except TypeError:  # a store that cannot be weakly referenced: searched at once
        return True


def _remember_matched(
    stores: Sequence[Store], found: Sequence[Sequence[tuple[Recalled, float]]]
) -> None:
    for store, hits in zip(stores, found, strict=True):
        with contextlib.suppress(TypeError):
            _MATCHED[store] = bool(hits)


#: The scaled relevance of the weakest candidate that still shares some meaning (cosine > 0).
_SCALED_FLOOR = 0.01


def _scaled(found: list[Candidate]) -> list[Candidate]:
    """Cosines min-max scaled over the candidates that share meaning with the query: the
    best 1.0, the weakest :data:`_SCALED_FLOOR`; a cosine of 0 or less stays 0 (no shared
    meaning). The order is unchanged; only the spread the blend sees differs."""
    positive = [s for _, _, s in found if s > 0]
    if not positive:
        return [(st, m, 0.0) for st, m, _ in found]
    low, high = min(positive), max(positive)
    span = high - low
    return [
        (
            st,
            m,
            0.0
            if s <= 0
            else 1.0
            if span == 0
            else _SCALED_FLOOR + (1 - _SCALED_FLOOR) * (s - low) / span,
        )
        for st, m, s in found
    ]


async def comparable_across_stores(query: str, keyword: list[Candidate]) -> list[Candidate]:
    """Keyword scores on one scale when both stores matched: each store's BM25 weighs words
    by their rarity in that store alone (see :func:`shared_bm25`)."""
    if not keyword or all(store is keyword[0][0] for store, _, _ in keyword):
        return keyword  # one store matched (the usual case): nothing to put on a shared scale
    ids: dict[Store, list[str]] = {}
    for store, memory, _ in keyword:
        ids.setdefault(store, []).append(memory.id)
    if len(ids) < 2:
        return keyword
    terms = query_terms(query)
    stats = [await store.term_statistics(terms, found) for store, found in ids.items()]
    shared = dict(zip(ids, shared_bm25(stats), strict=True))
    return [(st, m, shared[st].get(m.id, 0.0)) for st, m, _ in keyword]


def label_of(text: str) -> str | None:
    """The label a memory's text opens with ("Caroline: I went..." → "caroline"), or None.

    Transcripts, notes and logs put who or what a line is about before a colon: a field of
    its own, which BM25 over the whole text cannot weigh (a speaker's name is in half of a
    conversation's lines, so its rarity weight is close to zero).
    """
    head, colon, _ = text[:60].partition(":")
    if not colon or not head.strip():
        return None
    words = _LABEL_WORD.findall(head.casefold())
    if not words or len(words) > _LABEL_WORDS or len(head.split()) != len(words):
        return None
    return " ".join(words)


def with_field_weights(query: str, keyword: list[Candidate]) -> list[Candidate]:
    """Keyword candidates with those whose label names a query word lifted by
    :data:`LABEL_WEIGHT` (``score · (1 + LABEL_WEIGHT)``), best first.

    "When did Caroline go to the support group?" asks about Caroline: of two lines that
    mention a support group, the one Caroline said answers it.
    """
    terms = set(query_terms(query))
    if LABEL_WEIGHT > 0 and terms:
        lifted: list[Candidate] = []
        for store, memory, score in keyword:
            label = label_of(memory.text)
            if label is not None and terms.intersection(label.split()):
                score *= 1 + LABEL_WEIGHT
            lifted.append((store, memory, score))
        keyword = lifted
    return sorted(keyword, key=lambda item: item[2], reverse=True)


def _feedback_words(query: str, keyword: Sequence[Candidate]) -> list[str]:
    """The words the best hits share beyond the query's, most telling first.

    RM1 (Lavrenko & Croft, 2001) without a language model: each of the best hits votes for
    its content words in proportion to its share of the hits' relevance and to how much of
    its own text the word is.
    """
    asked = {term[:5] for term in query_terms(query)}
    votes: dict[str, float] = {}
    top = keyword[:FEEDBACK_DOCS]
    total = sum(score for _, _, score in top) or 1.0
    for _, memory, score in top:
        words = [w for w in _TOKEN.findall(memory.text.casefold()) if len(w) > 2]
        words = [w for w in words if w not in STOPWORDS and w not in QUESTION_WORDS]
        if not words:
            continue
        for word in set(words):
            if word[:5] in asked or word.isdigit():
                continue
            share = words.count(word) / len(words)
            votes[word] = votes.get(word, 0.0) + (score / total) * share
    # Ties (common among short texts) go to the longer word, then the alphabet, so the
    # words searched for do not depend on the order of a set.
    return sorted(votes, key=lambda w: (-votes[w], -len(w), w))


async def with_feedback(
    stores: Sequence[Store],
    query: str,
    keyword: list[Candidate],
    filters: Filters,
    *,
    limit: int,
    now: float,
) -> list[Candidate]:
    """Keyword candidates after pseudo-relevance feedback (RM3-style), best first.

    The first search's best hits are probably about what was asked; the words they share
    ("support group" for a question about "LGBTQ meetings") find the memories that answer in
    other words than the question's. The words come from the hits already in hand
    (:func:`_feedback_words`, no lookup), the best :data:`FEEDBACK_TERMS` by their votes are
    searched for in one more search per store, and their matches are interpolated with the
    first search, each scaled by its best score: ``(1 - w) · first + w · feedback`` with
    ``w`` = :data:`FEEDBACK_WEIGHT`. The second search's own BM25 weighs each word by its
    rarity, so a common word among them adds little.
    """
    if FEEDBACK_WEIGHT <= 0 or len(keyword) < 2:
        return keyword
    chosen = _feedback_words(query, keyword)[:FEEDBACK_TERMS]
    if not chosen:
        return keyword
    expansion = " ".join(chosen)
    extra = await search_stores(stores, expansion, filters, limit=limit, now=now)
    extra = await comparable_across_stores(expansion, extra)
    if not extra:
        return keyword
    first_best = keyword[0][2] if keyword[0][2] > 0 else 1.0
    extra_best = max(score for _, _, score in extra) or 1.0
    merged: dict[str, list[Any]] = {
        m.id: [st, m, score / first_best * (1 - FEEDBACK_WEIGHT)] for st, m, score in keyword
    }
    for st, m, score in extra:
        entry = merged.setdefault(m.id, [st, m, 0.0])
        entry[2] += FEEDBACK_WEIGHT * score / extra_best
    # Back on the first search's scale, so callers that divide by the best still can.
    out = [(st, m, score * first_best) for st, m, score in merged.values()]
    out.sort(key=lambda item: item[2], reverse=True)
    return out


async def with_session_context(
    ranked: list[Candidate],
    filters: Filters,
    *,
    now: float,
) -> list[Candidate]:
    """Let each strong hit lend part of its score to the memories written just before and
    after it in the same session.

    A conversation's answer rarely repeats its question's words: "what kind of counseling
    do you want?" matches the query, the reply that names it does not. Memories of one
    session are each other's context, so a neighbour of a hit is a candidate too, scored
    at :data:`SESSION_CONTEXT_SHARE` of the hit (never above it).
    """
    anchors = [(st, m, score) for st, m, score in ranked[:SESSION_ANCHORS] if m.session_id]
    if not anchors:
        return ranked
    best: dict[str, tuple[Store, Recalled, float]] = {m.id: (st, m, s) for st, m, s in ranked}
    lent = {m.id: score for _, m, score in anchors}
    for store in {st for st, _, _ in anchors}:
        ids = [m.id for st, m, _ in anchors if st is store]
        for anchor, memory in await store.session_neighbours(ids, filters, now=now):
            share = SESSION_CONTEXT_SHARE * lent[anchor]
            if memory.id not in best or best[memory.id][2] < share:
                best[memory.id] = (store, memory, share)
    return sorted(best.values(), key=lambda item: item[2], reverse=True)


async def why_empty(stores: Sequence[Store], query: str, filters: Filters, now: float) -> str:
    """Why a recall found nothing, for its explanation."""
    if not query_terms(query):
        return "the query has no searchable words"
    everything = Filters(include_superseded=True, include_expired=True)
    if not sum([await s.count_text(query, everything, now=now) for s in stores]):
        return "no memory contains any of the query's terms"
    current = Filters(as_of=filters.as_of)
    matching_current = sum([await s.count_text(query, current, now=now) for s in stores])
    if not matching_current:
        return "every memory that matches is superseded or expired (current_only=False shows them)"
    return f"{matching_current} current memories match the terms, but the filters exclude them all"


def rank(
    found: list[Candidate],
    query: str,
    *,
    weights: ScoringWeights,
    now: float,
    by_event: bool,
    k: int | None = None,
) -> list[tuple[float, Store, Recalled, ScoreBreakdown]]:
    """The best ``k`` candidates (all of them when ``k`` is None) scored (relevance blended
    with importance, recency and use), best first; a day or month the query names ranks
    memories from then first. Every candidate is scored with plain floats; only those
    returned get a :class:`ScoreBreakdown` (a pydantic model, the costly part)."""
    period = named_period(query)
    if period is not None:  # "what did we decide on 3 May 2024?": that day's memories first
        found = prefer_period(found, period)
    parts_of = signals_many(
        ((memory, relevance) for _, memory, relevance in found),
        weights=weights,
        now=now,
        by_event_time=by_event,
    )
    scored = [(parts, i) for i, parts in enumerate(parts_of)]
    # Stable on ties, as a sort of the whole list by score was.
    scored.sort(key=lambda item: (-item[0][0], item[1]))
    return [
        (parts[0], found[i][0], found[i][1], breakdown_of(parts, weights))
        for parts, i in scored[:k]
    ]
