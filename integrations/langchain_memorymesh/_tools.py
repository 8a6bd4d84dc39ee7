"""``remember`` / ``recall`` / ``forget`` as LangChain tools an agent can call.

Each is a ``StructuredTool`` with both ``func`` and ``coroutine``, so sync and async agents
alike can use it. Errors a model can fix (empty text, unknown id) come back as the tool's
answer rather than an exception, so the agent can recover.
"""

from __future__ import annotations

from anyio.from_thread import BlockingPortal
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from memorymesh import Category, Scope
from memorymesh._adapters import forget_text, recall_text, remember_text
from memorymesh._bridge import MeshBridge, MeshLike

__all__ = ["create_memory_tools"]


class RememberInput(BaseModel):
    """Arguments of the ``remember`` tool."""

    text: str = Field(description="One fact, preference or decision to keep, in a sentence.")
    category: Category | None = Field(
        default=None, description="What kind of memory it is; inferred when left out."
    )
    importance: float | None = Field(
        default=None, ge=0.0, le=1.0, description="0 (trivia) to 1 (never forget)."
    )


class RecallInput(BaseModel):
    """Arguments of the ``recall`` tool."""

    query: str = Field(description="What to look for, as a question or keywords.")
    k: int = Field(default=5, ge=1, le=50, description="How many memories at most.")


class ForgetInput(BaseModel):
    """Arguments of the ``forget`` tool."""

    memory_id: str = Field(description="The id (or its first characters) of the memory.")


def create_memory_tools(
    *,
    mesh: MeshLike,
    portal: BlockingPortal | None = None,
    scope: Scope | str | None = None,
    session_id: str | None = None,
    agent: str | None = None,
) -> list[StructuredTool]:
    """The ``remember``, ``recall`` and ``forget`` tools over one mesh, in that order.

    Args:
        mesh: An open :class:`~memorymesh.MemoryMesh` (sync code) or
            :class:`~memorymesh.AsyncMemoryMesh`.
        portal: The blocking portal the mesh was opened in, if sync code opened it there.
        scope: Write and search only ``"project"`` or only ``"global"`` memories.
        session_id: Recorded on every memory written (the conversation's id).
        agent: Recorded as the writer of every memory.
    """
    bridge = MeshBridge(mesh, portal)
    mesh = bridge.mesh  # the async mesh, also when a sync MemoryMesh was passed

    async def _remember(
        text: str, category: Category | None = None, importance: float | None = None
    ) -> str:
        return await remember_text(
            mesh,
            text,
            category=category,
            importance=importance,
            scope=scope,
            session_id=session_id,
            source="langchain",
            agent=agent,
        )

    async def _recall(query: str, k: int = 5) -> str:
        return await recall_text(mesh, query, k=k, scope=scope)

    async def _forget(memory_id: str) -> str:
        return await forget_text(mesh, memory_id)

    async def remember(
        text: str, category: Category | None = None, importance: float | None = None
    ) -> str:
        return await bridge.acall(_remember, text, category, importance)

    async def recall(query: str, k: int = 5) -> str:
        return await bridge.acall(_recall, query, k)

    async def forget(memory_id: str) -> str:
        return await bridge.acall(_forget, memory_id)

    def remember_sync(
        text: str, category: Category | None = None, importance: float | None = None
    ) -> str:
        return bridge.call(_remember, text, category, importance)

    def recall_sync(query: str, k: int = 5) -> str:
        return bridge.call(_recall, query, k)

    def forget_sync(memory_id: str) -> str:
        return bridge.call(_forget, memory_id)

    return [
        StructuredTool.from_function(
            func=remember_sync,
            coroutine=remember,
            name="remember",
            description=(
                "Store one lasting fact, preference, decision or lesson in long-term memory "
                "so it is available in future conversations."
            ),
            args_schema=RememberInput,
        ),
        StructuredTool.from_function(
            func=recall_sync,
            coroutine=recall,
            name="recall",
            description="Search long-term memory for what is relevant to a question.",
            args_schema=RecallInput,
        ),
        StructuredTool.from_function(
            func=forget_sync,
            coroutine=forget,
            name="forget",
            description="Delete one memory by its id (as shown by recall).",
            args_schema=ForgetInput,
        ),
    ]
