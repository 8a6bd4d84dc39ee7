"""MemoryMesh, the blocking twin, mirrors AsyncMemoryMesh exactly."""

from __future__ import annotations

import gc
import inspect
import subprocess
import sys
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


def _use_and_drop(project_db: Path, global_db: Path) -> str:
    mesh = MemoryMesh(project_db, global_path=global_db)
    m = mesh.remember("left open")
    mesh.recall("left open")
    return m.id  # the last reference goes with this frame, the mesh still open


def test_unclosed_mesh_warns_and_is_closed_when_collected(
    project_db: Path, global_db: Path
) -> None:
    with pytest.warns(ResourceWarning, match="not closed"):
        memory_id = _use_and_drop(project_db, global_db)
    with MemoryMesh(project_db, global_path=global_db) as reopened:
        assert reopened.get(memory_id).access_count == 1  # the close flushed it


_LEFT_OPEN = """
import sys
from memorymesh import MemoryMesh

mesh = MemoryMesh(sys.argv[1], global_path=sys.argv[2])
mesh.remember("a script that never closes its mesh")
mesh.recall("never closes")
if sys.argv[3] == "raise":
    raise RuntimeError("the script failed before it could close")
"""


@pytest.mark.parametrize("ending", ["end", "raise"])
def test_a_script_that_never_closes_still_exits(
    project_db: Path, global_db: Path, tmp_path: Path, ending: str
) -> None:
    script = tmp_path / "left_open.py"
    script.write_text(_LEFT_OPEN, encoding="utf-8")
    # The timeout only detects a hang: a healthy run ends in about a second.
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", script, project_db, global_db, ending],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == (1 if ending == "raise" else 0), done.stderr
    assert "MemoryMesh was not closed" in done.stderr
    with MemoryMesh(project_db, global_path=global_db) as mesh:
        [hit] = mesh.recall("never closes")
    assert hit.memory.access_count == 2  # the script's recall was flushed at exit


def test_open_mirrors_the_async_mesh(project_db: Path, global_db: Path) -> None:
    mesh = MemoryMesh(project_db, global_path=global_db)
    with mesh.open() as opened:
        assert opened is mesh
        assert project_db.exists() and global_db.exists()
    with pytest.raises(ClosedError):
        mesh.open()


def test_list_takes_any_page_size(project_db: Path, global_db: Path) -> None:
    with MemoryMesh(project_db, global_path=global_db) as mesh:
        mesh.remember_many([f"note number {i}" for i in range(30)])
        assert len(mesh.list(limit=50_000)) == 30
        assert len(mesh.list(limit=2**70, offset=25)) == 5


@pytest.mark.anyio
async def test_unclosed_async_mesh_warns(project_db: Path, global_db: Path) -> None:
    mesh = AsyncMemoryMesh(project_db, global_path=global_db)
    await mesh.remember("left open")
    with pytest.warns(ResourceWarning, match="not closed"):
        mesh.__del__()
    await mesh.aclose()
    gc.collect()
