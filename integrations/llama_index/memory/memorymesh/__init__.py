"""MemoryMesh for LlamaIndex: a memory block, a drop-in ``memory=``, and memory tools.

::

    from llama_index.core.memory import Memory
    from llama_index.memory.memorymesh import MemoryMeshMemoryBlock

    memory = Memory.from_defaults(
        session_id="s1", memory_blocks=[MemoryMeshMemoryBlock(mesh=mesh, name="memorymesh")]
    )
"""

from __future__ import annotations

try:
    import llama_index.core.memory  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "llama_index.memory.memorymesh needs LlamaIndex, which is not installed: "
        'run  pip install "memorymesh[llama-index] @ git+https://github.com/memorymesh/memorymesh"'
    ) from exc

from ._block import MemoryMeshMemoryBlock
from ._memory import MemoryMeshMemory
from ._tools import create_memory_tools

__all__ = ["MemoryMeshMemory", "MemoryMeshMemoryBlock", "create_memory_tools"]
