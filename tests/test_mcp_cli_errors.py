"""Starting the MCP server with bad options: one clear line and a non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from memorymesh.cli import main

BIN = Path(sys.executable).parent


def test_a_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["mcp", "--http", "--port", "99999"])
    assert exited.value.code == 2
    assert "a port is a number from 1 to 65535" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["memorymesh", "mcp"], ["memorymesh-mcp"]])
def test_a_bad_store_path_ends_the_server_with_one_line(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:], "--db", str(folder)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"memorymesh: error: cannot create the database at {folder}: "
        "it is a directory, not a database file"
    ], done.stderr
