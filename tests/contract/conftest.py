"""Contract suite fixtures: the only place that knows how each backend opens a store.

Every test in this package asks for ``open_mesh`` (or ``mesh`` / ``any_mesh``) and never
sees a file, URL or private module, so the same tests run against every backend in
:data:`LOCATORS`. Adding a backend means adding its locator there, and optionally a way to
hold a store's write lock to :data:`WRITE_LOCKS` (see README.md here).
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from pathlib import Path
from typing import Any, Literal, Protocol

import _postgres
import pytest

from memorymesh import AsyncMemoryMesh, MemoryMesh

from ._helpers import embedder

#: Where a named store lives: the project store's and the global store's location, in the
#: form ``AsyncMemoryMesh(project, global_path=global_)`` takes (a path or a store URL).
StoreLocation = tuple[str | Path, str | Path]
#: Turns a store name (unique within one test) into its location.
Locator = Callable[[str], StoreLocation]


@contextmanager
def _sqlite_locator(tmp_path: Path) -> Iterator[Locator]:
    """Real database files under the test's tmp_path; pytest removes them."""

    def locate(name: str) -> StoreLocation:
        folder = tmp_path / "contract-stores" / name
        folder.mkdir(parents=True, exist_ok=True)
        # Store URLs, as a third-party engine's would be (sqlite:////absolute/path).
        return f"sqlite:///{folder / 'project.db'}", f"sqlite:///{folder / 'global.db'}"

    yield locate


#: The one schema the contract suite's PostgreSQL stores share: each store is a tenant of its
#: own (a fresh project key or user), the way a team's server holds many.
_PG_SCHEMA = _postgres.fresh_name("contract")


@contextmanager
def _postgres_locator(tmp_path: Path) -> Iterator[Locator]:
    """Stores on the session's real PostgreSQL (started on first use; failing to start fails
    the test). Each name is a fresh project key and user; their rows are deleted afterwards."""
    made: dict[str, StoreLocation] = {}
    tenants: list[str] = []

    def locate(name: str) -> StoreLocation:
        if name not in made:  # the same name must give the same store
            key = _postgres.fresh_name(name.replace("-", "_"))
            tenants.extend([f"project:{key}", f"user:{key}"])
            made[name] = (
                _postgres.server_url(_PG_SCHEMA, project=key),
                _postgres.server_url(_PG_SCHEMA, owner=key),
            )
        return made[name]

    try:
        yield locate
    finally:
        if tenants:
            _postgres.drop_tenants(_PG_SCHEMA, tenants)


#: Backend id -> a context manager (given the test's tmp_path) that yields its locator. The
#: context manager is where a server backend creates and drops its per-test databases.
LOCATORS: dict[str, Callable[[Path], AbstractContextManager[Locator]]] = {
    "sqlite": _sqlite_locator,
    "postgres": _postgres_locator,
}
BACKENDS: list[str] = list(LOCATORS)


@asynccontextmanager
async def _sqlite_write_lock(location: str | Path) -> AsyncIterator[None]:
    """Another process's write transaction: ``BEGIN IMMEDIATE`` on a connection of our own."""
    path = str(location).removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


#: Backend id -> how to hold one store's write lock from outside the mesh (as another process
#: would), given that store's location. Optional: tests that need it skip without it.
WRITE_LOCKS: dict[str, Callable[[str | Path], AbstractAsyncContextManager[None]]] = {
    "sqlite": _sqlite_write_lock,
}


class OpenMesh(Protocol):
    """The ``open_mesh`` fixture's type."""

    def __call__(self, *, store: str | None = None, **kwargs: Any) -> AsyncMemoryMesh:
        """A new, unopened mesh (use ``async with``) on a store of the backend under test.

        Args:
            store: A name for the store. Meshes opened with the same name share one store
                (two processes on one database); ``None`` gives a fresh, empty store.
            **kwargs: ``AsyncMemoryMesh``'s keyword options (``embedding=``, ...).
        """
        ...


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The id of the storage backend under test."""
    return str(request.param)


@pytest.fixture
def locate(backend: str, tmp_path: Path) -> Iterator[Locator]:
    """The backend's locator for this test: a store name -> its (project, global) location."""
    with LOCATORS[backend](tmp_path) as locator:
        yield locator


@pytest.fixture
def open_mesh(locate: Locator) -> OpenMesh:
    fresh = itertools.count()

    def factory(*, store: str | None = None, **kwargs: Any) -> AsyncMemoryMesh:
        project, global_ = locate(store if store is not None else f"fresh-{next(fresh)}")
        return AsyncMemoryMesh(project, global_path=global_, **kwargs)

    return factory


class OpenSyncMesh(Protocol):
    """The ``open_sync_mesh`` fixture's type: ``open_mesh`` for the blocking ``MemoryMesh``."""

    def __call__(self, *, store: str | None = None, **kwargs: Any) -> MemoryMesh: ...


@pytest.fixture
def open_sync_mesh(locate: Locator) -> OpenSyncMesh:
    fresh = itertools.count()

    def factory(*, store: str | None = None, **kwargs: Any) -> MemoryMesh:
        project, global_ = locate(store if store is not None else f"sync-{next(fresh)}")
        return MemoryMesh(project, global_path=global_, **kwargs)

    return factory


class HoldWriteLock(Protocol):
    """The ``hold_write_lock`` fixture's type."""

    def __call__(
        self, store: str, scope: Literal["project", "global"]
    ) -> AbstractAsyncContextManager[None]:
        """Hold the write lock of the named store's project or global store, as another
        process in the middle of a write would, for the ``async with`` block."""
        ...


@pytest.fixture
def hold_write_lock(backend: str, locate: Locator) -> HoldWriteLock:
    holder = WRITE_LOCKS.get(backend)
    if holder is None:
        pytest.skip(f"the {backend} backend has no way to hold a write lock from outside")

    def hold(store: str, scope: Literal["project", "global"]) -> AbstractAsyncContextManager[None]:
        project, global_ = locate(store)
        return holder(project if scope == "project" else global_)

    return hold


@pytest.fixture
async def mesh(open_mesh: OpenMesh) -> AsyncIterator[AsyncMemoryMesh]:
    """A mesh without an embedder (keyword recall) on a fresh store."""
    async with open_mesh() as opened:
        yield opened


@pytest.fixture(params=["keyword", "vectors"])
async def any_mesh(
    request: pytest.FixtureRequest, open_mesh: OpenMesh
) -> AsyncIterator[AsyncMemoryMesh]:
    """A fresh mesh without and with an embedder: conflict candidates come from the keyword
    index in one case and from vector search in the other, and a backend must serve both."""
    embedding = embedder() if request.param == "vectors" else "none"
    async with open_mesh(embedding=embedding) as opened:
        yield opened


@pytest.fixture
def v4_databases(tmp_path: Path) -> dict[str, Path]:
    """Copies of a MemoryMesh 4.x project and global database (input for ``import_v4``,
    which always reads 4.x SQLite files, whatever backend it writes to)."""
    source = Path(__file__).parent.parent / "fixtures" / "v4"
    folder = tmp_path / "v4"
    folder.mkdir()
    copies: dict[str, Path] = {}
    for name in ("project", "global"):  # import_v4 reads the scope from the file's name
        copies[name] = folder / f"{name}.db"
        shutil.copy(source / f"{name}.db", copies[name])
    return copies
