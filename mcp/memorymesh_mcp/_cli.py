"""``memorymesh mcp`` and ``memorymesh setup``: registered in ``memorymesh.cli.EXTENSIONS``.

Nothing here imports the MCP SDK: the server module loads only when ``memorymesh mcp`` runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from . import _setup
from ._main import add_arguments, serve_args

__all__ = ["register"]


async def cmd_mcp(args: argparse.Namespace) -> int:
    return await serve_args(args)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    help_text = "Run the MCP server for AI tools (stdio by default, --http for HTTP)."
    p = subparsers.add_parser("mcp", parents=[common], help=help_text, description=help_text)
    add_arguments(p)
    p.set_defaults(handler=cmd_mcp)
    _setup.register(subparsers, common)
