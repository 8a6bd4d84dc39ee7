"""Quality review: which memories deserve a fix, why, and what the fix is.

Each active memory is checked for six kinds of problem; each problem costs it points off a
perfect 100, and the store's score is the average. Every finding says what to do about it,
as a ``memorymesh`` command where there is one. Nothing is changed: this is a report.

- ``scope``: a global memory about this project's files, or a project memory about the user
- ``verbose``: too long to be read at the start of every session
- ``uncategorised``: stored as ``context`` only because no rule matched
- ``stale``: not updated in a long time and never recalled
- ``duplicate``: a near-duplicate of another memory (less strict than compaction)
- ``low_quality``: too short, vague, or mostly code and symbols
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._models import Category, Memory, Scope
from .._text import STOPWORDS
from ..writes._classify import classify, infer_scope
from ._compact import plan_merges

if TYPE_CHECKING:
    from ._ports import MeshServices

__all__ = ["QualityIssue", "QualityReport", "review_quality"]

IssueKind = Literal["scope", "verbose", "uncategorised", "stale", "duplicate", "low_quality"]
#: Points each kind of problem costs a memory (out of 100).
PENALTY: dict[str, int] = {
    "scope": 20,
    "verbose": 15,
    "uncategorised": 10,
    "stale": 15,
    "duplicate": 25,
    "low_quality": 30,
}
VERBOSE_CHARS = 500
STALE_DAYS = 120
DUPLICATE_SIMILARITY = 0.6
_USER_CATEGORIES = frozenset({Category.PREFERENCE, Category.PERSONALITY})
_PATHLIKE = re.compile(
    r"(?:\b[\w.-]+/[\w./-]+|\b\w+\.(?:py|js|ts|go|rs|java|rb|toml|yaml|yml|json|md|sql)\b)"
)
_VAGUE = re.compile(r"\b(?:stuff|things?|etc|something|somehow|whatever|misc|todo|fixme)\b", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_SYMBOLS = re.compile(r"[{}()\[\];=<>\\|$@#%^&*~]")


class QualityIssue(BaseModel):
    """One problem with one memory, and what to do about it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    memory_id: str
    kind: IssueKind
    detail: str
    suggestion: str


class QualityReport(BaseModel):
    """The review of every active memory: a score from 0 to 100 and the issues found."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    score: float
    examined: int
    issues: list[QualityIssue] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    """Each memory's own score, for memories with at least one issue."""

    @property
    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for issue in self.issues:
            counts[issue.kind] = counts.get(issue.kind, 0) + 1
        return counts


def _low_quality(text: str) -> str | None:
    words = text.split()
    if len(text) < 15 or len(words) < 3:
        return "too short to mean anything out of context"
    if _VAGUE.search(text) and len(words) < 12:
        return "vague wording (stuff, things, etc., TODO)"
    if len(_SYMBOLS.findall(text)) / len(text) > 0.1:
        return "mostly code or symbols"
    content = [w for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2]
    if len(content) / len(words) < 0.3:
        return "few content words"
    return None


def _move(memory: Memory, scope: str) -> str:
    """Two commands that run as shown: store the text in ``scope``, then forget this copy."""
    text = shlex.quote(" ".join(memory.text.split()))
    return (
        f"`memorymesh remember --scope {scope} --category {memory.category.value} {text}`, "
        f"then `memorymesh forget {memory.id[:8]}`"
    )


def _issues(memory: Memory, now: float, project_name: str | None) -> list[QualityIssue]:
    found: list[QualityIssue] = []
    short = memory.id[:8]

    def add(kind: IssueKind, detail: str, suggestion: str) -> None:
        found.append(
            QualityIssue(memory_id=memory.id, kind=kind, detail=detail, suggestion=suggestion)
        )

    mentions_project = bool(_PATHLIKE.search(memory.text)) or bool(
        project_name and re.search(rf"\b{re.escape(project_name)}\b", memory.text, re.I)
    )
    if memory.scope is Scope.GLOBAL and mentions_project:
        add(
            "scope",
            "global, but names this project's files or the project itself",
            _move(memory, "project"),
        )
    elif (
        memory.scope is Scope.PROJECT
        and memory.category in _USER_CATEGORIES
        # the rule remember follows: "we prefer tabs here" is the project's own preference
        and infer_scope(memory.text, memory.category) is Scope.GLOBAL
    ):
        add(
            "scope",
            f"a {memory.category.value} about the user, kept in one project only",
            _move(memory, "global") + " (so it follows you to every project)",
        )
    if len(memory.text) > VERBOSE_CHARS:
        add(
            "verbose",
            f"{len(memory.text)} characters (more than {VERBOSE_CHARS})",
            f"split it into short facts, or `memorymesh update {short} --text ...`",
        )
    if memory.category is Category.CONTEXT and classify(memory.text).rule == "no rule matched":
        add(
            "uncategorised",
            "stored as context only because no category rule matched",
            # One command that runs as shown (no `a|b|...` a shell would read as pipes).
            f"`memorymesh update {short} --category decision`, or another category: "
            f"{', '.join(c.value for c in Category if c is not Category.CONTEXT)}",
        )
    age_days = (now - memory.updated_at.timestamp()) / 86_400
    if age_days > STALE_DAYS and memory.access_count == 0 and not memory.pinned:
        add(
            "stale",
            f"not updated for {age_days:.0f} days and never recalled",
            f"`memorymesh pin {short}` if it still matters, else `memorymesh compact`",
        )
    reason = _low_quality(memory.text)
    if reason is not None:
        add(
            "low_quality",
            reason,
            f"rewrite it as one self-contained fact (`memorymesh update {short} --text ...`) "
            f"or `memorymesh forget {short}`",
        )
    return found


async def review_quality(mesh: MeshServices, *, limit: int = 10_000) -> QualityReport:
    """Review up to ``limit`` active memories per store; see the module docstring."""
    await mesh.open()
    now = time.time()
    project = mesh.project_path
    project_name = None
    if project and project != ":memory:":
        from pathlib import PurePath

        project_name = PurePath(project).parent.parent.name or None
    memories: list[Memory] = []
    issues: list[QualityIssue] = []
    for store in mesh.stores:
        page = await mesh.list(scope=store.scope, limit=limit, order="importance")
        memories += page
        for memory in page:
            issues += _issues(memory, now, project_name)
        rows = [r for r in await store.compaction_rows() if r.id in {m.id for m in page}]
        for group in plan_merges(rows, DUPLICATE_SIMILARITY):
            for memory_id in group.merged:
                issues.append(
                    QualityIssue(
                        memory_id=memory_id,
                        kind="duplicate",
                        detail=f"{group.similarity:.0%} the same words as {group.kept[:8]}",
                        suggestion=f"keep one: `memorymesh forget {memory_id[:8]}`, or "
                        "`memorymesh compact` (merges closer copies, restorably)",
                    )
                )
    return _report(memories, issues)


def _report(memories: Sequence[Memory], issues: list[QualityIssue]) -> QualityReport:
    penalties: dict[str, int] = {}
    for issue in issues:
        penalties[issue.memory_id] = penalties.get(issue.memory_id, 0) + PENALTY[issue.kind]
    scores = {memory_id: float(max(0, 100 - p)) for memory_id, p in penalties.items()}
    total = sum(scores.get(m.id, 100.0) for m in memories)
    order = {m.id: i for i, m in enumerate(memories)}
    issues.sort(key=lambda i: (scores.get(i.memory_id, 100.0), order.get(i.memory_id, 0)))
    return QualityReport(
        score=round(total / len(memories), 1) if memories else 100.0,
        examined=len(memories),
        issues=issues,
        scores=scores,
    )
