"""``MemoryMeshRetriever``: recall as a LangChain ``BaseRetriever`` returning ``Document``s."""

from __future__ import annotations

from typing import Any

from anyio.from_thread import BlockingPortal
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from memorymesh import AsyncMemoryMesh, Category, RecallResult, Scope
from memorymesh._bridge import MeshBridge, adapt_mesh

__all__ = ["MemoryMeshRetriever"]


class MemoryMeshRetriever(BaseRetriever):
    """Recall as a retriever: ``MemoryMeshRetriever(mesh=mesh, k=5).ainvoke("question")``.

    Each ``Document`` holds a memory's text, with its ``id``, ``score``, ``category``,
    ``scope``, ``importance``, ``created_at``, ``event_time``, ``session_id``, ``source``
    and ``metadata`` in ``Document.metadata``. ``k`` can also be passed per call:
    ``retriever.invoke("question", k=3)``.

    Args:
        mesh: An open :class:`~memorymesh.MemoryMesh` (sync code) or
            :class:`~memorymesh.AsyncMemoryMesh`.
        k: How many memories to return at most.
        portal: The blocking portal the mesh was opened in, if sync code opened it there.
        scope, category, metadata_filter, session_id: Narrow recall as in
            :meth:`AsyncMemoryMesh.recall`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    mesh: AsyncMemoryMesh = Field(exclude=True)
    k: int = 5
    portal: BlockingPortal | None = Field(default=None, exclude=True)
    scope: Scope | None = None
    category: Category | list[Category] | None = None
    metadata_filter: dict[str, Any] | None = None
    session_id: str | None = None

    _bridge: MeshBridge = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        # A sync MemoryMesh becomes its async mesh and portal before pydantic checks the
        # fields, and anything else is refused with a typed error, not a ValidationError.
        if "mesh" in data:
            data["mesh"], data["portal"] = adapt_mesh(data["mesh"], data.get("portal"))
        super().__init__(**data)

    def model_post_init(self, context: Any, /) -> None:
        self._bridge = MeshBridge(self.mesh, self.portal)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return self._bridge.call(self._recall, query, **kwargs)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return await self._bridge.acall(self._recall, query, **kwargs)

    async def _recall(self, query: str, *, k: int | None = None) -> list[Document]:
        hits = await self.mesh.recall(
            query,
            k=self.k if k is None else k,
            scope=self.scope,
            category=self.category,
            metadata_filter=self.metadata_filter,
            session_id=self.session_id,
        )
        return [_document(hit) for hit in hits]


def _document(hit: RecallResult) -> Document:
    m = hit.memory
    return Document(
        id=m.id,
        page_content=m.text,
        metadata={
            "id": m.id,
            "score": hit.score,
            "category": m.category.value,
            "scope": m.scope.value,
            "importance": m.importance,
            "pinned": m.pinned,
            "created_at": m.created_at.isoformat(),
            "event_time": None if m.event_time is None else m.event_time.isoformat(),
            "session_id": m.session_id,
            "source": m.source,
            "metadata": dict(m.metadata),
        },
    )
