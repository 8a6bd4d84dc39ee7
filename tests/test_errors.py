"""Bad input gets a typed error and leaves the store exactly as it was."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from memorymesh import (
    AsyncMemoryMesh,
    CorruptDatabaseError,
    InvalidFilterError,
    InvalidInputError,
    MemoryMeshError,
    MemoryNotFoundError,
    SchemaVersionError,
    StoreError,
)

pytestmark = pytest.mark.anyio


async def _snapshot(mesh: AsyncMemoryMesh) -> list[tuple[str, str, float, str]]:
    return [
        (m.id, m.text, m.importance, repr(m.metadata))
        for m in await mesh.list(include_expired=True, include_superseded=True, limit=10_000)
    ]


BAD_REMEMBER: list[tuple[str, dict[str, Any]]] = [
    ("empty text", {"text": ""}),
    ("blank text", {"text": "   \n\t "}),
    ("oversized text", {"text": "x" * 20_001}),
    ("NUL in text", {"text": "a\x00b"}),
    ("text not a string", {"text": 42}),
    ("importance above 1", {"text": "t", "importance": 1.5}),
    ("importance below 0", {"text": "t", "importance": -0.1}),
    ("importance NaN", {"text": "t", "importance": math.nan}),
    ("importance inf", {"text": "t", "importance": math.inf}),
    ("importance bool", {"text": "t", "importance": True}),
    ("importance string", {"text": "t", "importance": "high"}),
    ("metadata set", {"text": "t", "metadata": {"tags": {"a", "b"}}}),
    ("metadata object", {"text": "t", "metadata": {"obj": object()}}),
    ("metadata NaN", {"text": "t", "metadata": {"score": math.nan}}),
    ("metadata not a mapping", {"text": "t", "metadata": ["a", "b"]}),
    ("metadata non-string key", {"text": "t", "metadata": {1: "a"}}),
    ("metadata too large", {"text": "t", "metadata": {"blob": "x" * 70_000}}),
    ("unknown category", {"text": "t", "category": "notes"}),
    ("unknown scope", {"text": "t", "scope": "team"}),
    ("ttl and expires_at", {"text": "t", "ttl": 5, "expires_at": 5}),
    ("pin not a bool", {"text": "t", "pin": "yes"}),
    ("session id empty", {"text": "t", "session_id": ""}),
    ("event_time not a datetime", {"text": "t", "event_time": "yesterday"}),
]


@pytest.mark.parametrize(("case", "kwargs"), BAD_REMEMBER, ids=[c for c, _ in BAD_REMEMBER])
async def test_bad_remember_input_is_refused_and_nothing_changes(
    mesh: AsyncMemoryMesh, case: str, kwargs: dict[str, Any]
) -> None:
    await mesh.remember("an existing memory", metadata={"k": "v"})
    before = await _snapshot(mesh)
    text = kwargs.pop("text")
    with pytest.raises(InvalidInputError):
        await mesh.remember(text, **kwargs)
    with pytest.raises(InvalidInputError):
        await mesh.remember_many(["a good item", {"text": text, **kwargs}])
    assert await _snapshot(mesh) == before


@pytest.mark.parametrize(
    "items",
    [
        "a single string",
        {"text": "a single mapping"},
        [{"no_text": "x"}],
        [{"text": "x", "colour": "red"}],
        [3.14],
    ],
)
async def test_bad_remember_many_items(mesh: AsyncMemoryMesh, items: Any) -> None:
    with pytest.raises(InvalidInputError):
        await mesh.remember_many(items)
    assert await mesh.count() == 0


async def test_bad_update_changes_nothing(mesh: AsyncMemoryMesh) -> None:
    m = await mesh.remember("original text", importance=0.4)
    before = await _snapshot(mesh)
    for kwargs in ({"text": ""}, {"importance": 2}, {"category": "nope"}, {"metadata": {1: 2}}):
        with pytest.raises(InvalidInputError):
            await mesh.update(m.id, **kwargs)
    assert await _snapshot(mesh) == before


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"query": ""}, InvalidInputError),
        ({"query": "   "}, InvalidInputError),
        ({"query": "x" * 20_001}, InvalidInputError),
        ({"query": "ok", "k": 0}, InvalidInputError),
        ({"query": "ok", "k": 1001}, InvalidInputError),
        ({"query": "ok", "k": True}, InvalidInputError),
        ({"query": "ok", "k": 2.5}, InvalidInputError),
        ({"query": "ok", "min_importance": 3}, InvalidInputError),
        ({"query": "ok", "category": "nope"}, InvalidInputError),
        ({"query": "ok", "since": "2024-01-01"}, InvalidInputError),
        ({"query": "ok", "metadata_filter": {"a.b": 1}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"x') OR 1=1 --": 1}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"1abc": 1}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": {"$regex": "."}}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": {"$in": "abc"}}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": {"$in": []}}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": [1, 2]}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": {"$gt": None}}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": math.inf}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": "a=1"}, InvalidFilterError),
    ],
)
async def test_bad_recall_input(
    mesh: AsyncMemoryMesh, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await mesh.recall(**kwargs)


def test_errors_inherit_the_builtin_that_fits() -> None:
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(InvalidFilterError, InvalidInputError)
    assert issubclass(MemoryNotFoundError, LookupError)
    assert issubclass(StoreError, MemoryMeshError)


async def test_unknown_ids(mesh: AsyncMemoryMesh) -> None:
    for bad in ("nope", "", 17):
        with pytest.raises(MemoryNotFoundError):
            await mesh.get(bad)  # type: ignore[arg-type]


async def test_values_that_look_like_sql_are_just_values(mesh: AsyncMemoryMesh) -> None:
    evil = "x'); DROP TABLE memories; --"
    m = await mesh.remember(evil, metadata={"note": evil})
    hits = await mesh.recall("DROP TABLE", metadata_filter={"note": evil})
    assert [h.memory.id for h in hits] == [m.id]
    assert await mesh.count() == 1


@pytest.mark.parametrize(
    "query", ['"', '"unbalanced', "*", "dark*", "NEAR(dark mode)", "dark AND", "OR", "text:dark",
              "^dark", "dark + mode", "(dark", "-mode", "dark NOT mode", "{text}: dark"]
)
async def test_fts_syntax_in_queries_is_plain_text(mesh: AsyncMemoryMesh, query: str) -> None:
    m = await mesh.remember("User prefers dark mode and the word NEAR or AND")
    hits = await mesh.recall(query)
    if any(word in query.lower() for word in ("dark", "mode", "near", "and", "or", "text")):
        assert [h.memory.id for h in hits] == [m.id]
    else:
        assert hits == []


async def test_corrupt_database_gives_a_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not a sqlite database at all" * 200)
    with pytest.raises(CorruptDatabaseError, match="doctor"):
        async with AsyncMemoryMesh(bad, global_path=":memory:"):
            pass
    assert bad.read_bytes().startswith(b"this is not a sqlite database")


async def test_newer_schema_asks_for_an_upgrade(project_db: Path) -> None:
    async with AsyncMemoryMesh(project_db, global_path=":memory:") as mesh:
        await mesh.remember("from today's version")
    with sqlite3.connect(project_db) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_future', 0)"
        )
    conn.close()
    with pytest.raises(SchemaVersionError, match="upgrade"):
        async with AsyncMemoryMesh(project_db, global_path=":memory:"):
            pass


async def test_unwritable_location_gives_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError):
        async with AsyncMemoryMesh(blocker / "sub" / "memories.db", global_path=":memory:"):
            pass
