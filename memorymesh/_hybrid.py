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


def _min_max(scores: dict[K, float]) -> dict[K, float]:
    """Scores scaled to [0, 1] over the candidates: the weakest 0, the best 1."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = (high - low) or 1.0
    return {key: (value - low) / span for key, value in scores.items()}


def convex_fusion(
    keyword: dict[K, float], vector: dict[K, float], *, alpha: float = 0.5
) -> dict[K, float]:
    """``alpha · keyword + (1 - alpha) · vector`` after min-max scaling each to [0, 1].

    Both signals are scaled the same way, over their candidates, so each spans [0, 1] and
    ``alpha`` means what it says: BM25 scores and cosines live on different scales, and a
    signal left unscaled (or only divided by its best) would weigh more or less than its
    share depending on how spread out its candidates happen to be. A memory missing from
    one ranking scores 0 there (it was not among that ranking's candidates).
    """
    scaled_kw, scaled_vec = _min_max(keyword), _min_max(vector)
    keys = set(scaled_kw) | set(scaled_vec)
    return {
        key: alpha * scaled_kw.get(key, 0.0) + (1 - alpha) * scaled_vec.get(key, 0.0)
        for key in keys
    }
