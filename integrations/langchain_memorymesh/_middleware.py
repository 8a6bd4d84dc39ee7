"""``MemoryMeshMiddleware``: automatic memory for ``langchain.agents.create_agent``.

Before each model call it recalls what is relevant to the latest user message and appends it,
marked as injected context, to the system message of that call only (the conversation state
is not changed). With ``remember=True`` it remembers what is worth keeping in the user's
latest message after each run (the Claude Code hook's extraction: a preference, a decision, a
fact about the user; never a question or chit-chat); marked blocks are stripped first, so
recalled context never comes back as a new memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Any

from anyio.from_thread import BlockingPortal
from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from memorymesh import (
    InvalidInputError,
    Scope,
    strip_injected,
)
from memorymesh._adapters import format_memories, remember_turns, scope_option
from memorymesh._bridge import MeshBridge, MeshLike

__all__ = ["MemoryMeshMiddleware"]

Handler = Callable[[ModelRequest[Any]], ModelResponse[Any]]
AsyncHandler = Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]]


def _latest_user_text(messages: Sequence[AnyMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return strip_injected(message.text).strip()
    return ""


class MemoryMeshMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Recall before every model call, and optionally remember after every run.

    ::

        agent = create_agent(model, middleware=[MemoryMeshMiddleware(mesh=mesh)])

    Args:
        mesh: An open :class:`~memorymesh.MemoryMesh` (sync code) or
            :class:`~memorymesh.AsyncMemoryMesh`.
        k: How many memories to add to the system message at most.
        remember: After each run, remember what is worth keeping in the user's latest message
            (statements a rule recognises; questions and chit-chat are not stored).
        portal: The blocking portal the mesh was opened in, if sync code opened it there.
        scope: Recall (and remember) only ``"project"`` or only ``"global"`` memories.
        session_id: Recorded on memories this middleware stores.
        agent: Recorded as the writer of memories this middleware stores.
    """

    def __init__(
        self,
        *,
        mesh: MeshLike,
        k: int = 5,
        remember: bool = False,
        portal: BlockingPortal | None = None,
        scope: Scope | str | None = None,
        session_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        super().__init__()
        self._bridge = MeshBridge(mesh, portal)
        self.mesh = self._bridge.mesh  # async, also when a sync MemoryMesh was passed
        self.k = k
        self.remember = remember
        self.scope = scope_option(scope)
        self.session_id = session_id
        self.agent = agent

    # -- recall before the model ------------------------------------------------------------

    async def _context(self, messages: Sequence[AnyMessage]) -> str:
        query = _latest_user_text(messages)
        if not query:
            return ""
        return format_memories(await self.mesh.recall(query, k=self.k, scope=self.scope))

    @staticmethod
    def _with_context(request: ModelRequest[Any], block: str) -> ModelRequest[Any]:
        if not block:
            return request
        system = request.system_message
        if system is None:
            return request.override(system_message=SystemMessage(content=block))
        if isinstance(system.content, str):
            content: Any = f"{system.content}\n\n{block}" if system.content else block
        else:
            content = [*system.content, {"type": "text", "text": block}]
        return request.override(system_message=SystemMessage(content=content))

    def wrap_model_call(self, request: ModelRequest[Any], handler: Handler) -> Any:
        block = self._bridge.call(self._context, request.messages)
        return handler(self._with_context(request, block))

    async def awrap_model_call(self, request: ModelRequest[Any], handler: AsyncHandler) -> Any:
        block = await self._bridge.acall(self._context, request.messages)
        return await handler(self._with_context(request, block))

    # -- remember after the run -------------------------------------------------------------

    async def _store(self, messages: Sequence[AnyMessage]) -> None:
        if not self.remember:
            return
        for message in reversed(messages):
            if isinstance(message, HumanMessage):
                # Only what extraction keeps: a question, a greeting or an echo of recalled
                # context adds nothing. A secret refused by the privacy guard is skipped.
                with suppress(InvalidInputError):
                    await remember_turns(
                        self.mesh,
                        [("user", message.text, {"session_id": self.session_id})],
                        scope=self.scope,
                        source="langchain",
                        agent=self.agent,
                    )
                return

    def after_agent(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        self._bridge.call(self._store, state["messages"])
        return None

    async def aafter_agent(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        await self._bridge.acall(self._store, state["messages"])
        return None
