"""Keyword recall joins only the best FTS5 matches when no filter narrows them: still exact."""

from __future__ import annotations

import pytest

from memorymesh import AsyncMemoryMesh


async def _ids(mesh: AsyncMemoryMesh, query: str, k: int, **filters: object) -> list[str]:
    return [r.memory.id for r in await mesh.recall(query, k=k, mode="keyword", **filters)]  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_best_matches_that_are_history_do_not_crowd_out_current_ones(
    mesh: AsyncMemoryMesh,
) -> None:
    # The strongest matches (the word three times) are superseded; current memories that
    # mention it once must still be found, exactly as the unabridged search finds them.
    strong = await mesh.remember_many(
        [
            {"text": f"canary canary canary rollout step {i}", "on_conflict": "keep_both"}
            for i in range(120)
        ]
    )
    weak = await mesh.remember_many(
        [{"text": f"note {i}: the canary went fine", "on_conflict": "keep_both"} for i in range(30)]
    )
    async with mesh.stores[0].write() as tx:
        await tx.supersede([(m.id, weak[0].id) for m in strong])
    for k in (1, 5, 10, 25):
        found = await _ids(mesh, "canary", k)
        # min_importance=0 narrows nothing but takes the unabridged query.
        assert found == await _ids(mesh, "canary", k, min_importance=0.0)
        assert len(found) == k
        assert set(found) <= {m.id for m in weak}


@pytest.mark.anyio
async def test_few_matches_are_all_returned(mesh: AsyncMemoryMesh) -> None:
    stored = await mesh.remember_many(["the blue whale is large", "a blue sky today", "red car"])
    found = await _ids(mesh, "blue", 10)
    assert set(found) == {stored[0].id, stored[1].id}
