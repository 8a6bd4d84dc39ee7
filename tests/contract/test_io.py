"""Export and import: a store exported and imported into a fresh store of the same backend
holds exactly what the first one held, history links, statuses and timestamps included."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError, register_embedder

from ._helpers import Model, embedder, found, side_snapshot, snapshot
from .conftest import OpenMesh

pytestmark = pytest.mark.anyio


async def _fill(mesh: AsyncMemoryMesh) -> None:
    """One memory of every kind: superseded, expired, pinned, queued, rejected, both scopes."""
    await mesh.remember(
        "O'Brien's \"quoted\" note: ünïcödé 🚀",
        metadata={"nested": {"list": [1, "two", None]}, "n": 1.5},
        session_id="s1",
        event_time=datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC),
        agent="agent-1",
    )
    await mesh.remember("The staging database runs PostgreSQL 14", scope="project")
    await mesh.remember("The staging database runs PostgreSQL 16", scope="project")
    await mesh.remember("The user writes in British English", scope="global", pin=True)
    await mesh.remember("An expired reminder", expires_at=datetime.now(UTC) - timedelta(days=1))
    _, rejected = await mesh.remember_many(
        ["A queued capture about kiwis", "A rejected capture about mangoes"], review=True
    )
    await mesh.reject([rejected.id])
    await mesh.recall("staging database")  # access statistics travel too


_PATHS = {"project_path", "global_path"}


async def _export(mesh: AsyncMemoryMesh, **kwargs: object) -> str:
    buffer = io.StringIO()
    await mesh.export(buffer, **kwargs)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
async def test_round_trip_into_a_fresh_store_is_exact(open_mesh: OpenMesh, fmt: str) -> None:
    async with open_mesh(store="source") as writer:
        await _fill(writer)
    # Reopened, so the access statistics recall recorded are flushed and nothing else moves.
    async with open_mesh(store="source") as source:
        before = await snapshot(source)
        document = await _export(source, format=fmt)
        source_stats = (await source.stats()).model_dump(exclude=_PATHS)
    async with open_mesh() as target:
        report = await target.import_(io.StringIO(document))
        assert (report.imported, report.skipped, report.links_dropped) == (len(before), 0, 0)
        assert await snapshot(target) == before
        assert any(r["access_count"] for r in before)
        # What was current, superseded, expired, pinned, queued and rejected still is.
        assert (await target.stats()).model_dump(exclude=_PATHS) == source_stats
        assert await found(target, "staging database PostgreSQL") == [
            r["id"] for r in before if r["text"].endswith("16")
        ]
        assert [m.text for m in await target.review_queue()] == ["A queued capture about kiwis"]


async def test_importing_twice_changes_nothing(open_mesh: OpenMesh) -> None:
    async with open_mesh() as source:
        await _fill(source)
        document = await _export(source)
    async with open_mesh() as target:
        await target.import_(io.StringIO(document))
        once = await snapshot(target)
        report = await target.import_(io.StringIO(document))
        assert (report.imported, report.skipped) == (0, len(once))
        assert await snapshot(target) == once


async def test_clash_rules(open_mesh: OpenMesh) -> None:
    async with open_mesh() as source:
        original = await source.remember("The deploy window is 10:00")
        document = await _export(source)
        await source.update(original.id, text="The deploy window is 14:00")
        newer_document = await _export(source)
    async with open_mesh() as target:
        await target.import_(io.StringIO(newer_document))
        skip = await target.import_(io.StringIO(document))  # default: keep the stored one
        assert skip.skipped == 1 and (await target.get(original.id)).text.endswith("14:00")
        newer = await target.import_(io.StringIO(document), on_clash="newer")
        assert newer.replaced == 0 and (await target.get(original.id)).text.endswith("14:00")
        replace = await target.import_(io.StringIO(document), on_clash="replace")
        assert replace.replaced == 1 and (await target.get(original.id)).text.endswith("10:00")
        assert await found(target, "deploy window") == [original.id]


async def test_a_link_across_scopes_survives_export_and_import_from_either_side(
    open_mesh: OpenMesh,
) -> None:
    # A global memory superseded by a project one: after export and import into fresh stores
    # (which carry no write log of the supersede), history finds both from either memory.
    async with open_mesh(store="source") as source:
        old = await source.remember("The staging database runs PostgreSQL 14", scope="global")
        new = await source.remember("The staging database runs PostgreSQL 16", scope="project")
        assert [(c.memory_id, c.action) for c in new.conflicts] == [(old.id, "superseded")]
        document = await _export(source)
    async with open_mesh() as target:
        report = await target.import_(io.StringIO(document))
        assert (report.imported, report.links_dropped) == (2, 0)
        assert (await target.get(old.id)).superseded_by == new.id
        assert [m.id for m in await target.history(old.id)] == [old.id, new.id]
        assert [m.id for m in await target.history(new.id)] == [old.id, new.id]
        await target.restore(old.id)  # and undone there as in the source
        assert [m.id for m in await target.history(new.id)] == [new.id, old.id]


async def test_export_by_scope(open_mesh: OpenMesh) -> None:
    async with open_mesh() as mesh:
        await mesh.remember("a project memory", scope="project")
        user = await mesh.remember("a global memory", scope="global")
        buffer = io.StringIO()
        assert await mesh.export(buffer, scope="global") == 1
        assert f'"{user.id}"' in buffer.getvalue()


async def test_vectors_travel_with_include_embeddings(open_mesh: OpenMesh) -> None:
    async with open_mesh(embedding=embedder()) as source:
        memory = await source.remember("the cold storage bucket is in iceland")
        await source.remember("lunch is served at noon")
        document = await _export(source, include_embeddings=True)
    async with open_mesh(embedding=embedder()) as target:
        await target.import_(io.StringIO(document))
        assert await target.embedding_backlog() == 0
        hits = await target.recall("cold storage bucket", mode="vector")
        assert hits[0].memory.id == memory.id


async def test_the_embedder_that_made_the_vectors_travels_with_them(open_mesh: OpenMesh) -> None:
    name = "test:carried"
    register_embedder(name, lambda **_: embedder(name), replace=True)
    async with open_mesh(embedding=name) as source:
        memory = await source.remember("the cold storage bucket is in iceland")
        await source.remember("lunch is served at noon")
        with_vectors = await _export(source, include_embeddings=True)
        assert '"store_setting"' not in await _export(source)  # text only: no embedder
    async with open_mesh(store="carried") as target:
        await target.import_(io.StringIO(with_vectors))
    # Opened as the command line opens a store (the embedder it recorded): the same model.
    async with open_mesh(store="carried", embedding="auto") as target:
        assert target.embedder is not None and target.embedder.name == name
        hits = await target.recall("cold storage bucket", mode="vector")
        assert hits[0].memory.id == memory.id
        assert await target.embedding_backlog() == 0


async def test_imported_memories_without_vectors_are_found_by_vector_recall(
    open_mesh: OpenMesh,
) -> None:
    async with open_mesh() as source:
        memory = await source.remember("the cold storage bucket is in iceland")
        await source.remember("lunch is served at noon")
        document = await _export(source)
    async with open_mesh(embedding=embedder()) as target:
        await target.import_(io.StringIO(document))
        assert await target.embedding_backlog() == 2
        assert await target.reembed() == 2
        hits = await target.recall("cold storage bucket", mode="vector")
        assert hits[0].memory.id == memory.id


async def test_a_bad_record_imports_nothing(open_mesh: OpenMesh) -> None:
    async with open_mesh() as source:
        await _fill(source)
        lines = (await _export(source)).splitlines()
    lines.insert(3, '{"id": "broken", "text": "no category or times"}')
    async with open_mesh() as target:
        existing = await target.remember("already here")
        before = await snapshot(target)
        with pytest.raises(InvalidInputError):
            await target.import_(io.StringIO("\n".join(lines)))
        assert await snapshot(target) == before
        assert [m.id for m in await target.list()] == [existing.id]


async def test_a_4x_store_imports_once_and_losslessly(
    any_mesh: AsyncMemoryMesh, v4_databases: dict[str, Any]
) -> None:
    project = await any_mesh.import_v4(v4_databases["project"])
    user = await any_mesh.import_v4(v4_databases["global"])
    assert (project.scope, user.scope) == ("project", "global")
    assert project.imported + user.imported == await any_mesh.count() == 8
    for memory_id in project.ids:
        assert (await any_mesh.get(memory_id)).source == "memorymesh-4"
    before = await snapshot(any_mesh)
    again = await any_mesh.import_v4(v4_databases["project"])
    assert (again.imported, again.already_present) == (0, project.read)
    assert await snapshot(any_mesh) == before
    hits = await any_mesh.recall("PostgreSQL billing")
    assert "PostgreSQL" in hits[0].memory.text


async def _fill_side(mesh: AsyncMemoryMesh) -> list[str]:
    """Two uncertain pairs waiting for review (one across scopes) and a chain of two
    sessions; return the pairs' new ids."""
    await mesh.remember("Maria owns the billing service", scope="project")
    first = await mesh.remember(
        "Maria owns the billing service and its on-call rotation", scope="project"
    )
    await mesh.remember("Omar runs the nightly data export job", scope="global")
    second = await mesh.remember(
        "Omar runs the nightly data export job and its alerting", scope="project"
    )
    news = [first.id, second.id]
    for memory in (first, second):
        assert [(c.kind[:9], c.action) for c in memory.conflicts] == [("possible_", "kept_both")]
    await mesh.session_start(session_id="monday", client="cli")
    await mesh.session_start(session_id="tuesday", client="cli")
    return news


async def _queue(mesh: AsyncMemoryMesh) -> list[tuple[object, ...]]:
    return sorted(
        (p.new.id, p.old.id, p.kind, p.similarity, p.policy, p.reason, p.created_at)
        for p in await mesh.conflict_pairs()
    )


async def test_the_review_queue_judge_cache_and_sessions_travel_once(open_mesh: OpenMesh) -> None:
    # Opened without `async with`, as a one-shot process: the judge runs only when asked.
    unsure = Model("test:unsure", "contradiction", 0.3)
    source = open_mesh(store="side", judge=unsure)
    try:
        news = await _fill_side(source)
        report = await source.judge_pending()
        assert (report.sent, report.unsure) == (2, 2)  # cached, not applied: still queued
        queue = await _queue(source)
        assert sorted(p[0] for p in queue) == sorted(news)
        chain = await source.session_history()
        assert [s.id for s in chain] == ["tuesday", "monday"]
        side = await side_snapshot(source)
        document = await _export(source)
    finally:
        await source.aclose()
    assert {r["type"] for r in side} == {"conflict_pair", "judge_verdict", "session"}
    target = open_mesh(judge=unsure)
    try:
        first = await target.import_(io.StringIO(document))
        assert (first.pairs, first.verdicts, first.sessions) == (2, 2, 2)
        assert await _queue(target) == queue
        assert await side_snapshot(target) == side
        assert await target.session_history() == chain
        # The same judge finds its verdicts cached there: nothing is sent again.
        again = await target.judge_pending()
        assert (again.sent, again.cached, unsure.asked) == (0, 2, 2)
        # Importing twice adds nothing.
        second = await target.import_(io.StringIO(document))
        assert (second.skipped, second.pairs, second.verdicts, second.sessions) == (4, 0, 0, 0)
        assert await side_snapshot(target) == side
        assert await target.session_history() == chain
    finally:
        await target.aclose()


async def _log(mesh: AsyncMemoryMesh) -> list[tuple[str, object]]:
    return [(e.scope.value, e.model_dump(exclude={"scope"})) for e in await mesh.log(limit=10_000)]


async def test_the_write_log_travels_when_asked_and_once(open_mesh: OpenMesh) -> None:
    async with open_mesh() as source:
        await _fill(source)
        plain = await _export(source)
        document = await _export(source, include_log=True)
        logged = await _log(source)
    assert '"log_entry"' not in plain
    async with open_mesh() as target:
        first = await target.import_(io.StringIO(document))
        assert first.log_entries == len(logged) > 0
        # Every entry with its own time, beside the import's own ("imported").
        copied = await _log(target)
        assert [e for e in copied if e[1]["action"] != "imported"] == [
            e for e in logged if e[1]["action"] != "imported"
        ]
        second = await target.import_(io.StringIO(document))
        assert second.log_entries == 0
        again = await _log(target)  # only the second import's own entries are new
        assert [e for e in again if e[1]["action"] != "imported"] == [
            e for e in copied if e[1]["action"] != "imported"
        ]
