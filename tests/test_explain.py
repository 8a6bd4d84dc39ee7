"""recall(..., explain=True): why each result came back, and why nothing did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memorymesh import AsyncMemoryMesh, RecallResults

pytestmark = pytest.mark.anyio


async def test_explanation_of_results(mesh: AsyncMemoryMesh) -> None:
    m = await mesh.remember("User prefers dark mode", importance=0.6, metadata={"app": "vim"})
    results = await mesh.recall(
        "What does the user prefer?", explain=True, metadata_filter={"app": "vim"}
    )
    assert isinstance(results, RecallResults)
    assert [r.memory.id for r in results] == [m.id]
    explanation = results.explanation
    assert explanation is not None
    assert explanation.query_terms == ["user", "prefer"]
    assert explanation.filters["metadata"] == ["app $eq 'vim'"]
    assert explanation.candidates == 1
    assert explanation.returned == 1
    assert explanation.reason is None
    breakdown = results[0].breakdown
    assert breakdown.importance == 0.6
    weights = breakdown.weights
    expected = (
        weights.relevance * breakdown.relevance
        + weights.recency * breakdown.recency
        + weights.importance * breakdown.importance
        + weights.frequency * breakdown.frequency
    ) / weights.total
    assert results[0].score == pytest.approx(expected)


async def test_no_explanation_unless_asked(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("anything at all")
    assert (await mesh.recall("anything")).explanation is None


async def test_empty_results_say_why(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("Deploys run on Fridays", category="pattern")
    past = datetime.now(UTC) - timedelta(seconds=1)
    await mesh.remember("Old rotation schedule", expires_at=past)

    async def reason(query: str, **kwargs: object) -> str | None:
        results = await mesh.recall(query, explain=True, **kwargs)  # type: ignore[arg-type]
        assert results == []
        assert results.explanation is not None
        return results.explanation.reason

    assert await reason("?!") == "the query has no searchable words"
    assert await reason("kubernetes") == "no memory contains any of the query's terms"
    assert "superseded or expired" in (await reason("rotation schedule") or "")
    assert "filters exclude them" in (await reason("deploys", category="decision") or "")
