"""Import from MemoryMesh 4.x, against databases written by the real memorymesh==4.3.0."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError, Memory
from memorymesh.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "v4"
EXPECTED: list[dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(memory: Memory, want: dict[str, Any]) -> None:
    meta = dict(want["metadata"])
    assert memory.text == want["text"]
    assert memory.scope.value == want["scope"]
    assert memory.importance == pytest.approx(want["importance"])
    assert memory.created_at == datetime.fromisoformat(want["created_at"])
    assert memory.updated_at == datetime.fromisoformat(want["updated_at"])
    assert memory.access_count == want["access_count"]
    assert memory.session_id == want["session_id"]
    assert memory.pinned is (meta.pop("pinned", False) is True)
    category = meta.pop("category", None)
    if category is not None:
        assert memory.category.value == category
    assert memory.metadata == {**meta, "v4_decay_rate": want["decay_rate"]}
    assert memory.source == "memorymesh-4"


@pytest.mark.anyio
async def test_import_is_lossless_and_idempotent(tmp_path: Path, mesh: AsyncMemoryMesh) -> None:
    sources = {}
    for name in ("project.db", "global.db"):
        sources[name] = tmp_path / name
        shutil.copy(FIXTURES / name, sources[name])
    digests = {name: _digest(path) for name, path in sources.items()}

    project = await mesh.import_v4(sources["project.db"])
    global_ = await mesh.import_v4(sources["global.db"])
    assert (project.scope, global_.scope) == ("project", "global")
    assert project.imported + global_.imported == len(EXPECTED) == 8
    assert project.already_present == global_.already_present == 0
    for want in EXPECTED:
        _check(await mesh.get(want["id"]), want)
    assert await mesh.count() == 8
    assert (await mesh.recall("PostgreSQL billing"))[0].memory.id == next(
        w["id"] for w in EXPECTED if "PostgreSQL" in w["text"]
    )

    before = [m.model_dump() for m in await mesh.list(limit=100, order="oldest")]
    again = await mesh.import_v4(sources["project.db"], scope="project")
    assert again.imported == 0 and again.already_present == project.read
    assert [m.model_dump() for m in await mesh.list(limit=100, order="oldest")] == before
    assert {name: _digest(path) for name, path in sources.items()} == digests

    with pytest.raises(InvalidInputError, match=r"not a MemoryMesh 4\.x database"):
        await mesh.import_v4(tmp_path / "project" / ".memorymesh" / "memories.db")
    with pytest.raises(InvalidInputError, match=r"not a MemoryMesh 4\.x database"):
        await mesh.import_v4(tmp_path / "missing.db")


def test_cli_moves_4x_stores_aside_and_imports_them(
    project_db: Path, global_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A user upgrading: their 4.x files sit exactly where 5.x keeps its stores.
    for source, target in (("project.db", project_db), ("global.db", global_db)):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / source, target)
    assert main(["import-v4", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert sorted((r["scope"], r["imported"]) for r in reports) == [("global", 4), ("project", 4)]
    assert project_db.with_name("memories.v4.db").exists()
    assert _digest(global_db.with_name("global.v4.db")) == _digest(FIXTURES / "global.db")

    assert main(["recall", "dark mode", "--json"]) == 0
    [hit] = json.loads(capsys.readouterr().out)
    assert hit["memory"]["category"] == "preference"

    assert main(["import-v4"]) == 0  # again: nothing new
    out = capsys.readouterr().out
    assert "0 imported, 4 already present" in out
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 8

    assert main(["import-v4", str(project_db)]) == 2  # a 5.x store is not a 4.x one
    assert "not a MemoryMesh 4.x database" in capsys.readouterr().err
