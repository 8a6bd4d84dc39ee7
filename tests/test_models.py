"""Memory objects built without validation are the same objects pydantic would build."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from memorymesh import Category, Memory, Scope
from memorymesh._models import (
    Conflict,
    RecallExplanation,
    RecallResult,
    ScoreBreakdown,
    ScoringWeights,
    conflict_json,
    default_weights,
    trusted_breakdown,
    trusted_conflict,
    trusted_explanation,
    trusted_memory,
    trusted_result,
)


def _values() -> dict[str, Any]:
    at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    return {
        "id": "a" * 32,
        "text": "The deploy window is Friday",
        "category": Category.DECISION,
        "importance": 0.7,
        "scope": Scope.PROJECT,
        "pinned": True,
        "metadata": {"ticket": 42},
        "session_id": "s1",
        "created_at": at,
        "updated_at": at,
        "event_time": None,
        "expires_at": None,
        "access_count": 3,
        "last_accessed_at": at,
        "superseded_by": None,
        "superseded_at": None,
        "source": "api",
        "agent": "tester",
        "redactions": ("email",),
        "conflicts": (
            Conflict(
                kind="duplicate",
                memory_id="b" * 32,
                similarity=1.0,
                action="deduplicated",
                policy="supersede",
                reason="the same text",
            ),
        ),
    }


def test_trusted_memory_is_what_model_construct_builds() -> None:
    trusted, constructed = trusted_memory(_values()), Memory.model_construct(**_values())
    assert trusted == constructed
    assert trusted.__pydantic_fields_set__ == constructed.__pydantic_fields_set__
    assert trusted.__pydantic_extra__ == constructed.__pydantic_extra__
    assert trusted.__pydantic_private__ == constructed.__pydantic_private__
    assert trusted.model_dump() == constructed.model_dump()
    assert trusted.model_dump_json() == constructed.model_dump_json()
    assert pickle.loads(pickle.dumps(trusted)) == constructed
    copied = trusted.model_copy(update={"access_count": 4})
    assert copied.access_count == 4 and trusted.access_count == 3
    assert Memory.model_validate(trusted.model_dump()) == trusted


def test_trusted_memory_stays_frozen() -> None:
    memory = trusted_memory(_values())
    with pytest.raises(Exception, match="frozen"):
        memory.text = "changed"  # type: ignore[misc]


def test_trusted_memory_wants_every_field() -> None:
    values = _values()
    del values["agent"]
    with pytest.raises(ValueError, match="exactly Memory's fields"):
        trusted_memory(values)


def test_trusted_recall_models_are_what_validation_builds() -> None:
    """Recall builds its breakdowns and results (and a mesh its default weights) without
    validating: the same objects, numbers made floats as validation makes them (numpy's too)."""
    import numpy as np

    weights = default_weights()
    assert weights == ScoringWeights() and weights.model_fields_set == set()
    numbers: list[Any] = [np.float64(0.5), np.float32(0.25), 1, 0.125]
    trusted = trusted_breakdown(numbers[0], numbers[1], numbers[2], numbers[3], weights)
    validated = ScoreBreakdown(
        relevance=numbers[0],
        recency=numbers[1],
        importance=numbers[2],
        frequency=numbers[3],
        weights=weights,
    )
    assert trusted == validated
    assert [type(v) for v in trusted.model_dump().values()][:4] == [float] * 4
    memory = trusted_memory(_values())
    result = trusted_result(memory, np.float64(0.75), trusted)
    # Built without model_construct: the same object model_construct builds, attribute by
    # attribute (fields in their order, which fields are set, no extra or private values).
    floats = [float(n) for n in numbers]
    for built, constructed in (
        (
            trusted,
            ScoreBreakdown.model_construct(
                relevance=floats[0],
                recency=floats[1],
                importance=floats[2],
                frequency=floats[3],
                weights=weights,
            ),
        ),
        (result, RecallResult.model_construct(memory=memory, score=0.75, breakdown=trusted)),
    ):
        assert list(built.__dict__.items()) == list(constructed.__dict__.items())
        assert built.__pydantic_fields_set__ == constructed.__pydantic_fields_set__
        assert built.__pydantic_extra__ == constructed.__pydantic_extra__
        assert built.__pydantic_private__ == constructed.__pydantic_private__
        assert pickle.loads(pickle.dumps(built)) == constructed
        assert repr(built) == repr(constructed)
    assert result == RecallResult(memory=memory, score=np.float64(0.75), breakdown=validated)
    assert type(result.score) is float and result.memory is memory
    assert (
        result.model_dump_json()
        == RecallResult.model_validate(result.model_dump()).model_dump_json()
    )
    with pytest.raises(Exception, match="frozen"):
        result.score = 0.1  # type: ignore[misc]


def test_trusted_conflicts_and_explanations_are_what_validation_builds() -> None:
    """A write's conflicts and recall's explanation are built without validating: equal to
    the validated models, with the same fields set (``exclude_unset`` dumps match) and the
    numbers of the types validation gives."""
    import numpy as np

    given: dict[str, Any] = {
        "kind": "contradiction",
        "memory_id": "b" * 32,
        "similarity": np.float64(0.8125),
        "action": "superseded",
        "policy": "supersede",
        "reason": "a changed value",
    }
    trusted = trusted_conflict(**given)
    validated = Conflict(**given)
    assert trusted == validated and type(trusted.similarity) is float
    assert trusted.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    judged = trusted_conflict(**{**given, "decided_by": "review"})
    assert judged == Conflict(**given, decided_by="review")
    assert judged.model_fields_set == Conflict(**given, decided_by="review").model_fields_set
    with pytest.raises(Exception, match="frozen"):
        trusted.reason = "changed"  # type: ignore[misc]
    # The write log's record of each decision, as model_dump(mode="json") gives it.
    for conflict in (trusted, judged, validated):
        assert conflict_json(conflict) == conflict.model_dump(mode="json")
        assert list(conflict_json(conflict)) == list(conflict.model_dump(mode="json"))

    weights = default_weights()
    figures: dict[str, Any] = {
        "query_terms": ["deploy", "friday"],
        "filters": {"scope": "project"},
        "candidates": 12,
        "returned": 0,
        "weights": weights,
        "reason": "no memory holds 'friday'",
    }
    explained = trusted_explanation(**figures)
    assert explained == RecallExplanation(**figures)
    assert explained.model_dump_json() == RecallExplanation(**figures).model_dump_json()
