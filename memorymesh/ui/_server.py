"""Serving the dashboard: bind, print the address with its one-time token, open a browser,
run uvicorn until Ctrl-C."""

from __future__ import annotations

import socket
import sys
import webbrowser

import anyio
import uvicorn

from .._errors import InvalidInputError
from .._mesh import AsyncMemoryMesh
from ._app import create_app
from ._security import Guard
from ._state import UiState

__all__ = ["LOOPBACK", "DashboardServer", "bind", "serve"]

LOOPBACK = "127.0.0.1"
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (named to be refused)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free one). Bound before uvicorn starts, so the printed
    address is right and connections made at once wait in the backlog instead of failing."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class DashboardServer(uvicorn.Server):
    """uvicorn's server, ending the dashboard's change streams when it shuts down.

    uvicorn stops taking connections, then waits for every response in flight to finish
    before the app's shutdown; a change stream never finishes on its own, so without this
    Ctrl-C would wait until every open tab was closed.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(getattr(self.config.app, "state", None), "ui", None)
        if isinstance(state, UiState):
            state.end_streams()
        await super().shutdown(sockets=sockets)


async def serve(mesh: AsyncMemoryMesh, *, host: str, port: int, open_browser: bool) -> None:
    """Run the dashboard over ``mesh`` until interrupted.

    Raises:
        InvalidInputError: ``host`` is a wildcard (0.0.0.0, ::): the Host check needs the
            address people will type.
    """
    if host in _WILDCARDS:
        raise InvalidInputError(
            f"--host {host} listens everywhere, but the dashboard must know the address "
            "people will open to check the Host header: give that address (e.g. the "
            "machine's LAN IP)"
        )
    if host != LOOPBACK:
        print(
            f"memorymesh: warning: serving on {host}: anyone who can reach it and learns the "
            "address can read and change your memories",
            file=sys.stderr,
        )
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    guard = Guard.for_address(host, bound)
    name = "localhost" if host == LOOPBACK else host

    async def ready() -> None:
        # Printed once uvicorn owns Ctrl-C and the mesh is open: whoever reads the address
        # (a person, a script) can use it at once, and stop the server cleanly at once.
        url = f"http://{name}:{bound}/?token={guard.new_login_token()}"
        print(f"MemoryMesh dashboard: {url}", flush=True)
        print("(the link works once; press Ctrl-C to stop)", flush=True)
        if open_browser:
            await anyio.to_thread.run_sync(webbrowser.open, url)

    config = uvicorn.Config(
        create_app(mesh, guard, on_ready=ready),
        log_level="warning",
        lifespan="on",
        server_header=False,
    )
    # In this event loop: uvicorn turns Ctrl-C into a graceful shutdown (the mesh closes).
    await DashboardServer(config).serve(sockets=[sock])
