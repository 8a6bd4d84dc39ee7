"""Smart Sync: top memories into the AI tools' instruction files, and hand edits back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memorymesh import (
    AsyncMemoryMesh,
    InvalidInputError,
    MemoryMesh,
    SyncWeights,
    strip_injected,
)
from memorymesh.cli import main
from memorymesh.context._instructions import parse_section, rank_for_sync
from memorymesh.writes._injected import SYNC_END, SYNC_START

pytestmark = pytest.mark.anyio

HAND_WRITTEN_TOP = "# Project notes\n\nRun `make test` before pushing.\n"
HAND_WRITTEN_BOTTOM = "\n## Written by hand after the section\n\nKeep me.\n"


async def _seed(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("Never commit .env files", category="guardrail", importance=0.9)
    await mesh.remember("We use PostgreSQL 16 for billing\nbecause of JSONB", category="decision")
    await mesh.remember("User prefers concise answers", category="preference", importance=0.4)


async def _snapshot(mesh: AsyncMemoryMesh) -> list[dict[str, object]]:
    return [
        m.model_dump(mode="json")
        for m in await mesh.list(limit=1000, order="oldest", include_superseded=True)
    ]


async def test_sync_writes_a_section_and_leaves_the_rest_untouched(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    await _seed(mesh)
    target = tmp_path / "project" / "CLAUDE.md"
    target.write_text(HAND_WRITTEN_TOP, encoding="utf-8")
    [report] = await mesh.sync_to(target)
    assert report.changed and report.format == "claude" and report.entries == 3
    text = target.read_text(encoding="utf-8")
    assert text.startswith(HAND_WRITTEN_TOP)
    assert SYNC_START in text and SYNC_END in text
    # Guardrails come first; each line links back to its memory.
    section = text[text.index(SYNC_START) :]
    assert section.index("Never commit .env files") < section.index("PostgreSQL 16")
    assert "<!-- mm:" in section
    # Everything we wrote is marked as injected, so no write path stores it back.
    assert strip_injected(text) == HAND_WRITTEN_TOP.strip()

    # Text the user adds after the section survives the next sync, byte for byte.
    target.write_text(text + HAND_WRITTEN_BOTTOM, encoding="utf-8")
    await mesh.remember("Deploys go out on Tuesdays", category="decision")
    [again] = await mesh.sync_to(target)
    assert again.changed and again.entries == 4
    updated = target.read_text(encoding="utf-8")
    assert updated.startswith(HAND_WRITTEN_TOP) and updated.endswith(HAND_WRITTEN_BOTTOM)
    assert "Deploys go out on Tuesdays" in updated

    # Nothing new: the file is not rewritten at all.
    before = target.stat().st_mtime_ns
    [idle] = await mesh.sync_to(target)
    assert not idle.changed and target.stat().st_mtime_ns == before


async def test_questions_never_reach_an_instruction_file(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    # What an adapter used to store from a chat turn, filed as a preference by its wording.
    await mesh.remember("What is my favourite database?", category="preference", importance=0.9)
    await mesh.remember("Should we shard the billing tables?  ", category="question", pin=True)
    await mesh.remember("User's favourite database is PostgreSQL", category="preference")
    target = tmp_path / "project" / "CLAUDE.md"
    [report] = await mesh.sync_to(target)
    text = target.read_text(encoding="utf-8")
    assert report.entries == 1 and "User's favourite database is PostgreSQL" in text
    assert "?" not in text


async def test_round_trip_changes_nothing(mesh: AsyncMemoryMesh, tmp_path: Path) -> None:
    await _seed(mesh)
    target = tmp_path / "project" / "AGENTS.md"
    await mesh.sync_to(target, format="codex")
    before = await _snapshot(mesh)
    file_before = target.read_bytes()
    report = await mesh.sync_from(target)
    assert report.format == "codex" and report.entries == 3
    assert not report.changed and report.unchanged == 3 and not report.created
    assert await _snapshot(mesh) == before
    await mesh.sync_to(target)
    assert target.read_bytes() == file_before


async def test_hand_edits_come_back_without_duplicates(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    await _seed(mesh)
    target = tmp_path / "project" / "GEMINI.md"
    await mesh.sync_to(target)
    text = target.read_text(encoding="utf-8")
    # Edit a line, add a line under "Decisions", add one that is already remembered,
    # and delete the preference line.
    text = text.replace("Never commit .env files", "Never commit .env or .pem files")
    text = text.replace(
        "### Decisions\n\n",
        "### Decisions\n\n- The API is versioned in the URL path\n- User prefers concise answers\n",
    )
    text = "\n".join(
        line for line in text.split("\n") if not line.startswith("- User prefers concise answers <")
    )
    target.write_text(text, encoding="utf-8")

    report = await mesh.sync_from(target, format="gemini")
    assert len(report.updated) == 1 and len(report.created) == 1
    edited = await mesh.get(report.updated[0])
    assert edited.text == "Never commit .env or .pem files"
    created = await mesh.get(report.created[0])
    assert created.text == "The API is versioned in the URL path"
    assert created.category.value == "decision" and created.source == "sync"
    # A deleted line is not forgotten; the re-typed existing memory was not duplicated.
    assert await mesh.count() == 4
    assert len(await mesh.recall("concise answers")) == 1

    # Reading the same file again changes nothing.
    before = await _snapshot(mesh)
    assert not (await mesh.sync_from(target)).changed
    assert await _snapshot(mesh) == before


async def test_moving_a_line_to_another_group_recategorises(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    m = await mesh.remember("Always run migrations in a transaction", category="decision")
    target = tmp_path / "project" / "CLAUDE.md"
    await mesh.sync_to(target)
    text = target.read_text(encoding="utf-8").replace("### Decisions", "### Guardrails")
    target.write_text(text, encoding="utf-8")
    report = await mesh.sync_from(target)
    assert report.updated == [m.id]
    assert (await mesh.get(m.id)).category.value == "guardrail"


async def test_auto_picks_the_files_present(mesh: AsyncMemoryMesh, tmp_path: Path) -> None:
    await _seed(mesh)
    root = tmp_path / "project"
    with pytest.raises(InvalidInputError, match="no instruction file"):
        await mesh.sync_to("auto")
    (root / "AGENTS.md").write_text("# Agents\n", encoding="utf-8")
    (root / ".cursor").mkdir()
    reports = await mesh.sync_to("auto")
    assert sorted((Path(r.path).name, r.format) for r in reports) == [
        ("AGENTS.md", "codex"),
        ("memorymesh.mdc", "cursor"),
    ]
    assert not (root / "CLAUDE.md").exists()
    rule = (root / ".cursor" / "rules" / "memorymesh.mdc").read_text(encoding="utf-8")
    assert rule.startswith("---\n") and "alwaysApply: true" in rule
    assert rule.index("---", 4) < rule.index(SYNC_START)
    # Cursor's front matter written by the user is kept as it is.
    custom = "---\ndescription: mine\nalwaysApply: false\n---\nMy rule.\n"
    (root / ".cursor" / "rules" / "memorymesh.mdc").write_text(custom, encoding="utf-8")
    await mesh.sync_to("auto", format="cursor")
    assert (root / ".cursor" / "rules" / "memorymesh.mdc").read_text().startswith(custom)


async def test_broken_section_is_refused_and_the_file_kept(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    await _seed(mesh)
    target = tmp_path / "project" / "CLAUDE.md"
    broken = f"# Notes\n{SYNC_START}\n- half a section, no end marker\n\nMy own text.\n"
    target.write_text(broken, encoding="utf-8")
    with pytest.raises(InvalidInputError, match="without the other"):
        await mesh.sync_to(target)
    with pytest.raises(InvalidInputError, match="without the other"):
        await mesh.sync_from(target)
    assert target.read_text(encoding="utf-8") == broken
    with pytest.raises(InvalidInputError, match="unknown sync format"):
        await mesh.sync_to(target, format="vim")
    with pytest.raises(InvalidInputError, match="limit"):
        await mesh.sync_to(target, limit=0)
    with pytest.raises(InvalidInputError, match="does not exist"):
        await mesh.sync_from(tmp_path / "missing.md")


async def test_weights_decide_what_makes_the_cut(memory_mesh: AsyncMemoryMesh) -> None:
    old_but_important = await memory_mesh.remember("Old rule", importance=0.95)
    fresh_but_minor = await memory_mesh.remember("Fresh note", importance=0.1)
    now = datetime.now(UTC)
    aged = old_but_important.model_copy(update={"updated_at": now - timedelta(days=365)})
    pool = [aged, fresh_but_minor]
    by_importance = rank_for_sync(pool, limit=1, weights=SyncWeights(recency=0, frequency=0))
    by_recency = rank_for_sync(pool, limit=1, weights=SyncWeights(importance=0, frequency=0))
    assert [m.id for m in by_importance] == [old_but_important.id]
    assert [m.id for m in by_recency] == [fresh_but_minor.id]
    pinned = fresh_but_minor.model_copy(update={"pinned": True})
    assert rank_for_sync([aged, pinned], limit=1)[0].id == fresh_but_minor.id
    with pytest.raises(ValueError, match="greater than or equal"):
        SyncWeights(importance=-1)


async def test_near_duplicates_are_synced_once(memory_mesh: AsyncMemoryMesh) -> None:
    best = await memory_mesh.remember(
        "We decided to use PostgreSQL 16 for billing", category="decision", importance=0.9
    )
    await memory_mesh.remember(
        "We have decided to use PostgreSQL 16 for the billing",
        category="decision",
        on_conflict="keep_both",  # planted: a write would otherwise supersede it
    )
    other = await memory_mesh.remember("Deploys go out on Tuesdays", category="decision")
    ranked = rank_for_sync(await memory_mesh.list(), limit=10)
    assert [m.id for m in ranked] == [best.id, other.id]


async def test_limit_and_long_memories(memory_mesh: AsyncMemoryMesh, tmp_path: Path) -> None:
    topics = "cache queue schema index webhook ledger tenant region bucket token proxy shard"
    await memory_mesh.remember_many(
        [f"The {t} settings live in the {t} module" for t in topics.split()]
    )
    await memory_mesh.remember("x" * 1000 + " a very long memory")
    target = tmp_path / "project" / "MEMORY.md"  # (sync --to writes inside the project)
    [report] = await memory_mesh.sync_to(target, limit=5)
    assert report.entries == 5
    entries = parse_section(target.read_text(encoding="utf-8"))
    assert len(entries) == 5 and all(e.memory_id for e in entries)
    [report] = await memory_mesh.sync_to(target, limit=100)
    assert report.entries == 12  # the 1000-character memory is left out


def test_sync_cli_and_sync_twin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], project_db: Path, global_db: Path
) -> None:
    root = tmp_path / "project"
    (root / "CLAUDE.md").write_text("# Mine\n", encoding="utf-8")
    assert main(["remember", "Never force-push to main"]) == 0
    assert main(["sync", "--to", "auto", "--weight-recency", "0", "--json"]) == 0
    capsys.readouterr()
    assert main(["sync", "--from", "CLAUDE.md", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["entries"] == 1 and report["changed"] is False
    with pytest.raises(SystemExit) as usage:
        main(["sync", "--to", "CLAUDE.md", "--format", "nope"])
    assert usage.value.code == 2
    capsys.readouterr()
    with MemoryMesh(project_db, global_path=global_db) as mesh:
        [r] = mesh.sync_to(root / "CLAUDE.md", limit=3)
        assert not r.changed
        assert mesh.sync_from(root / "CLAUDE.md").unchanged == 1
