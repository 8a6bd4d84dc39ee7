"""#17 High 1: the HTTP MCP server serves no one without the owner's token, on any address.

The real server process (``memorymesh mcp --http``), the official MCP client, and raw HTTP
where the status code itself is the point.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("mcp")

import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import Implementation
from memorymesh_mcp._http import TokenFileError, load_or_create_token

BIN = Path(sys.executable).parent
CLIENT = Implementation(name="security-test", version="1.0")
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Running:
    url: str
    port: int
    token_file: Path
    stderr: str


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _env(root: Path) -> dict[str, str]:
    inherited = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    (root / "project").mkdir(parents=True, exist_ok=True)
    return {
        **inherited,
        "PATH": str(BIN),
        "HOME": str(root / "home"),
        "MEMORYMESH_HOME": str(root / "home" / ".memorymesh"),
        "MEMORYMESH_PROJECT_ROOT": str(root / "project"),
    }


def _start(root: Path, bind: str, connect: str, *extra: str) -> Iterator[Running]:
    port = _free_port(bind)
    process = subprocess.Popen(
        [str(BIN / "memorymesh"), "mcp", "--http", "--host", bind, "--port", str(port), *extra],
        env=_env(root),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # the server is up once its port accepts connections
            try:
                socket.create_connection((connect, port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read() if process.stderr else "") from None
                time.sleep(0.05)
        host = f"[{connect}]" if ":" in connect else connect
        running = Running(
            f"http://{host}:{port}/mcp", port, root / "home" / ".memorymesh" / "mcp-http-token", ""
        )
        yield running
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    running.stderr = err


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[Running]:
    yield from _start(tmp_path, "127.0.0.1", "127.0.0.1")


def _token(server: Running) -> str:
    return server.token_file.read_text(encoding="ascii").strip()


@asynccontextmanager
async def _client(url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http,
        Client(
            streamable_http_client(url, http_client=http), mode="legacy", client_info=CLIENT
        ) as connected,
    ):
        yield connected


def _raw(url: str, headers: dict[str, str]) -> httpx2.Response:
    return httpx2.post(url, headers={**MCP_HEADERS, **headers}, content=json.dumps(INIT))


def test_no_token_or_a_bogus_one_is_refused_with_401(loopback: Running) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {_token(loopback)}"},
        {"Authorization": f"Bearer {_token(loopback)}x"},
    ):
        response = _raw(loopback.url, headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer ")
        assert _token(loopback) not in response.text
    # Every path, not just /mcp.
    assert httpx2.get(loopback.url.replace("/mcp", "/")).status_code == 401


@pytest.mark.anyio
async def test_the_official_client_needs_the_token(loopback: Running) -> None:
    # The SDK reports the 401 (seen raw above) as an error response to `initialize`.
    for headers in ({}, {"Authorization": "Bearer bogus"}):
        with pytest.RaisesGroup(MCPError, flatten_subgroups=True):
            async with _client(loopback.url, headers) as refused:
                await refused.list_tools()  # pragma: no cover - never connected

    headers = {"Authorization": f"Bearer {_token(loopback)}"}
    async with _client(loopback.url, headers) as owner:
        stored = await owner.call_tool("remember", {"text": "Only the owner talks to this server"})
        assert not stored.is_error, stored.content
        assert {t.name for t in (await owner.list_tools()).tools} >= {"remember", "recall"}


def test_the_token_file_is_private_reused_and_never_followed(
    loopback: Running, tmp_path: Path
) -> None:
    assert stat.S_IMODE(loopback.token_file.stat().st_mode) == 0o600
    assert len(_token(loopback)) >= 40  # 32 random bytes, url-safe base64
    # The same token on the next start, so configured clients keep working.
    assert load_or_create_token(loopback.token_file) == _token(loopback)
    fresh = tmp_path / "fresh" / "token"
    assert load_or_create_token(fresh) != _token(loopback)
    fresh.chmod(0o644)  # loosened by someone: refused, and left as it is
    with pytest.raises(TokenFileError, match="chmod 600"):
        load_or_create_token(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    link = tmp_path / "link"
    link.symlink_to(loopback.token_file)
    with pytest.raises(TokenFileError):
        load_or_create_token(link)


def test_a_wrong_host_or_origin_is_refused_even_with_the_token(loopback: Running) -> None:
    auth = {"Authorization": f"Bearer {_token(loopback)}"}
    assert _raw(loopback.url, {**auth, "Host": "evil.example"}).status_code == 421
    assert _raw(loopback.url, {**auth, "Host": f"evil.example:{loopback.port}"}).status_code == 421
    assert _raw(loopback.url, {**auth, "Origin": "http://evil.example"}).status_code == 403
    assert _raw(loopback.url, {**auth, "Origin": "null"}).status_code == 403
    ok = _raw(loopback.url, {**auth, "Origin": f"http://localhost:{loopback.port}"})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    ("bind", "connect"), [("127.0.0.2", "127.0.0.2"), ("0.0.0.0", "127.0.0.1")]
)
def test_host_checks_hold_on_every_bind_address(tmp_path: Path, bind: str, connect: str) -> None:
    for server in _start(tmp_path, bind, connect, "--allow-host", "memory.lan"):
        auth = {"Authorization": f"Bearer {_token(server)}"}
        assert _raw(server.url, {**auth, "Host": "evil.example"}).status_code == 421
        assert _raw(server.url, {**auth, "Origin": "http://evil.example"}).status_code == 403
        assert _raw(server.url, {}).status_code == 401
        named = _raw(server.url, {**auth, "Host": f"memory.lan:{server.port}"})
        assert named.status_code == 200, named.text
    stderr = server.stderr
    if bind == "0.0.0.0":
        assert "WARNING" in stderr and "reachable from other machines" in stderr
    else:
        assert "WARNING" not in stderr  # 127.0.0.2 is loopback too
    assert "Authorization: Bearer" in stderr  # the owner is shown how to connect


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as another OS user",
)
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_another_os_user_cannot_read_the_token_or_get_in(loopback: Running) -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    read = subprocess.run(
        [*as_nobody, "cat", str(loopback.token_file)], capture_output=True, text=True
    )
    assert read.returncode != 0 and "Permission denied" in read.stderr
    body = json.dumps(INIT)
    curl = [
        *as_nobody,
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Content-Type: application/json",
        "-H",
        "Accept: application/json, text/event-stream",
        "--data",
        body,
    ]
    for extra in ([], ["-H", "Authorization: Bearer guessed"]):
        status = subprocess.run([*curl, *extra, loopback.url], capture_output=True, text=True)
        assert status.stdout == "401", status


def test_setup_writes_the_url_and_token_for_http_clients(loopback: Running, tmp_path: Path) -> None:
    env = _env(tmp_path)
    home = Path(env["HOME"])
    for client, path in (("claude", ".claude.json"), ("cursor", ".cursor/mcp.json")):
        done = subprocess.run(
            [str(BIN / "memorymesh"), "setup", client, "--http", loopback.url],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        config = home / path
        entry = json.loads(config.read_text())["mcpServers"]["memorymesh"]
        assert entry["url"] == loopback.url
        assert entry["headers"] == {"Authorization": f"Bearer {_token(loopback)}"}
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
    shared = subprocess.run(
        [str(BIN / "memorymesh"), "setup", "claude", "--http", loopback.url, "--scope", "project"],
        env=env,
        cwd=tmp_path / "project",
        capture_output=True,
        text=True,
    )
    assert shared.returncode != 0 and "--scope user" in shared.stderr
    assert not (tmp_path / "project" / ".mcp.json").exists()
