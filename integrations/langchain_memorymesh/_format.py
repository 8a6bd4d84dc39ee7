"""How recalled memories are shown to a model: one marked block, so it is never stored back."""

from __future__ import annotations

from collections.abc import Sequence

from memorymesh import RecallResult, mark_injected

__all__ = ["format_memories"]


def format_memories(hits: Sequence[RecallResult], *, heading: str = "Relevant memories") -> str:
    """A marked block listing ``hits`` with their ids and recording dates, or ``""``."""
    if not hits:
        return ""
    lines = [f"{heading}:"]
    for hit in hits:
        m = hit.memory
        when = (m.event_time or m.created_at).date().isoformat()
        lines.append(f"- [{m.id[:12]}] ({m.category.value}, {when}) {m.text}")
    return mark_injected("\n".join(lines), label="recall")
