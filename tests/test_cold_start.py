"""One-shot processes load only what they use, and lose nothing by being short.

Structural, not timed: which modules a fresh process has imported (speed itself is measured by
``benchmarks/bench_cold.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

HEAVY = ("numpy", "pydantic", "aiosqlite", "anyio", "mcp", "memorymesh_mcp", "memorymesh._mesh")

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def loaded(body: str) -> list[str]:
    """Which of :data:`HEAVY` a fresh interpreter has imported after running ``body``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body, heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def script(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def test_version_imports_no_dependency() -> None:
    body = "from memorymesh.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit: pass"
    assert loaded(body) == []


def test_the_console_script_version_imports_neither_numpy_nor_pydantic() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", script("memorymesh"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("memorymesh ")
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "numpy" not in imported and "pydantic" not in imported


def test_importing_the_package_loads_no_dependency() -> None:
    assert loaded("import memorymesh") == []


def test_a_public_name_loads_its_module_on_first_use() -> None:
    assert "pydantic" in loaded("from memorymesh import Memory")
    assert "memorymesh._mesh" in loaded("import memorymesh\nmemorymesh.AsyncMemoryMesh")


def test_a_core_command_skips_the_other_commands_modules() -> None:
    body = (
        "from memorymesh.cli import main\n"
        "try:\n    main(['list', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert "memorymesh_mcp" not in loaded(body)
    assert "memorymesh_mcp" in loaded(body.replace("'list', ", ""))


def test_keyword_reads_import_no_numpy(tmp_path: Path) -> None:
    """Keyword recall, list and stats (and opening the stores) never touch vectors."""
    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    stores = f"'--db', {str(db)!r}, '--global-db', {str(global_db)!r}"
    subprocess.run(
        [script("memorymesh"), "--db", str(db), "--global-db", str(global_db), "remember", "x y"],
        check=True,
        capture_output=True,
    )
    for command in ("'recall', 'deploy billing'", "'list'", "'stats'"):
        body = f"from memorymesh.cli import main\nmain([{stores}, {command}])"
        assert "numpy" not in loaded(body), command
    body = f"from memorymesh.cli import main\nmain([{stores}, 'recall', 'deploy billing'])"
    assert "memorymesh._mesh" in loaded(body)  # it did open the stores


def test_keyword_writes_import_no_numpy(tmp_path: Path) -> None:
    """A keyword-mode remember (the CLI's, a hook's) checks conflicts through the tokens the
    store keeps, with no vectors and so no numpy; a conflict is still found and resolved."""
    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    stores = f"'--db', {str(db)!r}, '--global-db', {str(global_db)!r}"
    for text in (
        "The staging database runs PostgreSQL 14",
        "The staging database runs PostgreSQL 16",
    ):
        body = f"from memorymesh.cli import main\nmain([{stores}, 'remember', {text!r}])"
        assert "numpy" not in loaded(body)
    with sqlite3.connect(db) as conn:
        current = conn.execute("SELECT text FROM memories WHERE superseded_by IS NULL").fetchall()
    assert current == [("The staging database runs PostgreSQL 16",)]


def test_access_counts_survive_a_one_shot_recall() -> None:
    memorymesh = script("memorymesh")

    def run(*argv: str) -> str:
        return subprocess.run(
            [memorymesh, *argv], capture_output=True, text=True, check=True
        ).stdout

    stored = json.loads(run("remember", "--json", "We deploy the billing service with Helm"))
    assert "billing" in run("recall", "billing service deploy")
    assert "billing" in run("recall", "helm billing")
    shown = json.loads(run("show", "--json", stored["id"]))
    assert shown["access_count"] == 2


# -- `list` and `stats` read the files without opening the mesh ----------------------------------

#: What a one-shot `list` or `stats` must not import (beside what HEAVY names): the event loop
#: and the async driver are the mesh's, not a synchronous read's.
_ONE_SHOT_HEAVY = ("asyncio", "anyio", "aiosqlite", "pydantic", "numpy", "memorymesh._mesh")

_RUN = """
import json, sys
from memorymesh.cli import main
code = main({argv!r})
print(json.dumps([code, sorted(m for m in {heavy!r} if m in sys.modules)]))
"""


def run_cli(
    argv: list[str], heavy: tuple[str, ...] = _ONE_SHOT_HEAVY
) -> tuple[str, int, list[str]]:
    """``memorymesh argv`` in a fresh interpreter: its output, exit code and which of
    ``heavy`` it imported."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN.format(argv=argv, heavy=heavy)],
        capture_output=True,
        text=True,
        check=True,
    )
    *output, last = done.stdout.splitlines()
    code, modules = json.loads(last)
    return "\n".join(output), code, modules


async def _fill(db: Path, global_db: Path) -> None:
    from memorymesh import AsyncMemoryMesh

    # privacy="allow": a memory stored by a tool that kept a secret, redacted on its way out.
    async with AsyncMemoryMesh(db, global_path=global_db, privacy="allow") as mesh:
        await mesh.remember("We deploy the billing service with Helm", category="decision")
        await mesh.remember("User prefers dark mode in every editor", category="preference")
        await mesh.remember("The CI token is ghp_1234567890abcdefghijABCDEFGHIJ123456")
        await mesh.remember("Never force-push to main", category="guardrail", pin=True)
        await mesh.remember(
            "Old note about the build cache", category="context", scope="global", importance=0.9
        )
        expired = await mesh.remember("A reminder that expired", ttl=timedelta(days=1))
        await mesh.remember(
            "The staging database runs PostgreSQL 14", category="context", on_conflict="keep_both"
        )
    with sqlite3.connect(db) as conn:  # a day has passed
        conn.execute("UPDATE memories SET expires_at = 1 WHERE id = ?", [expired.id])


@pytest.mark.anyio
async def test_list_and_stats_read_the_files_without_the_mesh(tmp_path: Path) -> None:
    """Human `list` and `stats` on current stores load no event loop, driver, pydantic or
    facade, and still show what the mesh shows (the secret redacted on its way out)."""
    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    await _fill(db, global_db)
    stores = ["--db", str(db), "--global-db", str(global_db)]
    out, code, modules = run_cli([*stores, "list"])
    assert (code, modules) == (0, [])
    assert "billing service" in out and "dark mode" in out and "build cache" in out
    assert "ghp_1234" not in out and "[REDACTED:github_token]" in out
    out, code, modules = run_cli([*stores, "stats"])
    assert (code, modules) == (0, [])
    assert "Total memories: 6" in out  # the expired one is not counted
    for command in ("list", "stats"):  # JSON is pydantic's dump, still without the mesh
        out, code, modules = run_cli([*stores, command, "--json"])
        assert code == 0 and modules == ["pydantic"], command


@pytest.mark.anyio
async def test_one_shot_list_and_stats_answer_as_the_mesh_does(tmp_path: Path) -> None:
    from memorymesh import AsyncMemoryMesh

    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    await _fill(db, global_db)
    stores = ["--db", str(db), "--global-db", str(global_db)]
    pages: list[tuple[list[str], dict[str, Any]]] = [
        ([], {}),
        (["--order", "importance", "--limit", "3", "--offset", "1"], {"order": "importance"}),
        (["--order", "oldest", "--scope", "project"], {"order": "oldest", "scope": "project"}),
        (["--category", "context", "--category", "decision"], {}),
        (["--pinned", "--order", "accessed"], {"pinned": True, "order": "accessed"}),
    ]
    async with AsyncMemoryMesh(db, global_path=global_db) as mesh:
        for argv, options in pages:
            if "--limit" in argv:
                options.update(limit=3, offset=1)
            if "--category" in argv:
                options["category"] = ["context", "decision"]
            out, code, modules = run_cli([*stores, "list", "--json", *argv])
            expected = [m.model_dump(mode="json") for m in await mesh.list(**options)]
            assert (code, "memorymesh._mesh" in modules) == (0, False), argv
            assert json.loads(out) == expected, argv
        out, code, modules = run_cli([*stores, "stats", "--json"])
        assert "memorymesh._mesh" not in modules
        assert json.loads(out) == (await mesh.stats()).model_dump(mode="json")


def test_list_opens_the_mesh_for_a_store_it_would_change(tmp_path: Path) -> None:
    """A store the mesh must create, migrate or refuse is not read behind its back."""
    db, global_db = tmp_path / "new" / "p.db", tmp_path / "g.db"
    stores = ["--db", str(db), "--global-db", str(global_db)]
    out, code, modules = run_cli([*stores, "list"])
    assert (out, code) == ("(no memories)", 0)
    assert "memorymesh._mesh" in modules and db.exists()  # created, as before
    # Now current: read directly.
    assert "memorymesh._mesh" not in run_cli([*stores, "list"])[2]
    # One that recorded an embedder: opening it under "auto" looks that embedder up.
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO store_meta (key, value) VALUES ('embedder', 'gone:model')")
    out, code, modules = run_cli([*stores, "stats"])
    assert code == 0 and "memorymesh._mesh" in modules and "Total memories: 0" in out
    # One whose migrations are not all applied: the mesh migrates it.
    with sqlite3.connect(global_db) as conn:
        last = conn.execute("SELECT max(name) FROM schema_migrations").fetchone()[0]
        conn.execute("DELETE FROM schema_migrations WHERE name = ?", [last])
    assert (
        "memorymesh._mesh" in run_cli(["--global-db", str(global_db), "--db", str(db), "list"])[2]
    )


@pytest.mark.anyio
async def test_list_of_an_encrypted_store_without_the_key_fails_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memorymesh import AsyncMemoryMesh

    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    async with AsyncMemoryMesh(db, global_path=global_db, encryption_key="a long passphrase") as m:
        await m.remember("We deploy the billing service with Helm")
    monkeypatch.delenv("MEMORYMESH_ENCRYPTION_KEY", raising=False)
    done = await anyio.run_process(
        [script("memorymesh"), "--db", str(db), "--global-db", str(global_db), "list"],
        check=False,
    )
    assert done.returncode == 1 and b"is encrypted" in done.stderr
    assert b"billing" not in done.stdout


def test_one_shot_remember_and_recall_build_no_validator(tmp_path: Path) -> None:
    """A process's first pydantic validator costs tens of ms (and a scan of every installed
    package for plugins): a one-shot remember, keyword recall or list builds none. JSON output
    builds the serializers it needs, as before."""
    stores = ["--db", str(tmp_path / "p.db"), "--global-db", str(tmp_path / "g.db")]
    marker = ("pydantic.plugin._loader",)
    for argv in (
        ["remember", "We deploy the billing service with Helm"],
        ["remember", "The staging database runs PostgreSQL 14"],
        # A contradiction and a duplicate: the write's decisions (Conflict) are built too.
        ["remember", "The staging database runs PostgreSQL 16"],
        ["remember", "The staging database runs PostgreSQL 16"],
        ["recall", "billing service deploy"],
        ["recall", "billing service deploy", "--explain"],
        ["recall", "kubernetes", "--explain"],
        ["list"],
    ):
        _out, code, modules = run_cli([*stores, *argv], heavy=marker)
        assert (code, modules) == (0, []), argv
    assert "billing" in run_cli([*stores, "recall", "billing service deploy"], heavy=marker)[0]
    # The decisions were made and logged as before: 14 superseded by 16, then 16 again
    # deduplicated.
    with sqlite3.connect(tmp_path / "p.db") as conn:
        superseded = conn.execute(
            "SELECT text FROM memories WHERE superseded_by IS NOT NULL"
        ).fetchall()
        details = [
            json.loads(d)
            for (d,) in conn.execute("SELECT detail FROM write_log WHERE detail LIKE '%conflicts%'")
        ]
        actions = [a for (a,) in conn.execute("SELECT action FROM write_log")]
    conn.close()
    assert superseded == [("The staging database runs PostgreSQL 14",)]
    kinds = [(c["kind"], c["action"]) for d in details for c in d["conflicts"]]
    assert kinds == [("contradiction", "superseded")] and "deduplicated" in actions


@pytest.mark.anyio
async def test_the_captures_recent_read_walks_an_index(tmp_path: Path) -> None:
    """The hook checks each capture against the most recently updated memories: read from
    the updated_at index (migration 0013), not by sorting every row, so a capture costs the
    same at 1k and 1M memories."""
    from memorymesh import AsyncMemoryMesh
    from memorymesh.stores._filters import Filters
    from memorymesh.stores.sqlite._sql import select_sql, where

    db = tmp_path / "p.db"
    async with AsyncMemoryMesh(db, global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("We deploy the billing service with Helm")
    # The read of context/_hooks.queue_captures, as the store runs it.
    clause, params = where(
        Filters(status=None, include_superseded=True, include_expired=True), now=0.0
    )
    with sqlite3.connect(db) as conn:
        plan = " | ".join(
            str(row[3])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN " + select_sql(clause, "updated"), [*params, 300, 0]
            )
        )
    conn.close()
    assert "USING INDEX memories_updated_at" in plan and "TEMP B-TREE" not in plan, plan


# -- the MCP server answers its first tools/list before it opens anything ------------------------

_MCP_FIRST_LIST = """
import json, sys
import anyio
from memorymesh_mcp._server import build_server

server = build_server({db!r}, {global_db!r})


async def main():
    lowlevel = server._lowlevel_server
    async with lowlevel.lifespan(lowlevel):
        tools = await server.list_tools()
        heavy = sorted(m for m in {heavy!r} if m in sys.modules)
        print(json.dumps([len(tools), heavy, server._tool_manager.built]))


anyio.run(main)
"""


def test_the_mcp_server_lists_its_tools_before_importing_the_facade(tmp_path: Path) -> None:
    """A client spawns the server and asks for its tools first: the server answers without
    importing the facade or MemoryMesh's models, building its tools' pydantic models, or
    opening (migrating) the stores. A bad default store path still ends it at start-up (see
    tests/test_mcp_cli_errors.py); the tools themselves are tested in tests/test_mcp.py."""
    pytest.importorskip("mcp")
    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    heavy = ("memorymesh._mesh", "memorymesh._models", "numpy", "aiosqlite")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _MCP_FIRST_LIST.format(db=str(db), global_db=str(global_db), heavy=heavy),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [8, [], False]
    # The files were made ready (as opening would make them), but nothing was written yet.
    assert db.stat().st_size == 0 and global_db.stat().st_size == 0


#: What a write does not use: recall's ranking, the review queue and the judge, export/import.
_NOT_FOR_WRITES = (
    "memorymesh.search._recall",
    "memorymesh.context._review",
    "memorymesh.writes._judge",
    "memorymesh.io._export",
    "memorymesh.io._transfer",
)

_HOOK = """
import json, sys
from memorymesh_hook import main
sys.argv = ["memorymesh-hook", "post-tool-use"]
code = main()
print(json.dumps([code, sorted(m for m in {heavy!r} if m in sys.modules)]))
"""


def test_one_shot_writes_load_only_the_write_path(tmp_path: Path) -> None:
    """``remember`` and the hook's capture import the facade but not the code of the
    operations they never run; they still store and resolve as before."""
    stores = ["--db", str(tmp_path / "p.db"), "--global-db", str(tmp_path / "g.db")]
    for text in ("The staging database runs PostgreSQL 14", "The staging database runs 16"):
        _out, code, modules = run_cli([*stores, "remember", text], heavy=_NOT_FOR_WRITES)
        assert (code, modules) == (0, []), text
    project, event, env = _commit_capture(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _HOOK.format(heavy=_NOT_FOR_WRITES)],
        input=event,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [0, []], done.stderr
    with sqlite3.connect(project / ".memorymesh" / "memories.db") as conn:
        queued = conn.execute("SELECT text FROM memories").fetchall()
    conn.close()
    assert any("NATS" in text for (text,) in queued), queued


def _commit_capture(tmp_path: Path) -> tuple[Path, str, dict[str, str]]:
    """A project, a hook event of a commit message worth keeping in it, and the environment
    the hook runs in (its own home)."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    event = {
        "hook_event_name": "PostToolUse",
        "session_id": "s1",
        "cwd": str(project),
        "tool_name": "Bash",
        "tool_input": {
            "command": 'git commit -m "We decided to use NATS instead of the old queue because '
            'it kept failing under load"'
        },
        "tool_response": {"stdout": "", "exit_code": 0},
    }
    home = tmp_path / "home"
    env = {
        **{k: v for k, v in os.environ.items() if k != "MEMORYMESH_EMBEDDING"},
        "HOME": str(home),
        "MEMORYMESH_HOME": str(home / ".memorymesh"),
        "MEMORYMESH_PROJECT_ROOT": str(project),
    }
    return project, json.dumps(event), env


#: Counts the cyclic collector's runs from the moment ``{after}`` is imported, and reports
#: them with whether the collector is on again and what was frozen for the exit.
_COLLECTIONS = """
import gc, json, sys
runs = []
def count(phase, info):
    if phase == "start" and {after!r} in sys.modules:
        runs.append(1)
gc.callbacks.append(count)
{body}
ran = len(runs)
print(json.dumps([code, ran, gc.isenabled(), gc.get_freeze_count() > 0]))
"""


def _collections(body: str, after: str, **kwargs: Any) -> list[Any]:
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTIONS.format(body=body, after=after)],
        capture_output=True,
        text=True,
        check=True,
        **kwargs,
    )
    result: list[Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_one_shot_commands_run_without_the_cyclic_collector(tmp_path: Path) -> None:
    """A bounded command (one remember, one recall) imports and works with the collector
    paused, and the process freezes what is alive before it exits (the interpreter's last
    collection would walk it all for nothing); the collector is on again after ``main``."""
    stores = ["--db", str(tmp_path / "p.db"), "--global-db", str(tmp_path / "g.db")]
    for command in (
        ["remember", "The staging database runs PostgreSQL 14"],
        ["remember", "The staging database runs PostgreSQL 16"],  # supersedes the first
        ["recall", "staging database"],
    ):
        body = (
            "from memorymesh.cli import main\n"
            f"sys.argv = ['memorymesh', *{[*stores, *command]!r}]\n"
            "code = main()"
        )
        assert _collections(body, "memorymesh._mesh") == [0, 0, True, True], command
    with sqlite3.connect(tmp_path / "p.db") as conn:
        current = conn.execute("SELECT text FROM memories WHERE superseded_by IS NULL").fetchall()
    conn.close()
    assert current == [("The staging database runs PostgreSQL 16",)]


def test_unbounded_commands_keep_the_collector(tmp_path: Path) -> None:
    """``remember --file`` writes a memory per line, as many as the file holds: the collector
    stays on; a caller inside a longer-lived process (``main(argv)``) freezes nothing."""
    lines = tmp_path / "notes.txt"
    lines.write_text("\n".join(f"Service {i} listens on port {8000 + i}" for i in range(50)))
    stores = ["--db", str(tmp_path / "p.db"), "--global-db", str(tmp_path / "g.db")]
    body = (
        "from memorymesh.cli import main\n"
        f"sys.argv = ['memorymesh', *{[*stores, 'remember', '--file', str(lines)]!r}]\n"
        "code = main()"
    )
    code, runs, enabled, frozen = _collections(body, "memorymesh._mesh")
    assert (code, enabled, frozen) == (0, True, True) and runs > 0
    body = f"from memorymesh.cli import main\ncode = main({[*stores, 'stats']!r})"
    code, _, enabled, frozen = _collections(body, "memorymesh._mesh")
    assert (code, enabled, frozen) == (0, True, False)


def test_the_hooks_capture_runs_without_the_cyclic_collector(tmp_path: Path) -> None:
    project, event, env = _commit_capture(tmp_path)
    body = (
        "from memorymesh_hook import main\n"
        "sys.argv = ['memorymesh-hook', 'post-tool-use']\n"
        "code = main()"
    )
    result = _collections(body, "memorymesh.cli._capture", input=event, env=env)
    assert result == [0, 0, True, True]
    with sqlite3.connect(project / ".memorymesh" / "memories.db") as conn:
        queued = conn.execute("SELECT text, status FROM memories").fetchall()
    conn.close()
    assert any("NATS" in text and status == "pending" for text, status in queued), queued


def test_session_start_runs_without_the_cyclic_collector(tmp_path: Path) -> None:
    """``session-start`` (once per assistant session), ``session-history`` and ``status`` are
    bounded too, but the parser for them imports every extension and the facade before the
    command is known: the pause is decided from the command's name first, so it covers those
    imports (counted from the moment the first extension is imported) and the run."""
    stores = ["--db", str(tmp_path / "p.db"), "--global-db", str(tmp_path / "g.db")]
    from memorymesh.cli import main

    assert main([*stores, "remember", "We chose NATS over Kafka because ops is small"]) == 0
    for command in (
        ["session-start", "--client", "claude-code", "--json", "queue"],
        ["session-history"],
        ["status"],
    ):
        body = (
            "from memorymesh.cli import main\n"
            f"sys.argv = ['memorymesh', *{[*stores, *command]!r}]\n"
            "code = main()"
        )
        assert _collections(body, "memorymesh.cli._session") == [0, 0, True, True], command
    with sqlite3.connect(tmp_path / "p.db") as conn:
        sessions = conn.execute("SELECT client FROM sessions").fetchall()
    conn.close()
    assert sessions == [("claude-code",)]


def test_single_memory_commands_run_without_the_cyclic_collector(tmp_path: Path) -> None:
    """``pin``, ``update``, ``history``, ``restore`` and ``forget`` each work on a memory named
    on the command line: bounded, like ``show``."""
    db = tmp_path / "p.db"
    stores = ["--db", str(db), "--global-db", str(tmp_path / "g.db")]
    from memorymesh.cli import main

    assert main([*stores, "remember", "Deploys go out on Tuesdays"]) == 0

    def collections(*command: str) -> list[Any]:
        body = (
            "from memorymesh.cli import main\n"
            f"sys.argv = ['memorymesh', *{[*stores, *command]!r}]\n"
            "code = main()"
        )
        return _collections(body, "memorymesh._mesh")

    def rows() -> list[tuple[str, str, str | None]]:
        with sqlite3.connect(db) as conn:
            found = conn.execute("SELECT id, text, superseded_by FROM memories ORDER BY text")
            result: list[tuple[str, str, str | None]] = found.fetchall()
        conn.close()
        return result

    [(current, _, _)] = rows()
    paused = [0, 0, True, True]
    assert collections("pin", current) == paused
    assert collections("update", current, "--text", "Deploys go out on Wednesdays") == paused
    assert collections("history", current) == paused
    old = rows()[0][0]  # Tuesdays: the version the update replaced
    assert collections("restore", old) == paused
    # Tuesdays is current again, Wednesdays replaced by it.
    assert [(text, by is None) for _, text, by in rows()] == [
        ("Deploys go out on Tuesdays", True),
        ("Deploys go out on Wednesdays", False),
    ]
    assert collections("forget", old) == paused
    assert [text for _, text, _ in rows()] == ["Deploys go out on Wednesdays"]


def test_the_cli_hook_capture_runs_without_the_cyclic_collector(tmp_path: Path) -> None:
    """``memorymesh hook post-tool-use`` (the same capture through the CLI, an extension
    command) pauses the collector from before its parser imports the extensions."""
    project, event, env = _commit_capture(tmp_path)
    body = (
        "from memorymesh.cli import main\n"
        "sys.argv = ['memorymesh', 'hook', 'post-tool-use']\n"
        "code = main()"
    )
    result = _collections(body, "memorymesh.cli._session", input=event, env=env)
    assert result == [0, 0, True, True]
    with sqlite3.connect(project / ".memorymesh" / "memories.db") as conn:
        queued = conn.execute("SELECT text, status FROM memories").fetchall()
    conn.close()
    assert any("NATS" in text and status == "pending" for text, status in queued), queued


_MCP_START = """
import gc, json, sys
early = []
def count(phase, info):
    # A collection once the server module is importing and before starting froze its objects.
    if phase == "start" and "memorymesh_mcp._server" in sys.modules and not gc.get_freeze_count():
        early.append(1)
gc.callbacks.append(count)
from memorymesh_mcp import main
sys.argv = ["memorymesh-mcp", "--db", {db!r}, "--global-db", {global_db!r}]
code = main()
print(json.dumps([code, len(early), gc.isenabled(), gc.get_freeze_count() > 0]))
"""


def test_the_mcp_server_starts_without_the_cyclic_collector(tmp_path: Path) -> None:
    """The server a client spawns imports the SDK and builds itself with the collector paused
    (it walked those objects for a third of the CPU before the first answer), freezes them,
    and serves with the collector on: here until its client (an empty stdin) has gone."""
    source = _MCP_START.format(db=str(tmp_path / "p.db"), global_db=str(tmp_path / "g.db"))
    done = subprocess.run(
        [sys.executable, "-c", source],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, 0, True, True], done.stderr
