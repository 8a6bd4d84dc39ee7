"""Upgrading from 4.x: a 4.x store where 5.x keeps its own is recognised and migrated.

Every 4.x user meets this first: 4.x kept ``~/.memorymesh/global.db`` at the very path 5.x
uses. The real console scripts run in a subprocess with a throwaway HOME holding a store
written by the real memorymesh==4.3.0 (``tests/fixtures/v4``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh, StoreError, V4StoreError

BIN = Path(sys.executable).parent
FIXTURES = Path(__file__).parent / "fixtures" / "v4"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
GLOBAL_IDS = sorted(m["id"] for m in EXPECTED if m["scope"] == "global")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def v4_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A HOME whose ``.memorymesh/global.db`` is a 4.x store; no project around the cwd."""
    home = tmp_path / "home"
    store = home / ".memorymesh" / "global.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "global.db", store)
    store.chmod(0o644)  # as 4.x left it, under the usual umask
    (home / "work").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORYMESH_")}
    env["HOME"] = str(home)
    return store, env


def _run(
    env: dict[str, str], *argv: str, script: str = "memorymesh"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / script), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(env["HOME"]) / "work",
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )


@pytest.mark.anyio
async def test_opening_a_4x_store_is_a_typed_error_naming_the_fix(
    v4_home: tuple[Path, dict[str, str]],
) -> None:
    store, _ = v4_home
    before = _digest(store)
    with pytest.raises(V4StoreError, match=r"memorymesh import-v4") as caught:
        async with AsyncMemoryMesh(":memory:", global_path=store):
            pass
    assert isinstance(caught.value, StoreError) and caught.value.path == str(store)
    assert _digest(store) == before


def test_every_entry_point_names_import_v4_then_one_command_migrates(
    v4_home: tuple[Path, dict[str, str]],
) -> None:
    store, env = v4_home
    original = _digest(store)

    for argv in (["list"], ["recall", "dark mode"], ["status"]):
        done = _run(env, *argv)
        assert done.returncode == 1, done.stderr
        assert "4.x store" in done.stderr and "`memorymesh import-v4`" in done.stderr
        assert "Traceback" not in done.stderr

    doctor = _run(env, "doctor")
    assert doctor.returncode == 1
    assert "UNHEALTHY" not in doctor.stdout and "4.x store" in doctor.stdout
    assert "memorymesh import-v4" in doctor.stdout
    report = json.loads(_run(env, "doctor", "--json").stdout)
    assert report["stores"]["global"]["v4"] is True and report["healthy"] is True
    assert report["needs_migration"] == [str(store)]

    server = _run(env, "mcp")
    assert server.returncode == 1 and "`memorymesh import-v4`" in server.stderr
    assert _digest(store) == original  # nothing above touched the 4.x file

    migrated = _run(env, "import-v4")
    assert migrated.returncode == 0, migrated.stderr
    backup = store.with_name("global.v4.db")
    assert f"aside to {backup.name}" in migrated.stdout and "4 imported" in migrated.stdout
    assert _digest(backup) == original

    listed = _run(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(m["id"] for m in json.loads(listed.stdout)) == GLOBAL_IDS
    assert _run(env, "doctor").returncode == 0


def _at_a_terminal(
    env: dict[str, str], *argv: str, answer: bytes
) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """Run the CLI with stdin and stderr on a pseudo-terminal holding ``answer``; stdout is a
    pipe. Returns the process and everything it wrote to the terminal."""
    controller, terminal = os.openpty()
    try:
        os.write(controller, answer)  # the answer, waiting in the terminal's input
        done = subprocess.run(
            [str(BIN / "memorymesh"), *argv],
            stdin=terminal,
            stderr=terminal,
            stdout=subprocess.PIPE,
            env=env,
            cwd=Path(env["HOME"]) / "work",
            check=False,
            timeout=120,
        )
        os.close(terminal)
        said = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            said += chunk
    finally:
        os.close(controller)
    return done, said


def test_at_a_terminal_the_cli_offers_the_migration_and_runs_the_command(
    v4_home: tuple[Path, dict[str, str]],
) -> None:
    store, env = v4_home
    original = _digest(store)
    done, said = _at_a_terminal(env, "list", "--json", answer=b"y\n")
    assert done.returncode == 0, said
    assert b"Migrate it now" in said and b"4 imported" in said
    # stdout carries only what was asked for: the listing, after the migration.
    assert sorted(m["id"] for m in json.loads(done.stdout)) == GLOBAL_IDS
    assert _digest(store.with_name("global.v4.db")) == original


def test_at_a_terminal_doctor_offers_the_migration_then_checks_the_new_store(
    v4_home: tuple[Path, dict[str, str]],
) -> None:
    store, env = v4_home
    original = _digest(store)
    done, said = _at_a_terminal(env, "doctor", answer=b"\n")  # Enter: the default, yes
    out = done.stdout.decode()
    assert done.returncode == 0, (out, said)
    assert "a MemoryMesh 4.x store" in out and "4 imported" in out
    assert f"{store} — healthy" in out
    assert _digest(store.with_name("global.v4.db")) == original


def test_declining_the_migration_changes_nothing(v4_home: tuple[Path, dict[str, str]]) -> None:
    store, env = v4_home
    original = _digest(store)
    done, said = _at_a_terminal(env, "list", answer=b"n\n")
    assert done.returncode == 1 and b"Migrate it now" in said
    assert _digest(store) == original and not store.with_name("global.v4.db").exists()


def test_a_4x_file_elsewhere_gets_the_exact_command_which_migrates_it(
    tmp_path: Path, v4_home: tuple[Path, dict[str, str]]
) -> None:
    _, env = v4_home
    old = tmp_path / "old stores" / "notes.db"  # a space, so the command must quote it
    old.parent.mkdir()
    shutil.copy(FIXTURES / "project.db", old)
    original = _digest(old)

    done = _run(env, "list", "--db", str(old))
    assert done.returncode == 1
    [command] = re.findall(r"`(memorymesh import-v4[^`]*)`", done.stderr)
    assert command == f"memorymesh import-v4 --db '{old}'"

    migrated = _run(env, *shlex.split(command)[1:])
    assert migrated.returncode == 0, migrated.stderr
    assert "(project): 4 memories read, 4 imported" in migrated.stdout
    assert _digest(old.with_name("notes.v4.db")) == original
    listed = _run(env, "list", "--json", "--scope", "project", "--db", str(old))
    assert sorted(m["id"] for m in json.loads(listed.stdout)) == sorted(
        m["id"] for m in EXPECTED if m["scope"] == "project"
    )
