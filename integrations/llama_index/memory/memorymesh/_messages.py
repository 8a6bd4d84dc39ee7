"""Between LlamaIndex chat messages and MemoryMesh memories."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from memorymesh import AsyncMemoryMesh, Memory, Scope, strip_injected
from memorymesh._adapters import remember_turns

__all__ = [
    "DEFAULT_ROLES",
    "MAX_QUERY_CHARS",
    "input_text",
    "latest_user_text",
    "recall_query",
    "store_messages",
]

#: A recall query is the end of what the user said, at most this long: a pasted document
#: must not make recall refuse (the mesh refuses queries over its text limit) or crawl.
MAX_QUERY_CHARS = 2000

#: Only what the user and the assistant said is worth keeping; system and tool messages are
#: instructions and machinery (and a system message may hold recalled context).
DEFAULT_ROLES: tuple[str, ...] = (MessageRole.USER.value, MessageRole.ASSISTANT.value)


# Memory wraps each block in its template's tags (<memory><memorymesh>...</memorymesh></memory>);
# once the injected block inside is stripped, the empty tags around it are residue too.
_EMPTY_TAGS = re.compile(r"<([A-Za-z][\w-]*)>\s*</\1>")


def without_injected(text: str) -> str:
    """``text`` without injected blocks, nor the empty template tags they leave behind."""
    text = strip_injected(text)
    while (emptied := _EMPTY_TAGS.sub("", text)) != text:
        text = emptied
    return text.strip()


def _text(message: ChatMessage) -> str:
    content = message.content
    return content if isinstance(content, str) else ""


def input_text(value: object) -> str:
    """What ``get(input)`` was given, as text: a string, a ``ChatMessage``'s text, or any
    other value as ``str(value)`` (``None`` is no input)."""
    if value is None:
        return ""
    if isinstance(value, ChatMessage):
        return without_injected(_text(value))
    return without_injected(value if isinstance(value, str) else str(value))


def recall_query(input: object, messages: Sequence[ChatMessage] | None) -> str:
    """What to recall for: the current user turn (``input``, else the latest user message)
    with the user turn before it, so a follow-up such as "And Germany?" carries the question
    it follows. Injected context is left out; the result is at most
    :data:`MAX_QUERY_CHARS` long (its end)."""
    said = [
        text
        for m in messages or ()
        if m.role == MessageRole.USER and (text := without_injected(_text(m)))
    ]
    current = input_text(input)
    if current:
        if said and said[-1] == current:
            said.pop()
        turns = [*said[-1:], current]
    else:
        turns = said[-2:]
    return "\n".join(turns)[-MAX_QUERY_CHARS:].strip()


def latest_user_text(messages: Sequence[ChatMessage] | None) -> str:
    """The latest user message without any context MemoryMesh injected, or ``""``."""
    for message in reversed(messages or ()):
        if message.role == MessageRole.USER:
            return without_injected(_text(message))
    return ""


async def store_messages(
    mesh: AsyncMemoryMesh,
    messages: Sequence[ChatMessage],
    *,
    session_id: str | None,
    roles: Sequence[str] = DEFAULT_ROLES,
    agent: str | None = None,
    scope: Scope | None = None,
) -> list[Memory]:
    """Remember what is worth keeping in the messages of ``roles``, in one transaction.

    Messages are not stored verbatim: injected context is dropped, and only the statements
    the hook's extraction keeps are remembered (see
    :func:`memorymesh._adapters.worth_remembering`), so a question or a greeting adds nothing.
    A message's own ``additional_kwargs["session_id"]`` (set by ``Memory`` when it flushes)
    wins over ``session_id``.
    """
    turns: list[tuple[str, str, dict[str, Any]]] = []
    for message in messages:
        role = message.role.value if isinstance(message.role, MessageRole) else str(message.role)
        text = without_injected(_text(message))
        if role not in roles or not text:
            continue
        own = message.additional_kwargs.get("session_id")
        fields = {
            "session_id": own if isinstance(own, str) and own else session_id,
            "metadata": {"role": role},
        }
        turns.append((role, text, fields))
    return await remember_turns(mesh, turns, scope=scope, source="llama-index", agent=agent)
