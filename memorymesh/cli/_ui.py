"""``memorymesh ui``: serve the web dashboard (``memorymesh/ui/``) on this machine.

Starlette and uvicorn are imported only when the command runs, so the rest of the command
line starts as fast without them, and a missing ``ui`` extra is one clear line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


async def cmd_ui(args: argparse.Namespace) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        from .._version import install_command

        print(
            f"memorymesh: error: the dashboard needs the ui extra: {install_command('ui')}",
            file=sys.stderr,
        )
        return 2
    from ..ui import serve
    from ._common import open_mesh

    mesh = open_mesh(args, source="ui")
    # Open before serving: a damaged store or an encrypted one without its key is one line
    # and exit 1 here, not a traceback from the server's startup.
    await mesh.open()
    try:
        await serve(mesh, host=args.host, port=args.port, open_browser=not args.no_browser)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        print(
            f"memorymesh: error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    finally:
        await mesh.aclose()
    return 0


def _port(value: str) -> int:
    from ._common import count

    return count(0, 65535)(value)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``ui`` to the ``memorymesh`` command line."""
    text = "Open the web dashboard: search, edit, review and watch your memories."
    p = sub.add_parser("ui", parents=[common], help=text, description=text)
    p.add_argument("--port", type=_port, default=0, help="port to serve on (default: any free)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1; another one is reachable by others)",
    )
    p.add_argument("--no-browser", action="store_true", help="print the address only")
    p.set_defaults(handler=cmd_ui)
