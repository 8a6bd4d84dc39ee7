"""The ``remember`` / ``recall`` / ``forget`` tools as LlamaIndex ``FunctionTool``s."""

from __future__ import annotations

from anyio.from_thread import BlockingPortal
from llama_index.core.tools import FunctionTool

from memorymesh import Scope
from memorymesh._adapters import forget_text, recall_text, remember_text
from memorymesh._bridge import MeshBridge, MeshLike

__all__ = ["create_memory_tools"]


def create_memory_tools(
    *,
    mesh: MeshLike,
    portal: BlockingPortal | None = None,
    scope: Scope | str | None = None,
    session_id: str | None = None,
    agent: str | None = None,
) -> list[FunctionTool]:
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

    async def _remember(text: str) -> str:
        return await remember_text(
            mesh, text, scope=scope, session_id=session_id, source="llama-index", agent=agent
        )

    async def _recall(query: str, k: int = 5) -> str:
        return await recall_text(mesh, query, k=k, scope=scope)

    async def _forget(memory_id: str) -> str:
        return await forget_text(mesh, memory_id)

    async def aremember(text: str) -> str:
        """Store one lasting fact, preference, decision or lesson in long-term memory.

        Args:
            text: The fact to keep, in one sentence.
        """
        return await bridge.acall(_remember, text)

    async def arecall(query: str, k: int = 5) -> str:
        """Search long-term memory for what is relevant to a question.

        Args:
            query: What to look for, as a question or keywords.
            k: How many memories at most.
        """
        return await bridge.acall(_recall, query, k)

    async def aforget(memory_id: str) -> str:
        """Delete one memory by its id (as shown by recall).

        Args:
            memory_id: The id, or its first characters.
        """
        return await bridge.acall(_forget, memory_id)

    def remember(text: str) -> str:
        """Store one lasting fact, preference, decision or lesson in long-term memory.

        Args:
            text: The fact to keep, in one sentence.
        """
        return bridge.call(_remember, text)

    def recall(query: str, k: int = 5) -> str:
        """Search long-term memory for what is relevant to a question.

        Args:
            query: What to look for, as a question or keywords.
            k: How many memories at most.
        """
        return bridge.call(_recall, query, k)

    def forget(memory_id: str) -> str:
        """Delete one memory by its id (as shown by recall).

        Args:
            memory_id: The id, or its first characters.
        """
        return bridge.call(_forget, memory_id)

    return [
        FunctionTool.from_defaults(fn=remember, async_fn=aremember),
        FunctionTool.from_defaults(fn=recall, async_fn=arecall),
        FunctionTool.from_defaults(fn=forget, async_fn=aforget),
    ]
