"""The words of MemoryMesh's vocabulary that need no third-party package: a memory's
category and scope, how many results one recall may ask for, the conflict policies and the
orders a listing may take.

Kept apart from the pydantic models (``_models`` re-exports them) so that the command line can
build its parser, with these as choices, without importing pydantic.
"""

from __future__ import annotations

import enum
from typing import Literal

__all__ = ["CONFLICT_POLICIES", "MAX_RECALL_K", "Category", "ConflictPolicy", "ListOrder", "Scope"]

#: The most results one ``recall`` returns.
MAX_RECALL_K = 1_000


class Category(enum.StrEnum):
    """What kind of thing a memory is. The same nine as MemoryMesh 4.x."""

    PREFERENCE = "preference"
    GUARDRAIL = "guardrail"
    MISTAKE = "mistake"
    PERSONALITY = "personality"
    QUESTION = "question"
    DECISION = "decision"
    PATTERN = "pattern"
    CONTEXT = "context"
    SESSION_SUMMARY = "session_summary"


class Scope(enum.StrEnum):
    """Where a memory lives: with the current project, or with the user everywhere."""

    PROJECT = "project"
    GLOBAL = "global"


#: What a write does when it duplicates or contradicts a current memory:
#: ``supersede`` keeps the old one as history linked to the new one, ``keep_both`` stores
#: the new one beside it, ``skip`` keeps only the old one, ``merge`` folds the new into the old.
ConflictPolicy = Literal["supersede", "keep_both", "skip", "merge"]
CONFLICT_POLICIES: frozenset[str] = frozenset({"supersede", "keep_both", "skip", "merge"})

#: The orders ``list`` pages memories in.
ListOrder = Literal["newest", "oldest", "importance", "updated", "accessed"]
