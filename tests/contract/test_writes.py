"""Writes: what ``remember`` and ``remember_many`` store is exactly what reads give back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memorymesh import AsyncMemoryMesh, Category, NewMemory, Scope

from .conftest import OpenMesh

pytestmark = pytest.mark.anyio

# Values a backend must store verbatim: quotes, SQL and search syntax, unicode, nesting.
AWKWARD_TEXT = 'O\'Brien said "DROP TABLE memories; --" then NEAR(a b) * ünïcödé 日本語 🚀'
AWKWARD_METADATA = {
    "quote": 'it\'s "quoted"',
    "nested": {"list": [1, 2.5, "three", None, True], "empty": {}},
    "unicode": "日本語 🚀",
    "big": 2**53,
    "negative": -0.125,
}


async def test_every_field_round_trips(mesh: AsyncMemoryMesh) -> None:
    # Whole milliseconds: timestamps are float seconds, which hold a microsecond of 2099 only
    # approximately; what a backend owes is to give back what it was handed.
    event = datetime(2024, 5, 3, 14, 30, 15, 123000, tzinfo=UTC)
    expires = datetime(2099, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    written = await mesh.remember(
        AWKWARD_TEXT,
        category="decision",
        importance=0.37,
        scope="project",
        metadata=AWKWARD_METADATA,
        pin=True,
        session_id="session-42",
        event_time=event,
        expires_at=expires,
        source="contract",
        agent="agent-7",
    )
    assert written.text == AWKWARD_TEXT
    assert (written.category, written.scope) == (Category.DECISION, Scope.PROJECT)
    assert (written.importance, written.pinned) == (0.37, True)
    assert written.metadata == AWKWARD_METADATA
    assert (written.session_id, written.source, written.agent) == (
        "session-42",
        "contract",
        "agent-7",
    )
    assert (written.event_time, written.expires_at) == (event, expires)
    assert written.superseded_by is None and written.access_count == 0
    # A read gives back the very same memory, timestamps to the microsecond.
    assert await mesh.get(written.id) == written
    [listed] = await mesh.list()
    assert listed == written


async def test_scope_decides_the_store_and_reads_merge_both(mesh: AsyncMemoryMesh) -> None:
    project = await mesh.remember("The CI runs on self-hosted runners", scope="project")
    user = await mesh.remember("The user writes in British English", scope="global")
    assert (project.scope, user.scope) == (Scope.PROJECT, Scope.GLOBAL)
    assert [m.id for m in await mesh.list(scope="project")] == [project.id]
    assert [m.id for m in await mesh.list(scope="global")] == [user.id]
    assert {m.id for m in await mesh.list()} == {project.id, user.id}
    assert (await mesh.count(scope="global"), await mesh.count()) == (1, 2)
    stats = await mesh.stats()
    assert (stats.total, stats.by_scope) == (2, {"project": 1, "global": 1})


async def test_remember_many_keeps_order_and_takes_every_item_form(mesh: AsyncMemoryMesh) -> None:
    written = await mesh.remember_many(
        [
            "Plain string item about kiwis",
            {"text": "Mapping item about mangoes", "importance": 0.8, "scope": "global"},
            NewMemory(text="Model item about papayas", category="pattern", metadata={"n": 3}),
        ]
    )
    assert [m.text for m in written] == [
        "Plain string item about kiwis",
        "Mapping item about mangoes",
        "Model item about papayas",
    ]
    assert written[1].scope is Scope.GLOBAL and written[1].importance == 0.8
    assert written[2].category is Category.PATTERN and written[2].metadata == {"n": 3}
    for memory in written:
        assert await mesh.get(memory.id) == memory
    assert await mesh.count() == 3
    assert await mesh.remember_many([]) == []


async def test_a_large_batch_lands_whole(mesh: AsyncMemoryMesh) -> None:
    texts = [f"batch fact {i}: lantern {i} is {'red' if i % 2 else 'green'}" for i in range(300)]
    # keep_both: this is about a batch landing whole, not about how similar items resolve.
    written = await mesh.remember_many([{"text": t, "on_conflict": "keep_both"} for t in texts])
    assert len({m.id for m in written}) == await mesh.count() == len(texts)
    assert {m.text for m in await mesh.list(limit=1000)} == set(texts)


async def test_an_exact_duplicate_returns_the_stored_memory(mesh: AsyncMemoryMesh) -> None:
    first = await mesh.remember("Tabs, not spaces", metadata={"x": 1})
    again = await mesh.remember("  TABS,   not spaces ")
    assert again.id == first.id
    assert await mesh.count() == 1


async def test_writes_survive_reopening_the_store(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="kept") as first:
        written = await first.remember_many(
            [
                {"text": "Kept across restarts", "scope": "project"},
                {"text": "Global too", "scope": "global"},
            ]
        )
    async with open_mesh(store="kept") as second:
        for memory in written:
            assert await second.get(memory.id) == memory


async def test_list_orders_pages_and_filters(mesh: AsyncMemoryMesh) -> None:
    low = await mesh.remember("low importance note", importance=0.1, metadata={"team": "ops"})
    high = await mesh.remember("high importance note", importance=0.9, session_id="s1")
    mid = await mesh.remember("mid importance note", importance=0.5, pin=True, category="pattern")
    assert [m.id for m in await mesh.list()] == [mid.id, high.id, low.id]
    assert [m.id for m in await mesh.list(order="oldest")] == [low.id, high.id, mid.id]
    assert [m.id for m in await mesh.list(order="importance")] == [high.id, mid.id, low.id]
    assert [m.id for m in await mesh.list(order="oldest", limit=1, offset=1)] == [high.id]
    assert [m.id for m in await mesh.list(pinned=True)] == [mid.id]
    assert [m.id for m in await mesh.list(session_id="s1")] == [high.id]
    assert [m.id for m in await mesh.list(category="pattern")] == [mid.id]
    assert [m.id for m in await mesh.list(metadata_filter={"team": "ops"})] == [low.id]
    assert await mesh.count(pinned=False) == 2


async def test_updated_order_follows_the_last_change(mesh: AsyncMemoryMesh) -> None:
    first = await mesh.remember("first written")
    second = await mesh.remember("second written")
    await mesh.update(first.id, importance=0.6)
    assert [m.id for m in await mesh.list(order="updated")] == [first.id, second.id]


async def test_ids_resolve_from_a_unique_prefix(mesh: AsyncMemoryMesh) -> None:
    memory = await mesh.remember("Resolvable by a short id")
    assert await mesh.resolve_id(memory.id[:12]) == memory.id


async def test_metadata_values_lists_distinct_current_values(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember_many(
        [
            {"text": "ns one", "metadata": {"ns": "alpha", "n": 2}},
            {"text": "ns two", "metadata": {"ns": "beta", "n": 1}},
            {"text": "ns three", "metadata": {"ns": "alpha", "n": 1.5}},
            {"text": "no ns here"},
        ]
    )
    assert await mesh.metadata_values("ns") == ["alpha", "beta"]
    assert await mesh.metadata_values("n") == [1, 1.5, 2]
    assert await mesh.metadata_values("ns", metadata_filter={"n": {"$gt": 1}}) == ["alpha"]


async def test_stats_count_every_kind(mesh: AsyncMemoryMesh) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    await mesh.remember("a pinned decision", category="decision", pin=True)
    await mesh.remember("an expired note", category="context", expires_at=past)
    await mesh.remember("User prefers dark mode in the editor", scope="project")
    await mesh.remember("User prefers light mode in the editor", scope="project")
    stats = await mesh.stats()
    assert (stats.total, stats.pinned, stats.superseded, stats.expired) == (2, 1, 1, 1)
    assert sum(stats.by_category.values()) == 2


async def test_the_write_log_records_each_decision(mesh: AsyncMemoryMesh) -> None:
    memory = await mesh.remember("Logged write")
    await mesh.remember("logged WRITE")
    await mesh.update(memory.id, importance=0.2)
    await mesh.forget(memory.id)
    actions = [entry.action for entry in await mesh.log(memory_id=memory.id)]
    assert actions[0] == "forgotten" and "stored" in actions and "updated" in actions
    assert all(entry.memory_id == memory.id for entry in await mesh.log(memory_id=memory.id))


async def test_health_reports_every_store_ok(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("healthy")
    report = await mesh.health()
    assert report and all(status == ["ok"] for status in report.values())
