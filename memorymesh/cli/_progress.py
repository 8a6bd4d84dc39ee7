"""A dependency-free progress bar for long CLI operations (drawn only on a terminal)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Self, TextIO

__all__ = ["Progress"]


class Progress:
    """``with Progress(total, "Importing") as bar: bar.advance(n)`` — silent when not a TTY."""

    def __init__(
        self, total: int, label: str, *, stream: TextIO | None = None, width: int = 30
    ) -> None:
        self.total = max(0, total)
        self.label = label
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._width = width
        self._enabled = self._stream.isatty()
        self._started = time.monotonic()
        self._last_draw = 0.0

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n) if self.total else self.done + n
        now = time.monotonic()
        # Redraw at most ~20 times a second: drawing is slower than the work it reports.
        if self._enabled and (now - self._last_draw > 0.05 or self.done == self.total):
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        fraction = self.done / self.total if self.total else 1.0
        filled = int(self._width * fraction)
        rate = self.done / max(now - self._started, 1e-9)
        bar = "#" * filled + "-" * (self._width - filled)
        self._stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} ({rate:,.0f}/s)")
        self._stream.flush()

    def __enter__(self) -> Self:
        if self._enabled:
            self._draw(time.monotonic())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()
