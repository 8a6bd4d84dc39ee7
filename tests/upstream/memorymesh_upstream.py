"""A pytest plugin that runs LangGraph's own store tests against ``MemoryMeshStore``.

``run.py`` loads it (``-p memorymesh_upstream``) into a pytest run over test files extracted
from the sdists of the installed LangGraph packages. The test bodies are LangGraph's,
untouched; only what they get a store from is swapped:

- the ``sync_store`` / ``async_store`` fixtures (LangGraph's ``tests/conftest.py`` is not
  used: it imports Redis and PostgreSQL clients) give a ``MemoryMeshStore`` on real SQLite
  files in the test's temporary directory; the checkpointer and cache fixtures those tests
  also take give LangGraph's own in-memory and SQLite ones;
- a test module's ``InMemoryStore`` name (the store LangGraph's unit tests build directly) is
  ``UpstreamMeshStore`` for the test's duration: a ``MemoryMeshStore`` subclass whose
  constructor takes ``InMemoryStore``'s arguments and opens its own mesh;
- the PostgreSQL store's tests keep their own fixtures, which create a database per test on
  the real PostgreSQL ``run.py`` starts (``$MEMORYMESH_UPSTREAM_PG_URL``, given to them as
  ``DEFAULT_URI`` by ``postgres_conftest.py``) and open ``PostgresStore.from_conn_string``
  there; that name is ``UpstreamPostgresStore``, a MemoryMeshStore whose mesh is on SQLite
  files or on that database, as ``$MEMORYMESH_UPSTREAM_BACKEND`` says (``sqlite`` or
  ``postgres``).

Tests that use no store are deselected at collection, as are the ones in ``DESELECTED``
(each with its reason). Every outcome, and whether the test built a MemoryMesh store, is
written as JSON lines to ``$MEMORYMESH_UPSTREAM_REPORT`` for ``run.py``'s table.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_memorymesh import MemoryMeshStore

from memorymesh import AsyncMemoryMesh, MemoryMesh

_SQLITE = r"^langgraph-checkpoint-sqlite-[^/]+/tests/"
_POSTGRES = r"^langgraph-checkpoint-postgres-[^/]+/tests/test_(async_)?store\.py::"

#: Tests that use a store but cannot run here, and why: a regular expression on
#: ``<extracted sdist directory>/<node id>``. Each runs SQL on (or checks the SQL of) the
#: LangGraph store's own tables, which MemoryMeshStore does not have; everything else runs,
#: PostgresStore's [pipe], [pool] and halfvec_* variants and test_large_batches_async too.
DESELECTED: dict[str, str] = {
    _SQLITE + r"test_store\.py::test_vector_store_initialization$": (
        "reads SqliteStore's own tables with SQL (store.conn)"
    ),
    _SQLITE + r"test_store\.py::test_nonnull_migrations$": (
        "checks SqliteStore's own migration scripts"
    ),
    _SQLITE + r"test_store\.py::test_list_namespaces_prefix_uses_indexable_condition$": (
        "checks the SQL SqliteStore generates"
    ),
    _SQLITE + r"test_store\.py::test_(escape_glob_literal|namespace_match_pattern)$": (
        "checks SqliteStore's SQL helpers"
    ),
    _POSTGRES + r"test_omit_expired_\w+": (
        "runs SQL on PostgresStore's own table (UPDATE store SET expires_at / updated_at)"
    ),
    _POSTGRES + r"test_nonnull_migrations$": "checks PostgresStore's migration scripts",
    _POSTGRES + r"test_abatch_uses_single_pool_checkout$": (
        "counts psycopg pool checkouts inside AsyncPostgresStore"
    ),
}

#: Fixtures that are, or are built from, a store (LangGraph's, or the SQLite tests' own).
_STORE_FIXTURES = {"sync_store", "async_store", "store"}

_state = threading.local()
_built = {"count": 0}


class UpstreamMeshStore(MemoryMeshStore):
    """``InMemoryStore(index=..., ttl=...)`` and ``SqliteStore`` as a ``MemoryMeshStore``.

    Built directly, it opens its own blocking :class:`~memorymesh.MemoryMesh` (its event loop
    in a thread), so the store's sync and async methods both work from a sync or an async
    test; the plugin closes that mesh when the test ends. ``from_conn_string`` is the SQLite
    store's constructor: ``":memory:"`` is a fresh mesh, a file path the same mesh files
    every time it is opened (the tests reopen a file to see what persisted).
    """

    def __init__(self, *, mesh: Any = None, **kwargs: Any) -> None:
        if mesh is None:
            project, global_path = _mesh_paths(None)
            mesh = MemoryMesh(project, global_path=global_path)
            _opened().append(mesh)
        _built["count"] += 1
        super().__init__(mesh=mesh, **kwargs)

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Iterator[UpstreamMeshStore]:
        project, global_path = _mesh_paths(conn_string)
        with MemoryMesh(project, global_path=global_path) as mesh:
            yield cls(mesh=mesh, **_store_options(kwargs))

    def setup(self) -> None:
        """Nothing to do: a mesh runs its migrations when it opens."""


class UpstreamAsyncMeshStore(UpstreamMeshStore):
    """``AsyncSqliteStore``: ``async with ...from_conn_string(...)`` and ``await setup()``.

    The mesh is an ``AsyncMemoryMesh`` on the caller's event loop, entered with ``async with``
    inside LangGraph's async store fixtures: pytest-asyncio generators, whose teardown runs in
    another task than their setup (which a mesh allows).
    """

    @classmethod
    @asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls, conn_string: str, **kwargs: Any
    ) -> AsyncIterator[UpstreamAsyncMeshStore]:
        project, global_path = _mesh_paths(conn_string)
        async with AsyncMemoryMesh(project, global_path=global_path) as mesh:
            yield cls(mesh=mesh, **_store_options(kwargs))

    async def setup(self) -> None:  # type: ignore[override]
        """Nothing to do: a mesh runs its migrations when it opens."""


class _SqliteDefaults(MemoryMeshStore):
    """What ``SqliteStore``'s constructor assumes that ``MemoryMeshStore``'s does not: a TTL
    configuration that does not say ``refresh_on_read`` means no refresh (``TTLConfig``
    documents True, which PostgresStore and MemoryMeshStore follow; SqliteStore reads it as
    False, and its suite's ``test_ttl_override_default`` relies on that)."""

    def __init__(self, *, mesh: Any = None, **kwargs: Any) -> None:
        ttl = kwargs.get("ttl")
        if isinstance(ttl, dict) and "refresh_on_read" not in ttl:
            kwargs["ttl"] = {**ttl, "refresh_on_read": False}
        super().__init__(mesh=mesh, **kwargs)


class UpstreamSqliteStore(_SqliteDefaults, UpstreamMeshStore):
    """``SqliteStore``: :class:`UpstreamMeshStore` with SqliteStore's TTL default."""


class UpstreamAsyncSqliteStore(_SqliteDefaults, UpstreamAsyncMeshStore):
    """``AsyncSqliteStore``: :class:`UpstreamAsyncMeshStore` with SqliteStore's TTL default."""


class UpstreamPostgresStore(UpstreamMeshStore):
    """``PostgresStore.from_conn_string(url, index=..., ttl=...)`` as a ``MemoryMeshStore``.

    The database at ``url`` is the one the test's fixture created on the real PostgreSQL.
    With ``$MEMORYMESH_UPSTREAM_BACKEND=postgres`` the mesh lives in it (schema
    ``memorymesh``); with ``sqlite`` on SQLite files that the same ``url`` maps to every
    time. ``_cursor()`` is a real psycopg cursor on that database: the fixtures run
    ``DROP TABLE IF EXISTS store_migrations`` through it, which leaves MemoryMesh's tables
    alone (tests that run SQL on PostgresStore's own table are deselected).
    """

    #: PostgresStore's migrations; the fixtures rewrite them before ``setup()``. None here.
    MIGRATIONS: ClassVar[list[str]] = []
    conn_string = ""

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Iterator[UpstreamPostgresStore]:
        location, options = _backend(conn_string)
        with MemoryMesh(location, **options) as mesh:
            store = cls(mesh=mesh, **_store_options(kwargs))
            store.conn_string = conn_string
            try:
                yield store
            finally:
                store.stop_ttl_sweeper()

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        import psycopg
        from psycopg.rows import dict_row

        connect = psycopg.connect(self.conn_string, autocommit=True, row_factory=dict_row)
        with connect as conn, conn.cursor() as cursor:
            yield cursor


class UpstreamAsyncPostgresStore(UpstreamPostgresStore):
    """``AsyncPostgresStore``: ``async with ...from_conn_string(...)`` (in pytest-asyncio
    generator fixtures: setup and teardown in different tasks), ``await setup()``."""

    @classmethod
    @asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls, conn_string: str, **kwargs: Any
    ) -> AsyncIterator[UpstreamAsyncPostgresStore]:
        location, options = _backend(conn_string)
        async with AsyncMemoryMesh(location, **options) as mesh:
            store = cls(mesh=mesh, **_store_options(kwargs))
            store.conn_string = conn_string
            try:
                yield store
            finally:
                await store.stop_ttl_sweeper()  # type: ignore[misc]

    async def setup(self) -> None:  # type: ignore[override]
        """Nothing to do: a mesh runs its migrations when it opens."""

    @asynccontextmanager
    async def _cursor(self) -> AsyncIterator[Any]:  # type: ignore[override]
        import psycopg
        from psycopg.rows import dict_row

        async with (
            await psycopg.AsyncConnection.connect(
                self.conn_string, autocommit=True, row_factory=dict_row
            ) as conn,
            conn.cursor() as cursor,
        ):
            yield cursor


#: What each module-level store name of LangGraph's tests becomes.
SWAPS: dict[str, type[MemoryMeshStore]] = {
    "InMemoryStore": UpstreamMeshStore,
    "SqliteStore": UpstreamSqliteStore,
    "AsyncSqliteStore": UpstreamAsyncSqliteStore,
    "PostgresStore": UpstreamPostgresStore,
    "AsyncPostgresStore": UpstreamAsyncPostgresStore,
}


def _backend(conn_string: str) -> tuple[Any, dict[str, Any]]:
    """The mesh location (and options) a PostgresStore URL maps to, per the backend."""
    if os.environ.get("MEMORYMESH_UPSTREAM_BACKEND", "sqlite") == "postgres":
        # One tenant per test database: reopening the URL finds what was put.
        return conn_string + "&schema=memorymesh&project=upstream&owner=upstream", {}
    project, global_path = _mesh_paths(conn_string)
    return project, {"global_path": global_path}


def _store_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    # The SQLite store's connection options have no MemoryMesh counterpart, nor have
    # PostgresStore's (pipeline=, pool_config=): the mesh manages its own connections, so the
    # suites' [pipe] and [pool] runs run the same store calls again, and run.
    return {k: v for k, v in kwargs.items() if k in ("index", "ttl")}


def _mesh_paths(conn_string: str | None) -> tuple[Path, Path]:
    """Project and global database files for a store (a file path maps to the same ones)."""
    paths: dict[str, tuple[Path, Path]] = _state.paths
    if conn_string is not None and conn_string != ":memory:" and conn_string in paths:
        return paths[conn_string]
    base: Path = _state.base
    _state.serial += 1
    directory = base / f"mesh-{_state.serial}"
    directory.mkdir(parents=True)
    found = (directory / "project.db", directory / "global.db")
    if conn_string is not None and conn_string != ":memory:":
        paths[conn_string] = found
    return found


def _opened() -> list[MemoryMesh]:
    opened: list[MemoryMesh] | None = getattr(_state, "opened", None)
    if opened is None:
        raise RuntimeError("UpstreamMeshStore is built only inside a test")
    return opened


@pytest.fixture(autouse=True)
def _memorymesh_swap(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Give the test a MemoryMesh store wherever it would build an ``InMemoryStore``."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MEMORYMESH_HOME", str(home / ".memorymesh"))
    monkeypatch.setenv("MEMORYMESH_PROJECT_ROOT", str(tmp_path))
    _state.base = tmp_path / "stores"
    _state.serial = 0
    _state.opened = []
    _state.paths = {}
    module = request.module
    for name, swapped in SWAPS.items():
        if module is not None and hasattr(module, name):
            monkeypatch.setattr(module, name, swapped)
    try:
        yield
    finally:
        for mesh in _state.opened:
            mesh.close()
        _state.opened = None


# -- the fixtures LangGraph's tests/conftest.py would give --------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", "async", "exit"])
def durability(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def deterministic_uuids(mocker: Any) -> Any:
    from uuid import UUID

    side_effect = (UUID(f"00000000-0000-4000-8000-{i:012}", version=4) for i in range(10000))
    return mocker.patch("uuid.uuid4", side_effect=side_effect)


@pytest.fixture(params=["memory", "sqlite"])
def cache(request: pytest.FixtureRequest) -> Any:
    if request.param == "sqlite":
        from langgraph.cache.sqlite import SqliteCache

        return SqliteCache(path=":memory:")
    from langgraph.cache.memory import InMemoryCache

    return InMemoryCache()


@pytest.fixture(params=["memory", "sqlite"])
def sync_checkpointer(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(":memory:") as saver:
        yield saver


@pytest.fixture(params=["memory", "sqlite_aio"])
async def async_checkpointer(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with AsyncSqliteSaver.from_conn_string(":memory:") as saver:
        yield saver


@pytest.fixture(params=["memorymesh"])
def sync_store(tmp_path: Path) -> Iterator[MemoryMeshStore]:
    """A store on a blocking MemoryMesh over SQLite files (sync graphs run it from threads)."""
    directory = tmp_path / "sync-store"
    directory.mkdir()
    with MemoryMesh(directory / "project.db", global_path=directory / "global.db") as mesh:
        _built["count"] += 1
        yield MemoryMeshStore(mesh=mesh)


@pytest.fixture(params=["memorymesh"])
async def async_store(tmp_path: Path) -> AsyncIterator[MemoryMeshStore]:
    """A store on an AsyncMemoryMesh opened on the test's own event loop."""
    directory = tmp_path / "async-store"
    directory.mkdir()
    async with AsyncMemoryMesh(directory / "project.db", global_path=directory / "global.db") as m:
        _built["count"] += 1
        yield MemoryMeshStore(mesh=m)


# -- what runs, and the report --------------------------------------------------------------


def _store_names(module: Any) -> re.Pattern[str]:
    """Names in ``module`` that build a store: the swapped ones, and every function, class or
    fixture of the module whose source uses one (a helper such as ``create_vector_store``)."""
    cached: re.Pattern[str] | None = getattr(module, "__memorymesh_store_names__", None)
    if cached is not None:
        return cached
    names = set(SWAPS) | _STORE_FIXTURES
    sources: dict[str, str] = {}
    for name, value in vars(module).items():
        value = getattr(value, "_fixture_function", value)  # a fixture's own function
        if (inspect.isfunction(value) or inspect.isclass(value)) and getattr(
            value, "__module__", None
        ) == module.__name__:
            try:
                sources[name] = inspect.getsource(value)
            except (OSError, TypeError):
                continue
    grown = True
    while grown:  # a helper that calls a helper that builds a store builds one too
        grown = False
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
        for name, source in sources.items():
            if name not in names and pattern.search(source):
                names.add(name)
                grown = True
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    module.__memorymesh_store_names__ = pattern
    return pattern


def _uses_store(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    if _STORE_FIXTURES & fixtures:
        return True
    function = getattr(item, "function", None)
    module = getattr(item, "module", None)
    if function is None or module is None:
        return False
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    pattern = _store_names(module)
    return bool(pattern.search(source)) or any(pattern.fullmatch(f) for f in fixtures)


def pytest_configure(config: pytest.Config) -> None:
    # LangGraph marks timing-sensitive tests for pytest-rerunfailures; here they run once.
    config.addinivalue_line("markers", "flaky: rerun by pytest-rerunfailures upstream")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        detail = str(report.longrepr).strip().splitlines()
        _record({"nodeid": report.nodeid, "outcome": "error", "detail": detail[-1][:200]})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        reason = _deselect_reason(item)
        if reason is None:
            keep.append(item)
            continue
        dropped.append(item)
        _record({"nodeid": item.nodeid, "outcome": "deselected", "reason": reason})
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _deselect_reason(item: pytest.Item) -> str | None:
    where = f"{item.config.rootpath.name}/{item.nodeid}"
    for pattern, reason in DESELECTED.items():
        if re.search(pattern, where):
            return reason
    if not _uses_store(item):
        return "uses no store"
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _state.outcome = "passed"
    _state.detail = ""
    before = _built["count"]
    result = yield
    _record(
        {
            "nodeid": item.nodeid,
            "outcome": _state.outcome,
            "store": _built["count"] > before,
            "detail": _state.detail,
        }
    )
    return result


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        _state.outcome = "failed" if report.when == "call" else "error"
        _state.detail = _first_line(report)
    elif report.skipped and _state.outcome == "passed":
        _state.outcome = "skipped"
        _state.detail = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(report.longrepr)
    return message.splitlines()[0][:200] if message else ""


def _record(entry: dict[str, Any]) -> None:
    path = os.environ.get("MEMORYMESH_UPSTREAM_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")
