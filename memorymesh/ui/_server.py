"""Serving the dashboard: bind, print the address with its one-time token, open a browser,
run uvicorn until Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import webbrowser
from types import FrameType

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


#: How long a forced stop lets the requests it cut off end on their own before cancelling them.
FORCED_GRACE_SECONDS = 0.5


class DashboardServer(uvicorn.Server):
    """uvicorn's server, ending the dashboard's change streams when it shuts down, and
    closing the mesh even when a second Ctrl-C forces the stop.

    uvicorn stops taking connections, then waits for every response in flight to finish
    before the app's shutdown; a change stream never finishes on its own, so without this
    Ctrl-C would wait until every open tab was closed.

    A second Ctrl-C is uvicorn's "force quit": it stops waiting for responses and skips the
    app's shutdown, which is what closes the mesh. Left open, the SQLite stores' connection
    threads kept the process alive for ever. Here a forced stop drops the connections (a
    request waiting on its client ends), cancels the requests still running after
    :data:`FORCED_GRACE_SECONDS`, then runs the app's shutdown: the mesh closes as on one
    Ctrl-C.
    """

    _loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        forcing = self.should_exit and sig == signal.SIGINT and not self.force_exit
        super().handle_exit(sig, frame)
        if forcing and self.force_exit and self._loop is not None:
            # A signal handler: the dropping is done by the loop, as soon as it wakes.
            self._loop.call_soon_threadsafe(self._drop_connections)

    def _drop_connections(self) -> None:
        # Also what lets uvicorn's shutdown end on Python 3.12+, whose Server.wait_closed()
        # waits for every connection to close.
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if isinstance(transport, asyncio.BaseTransport):
                transport.close()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(getattr(self.config.app, "state", None), "ui", None)
        if isinstance(state, UiState):
            state.end_streams()
        await super().shutdown(sockets=sockets)
        if self.force_exit:
            await self._forced_shutdown()

    async def _forced_shutdown(self) -> None:
        self._drop_connections()
        running = set(self.server_state.tasks)
        if running:
            _, left = await asyncio.wait(running, timeout=FORCED_GRACE_SECONDS)
            for task in left:
                task.cancel()
            if left:  # bounded too: a task that ignores its cancelling does not hold us
                await asyncio.wait(left, timeout=FORCED_GRACE_SECONDS)
        # The app's shutdown, unless uvicorn ran it before the second Ctrl-C came.
        done = getattr(self.lifespan, "shutdown_event", None)
        if not (isinstance(done, asyncio.Event) and done.is_set()):
            await self.lifespan.shutdown()


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
