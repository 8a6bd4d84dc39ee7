"""Session start: the memory an assistant should load before its first answer.

``session_start`` gathers what matters most at the start of a conversation — who the user is
and what they prefer, the rules never to break, the mistakes not to repeat, recent project
decisions and patterns, and (when the first message or task is known) the memories that answer
it — and fits the most useful of them into a token budget. It returns them as structured data
and as ready-to-inject text wrapped in the injected-context marker, so a write path that sees
the text again never stores it as a new memory.

Every start is recorded as a :class:`SessionRecord` linked to the session it continues (the
caller's ``continues=``, else the last session of the same client in this project, else the
last one in this project), so sessions form chains; the start opens with a short "last time"
section: what the previous session of the chain decided, changed or left open.

Fitting is greedy over one ranking: every candidate gets a priority (below), the list is sorted
by it, and each memory is kept if its line still fits the budget. Tokens are estimated as
``ceil(characters / 4)``, a documented, model-independent rule of thumb; the rendered text
(header and section titles included) never exceeds ``budget_tokens`` by that estimate.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._errors import InvalidInputError
from .._models import Category, Memory, SessionRecord
from ..writes._injected import mark_injected

if TYPE_CHECKING:
    from ._ports import MeshServices

__all__ = [
    "DEFAULT_BUDGET_TOKENS",
    "SessionContext",
    "SessionItem",
    "build_session_context",
    "estimate_tokens",
    "session_chain",
]

DEFAULT_BUDGET_TOKENS = 1500
MIN_BUDGET_TOKENS = 100
MAX_BUDGET_TOKENS = 100_000
#: One token is about four characters of English text for the common LLM tokenizers.
CHARS_PER_TOKEN = 4
# How many candidates each section considers before fitting: plenty for any sane budget.
_PER_SECTION = 40
#: The longest session id, client name or ``continues`` accepted.
MAX_SESSION_ID_CHARS = 256
_RELEVANT_K = 12

SectionName = Literal[
    "last_time", "guardrails", "relevant", "profile", "mistakes", "recent", "session"
]

#: Sections in the order the text shows them, with their headings.
SECTION_TITLES: dict[str, str] = {
    "last_time": "Last time",
    "guardrails": "Guardrails (never break these)",
    "relevant": "Relevant to the task",
    "session": "Earlier in this session",
    "profile": "About the user",
    "mistakes": "Mistakes not to repeat",
    "recent": "Recent project decisions and patterns",
}
# A section's base priority: how much a memory of that kind is worth before its own signals.
_BASE: dict[str, float] = {
    "last_time": 0.8,
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
    session_id: str | None = None
    """The session this start recorded (or resumed): pass it to ``remember(session_id=...)``
    so the next session's "last time" can find what this one did."""
    continues: str | None = None
    """The session this one continues, whose memories fill ``last_time``."""
    budget_tokens: int
    used_tokens: int
    """Estimated tokens of ``text`` (``ceil(chars / 4)``); never more than the budget."""
    last_time: list[SessionItem] = Field(default_factory=list)
    """What the previous session of the chain decided, changed or left open."""
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


#: A recall a week ago counts half as much as one today (see :func:`_recently_used`).
USE_HALF_LIFE_DAYS = 7.0


def _recently_used(memory: Memory, now: float) -> float:
    """1.0 for a memory recalled just now, halving every :data:`USE_HALF_LIFE_DAYS`; 0 for
    one never recalled. What the work needed lately is likely needed again."""
    if memory.last_accessed_at is None:
        return 0.0
    age_days = max(0.0, now - memory.last_accessed_at.timestamp()) / 86_400
    return float(0.5 ** (age_days / USE_HALF_LIFE_DAYS))


def _priority(section: str, memory: Memory, score: float | None, now: float = 0.0) -> float:
    importance = 1.0 if memory.pinned else memory.importance
    value = _BASE[section] + 0.5 * importance + 0.3 * _frequency(memory)
    value += 0.2 * _recently_used(memory, now or time.time())
    if score is not None:
        value += score
    return round(value, 6)


def _day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


_OPEN = re.compile(
    r"\b(todo|to do|next step|not yet|still need|left open|open question|unresolved|"
    r"pending|blocked|follow[- ]up|tbd|unclear|revisit)\b",
    re.IGNORECASE,
)


def what_it_did(memory: Memory) -> str:
    """How a memory of the previous session reads in "last time": ``left open`` (a question
    or a to-do), ``decided`` (a decision, rule or pattern), ``changed`` (updated since it
    was written) or ``noted``."""
    if memory.category is Category.QUESTION or _OPEN.search(memory.text):
        return "left open"
    if memory.category in (Category.DECISION, Category.GUARDRAIL, Category.PATTERN):
        return "decided"
    if memory.updated_at > memory.created_at:
        return "changed"
    return "noted"


def _line(memory: Memory, section: str = "") -> str:
    flat = " ".join(memory.text.split())
    when = _day(memory.created_at)
    if memory.event_time is not None and _day(memory.event_time) != when:
        when = f"{when}, happened {_day(memory.event_time)}"
    tags = [memory.category.value] + (["pinned"] if memory.pinned else [])
    lead = f"{what_it_did(memory)}: " if section == "last_time" else ""
    return f"- [{when}] {lead}{flat} ({', '.join(tags)})"


def _heading(name: str, query: str | None, previous: SessionRecord | None) -> str:
    heading = f"## {SECTION_TITLES[name]}"
    if name == "relevant" and query:
        heading += f': "{query}"'
    if name == "last_time" and previous is not None:
        heading += f" (session {previous.id}, {_day(previous.started_at)})"
    return heading


def _nothing_chosen(stored: int) -> str:
    # Said when no section has anything to load. "No memories yet" on a store that holds
    # some (facts that are not rules, preferences, mistakes or decisions, with no query to
    # match them) would tell the assistant there is nothing to recall.
    if stored == 0:
        return "(no memories yet)"
    noun = "memory" if stored == 1 else "memories"
    return f"(nothing to load up front; recall searches the {stored} {noun} stored)"


def _render(
    query: str | None,
    chosen: dict[str, list[SessionItem]],
    today: str,
    previous: SessionRecord | None = None,
    stored: int = 0,
) -> str:
    lines = [
        f"Memory loaded by MemoryMesh on {today} (UTC). Dates are when each memory was "
        "recorded; prefer newer ones when they disagree."
    ]
    for name in SECTION_TITLES:
        items = chosen.get(name) or []
        if not items:
            continue
        lines.append(_heading(name, query, previous))
        lines.extend(_line(item.memory, name) for item in items)
    if len(lines) == 1:
        lines.append(_nothing_chosen(stored))
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


def _check_id(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SESSION_ID_CHARS:
        raise InvalidInputError(
            f"{name} must be a non-empty string of at most {MAX_SESSION_ID_CHARS} characters"
        )
    return value.strip()


async def open_session(
    mesh: MeshServices,
    session_id: str | None,
    *,
    client: str | None,
    continues: str | None,
) -> tuple[SessionRecord, SessionRecord | None]:
    """This session's record and the one it continues (recorded now unless it is resumed).

    A ``session_id`` already recorded is resumed as it was linked. Otherwise the session
    continues ``continues`` (which must exist), else the last session of ``client`` in this
    project, else the last one in this project (``client`` None).
    """
    session_id = _check_id(session_id, "session_id")
    continues = _check_id(continues, "continues")
    client = _check_id(client, "client")
    store = mesh.stores[0]  # the project's store when there is one: sessions are per project
    if session_id is not None:
        known = await store.get_session(session_id)
        if known is not None:
            before = None if known.continues is None else await store.get_session(known.continues)
            return known, before
    if continues is not None:
        previous = await store.get_session(continues)
        if previous is None:
            raise InvalidInputError(f"continues={continues!r}: no such session in this project")
    else:
        previous = await store.latest_session(client=client)
    record = SessionRecord(
        id=session_id or uuid.uuid4().hex,
        started_at=datetime.now(UTC),
        client=client,
        continues=None if previous is None else previous.id,
    )
    async with store.write() as tx:
        await tx.add_session(record)
    return record, previous


async def session_chain(
    mesh: MeshServices, session_id: str | None = None, *, limit: int = 20
) -> list[SessionRecord]:
    """The implementation of :meth:`AsyncMemoryMesh.session_history` (see there)."""
    session_id = _check_id(session_id, "session_id")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInputError("limit must be an integer from 1 to 1000")
    store = mesh.stores[0]
    if session_id is None:
        current = await store.latest_session()
    else:
        current = await store.get_session(session_id)
        if current is None:
            raise InvalidInputError(f"no session {session_id!r} in this project")
    chain: list[SessionRecord] = []
    seen: set[str] = set()
    while current is not None and len(chain) < limit and current.id not in seen:
        chain.append(current)
        seen.add(current.id)  # an explicit continues= can never make a loop, but be sure
        current = None if current.continues is None else await store.get_session(current.continues)
    return chain


async def build_session_context(
    mesh: MeshServices,
    query: str | None = None,
    *,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    session_id: str | None = None,
    client: str | None = None,
    continues: str | None = None,
) -> SessionContext:
    """The implementation of :meth:`AsyncMemoryMesh.session_start` (see there)."""
    query = _check(query, budget_tokens)
    candidates: list[SessionItem] = []
    now = time.time()

    def add(section: SectionName, memories: list[Memory]) -> None:
        for memory in memories:
            candidates.append(
                SessionItem(
                    memory=memory,
                    section=section,
                    priority=_priority(section, memory, None, now),
                )
            )

    record, previous = await open_session(mesh, session_id, client=client, continues=continues)
    if previous is not None:
        add("last_time", await mesh.list(session_id=previous.id, limit=_PER_SECTION))

    if query is not None:
        # Relevant memories first: they are the reason a task-aware start beats a dump.
        for hit in await mesh.recall(query[: mesh.max_text_chars], k=_RELEVANT_K):
            candidates.append(
                SessionItem(
                    memory=hit.memory,
                    section="relevant",
                    priority=_priority("relevant", hit.memory, hit.score, now),
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
    stored = await mesh.count()
    used = estimate_tokens(_render(query, {}, today, previous, stored))
    # The empty render holds a "nothing chosen" line that disappears once anything fits.
    used -= estimate_tokens("\n" + _nothing_chosen(stored)) - 1
    for item in candidates:
        if item.memory.id in seen:
            continue
        seen.add(item.memory.id)
        section_cost = (
            0
            if chosen.get(item.section)
            else estimate_tokens("\n" + _heading(item.section, query, previous))
        )
        cost = section_cost + estimate_tokens("\n" + _line(item.memory, item.section))
        if used + cost > budget_tokens:
            omitted += 1
            continue
        used += cost
        chosen.setdefault(item.section, []).append(item)

    # Within a section, the text reads best in priority order, which ``chosen`` already has.
    text = _render(query, chosen, today, previous, stored)
    # Per-line rounding can make the sum of estimates differ from the whole: trim to be sure.
    while estimate_tokens(text) > budget_tokens and any(chosen.values()):
        name = min(
            (n for n, items in chosen.items() if items),
            key=lambda n: chosen[n][-1].priority,
        )
        chosen[name].pop()
        omitted += 1
        text = _render(query, chosen, today, previous, stored)
    return SessionContext(
        query=query,
        session_id=record.id,
        continues=record.continues,
        budget_tokens=budget_tokens,
        used_tokens=estimate_tokens(text),
        omitted=omitted,
        text=text,
        last_time=chosen.get("last_time", []),
        guardrails=chosen.get("guardrails", []),
        relevant=chosen.get("relevant", []),
        session=chosen.get("session", []),
        profile=chosen.get("profile", []),
        mistakes=chosen.get("mistakes", []),
        recent=chosen.get("recent", []),
    )
