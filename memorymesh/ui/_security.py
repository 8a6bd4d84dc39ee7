"""The dashboard's door: who may come in, from where, and with what.

A dashboard on a shared machine is an open door, so every request passes these checks before
any page sees it (pure ASGI, so nothing is parsed before it is allowed):

1. ``Host`` must name this server (127.0.0.1, localhost or the ``--host`` given, with our
   port): a page on another site that re-points its DNS name at 127.0.0.1 (DNS rebinding)
   gets 400.
2. A state-changing request whose ``Origin`` (or ``Sec-Fetch-Site``) says it comes from
   another site gets 403.
3. The session: the one-time token printed by ``memorymesh ui`` is exchanged, once, for an
   HttpOnly, SameSite=Strict cookie holding a separate random session id; without either,
   401. The token leaves the address bar (303 to the same path without it).
4. Bodies are limited (Content-Length required, at most :data:`MAX_BODY_BYTES`): 411/413.
5. A state-changing request must carry the session's CSRF token, in the ``X-CSRF-Token``
   header or the ``_csrf`` form field: 403 otherwise.

Refusals are typed JSON (``{"error": {"type": ..., "message": ...}}``) for API calls and a
one-line page otherwise.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "COOKIE_NAME",
    "MAX_BODY_BYTES",
    "Guard",
    "GuardMiddleware",
    "refusal",
]

COOKIE_NAME = "memorymesh_ui"
#: Largest request body: an edited memory's text and its fields fit many times over.
MAX_BODY_BYTES = 256 * 1024
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Guard:
    """The server's secrets: login tokens not yet used, and live sessions with their CSRF
    tokens. Kept in memory only, so restarting the server logs everyone out."""

    hosts: frozenset[str]
    origins: frozenset[str]
    _tokens: set[str] = field(default_factory=set)
    _sessions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_address(cls, host: str, port: int) -> Guard:
        """Accept the names this server is reached by: the loopback names, and ``host``."""
        names = {"127.0.0.1", "localhost", host}
        hosts = frozenset(f"{name}:{port}" for name in names)
        return cls(hosts=hosts, origins=frozenset(f"http://{h}" for h in hosts))

    def new_login_token(self) -> str:
        """A token for the address bar, good for one login."""
        token = secrets.token_urlsafe(32)
        self._tokens.add(token)
        return token

    def login(self, token: str) -> str | None:
        """Exchange a login token (once) for a new session id; None if it is not valid."""
        for known in list(self._tokens):
            if hmac.compare_digest(known, token):
                self._tokens.discard(known)
                session = secrets.token_urlsafe(32)
                self._sessions[session] = secrets.token_urlsafe(32)
                return session
        return None

    def csrf_for(self, session: str | None) -> str | None:
        """The CSRF token of a live session."""
        return None if session is None else self._sessions.get(session)


def refusal(status: int, kind: str, message: str, *, as_json: bool) -> tuple[bytes, bytes]:
    """The body and content type of a refusal: typed JSON, or a one-line HTML page."""
    if as_json:
        body = json.dumps({"error": {"type": kind, "message": message}}).encode()
        return body, b"application/json"
    from ._html import esc

    page = f"<!doctype html><meta charset=utf-8><title>MemoryMesh</title><p>{esc(message)}</p>"
    return page.encode(), b"text/html; charset=utf-8"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _cookie(headers: dict[str, str]) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no session, not a crash
        return None
    morsel = jar.get(COOKIE_NAME)
    return None if morsel is None else morsel.value


def wants_json(path: str, headers: dict[str, str]) -> bool:
    """API paths and fetch() calls get JSON errors; page loads get a page."""
    return path.startswith("/api/") or "application/json" in headers.get("accept", "")


class GuardMiddleware:
    """Applies :class:`Guard`'s checks to every HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _hardened(send)
        headers = _headers(scope)
        path: str = scope["path"]
        method: str = scope["method"]
        as_json = wants_json(path, headers)

        async def refuse(status: int, kind: str, message: str) -> None:
            body, content_type = refusal(status, kind, message, as_json=as_json)
            await _respond(send, status, body, [(b"content-type", content_type)])

        if headers.get("host", "") not in self.guard.hosts:
            await refuse(400, "bad_host", "This server answers only to its own address.")
            return
        if method in _UNSAFE:
            origin = headers.get("origin")
            if (origin is not None and origin not in self.guard.origins) or headers.get(
                "sec-fetch-site"
            ) == "cross-site":
                await refuse(403, "cross_origin", "Requests from other sites are refused.")
                return

        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        token = query.pop("token", None)
        if token is not None and method == "GET":
            # Take the token out of the address bar (and out of history and Referer).
            location = [(b"location", (path + ("?" + urlencode(query) if query else "")).encode())]
            session = self.guard.login(token)
            if session is None:
                if self.guard.csrf_for(_cookie(headers)) is not None:
                    # The used link opened again in a browser already logged in: no harm.
                    await _respond(send, 303, b"", location)
                    return
                await refuse(401, "unauthorized", "This login link was already used or is wrong.")
                return
            cookie = (f"{COOKIE_NAME}={session}; HttpOnly; SameSite=Strict; Path=/").encode()
            await _respond(send, 303, b"", [*location, (b"set-cookie", cookie)])
            return

        session = _cookie(headers)
        csrf = self.guard.csrf_for(session)
        if csrf is None:
            await refuse(
                401,
                "unauthorized",
                "Open the address `memorymesh ui` printed (it carries a one-time token).",
            )
            return
        scope.setdefault("state", {})["csrf"] = csrf

        if method not in _UNSAFE:
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is None or not length.isdigit():
            await refuse(411, "length_required", "A Content-Length header is required.")
            return
        if int(length) > MAX_BODY_BYTES:
            await refuse(413, "too_large", f"The request is larger than {MAX_BODY_BYTES} bytes.")
            return
        body = await _read_body(receive, MAX_BODY_BYTES)
        if body is None:
            await refuse(413, "too_large", f"The request is larger than {MAX_BODY_BYTES} bytes.")
            return
        given = headers.get("x-csrf-token") or _form_field(headers, body, "_csrf") or ""
        if not hmac.compare_digest(given.encode(), csrf.encode()):
            await refuse(403, "csrf", "The form expired or came from elsewhere; reload the page.")
            return
        await self.app(scope, _replay(body), send)


#: On every response: our own scripts and styles only, no framing, no Referer to other sites,
#: no caching of pages that show memories. (``same-origin``, not ``no-referrer``: under
#: ``no-referrer`` Chromium sends ``Origin: null`` with our own forms, which the Origin check
#: must refuse.)
_HARDENING = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def _hardened(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *_HARDENING]}
        await send(message)

    return wrapped


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _form_field(headers: dict[str, str], body: bytes, name: str) -> str | None:
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        if key == name:
            return value
    return None


async def _respond(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]]
) -> None:
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": status,
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
