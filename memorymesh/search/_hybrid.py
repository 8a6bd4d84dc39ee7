"""Fusing keyword and vector rankings into one relevance signal in [0, 1].

Recall's hybrid mode uses :func:`standard_score_fusion`. The alternatives stay for comparison.
Reciprocal rank fusion (Cormack et al., 2009) sums ``1 / (c + rank)`` over the rankings a
memory appears in; it needs no score calibration between BM25 and cosine, which live on
different scales. The fused score is divided by the best possible one (first in every
ranking), so a memory ranked first by both gets relevance 1.0 before the recency/importance
blend of :mod:`memorymesh.search._scoring`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["RRF_C", "convex_fusion", "reciprocal_rank_fusion", "standard_score_fusion"]

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
    keys = _union(keyword, scaled)
    return {key: alpha * keyword.get(key, 0.0) + (1 - alpha) * scaled.get(key, 0.0) for key in keys}


def _union(first: dict[K, float], second: dict[K, float]) -> list[K]:
    """Both rankings' keys, each once, in the order they arrive: a set's order follows the
    process's hash seed, and float sums taken in another order differ in their last bits, so
    the same recall would score (and break ties) differently from one process to the next."""
    return list(dict.fromkeys([*first, *second]))


def _standardised(scores: dict[K, float], keys: list[K]) -> dict[K, float]:
    """Each key's score as a z-score over ``keys``: how many standard deviations it lies
    above their mean. A key without a score gets the weakest score: it was not among this
    signal's candidates, so it is no better than any of them."""
    floor = min(scores.values(), default=0.0)
    values = {key: scores.get(key, floor) for key in keys}
    mean = sum(values.values()) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values.values()) / len(values))
    if spread == 0:
        return dict.fromkeys(keys, 0.0)
    return {key: (value - mean) / spread for key, value in values.items()}


def standard_score_fusion(
    keyword: dict[K, float], vector: dict[K, float], *, alpha: float = 0.5
) -> dict[K, float]:
    """``alpha · z(keyword) + (1 - alpha) · z(vector)`` over every candidate, scaled to [0, 1].

    Each signal is standardised (mean 0, standard deviation 1) over the union of both
    rankings' candidates, so each weighs by how far a memory stands out from the others on
    it, whatever its scale: BM25 and cosine live on different scales, and dividing by the
    best score or min-max scaling lets one outlier (a single long BM25 hit, one near-copy of
    the query) squeeze every other candidate together. The fused scores are then min-max
    scaled so the best candidate has relevance 1.0 and the weakest 0.0 (all 1.0 when they
    tie, e.g. a single candidate).
    """
    keys = _union(keyword, vector)
    if not keys:
        return {}
    z_kw, z_vec = _standardised(keyword, keys), _standardised(vector, keys)
    fused = {key: alpha * z_kw[key] + (1 - alpha) * z_vec[key] for key in keys}
    low, high = min(fused.values()), max(fused.values())
    if high == low:
        return dict.fromkeys(keys, 1.0)
    return {key: (value - low) / (high - low) for key, value in fused.items()}
