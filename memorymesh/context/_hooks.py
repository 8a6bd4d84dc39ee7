"""Auto-remember for Claude Code: from hook events to the review queue.

``memorymesh_hook`` (standard library only) decides quickly whether an event may hold anything;
this module does the rest when it might:

1. **Strip injected context** — text MemoryMesh itself put in the conversation (session-start
   blocks, synced instruction-file sections) is removed before anything else.
2. **Extract** sentences that state a decision, a mistake and its cause, a user preference or
   a project convention, with plain word-form rules (see :data:`RULES`).
3. **Noise gate** — too short or too long, too little content (code, paths, logs), a near
   duplicate of another candidate or of a recent memory: dropped.
4. **Store** what is left in one ``remember_many(..., review=True)`` call: one transaction, the
   privacy guard and the injected-context check of every write, and into the review queue,
   so nothing captured is recalled before a person accepts it.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from memorymesh_hook._extract import (
    NEAR_DUPLICATE,
    RULES,
    Candidate,
    content_words,
    extract_candidates,
    similarity,
)

from .._errors import InvalidInputError
from .._paths import IN_MEMORY, configured_db, find_project_root, project_store_path
from ..stores._filters import Filters
from ..writes._injected import strip_injected

if TYPE_CHECKING:
    from ._ports import MeshServices

__all__ = [
    "HOOK_COMMANDS",
    "RULES",
    "Candidate",
    "extract",
    "install_claude_hooks",
    "project_db_for",
    "queue_captures",
    "settings_path",
]

#: What ``install_claude_hooks`` registers, per Claude Code hook event: the tool matcher and
#: the ``memorymesh-hook`` argument.
HOOK_COMMANDS: dict[str, tuple[str | None, str]] = {
    "PostToolUse": ("Bash|Write|Edit|MultiEdit", "post-tool-use"),
    "Stop": (None, "stop"),
}
RECENT_WINDOW = 300


def extract(texts: Sequence[tuple[str, str]]) -> list[Candidate]:
    """The candidates in ``(kind, text)`` pairs, after stripping the context MemoryMesh
    injected and the noise gate (see :mod:`memorymesh_hook._extract`)."""
    return extract_candidates([(kind, strip_injected(text)) for kind, text in texts])


def project_db_for(event: dict[str, Any]) -> str | None:
    """``$MEMORYMESH_DB`` if set (a team's server), else the project store of the folder a
    hook event happened in, if it is in a project."""
    configured = configured_db()
    if configured is not None:
        return configured
    cwd = event.get("cwd")
    start = Path(cwd) if isinstance(cwd, str) and os.path.isdir(cwd) else None
    root = find_project_root(start)
    return None if root is None else str(project_store_path(root))


async def queue_captures(
    mesh: MeshServices, event_name: str, event: dict[str, Any], candidates: Sequence[Candidate]
) -> list[str]:
    """Queue the candidates of one hook event for review; return the queued ids."""
    session = event.get("session_id")
    session_id = session if isinstance(session, str) and 0 < len(session) <= 256 else None
    tool = event.get("tool_name")
    metadata: dict[str, Any] = {"hook": event.get("hook_event_name") or event_name}
    if isinstance(tool, str):
        metadata["tool"] = tool
    # Near duplicates of what the stores already hold (whatever its status: a rejected
    # capture must stay rejected) are dropped here; exact ones by remember_many itself.
    recent: list[set[str]] = []
    now = time.time()
    for store in mesh.stores:
        for memory in await store.select(
            Filters(status=None, include_superseded=True, include_expired=True),
            order="updated",
            limit=RECENT_WINDOW,
            offset=0,
            now=now,
        ):
            recent.append(content_words(memory.text))
    items = [
        {
            "text": c.text,
            "category": c.category,
            "scope": "project" if c.about_project and mesh.project_path else None,
            "session_id": session_id,
            "metadata": {**metadata, "rule": c.rule},
        }
        for c in candidates
        if not any(similarity(content_words(c.text), r) >= NEAR_DUPLICATE for r in recent)
    ]
    if not items:
        return []
    # created_at is kept to the microsecond: round down so a memory queued now counts.
    started = math.floor(time.time() * 1e6) / 1e6
    stored = await mesh.remember_many(items, review=True)
    return [m.id for m in stored if m.created_at.timestamp() >= started]


# -- installing the hooks -----------------------------------------------------------------------


def settings_path(scope: Literal["user", "project"] = "user") -> Path:
    """Claude Code's settings file: ``~/.claude/settings.json`` or the project's own."""
    if scope == "user":
        return Path.home() / ".claude" / "settings.json"
    root = find_project_root() or Path.cwd()
    return root / ".claude" / "settings.json"


def hook_program() -> str:
    """The ``memorymesh-hook`` command to register: the one installed beside this Python (an
    absolute path, since Claude Code may not run hooks with the virtualenv on its PATH), or
    the bare name when it cannot be found."""
    beside = Path(sys.executable).parent / "memorymesh-hook"
    found = str(beside) if beside.is_file() else shutil.which("memorymesh-hook")
    return shlex.quote(found) if found else "memorymesh-hook"


def _is_ours(hook: Any, argument: str) -> bool:
    # Any memorymesh-hook entry for this event counts, wherever it was installed from, so a
    # second install (from another virtualenv) does not add a second entry.
    command = hook.get("command") if isinstance(hook, dict) else None
    return isinstance(command, str) and (
        command.endswith((f"memorymesh-hook {argument}", f"memorymesh-hook' {argument}"))
        or f"memorymesh hook {argument}" in command
    )


def install_claude_hooks(
    settings: str | os.PathLike[str], *, dry_run: bool = False
) -> tuple[dict[str, Any], bool]:
    """Merge MemoryMesh's hook entries into a Claude Code ``settings.json``.

    Every other setting and hook is kept as it is; an entry already present (same command) is
    not added twice, so installing again changes nothing.

    Returns:
        The merged settings and whether the file changed (with ``dry_run``, would change).

    Raises:
        InvalidInputError: the file is not a JSON object, its ``hooks`` section is malformed,
            or it cannot be written. The file is left as it was.
    """
    path = Path(os.fspath(settings)).expanduser()
    if str(path) == IN_MEMORY:
        raise InvalidInputError("settings must be a file path")
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        data: Any = json.loads(text) if text.strip() else {}
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read {path} as JSON: {exc}; fix it first") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} must hold a JSON object")
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise InvalidInputError(f"{path}: 'hooks' must be an object")
    changed = False
    program = hook_program()
    for event, (matcher, argument) in HOOK_COMMANDS.items():
        command = f"{program} {argument}"
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise InvalidInputError(f"{path}: hooks.{event} must be a list")
        present = any(
            isinstance(group, dict)
            and isinstance(group.get("hooks"), list)
            and any(_is_ours(h, argument) for h in group["hooks"])
            for group in groups
        )
        if present:
            continue
        entry: dict[str, Any] = {"hooks": [{"type": "command", "command": command, "timeout": 30}]}
        if matcher is not None:
            entry = {"matcher": matcher, **entry}
        groups.append(entry)
        changed = True
    if changed and not dry_run:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, scratch = tempfile.mkstemp(prefix=".settings.", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, ensure_ascii=False)
                handle.write("\n")
            os.replace(scratch, path)
        except OSError as exc:
            raise InvalidInputError(f"cannot write {path}: {exc}") from None
    return data, changed
