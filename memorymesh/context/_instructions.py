"""Smart Sync: the most useful memories, kept in the AI tools' own instruction files.

Claude Code reads ``CLAUDE.md`` (and ``MEMORY.md``), Codex CLI ``AGENTS.md``, Gemini CLI
``GEMINI.md`` and Cursor the rules in ``.cursor/rules/*.mdc``. Each of them loads that file into
every session with no tool call at all, which is what makes memory *invisible*: the model starts
every conversation already knowing the guardrails, mistakes and decisions that matter most.

MemoryMesh owns only a marked section of each file (``SYNC_START`` … ``SYNC_END``, HTML comments
that render as nothing), so whatever the user wrote around it is never touched. Each entry carries
its memory's id in a trailing comment, which is how :func:`sync_from` tells a hand edit of an
existing memory from a new line, and why a round trip (write, then read back) changes nothing.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field

from .._errors import InvalidInputError, MemoryNotFoundError
from .._models import Category, Memory, Scope
from .._paths import find_project_root
from .._text import content_hash, query_terms
from ..search._scoring import frequency_signal
from ..writes._injected import SYNC_END, SYNC_START, neutralise_markers, restore_markers

if TYPE_CHECKING:
    from ._ports import MeshServices

__all__ = [
    "FORMATS",
    "SyncFormat",
    "SyncReport",
    "SyncWeights",
    "detect_targets",
    "is_question",
    "parse_section",
    "rank_for_sync",
    "render_section",
    "replace_section",
    "sync_from",
    "sync_to",
    "synced_targets",
]

SyncFormat = Literal["claude", "codex", "gemini", "cursor"]
FORMATS: tuple[str, ...] = ("claude", "codex", "gemini", "cursor")

#: The files ``--to auto`` looks for, in order, relative to the project root.
_KNOWN_FILES: tuple[tuple[str, SyncFormat], ...] = (
    ("CLAUDE.md", "claude"),
    ("MEMORY.md", "claude"),
    ("AGENTS.md", "codex"),
    ("GEMINI.md", "gemini"),
    (".cursor/rules/memorymesh.mdc", "cursor"),
)
_DEFAULT_FILE: dict[str, str] = {
    "claude": "CLAUDE.md",
    "codex": "AGENTS.md",
    "gemini": "GEMINI.md",
    "cursor": ".cursor/rules/memorymesh.mdc",
}
_TOOL_NAME: dict[str, str] = {
    "claude": "Claude Code",
    "codex": "Codex CLI",
    "gemini": "Gemini CLI",
    "cursor": "Cursor",
}
# Cursor applies a rule only as its front matter says: this one is always on.
_CURSOR_FRONT_MATTER = (
    "---\ndescription: Memories synced by MemoryMesh (guardrails, decisions, preferences)\n"
    "globs:\nalwaysApply: true\n---\n"
)

# The order of the groups is the order of importance to a model starting work.
_HEADINGS: tuple[tuple[Category, str], ...] = (
    (Category.GUARDRAIL, "Guardrails"),
    (Category.MISTAKE, "Mistakes to avoid"),
    (Category.PREFERENCE, "Preferences"),
    (Category.DECISION, "Decisions"),
    (Category.PATTERN, "Patterns"),
    (Category.PERSONALITY, "About the user"),
    (Category.CONTEXT, "Context"),
    (Category.QUESTION, "Open questions"),
    (Category.SESSION_SUMMARY, "Session summaries"),
)
_CATEGORY_BY_HEADING = {title.casefold(): category for category, title in _HEADINGS}

_ID_COMMENT = re.compile(r"\s*<!--\s*mm:([0-9a-f]{6,64})\s*-->\s*$")
_BULLET = re.compile(r"^[-*+]\s+(.*)$")
_HEADING = re.compile(r"^#{2,6}\s+(.*?)\s*#*\s*$")
_START = re.compile(r"<!--\s*memorymesh:start\s*-->", re.IGNORECASE)
_END = re.compile(r"<!--\s*memorymesh:end\s*-->", re.IGNORECASE)
_SECONDS_PER_DAY = 86_400.0
_SAME_WORDS = 0.75
#: How much of a memory's id each synced line carries (a unique prefix is enough).
ID_CHARS = 12


class SyncWeights(BaseModel):
    """How Smart Sync ranks memories when there is no query to match.

    ``score = importance·w_i + recency·w_t + frequency·w_f`` (divided by the weights' sum),
    with the same signals as recall: pinned memories count as importance 1, recency halves
    every ``recency_half_life_days`` since the memory was last updated, and frequency grows
    with how often recall returned the memory.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    importance: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.6
    recency: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.25
    frequency: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.15
    recency_half_life_days: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 30.0


class SyncReport(BaseModel):
    """What one sync did to one file, or (``direction="from"``) to the memory."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    format: str
    direction: Literal["to", "from"]
    changed: bool
    """Whether the file (``to``) or the stores (``from``) changed."""
    entries: int
    """Entries written into the section, or read from it."""
    created: list[str] = Field(default_factory=list)
    """Ids of memories created from new lines (``from``)."""
    updated: list[str] = Field(default_factory=list)
    """Ids of memories whose text or category was edited by hand (``from``)."""
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a synced section: its text, its group's category and its memory id."""

    text: str
    category: Category | None
    memory_id: str | None


# -- ranking ------------------------------------------------------------------------------------


def _sync_score(memory: Memory, weights: SyncWeights, now: float) -> float:
    age_days = max(0.0, now - memory.updated_at.timestamp()) / _SECONDS_PER_DAY
    recency = 0.5 ** (age_days / weights.recency_half_life_days)
    importance = 1.0 if memory.pinned else memory.importance
    total = weights.importance + weights.recency + weights.frequency or 1.0
    return (
        float(
            weights.importance * importance
            + weights.recency * recency
            + weights.frequency * frequency_signal(memory.access_count)
        )
        / total
    )


def rank_for_sync(
    memories: Iterable[Memory],
    *,
    limit: int,
    weights: SyncWeights | None = None,
    now: float | None = None,
    max_entry_chars: int = 400,
) -> list[Memory]:
    """The ``limit`` best memories by ``weights``, best first (ties: older first, then id).

    Memories longer than ``max_entry_chars`` are left out, and so is a memory sharing 75% of
    its content words with a better-ranked one: an instruction file is read in full by every
    session, and every line there costs its tokens every time. A question is left out too:
    it states nothing, and in an instruction file a model would read it as something to act on.
    """
    chosen = weights or SyncWeights()
    at = time.time() if now is None else now
    candidates = {
        m.id: m for m in memories if len(m.text) <= max_entry_chars and not is_question(m.text)
    }
    ranked = sorted(
        candidates.values(),
        key=lambda m: (-_sync_score(m, chosen, at), m.created_at.timestamp(), m.id),
    )
    # A near-duplicate of a line already chosen would spend tokens saying the same thing.
    picked: list[Memory] = []
    seen: list[set[str]] = []
    for memory in ranked:
        words = _words(memory.text)
        if any(len(words & other) / len(words | other) >= _SAME_WORDS for other in seen if words):
            continue
        picked.append(memory)
        seen.append(words)
        if len(picked) == limit:
            break
    return picked


def is_question(text: str) -> bool:
    """True if ``text`` asks rather than states: it ends with a question mark."""
    return text.rstrip().endswith("?")


def _words(text: str) -> set[str]:
    return {w for w in query_terms(text) if len(w) > 2}


# -- rendering and parsing ----------------------------------------------------------------------


def _entry_lines(memory: Memory) -> list[str]:
    # One bullet per memory; extra lines of a multi-line memory are indented two spaces so the
    # Markdown stays one list item and parse_section can join them back exactly. The id is
    # shortened to a prefix: the file is read by every session, and a full id costs as many
    # tokens as a short memory.
    tag = f" <!-- mm:{memory.id[:ID_CHARS]} -->"
    # A memory holding `<!-- memorymesh:end -->` must not end the section early.
    first, *rest = neutralise_markers(memory.text).split("\n")
    lines = [f"- {first}{tag}" if not rest else f"- {first}"]
    for index, line in enumerate(rest):
        suffix = tag if index == len(rest) - 1 else ""
        lines.append(f"  {line}{suffix}")
    return lines


def render_section(memories: Sequence[Memory], fmt: SyncFormat) -> str:
    """The marked section, markers included, for ``memories`` (already ranked)."""
    tool = _TOOL_NAME[fmt]
    lines = [
        SYNC_START,
        "## Memory (kept by MemoryMesh)",
        "",
        f"<!-- For {tool}. Edit or add lines, then `memorymesh sync --from <this file>`. -->",
    ]
    by_category: dict[Category, list[Memory]] = {}
    for memory in memories:
        by_category.setdefault(memory.category, []).append(memory)
    for category, title in _HEADINGS:
        group = by_category.get(category)
        if not group:
            continue
        lines += ["", f"### {title}", ""]
        for memory in group:
            lines += _entry_lines(memory)
    if not memories:
        lines += ["", "_No memories yet._"]
    lines.append(SYNC_END)
    return "\n".join(lines)


def _find_section(text: str, path: str) -> tuple[int, int] | None:
    """The (start, end) character span of the marked section, markers included."""
    start = _START.search(text)
    end = _END.search(text, start.end()) if start else _END.search(text)
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InvalidInputError(
            f"{path} has a MemoryMesh start or end marker without the other; fix the file "
            f"(both '{SYNC_START}' and '{SYNC_END}' are needed) so nothing around it is lost"
        )
    if _START.search(text, end.end()):
        raise InvalidInputError(f"{path} has more than one MemoryMesh section; keep one")
    return start.start(), end.end()


def replace_section(document: str, section: str, *, path: str = "file", fmt: str = "") -> str:
    """``document`` with its marked section replaced by ``section`` (appended if absent)."""
    span = _find_section(document, path)
    if span is not None:
        return document[: span[0]] + section + document[span[1] :]
    if not document.strip():
        return (_CURSOR_FRONT_MATTER if fmt == "cursor" else "") + section + "\n"
    return document.rstrip("\n") + "\n\n" + section + "\n"


def parse_section(document: str, *, path: str = "file") -> list[Entry]:
    """The entries of the marked section of ``document`` (empty if it has none)."""
    span = _find_section(document, path)
    if span is None:
        return []
    body = _END.sub("", _START.sub("", document[span[0] : span[1]]))
    body = re.sub(r"<!--(?!\s*mm:).*?-->", "", body, flags=re.DOTALL)  # the help comment
    entries: list[Entry] = []
    category: Category | None = None
    current: list[str] | None = None
    current_id: str | None = None

    def close() -> None:
        nonlocal current, current_id
        if current is not None:
            text = restore_markers("\n".join(current).strip())
            if text:
                entries.append(Entry(text, category, current_id))
        current, current_id = None, None

    for raw in body.split("\n"):
        heading = _HEADING.match(raw)
        bullet = _BULLET.match(raw)
        if heading:
            close()
            category = _CATEGORY_BY_HEADING.get(heading.group(1).casefold())
        elif bullet:
            close()
            current = [bullet.group(1)]
        elif current is not None and raw.startswith("  ") and raw.strip():
            current.append(raw[2:])
        else:
            close()
            continue
        if current is not None and current_id is None:
            found = _ID_COMMENT.search(current[-1])
            if found:
                current_id = found.group(1)
                current[-1] = current[-1][: found.start()]
                close()
    close()
    return entries


# -- files --------------------------------------------------------------------------------------


def format_for(path: Path) -> SyncFormat:
    """The format a file's name implies (``AGENTS.md`` → codex, ``*.mdc`` → cursor, ...)."""
    name = path.name.upper()
    if path.suffix == ".mdc":
        return "cursor"
    if name == "AGENTS.MD":
        return "codex"
    if name == "GEMINI.MD":
        return "gemini"
    return "claude"


def _check_format(fmt: str | None, path: Path) -> SyncFormat:
    if fmt is None:
        return format_for(path)
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown sync format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt  # type: ignore[return-value]


def _root() -> Path:
    return find_project_root() or Path.cwd()


def detect_targets(root: Path | None = None) -> list[tuple[Path, SyncFormat]]:
    """The instruction files present in the project (``--to auto``), with their formats.

    Cursor counts as present when the project has a ``.cursor`` folder: its rule file is ours
    to create there.
    """
    base = root or _root()
    found: list[tuple[Path, SyncFormat]] = []
    for name, fmt in _KNOWN_FILES:
        path = base / name
        if path.is_file() or (fmt == "cursor" and (base / ".cursor").is_dir()):
            found.append((path, fmt))
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None


def _write_atomically(path: Path, text: str) -> None:
    # Replace, never truncate-then-write: a crash mid-write must not cost the user their file.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        fd, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            os.chmod(scratch, mode)
            os.replace(scratch, path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc}") from None


#: The clients' own folders, where their user-level instruction files live.
_CLIENT_FOLDERS = (".claude", ".codex", ".gemini", ".cursor")
_INSTRUCTION_NAMES = frozenset(
    {"claude.md", "claude.local.md", "memory.md", "agents.md", "gemini.md"}
)


def _allowed_folders() -> list[Path]:
    home = Path.home()
    return [_root().resolve(), *((home / name).resolve() for name in _CLIENT_FOLDERS)]


def _inside(path: Path, folders: Sequence[Path]) -> bool:
    return any(path == folder or path.is_relative_to(folder) for folder in folders)


def _is_instruction_file(path: Path) -> bool:
    return path.name.lower() in _INSTRUCTION_NAMES or (
        path.suffix == ".mdc" and path.parent.name == "rules"
    )


def _checked_file(path: Path, *, writing: bool) -> Path:
    """``path``, refused when it is a link leading out of the project (either direction) or,
    for writing, anything but a known instruction file inside the project or a client's
    configuration folder (``~/.claude``, ``~/.codex``, ``~/.gemini``, ``~/.cursor``).

    A repository is untrusted input: its ``CLAUDE.md`` may be a symlink to ``~/.ssh/config``,
    whose contents ``sync --to`` would otherwise copy into the repository, and ``--to`` must
    not become a way to append to any file on the machine.
    """
    absolute = path if path.is_absolute() else Path.cwd() / path
    real = absolute.resolve()
    folders = _allowed_folders()
    if real != Path(os.path.normpath(absolute)) and not _inside(real, folders):
        raise InvalidInputError(
            f"{path} is a link to {real}, outside the project: refused (a repository's files "
            "must not read or write elsewhere)"
        )
    if writing and not (_is_instruction_file(real) and _inside(real, folders)):
        raise InvalidInputError(
            f"sync --to writes only instruction files (CLAUDE.md, AGENTS.md, GEMINI.md, "
            f"MEMORY.md, .cursor/rules/*.mdc) inside the project or a client's folder; not {path}"
        )
    return path


def _targets(target: str, fmt: str | None) -> list[tuple[Path, SyncFormat]]:
    if target != "auto":
        path = _checked_file(Path(target).expanduser(), writing=True)
        return [(path, _check_format(fmt, path))]
    if fmt is not None:
        _check_format(fmt, Path("x.md"))
    found = [
        (_checked_file(p, writing=True), f) for p, f in detect_targets() if fmt is None or f == fmt
    ]
    if not found:
        raise InvalidInputError(
            "no instruction file found (CLAUDE.md, MEMORY.md, AGENTS.md, GEMINI.md or a "
            ".cursor folder); name one with --to FILE"
        )
    return found


def synced_targets(root: Path | None = None) -> list[tuple[Path, SyncFormat]]:
    """The instruction files that already hold a MemoryMesh section (synced before)."""
    found: list[tuple[Path, SyncFormat]] = []
    for path, fmt in detect_targets(root):
        try:
            if path.is_file() and _START.search(path.read_text(encoding="utf-8")):
                found.append((path, fmt))
        except (OSError, UnicodeDecodeError):
            continue
    return found


def _write_section(path: Path, memories: Sequence[Memory], fmt: SyncFormat) -> bool:
    before = _read(path)
    after = replace_section(before, render_section(memories, fmt), path=str(path), fmt=fmt)
    if after == before:
        return False
    _write_atomically(path, after)
    return True


def _read_entries(source: str, fmt: str | None) -> tuple[Path, SyncFormat, list[Entry]]:
    path = _checked_file(Path(source).expanduser(), writing=False)
    checked = _check_format(fmt, path)
    if not path.is_file():
        raise InvalidInputError(f"{path} does not exist")
    return path, checked, parse_section(_read(path), path=str(path))


# -- the two directions -------------------------------------------------------------------------


async def _sync_candidates(mesh: MeshServices, pool: int) -> list[Memory]:
    # The best candidates are among the most important or the most recently updated memories,
    # so two bounded pages cover them without reading a large store whole.
    important = await mesh.list(order="importance", limit=pool)
    recent = await mesh.list(order="updated", limit=pool)
    accessed = await mesh.list(order="accessed", limit=pool)
    return [*important, *recent, *accessed]


async def sync_to(
    mesh: MeshServices,
    target: str | os.PathLike[str] = "auto",
    *,
    format: str | None = None,
    limit: int = 30,
    weights: SyncWeights | None = None,
) -> list[SyncReport]:
    """Write the top ``limit`` memories into the marked section of each target file.

    Args:
        mesh: The mesh to read.
        target: A file path, or ``"auto"`` for every instruction file present in the project.
        format: ``claude``, ``codex``, ``gemini`` or ``cursor`` (default: from the file name).
        limit: How many memories at most.
        weights: How to rank them (see :class:`SyncWeights`).

    Raises:
        InvalidInputError: an unknown format, a bad limit, no instruction file found for
            ``auto``, a file with a broken section, or a file that cannot be written.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInputError("limit must be an integer from 1 to 1000")
    targets = await anyio.to_thread.run_sync(_targets, os.fspath(target), format)
    chosen = rank_for_sync(
        await _sync_candidates(mesh, max(200, limit * 4)), limit=limit, weights=weights
    )
    reports: list[SyncReport] = []
    for path, fmt in targets:
        changed = await anyio.to_thread.run_sync(_write_section, path, chosen, fmt)
        reports.append(
            SyncReport(
                path=str(path), format=fmt, direction="to", changed=changed, entries=len(chosen)
            )
        )
    return reports


async def sync_from(
    mesh: MeshServices,
    source: str | os.PathLike[str],
    *,
    format: str | None = None,
) -> SyncReport:
    """Import the hand-edited entries of a file's marked section back into memory.

    A line with an id whose text (ignoring case and spacing) and group are unchanged is left
    alone; an edited one updates its memory; a line without an id (or whose memory is gone)
    is remembered as new, under its group's category, unless the same text is already
    remembered. Lines deleted from the file are not forgotten: use ``memorymesh forget``.

    Raises:
        InvalidInputError: an unknown format, a missing file or a broken section.
    """
    path, fmt, entries = await anyio.to_thread.run_sync(_read_entries, os.fspath(source), format)
    updated: list[str] = []
    unchanged = 0
    new: list[Entry] = []
    for entry in entries:
        if entry.memory_id is None:
            new.append(entry)
            continue
        try:
            memory = await mesh.get(await mesh.resolve_id(entry.memory_id))
        except MemoryNotFoundError:
            new.append(entry)  # forgotten since, or a prefix that is no longer unique
            continue
        if memory.scope is Scope.GLOBAL:
            # A repository's file never changes what follows the user everywhere: an edit
            # of a global memory comes back as a project memory (below), the global one stays.
            if content_hash(memory.text) != content_hash(entry.text):
                new.append(Entry(entry.text, entry.category, None))
            else:
                unchanged += 1
            continue
        same_text = content_hash(memory.text) == content_hash(entry.text)
        same_group = entry.category is None or entry.category is memory.category
        if same_text and same_group:
            unchanged += 1
            continue
        await mesh.update(
            memory.id,
            text=None if same_text else entry.text,
            category=None if same_group else entry.category,
        )
        updated.append(memory.id)
    # Text already remembered in either store (a line re-typed by hand, or moved between
    # groups whose categories live in different stores) is not a new memory.
    known: set[str] = set()
    for store in mesh.stores:
        known |= set(await store.ids_by_hash([content_hash(e.text) for e in new]))
    unchanged += sum(1 for e in new if content_hash(e.text) in known)
    new = [e for e in new if content_hash(e.text) not in known]
    created: list[str] = []
    if new:
        # created_at is kept to the microsecond: round down so a memory made now counts.
        started = math.floor(time.time() * 1e6) / 1e6
        # Project scope only, and marked with the file it came from: an untrusted
        # repository's instruction file must not plant guardrails in the user's global store.
        origin = {"synced_from": str(path)}
        stored = await mesh.remember_many(
            [
                {
                    "text": e.text,
                    "category": e.category,
                    "source": "sync",
                    "scope": "project",
                    "metadata": origin,
                }
                for e in new
            ]
        )
        for memory in stored:
            if memory.created_at.timestamp() >= started and memory.id not in created:
                created.append(memory.id)
        unchanged += len(new) - len(created)
    return SyncReport(
        path=str(path),
        format=fmt,
        direction="from",
        changed=bool(created or updated),
        entries=len(entries),
        created=created,
        updated=updated,
        unchanged=unchanged,
    )


def estimate_tokens(text: str) -> int:
    """A rough token count (≈ 4 characters per token), for budgets and benchmarks."""
    return math.ceil(len(text) / 4)
