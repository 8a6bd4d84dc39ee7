"""``memorymesh setup CLIENT``: add the MemoryMesh server to an AI client's own config file.

Each client keeps its MCP servers in its own place and format:

==============  ===================================  ==================================  ======
client          user scope                           project scope                       format
==============  ===================================  ==================================  ======
claude          ``~/.claude.json``                   ``<project>/.mcp.json``             JSON
claude-desktop  ``claude_desktop_config.json`` [1]_  (user scope only)                   JSON
cursor          ``~/.cursor/mcp.json``               ``<project>/.cursor/mcp.json``      JSON
gemini          ``~/.gemini/settings.json``          ``<project>/.gemini/settings.json`` JSON
codex           ``~/.codex/config.toml``             ``<project>/.codex/config.toml``    TOML
==============  ===================================  ==================================  ======

.. [1] In ``~/Library/Application Support/Claude/`` on macOS, ``%APPDATA%\\Claude\\`` on Windows,
   ``~/.config/Claude/`` (or ``$XDG_CONFIG_HOME/Claude/``) on Linux.

The JSON clients list servers under ``mcpServers``; Codex under ``[mcp_servers.<name>]`` (and
reads a project's ``.codex/config.toml`` only once the project is trusted). Set-up merges: only
the ``memorymesh`` entry is added or replaced, every other server and setting is kept, and a file
that does not parse is left untouched with an error. Writes are atomic (a temporary file renamed
over the old one) and keep the file's permissions.

User-scope entries name the launcher by absolute path (desktop apps do not inherit the shell's
PATH). Project-scope files are meant to be committed and shared with the team, so their entry is
portable: the bare ``memorymesh-mcp`` command, found on each person's PATH, and no absolute paths.
Set-up refuses when the ``mcp`` SDK is missing, rather than write an entry whose server would
exit at once.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from memorymesh import InvalidInputError, available_embedders
from memorymesh._paths import find_project_root

__all__ = [
    "CLIENTS",
    "SERVER_NAME",
    "Client",
    "config_path",
    "configured_clients",
    "register",
    "server_entry",
    "setup_client",
]

SERVER_NAME = "memorymesh"
Scope = Literal["user", "project"]


@dataclass(frozen=True)
class Client:
    name: str
    title: str
    user_file: str  # relative to the home directory
    project_file: str | None  # relative to the project root; None: user scope only
    fmt: Literal["json", "toml"]
    restart: str


CLIENTS: dict[str, Client] = {
    c.name: c
    for c in (
        Client(
            "claude",
            "Claude Code",
            ".claude.json",
            ".mcp.json",
            "json",
            "Start a new `claude` session",
        ),
        Client(
            "claude-desktop",
            "Claude Desktop",
            "claude_desktop_config.json",  # in the per-platform folder: see _claude_desktop_dir
            None,
            "json",
            "Quit Claude Desktop completely and open it again",
        ),
        Client(
            "cursor",
            "Cursor",
            ".cursor/mcp.json",
            ".cursor/mcp.json",
            "json",
            "Restart Cursor (or toggle the server in Settings → MCP)",
        ),
        Client(
            "gemini",
            "Gemini CLI",
            ".gemini/settings.json",
            ".gemini/settings.json",
            "json",
            "Start a new `gemini` session",
        ),
        Client(
            "codex",
            "Codex CLI",
            ".codex/config.toml",
            # Codex reads it only in a trusted project (codex asks on first start there).
            ".codex/config.toml",
            "toml",
            "Start a new `codex` session",
        ),
    )
}


def _project_root() -> Path:
    return find_project_root() or Path.cwd()


def _claude_desktop_dir() -> Path:
    """Claude Desktop's config folder: the Electron app-data folder of each platform."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Claude"
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        return (Path(appdata) if appdata else Path.home() / "AppData" / "Roaming") / "Claude"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "Claude"


def config_path(client: Client, scope: Scope) -> Path:
    """Where ``client`` keeps its MCP servers for ``scope``.

    Raises:
        InvalidInputError: the client has no config for that scope.
    """
    if scope == "user":
        if client.name == "claude-desktop":
            return _claude_desktop_dir() / client.user_file
        return Path.home() / client.user_file
    if client.project_file is None:
        raise InvalidInputError(
            f"{client.title} reads MCP servers only from its user config; use --scope user"
        )
    return _project_root() / client.project_file


def _launcher() -> tuple[str, list[str]]:
    """The command that starts the server from this installation, with absolute paths, since
    desktop apps do not inherit the shell's PATH or virtualenv."""
    script = Path(sys.executable).parent / "memorymesh"
    if script.is_file():
        return str(script), ["mcp"]
    found = shutil.which("memorymesh")
    if found:
        return found, ["mcp"]
    return sys.executable, ["-m", "memorymesh_mcp"]


#: The portable launcher a shared project file names: a console script every install puts on
#: PATH (pipx, ``uv tool install``, an activated virtualenv), so no one's home directory leaks
#: into a file the team commits.
PORTABLE_COMMAND = "memorymesh-mcp"


def server_entry(client: Client, scope: Scope, embedding: str | None = None) -> dict[str, Any]:
    """The ``memorymesh`` server entry in ``client``'s format (``embedding``: the server's
    ``MEMORYMESH_EMBEDDING``, e.g. ``"local"`` for semantic recall)."""
    command, args = (PORTABLE_COMMAND, []) if scope == "project" else _launcher()
    entry: dict[str, Any] = {"command": command, "args": args}
    if client.name == "claude":
        entry = {"type": "stdio", **entry}
    if scope == "project" and client.name == "cursor":
        # Cursor may start servers outside the workspace; it expands ${workspaceFolder} to the
        # project on each machine. Claude Code, Gemini CLI and Codex start project servers in
        # the project, where the server finds the root itself.
        entry["env"] = {"MEMORYMESH_PROJECT_ROOT": "${workspaceFolder}"}
    if embedding:
        entry.setdefault("env", {})["MEMORYMESH_EMBEDDING"] = embedding
    return entry


def http_entry(client: Client, url: str, token: str) -> dict[str, Any]:
    """The ``memorymesh`` entry for a server already running with ``memorymesh mcp --http``:
    its URL and the bearer token, in ``client``'s spelling.

    Raises:
        InvalidInputError: the client cannot reach an HTTP server from its config file, or
            the URL is not an http(s) URL.
    """
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"--http takes the server's URL (http://HOST:PORT/mcp), not {url!r}"
        )
    headers = {"Authorization": f"Bearer {token}"}
    if client.name == "claude":
        return {"type": "http", "url": url, "headers": headers}
    if client.name == "cursor":
        return {"url": url, "headers": headers}
    if client.name == "gemini":
        return {"httpUrl": url, "headers": headers}
    if client.name == "codex":
        return {"url": url, "http_headers": headers}
    raise InvalidInputError(
        f"{client.title} starts its MCP servers itself (stdio); run setup without --http"
    )


def _require_sdk() -> None:
    """Refuse to write an entry whose server would exit at once for want of the MCP SDK.

    Raises:
        InvalidInputError: the ``mcp`` package does not import in this environment.
    """
    # The SDK's server package, not just `mcp`: in a source checkout the repository's own
    # mcp/ folder (which holds this package) would pass as a namespace package.
    try:
        found = importlib.util.find_spec("mcp.server") is not None
    except ImportError:
        found = False
    if not found:
        from ._main import install_hint

        raise InvalidInputError(
            "the MemoryMesh MCP server needs the 'mcp' extra (the MCP SDK), which is not "
            f"installed; {install_hint()}, then run this again"
        )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON ({exc}); fix it, then retry") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} does not hold a JSON object; fix it, then retry")
    return data


def _merge_json(path: Path, entry: dict[str, Any]) -> str:
    data = _read_json(path)
    servers = data.get("mcpServers")
    if servers is None:
        servers = data["mcpServers"] = {}
    if not isinstance(servers, dict):
        raise InvalidInputError(f"'mcpServers' in {path} is not an object; fix it, then retry")
    servers[SERVER_NAME] = entry
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _merge_toml(path: Path, entry: dict[str, Any]) -> str:
    try:
        import tomlkit  # a style-preserving TOML editor: comments and other tables survive
    except ImportError:
        from ._main import install_hint

        raise InvalidInputError(f"editing TOML needs the 'mcp' extra: {install_hint()}") from None

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        tomllib.loads(text)
        document = tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise InvalidInputError(f"{path} is not valid TOML ({exc}); fix it, then retry") from None
    servers = document.get("mcp_servers")
    if servers is None:
        servers = tomlkit.table(is_super_table=True)
        document["mcp_servers"] = servers
    if not isinstance(servers, dict):
        raise InvalidInputError(f"'mcp_servers' in {path} is not a table; fix it, then retry")
    table = tomlkit.table()
    for key, value in entry.items():
        table[key] = value
    servers[SERVER_NAME] = table
    return tomlkit.dumps(document)


def _write_atomic(path: Path, content: str, *, secret: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    if secret:  # the file now holds the HTTP server's token: the owner alone reads it
        mode &= 0o700
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SetupResult:
    client: Client
    scope: Scope
    path: Path
    entry: dict[str, Any]
    content: str
    written: bool


def setup_client(
    name: str,
    scope: Scope = "user",
    *,
    dry_run: bool = False,
    embedding: str | None = None,
    http: str | None = None,
) -> SetupResult:
    """Add (or refresh) the ``memorymesh`` server in ``name``'s config; keep everything else.

    ``http``: the URL of a server run with ``memorymesh mcp --http``; the entry then names
    that URL and carries the server's bearer token (user scope only, the file made 0600).

    Raises:
        InvalidInputError: an unknown client, a scope the client lacks, a config file that
            does not parse (it is left as it was), or no MCP SDK installed.
    """
    client = CLIENTS.get(name)
    if client is None:
        raise InvalidInputError(f"unknown client {name!r}; use one of {sorted(CLIENTS)}")
    if embedding and embedding.partition(":")[0] not in {"auto", *available_embedders()}:
        known = ", ".join(["auto", *available_embedders()])
        raise InvalidInputError(f"unknown embedding {embedding!r}; use one of {known}")
    _require_sdk()
    path = config_path(client, scope)
    if http is not None:
        if scope != "user":
            # A project file is committed and shared: a token must never land in it.
            raise InvalidInputError("--http writes a secret token: use it with --scope user")
        from ._http import load_or_create_token

        entry = http_entry(client, http, load_or_create_token())
    else:
        entry = server_entry(client, scope, embedding)
    content = _merge_toml(path, entry) if client.fmt == "toml" else _merge_json(path, entry)
    if not dry_run:
        _write_atomic(path, content, secret=http is not None)
    return SetupResult(client, scope, path, entry, content, written=not dry_run)


def _has_entry(client: Client, path: Path) -> bool:
    try:
        if client.fmt == "toml":
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            servers = data.get("mcp_servers", {})
        else:
            servers = json.loads(path.read_text(encoding="utf-8")).get("mcpServers", {})
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(servers, dict) and SERVER_NAME in servers


def configured_clients() -> dict[str, list[str]]:
    """For each client, the scopes whose config file lists the ``memorymesh`` server."""
    found: dict[str, list[str]] = {}
    for client in CLIENTS.values():
        scopes: list[str] = []
        for scope in ("user", "project"):
            if scope == "project" and client.project_file is None:
                continue
            if _has_entry(client, config_path(client, scope)):
                scopes.append(scope)
        found[client.name] = scopes
    return found


def _status() -> dict[str, Any]:
    clients = configured_clients()
    return {
        "mcp_clients": {
            name: ", ".join(scopes) if scopes else "not configured"
            for name, scopes in clients.items()
        }
    }


def _install_hooks(args: argparse.Namespace) -> str | None:
    """``setup claude --hooks``: the auto-remember hooks, merged into Claude Code's settings."""
    if not args.hooks:
        return None
    from memorymesh.context._hooks import install_claude_hooks, settings_path

    path = settings_path(args.scope)
    _, changed = install_claude_hooks(path, dry_run=args.dry_run)
    verb = (
        ("Would install" if changed else "Would leave")
        if args.dry_run
        else ("Installed" if changed else "Already installed:")
    )
    return f"{verb} the auto-remember hooks (PostToolUse, Stop) in {path}"


async def cmd_setup(args: argparse.Namespace) -> int:
    if args.hooks and args.client != "claude":  # refused before anything is written
        raise InvalidInputError("--hooks is for Claude Code only: memorymesh setup claude --hooks")
    result = setup_client(
        args.client, args.scope, dry_run=args.dry_run, embedding=args.embedding, http=args.http
    )
    hooks = _install_hooks(args)
    if hooks is not None and not args.json:
        print(hooks)
    if args.json:
        json.dump(
            {
                "client": result.client.name,
                "scope": result.scope,
                "path": str(result.path),
                "entry": result.entry,
                "written": result.written,
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return 0
    snippet = (
        _merge_toml(Path("/nonexistent"), result.entry)
        if result.client.fmt == "toml"
        else json.dumps({"mcpServers": {SERVER_NAME: result.entry}}, indent=2)
    )
    if result.written:
        print(f"Added the memorymesh MCP server to {result.client.title}: {result.path}")
        if result.scope == "project":
            _print_project_notes(result.client)
        print(f'\nNext: {result.client.restart}, then ask it "what do you remember about me?"')
        print("Check: `memorymesh status` lists the client as configured.")
    else:
        print(f"Would add to {result.path} (other entries kept):\n")
        print(snippet.rstrip())
    return 0


def _print_project_notes(client: Client) -> None:
    """What a shared project entry relies on: the launcher on PATH (and Codex's trust)."""
    print(
        f"The entry runs `{PORTABLE_COMMAND}` from PATH, so the file can be committed and "
        "shared with the team."
    )
    if shutil.which(PORTABLE_COMMAND) is None:
        print(
            f"Note: `{PORTABLE_COMMAND}` is not on PATH here; install MemoryMesh with pipx or "
            "`uv tool install` (with the [mcp] extra), or activate its virtualenv before starting "
            f"{client.title}."
        )
    if client.name == "codex":
        print("Codex reads .codex/config.toml only in a trusted project: trust it when asked.")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add ``memorymesh setup`` and the status line for configured clients."""
    from memorymesh.cli import STATUS_HOOKS

    help_text = (
        "Add the MemoryMesh MCP server to Claude Code, Claude Desktop, Cursor, Gemini CLI or "
        "Codex CLI."
    )
    p = subparsers.add_parser("setup", parents=[common], help=help_text, description=help_text)
    p.add_argument("client", choices=sorted(CLIENTS), help="the AI client to set up")
    p.add_argument(
        "--scope",
        choices=["user", "project"],
        default="user",
        help="user: every project (default); project: a config file in this project",
    )
    p.add_argument("--dry-run", action="store_true", help="print the entry, write nothing")
    p.add_argument(
        "--embedding",
        metavar="PROVIDER",
        help="semantic recall for this client: local, ollama[:MODEL], ... (written as the "
        "server's MEMORYMESH_EMBEDDING; `memorymesh config embedding` sets it for everything)",
    )
    p.add_argument(
        "--http",
        metavar="URL",
        help="point the client at a server run with `memorymesh mcp --http` (e.g. "
        "http://127.0.0.1:8765/mcp) and write its bearer token (user scope only)",
    )
    p.add_argument(
        "--hooks",
        action="store_true",
        help="claude only: also install the auto-remember hooks (see `memorymesh hook`)",
    )
    p.set_defaults(handler=cmd_setup)
    if _status not in STATUS_HOOKS:
        STATUS_HOOKS.append(_status)
