"""AsyncMemoryMesh's operations on real SQLite files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

import memorymesh._mesh as mesh_module
from memorymesh import (
    AsyncMemoryMesh,
    Category,
    ClosedError,
    InvalidInputError,
    Memory,
    MemoryNotFoundError,
    Scope,
    ScoringWeights,
)

pytestmark = pytest.mark.anyio


async def test_issue_snippet_finds_the_preference() -> None:
    async with AsyncMemoryMesh() as mesh:
        m = await mesh.remember("User prefers dark mode in every editor", category="preference")
        hits = await mesh.recall("which theme does the user like?", k=5)
    assert hits[0].memory.id == m.id
    assert hits[0].memory.text == "User prefers dark mode in every editor"
    assert 0.0 < hits[0].score <= 1.0


async def test_recall_matches_terms_not_the_whole_query(mesh: AsyncMemoryMesh) -> None:
    target = await mesh.remember("User prefers dark mode")
    await mesh.remember("The deploy script lives in ops/deploy.sh")
    hits = await mesh.recall("What does the user prefer?")
    assert [h.memory.id for h in hits] == [target.id]


async def test_recall_ranks_better_matches_first(mesh: AsyncMemoryMesh) -> None:
    weak = await mesh.remember("The billing service exists", importance=0.5)
    strong = await mesh.remember(
        "The billing service uses PostgreSQL for billing records", importance=0.5
    )
    hits = await mesh.recall("billing PostgreSQL")
    assert [h.memory.id for h in hits] == [strong.id, weak.id]
    assert hits[0].score > hits[1].score
    assert hits[0].breakdown.relevance == 1.0


async def test_category_and_scope_are_inferred(mesh: AsyncMemoryMesh) -> None:
    pref = await mesh.remember("I prefer tabs over spaces")
    decision = await mesh.remember("We decided to use FastAPI for the HTTP layer")
    assert (pref.category, pref.scope) == (Category.PREFERENCE, Scope.GLOBAL)
    assert (decision.category, decision.scope) == (Category.DECISION, Scope.PROJECT)
    explicit = await mesh.remember("I prefer short commit messages", scope="project")
    assert explicit.scope is Scope.PROJECT


async def test_scopes_are_stored_in_their_own_files(
    mesh: AsyncMemoryMesh, project_db: Path, global_db: Path
) -> None:
    await mesh.remember("Prefer pytest over unittest", category="preference")
    await mesh.remember("The API is versioned under /v2", category="context")
    assert await mesh.count(scope="global") == 1
    assert await mesh.count(scope="project") == 1
    assert mesh.project_path == str(project_db)
    assert mesh.global_path == str(global_db)
    hits = await mesh.recall("pytest API versioned", k=5)
    assert {h.memory.scope for h in hits} == {Scope.GLOBAL, Scope.PROJECT}


async def test_exact_duplicates_return_the_existing_memory(mesh: AsyncMemoryMesh) -> None:
    first = await mesh.remember("Use ruff for linting")
    again = await mesh.remember("  use RUFF   for linting ")
    batch = await mesh.remember_many(["Use uv to install", "use uv to install"])
    assert again.id == first.id
    assert batch[0].id == batch[1].id
    assert await mesh.count() == 2


async def test_remember_many_keeps_order_and_fields(mesh: AsyncMemoryMesh) -> None:
    items = [
        "plain string memory",
        {"text": "mapping memory", "category": "pattern", "metadata": {"lang": "py"}},
        {"text": "global one", "scope": "global", "importance": 0.9, "pin": True},
    ]
    stored = await mesh.remember_many(items)
    assert [m.text for m in stored] == ["plain string memory", "mapping memory", "global one"]
    assert stored[1].category is Category.PATTERN
    assert stored[1].metadata == {"lang": "py"}
    assert stored[2].pinned and stored[2].importance == 0.9
    for memory in stored:
        assert await mesh.get(memory.id) == memory


async def test_remember_many_is_all_or_nothing(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("already here")
    with pytest.raises(InvalidInputError, match="item 2"):
        await mesh.remember_many(["one", "two", "", "four"])
    assert await mesh.count() == 1


async def test_get_update_pin_forget(mesh: AsyncMemoryMesh) -> None:
    m = await mesh.remember("Deploys happen on Fridays", metadata={"team": "ops"})
    updated = await mesh.update(
        m.id, text="Deploys happen on Thursdays", importance=0.9, metadata={"team": "sre"}
    )
    assert updated.text == "Deploys happen on Thursdays"
    assert updated.importance == 0.9
    assert updated.metadata == {"team": "sre"}
    assert updated.updated_at >= m.updated_at
    assert m.text == "Deploys happen on Fridays"  # the caller's copy never changes
    assert (await mesh.pin(m.id)).pinned
    assert not (await mesh.unpin(m.id)).pinned
    assert [h.memory.id for h in await mesh.recall("Thursdays deploys")] == [m.id]
    assert await mesh.recall("Fridays") == []
    forgotten = await mesh.forget(m.id)
    assert forgotten.id == m.id
    with pytest.raises(MemoryNotFoundError):
        await mesh.get(m.id)
    with pytest.raises(MemoryNotFoundError):
        await mesh.forget(m.id)
    with pytest.raises(MemoryNotFoundError):
        await mesh.update(m.id, importance=0.1)


async def test_forget_many_counts_what_it_deleted(mesh: AsyncMemoryMesh) -> None:
    a, b = await mesh.remember_many(["keep me?", "no, forget"])
    c = await mesh.remember("a global preference: I like vim", category="preference")
    assert await mesh.forget_many([a.id, c.id, "not-an-id", a.id]) == 2
    assert [m.id for m in await mesh.list()] == [b.id]


async def test_list_orders_and_pages_across_both_stores(mesh: AsyncMemoryMesh) -> None:
    ids = []
    for i in range(6):
        scope = "global" if i % 2 else "project"
        ids.append((await mesh.remember(f"memory number {i}", scope=scope, importance=i / 10)).id)
    newest = [m.id for m in await mesh.list()]
    assert newest == ids[::-1]
    assert [m.id for m in await mesh.list(order="oldest", limit=2, offset=1)] == ids[1:3]
    assert [m.id for m in await mesh.list(order="importance", limit=3)] == ids[5:2:-1]
    assert [m.id for m in await mesh.list(scope="global")] == [ids[5], ids[3], ids[1]]
    with pytest.raises(InvalidInputError):
        await mesh.list(order="rowid; DROP TABLE memories")  # type: ignore[arg-type]


async def test_stats_counts_every_scope_and_category(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember_many(
        [
            {"text": "likes green tea", "category": "preference"},
            {"text": "never push to main", "category": "guardrail", "pin": True},
            {"text": "we chose SQLite", "category": "decision"},
        ]
    )
    stats = await mesh.stats()
    assert stats.total == 3
    assert stats.by_scope == {"project": 2, "global": 1}  # a rule stays with the project
    assert stats.by_category == {"decision": 1, "guardrail": 1, "preference": 1}
    assert stats.pinned == 1
    assert stats.embedder == "none"


async def test_filters_narrow_the_query_and_never_replace_it(mesh: AsyncMemoryMesh) -> None:
    py = await mesh.remember(
        "Format Python code with ruff", category="pattern", metadata={"lang": "py", "stars": 5}
    )
    await mesh.remember(
        "Format Rust code with rustfmt", category="pattern", metadata={"lang": "rs", "stars": 3}
    )
    await mesh.remember("Python 3.11 is the minimum", category="decision", metadata={"lang": "py"})

    hits = await mesh.recall("format code", metadata_filter={"lang": "py"})
    assert [h.memory.id for h in hits] == [py.id]
    hits = await mesh.recall("format code", metadata_filter={"stars": {"$gte": 4}})
    assert [h.memory.id for h in hits] == [py.id]
    hits = await mesh.recall("format code", metadata_filter={"lang": {"$in": ["py", "go"]}})
    assert [h.memory.id for h in hits] == [py.id]
    hits = await mesh.recall("format code", metadata_filter={"lang": {"$ne": "rs"}})
    assert [h.memory.id for h in hits] == [py.id]
    hits = await mesh.recall("format", category="decision")
    assert hits == []  # the decision matches the filter but not the query
    hits = await mesh.recall("Python", category=["decision", "pattern"], k=10)
    assert len(hits) == 2


async def test_importance_time_and_session_filters(mesh: AsyncMemoryMesh) -> None:
    low = await mesh.remember("cache keys use sha256", importance=0.2, session_id="s1")
    high = await mesh.remember("cache eviction is LRU", importance=0.8, session_id="s2")
    assert [h.memory.id for h in await mesh.recall("cache", min_importance=0.5)] == [high.id]
    assert [h.memory.id for h in await mesh.recall("cache", session_id="s1")] == [low.id]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await mesh.recall("cache", since=later) == []
    assert len(await mesh.recall("cache", until=later)) == 2


async def test_expired_memories_are_not_recalled_unless_pinned(mesh: AsyncMemoryMesh) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    expired = await mesh.remember("temporary token rotation note", expires_at=past)
    pinned = await mesh.remember("pinned token rotation rule", expires_at=past, pin=True)
    live = await mesh.remember("token rotation runs weekly", ttl=timedelta(days=1))
    ids = {h.memory.id for h in await mesh.recall("token rotation", k=10)}
    assert ids == {pinned.id, live.id}
    assert expired.id in {m.id for m in await mesh.list(include_expired=True)}
    assert (await mesh.stats()).expired == 1


async def test_weights_change_the_ranking(project_db: Path, global_db: Path) -> None:
    only_importance = ScoringWeights(relevance=0.0, recency=0.0, importance=1.0, frequency=0.0)
    async with AsyncMemoryMesh(project_db, global_path=global_db, weights=only_importance) as mesh:
        strong = await mesh.remember("release checklist release steps release", importance=0.1)
        important = await mesh.remember("release notes go in CHANGES.md", importance=0.9)
        hits = await mesh.recall("release checklist")
    assert [h.memory.id for h in hits] == [important.id, strong.id]


async def test_recall_returns_copies_and_records_access(project_db: Path, global_db: Path) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        m = await mesh.remember("The staging URL is staging.example.com")
        first = (await mesh.recall("staging URL"))[0].memory
        second = (await mesh.recall("staging URL"))[0].memory
        assert m.access_count == 0  # what the caller held did not change
        assert (first.access_count, second.access_count) == (1, 2)
        assert second.last_accessed_at is not None
        assert (await mesh.get(m.id)).access_count == 2
    async with AsyncMemoryMesh(project_db, global_path=global_db) as reopened:
        stored = await reopened.get(m.id)
    assert stored.access_count == 2


async def test_access_counts_survive_without_context_manager(
    project_db: Path, global_db: Path
) -> None:
    mesh = AsyncMemoryMesh(project_db, global_path=global_db)
    m = await mesh.remember("flush on close please")
    await mesh.recall("flush close")
    await mesh.aclose()
    async with AsyncMemoryMesh(project_db, global_path=global_db) as reopened:
        assert (await reopened.get(m.id)).access_count == 1


async def test_close_flushes_pending_access_counts_at_once(
    project_db: Path, global_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A delay no close could sit out: closing must cancel it and write the counts itself.
    monkeypatch.setattr(mesh_module, "_ACCESS_FLUSH_DELAY", 3600.0)
    with anyio.fail_after(20):  # detects a hang; the close itself is immediate
        async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
            m = await mesh.remember("The staging URL is staging.example.com")
            await mesh.recall("staging URL")
            assert mesh._flush_scheduled  # a flush is pending as the block ends
    assert mesh.closed
    async with AsyncMemoryMesh(project_db, global_path=global_db) as reopened:
        assert (await reopened.get(m.id)).access_count == 1


async def test_frequently_recalled_memories_rank_higher(mesh: AsyncMemoryMesh) -> None:
    a = await mesh.remember("deploy with the blue pipeline", importance=0.5)
    b = await mesh.remember("deploy with the green pipeline", importance=0.5)
    for _ in range(5):
        await mesh.recall("green pipeline")
    hits = await mesh.recall("deploy pipeline")
    assert [h.memory.id for h in hits] == [b.id, a.id]


async def test_closed_mesh_refuses_work(project_db: Path, global_db: Path) -> None:
    mesh = AsyncMemoryMesh(project_db, global_path=global_db)
    await mesh.remember("x marks the spot")
    await mesh.aclose()
    await mesh.aclose()  # twice is fine
    with pytest.raises(ClosedError):
        await mesh.recall("spot")
    with pytest.raises(ClosedError):
        await mesh.remember("more")
    with pytest.raises(ClosedError):
        async with mesh:
            pass


async def test_concurrent_tasks_all_land(mesh: AsyncMemoryMesh) -> None:
    async def writer(n: int) -> None:
        await mesh.remember(f"concurrent fact number {n}")
        await mesh.recall(f"fact number {n}")

    async with anyio.create_task_group() as tg:
        for n in range(50):
            tg.start_soon(writer, n)
    assert await mesh.count() == 50


async def test_without_a_project_everything_goes_global(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MEMORYMESH_PROJECT_ROOT")
    bare = tmp_path / "home" / "scratch"
    bare.mkdir(parents=True)
    monkeypatch.chdir(bare)
    async with AsyncMemoryMesh() as mesh:
        assert mesh.project_path is None
        m = await mesh.remember("We decided to try Bun", category="decision")
        assert m.scope is Scope.GLOBAL
        with pytest.raises(InvalidInputError, match="needs a project"):
            await mesh.remember("explicitly project", scope="project")


async def test_project_root_is_found_by_walking_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MEMORYMESH_PROJECT_ROOT")
    repo = tmp_path / "work" / "repo"
    (repo / ".git").mkdir(parents=True)
    nested = repo / "src" / "pkg"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    async with AsyncMemoryMesh(global_path=":memory:") as mesh:
        await mesh.remember("project fact", scope="project")
    assert (repo / ".memorymesh" / "memories.db").exists()


def test_memory_is_frozen() -> None:
    now = datetime.now(UTC)
    memory = Memory(
        id="x",
        text="t",
        category=Category.CONTEXT,
        importance=0.5,
        scope=Scope.PROJECT,
        created_at=now,
        updated_at=now,
    )
    with pytest.raises(ValueError, match="frozen"):
        memory.text = "changed"  # type: ignore[misc]
