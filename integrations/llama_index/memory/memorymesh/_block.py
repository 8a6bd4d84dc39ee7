"""``MemoryMeshMemoryBlock``: long-term memory as a block of LlamaIndex's ``Memory``."""

from __future__ import annotations

import copy
from typing import Any, Self

from anyio.from_thread import BlockingPortal
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.memory.memory import BaseMemoryBlock

from memorymesh import AsyncMemoryMesh, Scope, mark_injected
from memorymesh._adapters import format_memories
from memorymesh._bridge import MeshBridge, adapt_mesh, mesh_by_token, mesh_token
from memorymesh.writes._injected import CONTEXT_CLOSE

from ._messages import DEFAULT_ROLES, recall_query, store_messages

__all__ = ["MemoryMeshMemoryBlock"]

# Memory estimates tokens as characters / 4; truncation uses the same rule of thumb.
_CHARS_PER_TOKEN = 4


class MemoryMeshMemoryBlock(BaseMemoryBlock[str]):
    """Recalls memories relevant to the conversation into ``Memory``'s system message, and
    keeps the messages ``Memory`` flushes out of its short-term queue.

    Args:
        mesh: An open :class:`~memorymesh.MemoryMesh` (sync code) or
            :class:`~memorymesh.AsyncMemoryMesh`.
        name: The block's name (its tag in the memory template).
        k: How many memories to recall at most.
        priority: 0 never truncates this block. Otherwise, when the context is over
            budget, ``Memory`` truncates blocks in ascending priority: a block with priority 1
            (the default) is truncated before one with priority 2. Truncating this block drops
            the weakest memories first.
        roles: Message roles whose flushed messages are remembered.
        scope: Recall and remember only ``"project"`` or only ``"global"`` memories.
        session_only: Recall only memories of the ``Memory``'s own session.
        portal: The blocking portal the mesh was opened in, if sync code opened it there.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    mesh: AsyncMemoryMesh = Field(exclude=True)
    name: str = "memorymesh"
    description: str | None = "Long-term memories relevant to the conversation."
    k: int = 5
    priority: int = 1
    roles: tuple[str, ...] = DEFAULT_ROLES
    scope: Scope | None = None
    session_only: bool = False
    portal: BlockingPortal | None = Field(default=None, exclude=True)

    _bridge: MeshBridge = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        # A sync MemoryMesh becomes its async mesh and portal before pydantic checks the
        # fields, and anything else is refused with a typed error, not a ValidationError.
        if "mesh" in data:
            data["mesh"], data["portal"] = adapt_mesh(data["mesh"], data.get("portal"))
        super().__init__(**data)

    def model_post_init(self, context: Any, /) -> None:
        self._bridge = MeshBridge(self.mesh, self.portal)

    # Pickling: the mesh is a live connection, so it travels by reference (see _bridge.py).
    def __getstate__(self) -> dict[str, Any]:
        fields = {k: v for k, v in self.__dict__.items() if k not in ("mesh", "portal")}
        return {"fields": fields, "mesh": mesh_token(self.mesh, self.portal)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        mesh, portal = mesh_by_token(state["mesh"])
        self.__init__(**state["fields"], mesh=mesh, portal=portal)  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        # pydantic would deep-copy the mesh itself (a live connection): copy the state.
        copied = type(self).__new__(type(self))
        copied.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return copied

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        return await self._bridge.acall(self._recall, messages, block_kwargs.get("session_id"))

    async def _recall(self, messages: list[ChatMessage] | None, session_id: Any) -> str:
        query = recall_query(None, messages)
        if not query:
            return ""
        hits = await self.mesh.recall(
            query,
            k=self.k,
            scope=self.scope,
            session_id=session_id if self.session_only and isinstance(session_id, str) else None,
        )
        return format_memories(hits)

    async def _aput(self, messages: list[ChatMessage]) -> None:
        await self._bridge.acall(
            store_messages, self.mesh, messages, session_id=None, roles=self.roles, scope=self.scope
        )

    async def atruncate(self, content: str, tokens_to_truncate: int) -> str | None:
        """Drop the weakest memories (the last lines) until about ``tokens_to_truncate``
        tokens are gone; ``None`` when none is left."""
        if not isinstance(content, str) or not content:
            return None
        inner = _unwrap(content)
        if not inner:
            return None
        heading, *lines = inner
        budget = tokens_to_truncate * _CHARS_PER_TOKEN
        while lines and budget > 0:
            budget -= len(lines.pop()) + 1
        return mark_injected("\n".join([heading, *lines]), label="recall") if lines else None


def _unwrap(content: str) -> list[str]:
    """The lines inside the marked block ``format_memories`` produced."""
    lines = content.splitlines()
    if (
        len(lines) >= 2
        and lines[0].startswith("<memorymesh-context")
        and lines[-1] == CONTEXT_CLOSE
    ):
        return lines[1:-1]
    return []
