from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import _postgres
import pytest
from hypothesis import settings

from memorymesh import AsyncMemoryMesh

# In CI the fuzzers replay the same examples every run, so a landing is never blocked by a
# case that one run happened to draw; on a developer's machine they keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def postgres_session() -> Iterator[None]:
    """Stop the session's PostgreSQL (started by the first test that needs one) at the end."""
    yield
    _postgres.stop()


@pytest.fixture
def anyio_backend() -> str:
    # aiosqlite resolves futures on asyncio's loop, so asyncio is the backend we support.
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the real ~/.memorymesh and the checkout's own project store."""
    home = tmp_path / "home"
    project = tmp_path / "project"
    project.mkdir()
    home.mkdir()
    monkeypatch.setenv("MEMORYMESH_HOME", str(home / ".memorymesh"))
    monkeypatch.setenv("MEMORYMESH_PROJECT_ROOT", str(project))
    monkeypatch.setenv("HOME", str(home))
    # A judge model configured on this machine must never be asked by a test.
    for name in ("MEMORYMESH_JUDGE", "MEMORYMESH_JUDGE_URL", "MEMORYMESH_JUDGE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MEMORYMESH_DB", raising=False)  # a server this machine points at
    monkeypatch.chdir(project)
    return tmp_path


@pytest.fixture
def project_db(tmp_path: Path) -> Path:
    return tmp_path / "project" / ".memorymesh" / "memories.db"


@pytest.fixture
def global_db(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".memorymesh" / "global.db"


@pytest.fixture
async def mesh(project_db: Path, global_db: Path) -> AsyncIterator[AsyncMemoryMesh]:
    """A mesh on real SQLite files in the test's temporary directory."""
    async with AsyncMemoryMesh(project_db, global_path=global_db) as opened:
        yield opened


@pytest.fixture
async def memory_mesh() -> AsyncIterator[AsyncMemoryMesh]:
    """A mesh on two in-memory databases."""
    async with AsyncMemoryMesh(":memory:", global_path=":memory:") as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgres"])
async def either_mesh(
    request: pytest.FixtureRequest, project_db: Path, global_db: Path
) -> AsyncIterator[AsyncMemoryMesh]:
    """A mesh on real SQLite files, and on the session's real PostgreSQL (a fresh project and
    user of their own): for the adapters' tests, which must pass on both engines."""
    if request.param == "sqlite":
        opened = AsyncMemoryMesh(project_db, global_path=global_db)
    else:
        opened = AsyncMemoryMesh(_postgres.tenant_url())
    async with opened:
        yield opened
