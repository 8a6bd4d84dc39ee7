"""Session start: the memory an assistant should load before its first answer.

``session_start`` gathers what matters most at the start of a conversation — who the user is
and what they prefer, the rules never to break, the mistakes not to repeat, recent project
decisions and patterns, and (when the first message or task is known) the memories that answer
it — and fits the most useful of them into a token budget. It returns them as structured data
and as ready-to-inject text wrapped in the injected-context marker, so a write path that sees
the text again never stores it as a new memory.

Fitting is greedy over one ranking: every candidate gets a priority (below), the list is sorted
by it, and each memory is kept if its line still fits the budget. Tokens are estimated as
``ceil(characters / 4)``, a documented, model-independent rule of thumb; the rendered text
(header and section titles included) never exceeds ``budget_tokens`` by that estimate.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._errors import InvalidInputError
from .._models import Category, Memory
from ..writes._injected import mark_injected

if TYPE_CHECKING:
    from ._ports import MeshServices

__all__ = [
    "DEFAULT_BUDGET_TOKENS",
    "SessionContext",
    "SessionItem",
    "build_session_context",
    "estimate_tokens",
]

DEFAULT_BUDGET_TOKENS = 1500
MIN_BUDGET_TOKENS = 100
MAX_BUDGET_TOKENS = 100_000
#: One token is about four characters of English text for the common LLM tokenizers.
CHARS_PER_TOKEN = 4
# How many candidates each section considers before fitting: plenty for any sane budget.
_PER_SECTION = 40
_RELEVANT_K = 12

SectionName = Literal["guardrails", "relevant", "profile", "mistakes", "recent", "session"]

#: Sections in the order the text shows them, with their headings.
SECTION_TITLES: dict[str, str] = {
    "guardrails": "Guardrails (never break these)",
    "relevant": "Relevant to the task",
    "session": "Earlier in this session",
    "profile": "About the user",
    "mistakes": "Mistakes not to repeat",
    "recent": "Recent project decisions and patterns",
}
# A section's base priority: how much a memory of that kind is worth before its own signals.
_BASE: dict[str, float] = {
    "guardrails": 1.0,
    "relevant": 1.1,
    "session": 0.6,
    "profile": 0.7,
    "mistakes": 0.6,
    "recent": 0.5,
}


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` costs, estimated as ``ceil(len(text) / 4)``."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class SessionItem(BaseModel):
    """One memory chosen for the session context, and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    memory: Memory
    section: SectionName
    priority: float
    """The ranking key: the section's base worth plus importance, use and (for relevant
    memories) the recall score."""
    score: float | None = None
    """The recall score, for memories relevant to the query."""


class SessionContext(BaseModel):
    """What an assistant should know at the start of a session, fitted to a token budget.

    The sections hold the chosen memories, most useful first. ``text`` is the same content
    ready to put in a system prompt: dated lines grouped by section, wrapped in the
    ``<memorymesh-context>`` marker so it is never stored back as a new memory.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    query: str | None
    budget_tokens: int
    used_tokens: int
    """Estimated tokens of ``text`` (``ceil(chars / 4)``); never more than the budget."""
    guardrails: list[SessionItem] = Field(default_factory=list)
    relevant: list[SessionItem] = Field(default_factory=list)
    session: list[SessionItem] = Field(default_factory=list)
    profile: list[SessionItem] = Field(default_factory=list)
    mistakes: list[SessionItem] = Field(default_factory=list)
    recent: list[SessionItem] = Field(default_factory=list)
    omitted: int = 0
    """Candidates that did not fit the budget."""
    text: str

    @property
    def items(self) -> list[SessionItem]:
        """Every chosen memory, in the order the text shows them."""
        return [item for name in SECTION_TITLES for item in getattr(self, name)]


def _frequency(memory: Memory) -> float:
    # The same saturation as recall's frequency signal: 50 uses count as "always useful".
    return min(1.0, math.log1p(memory.access_count) / math.log(51))


def _priority(section: str, memory: Memory, score: float | None) -> float:
    importance = 1.0 if memory.pinned else memory.importance
    value = _BASE[section] + 0.5 * importance + 0.3 * _frequency(memory)
    if score is not None:
        value += score
    return round(value, 6)


def _day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


def _line(memory: Memory) -> str:
    flat = " ".join(memory.text.split())
    when = _day(memory.created_at)
    if memory.event_time is not None and _day(memory.event_time) != when:
        when = f"{when}, happened {_day(memory.event_time)}"
    tags = [memory.category.value] + (["pinned"] if memory.pinned else [])
    return f"- [{when}] {flat} ({', '.join(tags)})"


def _render(query: str | None, chosen: dict[str, list[SessionItem]], today: str) -> str:
    lines = [
        f"Memory loaded by MemoryMesh on {today} (UTC). Dates are when each memory was "
        "recorded; prefer newer ones when they disagree."
    ]
    for name, title in SECTION_TITLES.items():
        items = chosen.get(name) or []
        if not items:
            continue
        heading = f"## {title}" + (f': "{query}"' if name == "relevant" and query else "")
        lines.append(heading)
        lines.extend(_line(item.memory) for item in items)
    if len(lines) == 1:
        lines.append("(no memories yet)")
    return mark_injected("\n".join(lines), label="session-start")


def _check(query: str | None, budget_tokens: int) -> str | None:
    if isinstance(budget_tokens, bool) or not isinstance(budget_tokens, int):
        raise InvalidInputError("budget_tokens must be an integer")
    if not MIN_BUDGET_TOKENS <= budget_tokens <= MAX_BUDGET_TOKENS:
        raise InvalidInputError(
            f"budget_tokens must be from {MIN_BUDGET_TOKENS} to {MAX_BUDGET_TOKENS}"
        )
    if query is None:
        return None
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, not {type(query).__name__}")
    cleaned = " ".join(query.split())
    return cleaned or None


async def build_session_context(
    mesh: MeshServices,
    query: str | None = None,
    *,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    session_id: str | None = None,
) -> SessionContext:
    """The implementation of :meth:`AsyncMemoryMesh.session_start` (see there)."""
    query = _check(query, budget_tokens)
    candidates: list[SessionItem] = []

    def add(section: SectionName, memories: list[Memory]) -> None:
        for memory in memories:
            candidates.append(
                SessionItem(
                    memory=memory, section=section, priority=_priority(section, memory, None)
                )
            )

    if query is not None:
        # Relevant memories first: they are the reason a task-aware start beats a dump.
        for hit in await mesh.recall(query[: mesh.max_text_chars], k=_RELEVANT_K):
            candidates.append(
                SessionItem(
                    memory=hit.memory,
                    section="relevant",
                    priority=_priority("relevant", hit.memory, hit.score),
                    score=hit.score,
                )
            )
    add(
        "guardrails",
        await mesh.list(category=Category.GUARDRAIL, order="importance", limit=_PER_SECTION),
    )
    if session_id is not None:
        add("session", await mesh.list(session_id=session_id, limit=_PER_SECTION))
    add(
        "profile",
        await mesh.list(
            category=[Category.PERSONALITY, Category.PREFERENCE],
            order="importance",
            limit=_PER_SECTION,
        ),
    )
    add(
        "mistakes",
        await mesh.list(category=Category.MISTAKE, order="importance", limit=_PER_SECTION),
    )
    add(
        "recent",
        await mesh.list(
            category=[Category.DECISION, Category.PATTERN], order="newest", limit=_PER_SECTION
        ),
    )

    # Highest priority first; a memory found by several sections is kept once, where it
    # ranked best (a guardrail that also answers the query shows as relevant).
    candidates.sort(key=lambda item: item.priority, reverse=True)
    today = _day(datetime.now(UTC))
    chosen: dict[str, list[SessionItem]] = {}
    seen: set[str] = set()
    omitted = 0
    used = estimate_tokens(_render(query, {}, today))
    # The empty render holds a "(no memories yet)" line that disappears once anything fits.
    used -= estimate_tokens("\n(no memories yet)") - 1
    for item in candidates:
        if item.memory.id in seen:
            continue
        seen.add(item.memory.id)
        section_cost = (
            0
            if chosen.get(item.section)
            else estimate_tokens(
                f"\n## {SECTION_TITLES[item.section]}"
                + (f': "{query}"' if query and item.section == "relevant" else "")
            )
        )
        cost = section_cost + estimate_tokens("\n" + _line(item.memory))
        if used + cost > budget_tokens:
            omitted += 1
            continue
        used += cost
        chosen.setdefault(item.section, []).append(item)

    # Within a section, the text reads best in priority order, which ``chosen`` already has.
    text = _render(query, chosen, today)
    # Per-line rounding can make the sum of estimates differ from the whole: trim to be sure.
    while estimate_tokens(text) > budget_tokens and any(chosen.values()):
        name = min(
            (n for n, items in chosen.items() if items),
            key=lambda n: chosen[n][-1].priority,
        )
        chosen[name].pop()
        omitted += 1
        text = _render(query, chosen, today)
    return SessionContext(
        query=query,
        budget_tokens=budget_tokens,
        used_tokens=estimate_tokens(text),
        omitted=omitted,
        text=text,
        guardrails=chosen.get("guardrails", []),
        relevant=chosen.get("relevant", []),
        session=chosen.get("session", []),
        profile=chosen.get("profile", []),
        mistakes=chosen.get("mistakes", []),
        recent=chosen.get("recent", []),
    )
