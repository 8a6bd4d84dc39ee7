"""How recall turns its signals into one score. Documented in ``docs/concepts.md``."""

from __future__ import annotations

import math

from .._models import Memory, ScoreBreakdown, ScoringWeights

__all__ = ["blend", "frequency_signal", "recency_signal"]

_SECONDS_PER_DAY = 86_400.0
# Access counts saturate: the 50th recall of a memory says little more than the 20th.
_FREQUENCY_SATURATION = math.log1p(50)


def recency_signal(
    memory: Memory, now: float, half_life_days: float, *, by_event_time: bool = False
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


def blend(
    memory: Memory,
    relevance: float,
    *,
    weights: ScoringWeights,
    now: float,
    by_event_time: bool = False,
) -> tuple[float, ScoreBreakdown]:
    """The final score in [0, 1] and its breakdown. Pinned memories count as importance 1."""
    breakdown = ScoreBreakdown(
        relevance=relevance,
        recency=recency_signal(
            memory, now, weights.recency_half_life_days, by_event_time=by_event_time
        ),
        importance=1.0 if memory.pinned else memory.importance,
        frequency=frequency_signal(memory.access_count),
        weights=weights,
    )
    total = weights.total or 1.0
    score = (
        weights.relevance * breakdown.relevance
        + weights.recency * breakdown.recency
        + weights.importance * breakdown.importance
        + weights.frequency * breakdown.frequency
    ) / total
    return score, breakdown
