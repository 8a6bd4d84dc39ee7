"""MemoryMesh: persistent, local, private long-term memory for LLM agents.

::

    from memorymesh import AsyncMemoryMesh

    async with AsyncMemoryMesh() as mesh:
        await mesh.remember("User prefers dark mode in every editor", category="preference")
        hits = await mesh.recall("which theme does the user like?")
"""

from __future__ import annotations

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
    ConflictPolicy,
    Memory,
    MemoryStats,
    NewMemory,
    RecallExplanation,
    RecallResult,
    RecallResults,
    Scope,
    ScoreBreakdown,
    ScoringWeights,
    WriteLogEntry,
)
from ._sync import MemoryMesh
from ._version import __version__
from .context._compact import CompactPolicy, CompactReport, MergeGroup
from .context._instructions import SyncReport, SyncWeights
from .context._quality import QualityIssue, QualityReport
from .context._session import SessionContext, SessionItem
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

__all__ = [
    "AsyncMemoryMesh",
    "BlockingCallError",
    "Category",
    "Classification",
    "ClosedError",
    "CompactPolicy",
    "CompactReport",
    "Conflict",
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
    "KeyConflictError",
    "LocalEmbedder",
    "Memory",
    "MemoryMesh",
    "MemoryMeshError",
    "MemoryNotFoundError",
    "MemoryStats",
    "MergeGroup",
    "NewMemory",
    "OllamaEmbedder",
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
