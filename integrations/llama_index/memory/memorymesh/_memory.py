"""``MemoryMeshMemory``: a drop-in ``memory=`` for LlamaIndex agents, async all the way."""

from __future__ import annotations

import copy
import uuid
from typing import Any, Self

from anyio.from_thread import BlockingPortal
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.memory.types import BaseMemory

from memorymesh import AsyncMemoryMesh, InvalidMeshError, RecallResult, Scope
from memorymesh._adapters import format_memories
from memorymesh._bridge import MeshBridge, adapt_mesh, mesh_by_token, mesh_token

from ._messages import DEFAULT_ROLES, recall_query, store_messages, without_injected

__all__ = ["MemoryMeshMemory"]

_PAGE = 1000


class MemoryMeshMemory(BaseMemory):
    """Chat memory for one session, with MemoryMesh as its long-term memory.

    The conversation itself is kept in a token-limited short-term buffer. What is worth
    keeping in the user and assistant messages put into it (preferences, decisions, causes of
    mistakes, conventions, facts about the user; not questions or chit-chat) is also
    remembered by MemoryMesh under this session's ``session_id``. ``get`` returns the buffer
    with the memories relevant to the current user turn (``input``, else the latest user
    message, with the user turn before it) in the system message, marked so they are never
    stored back. ``token_limit`` covers all of it: the recalled memories fill what the
    buffered messages (and ``initial_token_count``) leave, weakest dropped first.
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
    def from_defaults(
        cls, chat_history: list[ChatMessage] | None = None, **kwargs: Any
    ) -> MemoryMeshMemory:
        """``MemoryMeshMemory(**kwargs)`` (``mesh=`` is required), its short-term buffer
        holding ``chat_history`` as ``ChatMemoryBuffer.from_defaults`` would.

        The history is earlier conversation the caller already has: it is shown to the model,
        not remembered long-term (``aput_messages`` remembers what is worth keeping).
        """
        memory = cls(**kwargs)
        if chat_history:
            memory._buffer.set(list(chat_history))
        return memory

    # -- to_dict / from_dict: the conversation goes along, the mesh is given back -----------

    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        """The settings and the buffered conversation (``chat_history``), as
        ``ChatMemoryBuffer.to_dict`` keeps its chat; the mesh, a live connection, is left out.
        """
        data = super().to_dict(**kwargs)
        data["chat_history"] = [m.model_dump(mode="json") for m in self._buffer.get_all()]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], **kwargs: Any) -> Self:
        """A memory from :meth:`to_dict` (or ``from_json``): pass the open ``mesh=`` too.

        Raises:
            InvalidMeshError: no ``mesh=`` was given.
        """
        if "mesh" not in kwargs:
            raise InvalidMeshError(
                f"{cls.__name__}.from_dict needs the open mesh: pass mesh=, as the dict "
                "cannot hold a database connection"
            )
        fields = {**data, **kwargs}
        fields.pop("class_name", None)
        history = [ChatMessage.model_validate(m) for m in fields.pop("chat_history", None) or ()]
        memory = cls(**fields)
        if history:
            memory._buffer.set(history)
        return memory

    # -- pickling: the mesh is a live connection, so it travels by reference ---------------

    def __getstate__(self) -> dict[str, Any]:
        fields = {k: v for k, v in self.__dict__.items() if k not in ("mesh", "portal")}
        return {
            "fields": fields,
            "mesh": mesh_token(self.mesh, self.portal),
            "messages": self._buffer.get_all(),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        mesh, portal = mesh_by_token(state["mesh"])
        self.__init__(**state["fields"], mesh=mesh, portal=portal)  # type: ignore[misc]
        self._buffer.set(state["messages"])

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        # pydantic would deep-copy the mesh itself (a live connection): copy the state.
        copied = type(self).__new__(type(self))
        copied.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return copied

    # -- the one implementation of each method ----------------------------------------------

    async def _get(self, input: object, initial_token_count: int) -> list[ChatMessage]:
        history = self._buffer.get(initial_token_count=initial_token_count)
        # The query comes from the whole conversation: trimming may have cut the buffer down
        # to an assistant message, and the user's question is what recall needs.
        query = recall_query(input, self._buffer.get_all())
        if not query:
            return history
        # What is still in the short-term buffer is already in front of the model.
        shown = {without_injected(m.content) for m in history if isinstance(m.content, str)}
        found = await self.mesh.recall(query, k=self.k + len(shown), scope=self.scope)
        hits = [h for h in found if h.memory.text not in shown][: self.k]
        room = self.token_limit - initial_token_count - self._tokens(history)
        block = self._fitting_block(hits, room)
        if not block:
            return history
        if history and history[0].role == MessageRole.SYSTEM:
            first = history[0]
            merged = f"{first.content}\n\n{block}" if first.content else block
            # A new message: the buffered system message must not absorb recalled context.
            return [ChatMessage(role=MessageRole.SYSTEM, content=merged), *history[1:]]
        return [ChatMessage(role=MessageRole.SYSTEM, content=block), *history]

    def _tokens(self, messages: list[ChatMessage]) -> int:
        """Tokens as the buffer counts them (its tokenizer over the joined contents)."""
        if not messages:
            return 0
        return len(self._buffer.tokenizer_fn(" ".join(str(m.content) for m in messages)))

    def _fitting_block(self, hits: list[RecallResult], room: int) -> str:
        """The block of the best ``hits`` that fits in ``room`` tokens ("" if none does)."""
        while hits:
            block = format_memories(hits)
            # +2: the separator that joins it to a system message or to the chat.
            if len(self._buffer.tokenizer_fn(block)) + 2 <= room:
                return block
            hits = hits[:-1]
        return ""

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

    async def aget(
        self, input: object = None, initial_token_count: int = 0, **kwargs: Any
    ) -> list[ChatMessage]:
        """The session's recent messages, with relevant memories in the system message.

        Args:
            input: The current user turn, if it is not in the buffer yet: a string, a
                ``ChatMessage``, or anything else (as ``str``).
            initial_token_count: Tokens already spent elsewhere in the prompt; the messages
                and memories returned fit in ``token_limit`` minus these.

        Raises:
            ValueError: ``initial_token_count`` exceeds ``token_limit`` (as in
                ``ChatMemoryBuffer``).
        """
        return await self._bridge.acall(self._get, input, initial_token_count)

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

    def get(
        self, input: object = None, initial_token_count: int = 0, **kwargs: Any
    ) -> list[ChatMessage]:
        """See :meth:`aget`."""
        return self._bridge.call(self._get, input, initial_token_count)

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
