"""Live updates: the stores' change feed, polled by app.js.

Every write, by this server or any other process (the MCP server, the hook, a script), moves
a store's change mark. ``/api/changes`` returns the marks; the page compares them with the
ones it loaded with and, when they moved, fetches itself again and swaps its content in.
Polling (every two seconds, paused while the tab is hidden) rather than server-sent events:
it needs no connection held open per tab and survives the server restarting.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._state import ui

__all__ = ["routes"]


async def changes(request: Request) -> Response:
    mesh = ui(request).mesh
    await mesh.open()
    marks = [await store.change_mark() for store in mesh.stores]
    return JSONResponse({"mark": ".".join(str(m) for m in marks)})


routes = [Route("/api/changes", changes)]
