"""Conflict verdicts judged in batches (``judge_many``, the pair model scored in one numpy pass
over a batch's feature rows) are the verdicts ``judge`` gives one pair at a time, on every pair
of the development corpora, without an embedder and at cosines on both sides of each gate.
"""

from __future__ import annotations

import pytest
from _conflict_eval import load_dev2
from conflict_corpus import HELD_OUT, PAIRS

from memorymesh.writes._conflicts import judge, judge_many
from memorymesh.writes._pairs import (
    _NUMPY_ROWS,
    features,
    probabilities,
    probabilities_many,
)

# The frozen held-out corpus (tests/heldout/) is left out on purpose: it only measures.
_CORPUS = [(old, new) for _, old, new in PAIRS + HELD_OUT] + [
    (old, new) for _, _, old, new in load_dev2()
]
#: Cosines around the detector's gates: subject (0.35 / 0.5), model duplicate (0.6), change
#: (0.7), the 0.8 / 0.9 features, paraphrase (0.85), swap (0.92) and duplicate (0.95).
_COSINES = (None, 0.3, 0.36, 0.52, 0.61, 0.72, 0.81, 0.86, 0.91, 0.93, 0.97)


@pytest.mark.parametrize("cosine", _COSINES)
def test_batched_verdicts_equal_one_pair_at_a_time(cosine: float | None) -> None:
    pairs = [(new, old, cosine) for old, new in _CORPUS] + [
        (old, new, cosine)
        for old, new in _CORPUS  # the other way round too
    ]
    assert len(pairs) > 10 * _NUMPY_ROWS  # the numpy pass, not the small-batch loop
    one_by_one = [judge(new, old, cos) for new, old, cos in pairs]
    assert judge_many(pairs) == one_by_one
    reached = sum(v is not None for v in one_by_one)
    if cosine is None or cosine >= 0.35:  # below every subject gate nothing is compared
        assert reached > len(pairs) // 20


@pytest.mark.parametrize("embedded", [False, True])
def test_batched_probabilities_are_bit_for_bit(embedded: bool) -> None:
    cosine = 0.74 if embedded else None
    rows = [
        features(new, old, cosine, rule, subject_changed=changed)
        for old, new in _CORPUS
        for rule in (None, "contradiction", "possible_duplicate")
        for changed in (False, True)
    ]
    batched = probabilities_many(rows, embedded=embedded)
    assert batched == [probabilities(x, embedded=embedded) for x in rows]
    # A batch smaller than the numpy pass's threshold gives the same figures too.
    assert probabilities_many(rows[:3], embedded=embedded) == batched[:3]


def test_an_empty_batch_judges_nothing() -> None:
    assert judge_many([]) == []
