"""The words of MemoryMesh's vocabulary that need no third-party package: a memory's
category and scope, and how many results one recall may ask for.

Kept apart from the pydantic models (``_models`` re-exports them) so that the command line can
build its parser, with these as choices, without importing pydantic.
"""

from __future__ import annotations

import enum

__all__ = ["MAX_RECALL_K", "Category", "Scope"]

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
