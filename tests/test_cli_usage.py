"""The command line as people use it: no command, typos, bad counts, help, and --json."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest

from memorymesh.cli import build_parser, main


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must be refused as bad usage (status 2); return its stderr."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_bare_memorymesh_says_what_to_do_next(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    steps = re.findall(r"^  (memorymesh \S+)", captured.out, re.M)
    assert steps[0] == "memorymesh setup" and "memorymesh recall" in steps
    commands = set(_subcommands(build_parser()))
    for step in steps:  # every suggested step is a real command of this build
        assert step.removeprefix("memorymesh ") in commands, step
    assert "memorymesh --help" in captured.out


def test_options_without_a_command_list_the_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # the command list is a usage message: stderr, stdout stays clean
    for name in ("remember", "recall", "import-v4", "doctor", "restore"):
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", captured.err, re.M), name


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    return [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    ]


def test_a_mistyped_command_or_choice_gets_did_you_mean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = usage_error(capsys, "lst")
    assert "invalid choice: 'lst' (did you mean 'list'?)" in err
    err = usage_error(capsys, "recal", "dark mode")
    assert "did you mean 'recall'?" in err
    err = usage_error(capsys, "list", "--category", "preferense")
    assert "did you mean 'preference'?" in err
    err = usage_error(capsys, "frobnicate")
    assert "did you mean" not in err and "memorymesh --help" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["recall", "x", "-k", "0"],
        ["recall", "x", "-k", "1001"],
        ["recall", "x", "-k", "five"],
        ["list", "--limit", "0"],
        ["list", "--offset", "-1"],
        ["log", "-n", "0"],
        ["sync", "--to", "CLAUDE.md", "--limit", "0"],
        ["review", "--limit", "0"],
        ["session-start", "--budget", "5"],
    ],
)
def test_bad_counts_are_usage_errors_before_any_store_opens(
    argv: list[str], capsys: pytest.CaptureFixture[str], project_db: Path, global_db: Path
) -> None:
    err = usage_error(capsys, *argv)
    assert "must be a whole number" in err
    assert not project_db.exists() and not global_db.exists()


def test_every_command_has_help_and_a_description() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = {action.dest: action.help for action in sub._choices_actions}
    for name, command in sub.choices.items():
        assert listed.get(name), f"`memorymesh {name}` has no line in `memorymesh --help`"
        assert command.description, f"`memorymesh {name} --help` has no description"


def test_demo_json_is_one_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["remembered"]) == 6 and data["total"] == 6
    answers = {r["query"]: r["results"][0]["memory"]["text"] for r in data["recalled"]}
    assert "dark mode" in answers["what editor theme does the user prefer?"]
    assert "PostgreSQL" in answers["what database do we use for billing?"]
    assert data["kept"] is False


def test_quality_fixes_are_commands_that_run_as_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["remember", "--json", "--scope", "project", "Blue widget seventeen"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["category"] == "context"
    assert main(["review", "--quality", "--json"]) == 0
    [issue] = [
        i for i in json.loads(capsys.readouterr().out)["issues"] if i["kind"] == "uncategorised"
    ]
    commands = re.findall(r"`([^`]+)`", issue["suggestion"])
    assert commands and all("|" not in c and "..." not in c for c in commands)
    words = shlex.split(commands[0])
    assert words[0] == "memorymesh" and main(words[1:]) == 0
    capsys.readouterr()
    assert main(["show", "--json", stored["id"]]) == 0
    assert json.loads(capsys.readouterr().out)["category"] == "decision"


def test_remember_says_what_it_superseded_deduplicated_and_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["remember", "--json", "User prefers dark mode in every editor"]) == 0
    dark = json.loads(capsys.readouterr().out)["id"]

    assert main(["remember", "User prefers light mode in every editor"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Remembered ") and captured.out.count("\n") == 1
    [note] = captured.err.splitlines()
    assert note.startswith(f"memorymesh: superseded {dark[:8]} 'User prefers dark mode")
    assert f"memorymesh restore {dark[:8]}" in note

    assert main(["remember", "User prefers light mode in every editor"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Already remembered as ")
    assert captured.err.startswith("memorymesh: duplicate of ") and captured.err.count("\n") == 1

    # --json: stdout is exactly one JSON document; the note still reaches a person.
    assert main(["remember", "--json", "Deploy with postgres://app:hunter2secret@db/x"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["redactions"] == ["password_in_url"]
    assert captured.err == (
        "memorymesh: redacted a secret (password_in_url) before storing: "
        "it never reached the disk\n"
    )

    assert main(["remember", "A note with nothing special in it at all"]) == 0
    assert capsys.readouterr().err == ""


def test_remember_file_says_which_lines_were_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("the build uses make\n\nthe build uses make\n", encoding="utf-8")
    assert main(["remember", "--file", str(notes), "--scope", "project"]) == 0
    captured = capsys.readouterr()
    assert "Remembered 2 memories" in captured.out
    [note] = captured.err.splitlines()
    assert note.startswith("memorymesh: line 3: duplicate of ")  # the file's own numbering


def test_quality_scope_fix_moves_the_memory_when_run_as_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = "User prefers tabs, not spaces; it's a strong preference"
    assert main(["remember", "--json", "--scope", "project", text]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert main(["review", "--quality", "--json"]) == 0
    [issue] = [i for i in json.loads(capsys.readouterr().out)["issues"] if i["kind"] == "scope"]
    commands = re.findall(r"`([^`]+)`", issue["suggestion"])
    assert len(commands) == 2
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "memorymesh" and main(words[1:]) == 0
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    [moved] = json.loads(capsys.readouterr().out)
    assert (moved["text"], moved["scope"]) == (text, "global") and moved["id"] != stored["id"]
