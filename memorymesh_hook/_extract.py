"""What is worth remembering in a hook event's text: rules, sentences and the noise gate.

Standard library only, so ``memorymesh-hook`` can run the whole extraction before deciding to
import MemoryMesh at all (:mod:`memorymesh.context._hooks` uses the same functions after stripping
the context MemoryMesh injected).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "MAX_PER_EVENT",
    "NEAR_DUPLICATE",
    "RULES",
    "Candidate",
    "content_words",
    "extract_candidates",
    "similarity",
]

# Function words carry no content: a sentence made mostly of them says little.
_FUNCTION_WORDS = frozenset(
    """
    about above after again against all also and any are because been before being below
    between both but can cannot could did does doing down during each few for from further
    had has have having her here hers herself him himself his how into its itself just let
    more most not now off once only other ought our ours out over own same she should some
    such than that the their theirs them then there these they this those through too under
    until very was were what when where which while who whom why will with would you your
    yours get got ever
    """.split()  # noqa: SIM905 (a word list reads better as prose)
)

MAX_PER_EVENT = 5
MIN_CHARS, MAX_CHARS, MIN_WORDS = 25, 400, 5
MIN_DENSITY = 0.4
MAX_SYMBOL_RATIO = 0.08
NEAR_DUPLICATE = 0.7


class Candidate(NamedTuple):
    """A sentence worth queueing, the rule that found it, and the category it implies."""

    text: str
    category: str
    """A MemoryMesh category name (``decision``, ``mistake``, ...)."""
    rule: str
    about_project: bool
    """Said by the assistant, a commit or a decision record: about this codebase, so it
    belongs to the project store whatever its category (a user's preference follows them)."""


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


#: ``(kinds of text, category, rule name, pattern)``, checked in order: first match wins.
RULES: tuple[tuple[frozenset[str], str, str, re.Pattern[str]], ...] = (
    (
        frozenset({"assistant", "user", "doc", "commit"}),
        "mistake",
        "cause of a failure",
        _words(
            r"root cause",
            r"the (?:bug|issue|problem|failure|crash|error) (?:was|is|came from)",
            r"(?:was|were) caused by",
            r"failed because",
            r"turned out",
            r"the fix (?:was|is)",
            r"lesson(?:s)? learn(?:ed|t)",
            r"mistake was",
        ),
    ),
    (
        frozenset({"assistant", "user", "doc", "commit"}),
        "decision",
        "decision wording",
        _words(
            r"(?:we|I)(?:'ve| have)? decided",
            r"decided to",
            r"decision(?: is|:)",
            r"(?:we|I)(?:'ll| will) (?:use|go with|keep|stick with)",
            r"going with",
            r"went with",
            r"settled on",
            r"(?:chose|choose|picked) \w+ (?:over|because|instead)",
            r"switch(?:ed|ing)? (?:from \S+ )?to \S+ (?:because|since|so that|to avoid)",
            r"instead of \S+(?: \S+)? because",
        ),
    ),
    (
        frozenset({"commit"}),
        "decision",
        "commit with a reason",
        _words(r"because", r"so that", r"to avoid", r"instead of", r"rather than"),
    ),
    (
        frozenset({"user"}),
        "preference",
        "user preference",
        _words(
            r"(?<!as )always",
            r"never(?! mind)",
            r"(?:I )?prefer",
            r"please (?:use|don'?t|do not|avoid)",
            r"don'?t (?:ever )?(?:use|add|commit|push|run|touch|change)",
            r"do not (?:use|add|commit|push|run|touch|change)",
            r"from now on",
            r"make sure (?:to|you)",
            r"I (?:like|want|hate|dislike)",
            # "My favourite database is PostgreSQL": a preference stated as a fact.
            r"my (?:favou?rite|preferred|go-to) \w+(?: \w+)? (?:is|are)",
        ),
    ),
    (
        frozenset({"user"}),
        "context",
        "stated fact",
        # "Our staging database is called hornbeam", "The build for every service uses Bazel".
        _words(
            r"(?:is|are) (?:called|named)",
            r"(?:we|I) (?:use|run|deploy|host)",
            r"(?:runs?|is hosted|are hosted|is deployed|are deployed) (?:on|in|at)",
            r"(?:our|my|the) [\w-]+(?: [\w-]+){0,3} uses?",
        ),
    ),
    (
        frozenset({"user"}),
        "personality",
        "about the user",
        _words(
            r"my name is",
            r"call me",
            r"I (?:live|grew up) in",
            r"I work (?:at|for|as|on)",
            r"I(?:'m| am) based in",
        ),
    ),
    (
        frozenset({"assistant", "doc"}),
        "pattern",
        "project convention",
        _words(
            r"(?:the|our|this project's|the repo's) convention",
            r"by convention",
            r"the pattern (?:here |in this \w+ )?is",
            r"in this (?:repo|repository|project|codebase),? (?:we|tests|all|every|each)",
            r"(?:all|every) \w+ (?:must|should) (?:go|live|be)",
        ),
    ),
)

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(])")
_BULLET = re.compile(r"^\s*(?:[-*+>]|\d+[.)]|#{1,6})\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_SYMBOLS = re.compile(r"[{}()\[\];=<>/\\|$@#%^&*~]")
_LOGS = re.compile(r"Traceback \(most recent|^\s*at \S+\(|File \"|^\s*\$ |^\S+:\d+:", re.MULTILINE)


def _sentences(text: str) -> list[str]:
    found: list[str] = []
    for line in _FENCE.sub("\n", text).splitlines():
        line = _BULLET.sub("", line).strip()
        if line:
            found += [s.strip() for s in _SENTENCE.split(line) if s.strip()]
    return found


def content_words(text: str) -> set[str]:
    """The distinct lower-cased content words of ``text``."""
    return {
        w.lower() for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in _FUNCTION_WORDS
    }


def _passes_noise_gate(sentence: str) -> bool:
    if not MIN_CHARS <= len(sentence) <= MAX_CHARS or _LOGS.search(sentence):
        return False
    if sentence.rstrip().endswith("?"):
        return False  # "why does this never work?" asks; it states nothing to keep
    words = sentence.split()
    if len(words) < MIN_WORDS:
        return False
    if len(_SYMBOLS.findall(sentence)) / len(sentence) > MAX_SYMBOL_RATIO:
        return False  # code, paths, shell lines
    return len(content_words(sentence)) / len(words) >= MIN_DENSITY


def similarity(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two word sets."""
    return len(a & b) / len(a | b) if a and b else 0.0


def extract_candidates(texts: Sequence[tuple[str, str]]) -> list[Candidate]:
    """The candidates in ``(kind, text)`` pairs (injected context already stripped) that pass
    the noise gate, without near duplicates among themselves, at most :data:`MAX_PER_EVENT`."""
    found: list[Candidate] = []
    seen: list[set[str]] = []
    for kind, text in texts:
        # A commit message is one statement: its subject and body are read together.
        parts = [" ".join(text.split())] if kind == "commit" else _sentences(text)
        for sentence in parts:
            rule = next((r for r in RULES if kind in r[0] and r[3].search(sentence)), None)
            if rule is None or not _passes_noise_gate(sentence):
                continue
            words = content_words(sentence)
            if any(similarity(words, other) >= NEAR_DUPLICATE for other in seen):
                continue
            seen.append(words)
            found.append(Candidate(sentence, rule[1], rule[2], kind != "user"))
    return found[:MAX_PER_EVENT]
