"""``memorymesh-hook``: the Claude Code hook entry point, fast when there is nothing to keep.

Claude Code runs a hook command for every tool call, so its cost is paid hundreds of times a
session. This module therefore imports only the standard library: it reads the hook's JSON from
standard input, gathers the text that could hold a decision, mistake, preference or pattern
(a commit message, a decision record being written, the turn that just ended), runs the
extraction rules and noise gate on it (:mod:`memorymesh_hook._extract`), and returns at once
when nothing passes. Only then does it import MemoryMesh itself (:mod:`memorymesh.cli._capture`),
which strips injected context, drops near duplicates of stored memories and writes.

It lives outside the ``memorymesh`` package on purpose: importing ``memorymesh.anything`` runs
the package's ``__init__`` (pydantic, numpy, aiosqlite), which alone costs more than the whole
budget of a hook that has nothing to do.

Usage (what ``memorymesh hook install`` writes into Claude Code's settings)::

    memorymesh-hook post-tool-use   < hook-input.json
    memorymesh-hook stop            < hook-input.json

Set ``MEMORYMESH_AUTO_REMEMBER=0`` to switch auto-remembering off.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["EVENTS", "SIGNALS", "auto_remember_enabled", "collect_texts", "main"]

#: The command's event argument, and the ``hook_event_name`` Claude Code sends for it.
EVENTS: dict[str, str] = {"post-tool-use": "PostToolUse", "stop": "Stop"}

#: Any of these words makes a text worth a closer look (a superset of what gets extracted).
SIGNALS = re.compile(
    r"\b(?:decid\w*|decision|chose|choose|going with|went with|settled on|switch\w* to|"
    r"instead of|because|root cause|caused by|fail\w*|bug|mistake|lesson|turned out|fix\w*|"
    r"always|never|prefer\w*|don'?t|do not|from now on|make sure|convention|pattern|must)\b",
    re.IGNORECASE,
)
_MARKER = re.compile(r"<memorymesh-context|<!--\s*memorymesh:start", re.IGNORECASE)
_DECISION_DOC = re.compile(r"(?i)(?:^|/)(?:adrs?|decisions?|decision-records?)(?:/|\.md$)")
_TRANSCRIPT_TAIL_BYTES = 256 * 1024
_OFF = {"0", "false", "no", "off"}


def auto_remember_enabled() -> bool:
    """False when ``MEMORYMESH_AUTO_REMEMBER`` is ``0``/``false``/``no``/``off``."""
    return os.environ.get("MEMORYMESH_AUTO_REMEMBER", "1").strip().lower() not in _OFF


def _commit_messages(command: str) -> list[str]:
    """The ``-m``/``--message`` values of each ``git commit`` in a shell command line."""
    import shlex

    try:
        words = shlex.split(command, posix=True)
    except ValueError:
        return []
    messages: list[str] = []
    in_commit = False
    for index, word in enumerate(words):
        if word in {"&&", "||", ";", "|"}:
            in_commit = False
        elif word == "commit" and index > 0 and "git" in words[max(0, index - 3) : index]:
            in_commit = True
        elif in_commit and word in {"-m", "--message", "-am"} and index + 1 < len(words):
            messages.append(words[index + 1])
        elif in_commit and word.startswith("--message="):
            messages.append(word.split("=", 1)[1])
    return messages


def _tool_texts(event: dict[str, Any]) -> list[tuple[str, str]]:
    tool = event.get("tool_name")
    tool_input = event.get("tool_input")
    if not isinstance(tool_input, dict):
        return []
    if tool == "Bash":
        response = event.get("tool_response")
        if isinstance(response, dict) and response.get("interrupted"):
            return []
        command = tool_input.get("command")
        if isinstance(command, str) and "commit" in command:
            return [("commit", message) for message in _commit_messages(command)]
        return []
    if tool in {"Write", "Edit", "MultiEdit"}:
        path = tool_input.get("file_path")
        if not isinstance(path, str) or not _DECISION_DOC.search(path):
            return []
        parts = [tool_input.get("content"), tool_input.get("new_string")]
        edits = tool_input.get("edits")
        if isinstance(edits, list):
            parts += [e.get("new_string") for e in edits if isinstance(e, dict)]
        return [("doc", p) for p in parts if isinstance(p, str) and p.strip()]
    return []


def _message_texts(message: Any) -> list[str]:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            block["text"]
            for block in content
            if isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        ]
    return []


def _is_prompt(entry: dict[str, Any]) -> bool:
    # A user *prompt*, not a tool result fed back to the model nor a meta/command line.
    if entry.get("type") != "user" or entry.get("isMeta"):
        return False
    return bool(_message_texts(entry.get("message")))


def _read_tail(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _TRANSCRIPT_TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    lines = data.split(b"\n")
    if size > _TRANSCRIPT_TAIL_BYTES:
        lines = lines[1:]  # the first line is cut mid-way
    entries: list[dict[str, Any]] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def _turn_texts(event: dict[str, Any]) -> list[tuple[str, str]]:
    """The last turn of the conversation: the user's prompt and the assistant's answers."""
    path = event.get("transcript_path")
    entries = _read_tail(os.path.expanduser(path)) if isinstance(path, str) else []
    start = max((i for i, e in enumerate(entries) if _is_prompt(e)), default=None)
    texts: list[tuple[str, str]] = []
    if start is not None:
        texts += [("user", t) for t in _message_texts(entries[start].get("message"))]
        for entry in entries[start + 1 :]:
            if entry.get("type") == "assistant":
                texts += [("assistant", t) for t in _message_texts(entry.get("message"))]
    last = event.get("last_assistant_message")
    if isinstance(last, str) and last.strip() and all(last != t for _, t in texts):
        texts.append(("assistant", last))
    return texts


def collect_texts(event_name: str, event: dict[str, Any]) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs worth a look: kind is commit, doc, user or assistant."""
    if event_name == "post-tool-use":
        return _tool_texts(event)
    return _turn_texts(event)


def read_event(raw: str) -> dict[str, Any]:
    """The hook's input object; ValueError when standard input is not a JSON object."""
    event = json.loads(raw)
    if not isinstance(event, dict):
        raise ValueError("the hook input must be a JSON object")
    return event


def gate(event_name: str, raw: str) -> tuple[dict[str, Any], list[tuple[str, str]]] | None:
    """The event and its texts if any may hold a memory, else None (nothing to do).

    Raises:
        ValueError: standard input is not a JSON object.
    """
    if not auto_remember_enabled():
        return None
    event = read_event(raw)
    texts = collect_texts(event_name, event)
    if not any(SIGNALS.search(text) for _, text in texts):
        return None
    # Context MemoryMesh injected must be stripped before extracting, with MemoryMesh's own
    # code; text free of its markers can be judged completely right here.
    from ._extract import extract_candidates  # compiled only when a signal word appeared

    if not any(_MARKER.search(text) for _, text in texts) and not extract_candidates(texts):
        return None
    return event, texts


def main(argv: Sequence[str] | None = None) -> int:
    """Run one hook event; returns the exit code (0, also when nothing was kept).

    Without ``argv`` (the ``memorymesh-hook`` script) this is the process's command, and the
    process exits when it returns.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in EVENTS:
        print(f"usage: memorymesh-hook {{{','.join(EVENTS)}}} < hook-input.json", file=sys.stderr)
        return 2
    try:
        found = gate(args[0], sys.stdin.read())
    except ValueError as exc:
        # Said on stderr, but exit 0: a hook never fails the session it runs in (#17).
        print(f"memorymesh-hook: stdin is not a hook's JSON object: {exc}", file=sys.stderr)
        return 0
    if found is None:
        return 0
    # One event's capture is a bounded write: imported and run without the cyclic garbage
    # collector, a fifth of the process's cost (see memorymesh/_gc.py).
    from memorymesh._gc import one_shot

    with one_shot(bounded=True, exiting=argv is None):
        from memorymesh.cli._capture import capture

        return capture(args[0], *found)
