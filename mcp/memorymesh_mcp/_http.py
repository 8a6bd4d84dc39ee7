"""Serving MCP over HTTP safely: a bearer token, Host/Origin checks on every bind address.

A port on 127.0.0.1 is open to every local user and, through DNS rebinding, to web pages, so
the HTTP server never serves a request without the owner's token. The token is a random
256-bit string generated with :mod:`secrets` on first use and kept in
``$MEMORYMESH_HOME/mcp-http-token`` (created 0600, never rewritten); clients send it as
``Authorization: Bearer <token>``, as the MCP authorization spec asks of HTTP transports
(RFC 6750: a missing or wrong token answers 401 with ``WWW-Authenticate: Bearer``). There is
no OAuth authorization server: a single local owner needs no delegation, and advertising one
would send clients looking for it.

Host and Origin are checked on every bind address, not only on the loopback ones the SDK
protects by itself: the Host must be one of the names the server is reachable by (loopback
names, the bound address, this machine's host name, and any ``--allow-host``), and a browser's
Origin must name one of them too.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import socket
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from memorymesh import MemoryMeshError
from memorymesh._paths import memorymesh_home

__all__ = [
    "TOKEN_FILE",
    "HttpGate",
    "TokenFileError",
    "allowed_hosts",
    "is_loopback",
    "load_or_create_token",
    "token_path",
]

TOKEN_FILE = "mcp-http-token"  # noqa: S105 - a file name, not a secret

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class TokenFileError(MemoryMeshError):
    """The HTTP token file cannot be read or created, or is open to other users."""


def token_path() -> Path:
    """Where the HTTP server's bearer token lives: ``$MEMORYMESH_HOME/mcp-http-token``."""
    return memorymesh_home() / TOKEN_FILE


def load_or_create_token(path: Path | None = None) -> str:
    """The bearer token, generated (0600, exclusive create) the first time.

    Raises:
        TokenFileError: the file is not a regular file, is readable by others, is empty, or
            cannot be created.
    """
    path = path or token_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return _read_token(path)
        token = secrets.token_urlsafe(32)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
        return token
    except OSError as exc:
        raise TokenFileError(f"cannot create the HTTP token file {path}: {exc}") from exc


def _read_token(path: Path) -> str:
    # O_NOFOLLOW: a symlink planted in place of the token file is refused, not followed.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "r", encoding="ascii", errors="replace") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileError(f"the HTTP token file {path} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            # Never loosen or tighten a file behind the owner's back: say what to do.
            raise TokenFileError(
                f"the HTTP token file {path} is readable by other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
            )
        token = handle.read().strip()
    if len(token) < 16:
        raise TokenFileError(f"the HTTP token file {path} holds no usable token; delete it")
    return token


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any loopback address (the whole of 127.0.0.0/8 and ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names (no port) a request's Host header may carry for a server bound to
    ``bind``: loopback names, the bound address itself (unless it is a wildcard), this
    machine's names for a non-loopback bind, and ``extra``."""
    names = {*_LOOPBACK_NAMES, *(h.lower().strip("[]") for h in extra)}
    if not _wildcard(bind):
        names.add(bind.lower().strip("[]"))
    if not is_loopback(bind):
        hostname = socket.gethostname().lower()
        names.update({hostname, socket.getfqdn().lower(), f"{hostname}.local"})
    return frozenset(names)


def sdk_settings(hosts: Iterable[str]) -> Any:
    """The SDK's own DNS-rebinding settings for the same names, so its check (which it runs
    by itself only for loopback binds) agrees with ours on every bind address."""
    from mcp.server.transport_security import TransportSecuritySettings

    spelled = [f"[{h}]" if ":" in h else h for h in sorted(hosts)]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[form for h in spelled for form in (h, f"{h}:*")],
        allowed_origins=[
            form
            for h in spelled
            for scheme in ("http", "https")
            for form in (f"{scheme}://{h}", f"{scheme}://{h}:*")
        ],
    )


def _host_of(header: str) -> str | None:
    """The host part of a Host header (``name``, ``name:port``, ``[v6]:port``), lower-cased."""
    header = header.strip().lower()
    if not header:
        return None
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 0 else None
    name, _, port = header.partition(":")
    if port and not port.isdigit():
        return None
    return name


def _origin_host(origin: str) -> str | None:
    scheme, sep, rest = origin.strip().lower().partition("://")
    if not sep or scheme not in ("http", "https") or "/" in rest or "@" in rest:
        return None
    return _host_of(rest)


def warning_for(bind: str) -> str | None:
    """The loud warning a non-loopback bind deserves, or None for a loopback one."""
    if is_loopback(bind):
        return None
    return (
        f"WARNING: the MemoryMesh MCP server is listening on {bind}, reachable from other "
        "machines. Anyone holding the token can read and change every memory. The traffic is "
        "plain HTTP: put it behind TLS, or bind 127.0.0.1."
    )


class HttpGate:
    """ASGI middleware in front of the whole MCP app: Host, Origin, then the bearer token.

    Checks run before any byte of the request body is read or any session is created.
    """

    def __init__(self, app: Any, *, token: str, hosts: frozenset[str]) -> None:
        self.app = app
        self._token = token.encode()
        self.hosts = hosts

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # the lifespan passes; there are no websocket routes
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())
        }
        host = _host_of(headers.get("host", ""))
        if host is None or host not in self.hosts:
            await _plain(send, 421, "Invalid Host header")
            return
        origin = headers.get("origin")
        # No Origin: not a browser. A browser's (or an opaque "null") must be one of ours.
        if origin is not None and _origin_host(origin) not in self.hosts:
            await _plain(send, 403, "Invalid Origin header")
            return
        given = headers.get("authorization", "")
        scheme, _, credential = given.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            await _unauthorized(send, "Authentication required")
            return
        # Constant time: a timing side channel must not reveal the token byte by byte.
        if not hmac.compare_digest(credential.strip().encode("utf-8", "replace"), self._token):
            await _unauthorized(send, "Invalid token")
            return
        await self.app(scope, receive, send)


async def _plain(send: Any, status: int, message: str) -> None:
    body = message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _unauthorized(send: Any, description: str) -> None:
    body = json.dumps({"error": "invalid_token", "error_description": description}).encode()
    challenge = (
        f'Bearer realm="memorymesh", error="invalid_token", error_description="{description}"'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def announce(url: str, bind: str, path: Path, token: str) -> None:
    """Tell the owner where the server is and how a client authenticates (on stderr)."""
    print(f"MemoryMesh MCP server: {url}", file=sys.stderr)
    print(f"Clients must send: Authorization: Bearer {token}", file=sys.stderr)
    print(f"(the token is kept in {path}; `memorymesh setup` writes it for you)", file=sys.stderr)
    warning = warning_for(bind)
    if warning:
        print(warning, file=sys.stderr)
