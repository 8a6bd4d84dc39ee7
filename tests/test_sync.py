"""MemoryMesh, the blocking twin, mirrors AsyncMemoryMesh exactly."""

from __future__ import annotations

import gc
import inspect
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh, ClosedError, MemoryMesh, MemoryNotFoundError

LIFECYCLE = {"open", "aclose", "close"}


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in LIFECYCLE
    }


def test_both_classes_expose_the_same_methods_with_the_same_parameters() -> None:
    sync, async_ = _public(MemoryMesh), _public(AsyncMemoryMesh)
    assert sorted(sync) == sorted(async_)
    for name, signature in async_.items():
        assert list(sync[name].parameters.values()) == list(signature.parameters.values()), name
        assert inspect.iscoroutinefunction(getattr(AsyncMemoryMesh, name)), name


def test_sync_round_trip(project_db: Path, global_db: Path) -> None:
    with MemoryMesh(project_db, global_path=global_db) as mesh:
        m = mesh.remember("User prefers dark mode in every editor", category="preference")
        hits = mesh.recall("which theme does the user like?")
        assert hits[0].memory.id == m.id
        assert mesh.get(m.id).text == m.text
        assert mesh.update(m.id, importance=0.9).importance == 0.9
        assert mesh.pin(m.id).pinned
        assert mesh.count() == 1
        assert mesh.stats().total == 1
        assert [x.id for x in mesh.list()] == [m.id]
        assert mesh.remember_many(["a", "b"])[1].text == "b"
        assert mesh.forget_many([mesh.resolve_id(m.id[:10])]) == 1
        with pytest.raises(MemoryNotFoundError):
            mesh.forget(m.id)
    assert mesh.closed
    with pytest.raises(ClosedError):
        mesh.recall("anything")
    mesh.close()  # twice is fine


def test_sync_mesh_persists_access_counts(project_db: Path, global_db: Path) -> None:
    with MemoryMesh(project_db, global_path=global_db) as mesh:
        m = mesh.remember("the release train leaves on Tuesdays")
        mesh.recall("release train")
    with MemoryMesh(project_db, global_path=global_db) as mesh:
        assert mesh.get(m.id).access_count == 1


def test_unclosed_mesh_warns(project_db: Path, global_db: Path) -> None:
    mesh = MemoryMesh(project_db, global_path=global_db)
    mesh.remember("left open")
    with pytest.warns(ResourceWarning, match="not closed"):
        mesh.__del__()
    mesh.close()


@pytest.mark.anyio
async def test_unclosed_async_mesh_warns(project_db: Path, global_db: Path) -> None:
    mesh = AsyncMemoryMesh(project_db, global_path=global_db)
    await mesh.remember("left open")
    with pytest.warns(ResourceWarning, match="not closed"):
        mesh.__del__()
    await mesh.aclose()
    gc.collect()
