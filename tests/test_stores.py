"""Store locations and the engine registry: paths, sqlite:// URLs and third-party schemes."""

from __future__ import annotations

from pathlib import Path

import pytest

from memorymesh import (
    AsyncMemoryMesh,
    InvalidInputError,
    Scope,
    Store,
    StoreOptions,
    register_store,
)
from memorymesh.stores import _registry, registered_schemes, resolve_location
from memorymesh.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio


async def test_sqlite_urls_name_the_same_file_as_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with AsyncMemoryMesh(
        "sqlite:///project.db", global_path=f"sqlite:///{tmp_path}/g.db"
    ) as mesh:
        await mesh.remember("We deploy on Fridays", scope="project")
        await mesh.remember("I like dark mode", scope="global")
    assert (tmp_path / "project.db").is_file()
    assert (tmp_path / "g.db").is_file()
    async with AsyncMemoryMesh(tmp_path / "project.db", global_path=tmp_path / "g.db") as mesh:
        texts = {m.text for m in await mesh.list()}
    assert texts == {"We deploy on Fridays", "I like dark mode"}


def test_location_forms_resolve_to_one_canonical_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = str(tmp_path / "x.db")
    assert resolve_location("x.db") == absolute
    assert resolve_location("sqlite:///x.db") == absolute
    assert resolve_location(f"sqlite:///{absolute}") == absolute
    assert resolve_location(Path("x.db")) == absolute
    assert resolve_location("sqlite://") == ":memory:"
    assert resolve_location("sqlite:///:memory:") == ":memory:"
    assert resolve_location(":memory:") == ":memory:"


async def test_one_location_for_both_scopes_is_one_store(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    async with AsyncMemoryMesh(f"sqlite:///{db}", global_path=db) as mesh:
        assert len(mesh.stores) == 1


def test_unknown_scheme_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no store engine for nosuch://"):
        AsyncMemoryMesh("nosuch://host/db", global_path=tmp_path / "g.db")
    assert not (tmp_path / "g.db").exists()
    with pytest.raises(InvalidInputError, match="sqlite:///relative"):
        AsyncMemoryMesh("sqlite://x.db", global_path=":memory:")


def test_register_store_refuses_sqlite_and_non_schemes() -> None:
    with pytest.raises(InvalidInputError, match="built in"):
        register_store(
            "sqlite", lambda location, options: SQLiteStore(":memory:", scope=options.scope)
        )
    with pytest.raises(InvalidInputError, match="not a URL scheme"):
        register_store(
            "no spaces", lambda location, options: SQLiteStore(":memory:", scope=options.scope)
        )


async def test_a_registered_engine_serves_its_scheme_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A third-party engine: here one that keeps each store in a file named after the URL's path.
    monkeypatch.setattr(_registry, "_FACTORIES", {})
    made: list[tuple[str, Scope]] = []

    def factory(location: str, options: StoreOptions) -> Store:
        made.append((location, options.scope))
        name = location.removeprefix("acme://").replace("/", "_")
        return SQLiteStore(tmp_path / f"{name}.db", scope=options.scope)

    register_store("acme", factory)
    assert registered_schemes() == ["sqlite", "acme"]
    async with AsyncMemoryMesh("acme://team/api", global_path="acme://me") as mesh:
        await mesh.remember("The API uses PostgreSQL", scope="project")
        hits = await mesh.recall("which database does the API use")
    assert [h.memory.text for h in hits] == ["The API uses PostgreSQL"]
    assert made == [("acme://me", Scope.GLOBAL), ("acme://team/api", Scope.PROJECT)]
    assert (tmp_path / "team_api.db").is_file()
