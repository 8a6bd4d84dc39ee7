"""How recall turns its signals into one score. Documented in ``docs/concepts.md``."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

from .._models import Memory, ScoreBreakdown, ScoringWeights, trusted_breakdown
from ..stores._recalled import Recalled
from ..stores.base import bm25_idf

__all__ = [
    "blend",
    "breakdown_of",
    "frequency_signal",
    "recency_signal",
    "shared_bm25",
    "signals",
    "signals_many",
]

_SECONDS_PER_DAY = 86_400.0
# Access counts saturate: the 50th recall of a memory says little more than the 20th.
_FREQUENCY_SATURATION = math.log1p(50)


def recency_signal(
    memory: Recalled, now: float, half_life_days: float, *, by_event_time: bool = False
) -> float:
    """1.0 for a memory touched just now (or, ``by_event_time``, about something that happened
    just now), halving every ``half_life_days``."""
    moment = memory.updated_at
    if by_event_time:
        moment = memory.event_time or memory.created_at
    age_days = max(0.0, now - moment.timestamp()) / _SECONDS_PER_DAY
    return float(0.5 ** (age_days / half_life_days))


def frequency_signal(access_count: int) -> float:
    return min(1.0, math.log1p(max(0, access_count)) / _FREQUENCY_SATURATION)


def signals(
    memory: Recalled,
    relevance: float,
    *,
    weights: ScoringWeights,
    now: float,
    by_event_time: bool = False,
) -> tuple[float, float, float, float, float]:
    """The final score in [0, 1] and its four signals (relevance, recency, importance,
    frequency), as plain floats: recall scores every candidate and builds a
    :class:`ScoreBreakdown` (:func:`breakdown_of`) only for the ones it returns."""
    recency = recency_signal(
        memory, now, weights.recency_half_life_days, by_event_time=by_event_time
    )
    importance = 1.0 if memory.pinned else memory.importance
    frequency = frequency_signal(memory.access_count)
    total = weights.total or 1.0
    score = (
        weights.relevance * relevance
        + weights.recency * recency
        + weights.importance * importance
        + weights.frequency * frequency
    ) / total
    return score, relevance, recency, importance, frequency


def signals_many(
    found: Iterable[tuple[Recalled, float]],
    *,
    weights: ScoringWeights,
    now: float,
    by_event_time: bool = False,
) -> list[tuple[float, float, float, float, float]]:
    """:func:`signals` of each ``(memory, relevance)``, the same floats computed the same
    way, in one loop: recall scores 40 or more candidates per call, and the per-call
    overhead of :func:`signals` was most of it."""
    half_life = weights.recency_half_life_days
    w_relevance, w_recency = weights.relevance, weights.recency
    w_importance, w_frequency = weights.importance, weights.frequency
    total = weights.total or 1.0
    frequencies: dict[int, float] = {}
    out: list[tuple[float, float, float, float, float]] = []
    # A candidate that knows its moment in seconds (a SQLite row: ``recency_seconds``) gives
    # the same float without the datetime round trip, a third of this loop's cost.
    kind: type | None = None
    seconds_of: Callable[[Recalled, bool], float] | None = None
    for memory, relevance in found:
        if type(memory) is not kind:
            kind = type(memory)
            seconds_of = getattr(kind, "recency_seconds", None)
        if seconds_of is not None:
            seconds = seconds_of(memory, by_event_time)
        else:
            moment = (
                (memory.event_time or memory.created_at) if by_event_time else memory.updated_at
            )
            seconds = moment.timestamp()
        age_days = max(0.0, now - seconds) / _SECONDS_PER_DAY
        recency = float(0.5 ** (age_days / half_life))
        importance = 1.0 if memory.pinned else memory.importance
        count = memory.access_count
        frequency = frequencies.get(count)
        if frequency is None:
            frequency = frequencies[count] = frequency_signal(count)
        score = (
            w_relevance * relevance
            + w_recency * recency
            + w_importance * importance
            + w_frequency * frequency
        ) / total
        out.append((score, relevance, recency, importance, frequency))
    return out


def breakdown_of(
    scored: tuple[float, float, float, float, float], weights: ScoringWeights
) -> ScoreBreakdown:
    """The :class:`ScoreBreakdown` of what :func:`signals` returned."""
    _, relevance, recency, importance, frequency = scored
    return trusted_breakdown(relevance, recency, importance, frequency, weights)


def blend(
    memory: Memory,
    relevance: float,
    *,
    weights: ScoringWeights,
    now: float,
    by_event_time: bool = False,
) -> tuple[float, ScoreBreakdown]:
    """The final score in [0, 1] and its breakdown. Pinned memories count as importance 1."""
    scored = signals(memory, relevance, weights=weights, now=now, by_event_time=by_event_time)
    return scored[0], breakdown_of(scored, weights)


#: One store's :meth:`SQLiteStore.term_statistics`: rows, document count per term, and per
#: term the BM25 share of each candidate memory.
TermStatistics = tuple[int, Mapping[str, int], Mapping[str, Mapping[str, float]]]


def shared_bm25(stores: Sequence[TermStatistics]) -> list[dict[str, float]]:
    """BM25 of each store's candidates as if the stores were one collection.

    FTS5 weighs each term by its rarity within one file, so raw ``bm25()`` values of two
    stores are not comparable: in a new project of two memories every word is in half the
    file and weighs almost nothing, and its best match ranked below an unrelated global
    memory. Each term's share of a memory's score is FTS5's weight of the term in that
    store times a term-frequency factor; dividing out the store's weight and multiplying by
    the weight over all stores together gives the score one combined index would give (each
    store keeps its own average document length).

    Returns:
        One ``{memory id: score}`` per store, in the order given.
    """
    rows = sum(total for total, _, _ in stores)
    terms = {term for _, counts, _ in stores for term in counts}
    shared = {t: bm25_idf(rows, sum(counts.get(t, 0) for _, counts, _ in stores)) for t in terms}
    scored: list[dict[str, float]] = []
    for total, counts, shares in stores:
        scores: dict[str, float] = {}
        for term, by_id in shares.items():
            factor = shared[term] / bm25_idf(total, counts[term])
            for memory_id, share in by_id.items():
                scores[memory_id] = scores.get(memory_id, 0.0) + share * factor
        scored.append(scores)
    return scored
