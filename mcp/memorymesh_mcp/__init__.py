"""The MemoryMesh MCP server: one local memory shared by every AI tool you use.

Run it with ``memorymesh mcp`` (or ``memorymesh-mcp``); set a client up with
``memorymesh setup claude|claude-desktop|cursor|gemini|codex``. See ``docs/mcp.md``.

The package imports nothing heavy at import time: the MCP SDK loads when a server is built,
and MemoryMesh's core on the server's first call that needs it, so ``memorymesh`` commands
stay fast and clients get a quick ``initialize`` and first ``tools/list``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server (the ``memorymesh-mcp`` console script)."""
    from ._main import main as run

    return run(argv)
