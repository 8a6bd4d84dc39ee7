"""Marking the context MemoryMesh injects, so it is never stored back as a new memory.

Every block of text MemoryMesh hands to a model (session-start context, recalled memories in a
system message, synced sections of instruction files) is wrapped in a marker. Every write path
strips marked blocks before storing, so an agent that echoes its context — or an adapter that
saves the whole conversation, system message included — cannot fill the store with copies of
what it already holds.
"""

from __future__ import annotations

import re

__all__ = [
    "CONTEXT_CLOSE",
    "CONTEXT_OPEN",
    "SYNC_END",
    "SYNC_START",
    "contains_injected",
    "mark_injected",
    "strip_injected",
]

CONTEXT_OPEN = "<memorymesh-context>"
CONTEXT_CLOSE = "</memorymesh-context>"
#: Instruction files (CLAUDE.md, AGENTS.md, ...) use HTML comments, invisible when rendered.
SYNC_START = "<!-- memorymesh:start -->"
SYNC_END = "<!-- memorymesh:end -->"

_BLOCKS = re.compile(
    # A block runs to its closing marker, or to the end when a model truncated it.
    r"<memorymesh-context\b[^>]*>.*?(?:</memorymesh-context>|\Z)"
    r"|<!--\s*memorymesh:start\s*-->.*?(?:<!--\s*memorymesh:end\s*-->|\Z)",
    re.DOTALL | re.IGNORECASE,
)


def mark_injected(text: str, *, label: str | None = None) -> str:
    """Wrap ``text`` in the context marker (``label`` says what it is, e.g. ``session-start``)."""
    opening = CONTEXT_OPEN if label is None else f'<memorymesh-context source="{label}">'
    return f"{opening}\n{text}\n{CONTEXT_CLOSE}"


def contains_injected(text: str) -> bool:
    """True if ``text`` holds any block MemoryMesh injected."""
    return _BLOCKS.search(text) is not None


def strip_injected(text: str) -> str:
    """``text`` without the blocks MemoryMesh injected (whitespace at the seams tidied)."""
    if not contains_injected(text):
        return text
    return re.sub(r"\n{3,}", "\n\n", _BLOCKS.sub("", text)).strip()
