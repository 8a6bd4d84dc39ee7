"""The dashboard's Starlette application: routes, static files, the door, the error pages.

:func:`create_app` is the whole server minus the socket; ``memorymesh ui`` (``_server.py``)
and the tests run it under uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from .._errors import (
    ClosedError,
    InvalidInputError,
    MemoryMeshError,
    MemoryNotFoundError,
    TooLargeError,
)
from .._mesh import AsyncMemoryMesh
from . import _insights, _live, _memories, _pages, _review
from ._html import esc, page
from ._security import Guard, GuardMiddleware, refusal, wants_json
from ._state import UiState

__all__ = ["create_app"]


def _status(exc: MemoryMeshError) -> int:
    if isinstance(exc, MemoryNotFoundError):
        return 404
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, InvalidInputError):
        return 400
    if isinstance(exc, ClosedError):
        return 503
    return 500


async def _mesh_error(request: Request, exc: Exception) -> Response:
    """A MemoryMesh error as a typed 4xx/5xx: JSON for API calls, a message on the page."""
    assert isinstance(exc, MemoryMeshError)
    status = _status(exc)
    if wants_json(request.url.path, {k.lower(): v for k, v in request.headers.items()}):
        body, kind = refusal(status, type(exc).__name__, str(exc), as_json=True)
        return Response(body, status_code=status, media_type=kind.decode())
    return page(request, "Error", _back(request), status=status, flash=esc(exc))


def _back(request: Request) -> str:
    """A link back to the page the failed form was on (the Referer is same-origin only)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.headers.get("host") or not referer.path.startswith("/"):
        return '<p><a href="/">Back to the memories</a></p>'
    back = referer.path + (f"?{referer.query}" if referer.query else "")
    return f'<p><a href="{esc(back)}">Back</a></p>'


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "No such page." if exc.status_code == 404 else str(exc.detail)
    as_json = wants_json(request.url.path, {k.lower(): v for k, v in request.headers.items()})
    body, kind = refusal(exc.status_code, "http_error", message, as_json=as_json)
    return Response(body, status_code=exc.status_code, media_type=kind.decode().split(";")[0])


def create_app(
    mesh: AsyncMemoryMesh,
    guard: Guard,
    *,
    on_ready: Callable[[], Awaitable[None]] | None = None,
    poll_seconds: float = _live.POLL_SECONDS,
) -> Starlette:
    """The dashboard over ``mesh`` (opened when the server starts, closed when it stops),
    behind ``guard``'s checks. ``on_ready`` runs once the mesh is open and the server is
    about to take requests (``memorymesh ui`` prints the address then). ``poll_seconds``:
    how often a page polls for changes when it has no change stream.

    Serve it with :class:`~memorymesh.ui._server.DashboardServer` (or end the streams with
    ``app.state.ui.end_streams()`` before the server waits for open responses): uvicorn's
    own server waits for every open change stream before it stops.

    Raises:
        InvalidInputError: ``poll_seconds`` is not a positive number.
    """
    if not poll_seconds > 0:
        raise InvalidInputError(f"poll_seconds must be positive, not {poll_seconds!r}")
    state = UiState(mesh=mesh, guard=guard, poll_seconds=poll_seconds)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with mesh:
            if on_ready is not None:
                await on_ready()
            try:
                yield
            finally:
                state.end_streams()

    static = StaticFiles(directory=str(files(__package__).joinpath("static")))
    app = Starlette(
        routes=[
            *_memories.routes,
            *_review.routes,
            *_pages.routes,
            *_insights.routes,
            *_live.routes,
            Mount("/static", app=static, name="static"),
        ],
        middleware=[Middleware(GuardMiddleware, guard=guard)],
        exception_handlers={MemoryMeshError: _mesh_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.ui = state
    return app
