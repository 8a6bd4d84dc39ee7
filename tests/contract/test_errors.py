"""Bad input: a typed ``MemoryMeshError`` subclass, and the store exactly as it was.

Each test fills a store with memories of every kind (both scopes, superseded, queued), takes
a snapshot (every field of every memory, through export), makes the bad call, and checks the
snapshot did not change.
"""

from __future__ import annotations

import io
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from memorymesh import (
    AsyncMemoryMesh,
    ClosedError,
    InjectedContextError,
    InvalidFilterError,
    InvalidInputError,
    MemoryMeshError,
    MemoryNotFoundError,
    SecretDetectedError,
    mark_injected,
)

from ._helpers import snapshot
from .conftest import OpenMesh

pytestmark = pytest.mark.anyio


@pytest.fixture
async def filled(any_mesh: AsyncMemoryMesh) -> AsyncMemoryMesh:
    await any_mesh.remember("A project memory", scope="project", metadata={"k": "v"})
    await any_mesh.remember("A global memory", scope="global")
    await any_mesh.remember("The staging database runs PostgreSQL 14", scope="project")
    await any_mesh.remember("The staging database runs PostgreSQL 16", scope="project")
    await any_mesh.remember_many(["A queued capture"], review=True)
    return any_mesh


async def _refused(
    mesh: AsyncMemoryMesh, error: type[MemoryMeshError], call: Callable[[], Awaitable[Any]]
) -> None:
    before = await snapshot(mesh)
    with pytest.raises(error):
        await call()
    assert await snapshot(mesh) == before


LATER = datetime(2099, 1, 1, tzinfo=UTC)
BAD_ITEMS: list[tuple[str, dict[str, Any]]] = [
    ("empty text", {"text": ""}),
    ("blank text", {"text": " \n\t "}),
    ("oversized text", {"text": "x" * 20_001}),
    ("NUL in text", {"text": "a\x00b"}),
    ("text not a string", {"text": 42}),
    ("importance above 1", {"text": "t", "importance": 1.5}),
    ("importance NaN", {"text": "t", "importance": math.nan}),
    ("importance bool", {"text": "t", "importance": True}),
    ("metadata set", {"text": "t", "metadata": {"tags": {"a"}}}),
    ("metadata NaN", {"text": "t", "metadata": {"x": math.nan}}),
    ("metadata not a mapping", {"text": "t", "metadata": ["a"]}),
    ("metadata non-string key", {"text": "t", "metadata": {1: "a"}}),
    ("metadata too large", {"text": "t", "metadata": {"blob": "x" * 70_000}}),
    ("unknown category", {"text": "t", "category": "notes"}),
    ("unknown scope", {"text": "t", "scope": "team"}),
    ("unknown policy", {"text": "t", "on_conflict": "overwrite"}),
    ("ttl and expires_at", {"text": "t", "ttl": timedelta(1), "expires_at": LATER}),
    ("negative ttl", {"text": "t", "ttl": timedelta(seconds=-1)}),
    ("pin not a bool", {"text": "t", "pin": "yes"}),
    ("empty session id", {"text": "t", "session_id": ""}),
    ("event_time not a datetime", {"text": "t", "event_time": "yesterday"}),
]


@pytest.mark.parametrize(("case", "item"), BAD_ITEMS, ids=[c for c, _ in BAD_ITEMS])
async def test_bad_writes_write_nothing(
    filled: AsyncMemoryMesh, case: str, item: dict[str, Any]
) -> None:
    kwargs = {k: v for k, v in item.items() if k != "text"}
    await _refused(filled, InvalidInputError, lambda: filled.remember(item["text"], **kwargs))
    # One bad item anywhere in a batch, whichever store the good ones go to: nothing lands.
    batch = [
        {"text": "a good project item", "scope": "project"},
        {"text": "a good global item", "scope": "global"},
        item,
    ]
    await _refused(filled, InvalidInputError, lambda: filled.remember_many(batch))
    await _refused(filled, InvalidInputError, lambda: filled.remember_many(batch, review=True))


@pytest.mark.parametrize(
    "items",
    [
        "a single string",
        {"text": "a mapping"},
        [{"no_text": "x"}],
        [{"text": "x", "colour": 1}],
        [3],
    ],
)
async def test_malformed_batches_write_nothing(filled: AsyncMemoryMesh, items: Any) -> None:
    await _refused(filled, InvalidInputError, lambda: filled.remember_many(items))


async def test_injected_context_is_never_stored(filled: AsyncMemoryMesh) -> None:
    block = mark_injected("- The staging database runs PostgreSQL 16", label="session-start")
    await _refused(filled, InjectedContextError, lambda: filled.remember(block))


async def test_secrets_are_refused_when_the_guard_rejects_them(open_mesh: OpenMesh) -> None:
    async with open_mesh(privacy="reject") as mesh:
        await mesh.remember("A harmless memory")
        secret = "the deploy key is AKIAIOSFODNN7EXAMPLE"
        await _refused(mesh, SecretDetectedError, lambda: mesh.remember(secret))
        await _refused(
            mesh, SecretDetectedError, lambda: mesh.remember_many(["fine", {"text": secret}])
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": ""},
        {"importance": 2},
        {"category": "nope"},
        {"metadata": {1: 2}},
        {"pin": "yes"},
        {"expires_at": "tomorrow"},
    ],
)
async def test_bad_updates_change_nothing(filled: AsyncMemoryMesh, kwargs: dict[str, Any]) -> None:
    memory = (await filled.list())[0]
    await _refused(filled, InvalidInputError, lambda: filled.update(memory.id, **kwargs))


UNKNOWN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.get(UNKNOWN),
        lambda m: m.update(UNKNOWN, importance=0.5),
        lambda m: m.pin(UNKNOWN),
        lambda m: m.unpin(UNKNOWN),
        lambda m: m.forget(UNKNOWN),
        lambda m: m.restore(UNKNOWN),
        lambda m: m.history(UNKNOWN),
        lambda m: m.resolve_id("zzzz"),
        lambda m: m.get(""),
    ],
    ids=["get", "update", "pin", "unpin", "forget", "restore", "history", "resolve_id", "empty"],
)
async def test_unknown_ids(
    filled: AsyncMemoryMesh, call: Callable[[AsyncMemoryMesh], Awaitable[Any]]
) -> None:
    await _refused(filled, MemoryNotFoundError, lambda: call(filled))


async def test_bad_id_lists_change_nothing(filled: AsyncMemoryMesh) -> None:
    known = [m.id for m in await filled.list()]
    [queued] = await filled.review_queue()
    await _refused(filled, InvalidInputError, lambda: filled.forget_many([*known, 7]))  # type: ignore[list-item]
    await _refused(filled, InvalidInputError, lambda: filled.forget_many(known[0]))
    await _refused(filled, InvalidInputError, lambda: filled.accept(queued.id))
    await _refused(filled, InvalidInputError, lambda: filled.reject(queued.id))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"query": ""}, InvalidInputError),
        ({"query": "x" * 20_001}, InvalidInputError),
        ({"query": "ok", "k": 0}, InvalidInputError),
        ({"query": "ok", "k": 1001}, InvalidInputError),
        ({"query": "ok", "mode": "fuzzy"}, InvalidInputError),
        ({"query": "ok", "min_importance": 3}, InvalidInputError),
        ({"query": "ok", "category": "nope"}, InvalidInputError),
        ({"query": "ok", "scope": "team"}, InvalidInputError),
        ({"query": "ok", "since": "2024-01-01"}, InvalidInputError),
        ({"query": "ok", "time_field": "updated"}, InvalidInputError),
        ({"query": "ok", "metadata_filter": {"a.b": 1}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"x') OR 1=1 --": 1}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": {"$regex": "."}}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": {"$in": []}}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": {"a": [1, 2]}}, InvalidFilterError),
        ({"query": "ok", "metadata_filter": "a=1"}, InvalidFilterError),
    ],
)
async def test_bad_reads(
    filled: AsyncMemoryMesh, kwargs: dict[str, Any], error: type[MemoryMeshError]
) -> None:
    await _refused(filled, error, lambda: filled.recall(**kwargs))


async def test_vector_modes_need_an_embedder(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("a memory")
    for mode in ("vector", "hybrid"):
        await _refused(mesh, InvalidInputError, lambda: mesh.recall("memory", mode=mode))  # noqa: B023


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.list(order="random"),
        lambda m: m.list(limit=0),
        lambda m: m.list(offset=-1),
        lambda m: m.count(metadata_filter={"bad key": 1}),
        lambda m: m.metadata_values("not a key"),
        lambda m: m.log(limit=0),
        lambda m: m.review_queue(limit=0),
        lambda m: m.export(io.StringIO(), format="yaml"),
        lambda m: m.import_(io.StringIO("not an export")),
        lambda m: m.import_(io.StringIO('{"format": "memorymesh", "version": 99}\n')),
        lambda m: m.import_(io.StringIO(""), on_clash="merge"),
    ],
    ids=[
        "order",
        "limit",
        "offset",
        "count filter",
        "metadata key",
        "log limit",
        "queue limit",
        "export format",
        "not an export",
        "newer export",
        "on_clash",
    ],
)
async def test_other_bad_calls(
    filled: AsyncMemoryMesh, call: Callable[[AsyncMemoryMesh], Awaitable[Any]]
) -> None:
    await _refused(filled, InvalidInputError, lambda: call(filled))


async def test_a_closed_mesh_refuses_everything(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="kept") as mesh:
        await mesh.remember("written before closing")
    for call in (
        lambda: mesh.remember("after closing"),
        lambda: mesh.recall("closing"),
        lambda: mesh.list(),
        lambda: mesh.open(),
    ):
        with pytest.raises(ClosedError):
            await call()
    async with open_mesh(store="kept") as reopened:
        assert [m.text for m in await reopened.list()] == ["written before closing"]
