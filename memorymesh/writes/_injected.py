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
    "neutralise_markers",
    "restore_markers",
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


# Anything a model could read as one of our markers: any case, spacing, `-`/`_` between the
# words, and the full-width and small `<` look-alikes. Each `\s*` is followed by a character
# it cannot match, so the pattern never backtracks over a run of spaces (linear time).
_MARKER_LIKE = re.compile(
    r"[<\uff1c\ufe64](?=\s*(?:/\s*)?memory[\s_-]*mesh[\s_-]*context"
    r"|\s*!\s*-\s*-\s*memory[\s_-]*mesh\s*:)",
    re.IGNORECASE,
)
_NEUTRALISED = re.compile(
    r"&lt;(?=\s*(?:/\s*)?memory[\s_-]*mesh[\s_-]*context|\s*!\s*-\s*-\s*memory[\s_-]*mesh\s*:)",
    re.IGNORECASE,
)


def neutralise_markers(text: str) -> str:
    """``text`` with every marker look-alike made inert (its ``<`` written ``&lt;``).

    Memory text is data: a memory holding ``</memorymesh-context>`` (or ``<!-- memorymesh:end
    -->`` in an instruction file) must not close the block it is shown in, which would put
    the rest of it, an injected "SYSTEM:" line say, outside the data block.
    """
    return _MARKER_LIKE.sub("&lt;", text)


def restore_markers(text: str) -> str:
    """The inverse of :func:`neutralise_markers`, for text read back from a synced file."""
    return _NEUTRALISED.sub("<", text)


def mark_injected(text: str, *, label: str | None = None) -> str:
    """Wrap ``text`` in the context marker (``label`` says what it is, e.g. ``session-start``).

    Marker look-alikes inside ``text`` are neutralised first (:func:`neutralise_markers`), so
    the block always ends where MemoryMesh closed it.
    """
    opening = CONTEXT_OPEN if label is None else f'<memorymesh-context source="{label}">'
    return f"{opening}\n{neutralise_markers(text)}\n{CONTEXT_CLOSE}"


def contains_injected(text: str) -> bool:
    """True if ``text`` holds any block MemoryMesh injected."""
    return _BLOCKS.search(text) is not None


def strip_injected(text: str) -> str:
    """``text`` without the blocks MemoryMesh injected (whitespace at the seams tidied)."""
    if not contains_injected(text):
        return text
    return re.sub(r"\n{3,}", "\n\n", _BLOCKS.sub("", text)).strip()
