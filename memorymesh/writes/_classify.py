"""Auto-categorisation and auto-importance for memories stored without them.

Plain, explainable word-form rules: every decision names the rule and the words that fired it,
so a user who disagrees can see why and pass ``category=`` or ``importance=`` explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._models import GLOBAL_CATEGORIES, Category, Scope

__all__ = ["Classification", "classify", "estimate_importance", "infer_scope"]


@dataclass(frozen=True, slots=True)
class Classification:
    category: Category
    rule: str
    matched: tuple[str, ...]


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


# Checked in order: the first rule with a match wins. Specific kinds come before general ones
# ("never commit the .env file again, that was a mistake" is a mistake first, a guardrail second).
_RULES: tuple[tuple[Category, str, re.Pattern[str]], ...] = (
    (
        Category.SESSION_SUMMARY,
        "summary wording",
        _words(
            r"session summary",
            r"summary of (?:the|this|today'?s) session",
            r"in this session",
            r"today we",
            r"this session we",
            r"recap",
        ),
    ),
    (
        Category.MISTAKE,
        "mistake wording",
        _words(
            r"mistakes?",
            r"bug (?:was|is) caused",
            r"broke(?:n)?",
            r"failed because",
            r"should have",
            r"forgot(?:ten)?",
            r"lessons? learn(?:ed|t)",
            r"oops",
            r"regressions?",
            r"root cause",
            r"caused (?:a|an|the) (?:bug|outage|error|crash)",
            r"turned out",
            r"caused by",
            r"bugs?",
            r"failures?",
            r"failed",
            r"crash(?:ed|es)?",
            r"outage",
            r"wrongly",
            r"by mistake",
        ),
    ),
    (
        Category.GUARDRAIL,
        "rule wording",
        _words(
            r"never",
            r"always",
            r"must(?:n't| not)?",
            r"do not",
            r"don'?t",
            r"avoid",
            r"under no circumstances",
            r"make sure(?: to)?",
            r"required?",
            r"forbidden",
            r"not allowed",
            r"no one may",
            r"only ever",
        ),
    ),
    (
        Category.DECISION,
        "decision wording",
        _words(
            r"decided",
            r"decisions?",
            r"chose",
            r"chosen",
            r"choose",
            r"going with",
            r"went with",
            r"switched to",
            r"agreed",
            r"settled on",
            r"we will use",
            r"we'?ll use",
            r"adopted?",
            r"migrat(?:e|ed|ing) to",
            r"picked",
            r"opted",
        ),
    ),
    (
        Category.PREFERENCE,
        "preference wording",
        _words(
            r"prefer(?:s|red|ring|ence|ences)?",
            r"likes?",
            r"loves?",
            r"hates?",
            r"dislikes?",
            r"favou?rites?",
            r"would rather",
            r"rather than",
            r"wants?",
            r"enjoys?",
            r"fan of",
            r"can'?t stand",
        ),
    ),
    (
        Category.PATTERN,
        "pattern wording",
        _words(
            r"patterns?",
            r"conventions?",
            r"usually",
            r"typically",
            r"by convention",
            r"idioms?",
            r"style guide",
            r"every time",
            r"the way we",
            r"naming",
            r"structured? as",
            r"lives? in",
            r"is located",
            r"workflow",
        ),
    ),
    (
        Category.PERSONALITY,
        "self-description wording",
        _words(
            r"i am",
            r"i'?m an?",
            r"my name is",
            r"user is an?",
            r"works as",
            r"background in",
            r"personality",
            r"communicat(?:e|es|ion) style",
            r"tone",
            r"speaks?",
            r"years of experience",
            r"native language",
        ),
    ),
)

_QUESTION_START = re.compile(
    r"^\s*(?:who|what|when|where|why|how|which|is|are|does|do|can|could|should|would|will)\b",
    re.IGNORECASE,
)


def classify(text: str) -> Classification:
    """Guess the category of ``text`` and say which rule decided it."""
    for category, rule, pattern in _RULES:
        found = tuple(dict.fromkeys(m.group(0).lower() for m in pattern.finditer(text)))
        if found:
            return Classification(category, rule, found)
    stripped = text.strip()
    if stripped.endswith("?") or (_QUESTION_START.match(stripped) and len(stripped) < 200):
        return Classification(Category.QUESTION, "question form", ("?",))
    return Classification(Category.CONTEXT, "no rule matched", ())


# The user as the subject: "User prefers ...", "I like ...", "my name is ...".
_ABOUT_THE_USER = _words(r"user'?s?", r"i", r"i'?m", r"i'?ve", r"i'?d", r"me", r"my", r"myself")


def infer_scope(text: str, category: Category) -> Scope:
    """Where a memory stored with neither scope nor category goes: the global store (shared
    by every project on the machine) only when it is clearly about the user, a preference or
    a self-description naming the user; everything else stays with the project.

    "Deploys failed because ..." or "never commit .env" are about this codebase far more often
    than about the person, and a wrong guess leaks them into every other project.
    """
    # A question ("what is my favourite editor?") asks about the user; it states nothing.
    if text.rstrip().endswith("?"):
        return Scope.PROJECT
    if category in GLOBAL_CATEGORIES and _ABOUT_THE_USER.search(text):
        return Scope.GLOBAL
    return Scope.PROJECT


_BASE_IMPORTANCE: dict[Category, float] = {
    Category.GUARDRAIL: 0.8,
    Category.MISTAKE: 0.7,
    Category.DECISION: 0.7,
    Category.PREFERENCE: 0.6,
    Category.PATTERN: 0.6,
    Category.PERSONALITY: 0.6,
    Category.SESSION_SUMMARY: 0.5,
    Category.CONTEXT: 0.5,
    Category.QUESTION: 0.4,
}

_EMPHASIS = _words(
    r"critical",
    r"crucial",
    r"important",
    r"essential",
    r"security",
    r"production",
    r"urgent",
    r"data loss",
    r"secrets?",
    r"compliance",
    r"legal",
)
_HEDGES = _words(r"maybe", r"might", r"perhaps", r"i think", r"possibly", r"not sure", r"probably")


def estimate_importance(text: str, category: Category) -> float:
    """A starting importance in [0.05, 1]: the category's base, nudged by emphasis and hedging."""
    score = _BASE_IMPORTANCE[category]
    score += 0.1 * min(2, len(_EMPHASIS.findall(text)))
    if _HEDGES.search(text):
        score -= 0.1
    if len(text.split()) < 4:
        score -= 0.1
    return round(min(1.0, max(0.05, score)), 2)
