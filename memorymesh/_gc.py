"""The cyclic garbage collector in a process that runs one command and exits.

A one-shot command (``memorymesh remember "..."``, the hook's capture of a commit message)
imports a few hundred modules (pydantic and the models, asyncio, the facade) and then works
for a few milliseconds. The cyclic collector finds nothing to free there, and costs about a
fifth of such a process: the collections it runs while the imports allocate (each full one
walks every object made so far) and the full collection the interpreter runs as it exits,
which walks all of them once more. So a bounded command runs with the collector paused
(what it allocates is freed by reference counting; the few cycles it leaves die with the
process), and a process about to exit freezes what is alive first, so the exit's collection
skips it. A server (the MCP server a client spawns for a session) pays the same collections
while it imports its SDK and starts: it starts with the collector paused, then freezes what
starting made (it lives as long as the server) and runs with the collector on. Standard
library only: the hook imports it before anything else of MemoryMesh.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["OneShot", "one_shot", "starting"]


class OneShot:
    """The block :func:`one_shot` runs: it can take the pause back when the block's work
    turns out unbounded after all (a command line says so only once it is parsed)."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled

    def resume(self) -> None:
        """Put the collector back as it was before the block, for the rest of the block."""
        if self._enabled:
            gc.enable()


@contextmanager
def one_shot(*, bounded: bool, exiting: bool) -> Iterator[OneShot]:
    """Run a command's block with the collector as a one-shot process wants it.

    Args:
        bounded: The block does a bounded piece of work (one write, one page of reads): the
            collector is paused for it and restored as it was afterwards. The pause has to
            start with the block's imports and stay unbroken: a collector turned on again
            runs a collection at the next allocation for everything allocated while paused.
        exiting: The process ends when the block does (a command line's entry point, not a
            caller in a longer-lived process): what is alive is then frozen (``gc.freeze``)
            so the interpreter's final collection does not walk it.
    """
    enabled = gc.isenabled()
    if bounded:
        gc.disable()
    try:
        yield OneShot(enabled)
    finally:
        if exiting:
            gc.freeze()
        if enabled:
            gc.enable()


@contextmanager
def starting() -> Iterator[None]:
    """Start a long-lived process (a server) in the block: its imports and set-up run with the
    collector paused; what exists afterwards is frozen, so the collections of the process's
    lifetime never walk it, and the collector is restored as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
