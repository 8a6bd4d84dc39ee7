"""A plain stored row for tests that write through a store directly, below the mesh."""

from __future__ import annotations

from memorymesh.stores.base import MemoryRow


def plain_row(memory_id: str, text: str, *, scope: str = "project") -> MemoryRow:
    """A row as a simple ``remember`` stores it: context, importance 0.5, no metadata, no
    redactions, written at t=1, with the id as its content hash."""
    return MemoryRow(
        id=memory_id,
        text=text,
        content_hash=memory_id,
        category="context",
        importance=0.5,
        scope=scope,
        pinned=False,
        metadata="{}",
        session_id=None,
        source="api",
        agent=None,
        redactions="[]",
        created_at=1.0,
        updated_at=1.0,
        event_time=None,
        expires_at=None,
    )
