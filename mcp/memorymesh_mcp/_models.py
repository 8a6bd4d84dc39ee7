"""What the tools return: plain, flat pydantic models (their JSON schemas are the outputSchema).

Dates are ISO 8601 strings in UTC and enums are plain strings, so an assistant reads them
without knowing MemoryMesh's types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from memorymesh import Memory, MemoryStats, SessionContext

__all__ = [
    "ForgetResult",
    "ListResult",
    "MemoryOut",
    "RecallHit",
    "RecallOut",
    "RememberResult",
    "SessionItemOut",
    "SessionStartResult",
    "StatsOut",
]


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


class MemoryOut(BaseModel):
    """One memory."""

    id: str = Field(description="The memory's id (any unique prefix works in other tools)")
    text: str
    category: str
    importance: float
    scope: str = Field(description="'project' (this codebase) or 'global' (follows the user)")
    pinned: bool
    metadata: dict[str, Any]
    created_at: str = Field(description="When it was recorded (ISO 8601, UTC)")
    updated_at: str
    event_time: str | None = Field(default=None, description="When it happened, if known")
    expires_at: str | None = None
    access_count: int
    superseded_by: str | None = None
    source: str
    agent: str | None = None
    session_id: str | None = None

    @classmethod
    def of(cls, memory: Memory) -> MemoryOut:
        return cls(
            id=memory.id,
            text=memory.text,
            category=memory.category.value,
            importance=round(memory.importance, 4),
            scope=memory.scope.value,
            pinned=memory.pinned,
            metadata=dict(memory.metadata),
            created_at=memory.created_at.isoformat(),
            updated_at=memory.updated_at.isoformat(),
            event_time=_iso(memory.event_time),
            expires_at=_iso(memory.expires_at),
            access_count=memory.access_count,
            superseded_by=memory.superseded_by,
            source=memory.source,
            agent=memory.agent,
            session_id=memory.session_id,
        )


class RememberResult(BaseModel):
    """What a remember call did."""

    status: Literal["stored", "duplicate", "not_stored_injected_context"] = Field(
        description="stored: a new memory; duplicate: already remembered (the existing memory "
        "is returned); not_stored_injected_context: the text was only memory context "
        "MemoryMesh itself supplied, so nothing was written"
    )
    message: str
    memory: MemoryOut | None = None


class ScoreParts(BaseModel):
    """The signals behind a score, each in [0, 1], with the weight recall gave it."""

    relevance: float
    recency: float
    importance: float
    frequency: float
    weights: dict[str, float]


class RecallHit(BaseModel):
    """A recalled memory and how well it matched (score 0 to 1)."""

    score: float
    memory: MemoryOut
    why: ScoreParts | None = None


class RecallOut(BaseModel):
    """Recall results, best first."""

    query: str
    count: int
    results: list[RecallHit]
    terms: list[str] | None = None
    filters: dict[str, Any] | None = None
    reason: str | None = None


class ListResult(BaseModel):
    """A page of memories."""

    count: int
    memories: list[MemoryOut]


class ForgetResult(BaseModel):
    """The memory that was deleted."""

    forgotten: MemoryOut


class SessionItemOut(BaseModel):
    """One memory chosen for the session context."""

    section: str = Field(description="guardrails, relevant, session, profile, mistakes or recent")
    id: str
    text: str
    category: str
    created_at: str
    pinned: bool
    score: float | None = Field(default=None, description="Recall score, for relevant memories")


class SessionStartResult(BaseModel):
    """Context to load at the start of a session."""

    text: str = Field(description="Ready-to-use context: put it in your working memory as is")
    query: str | None
    session_id: str | None = Field(
        default=None, description="This session's id: pass it as session_id to remember"
    )
    continues: str | None = Field(
        default=None, description="The earlier session this one continues ('last time')"
    )
    budget_tokens: int
    used_tokens: int = Field(description="Estimated tokens of text (characters / 4)")
    omitted: int = Field(description="Memories that did not fit the budget")
    items: list[SessionItemOut]

    @classmethod
    def of(cls, context: SessionContext) -> SessionStartResult:
        return cls(
            text=context.text,
            query=context.query,
            session_id=context.session_id,
            continues=context.continues,
            budget_tokens=context.budget_tokens,
            used_tokens=context.used_tokens,
            omitted=context.omitted,
            items=[
                SessionItemOut(
                    section=item.section,
                    id=item.memory.id,
                    text=item.memory.text,
                    category=item.memory.category.value,
                    created_at=item.memory.created_at.isoformat(),
                    pinned=item.memory.pinned,
                    score=item.score,
                )
                for item in context.items
            ],
        )


class StatsOut(BaseModel):
    """Counts over both stores, and where they live."""

    total: int
    by_scope: dict[str, int]
    by_category: dict[str, int]
    pinned: int
    superseded: int
    expired: int
    project_store: str | None = Field(description="None when no project was detected")
    global_store: str
    client: str | None = Field(description="The MCP client's name, recorded as agent on writes")

    @classmethod
    def of(cls, stats: MemoryStats, client: str | None) -> StatsOut:
        return cls(
            total=stats.total,
            by_scope=stats.by_scope,
            by_category=stats.by_category,
            pinned=stats.pinned,
            superseded=stats.superseded,
            expired=stats.expired,
            project_store=stats.project_path,
            global_store=stats.global_path,
            client=client,
        )
