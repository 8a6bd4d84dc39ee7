"""MemoryMesh for LangChain and LangGraph: a ``BaseStore``, tools, a retriever and middleware.

::

    from langchain_memorymesh import MemoryMeshStore

    async with AsyncMemoryMesh() as mesh:
        agent = create_agent(model, tools=[...], store=MemoryMeshStore(mesh=mesh))
"""

from __future__ import annotations

try:
    import langchain.agents  # noqa: F401
    import langchain_core  # noqa: F401
    import langgraph.store.base  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "langchain_memorymesh needs LangChain and LangGraph, which are not installed: "
        'run  pip install "memorymesh[langchain] @ git+https://github.com/memorymesh/memorymesh"'
    ) from exc

from ._middleware import MemoryMeshMiddleware
from ._retriever import MemoryMeshRetriever
from ._store import MemoryMeshItem, MemoryMeshSearchItem, MemoryMeshStore
from ._tools import create_memory_tools

__all__ = [
    "MemoryMeshItem",
    "MemoryMeshMiddleware",
    "MemoryMeshRetriever",
    "MemoryMeshSearchItem",
    "MemoryMeshStore",
    "create_memory_tools",
]
