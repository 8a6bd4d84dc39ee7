"""MemoryMesh: persistent, local, private long-term memory for LLM agents.

::

    from memorymesh import AsyncMemoryMesh

    async with AsyncMemoryMesh() as mesh:
        await mesh.remember("User prefers dark mode in every editor", category="preference")
        hits = await mesh.recall("which theme does the user like?")
"""

from __future__ import annotations

from ._classify import Classification, classify, estimate_importance
from ._compact import CompactPolicy, CompactReport, MergeGroup
from ._embeddings import (
    Embedder,
    LocalEmbedder,
    OllamaEmbedder,
    OpenAIEmbedder,
    available_embedders,
    register_embedder,
)
from ._errors import (
    ClosedError,
    CorruptDatabaseError,
    DatabaseLockedError,
    EmbeddingError,
    EncryptionError,
    InjectedContextError,
    InvalidFilterError,
    InvalidInputError,
    InvalidMeshError,
    MemoryMeshError,
    MemoryNotFoundError,
    SchemaVersionError,
    SecretDetectedError,
    StoreError,
)
from ._export import ImportReport
from ._import_v4 import V4ImportReport
from ._injected import contains_injected, mark_injected, strip_injected
from ._instructions import SyncReport, SyncWeights
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
from ._quality import QualityIssue, QualityReport
from ._session import SessionContext, SessionItem
from ._sync import MemoryMesh
from ._version import __version__

__all__ = [
    "AsyncMemoryMesh",
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
    "StoreError",
    "SyncReport",
    "SyncWeights",
    "V4ImportReport",
    "WriteLogEntry",
    "__version__",
    "available_embedders",
    "classify",
    "contains_injected",
    "estimate_importance",
    "mark_injected",
    "register_embedder",
    "strip_injected",
]
