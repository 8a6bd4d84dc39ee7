"""Running the Claude Code hook's capture: open the stores of the event's project and queue.

The ``memorymesh-hook`` entry point (``memorymesh_hook``) and ``memorymesh hook run`` call
these; what is captured and how it is queued lives in :mod:`memorymesh.context._hooks`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import anyio

from .._errors import MemoryMeshError
from .._mesh import AsyncMemoryMesh
from ..context._hooks import extract, project_db_for, queue_captures

__all__ = ["capture", "capture_async"]


async def capture_async(
    event_name: str,
    event: dict[str, Any],
    texts: Sequence[tuple[str, str]],
    *,
    path: str | None = None,
    global_path: str | None = None,
) -> list[str]:
    """Extract, gate and queue the memories in one hook event; return the queued ids."""
    candidates = extract(texts)
    if not candidates:
        return []  # most events: nothing worth remembering, and no store is opened
    async with AsyncMemoryMesh(
        path if path is not None else project_db_for(event),
        global_path=global_path,
        source="claude-code-hook",
        agent="claude-code",
    ) as mesh:
        return await queue_captures(mesh, event_name, event, candidates)


def capture(event_name: str, event: dict[str, Any], texts: Sequence[tuple[str, str]]) -> int:
    """Run :func:`capture_async` for the ``memorymesh-hook`` command; returns its exit code.

    A hook must never break the user's session: a store error is reported on standard error
    and the hook still exits 0 (Claude Code treats other codes as failures to show).
    """
    try:
        anyio.run(capture_async, event_name, event, texts)
    except MemoryMeshError as exc:
        print(f"memorymesh-hook: nothing stored: {exc}", file=sys.stderr)
    return 0
