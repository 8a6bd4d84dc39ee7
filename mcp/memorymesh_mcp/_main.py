"""Start the server: stdio by default, streamable HTTP with ``--http``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import partial

import anyio

__all__ = ["add_arguments", "main", "serve"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The server's own options (shared by ``memorymesh mcp`` and ``memorymesh-mcp``)."""
    parser.add_argument(
        "--http", action="store_true", help="serve streamable HTTP instead of stdio"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="HTTP address to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")


async def serve(*, db: str | None, global_db: str | None, http: bool, host: str, port: int) -> int:
    """Build the server and run it until the client disconnects."""
    try:
        from ._server import build_server
    except ImportError as exc:  # the SDK is an optional extra
        print(
            f"memorymesh: error: the MCP server needs the 'mcp' extra ({exc}); "
            "install it with: pip install 'memorymesh[mcp]'",
            file=sys.stderr,
        )
        return 1
    server = build_server(db, global_db)
    if http:
        # Served at http://HOST:PORT/mcp; loopback only unless the user binds wider.
        await server.run_streamable_http_async(host=host, port=port)
    else:
        await server.run_stdio_async()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``memorymesh-mcp [--http --host H --port N] [--db PATH] [--global-db PATH]``."""
    parser = argparse.ArgumentParser(
        prog="memorymesh-mcp", description="The MemoryMesh MCP server (stdio by default)."
    )
    add_arguments(parser)
    parser.add_argument("--db", metavar="PATH", help="project store file")
    parser.add_argument("--global-db", metavar="PATH", help="global store file")
    args = parser.parse_args(argv)
    try:
        return anyio.run(
            partial(
                serve,
                db=args.db,
                global_db=args.global_db,
                http=args.http,
                host=args.host,
                port=args.port,
            )
        )
    except KeyboardInterrupt:
        return 130
