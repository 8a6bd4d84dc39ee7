"""Writes ``_listing.py``: what ``tools/list`` publishes once the server's tools are built.

Run it after changing a tool, then format the file::

    python -m memorymesh_mcp._write_listing && ruff format mcp/memorymesh_mcp/_listing.py

Kept apart from ``_listing.py`` so that the listing the server imports at start-up imports
nothing back from the server.
"""

from __future__ import annotations

import pprint
from pathlib import Path

import anyio

from ._server import built_listing

_LISTING_HEAD = '''"""What ``tools/list`` publishes, as the SDK builds it from the server's tools.

The server answers its first ``tools/list`` from here, without building eight pydantic models
and their JSON schemas first (see ``_server._LazyTools``). Generated, never edited by hand:
``tests/test_mcp.py`` checks it equals what building the tools publishes. After changing a
tool, write it again and format it::

    python -m memorymesh_mcp._write_listing && ruff format mcp/memorymesh_mcp/_listing.py
"""

from __future__ import annotations

from typing import Any

__all__ = ["TOOL_LISTING"]

TOOL_LISTING: list[dict[str, Any]] = '''


def write_listing() -> None:
    """Write ``_listing.py`` from the tools as they are built now."""
    listing = anyio.run(built_listing)
    body = pprint.pformat(listing, width=80, sort_dicts=False)
    target = Path(__file__).with_name("_listing.py")
    target.write_text(_LISTING_HEAD + body + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_listing()
