"""MemoryMesh: persistent, local, private long-term memory for LLM agents.

::

    from memorymesh import AsyncMemoryMesh

    async with AsyncMemoryMesh() as mesh:
        await mesh.remember("User prefers dark mode in every editor", category="preference")
        hits = await mesh.recall("which theme does the user like?")
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from ._lazy import lazy_names as _lazy_names
from ._version import __version__

if _TYPE_CHECKING:  # what type checkers and IDEs see; at run time each name loads on first use
    from ._errors import (
        BlockingCallError,
        ClosedError,
        CorruptDatabaseError,
        DatabaseLockedError,
        EmbeddingError,
        EncryptionError,
        InjectedContextError,
        InvalidFilterError,
        InvalidInputError,
        InvalidMeshError,
        JudgeError,
        KeyConflictError,
        MemoryMeshError,
        MemoryNotFoundError,
        SchemaVersionError,
        SecretDetectedError,
        StoreError,
        TargetExistsError,
        TooLargeError,
        V4StoreError,
    )
    from ._mesh import AsyncMemoryMesh
    from ._models import (
        Category,
        Conflict,
        ConflictPair,
        ConflictPolicy,
        JudgeReport,
        Memory,
        MemoryStats,
        NewMemory,
        RecallExplanation,
        RecallResult,
        RecallResults,
        Scope,
        ScoreBreakdown,
        ScoringWeights,
        SessionRecord,
        WriteLogEntry,
    )
    from ._sync import MemoryMesh
    from .context._compact import CompactPolicy, CompactReport, MergeGroup
    from .context._instructions import SyncReport, SyncWeights
    from .context._quality import QualityIssue, QualityReport
    from .context._session import SessionContext, SessionItem
    from .embeddings._chat import ChatModel, OllamaChat, OpenAIChat
    from .embeddings._embedders import (
        Embedder,
        LocalEmbedder,
        OllamaEmbedder,
        OpenAIEmbedder,
        available_embedders,
        register_embedder,
    )
    from .io._export import ImportReport
    from .io._import_v4 import V4ImportReport
    from .stores import Store, StoreOptions, StoreTransaction, register_store
    from .writes._classify import Classification, classify, estimate_importance
    from .writes._injected import contains_injected, mark_injected, strip_injected

#: Where each public name lives. Importing the package loads none of them, so a process that
#: needs one module (``memorymesh --version``, the hook, the MCP server starting up) does not
#: pay for numpy, pydantic and the rest; ``from memorymesh import X`` loads X's module then.
_LAZY: dict[str, str] = {
    "AsyncMemoryMesh": "._mesh",
    "available_embedders": ".embeddings._embedders",
    "BlockingCallError": "._errors",
    "Category": "._models",
    "Classification": ".writes._classify",
    "classify": ".writes._classify",
    "ClosedError": "._errors",
    "CompactPolicy": ".context._compact",
    "CompactReport": ".context._compact",
    "Conflict": "._models",
    "ConflictPair": "._models",
    "ConflictPolicy": "._models",
    "JudgeReport": "._models",
    "contains_injected": ".writes._injected",
    "CorruptDatabaseError": "._errors",
    "DatabaseLockedError": "._errors",
    "Embedder": ".embeddings._embedders",
    "ChatModel": ".embeddings._chat",
    "OllamaChat": ".embeddings._chat",
    "OpenAIChat": ".embeddings._chat",
    "EmbeddingError": "._errors",
    "JudgeError": "._errors",
    "EncryptionError": "._errors",
    "estimate_importance": ".writes._classify",
    "ImportReport": ".io._export",
    "InjectedContextError": "._errors",
    "InvalidFilterError": "._errors",
    "InvalidInputError": "._errors",
    "InvalidMeshError": "._errors",
    "KeyConflictError": "._errors",
    "LocalEmbedder": ".embeddings._embedders",
    "mark_injected": ".writes._injected",
    "Memory": "._models",
    "MemoryMesh": "._sync",
    "MemoryMeshError": "._errors",
    "MemoryNotFoundError": "._errors",
    "MemoryStats": "._models",
    "MergeGroup": ".context._compact",
    "NewMemory": "._models",
    "OllamaEmbedder": ".embeddings._embedders",
    "OpenAIEmbedder": ".embeddings._embedders",
    "QualityIssue": ".context._quality",
    "QualityReport": ".context._quality",
    "RecallExplanation": "._models",
    "RecallResult": "._models",
    "RecallResults": "._models",
    "register_embedder": ".embeddings._embedders",
    "register_store": ".stores",
    "SchemaVersionError": "._errors",
    "Scope": "._models",
    "ScoreBreakdown": "._models",
    "ScoringWeights": "._models",
    "SecretDetectedError": "._errors",
    "SessionContext": ".context._session",
    "SessionItem": ".context._session",
    "SessionRecord": "._models",
    "Store": ".stores",
    "StoreError": "._errors",
    "StoreOptions": ".stores",
    "StoreTransaction": ".stores",
    "strip_injected": ".writes._injected",
    "SyncReport": ".context._instructions",
    "SyncWeights": ".context._instructions",
    "TargetExistsError": "._errors",
    "TooLargeError": "._errors",
    "V4ImportReport": ".io._import_v4",
    "V4StoreError": "._errors",
    "WriteLogEntry": "._models",
}


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, globals())


__all__ = [
    "AsyncMemoryMesh",
    "BlockingCallError",
    "Category",
    "ChatModel",
    "Classification",
    "ClosedError",
    "CompactPolicy",
    "CompactReport",
    "Conflict",
    "ConflictPair",
    "ConflictPolicy",
    "CorruptDatabaseError",
    "DatabaseLockedError",
    "Embedder",
    "EmbeddingError",
    "EncryptionError",
    "ImportReport",
    "InjectedContextError",
    "InvalidFilterError",
    "InvalidInputError",
    "InvalidMeshError",
    "JudgeError",
    "JudgeReport",
    "KeyConflictError",
    "LocalEmbedder",
    "Memory",
    "MemoryMesh",
    "MemoryMeshError",
    "MemoryNotFoundError",
    "MemoryStats",
    "MergeGroup",
    "NewMemory",
    "OllamaChat",
    "OllamaEmbedder",
    "OpenAIChat",
    "OpenAIEmbedder",
    "QualityIssue",
    "QualityReport",
    "RecallExplanation",
    "RecallResult",
    "RecallResults",
    "SchemaVersionError",
    "Scope",
    "ScoreBreakdown",
    "ScoringWeights",
    "SecretDetectedError",
    "SessionContext",
    "SessionItem",
    "SessionRecord",
    "Store",
    "StoreError",
    "StoreOptions",
    "StoreTransaction",
    "SyncReport",
    "SyncWeights",
    "TargetExistsError",
    "TooLargeError",
    "V4ImportReport",
    "V4StoreError",
    "WriteLogEntry",
    "__version__",
    "available_embedders",
    "classify",
    "contains_injected",
    "estimate_importance",
    "mark_injected",
    "register_embedder",
    "register_store",
    "strip_injected",
]
