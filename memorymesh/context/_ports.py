"""What the context layer needs from the mesh, as a protocol, so it never imports the facade.

Session start, instruction sync, quality review, compaction and the 4.x import are built from
the core operations (list, recall, remember_many, update). They take any object with these
methods, which :class:`~memorymesh.AsyncMemoryMesh` has; the facade hands itself in. Keeping the
dependency pointing downwards leaves no import circle between the facade and this layer.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from .._models import Memory, NewMemory, RecallResults
from ..stores.base import Store
from ..writes._pipeline import Prepared

__all__ = ["MeshServices"]


class MeshServices(Protocol):
    """The slice of ``AsyncMemoryMesh`` the context functions use (see there for contracts)."""

    max_text_chars: int

    @property
    def stores(self) -> tuple[Store, ...]: ...

    @property
    def project_path(self) -> str | None: ...

    async def open(self) -> Any: ...

    async def list(
        self,
        *,
        category: Any = ...,
        scope: Any = ...,
        session_id: Any = ...,
        order: Any = ...,
        limit: int = ...,
    ) -> builtins.list[Memory]: ...

    async def count(self) -> int: ...

    async def recall(self, query: str, *, k: int = ...) -> RecallResults: ...

    async def get(self, memory_id: str) -> Memory: ...

    async def resolve_id(self, prefix: str) -> str: ...

    async def update(self, memory_id: str, *, text: Any = ..., category: Any = ...) -> Memory: ...

    async def remember_many(
        self, items: Iterable[str | Mapping[str, Any] | NewMemory], *, review: bool = ...
    ) -> builtins.list[Memory]: ...

    # The write path's preparation of one item (validation, guards, classification) without
    # writing it: the 4.x import writes the prepared rows itself, with their original ids.
    def _prepare(self, item: NewMemory, now: float) -> Prepared: ...
