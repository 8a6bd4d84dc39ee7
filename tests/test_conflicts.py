"""Duplicates and contradictions: detected in batches, resolved by policy, nothing lost."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from _embedders import HashEmbedder

from memorymesh import AsyncMemoryMesh, MemoryNotFoundError, NewMemory
from memorymesh.writes._conflicts import judge

pytestmark = pytest.mark.anyio

OLD = "User prefers dark mode in the editor"
NEW = "User prefers light mode in the editor"


@pytest.mark.parametrize(
    ("new", "old", "kind"),
    [
        (NEW, OLD, "contradiction"),
        ("We do not use Redis for caching", "We use Redis for caching", "contradiction"),
        (
            "The API rate limit is 500 requests per minute",
            "The API rate limit is 100 requests per minute",
            "contradiction",
        ),
        # a detail (a value) added: reported, both kept
        ("Deploys go out on Tuesdays at 10am", "Deploys go out on Tuesdays", "possible_duplicate"),
        (
            "The billing service uses PostgreSQL for billing records",
            "The billing service exists",
            None,
        ),
        ("deploy with the green pipeline", "deploy with the blue pipeline", None),
        ("concurrent fact number 7", "concurrent fact number 3", None),
        ("User likes cats", "We decided to use PostgreSQL", None),
    ],
)
def test_judge(new: str, old: str, kind: str | None) -> None:
    verdict = judge(new, old)
    assert (verdict[0] if verdict else None) == kind


@pytest.fixture(params=["keyword", "vectors"])
async def any_mesh(request: pytest.FixtureRequest, project_db: Path, global_db: Path):  # type: ignore[no-untyped-def]
    embedding = HashEmbedder() if request.param == "vectors" else "none"
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding=embedding) as mesh:
        yield mesh


async def test_supersede_is_the_default_and_loses_nothing(
    any_mesh: AsyncMemoryMesh, project_db: Path
) -> None:
    old = await any_mesh.remember(OLD, scope="project")
    new = await any_mesh.remember(NEW, scope="project")
    [c] = new.conflicts
    assert (c.kind, c.action, c.memory_id, c.policy) == (
        "contradiction",
        "superseded",
        old.id,
        "supersede",
    )
    hidden = await any_mesh.get(old.id)
    assert hidden.superseded_by == new.id and hidden.superseded_at is not None
    assert [h.memory.id for h in await any_mesh.recall("editor mode")] == [new.id]
    both = await any_mesh.recall("editor mode", current_only=False)
    assert {h.memory.id for h in both} == {old.id, new.id}
    assert [m.id for m in await any_mesh.history(old.id)] == [old.id, new.id]
    assert await any_mesh.count(include_superseded=True) == 2
    restored = await any_mesh.restore(old.id)
    assert restored.superseded_by is None
    assert (await any_mesh.get(new.id)).superseded_by == old.id
    assert [h.memory.id for h in await any_mesh.recall("editor mode")] == [old.id]
    # The write log explains every decision.
    conn = sqlite3.connect(project_db)
    try:
        actions = [r[0] for r in conn.execute("SELECT action FROM write_log ORDER BY seq")]
        detail = json.loads(
            conn.execute(
                "SELECT detail FROM write_log WHERE action='stored' AND memory_id=?", [new.id]
            ).fetchone()[0]
        )
    finally:
        conn.close()
    assert actions == ["stored", "stored", "superseded", "restored"]
    assert detail["conflicts"][0]["kind"] == "contradiction"


async def test_keep_both(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember(OLD)
    new = await any_mesh.remember(NEW, on_conflict="keep_both")
    assert new.conflicts[0].action == "kept_both"
    assert (await any_mesh.get(old.id)).superseded_by is None
    assert await any_mesh.count() == 2


async def test_skip(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember(OLD)
    got = await any_mesh.remember(NEW, on_conflict="skip")
    assert got.id == old.id and got.text == OLD
    assert got.conflicts[0].action == "skipped"
    assert await any_mesh.count(include_superseded=True) == 1


async def test_merge_rewrites_in_place_and_keeps_the_old_version(
    any_mesh: AsyncMemoryMesh,
) -> None:
    old = await any_mesh.remember(OLD, metadata={"a": 1}, importance=0.9)
    merged = await any_mesh.remember(NEW, metadata={"b": 2}, importance=0.2, on_conflict="merge")
    assert merged.id == old.id
    assert merged.text == NEW
    assert merged.metadata == {"a": 1, "b": 2}
    assert merged.importance == 0.9
    assert merged.conflicts[0].action == "merged"
    versions = await any_mesh.history(old.id)
    assert [m.text for m in versions] == [OLD, NEW]
    assert versions[0].superseded_by == old.id
    hits = await any_mesh.recall("light mode editor")
    assert [h.memory.id for h in hits] == [old.id]


async def test_exact_duplicates_per_policy(any_mesh: AsyncMemoryMesh) -> None:
    first = await any_mesh.remember("Tabs, not spaces", metadata={"x": 1})
    again = await any_mesh.remember("  tabs, NOT spaces ")
    assert again.id == first.id and again.conflicts[0].kind == "duplicate"
    merged = await any_mesh.remember("tabs, not spaces", metadata={"y": 2}, on_conflict="merge")
    assert merged.id == first.id and merged.metadata == {"x": 1, "y": 2}
    twin = await any_mesh.remember("Tabs, not spaces", on_conflict="keep_both")
    assert twin.id != first.id
    assert await any_mesh.count() == 2


async def test_a_batch_is_checked_against_the_store_and_itself(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember("The API rate limit is 100 requests per minute")
    out = await any_mesh.remember_many(
        [
            "Release notes live in CHANGELOG.md",
            "The API rate limit is 500 requests per minute",
            NEW,
            OLD,
            "release notes live in changelog.md",
        ]
    )
    assert out[1].conflicts[0].memory_id == old.id
    assert out[1].conflicts[0].action == "superseded"
    # Within the batch: OLD (later) contradicts NEW (earlier) and supersedes it.
    assert out[3].conflicts[0].memory_id == out[2].id
    assert (await any_mesh.get(out[2].id)).superseded_by == out[3].id
    assert out[4].id == out[0].id and out[4].conflicts[0].kind == "duplicate"
    assert await any_mesh.count() == 3
    assert await any_mesh.count(include_superseded=True) == 5


async def test_batch_skip_and_merge_inside_one_batch(any_mesh: AsyncMemoryMesh) -> None:
    out = await any_mesh.remember_many(
        [
            {"text": OLD},
            {"text": NEW, "on_conflict": "skip"},
            # Both in one store: a guardrail-looking text would otherwise go to the global one.
            {"text": "We use Redis for caching", "metadata": {"a": 1}, "scope": "project"},
            {"text": "We do not use Redis for caching", "on_conflict": "merge", "scope": "project"},
        ]
    )
    assert out[1].id == out[0].id
    assert out[3].id == out[2].id and out[3].text == "We do not use Redis for caching"
    assert [m.text for m in await any_mesh.history(out[2].id)] == [
        "We use Redis for caching",
        "We do not use Redis for caching",
    ]
    assert await any_mesh.count() == 2


async def test_embedder_batch_is_embedded_once(project_db: Path, global_db: Path) -> None:
    embedder = HashEmbedder()
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding=embedder) as mesh:
        embedder.calls.clear()
        await mesh.remember_many([f"fact {i} about topic {i * 7}" for i in range(300)])
        assert embedder.calls == [300]


async def test_restore_and_history_of_unknown_ids(any_mesh: AsyncMemoryMesh) -> None:
    with pytest.raises(MemoryNotFoundError):
        await any_mesh.restore("nope")
    with pytest.raises(MemoryNotFoundError):
        await any_mesh.history("nope")
    m = await any_mesh.remember("standalone")
    assert (await any_mesh.restore(m.id)).id == m.id
    assert [x.id for x in await any_mesh.history(m.id)] == [m.id]


async def test_conflicts_are_found_after_reopening(project_db: Path, global_db: Path) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        old = await mesh.remember(OLD, scope="project")
    # A new mesh builds its token index from the file on its first write.
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        new = await mesh.remember(NEW, scope="project")
        assert [c.memory_id for c in new.conflicts] == [old.id]
        # A forgotten memory lingers in the append-only token index but is never reported.
        await mesh.forget(new.id)
        await mesh.restore(old.id)
        await mesh.forget(old.id)
        again = await mesh.remember(NEW, scope="project")
        assert again.conflicts == ()


def test_fusion_functions() -> None:
    from memorymesh.search._hybrid import convex_fusion, reciprocal_rank_fusion

    fused = reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
    assert max(fused, key=fused.__getitem__) == "b" and 0 < fused["c"] < fused["a"] <= 1
    mixed = convex_fusion({"a": 1.0, "b": 0.2}, {"a": 0.1, "b": 0.5, "c": 0.3})
    assert mixed["a"] == pytest.approx(0.5) and mixed["b"] == pytest.approx(0.6)
    assert mixed["c"] == pytest.approx(0.25)


async def test_update_keeps_the_earlier_text_in_history(
    any_mesh: AsyncMemoryMesh, project_db: Path, global_db: Path
) -> None:
    m = await any_mesh.remember("The staging server is staging1.example.com", scope="project")
    changed = await any_mesh.update(m.id, text="The staging server is staging2.example.com")
    assert changed.id == m.id  # the memory keeps its id
    earlier, current = await any_mesh.history(m.id)
    assert (earlier.text, earlier.superseded_by) == (m.text, m.id)
    assert (current.text, current.superseded_by) == (changed.text, None)
    assert (earlier.created_at, earlier.category) == (m.created_at, m.category)
    # Only the current wording is recalled or listed; the earlier one is history.
    mode = "hybrid" if any_mesh.embedder is not None else "keyword"
    assert [h.memory.id for h in await any_mesh.recall("staging server", mode=mode)] == [m.id]
    assert [x.id for x in await any_mesh.list()] == [m.id]
    assert await any_mesh.count(include_superseded=True) == 2
    # An update that leaves the text alone adds no version.
    await any_mesh.update(m.id, text=changed.text, importance=0.9)
    assert len(await any_mesh.history(m.id)) == 2
    # restore brings the earlier wording back, as it undoes a supersede.
    assert (await any_mesh.restore(earlier.id)).superseded_by is None
    assert [x.text for x in await any_mesh.list()] == [m.text]
    *_, first_update = [e for e in await any_mesh.log(limit=10) if e.action == "updated"]
    assert first_update.detail["earlier_version"] == earlier.id


async def test_forgetting_an_updated_memory_forgets_its_earlier_texts(
    any_mesh: AsyncMemoryMesh,
) -> None:
    a = await any_mesh.remember("The build cache lives in /tmp/cache-one", scope="project")
    b = await any_mesh.remember("Release notes are kept in NOTES.md", scope="project")
    await any_mesh.update(a.id, text="The build cache lives in /tmp/cache-two")
    await any_mesh.update(b.id, text="Release notes are kept in CHANGES.md")
    await any_mesh.forget(a.id)
    assert await any_mesh.forget_many([b.id]) == 1
    assert await any_mesh.count(include_superseded=True) == 0


async def test_a_conflict_across_scopes_is_resolved(any_mesh: AsyncMemoryMesh) -> None:
    # One text was kept globally, its replacement goes to the project: they are compared, and
    # the policy (supersede) applies across the two stores.
    old = await any_mesh.remember("The user lives in Lisbon", scope="global")
    new = await any_mesh.remember("The user lives in Porto", scope="project")
    [conflict] = new.conflicts
    assert (conflict.kind, conflict.memory_id, conflict.action) == (
        "contradiction",
        old.id,
        "superseded",
    )
    assert (await any_mesh.get(old.id)).superseded_by == new.id
    # And the other way round, batched.
    [back] = await any_mesh.remember_many(
        [NewMemory(text="The user lives in Braga", scope="global")]
    )
    assert {c.memory_id for c in back.conflicts} >= {new.id}
    assert (await any_mesh.get(new.id)).superseded_by == back.id


async def test_a_supersede_across_scopes_survives_export_and_import(
    any_mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    old = await any_mesh.remember("The user lives in Lisbon", scope="global")
    new = await any_mesh.remember("The user lives in Porto", scope="project")
    dump = tmp_path / "memories.jsonl"
    await any_mesh.export(dump)
    # The export names the real successor, not the store-local link to itself.
    records = {r["id"]: r for r in map(json.loads, dump.read_text().splitlines()[1:])}
    assert records[old.id]["superseded_by"] == new.id
    async with AsyncMemoryMesh(
        tmp_path / "other" / "memories.db", global_path=tmp_path / "other" / "global.db"
    ) as fresh:
        report = await fresh.import_(dump)
        assert report.links_dropped == 0
        assert (await fresh.get(old.id)).superseded_by == new.id
        assert [m.id for m in await fresh.list()] == [new.id]
        assert [m.id for m in await fresh.history(old.id)] == [old.id, new.id]


async def test_a_low_confidence_verdict_keeps_both(any_mesh: AsyncMemoryMesh) -> None:
    old = await any_mesh.remember("Maria owns the billing service", scope="project")
    new = await any_mesh.remember(
        "Maria owns the billing service and its on-call rotation", scope="project"
    )
    [conflict] = new.conflicts
    assert (conflict.kind, conflict.action) == ("possible_duplicate", "kept_both")
    assert (await any_mesh.get(old.id)).superseded_by is None
    assert await any_mesh.count() == 2


async def test_texts_sharing_few_words_are_never_the_same_fact_without_an_embedder(
    project_db: Path, global_db: Path
) -> None:
    # The pair model once called these "the same fact" (p=0.72) from two shared words of
    # seven, hiding the older memory: at most a possible duplicate, both kept.
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        old = await mesh.remember("dark build mode for tuesday deploy", scope="project")
        new = await mesh.remember("User prefers dark mode", scope="project")
        assert all(c.action == "kept_both" for c in new.conflicts)
        assert (await mesh.get(old.id)).superseded_by is None
        assert await mesh.count() == 2


async def test_a_change_sharing_only_its_subject_is_found_without_an_embedder(
    project_db: Path, global_db: Path
) -> None:
    # "moved to" shares one word with "lives in": the token index's probe by shared words
    # never offered the old memory. The second probe, by the words a conflicting memory may
    # say instead (the verb a change replaces), finds it among other memories of the user.
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        old = await mesh.remember("User lives in Berlin", scope="project")
        await mesh.remember_many(
            [NewMemory(text=f"User likes hiking trail {i}", scope="project") for i in range(20)]
        )
        new = await mesh.remember("User moved to Munich last month", scope="project")
        assert [(c.memory_id, c.kind) for c in new.conflicts] == [(old.id, "contradiction")]
        assert (await mesh.get(old.id)).superseded_by == new.id
