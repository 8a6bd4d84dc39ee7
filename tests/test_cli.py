"""The memorymesh command line, in-process and as the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memorymesh import __version__
from memorymesh.cli import build_parser, main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_remember_recall_show_forget(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "remember", "--json", "User prefers dark mode in every editor")
    assert code == 0
    stored = json.loads(out)
    assert stored["category"] == "preference" and stored["scope"] == "global"

    code, out, _ = run(capsys, "recall", "what does the user prefer?")
    assert code == 0 and "dark mode" in out

    code, out, _ = run(capsys, "recall", "--json", "-k", "1", "dark mode")
    [hit] = json.loads(out)
    assert hit["memory"]["id"] == stored["id"] and hit["score"] > 0

    code, out, _ = run(capsys, "show", stored["id"][:8])
    assert code == 0 and stored["id"] in out and "preference" in out

    code, out, _ = run(capsys, "pin", stored["id"][:8], "--json")
    assert json.loads(out)["pinned"] is True

    code, out, _ = run(capsys, "update", stored["id"], "--importance", "0.3", "--json")
    assert json.loads(out)["importance"] == 0.3

    code, out, _ = run(capsys, "forget", stored["id"][:8], "--json")
    assert json.loads(out) == {"forgotten": [stored["id"]]}
    code, out, err = run(capsys, "show", stored["id"])
    assert code == 1 and "no memory" in err


def test_list_stats_status_json(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "remember", "We decided to use SQLite", "--category", "decision")
    run(capsys, "remember", "Never force-push to main")
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0 and len(json.loads(out)) == 2
    code, out, _ = run(capsys, "list")
    assert "decision" in out and "guardrail" in out
    code, out, _ = run(capsys, "stats", "--json")
    stats = json.loads(out)
    assert stats["total"] == 2 and stats["by_scope"] == {"project": 2, "global": 0}
    code, out, _ = run(capsys, "--json", "status")
    status = json.loads(out)
    assert code == 0 and status["healthy"] is True and status["total"] == 2
    assert status["project_store"].endswith("memories.db")
    code, out, _ = run(capsys, "status")
    assert code == 0 and "global store" in out


def test_remember_from_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("first fact\n\nsecond fact\nthird fact\n", encoding="utf-8")
    code, out, _ = run(capsys, "remember", "--file", str(notes), "--scope", "project")
    assert code == 0 and "3 memories" in out
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["total"] == 3


def test_explicit_store_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, gdb = tmp_path / "p.db", tmp_path / "g.db"
    run(capsys, "remember", "--db", str(db), "--global-db", str(gdb), "kept apart")
    assert db.exists() and gdb.exists()
    _, out, _ = run(capsys, "stats", "--json", "--db", str(db), "--global-db", str(gdb))
    assert json.loads(out)["total"] == 1


def test_errors_are_one_line_bad_input_exits_2_and_other_failures_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "remember", "   ")
    assert code == 2 and err.startswith("memorymesh: error:")  # refused input, like usage
    notes = tmp_path / "notes.txt"
    notes.write_text("not a store\n", encoding="utf-8")
    code, _, err = run(capsys, "stats", "--db", str(notes))
    assert code == 1 and err.startswith("memorymesh: error:")  # the store, not the input
    with pytest.raises(SystemExit) as exc:  # bad usage, as docs/cli.md says: status 2
        main(["recall", "x", "-k", "0"])
    assert exc.value.code == 2
    assert "-k: must be a whole number from 1 to 1000" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["remember", "--importance", "lots", "x"])
    assert exc.value.code == 2


def test_demo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "demo", "--path", str(tmp_path / "demo"))
    assert code == 0
    assert "→ User prefers dark mode" in out
    assert "→ We decided to use PostgreSQL" in out
    assert (tmp_path / "demo" / "home" / "global.db").exists()


def test_every_command_is_documented() -> None:
    readme = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name in subparsers.choices:  # type: ignore[union-attr]
        assert f"memorymesh {name}" in readme, f"`memorymesh {name}` is not in docs/cli.md"


def test_console_script_version() -> None:
    script = shutil.which("memorymesh") or str(Path(sys.executable).parent / "memorymesh")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"memorymesh {__version__}"


def test_recall_explain_and_history_flags(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "remember", "User prefers dark mode")
    code, out, _ = run(capsys, "recall", "--explain", "what does the user prefer")
    assert code == 0
    assert "terms: user, prefer" in out
    assert "relevance" in out
    code, out, _ = run(capsys, "recall", "--explain", "kubernetes")
    assert "why nothing: no memory contains any of the query's terms" in out
    code, out, _ = run(capsys, "recall", "--json", "--explain", "--all", "dark")
    data = json.loads(out)
    assert data["explanation"]["returned"] == 1
    assert data["explanation"]["filters"] == {}


def test_export_import_and_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "remember", "We decided to use SQLite")
    export = tmp_path / "all.jsonl"
    code, _, err = run(capsys, "export", "-o", str(export))
    assert code == 0
    assert "Exported 1 memories" in err
    other = ["--db", str(tmp_path / "o.db"), "--global-db", str(tmp_path / "og.db")]
    code, out, _ = run(capsys, "import", str(export), "--json", *other)
    assert json.loads(out)["imported"] == 1
    code, out, _ = run(capsys, "import", str(export), *other)
    assert "skipped 1" in out
    code, out, _ = run(capsys, "log", "--json", *other)
    assert json.loads(out)[0]["action"] == "imported"
    code, out, _ = run(capsys, "log")
    assert "stored" in out
    assert "decision wording" in out


def test_history_restore_and_reembed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "remember", "--json", "--scope", "project", "User prefers dark mode in the editor"
    )
    old = json.loads(out)
    code, out, _ = run(
        capsys, "remember", "--json", "--scope", "project", "User prefers light mode in the editor"
    )
    new = json.loads(out)
    assert new["conflicts"][0]["memory_id"] == old["id"]
    code, out, _ = run(capsys, "history", new["id"][:8], "--json")
    assert [m["id"] for m in json.loads(out)] == [old["id"], new["id"]]
    code, out, _ = run(capsys, "history", new["id"][:8])
    assert "current" in out and "dark mode" in out
    code, out, _ = run(capsys, "restore", old["id"][:8])
    assert code == 0 and "Restored" in out
    code, out, err = run(capsys, "reembed", "--embedding", "nope")
    assert code == 1 and "unknown embedding provider" in err


_DEPLOY = "The deploy pipeline uses blue-green releases"
_PARAPHRASE = "how do we ship new versions to production"  # no word in common with it


@pytest.mark.slow
def test_reembed_makes_later_cli_recall_semantic(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sentence_transformers")
    run(capsys, "remember", _DEPLOY)
    run(capsys, "remember", "Invoices are generated by the billing service every month")
    code, out, _ = run(capsys, "recall", _PARAPHRASE)
    assert code == 0 and "blue-green" not in out  # keyword recall: no word matches
    code, out, _ = run(capsys, "reembed", "--embedding", "local", "--json")
    assert json.loads(out) == {"embedded": 2, "embedder": "local:all-MiniLM-L6-v2"}
    # The store remembers its embedder: plain commands use it from now on.
    code, out, _ = run(capsys, "recall", _PARAPHRASE, "-k", "1")
    assert code == 0 and "blue-green" in out
    code, out, _ = run(capsys, "config", "--json")
    report = json.loads(out)
    assert (report["embedding"], report["embedder"]) == ("auto", "local:all-MiniLM-L6-v2")


@pytest.mark.slow
def test_one_setting_turns_on_semantic_recall(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sentence_transformers")
    code, out, _ = run(capsys, "config", "embedding", "local")
    assert code == 0 and "config.toml" in out
    code, out, _ = run(capsys, "config", "--json")
    report = json.loads(out)
    assert report["embedding"] == "local" and report["embedding_from"].endswith("config.toml")
    run(capsys, "remember", _DEPLOY)
    code, out, _ = run(capsys, "recall", _PARAPHRASE, "-k", "1")
    assert code == 0 and "blue-green" in out
    # The environment variable wins over the file, for one process.
    monkeypatch.setenv("MEMORYMESH_EMBEDDING", "none")
    code, out, _ = run(capsys, "recall", _PARAPHRASE, "-k", "1")
    assert "blue-green" not in out
    code, out, _ = run(capsys, "config", "--json")
    assert json.loads(out)["embedding_from"] == "MEMORYMESH_EMBEDDING"


def test_config_refuses_unknown_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(capsys, "config", "colour", "blue")
    assert exc.value.code == 2
    assert "'colour'" in capsys.readouterr().err  # and the error lists the known settings
