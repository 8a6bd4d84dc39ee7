"""``metadata_values``: distinct metadata values (the LangGraph store lists namespaces by it)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memorymesh import AsyncMemoryMesh, InvalidFilterError


@pytest.mark.anyio
async def test_distinct_values_across_both_stores_sorted(memory_mesh: AsyncMemoryMesh) -> None:
    await memory_mesh.remember("alpha note", scope="project", metadata={"ns": "b.", "n": 2})
    await memory_mesh.remember("beta note", scope="global", metadata={"ns": "a.", "n": 1})
    await memory_mesh.remember("gamma note", scope="global", metadata={"ns": "b.", "n": 2.5})
    await memory_mesh.remember("delta note", scope="project", metadata={"ns": {"nested": 1}})
    await memory_mesh.remember("epsilon note", scope="project", metadata={"other": "x"})
    assert await memory_mesh.metadata_values("ns") == ["a.", "b."]
    assert await memory_mesh.metadata_values("n") == [1, 2, 2.5]
    assert await memory_mesh.metadata_values("ns", scope="global") == ["a.", "b."]
    assert await memory_mesh.metadata_values("ns", scope="project") == ["b."]
    assert await memory_mesh.metadata_values("ns", metadata_filter={"n": {"$gt": 1}}) == ["b."]
    assert await memory_mesh.metadata_values("missing") == []


@pytest.mark.anyio
async def test_expired_memories_do_not_count(memory_mesh: AsyncMemoryMesh) -> None:
    m = await memory_mesh.remember("short lived", metadata={"ns": "gone."}, ttl=timedelta(days=1))
    assert await memory_mesh.metadata_values("ns") == ["gone."]
    await memory_mesh.update(m.id, expires_at=m.created_at - timedelta(seconds=1))
    assert await memory_mesh.metadata_values("ns") == []


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["", "a.b", "x')--", "1abc"])
async def test_bad_keys_are_refused(memory_mesh: AsyncMemoryMesh, key: str) -> None:
    with pytest.raises(InvalidFilterError):
        await memory_mesh.metadata_values(key)
