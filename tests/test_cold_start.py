"""One-shot processes load only what they use, and lose nothing by being short.

Structural, not timed: which modules a fresh process has imported (speed itself is measured by
``benchmarks/bench_cold.py``).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

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
