"""Human output that a memory's text cannot take over: control characters are shown, not obeyed.

Memory text comes from whoever could write a memory (a model, a synced file, another tool).
Printed raw, an ANSI escape can recolour or clear the terminal, rewrite earlier lines or set
the window title, and a bidi control (U+202E ...) can make text read differently from what it
is. On the CLI's human output every such character is replaced with its visible escape
(``\\x1b``, ``\\u202e``); tabs and newlines stay. ``--json`` output is left to JSON's own
escaping, for programs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["NEUTRALISE", "neutralise", "neutralised_stdout"]

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = (*(c for c in range(0x20) if c not in (0x09, 0x0A)), *range(0x7F, 0xA0))

#: str.translate table: each control or bidi character to its visible escape.
NEUTRALISE: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in _CONTROLS},
    **{c: f"\\u{c:04x}" for c in _BIDI},
}


def neutralise(text: str) -> str:
    """``text`` with terminal escapes and bidi controls made visible and inert."""
    return text.translate(NEUTRALISE)


class _Neutralising:
    """A text stream writing through ``neutralise`` (everything else delegated)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(neutralise(text))
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextmanager
def neutralised_stdout() -> Iterator[None]:
    """Route ``sys.stdout`` through :func:`neutralise` for the duration."""
    original = sys.stdout
    sys.stdout = _Neutralising(original)
    try:
        yield
    finally:
        sys.stdout = original
