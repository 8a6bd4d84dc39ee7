"""Start the server: stdio by default, streamable HTTP with ``--http``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import anyio

from memorymesh import MemoryMeshError

__all__ = ["add_arguments", "install_hint", "main", "serve"]


def install_hint() -> str:
    """How to add the ``mcp`` extra to this very environment (whatever installed MemoryMesh)."""
    return (
        f"install it into this environment with: {sys.executable} -m pip install "
        "'mcp>=2.0,<3' 'tomlkit>=0.12' (the packages of MemoryMesh's [mcp] extra)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The server's own options (shared by ``memorymesh mcp`` and ``memorymesh-mcp``)."""
    parser.add_argument(
        "--http", action="store_true", help="serve streamable HTTP instead of stdio"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="HTTP address to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=_port, default=8765, help="HTTP port (default 8765)")
    parser.add_argument(
        "--allow-root",
        action="append",
        default=[],
        metavar="FOLDER",
        help="a folder whose projects a client's MCP roots may open (besides the one the "
        "server starts for); repeat for several",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="with --http: another host name clients reach the server by (Host/Origin check); "
        "repeat for several",
    )


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, not {value!r}")
    return port


def _ours(group: BaseExceptionGroup[BaseException]) -> MemoryMeshError | None:
    """The first MemoryMesh error in a (nested) exception group, if any."""
    for exc in group.exceptions:
        found = _ours(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if isinstance(found, MemoryMeshError):
            return found
    return None


async def serve(
    *,
    db: str | None,
    global_db: str | None,
    http: bool,
    host: str,
    port: int,
    allow_hosts: Sequence[str] = (),
    allow_roots: Sequence[str] = (),
) -> int:
    """Build the server and run it until the client disconnects (the process's server: what
    starting it made is frozen for the collector, see ``memorymesh._gc.starting``)."""
    from memorymesh._gc import starting

    # The SDK's imports and building the server: a third of the CPU before the first answer
    # was the cyclic collector walking them.
    with starting():
        try:
            from ._server import build_server
        except ImportError as exc:  # the SDK is an optional extra
            print(
                f"memorymesh: error: the MCP server needs the 'mcp' extra ({exc}); "
                f"{install_hint()}",
                file=sys.stderr,
            )
            return 1
        server = build_server(db, global_db, allowed_roots=allow_roots)
    try:
        if http:
            await _serve_http(server, host=host, port=port, allow_hosts=allow_hosts)
        else:
            await _serve_stdio(server)
    except BaseExceptionGroup as group:
        # The SDK opens the stores inside a task group; a bad store path must still read as
        # one `memorymesh: error: ...` line, not a tree of tracebacks.
        ours = _ours(group)
        if ours is None:
            raise
        raise ours from None
    return 0


async def _serve_stdio(server: Any) -> None:
    """Serve stdio, answering malformed lines with JSON-RPC errors (see ``_stdio``)."""
    from mcp.server.stdio import stdio_server

    from ._stdio import checked_stdio

    # The SDK's run_stdio_async with our checked streams; the low-level server is the one
    # MCPServer wraps (it has no public accessor).
    lowlevel = server._lowlevel_server
    async with checked_stdio() as (stdin, stdout), stdio_server(stdin, stdout) as (read, write):
        await lowlevel.run(read, write, lowlevel.create_initialization_options())


async def _serve_http(server: Any, *, host: str, port: int, allow_hosts: Sequence[str]) -> None:
    """Serve http://HOST:PORT/mcp behind the token and Host/Origin gate (see ``_http``)."""
    import uvicorn

    from ._http import (
        HttpGate,
        allowed_hosts,
        announce,
        load_or_create_token,
        sdk_settings,
        token_path,
    )

    token = load_or_create_token()
    hosts = allowed_hosts(host, allow_hosts)
    app = server.streamable_http_app(host=host, transport_security=sdk_settings(hosts))
    gate = HttpGate(app, token=token, hosts=hosts)
    shown = f"[{host}]" if ":" in host else host
    announce(f"http://{shown}:{port}/mcp", host, token_path(), token)
    config = uvicorn.Config(gate, host=host, port=port, log_level="warning")
    await uvicorn.Server(config).serve()


async def serve_args(args: argparse.Namespace) -> int:
    """Serve with the options ``add_arguments`` (and ``--db`` / ``--global-db``) parsed: one
    mapping for ``memorymesh-mcp`` and ``memorymesh mcp``."""
    return await serve(
        db=args.db,
        global_db=args.global_db,
        http=args.http,
        host=args.host,
        port=args.port,
        allow_hosts=args.allow_host,
        allow_roots=args.allow_root,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``memorymesh-mcp [--http --host H --port N] [--db PATH] [--global-db PATH]``."""
    parser = argparse.ArgumentParser(
        prog="memorymesh-mcp", description="The MemoryMesh MCP server (stdio by default)."
    )
    add_arguments(parser)
    parser.add_argument(
        "--db", metavar="PATH", help="project store file or server URL (default: $MEMORYMESH_DB)"
    )
    parser.add_argument("--global-db", metavar="PATH", help="global store file")
    args = parser.parse_args(argv)
    if args.db is None:
        from memorymesh._paths import configured_db

        args.db = configured_db()
    try:
        return anyio.run(serve_args, args)
    except MemoryMeshError as exc:
        print(f"memorymesh: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
