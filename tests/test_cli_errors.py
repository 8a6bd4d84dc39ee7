"""What a person hits first with the CLI: bad files, bad paths, pipes. One clear line each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError, StoreError
from memorymesh.cli import main

BIN = Path(sys.executable).parent
# Bytes that are not UTF-8 (0xd0 starts a two-byte sequence that 0x00 does not continue).
BINARY = b"\x7fELF\x02\x01\x01\x00\xd0\x00\xff\xfe binary\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("memorymesh: error: "), err
    return lines[0]


def test_remember_from_a_binary_file_is_one_line_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "program"
    binary.write_bytes(BINARY)
    code, _, err = run(capsys, "remember", "--file", str(binary))
    assert code == 2
    assert "not UTF-8 text" in one_error_line(err)
    _, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["total"] == 0


def test_import_of_a_binary_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "program"
    binary.write_bytes(BINARY)
    code, _, err = run(capsys, "import", str(binary))
    assert code == 2
    assert "not UTF-8 text" in one_error_line(err)
    code, _, err = run(capsys, "import", str(tmp_path / "missing.jsonl"))
    assert code == 2
    assert "No such file" in one_error_line(err)


@pytest.mark.anyio
async def test_library_import_of_a_binary_file_is_invalid_input(
    tmp_path: Path, memory_mesh: AsyncMemoryMesh
) -> None:
    binary = tmp_path / "program"
    binary.write_bytes(BINARY)
    with pytest.raises(InvalidInputError, match="not a MemoryMesh export"):
        await memory_mesh.import_(binary)


@pytest.mark.anyio
async def test_a_directory_as_the_database_path_is_a_clear_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(StoreError, match="is a directory"):
        async with AsyncMemoryMesh(folder, global_path=":memory:") as mesh:
            await mesh.stats()


def test_db_pointing_at_a_directory_prints_one_line_no_thread_traceback(tmp_path: Path) -> None:
    # Before the fix, aiosqlite's worker thread also printed "Event loop is closed" at exit.
    folder = tmp_path / "a-folder"
    folder.mkdir()
    done = subprocess.run(
        [str(BIN / "memorymesh"), "stats", "--db", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "is a directory" in one_error_line(done.stderr)


def test_piping_into_head_ends_quietly(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text(
        "".join(f"fact number {i} about the billing service\n" for i in range(400)),
        encoding="utf-8",
    )
    db = tmp_path / "p.db"
    gdb = tmp_path / "g.db"
    stores = ["--db", str(db), "--global-db", str(gdb)]
    subprocess.run(
        [
            *(str(BIN / "memorymesh"), "remember", "--scope", "project", "--file", str(notes)),
            *("--on-conflict", "keep_both", *stores),  # 400 rows, not one current fact
        ],
        check=True,
        capture_output=True,
    )
    # Far more JSON than a pipe buffer holds, and a reader that leaves after one byte.
    reader = subprocess.Popen(
        [str(BIN / "memorymesh"), "list", "--json", "--limit", "400", *stores],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.read(1) == b"["
    reader.stdout.close()
    err = reader.stderr.read().decode()
    reader.stderr.close()
    assert reader.wait() == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_status_prints_hook_entries_for_people(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from memorymesh.cli import _app as cli

    def hook() -> dict[str, object]:
        return {"synced_files": {"CLAUDE.md": "yes", "AGENTS.md": "no"}, "hooks": ["a", "b"]}

    monkeypatch.setattr(cli, "STATUS_HOOKS", [hook])
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "{" not in out and "[" not in out
    assert "  synced files:\n    CLAUDE.md: yes\n    AGENTS.md: no\n" in out
    assert "  hooks:" in out and "a, b" in out
    code, out, _ = run(capsys, "status", "--json")
    assert json.loads(out)["synced_files"] == {"CLAUDE.md": "yes", "AGENTS.md": "no"}


def test_update_without_any_change_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "remember", "--json", "We deploy on Tuesdays")
    memory_id = json.loads(out)["id"]
    code, out, err = run(capsys, "update", memory_id[:8])
    assert code == 2 and out == ""
    assert "nothing to update" in one_error_line(err)
    code, out, _ = run(capsys, "log", "--json", memory_id)
    assert [e["action"] for e in json.loads(out)] == ["stored"]


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "memorymesh", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("memorymesh ")


def test_forget_with_one_bad_id_forgets_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "remember", "--json", "We use tabs in Go files")
    memory_id = json.loads(out)["id"]
    code, _, err = run(capsys, "forget", memory_id[:8], "nosuchid")
    assert code == 1 and "nosuchid" in one_error_line(err)
    code, out, _ = run(capsys, "show", "--json", memory_id)
    assert code == 0 and json.loads(out)["id"] == memory_id
    # The same memory named twice (full id and prefix) is forgotten once.
    code, out, _ = run(capsys, "forget", "--json", memory_id, memory_id[:8])
    assert code == 0 and json.loads(out) == {"forgotten": [memory_id]}
    _, out, _ = run(capsys, "log", "--json", memory_id)
    assert [e["action"] for e in json.loads(out)] == ["forgotten", "stored"]


def test_log_of_an_unknown_id_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "log", "nosuchid")
    assert code == 1 and "no memory with id 'nosuchid'" in one_error_line(err)


def test_remember_errors_do_not_talk_about_items(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "remember", "   ")
    assert code == 2
    assert one_error_line(err) == "memorymesh: error: text is empty"
    code, _, err = run(capsys, "remember", "x", "--importance", "2")
    assert code == 2
    assert "item 0" not in one_error_line(err) and "importance" in err


@pytest.mark.anyio
async def test_library_remember_error_names_no_item_index(memory_mesh: AsyncMemoryMesh) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await memory_mesh.remember("ok", importance=1.5)
    assert str(caught.value).startswith("importance must be")
    with pytest.raises(InvalidInputError, match=r"^item 1: text is empty"):
        await memory_mesh.remember_many(["fine", ""])


def test_project_scope_without_a_project_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEMORYMESH_PROJECT_ROOT")
    nowhere = tmp_path / "home" / "scratch"  # under HOME: never taken for a project
    nowhere.mkdir()
    monkeypatch.chdir(nowhere)
    code, _, err = run(capsys, "remember", "We chose Go", "--scope", "project")
    assert code == 2
    line = one_error_line(err)
    assert "--db" in line and ".git" in line and "MEMORYMESH_PROJECT_ROOT" in line


def test_importing_a_markdown_export_says_which_format_to_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "remember", "Use ruff for linting")
    exported = tmp_path / "memories.md"
    code, _, _ = run(capsys, "export", "--format", "markdown", "-o", str(exported))
    assert code == 0
    code, _, err = run(capsys, "import", str(exported))
    assert code == 2
    assert "markdown export" in one_error_line(err) and "--format jsonl" in err


def test_remember_with_no_text_points_at_file_and_stdin(
    capsys: pytest.CaptureFixture[str], project_db: Path
) -> None:
    code, _, err = run(capsys, "remember")
    assert code == 2
    assert "--file FILE ('-' reads stdin)" in one_error_line(err)
    assert not project_db.exists()  # nothing was opened, let alone created
