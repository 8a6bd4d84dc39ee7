"""Fusing keyword and vector rankings into one relevance signal in [0, 1].

Reciprocal rank fusion (Cormack et al., 2009) sums ``1 / (c + rank)`` over the rankings a
memory appears in; it needs no score calibration between BM25 and cosine, which live on
different scales. The fused score is divided by the best possible one (first in every
ranking), so a memory ranked first by both gets relevance 1.0 before the recency/importance
blend of :mod:`memorymesh._scoring`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["RRF_C", "convex_fusion", "reciprocal_rank_fusion"]

K = TypeVar("K", bound=Hashable)

#: The rank offset of reciprocal rank fusion: 60 is the value of the original paper, which
#: keeps one ranking's top hit from drowning the other ranking's agreement.
RRF_C = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], *, c: int = RRF_C, weights: Sequence[float] | None = None
) -> dict[K, float]:
    """Fuse best-first rankings into ``{key: relevance}`` with relevance in (0, 1].

    Args:
        rankings: Each a best-first sequence of keys (keys may be missing from some).
        c: The rank offset.
        weights: One weight per ranking (default 1 each).
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    fused: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking):
            fused[key] = fused.get(key, 0.0) + weight / (c + rank + 1)
    best = sum(w / (c + 1) for w, ranking in zip(weights, rankings, strict=True) if ranking)
    if best <= 0:
        return fused
    return {key: value / best for key, value in fused.items()}


def convex_fusion(
    keyword: dict[K, float], vector: dict[K, float], *, alpha: float = 0.5
) -> dict[K, float]:
    """``alpha · keyword + (1 - alpha) · vector`` after scaling each to [0, 1].

    Keyword scores arrive already divided by the best one; cosines are min-max scaled over
    the candidates, so both signals span the same range. A memory missing from one ranking
    scores 0 there (it was not among that ranking's candidates).
    """
    if vector:
        low, high = min(vector.values()), max(vector.values())
        span = (high - low) or 1.0
        scaled = {key: (value - low) / span for key, value in vector.items()}
    else:
        scaled = {}
    keys = set(keyword) | set(scaled)
    return {key: alpha * keyword.get(key, 0.0) + (1 - alpha) * scaled.get(key, 0.0) for key in keys}
