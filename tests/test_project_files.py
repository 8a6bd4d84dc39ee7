"""What MemoryMesh leaves in a user's repository (a project store git ignores by itself), and
what its own repository ships (the license pyproject.toml names)."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh

ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def _untracked(repo: Path) -> list[str]:
    return _git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()


@pytest.fixture
def repo(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("needs git")
    project = isolated_home / "project"
    _git(project, "init", "-q")
    (project / ".gitignore").write_text("*.pyc\n", encoding="utf-8")
    monkeypatch.delenv("MEMORYMESH_PROJECT_ROOT")  # found from the working directory, as in use
    return project


@pytest.mark.anyio
async def test_first_use_of_a_project_store_keeps_it_out_of_git(repo: Path) -> None:
    async with AsyncMemoryMesh() as mesh:
        await mesh.remember("We decided to use PostgreSQL for billing", scope="project")
        assert mesh.project_path == str(repo / ".memorymesh" / "memories.db")
    assert (repo / ".memorymesh" / "memories.db").is_file()
    # git sees nothing from the store: not the database, not its -wal/-shm siblings.
    assert _untracked(repo) == ["?? .gitignore"]
    # The project's own .gitignore is not edited.
    assert (repo / ".gitignore").read_text(encoding="utf-8") == "*.pyc\n"


@pytest.mark.anyio
async def test_an_existing_ignore_file_is_never_clobbered(repo: Path) -> None:
    folder = repo / ".memorymesh"
    folder.mkdir()
    (folder / ".gitignore").write_text("# we commit our memories\n", encoding="utf-8")
    async with AsyncMemoryMesh() as mesh:
        await mesh.remember("Releases are cut on Tuesdays", scope="project")
    assert (folder / ".gitignore").read_text(encoding="utf-8") == "# we commit our memories\n"
    assert "?? .memorymesh/memories.db" in _untracked(repo)


@pytest.mark.anyio
async def test_the_global_home_gets_no_ignore_file(isolated_home: Path) -> None:
    async with AsyncMemoryMesh() as mesh:
        await mesh.remember("User prefers dark mode", scope="global")
    assert not (isolated_home / "home" / ".memorymesh" / ".gitignore").exists()


def test_the_license_file_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) the MemoryMesh authors" in text
    assert "Permission is hereby granted, free of charge" in text
