"""The pydantic models that cross MemoryMesh's public API."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

# ConflictPolicy, CONFLICT_POLICIES and ListOrder live in _vocab (no pydantic): re-exported
# here, where the rest of MemoryMesh has always found them.
from ._vocab import CONFLICT_POLICIES as CONFLICT_POLICIES
from ._vocab import Category, ConflictPolicy, Scope
from ._vocab import ListOrder as ListOrder

__all__ = [
    "GLOBAL_CATEGORIES",
    "Category",
    "Conflict",
    "ConflictAction",
    "ConflictKind",
    "ConflictPair",
    "ConflictPolicy",
    "JudgeReport",
    "Memory",
    "MemoryStats",
    "NewMemory",
    "RecallExplanation",
    "RecallResult",
    "RecallResults",
    "Scope",
    "ScoreBreakdown",
    "ScoringWeights",
    "SessionRecord",
    "WriteLogEntry",
]


#: Categories about the *user* rather than the codebase follow them into every project.
#: Rules, mistakes and questions are usually about the project, so they stay with it.
GLOBAL_CATEGORIES: frozenset[Category] = frozenset({Category.PREFERENCE, Category.PERSONALITY})


def default_scope(category: Category) -> Scope:
    """The scope a memory of ``category`` gets when the caller names none."""
    return Scope.GLOBAL if category in GLOBAL_CATEGORIES else Scope.PROJECT


#: How a new memory relates to an existing one: the same text (after normalising case and
#: spacing), nearly the same, or the same subject with a changed fact. The ``possible_``
#: kinds are low-confidence verdicts: reported, but both memories are kept whatever the policy.
ConflictKind = Literal[
    "duplicate", "near_duplicate", "contradiction", "possible_duplicate", "possible_contradiction"
]


#: What a write did about a conflict.
ConflictAction = Literal["deduplicated", "superseded", "kept_both", "skipped", "merged"]


class Conflict(BaseModel):
    """One decision a write made about an existing memory; see ``docs/concepts.md``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: ConflictKind
    memory_id: str
    """The existing memory the new text was compared with."""
    similarity: float
    """Cosine similarity of the vectors, or lexical overlap without an embedder, in [0, 1]."""
    action: ConflictAction
    """What the write did: ``superseded`` means ``memory_id`` is now history of the new one."""
    policy: ConflictPolicy
    reason: str = ""
    decided_by: str | None = None
    """Who decided: None for the write's own detector, ``judge:ollama:llama3.2`` for a
    judge model, ``review`` for a person in the review queue."""


def trusted_conflict(
    kind: ConflictKind,
    memory_id: str,
    similarity: float,
    action: ConflictAction,
    policy: ConflictPolicy,
    reason: str = "",
    decided_by: str | None = None,
) -> Conflict:
    """``Conflict(...)`` from a write's own decision (every value one the write chose from
    the allowed ones), without validating: the ``similarity`` made a ``float`` as validation
    makes it. A one-shot ``remember`` that finds a conflict then builds no validator (see
    :func:`trusted_breakdown`); ``tests/test_models.py`` checks the two are equal."""
    values: dict[str, Any] = {
        "kind": kind,
        "memory_id": memory_id,
        "similarity": float(similarity),
        "action": action,
        "policy": policy,
        "reason": reason,
    }
    if decided_by is not None:  # set only when given, as validation records it
        values["decided_by"] = decided_by
    return Conflict.model_construct(**values)


_CONFLICT_FIELDS = tuple(Conflict.model_fields)


def conflict_json(conflict: Conflict) -> dict[str, Any]:
    """``conflict.model_dump(mode="json")`` without building the model's serializer: every
    field is a string, a float or None already (the write log stores this; see
    :func:`trusted_conflict`)."""
    return {name: getattr(conflict, name) for name in _CONFLICT_FIELDS}


class Memory(BaseModel):
    """One stored memory, as a frozen snapshot.

    Every call returns fresh copies, so holding a ``Memory`` never pins or mutates the store.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    text: str
    category: Category
    importance: float = Field(ge=0.0, le=1.0)
    scope: Scope
    pinned: bool = False
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    session_id: str | None = None
    created_at: datetime
    updated_at: datetime
    event_time: datetime | None = None
    """When the remembered thing happened, if known (``created_at`` is when it was recorded)."""
    expires_at: datetime | None = None
    access_count: int = 0
    last_accessed_at: datetime | None = None
    superseded_by: str | None = None
    """The id of the memory that replaced this one, if it has been superseded."""
    superseded_at: datetime | None = None
    """When it was superseded (history is kept: :meth:`restore` undoes it)."""
    source: str = "api"
    """What wrote the memory: ``api``, ``cli``, ``mcp``, ``langchain``, ``llama-index``, ..."""
    agent: str | None = None
    """Who wrote it, when known: the MCP client's name, an agent's id, ..."""
    redactions: tuple[str, ...] = ()
    """Kinds of secret the privacy guard redacted from the text or metadata before storing."""
    conflicts: tuple[Conflict, ...] = ()
    """What the write that returned this memory decided about duplicates and contradictions
    (empty when read back later: the write log keeps the decisions)."""


_MEMORY_FIELDS = frozenset(Memory.model_fields)


def trusted_memory(values: dict[str, Any]) -> Memory:
    """A :class:`Memory` from every field's value, already valid, without validation.

    What ``Memory.model_construct(**values)`` builds (``tests/test_models.py`` checks they
    are identical), at a fifth of the cost: recall builds one per candidate row, and the
    rows come from our own CHECK-constrained table.
    """
    if values.keys() != _MEMORY_FIELDS:
        raise ValueError(f"trusted_memory needs exactly Memory's fields: {sorted(values)}")
    return _constructed(Memory, values)


class NewMemory(BaseModel):
    """The fields ``remember`` accepts, as one item for ``remember_many``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    text: str
    category: Category | str | None = None
    importance: float | None = None
    scope: Scope | str | None = None
    metadata: Mapping[str, Any] | None = None
    pin: bool = False
    session_id: str | None = None
    event_time: datetime | None = None
    expires_at: datetime | None = None
    ttl: timedelta | None = None
    source: str | None = None
    agent: str | None = None
    on_conflict: ConflictPolicy | None = None


class ScoringWeights(BaseModel):
    """How recall blends its signals into one score.

    ``score = relevance·w_r + recency·w_t + importance·w_i + frequency·w_f``, divided by the sum
    of the weights so the score stays in [0, 1]. See ``docs/concepts.md`` for each signal.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    relevance: Annotated[float, Field(ge=0.0)] = 0.70
    recency: Annotated[float, Field(ge=0.0)] = 0.10
    importance: Annotated[float, Field(ge=0.0)] = 0.15
    frequency: Annotated[float, Field(ge=0.0)] = 0.05
    recency_half_life_days: Annotated[float, Field(gt=0.0)] = 30.0

    @field_validator("relevance", "recency", "importance", "frequency", "recency_half_life_days")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("weights must be finite numbers")
        return value

    @property
    def total(self) -> float:
        return self.relevance + self.recency + self.importance + self.frequency


class ScoreBreakdown(BaseModel):
    """Each signal behind a recall score, in [0, 1], before weighting."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    relevance: float
    recency: float
    importance: float
    frequency: float
    weights: ScoringWeights


class RecallResult(BaseModel):
    """One recalled memory and how well it matched."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    memory: Memory
    score: float
    breakdown: ScoreBreakdown


def trusted_breakdown(
    relevance: float, recency: float, importance: float, frequency: float, weights: ScoringWeights
) -> ScoreBreakdown:
    """The :class:`ScoreBreakdown` validation builds from these numbers (each made a ``float``,
    as validation makes it), without validating.

    Validating a model builds its validator first, and a process's first validator costs tens
    of ms (pydantic also scans every installed package for plugins then): a one-shot recall
    builds none. ``tests/test_models.py`` checks the two are equal.
    """
    # As trusted_memory builds a Memory: what model_construct builds, a quarter of its cost
    # (recall builds one per result).
    return _constructed(
        ScoreBreakdown,
        {
            "relevance": float(relevance),
            "recency": float(recency),
            "importance": float(importance),
            "frequency": float(frequency),
            "weights": weights,
        },
    )


def trusted_result(memory: Memory, score: float, breakdown: ScoreBreakdown) -> RecallResult:
    """``RecallResult(memory=..., score=..., breakdown=...)`` without validating (see
    :func:`trusted_breakdown`): the memory and breakdown are kept as given, as validation
    keeps model instances."""
    return _constructed(
        RecallResult, {"memory": memory, "score": float(score), "breakdown": breakdown}
    )


_M = TypeVar("_M", bound=BaseModel)


def _constructed(model: type[_M], values: dict[str, Any]) -> _M:
    """``model.model_construct(**values)`` for a model given every one of its fields, in
    their order, with no extra or private attributes (``tests/test_models.py`` compares)."""
    built = model.__new__(model)
    object.__setattr__(built, "__dict__", values)
    object.__setattr__(built, "__pydantic_fields_set__", set(values))
    object.__setattr__(built, "__pydantic_extra__", None)
    object.__setattr__(built, "__pydantic_private__", None)
    return built


def default_weights() -> ScoringWeights:
    """``ScoringWeights()`` without validating its defaults (see :func:`trusted_breakdown`)."""
    return ScoringWeights.model_construct()


class RecallExplanation(BaseModel):
    """Why recall returned what it did (``recall(..., explain=True)``)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    query_terms: list[str]
    """The words searched for, after dropping common function words."""
    filters: dict[str, Any]
    """The filters that narrowed the search."""
    candidates: int
    """How many memories matched the terms and passed the filters (before the top ``k``)."""
    returned: int
    weights: ScoringWeights
    reason: str | None = None
    """Why nothing came back, when nothing did."""


def trusted_explanation(
    query_terms: list[str],
    filters: dict[str, Any],
    candidates: int,
    returned: int,
    weights: ScoringWeights,
    reason: str | None = None,
) -> RecallExplanation:
    """``RecallExplanation(...)`` from recall's own figures, without validating (see
    :func:`trusted_breakdown`): ``recall --explain`` in a one-shot process builds no validator.
    ``tests/test_models.py`` checks the two are equal."""
    return RecallExplanation.model_construct(
        query_terms=list(query_terms),
        filters=dict(filters),
        candidates=int(candidates),
        returned=int(returned),
        weights=weights,
        reason=reason,
    )


class RecallResults(list[RecallResult]):
    """The list ``recall`` returns: results best first, plus ``explanation`` when asked for."""

    explanation: RecallExplanation | None

    def __init__(
        self, results: Iterable[RecallResult] = (), explanation: RecallExplanation | None = None
    ) -> None:
        super().__init__(results)
        self.explanation = explanation


class WriteLogEntry(BaseModel):
    """One decision a write made: stored, deduplicated, superseded, updated, forgotten..."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    at: datetime
    action: str
    memory_id: str | None
    source: str | None
    scope: Scope
    detail: dict[str, Any]


class ConflictPair(BaseModel):
    """An uncertain pair a write kept both of (a ``possible_`` conflict), waiting in the
    review queue for a judge model or a person: accept ``new`` as the replacement of ``old``,
    or keep both."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    new: Memory
    """The memory the write stored."""
    old: Memory
    """The existing memory it may duplicate or replace."""
    kind: ConflictKind
    similarity: float
    policy: ConflictPolicy
    """The conflict policy of the write: what a confident verdict applies."""
    reason: str = ""
    created_at: datetime


class JudgeReport(BaseModel):
    """What one :meth:`~memorymesh.AsyncMemoryMesh.judge_pending` run did."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    judge: str | None
    """The judge model's name, or None when no judge is configured (nothing was sent)."""
    pairs: int = 0
    """Uncertain pairs looked at."""
    sent: int = 0
    """Pairs sent to the model (the others had a cached verdict or were stale)."""
    cached: int = 0
    """Pairs answered from the verdict cache."""
    applied: int = 0
    """Confident verdicts applied with the write's policy (a supersede, or keep both)."""
    unsure: int = 0
    """Pairs the judge was not confident about, or answered malformed: left in the queue."""
    stale: int = 0
    """Pairs dropped because one of the memories is gone or no longer current."""
    decisions: tuple[Conflict, ...] = ()
    """The applied verdicts, with ``decided_by`` naming the judge."""


class SessionRecord(BaseModel):
    """One session :meth:`~memorymesh.AsyncMemoryMesh.session_start` opened, and the one it
    continues: sessions link into chains that follow the work from one to the next."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    started_at: datetime
    client: str | None = None
    """Who opened it: the MCP client's name, an agent's id, ... (None when unknown)."""
    continues: str | None = None
    """The session it picks up from (None for the first of a chain)."""


class MemoryStats(BaseModel):
    """Counts over every store the mesh has open."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    total: int
    by_scope: dict[str, int]
    by_category: dict[str, int]
    pinned: int
    superseded: int
    expired: int
    project_path: str | None
    global_path: str
    embedder: str
