"""What every page shares: the mesh, the door's secrets, and the undo buffer.

One :class:`UiState` per server, on ``app.state.ui``. Pages reach it through :func:`ui`.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio
from starlette.requests import Request

from .._mesh import AsyncMemoryMesh
from .._models import Memory
from ..writes._privacy import PrivacyGuard, redact
from ._security import Guard

__all__ = ["UNDO_KEPT", "UiState", "ui"]

#: How many forgotten memories can still be brought back with "Undo" (this server's life).
UNDO_KEPT = 100


@dataclass
class UiState:
    mesh: AsyncMemoryMesh
    guard: Guard
    #: How often a page without a change stream polls ``/api/changes`` (``data-poll-ms``).
    poll_seconds: float = 2.0
    #: Set when the server shuts down: open change streams end, new ones end at once.
    closing: bool = False
    _undo: OrderedDict[str, Memory] = field(default_factory=OrderedDict)
    _streams: set[anyio.CancelScope] = field(default_factory=set)

    @contextmanager
    def stream_scope(self) -> Iterator[anyio.CancelScope]:
        """A scope for one change stream's life, cancelled by :meth:`end_streams`."""
        scope = anyio.CancelScope()
        if self.closing:
            scope.cancel()
        self._streams.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._streams.discard(scope)

    @property
    def open_streams(self) -> int:
        """How many change streams are being served."""
        return len(self._streams)

    def end_streams(self) -> None:
        """End every change stream, now and from now on (the server is stopping)."""
        self.closing = True
        for scope in list(self._streams):
            scope.cancel()

    def shown(self, memory: Memory) -> Memory:
        """``memory`` as a page may show it: secrets stored before the privacy guard existed
        (or by a process with ``privacy="allow"``) are redacted on the way out, as recall
        redacts them, unless this mesh allows them."""
        update = PrivacyGuard(self.mesh.privacy).scrub_memory(memory)
        return memory.model_copy(update=update) if update else memory

    def shown_text(self, text: str) -> str:
        """Text built from memories (a session context) with any secret redacted, as
        :meth:`shown` redacts a memory."""
        return text if self.mesh.privacy == "allow" else redact(text)[0]

    def keep_for_undo(self, memory: Memory) -> str:
        """Remember a forgotten memory, whole, under a new random key."""
        key = secrets.token_urlsafe(12)
        self._undo[key] = memory
        while len(self._undo) > UNDO_KEPT:
            self._undo.popitem(last=False)
        return key

    def peek_undo(self, key: str) -> Memory | None:
        return self._undo.get(key)

    def take_undo(self, key: str) -> Memory | None:
        return self._undo.pop(key, None)


def ui(request: Request) -> UiState:
    state: UiState = request.app.state.ui
    return state
