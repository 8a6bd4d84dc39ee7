"""``memorymesh setup``: each client's own config format, merged, never clobbered."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("tomlkit")

from memorymesh_mcp._setup import configured_clients, setup_client

from memorymesh.cli import main

JSON_CLIENTS = {
    # client: (user file, project file, the key other clients' entries live under)
    "claude": (".claude.json", ".mcp.json"),
    "cursor": (".cursor/mcp.json", ".cursor/mcp.json"),
    "gemini": (".gemini/settings.json", ".gemini/settings.json"),
}


@pytest.fixture
def home(isolated_home: Path) -> Path:
    return isolated_home / "home"


@pytest.fixture
def project(isolated_home: Path) -> Path:
    return isolated_home / "project"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("client", sorted(JSON_CLIENTS))
@pytest.mark.parametrize("scope", ["user", "project"])
def test_json_clients_merge_and_keep_other_servers(
    client: str, scope: str, home: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user_file, project_file = JSON_CLIENTS[client]
    path = (home / user_file) if scope == "user" else (project / project_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = {
        "theme": "dark",
        "mcpServers": {"github": {"command": "gh-mcp", "args": ["--stdio"]}},
    }
    path.write_text(json.dumps(existing), encoding="utf-8")

    code, out, _ = _run(capsys, "setup", client, "--scope", scope)
    assert code == 0 and str(path) in out

    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["theme"] == "dark"
    assert data["mcpServers"]["github"] == existing["mcpServers"]["github"]  # type: ignore[index]
    entry = data["mcpServers"]["memorymesh"]
    if scope == "user":
        assert Path(entry["command"]).is_absolute() and Path(entry["command"]).exists()
        assert entry["args"] in (["mcp"], ["-m", "memorymesh_mcp"])
        assert "env" not in entry
    else:
        # A project file is shared with the team: a portable command, no one's paths in it.
        assert entry["command"] == "memorymesh-mcp" and entry["args"] == []
        assert str(home) not in path.read_text(encoding="utf-8")
        assert str(project) not in path.read_text(encoding="utf-8")
        if client == "cursor":
            assert entry["env"] == {"MEMORYMESH_PROJECT_ROOT": "${workspaceFolder}"}
        else:
            assert "env" not in entry
    if client == "claude":
        assert entry["type"] == "stdio"

    # Running it again refreshes the entry, and changes nothing else.
    before = path.read_text(encoding="utf-8")
    assert _run(capsys, "setup", client, "--scope", scope)[0] == 0
    assert path.read_text(encoding="utf-8") == before
    assert scope in configured_clients()[client]


def test_a_fresh_config_is_created_private(home: Path) -> None:
    result = setup_client("cursor")
    assert result.path == home / ".cursor" / "mcp.json"
    assert result.path.stat().st_mode & 0o777 == 0o600
    assert list(json.loads(result.path.read_text())["mcpServers"]) == ["memorymesh"]


def test_codex_toml_keeps_comments_and_other_tables(home: Path) -> None:
    path = home / ".codex" / "config.toml"
    path.parent.mkdir(parents=True)
    original = (
        '# my codex settings\nmodel = "o4-mini"\n\n'
        '[mcp_servers.docs]\ncommand = "docs-mcp"\nargs = ["serve"]\n\n'
        '[profiles.fast]\nmodel = "o4-mini"  # keep me\n'
    )
    path.write_text(original, encoding="utf-8")
    setup_client("codex")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(original.rstrip("\n").split("\n\n")[0])
    assert "# keep me" in text and "# my codex settings" in text
    data = tomllib.loads(text)
    assert data["model"] == "o4-mini"
    assert data["mcp_servers"]["docs"] == {"command": "docs-mcp", "args": ["serve"]}
    assert data["profiles"]["fast"]["model"] == "o4-mini"
    entry = data["mcp_servers"]["memorymesh"]
    assert Path(entry["command"]).is_absolute() and entry["args"]
    # Idempotent: a second run leaves the file byte for byte.
    setup_client("codex")
    assert path.read_text(encoding="utf-8") == text
    assert configured_clients()["codex"] == ["user"]


def test_codex_project_scope_writes_the_trusted_project_config(
    project: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / ".codex" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('# team settings\n[mcp_servers.docs]\ncommand = "docs-mcp"\n', encoding="utf-8")
    code, out, _ = _run(capsys, "setup", "codex", "--scope", "project")
    assert code == 0 and str(path) in out and "trusted project" in out
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data["mcp_servers"]["memorymesh"] == {"command": "memorymesh-mcp", "args": []}
    assert data["mcp_servers"]["docs"] == {"command": "docs-mcp"}
    assert "# team settings" in text and str(home) not in text
    assert configured_clients()["codex"] == ["project"]
    assert not (home / ".codex").exists()


@pytest.fixture
def desktop_config(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("APPDATA", raising=False)
    if sys.platform == "darwin":
        folder = home / "Library" / "Application Support" / "Claude"
    elif sys.platform == "win32":
        folder = home / "AppData" / "Roaming" / "Claude"
    else:
        folder = home / ".config" / "Claude"
    return folder / "claude_desktop_config.json"


def test_claude_desktop_merges_into_its_own_config(
    desktop_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desktop_config.parent.mkdir(parents=True)
    existing = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {"filesystem": {"command": "npx", "args": ["-y", "fs-mcp", "/tmp"]}},
    }
    desktop_config.write_text(json.dumps(existing), encoding="utf-8")
    code, out, _ = _run(capsys, "setup", "claude-desktop")
    assert code == 0 and str(desktop_config) in out and "Claude Desktop" in out
    data = json.loads(desktop_config.read_text(encoding="utf-8"))
    assert data["globalShortcut"] == "Ctrl+Space"
    assert data["mcpServers"]["filesystem"] == existing["mcpServers"]["filesystem"]  # type: ignore[index]
    entry = data["mcpServers"]["memorymesh"]
    # A desktop app does not inherit the shell's PATH: the launcher by absolute path.
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).exists()
    assert "type" not in entry
    assert configured_clients()["claude-desktop"] == ["user"]
    code, _, err = _run(capsys, "setup", "claude-desktop", "--scope", "project")
    assert code == 2 and "--scope user" in err


def test_claude_desktop_follows_xdg_config_home(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sys.platform in ("darwin", "win32"):
        pytest.skip("XDG_CONFIG_HOME is the Linux location")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = setup_client("claude-desktop")
    assert result.path == tmp_path / "xdg" / "Claude" / "claude_desktop_config.json"
    assert result.path.is_file()


_NO_MCP = """\
import sys


class _NoMCP:
    \"\"\"The MCP SDK is not installed: every import of it fails as it would then.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name == "mcp" or name.startswith("mcp."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoMCP())
"""

# The SDK absent from site-packages, while a source checkout's own mcp/ folder (which holds
# memorymesh_mcp) is still on the path: `import mcp` then succeeds, as a namespace package.
_ONLY_THE_CHECKOUT = """\
import sys
from importlib.machinery import PathFinder


class _HideSDK:
    def find_spec(self, name, path=None, target=None):
        if name == "mcp" or name.startswith("mcp."):
            if path is None:
                path = [p for p in sys.path if "site-packages" not in p]
            return PathFinder.find_spec(name, path, target)
        return None


sys.meta_path.insert(0, _HideSDK())
"""


@pytest.mark.parametrize("blocker_code", [_NO_MCP, _ONLY_THE_CHECKOUT], ids=["absent", "shadow"])
def test_setup_refuses_without_the_mcp_sdk(
    isolated_home: Path, home: Path, blocker_code: str
) -> None:
    blocker = isolated_home / "no-mcp"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(blocker_code, encoding="utf-8")
    checkout = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(blocker), os.environ.get("PYTHONPATH", ""), str(checkout), str(checkout / "mcp")]
        ),
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memorymesh", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # The blocker works: the server itself cannot start in this environment.
    server = run("mcp")
    assert server.returncode == 1 and "'mcp' extra" in server.stderr
    for client in ("claude", "claude-desktop", "cursor"):
        refused = run("setup", client)
        assert refused.returncode == 2, refused.stdout
        assert "'mcp' extra" in refused.stderr
        assert f"{sys.executable} -m pip install 'mcp>=2.0,<3'" in refused.stderr
    # Nothing written: no config whose server would exit at once.
    assert not any(p.is_file() for p in home.rglob("*"))


@pytest.mark.parametrize("client", ["claude", "claude-desktop", "cursor", "gemini", "codex"])
def test_dry_run_writes_nothing(
    client: str, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    code, out, _ = _run(capsys, "setup", client, "--dry-run")
    assert code == 0 and "memorymesh" in out and "Would add" in out
    assert not any(p.is_file() for p in home.rglob("*"))
    code, out, _ = _run(capsys, "setup", client, "--dry-run", "--json")
    report = json.loads(out)
    assert report["written"] is False and report["client"] == client
    assert not Path(report["path"]).exists()


def test_a_broken_file_is_left_untouched(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for client, name in (("claude", ".claude.json"), ("codex", ".codex/config.toml")):
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{ not valid [", encoding="utf-8")
        code, _, err = _run(capsys, "setup", client)
        assert code == 2 and "not valid" in err and "fix it" in err
        assert path.read_text(encoding="utf-8") == "{ not valid ["


def test_status_lists_configured_clients(capsys: pytest.CaptureFixture[str]) -> None:
    setup_client("claude")
    setup_client("gemini", "project")
    code, out, _ = _run(capsys, "status", "--json")
    assert code == 0
    assert json.loads(out)["mcp_clients"] == {
        "claude": "user",
        "claude-desktop": "not configured",
        "cursor": "not configured",
        "gemini": "project",
        "codex": "not configured",
    }
    code, out, _ = _run(capsys, "status")
    assert "MCP clients:" in out and "{" not in out
    assert re.search(r"^ +claude: +user$", out, re.MULTILINE)
    assert re.search(r"^ +gemini: +project$", out, re.MULTILINE)


def test_setup_claude_with_hooks_installs_both(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"theme": "dark"}), encoding="utf-8")
    code, out, _ = _run(capsys, "setup", "claude", "--hooks", "--dry-run")
    assert code == 0
    assert "Would install the auto-remember hooks" in out
    assert json.loads(settings.read_text(encoding="utf-8")) == {"theme": "dark"}
    code, out, _ = _run(capsys, "setup", "claude", "--hooks")
    assert code == 0
    written = json.loads(settings.read_text(encoding="utf-8"))
    assert written["theme"] == "dark"
    assert {"PostToolUse", "Stop"} <= set(written["hooks"])
    code, out, _ = _run(capsys, "setup", "claude", "--hooks")
    assert "Already installed" in out
    code, _, err = _run(capsys, "setup", "cursor", "--hooks")
    assert code == 2
    assert "Claude Code only" in err


def test_setup_can_turn_on_semantic_recall_for_a_client(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = _run(capsys, "setup", "cursor", "--embedding", "local")
    assert code == 0
    entry = json.loads((home / ".cursor" / "mcp.json").read_text())["mcpServers"]["memorymesh"]
    assert entry["env"] == {"MEMORYMESH_EMBEDDING": "local"}
    code, _, err = _run(capsys, "setup", "cursor", "--embedding", "word2vec")
    assert code != 0 and "unknown embedding" in err
