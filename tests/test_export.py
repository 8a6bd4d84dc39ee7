"""Export and import: every field, history link and timestamp survives a round trip."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError, Memory, StoreError

pytestmark = pytest.mark.anyio


async def _everything(mesh: AsyncMemoryMesh) -> list[Memory]:
    memories = await mesh.list(include_superseded=True, include_expired=True, limit=10_000)
    return sorted(memories, key=lambda m: m.id)


async def _populate(mesh: AsyncMemoryMesh) -> None:
    old = await mesh.remember("The team lead is Priya", metadata={"team": "core", "n": 1})
    new = await mesh.remember("The team lead is Omar", session_id="s-42", agent="claude-code")
    await mesh.remember("I prefer spaces — ünïcödé ✓", category="preference", pin=True)
    await mesh.remember("Retro was last Friday", expires_at=datetime.now(UTC) - timedelta(days=1))
    await mesh.recall("team lead")
    store = mesh.stores[0]
    async with store.write() as tx:  # as contradiction handling links history
        await tx.update(old.id, {"superseded_by": new.id, "superseded_at": 1_700_000_000.5})


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
async def test_round_trip_into_an_empty_store_is_exact(
    mesh: AsyncMemoryMesh, tmp_path: Path, fmt: str
) -> None:
    await _populate(mesh)
    path = tmp_path / f"export.{fmt}"
    assert await mesh.export(path, format=fmt) == 4  # type: ignore[arg-type]
    original = await _everything(mesh)

    async with AsyncMemoryMesh(tmp_path / "p2.db", global_path=tmp_path / "g2.db") as fresh:
        report = await fresh.import_(path)
        assert (report.imported, report.skipped, report.links_dropped) == (4, 0, 0)
        assert await _everything(fresh) == original
        assert await _records(fresh) == await _records(mesh)
        again = await fresh.import_(path)  # idempotent
        assert (again.imported, again.skipped) == (0, 4)
        assert await _everything(fresh) == original


async def _records(mesh: AsyncMemoryMesh) -> list[str]:
    """The exported records, without the header (which carries the export time)."""
    buffer = io.StringIO()
    await mesh.export(buffer)
    return sorted(buffer.getvalue().splitlines()[1:])


async def test_export_header_and_scope(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("global pref: likes tea", category="preference")
    await mesh.remember("project fact", scope="project")
    buffer = io.StringIO()
    assert await mesh.export(buffer, scope="global") == 1
    header, record = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert header["format"] == "memorymesh"
    assert header["version"] == 1
    assert header["count"] == 1
    assert record["text"] == "global pref: likes tea"
    assert "embedding" not in record


async def test_markdown_export_is_readable(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("Never force-push to main", pin=True)
    buffer = io.StringIO()
    await mesh.export(buffer, format="markdown")
    text = buffer.getvalue()
    assert "## Guardrail" in text
    assert "- Never force-push to main _(project, importance" in text
    assert "pinned" in text


@pytest.mark.parametrize("clash", ["skip", "replace", "newer"])
async def test_id_clash_rules(mesh: AsyncMemoryMesh, tmp_path: Path, clash: str) -> None:
    m = await mesh.remember("Original text", importance=0.5)
    path = tmp_path / "e.jsonl"
    await mesh.export(path)
    await mesh.update(m.id, text="Edited after the export", importance=0.9)
    report = await mesh.import_(path, on_clash=clash)  # type: ignore[arg-type]
    current = await mesh.get(m.id)
    if clash == "replace":
        assert current.text == "Original text"
        assert report.replaced == 1
    else:  # the stored memory is newer than the file's, so both keep it
        assert current.text == "Edited after the export"
        assert report.skipped == 1
    assert await mesh.count() == 1


async def test_dangling_history_links_are_dropped_not_fatal(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    await _populate(mesh)
    path = tmp_path / "e.jsonl"
    await mesh.export(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if "Omar" not in line]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    async with AsyncMemoryMesh(":memory:", global_path=":memory:") as fresh:
        report = await fresh.import_(path)
        assert report.links_dropped == 1
        assert report.imported == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ('{"hello": 1}\n', "not a MemoryMesh export"),
        ('{"format": "memorymesh", "version": 99}\n', "upgrade"),
        ('{"format": "memorymesh", "version": 1}\nnot json\n', "line 2"),
        ('{"format": "memorymesh", "version": 1}\n{"id": "x"}\n', "line 2"),
    ],
)
async def test_bad_import_files_import_nothing(
    mesh: AsyncMemoryMesh, tmp_path: Path, content: str, message: str
) -> None:
    await mesh.remember("already here")
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message):
        await mesh.import_(path)
    assert await mesh.count() == 1


async def test_one_bad_record_rolls_back_the_whole_import(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    await _populate(mesh)
    path = tmp_path / "e.jsonl"
    await mesh.export(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[-1])
    broken["importance"] = 7
    path.write_text("\n".join([*lines[:-1], json.dumps(broken)]) + "\n", encoding="utf-8")
    async with AsyncMemoryMesh(":memory:", global_path=":memory:") as fresh:
        with pytest.raises(InvalidInputError, match="importance"):
            await fresh.import_(path)
        assert await fresh.count(include_superseded=True, include_expired=True) == 0


async def test_missing_file_is_a_store_error(mesh: AsyncMemoryMesh, tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        await mesh.import_(tmp_path / "nope.jsonl")


async def test_write_log_explains_writes(mesh: AsyncMemoryMesh) -> None:
    m = await mesh.remember("We decided to use Postgres")
    await mesh.remember("we decided to use postgres")
    await mesh.update(m.id, importance=0.9)
    await mesh.forget(m.id)
    entries = await mesh.log(memory_id=m.id)
    assert [e.action for e in entries] == ["forgotten", "updated", "deduplicated", "stored"]
    assert entries[-1].detail["category_rule"] == "decision wording"
    assert entries[1].detail["fields"] == ["importance"]
    assert len(await mesh.log(limit=2)) == 2


async def test_encrypted_store_exports_plain_text_on_request_and_imports_sealed(
    tmp_path: Path,
) -> None:
    # (By default the export of an encrypted store is encrypted: tests/security/test_sec_export.py)
    pytest.importorskip("cryptography")
    key = "correct horse battery staple"
    paths = {"global_path": tmp_path / "g.db"}
    async with AsyncMemoryMesh(tmp_path / "p.db", encryption_key=key, **paths) as mesh:
        m = await mesh.remember("The vault lives in eu-west-1", metadata={"team": "infra"})
        export = tmp_path / "e.jsonl"
        await mesh.export(export, encrypt=False)
    record = json.loads(export.read_text(encoding="utf-8").splitlines()[1])
    assert record["text"] == "The vault lives in eu-west-1"
    assert record["metadata"] == {"team": "infra"}

    target = {"global_path": tmp_path / "g2.db"}
    async with AsyncMemoryMesh(tmp_path / "p2.db", encryption_key=key, **target) as other:
        assert (await other.import_(export)).imported == 1
        [hit] = await other.recall("where is the vault?")
        assert hit.memory.id == m.id
        assert hit.memory.metadata == {"team": "infra"}
    assert b"eu-west-1" not in (tmp_path / "p2.db").read_bytes()


async def test_imported_secrets_are_redacted(mesh: AsyncMemoryMesh, tmp_path: Path) -> None:
    secret = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
    lines = [
        json.dumps({"format": "memorymesh", "version": 1}),
        json.dumps(
            {
                "id": "abc123",
                "text": f"The deploy key is {secret}",
                "category": "context",
                "importance": 0.5,
                "scope": "project",
                "metadata": {"token": secret},
                "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": "2026-01-01T00:00:00+00:00",
            }
        ),
    ]
    path = tmp_path / "secret.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    await mesh.import_(path)
    stored = await mesh.get("abc123")
    assert secret not in stored.text
    assert secret not in json.dumps(stored.metadata)
    assert stored.redactions
