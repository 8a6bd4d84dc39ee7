"""Live updates: the stores' change feed, pushed to app.js as server-sent events.

Every write, by this server or any other process (the MCP server, the hook, a script, another
worker on the same PostgreSQL database), moves a store's change mark. ``/api/changes`` returns
the marks; ``/api/changes/stream`` sends them as an event stream: the current marks at once,
then the new marks each time they move. The page compares them with the ones it loaded with
and, when they moved, fetches itself again and swaps its content in.

How the stream learns of a write:

* a PostgreSQL store's listener (LISTEN/NOTIFY, ``stores/postgres/_notify.py``) wakes it as the
  write commits, and the marks are read then (and every :data:`RECHECK_SECONDS` regardless,
  as the listener's silence is trusted no longer elsewhere);
* a store without one (SQLite, or PostgreSQL while its listener reconnects) is asked for its
  change mark every :data:`CHECK_SECONDS`, one indexed read, here on the server.

The page falls back to polling ``/api/changes`` (every ``data-poll-ms``, paused while the tab
is hidden) when the browser has no EventSource or the stream fails or ends; polling survives
the server restarting. A stream ends when its client goes away or the server shuts down
(:class:`~memorymesh.ui._server.DashboardServer` ends them first: uvicorn waits for every open
response before it stops).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Protocol, runtime_checkable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .._errors import MemoryMeshError
from .._mesh import AsyncMemoryMesh
from ._state import ui

__all__ = ["CHECK_SECONDS", "POLL_SECONDS", "RECHECK_SECONDS", "marked", "routes"]

#: How often the page polls ``/api/changes`` when it has no stream (``create_app`` can change it).
POLL_SECONDS = 2.0
#: How often a stream asks a store without a listener (SQLite) for its change mark.
CHECK_SECONDS = 0.25
#: Longest a stream waits on listeners before reading the marks anyway.
RECHECK_SECONDS = 10.0


@runtime_checkable
class _Notifying(Protocol):
    """A store that hears of writes as they commit (``PostgresStore``)."""

    @property
    def changes_heard(self) -> int | None: ...

    async def wait_for_change(self, within: float, *, after: int | None = None) -> bool: ...


async def _marks(mesh: AsyncMemoryMesh) -> str:
    return ".".join([str(await store.change_mark()) for store in mesh.stores])


def marked(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Read the marks before the page reads what it shows, and put them in it
    (``data-mark``): a write made between rendering and the stream's first event then
    refreshes the page instead of passing for the state it shows."""

    async def marked_handler(request: Request) -> Response:
        mesh = ui(request).mesh
        await mesh.open()
        request.state.live_mark = await _marks(mesh)
        return await handler(request)

    return marked_handler


async def changes(request: Request) -> Response:
    mesh = ui(request).mesh
    await mesh.open()
    return JSONResponse({"mark": await _marks(mesh)})


def _heard(stores: Sequence[object]) -> list[int | None]:
    # Taken before the marks are read: a write notified while they are read is not missed.
    return [store.changes_heard if isinstance(store, _Notifying) else None for store in stores]


async def _next_change(stores: Sequence[object], heard: list[int | None]) -> None:
    """Return when a store may have changed: a listener heard a write, or it is time to
    read the marks again."""
    waiting = [
        (store, after)
        for store, after in zip(stores, heard, strict=True)
        if after is not None and isinstance(store, _Notifying)
    ]
    within = CHECK_SECONDS if len(waiting) < len(stores) else RECHECK_SECONDS
    if not waiting:
        await anyio.sleep(within)
        return
    async with anyio.create_task_group() as tg:

        async def wait(store: _Notifying, after: int) -> None:
            await store.wait_for_change(within, after=after)
            tg.cancel_scope.cancel()

        for store, after in waiting:
            tg.start_soon(wait, store, after)


class _Stream:
    """``/api/changes/stream``: a plain ASGI app, as it answers with a body that never ends
    on its own and must stop when the client leaves or the server shuts down."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = ui(Request(scope))
        mesh = state.mesh
        await mesh.open()  # a failure here is a typed error response, as on any page
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"x-accel-buffering", b"no"),  # a proxy must pass events on at once
                ],
            }
        )
        if scope["method"] == "HEAD":  # headers only: nothing to wait for
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        with state.stream_scope(), suppress(MemoryMeshError, OSError):
            # A store error (the server went away) ends the stream: the page polls then.
            async with anyio.create_task_group() as tg:
                tg.start_soon(_until_disconnect, receive, tg.cancel_scope)
                await _send_changes(mesh, send)
        with suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _until_disconnect(receive: Receive, done: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    done.cancel()


async def _send_changes(mesh: AsyncMemoryMesh, send: Send) -> None:
    stores = mesh.stores
    sent: str | None = None
    while True:
        heard = _heard(stores)
        mark = await _marks(mesh)
        if mark != sent:
            event = f"data: {json.dumps({'mark': mark})}\n\n".encode()
            await send({"type": "http.response.body", "body": event, "more_body": True})
            sent = mark
        await _next_change(stores, heard)


routes = [
    Route("/api/changes", changes),
    Route("/api/changes/stream", _Stream(), methods=["GET"]),
]
