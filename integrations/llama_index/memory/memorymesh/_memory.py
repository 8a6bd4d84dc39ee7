"""``MemoryMeshMemory``: a drop-in ``memory=`` for LlamaIndex agents, async all the way."""

from __future__ import annotations

import uuid
from typing import Any

from anyio.from_thread import BlockingPortal
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.memory.types import BaseMemory

from memorymesh import AsyncMemoryMesh, Scope
from memorymesh._adapters import format_memories
from memorymesh._bridge import MeshBridge, adapt_mesh

from ._messages import DEFAULT_ROLES, latest_user_text, store_messages, without_injected

__all__ = ["MemoryMeshMemory"]

_PAGE = 1000


class MemoryMeshMemory(BaseMemory):
    """Chat memory for one session, with MemoryMesh as its long-term memory.

    The conversation itself is kept in a token-limited short-term buffer. What is worth
    keeping in the user and assistant messages put into it (preferences, decisions, causes of
    mistakes, conventions, facts about the user; not questions or chit-chat) is also
    remembered by MemoryMesh under this session's ``session_id``. ``get`` returns the buffer
    with the memories relevant to the latest user message (or ``input``) in the system
    message, marked so they are never stored back.
    Every method has a native async twin (``aget``, ``aput``, ``aput_messages``, ``aset``,
    ``aget_all``, ``areset``); the sync ones run it on the mesh's event loop.

    Args:
        mesh: An open :class:`~memorymesh.MemoryMesh` (sync code) or
            :class:`~memorymesh.AsyncMemoryMesh`.
        session_id: This conversation's id (a new one by default).
        k: How many memories to recall at most.
        token_limit: The short-term buffer's size in tokens.
        roles: Message roles that are remembered long-term.
        scope: Recall and remember only ``"project"`` or only ``"global"`` memories.
        portal: The blocking portal the mesh was opened in, if sync code opened it there.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    mesh: AsyncMemoryMesh = Field(exclude=True)
    session_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    k: int = 5
    token_limit: int = 3000
    roles: tuple[str, ...] = DEFAULT_ROLES
    scope: Scope | None = None
    portal: BlockingPortal | None = Field(default=None, exclude=True)

    _bridge: MeshBridge = PrivateAttr()
    _buffer: ChatMemoryBuffer = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        # A sync MemoryMesh becomes its async mesh and portal before pydantic checks the
        # fields, and anything else is refused with a typed error, not a ValidationError.
        if "mesh" in data:
            data["mesh"], data["portal"] = adapt_mesh(data["mesh"], data.get("portal"))
        super().__init__(**data)

    def model_post_init(self, context: Any, /) -> None:
        self._bridge = MeshBridge(self.mesh, self.portal)
        self._buffer = ChatMemoryBuffer.from_defaults(
            token_limit=self.token_limit, chat_store_key=self.session_id
        )

    @classmethod
    def class_name(cls) -> str:
        return "MemoryMeshMemory"

    @classmethod
    def from_defaults(cls, **kwargs: Any) -> MemoryMeshMemory:
        """``MemoryMeshMemory(**kwargs)``; ``mesh=`` is required."""
        return cls(**kwargs)

    # -- the one implementation of each method ----------------------------------------------

    async def _get(self, input: str | None) -> list[ChatMessage]:
        history = await self._buffer.aget()
        query = (input or "").strip() or latest_user_text(history)
        block = ""
        if query:
            # What is still in the short-term buffer is already in front of the model.
            shown = {without_injected(m.content) for m in history if isinstance(m.content, str)}
            hits = await self.mesh.recall(query, k=self.k + len(shown), scope=self.scope)
            block = format_memories([h for h in hits if h.memory.text not in shown][: self.k])
        if not block:
            return history
        if history and history[0].role == MessageRole.SYSTEM:
            first = history[0]
            merged = f"{first.content}\n\n{block}" if first.content else block
            # A new message: the buffered system message must not absorb recalled context.
            return [ChatMessage(role=MessageRole.SYSTEM, content=merged), *history[1:]]
        return [ChatMessage(role=MessageRole.SYSTEM, content=block), *history]

    async def _put_messages(self, messages: list[ChatMessage]) -> None:
        for message in messages:
            await self._buffer.aput(message)
        await store_messages(
            self.mesh, messages, session_id=self.session_id, roles=self.roles, scope=self.scope
        )

    async def _set(self, messages: list[ChatMessage]) -> None:
        await self._buffer.aset(messages)
        # Remembering is idempotent: text already remembered returns the existing memory.
        await store_messages(
            self.mesh, messages, session_id=self.session_id, roles=self.roles, scope=self.scope
        )

    async def _reset(self) -> None:
        await self._buffer.areset()
        while True:
            # History too: forgetting only a successor would bring back what it superseded.
            page = await self.mesh.list(
                session_id=self.session_id,
                limit=_PAGE,
                include_superseded=True,
                include_expired=True,
            )
            mine = [m.id for m in page if m.source == "llama-index"]
            if mine:
                await self.mesh.forget_many(mine)
            if len(page) < _PAGE or not mine:
                return

    # -- async API ------------------------------------------------------------------------

    async def aget(self, input: str | None = None, **kwargs: Any) -> list[ChatMessage]:
        """The session's recent messages, with relevant memories in the system message."""
        return await self._bridge.acall(self._get, input)

    async def aget_all(self) -> list[ChatMessage]:
        """Every message in the short-term buffer, without recalled memories."""
        return await self._bridge.acall(self._buffer.aget_all)

    async def aput(self, message: ChatMessage) -> None:
        """Add one message to the conversation and remember it (user/assistant roles)."""
        await self._bridge.acall(self._put_messages, [message])

    async def aput_messages(self, messages: list[ChatMessage]) -> None:
        """Add messages to the conversation and remember them, in one transaction."""
        await self._bridge.acall(self._put_messages, list(messages))

    async def aset(self, messages: list[ChatMessage]) -> None:
        """Replace the conversation with ``messages`` and remember any not yet remembered."""
        await self._bridge.acall(self._set, list(messages))

    async def areset(self) -> None:
        """Clear the conversation and forget every memory this session stored.

        Memories of other sessions, and those other tools wrote under this session id,
        stay.
        """
        await self._bridge.acall(self._reset)

    # -- sync API: the same, on the mesh's event loop -----------------------------------------

    def get(self, input: str | None = None, **kwargs: Any) -> list[ChatMessage]:
        """See :meth:`aget`."""
        return self._bridge.call(self._get, input)

    def get_all(self) -> list[ChatMessage]:
        """See :meth:`aget_all`."""
        return self._bridge.call(self._buffer.aget_all)

    def put(self, message: ChatMessage) -> None:
        """See :meth:`aput`."""
        self._bridge.call(self._put_messages, [message])

    def put_messages(self, messages: list[ChatMessage]) -> None:
        """See :meth:`aput_messages`."""
        self._bridge.call(self._put_messages, list(messages))

    def set(self, messages: list[ChatMessage]) -> None:
        """See :meth:`aset`."""
        self._bridge.call(self._set, list(messages))

    def reset(self) -> None:
        """See :meth:`areset`."""
        self._bridge.call(self._reset)
