"""What the framework adapters share: how recalled memories are shown to a model, and the
bodies of the ``remember`` / ``recall`` / ``forget`` tools.

Recalled memories always reach a model inside one marked block (see ``_injected``), so any
write path that later sees that text strips it instead of storing it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import InjectedContextError, InvalidInputError, MemoryNotFoundError
from ._mesh import AsyncMemoryMesh
from ._models import Category, Memory, RecallResult, Scope
from .context._hooks import Candidate, extract
from .writes._injected import mark_injected

__all__ = [
    "CHAT_ROLES",
    "category_option",
    "forget_text",
    "format_memories",
    "recall_text",
    "remember_text",
    "remember_turns",
    "scope_option",
    "worth_remembering",
]

#: The chat roles whose words can hold something worth remembering, as extraction names them.
CHAT_ROLES = ("user", "assistant")


def scope_option(value: Scope | str | None) -> Scope | None:
    """An adapter's ``scope=`` option, checked when the adapter is built.

    Raises:
        InvalidInputError: not ``"project"``, ``"global"`` or None.
    """
    if value is None:
        return None
    try:
        return Scope(value)
    except ValueError:
        raise InvalidInputError(f"unknown scope {value!r}; use 'project' or 'global'") from None


def category_option(value: Category | str | None) -> Category | None:
    """An adapter's ``category=`` option, checked when the adapter is built.

    Raises:
        InvalidInputError: not one of the nine categories or None.
    """
    if value is None:
        return None
    try:
        return Category(value)
    except ValueError:
        valid = ", ".join(c.value for c in Category)
        raise InvalidInputError(f"unknown category {value!r}; use one of: {valid}") from None


def format_memories(hits: Sequence[RecallResult], *, heading: str = "Relevant memories") -> str:
    """A marked block listing ``hits`` with short ids, categories and dates, or ``""``."""
    if not hits:
        return ""
    lines = [f"{heading}:"]
    for hit in hits:
        m = hit.memory
        when = (m.event_time or m.created_at).date().isoformat()
        lines.append(f"- [{m.id[:12]}] ({m.category.value}, {when}) {m.text}")
    return mark_injected("\n".join(lines), label="recall")


def worth_remembering(turns: Sequence[tuple[str, str]]) -> list[Candidate]:
    """The statements worth keeping in chat ``turns`` (``(role, text)`` pairs).

    Adapters that remember a conversation use the extraction and noise gate of the Claude Code
    hook (:mod:`memorymesh_hook._extract`): injected context is stripped, and only sentences a
    rule recognises (a preference, a decision, the cause of a mistake, a convention, a fact
    about the user) pass. Questions and chit-chat state nothing and are not kept: stored, a
    question outranks its own answer in recall, and a "favourite" in it reads as a preference.
    Roles other than ``user`` and ``assistant`` are ignored.
    """
    return extract([(role, text) for role, text in turns if role in CHAT_ROLES and text])


async def remember_turns(
    mesh: AsyncMemoryMesh,
    turns: Sequence[tuple[str, str, Mapping[str, Any]]],
    *,
    scope: Scope | str | None = None,
    source: str,
    agent: str | None = None,
) -> list[Memory]:
    """Remember what is worth keeping in ``turns``, in one transaction.

    Each turn is ``(role, text, fields)``; ``fields`` (``session_id``, ``metadata``, ...) go
    onto every memory drawn from that turn, and the extraction rule is added to its metadata.
    Without ``scope``, what the assistant established stays with the project (as the hook
    does) and the rest follows its category.
    """
    items: list[dict[str, Any]] = []
    for role, text, fields in turns:
        for candidate in worth_remembering([(role, text)]):
            if len(candidate.text) > mesh.max_text_chars:
                continue  # a pasted document is not one statement: never fail the turn for it
            metadata = {**dict(fields.get("metadata") or {}), "rule": candidate.rule}
            chosen = scope
            if chosen is None and candidate.about_project and mesh.project_path:
                chosen = Scope.PROJECT
            items.append(
                {
                    **fields,
                    "text": candidate.text,
                    "category": candidate.category,
                    "scope": chosen,
                    "metadata": metadata,
                    "source": source,
                    "agent": agent,
                }
            )
    return await mesh.remember_many(items) if items else []


async def remember_text(
    mesh: AsyncMemoryMesh,
    text: str,
    *,
    category: Category | str | None = None,
    importance: float | None = None,
    scope: Scope | str | None = None,
    session_id: str | None = None,
    source: str,
    agent: str | None = None,
) -> str:
    """Store ``text`` and say what happened, in words a model can act on."""
    try:
        memory = await mesh.remember(
            text,
            category=category,
            importance=importance,
            scope=scope,
            session_id=session_id,
            source=source,
            agent=agent,
        )
    except InjectedContextError:
        return "Not stored: that text is memory MemoryMesh already gave you."
    except InvalidInputError as exc:
        return f"Not stored: {exc}"
    return f"Remembered [{memory.id[:12]}] ({memory.category.value}): {memory.text}"


async def recall_text(
    mesh: AsyncMemoryMesh, query: str, *, k: int = 5, scope: Scope | str | None = None
) -> str:
    """The memories relevant to ``query`` as a marked block, or a short "nothing" answer."""
    try:
        hits = await mesh.recall(query, k=k, scope=scope)
    except InvalidInputError as exc:
        return f"Cannot search: {exc}"
    return format_memories(hits) or "No memory matches."


async def forget_text(mesh: AsyncMemoryMesh, memory_id: str) -> str:
    """Forget the one memory whose id starts with ``memory_id`` and say what went."""
    try:
        memory = await mesh.forget(await mesh.resolve_id(memory_id.strip()))
    except MemoryNotFoundError:
        return f"No single memory has an id starting with {memory_id!r}."
    return f"Forgot [{memory.id[:12]}]: {memory.text}"
