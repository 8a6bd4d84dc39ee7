"""Duplicate and contradiction detection for writes, batched.

A write's new texts are compared with the store's current memories and with each other:

- with an embedder, candidates are the nearest current memories by cosine (one matrix product
  for the whole batch against the index, one for the batch against itself); a store that
  finds neighbours itself (``stores.base.NeighbourSearch``: PostgreSQL) is asked for the
  whole batch's in one round trip instead, and no index of it is held here;
- without one, candidates come from the store's in-memory token index (memories sharing the
  new text's rarest words, see :mod:`memorymesh.search._lexical`) and from the batch's own texts
  that share words.

Each candidate is then judged on its words (lemmatised by :mod:`._lemma`, with number words
as digits and abbreviations folded), gated by the cosine when there is one. The judge is
deliberately conservative, because under the default policy a confident verdict hides the
older memory: a *contradiction* needs the same subject (most content words shared, no change
before the copula) and a changed fact (a replaced word or value, a changed number or version,
a flipped negation, an opposite word, or a change told as an event: "quit", "moved to",
"stopped using", "was a mix-up"); a *near-duplicate* needs the same words give or take a
short elaboration. What it is unsure of (a clause added, less detail, another verb, two lines
of one speaker's transcript, a paraphrase only the embedder sees) it reports as a
``possible_`` kind, which keeps both memories. Precision and recall are measured on a
development corpus and a held-out one (``benchmarks/bench_conflicts.py``).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from .._models import ConflictKind, Memory
from .._text import STOPWORDS
from ..search._lexical import (
    LexicalIndex,
    StoredLexicon,
    Tokens,
    candidate_keys,
    needed_shared,
)
from ..search._vectors import VectorFilter, VectorIndex, to_blob
from ..stores.base import neighbour_searcher
from ._lemma import lemma, normalise_phrases, normalise_word
from ._pairs import _FOLD

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ._pairs import Analysis

__all__ = ["Finding", "Tokens", "content_tokens", "find_conflicts", "judge", "judge_many"]

#: Below this cosine two texts are about different things, whatever their words. It is low
#: on purpose: sentence embedders place "the user's manager is Sarah" and "... is David" far
#: apart (names and tool names carry much of the meaning), and the words decide anyway.
SUBJECT_COSINE = 0.5
#: The subject gate for a new text that tells a change as an event ("switched to Linear",
#: "moved all my notes over to Obsidian"): the replacement names a new value the old text
#: lacks, so the sentence embedder places the two further apart than a restatement.
CHANGE_SUBJECT_COSINE = 0.35
#: At or above this cosine (and with no changed number or negation) texts say the same thing.
DUPLICATE_COSINE = 0.95
#: With a change told as an event ("moved to ...") but another opening word, at or above this
#: cosine the texts may still be about the same thing: reported, both kept.
CHANGE_COSINE = 0.7
#: At or above this cosine, texts no word rule relates may say the same thing: reported as a
#: possible duplicate, both kept.
PARAPHRASE_COSINE = 0.85
#: With only the verb of a change linking two texts ("lives in" / "moved to"), the least
#: cosine at which the change is sure to replace the old text's value.
FAMILY_COSINE = 0.5
#: With an embedder, the least cosine at which two texts sharing only their subject (the
#: user) may be told as one fact changed by the pair model alone.
ATTRIBUTE_COSINE = 0.55
_CANDIDATES = 3
_BATCH_JUDGED = 16

# A word, with the joins that make one name of several parts kept inside it: "stg-db",
# "Europe/Berlin", "2.3.1", "9:30", "50,000", "PROJ-1412" are each one thing, so swapping one
# for another is one changed word, not two or three.
_WORD = re.compile(r"\w+(?:[-./:,'\u2019]\w+)*", re.UNICODE)
_DIGIT = re.compile(r"\d")
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")
#: A number beside a month name is a date: a value, not part of a name.
_MONTHS = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
     "sep", "sept", "oct", "nov", "dec"}
)  # fmt: skip
# Contractions spelled out before tokenising, so "can't", "won't" and "doesn't" negate like
# "cannot", "will not" and "does not" (a bare "\w+" would leave "can" and "t", two stopwords).
# (\u2019 is the typographic apostrophe.)
_CONTRACTION = re.compile(r"(\w+?)n['\u2019]t\b|['\u2019](s|re|ve|ll|d|m)\b", re.UNICODE)
_IRREGULAR = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}
_NEGATIONS = frozenset(
    {"not", "no", "never", "nor", "don", "doesn", "didn", "isn", "aren", "wasn", "weren",
     "won", "cannot", "can't", "without", "nothing", "none", "neither", "stop", "stopped",
     "longer", "anymore"}
)  # fmt: skip
#: Adverbs that change no fact ("is *still* in use" says what "is in use" says).
_FILLER = frozenset({"still", "currently", "actually", "really", "presently"})
# Negations are facts here, not noise: keep them out of the stopword list used for subjects.
_STOP = STOPWORDS - _NEGATIONS
#: Word pairs where one states the opposite of the other: swapping one for the other flips
#: the statement like a negation does. Prefixed opposites ("available"/"unavailable",
#: "likes"/"dislikes") are recognised without a list.
_OPPOSITE_WORDS = (
    "enabled/disabled allowed/denied allowed/forbidden allowed/blocked true/false "
    "accepted/rejected included/excluded public/private required/optional open/closed "
    "like/hate love/hate added/removed increased/decreased success/failure passes/fails "
    "better/worse"
)
# Prefixes that negate any word of three letters or more, and those that do only for longer
# words (an "in" or "de" before a short word is usually part of another word: "index").
_NEGATING_PREFIXES = ("dis", "un", "non", "non-")
_LONG_NEGATING_PREFIXES = ("in", "im", "de")
#: Personal pronouns and possessives that open a sentence whose subject is then not among its
#: content words ("We use MySQL ..."): a change right after them is in the predicate.
#: Words that add to what is known rather than replace it ("the API *also* supports ...").
_ADDITIVE = frozenset({"also", "too", "additionally", "another", "besides"})
#: Copulas and auxiliaries: the subject of a statement comes before the first of them.
_VERB_MARKERS = frozenset(
    {"is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "does",
     "do", "did", "will", "would", "can", "could", "should", "must", "shall", "might"}
)  # fmt: skip
#: Words after which a number is a value ("is 3", "at 9:30") rather than part of a name.
_VALUE_LEAD = frozenset({"is", "are", "was", "were", "be", "at", "to", "port", "version", "v"})
#: Words after which the last word of a statement is its single value: "the manager is Sarah",
#: "lives in Lisbon", "runs on Jenkins", "goes through Sentry".
_VALUE_SLOT = _VERB_MARKERS | {"in", "on", "at", "by", "via", "through", "with", "from"}
#: Verbs (stemmed) whose object is one of many: a new object adds to the old one.
_MANY_VALUED = frozenset(
    {"lik", "lov", "enjoy", "speak", "play", "visit", "read", "know", "support", "own",
     "collect", "watch", "follow", "hik", "attend", "teach", "learn"}
)  # fmt: skip
_FIRST_PERSON = frozenset({"i", "my", "me", "mine", "myself"})
_PRONOUN_SUBJECTS = frozenset({"we", "i", "you", "they", "he", "she", "it", "our", "my"})


def _expand(match: re.Match[str]) -> str:
    if match.group(2) is not None:
        return "" if match.group(2) == "s" else " " + match.group(2)
    head = match.group(1)
    return _IRREGULAR.get(head, head) + " not"


@functools.lru_cache(maxsize=16_384)
def _words(text: str) -> tuple[str, ...]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    if "'" in folded or "\u2019" in folded:
        folded = _CONTRACTION.sub(_expand, folded)
    found = _WORD.findall(normalise_phrases(folded))
    # Number words as digits, abbreviations and variant spellings as one word.
    return tuple(
        normalise_word(w, found[i + 1] if i + 1 < len(found) else "", found[i - 1] if i else "")
        for i, w in enumerate(found)
    )


#: The things of the pair model's general synonym table (``_pairs._FOLD``) whose names are
#: folded here too ("flat" / "apartment", "mum" / "mother", "kids" / "children", "laptop" /
#: "computer"): nouns only, since the word rules read verbs and adjectives themselves
#: ("prefers" is not "likes" to the rule that finds "likes" / "dislikes").
_NOUN_TARGETS = frozenset(
    {"flat", "mother", "father", "parent", "partner", "food", "train", "doctor", "car",
     "company", "child", "san-francisco", "new-york", "los-angeles", "engineering",
     "human-resources", "doctorate", "machine-learning", "artificial-intelligence", "request",
     "home", "computer", "coworker", "boss"}
)  # fmt: skip
#: Words of those classes that are as often something else ("the team *lead*", "*head* of").
_NOT_NOUNS = frozenset({"lead", "head", "notebook", "fix"})
_NOUN_FOLD = {
    word: noun for word, noun in _FOLD.items() if noun in _NOUN_TARGETS and word not in _NOT_NOUNS
}


def _stem(word: str) -> str:
    return lemma(_NOUN_FOLD.get(word, word))


def _is_content(word: str) -> bool:
    return word not in _STOP and word not in _NEGATIONS and word not in _FILLER


def _is_number(word: str) -> bool:
    return _DIGIT.search(word) is not None


#: What a word adds to a text's tokens: its stem if it is a subject word, ``_NUMBER`` if it
#: holds a digit, ``""`` if it is a stop word, negation or filler. Filled as words are met
#: (a vocabulary, so it stays small) and emptied if it ever grows past its bound.
_WORD_ROLE: dict[str, str] = {}
_WORD_ROLE_MAX = 1 << 18
_NUMBER = "#"


def _role(word: str) -> str:
    if _is_number(word):
        role = _NUMBER
    elif word in _STOP or word in _NEGATIONS or word in _FILLER:
        role = ""
    else:
        role = _stem(word)
    if len(_WORD_ROLE) >= _WORD_ROLE_MAX:
        _WORD_ROLE.clear()
    _WORD_ROLE[word] = role
    return role


def _content_tokens(text: str) -> tuple[frozenset[str], frozenset[str], bool]:
    words = _words(text)
    known = list(map(_WORD_ROLE.get, words))  # the per-word work stays in C once words are known
    roles: list[str] = (
        [r if r is not None else _role(w) for w, r in zip(words, known, strict=True)]
        if None in known
        else cast(list[str], known)
    )
    subject = set(roles)
    subject.discard("")
    if not _FIRST_PERSON.isdisjoint(words):
        subject.add("user")  # a memory in the user's own words is about the user
    numbers: frozenset[str] = frozenset()
    if _NUMBER in subject:
        subject.discard(_NUMBER)
        numbers = frozenset(w for w, role in zip(words, roles, strict=True) if role == _NUMBER)
    return frozenset(subject), numbers, not _NEGATIONS.isdisjoint(words)


#: ``(subject words, numbers, negated)`` of a text (cached: a write computes them for the
#: same text several times).
content_tokens = functools.lru_cache(maxsize=16_384)(_content_tokens)


def content_tokens_many(
    texts: Iterable[str],
) -> Iterator[tuple[frozenset[str], frozenset[str], bool]]:
    """:func:`content_tokens` of many texts read once each (building an index), without
    churning the cache that writes rely on."""
    return map(_content_tokens, texts)


@functools.lru_cache(maxsize=16_384)
def _sequence(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in _words(text) if _is_content(w))


#: The opposite pairs, stemmed like the words they are compared with.
_OPPOSITES: frozenset[frozenset[str]] = frozenset(
    frozenset(_stem(w) for w in pair.split("/")) for pair in _OPPOSITE_WORDS.split()
)


def _opposites(x: str, y: str) -> bool:
    """Whether two (stemmed) words state opposites: a listed pair, or one is the other with a
    negating prefix ("dislik"/"lik", "unavailabl"/"availabl")."""
    if frozenset((x, y)) in _OPPOSITES:
        return True
    short, long = (x, y) if len(x) < len(y) else (y, x)
    if len(short) < 3 or not long.endswith(short):
        return False
    prefix = long[: -len(short)]
    return prefix in _NEGATING_PREFIXES or (len(short) >= 5 and prefix in _LONG_NEGATING_PREFIXES)


@functools.lru_cache(maxsize=16_384)
def _subject_end(text: str) -> int | None:
    """How many content words come before the text's first copula or auxiliary, if any."""
    count = 0
    for word in _words(text):
        if word in _VERB_MARKERS:
            return count
        if _is_content(word):
            count += 1
    return None


def _subject_changed(new_text: str, old_text: str) -> bool:
    """Whether the texts first differ early enough that the difference names the subject.

    The subject ends at the first copula or auxiliary ("Room 4 *is* booked", "caching *is*
    enabled"); without one, a change in the first third of the content words is taken to
    name it. Where a pronoun opens the sentence the subject is that pronoun, so any change
    among the content words is in what is said about it.
    """
    a, b = _sequence(new_text), _sequence(old_text)
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    if first is None:
        return False  # one text continues the other
    if first == 0 and (a[len(a) - len(b) :] == b or b[len(b) - len(a) :] == a):
        return False  # only a lead-in was added ("Remember: ..."), the sentence is the same
    opener = _words(new_text)[:1] + _words(old_text)[:1]
    if opener and all(w in _PRONOUN_SUBJECTS for w in opener):
        return False
    end = _subject_end(new_text)
    if end is not None and end > 0 and end == _subject_end(old_text):
        return first < end
    return first < max(len(a), len(b)) / 3


def _value_swapped(new_text: str, old_text: str) -> bool:
    """Whether the texts differ only in their final words, right after a copula or a
    preposition: the one value of "X is Y" or "X lives in Y" was replaced."""
    a, b = _sequence(new_text), _sequence(old_text)
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    if first is None or first == 0 or a[:first] != b[:first]:
        return False
    tail_a, tail_b = a[first:], b[first:]
    if not 1 <= min(len(tail_a), len(tail_b)) <= max(len(tail_a), len(tail_b)) <= 3:
        return False
    if set(tail_a) & set(tail_b):
        return False
    leads = set()
    for text in (new_text, old_text):
        words = [w for w in _words(text) if w not in _NEGATIONS and w not in _FILLER]
        kept = [i for i, w in enumerate(words) if w not in _STOP]
        at = kept[first]
        tail = words[at:]
        # One value: a run of plain words ("Google Cloud Storage"), no number (those have
        # their own rule) and no phrase of its own ("built with MkDocs").
        if at == 0 or words[at - 1] not in _VALUE_SLOT or len(tail) != len(kept) - first:
            return False
        if any(_is_number(w) for w in tail):
            return False
        leads.add(words[at - 1])
    return len(leads) == 1  # the same verb or preposition introduces both values


def _tail_swapped(new_text: str, old_text: str) -> bool:
    """Whether the texts say the same words up to their last few, which all differ ("We use
    Redis for *caching*" / "... for *rate limiting*"): the end of the sentence replaced."""
    a, b = _sequence(new_text), _sequence(old_text)
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    if not first:
        return False
    tail_a, tail_b = a[first:], b[first:]
    short = bool(tail_a and tail_b) and max(len(tail_a), len(tail_b)) <= 3
    return short and set(tail_a).isdisjoint(tail_b)


@functools.lru_cache(maxsize=4_096)
def _opposite_in_predicate(new_text: str, old_text: str) -> bool:
    """Whether the one word that differs is said of the subject, not part of it: after the
    copula when there is one ("the bucket *is* public" / "private"), else anywhere but the
    first word ("the user likes" / "dislikes", not "public bucket" / "private bucket")."""
    a, b = _sequence(new_text), _sequence(old_text)
    if len(a) != len(b):
        return False
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(changed) != 1:
        return False
    end = _subject_end(new_text)
    return changed[0] >= end if end else changed[0] > 0


@functools.lru_cache(maxsize=4_096)
def _same_subject(new_text: str, old_text: str) -> bool:
    """Whether what changed is said *about* a shared subject, rather than naming another one.

    "User prefers dark mode" → "User prefers light mode" changes a fact. "The cache settings
    live in the cache module" and "The queue settings live in the queue module", or "widget 3
    renders with option 3" and "widget 4 ... option 4", are the same sentence about different
    things: the change leads the sentence, or one name is consistently swapped for another.
    """
    a, b = _sequence(new_text), _sequence(old_text)
    if len(a) != len(b):
        return not _subject_changed(new_text, old_text)
    changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    if not changed:
        return True
    if _subject_changed(new_text, old_text):
        return False  # the change names the subject ("release note 4", "the queue settings")
    return not (len(changed) > 1 and len(set(changed)) == 1)


@functools.lru_cache(maxsize=16_384)
def _quantities(text: str) -> frozenset[str]:
    """The numbers of a text that measure or state something: followed by a unit or a counted
    noun ("30 days", "16 GB", "2 approvals"), after a copula ("is 3", "at 9:30"), ordinals
    and dates ("the 15th", "June 15"), rather than naming a thing ("fact number 3")."""
    words = _words(text)
    return frozenset(
        w
        for before, w, after in zip(("", *words), words, (*words[1:], ""), strict=False)
        if _is_number(w)
        and (
            (after and not _is_number(after) and after not in _STOP)
            or before in _VALUE_LEAD
            or _ORDINAL.fullmatch(w) is not None
            or before in _MONTHS
            or after in _MONTHS
            or _VERSION.fullmatch(w) is not None
            or w in _named_versions(text)
        )
    )


#: A version: digits with dots ("3.12", "2.4.0").
_VERSION = re.compile(r"v?\d+(?:\.\d+)+")
#: Nouns a number after which names one of many ("room 4", "step 2", "ticket 1412"), not a
#: version of it.
_ID_NOUNS = frozenset(
    {"number", "no", "room", "ticket", "step", "chapter", "bug", "issue", "sprint", "note",
     "widget", "option", "floor", "item", "page", "line", "table", "row", "section", "task",
     "building", "phase", "part", "level", "episode", "season", "case", "batch", "job",
     "server", "team", "group", "gate", "platform", "track", "lane", "pr", "release", "week",
     "day", "q", "fact", "test", "rule", "point", "figure", "question", "class", "grade"}
)  # fmt: skip


@functools.lru_cache(maxsize=4_096)
def _named_versions(text: str) -> frozenset[str]:
    """Numbers right after a name written with a capital inside the sentence ("runs
    Postgres 15", "requires Node 20"): the version of a named thing, a value."""
    raw = _WORD.findall(unicodedata.normalize("NFKC", text))
    return frozenset(
        w
        for i, (before, w) in enumerate(itertools.pairwise(raw))
        if i > 0
        and w.isdigit()
        and before[:1].isupper()
        and before.casefold() not in _ID_NOUNS
        and before.casefold() not in _MONTHS
    )


def _one_of_many(new_text: str, old_text: str) -> bool:
    """Whether the texts first differ right after a verb that takes many objects at once
    ("likes Italian food" / "likes Thai food", "speaks German" / "speaks Spanish"): each
    names one more thing, neither replaces the other."""
    a, b = _sequence(new_text), _sequence(old_text)
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    if not first or a[:first] != b[:first]:
        return False
    if a[first - 1] in _MANY_VALUED:
        return True
    words = [w for w in _words(new_text) if w not in _NEGATIONS and w not in _FILLER]
    kept = [i for i, w in enumerate(words) if w not in _STOP]
    return kept[first] > 0 and words[kept[first] - 1] in {"has", "have", "had"}


def _words_by_numbers(
    new_text: str, old_text: str, changed: frozenset[str], numbers: frozenset[str]
) -> bool:
    """Whether every changed word stands next to a changed number, as part of the same value
    ("June 15" → "July 1"), rather than changing a second fact ("5 km on weekdays" → "15 km
    on Sundays")."""
    if not changed:
        return True
    for text in (new_text, old_text):
        words = _words(text)
        at = [i for i, w in enumerate(words) if w in numbers]
        for i, w in enumerate(words):
            if w not in _STOP and _stem(w) in changed and not any(abs(i - j) <= 2 for j in at):
                return False
    return True


#: Words that tell a change as an event: something stopped being true ...
_CESSATION = re.compile(
    r"\b(?:quit|quits|quitting|resigned|retired|stopped|stops|stopping|gave up|given up|"
    r"gives up|giving up|no longer|not anymore|dropped|ditched|abandoned|sold|broke (?:off|up)|"
    r"broken off|stepped down|handed|mix-up|mixup|was a mistake|was wrong|is wrong|not true|"
    r"cancell?ed|(?:has|have|had) left|left (?:the|a|an|his|her|their|our|my|its)|replaced|"
    r"phased out|got rid of|divorced|cut ties)\b"
)
#: ... or something else is true now (a verb of moving needs where to or from: "changing
#: lives" tells no change of a fact).
_REPLACEMENT = re.compile(
    r"\b(?:(?:moved|moving|switched|switching|changed|changing|migrated|migrating|relocated|"
    r"transferred|rescheduled|postponed|pushed|slipped|delayed|upgraded|downgraded|bumped)"
    r"(?: [\w.-]+){0,3}? (?:to|from|off|away|over|back|until)|instead of|rather than|"
    r"(?:is|are|am|was|has|have) now|now (?!that\b|and\b|on\b|i\b|we\b)[a-z]+(?:s|ed)|"
    r"these days|nowadays|from now on|going forward|took over|taken over|became)\b"
)
_NEGATED = frozenset({"not", "never", "cannot"})
#: Verbs (lemmatised) whose value a replacement verb replaces even when the two texts share no
#: other word: "lives in Leeds" / "moved to Manchester", "uses Firefox" / "switched to Chrome".
_CHANGE_FAMILIES = {
    "mov": frozenset({"liv", "base", "resid", "stay", "locat", "work", "hold", "meet"}),
    "relocat": frozenset({"liv", "base", "resid", "stay", "locat", "work"}),
    "switch": frozenset({"us", "run", "prefer", "host", "deploy", "drive", "writ", "target"}),
    "migrat": frozenset({"us", "run", "host", "deploy", "stor", "keep"}),
    "chang": frozenset({"us", "run", "prefer", "set"}),
    "upgrad": frozenset({"us", "run", "target", "requir"}),
    "downgrad": frozenset({"us", "run", "target", "requir"}),
}
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
_SPEAKER = re.compile(r"^\s*([A-Z][a-z]+)\s*:\s")


@functools.lru_cache(maxsize=16_384)
def _markers_in(text: str, pattern: re.Pattern[str]) -> tuple[tuple[str, re.Match[str]], ...]:
    """Each sentence of ``text`` (as its normalised words, joined) where ``pattern`` finds a
    change that is not denied ("won't quit", "don't ever quit" are none), with the match."""
    found = []
    for sentence in _SENTENCE.split(_unlabelled(text)):
        if sentence.rstrip().endswith("?"):
            continue
        joined = " ".join(_words(sentence))
        for match in pattern.finditer(joined):
            before = joined[: match.start()].split()[-3:]
            if _NEGATED.isdisjoint(before):
                found.append((joined, match))
    return tuple(found)


def _unlabelled(text: str) -> str:
    match = _LABEL.match(text)
    return text[match.end(1) :].lstrip(" :") if match is not None else text


#: The one-word markers, lemmatised: what a text's tokens show of a change told as an event.
_MARKER_WORDS = (
    "quit quits resigned retired stopped stops dropped ditched abandoned sold stepped handed "
    "mix-up mixup mistake cancelled canceled left replaced divorced ended moved switched "
    "changed migrated instead nowadays upgraded downgraded bumped rescheduled postponed "
    "relocated transferred became slipped delayed"
)
_MARKER_LEMMAS = frozenset(map(lemma, _MARKER_WORDS.split()))
_GENERIC_LABELS = frozenset(
    {"note", "decision", "remember", "todo", "fyi", "update", "reminder", "important", "info",
     "tip", "fact", "context", "correction", "preference", "rule"}
)  # fmt: skip
_GENERIC_LABEL_STEMS = frozenset(lemma(w) for w in _GENERIC_LABELS)
_LABEL = re.compile(r"^\s*([^\W\d][\w .'\u2019-]{0,40}?)\s*:\s+\S")


@functools.lru_cache(maxsize=16_384)
def _label(text: str) -> str | None:
    """The label a text opens with ("Caroline: ...", "Step 2: ..."), if any and not generic:
    who says it, or which thing it is about."""
    match = _LABEL.match(text)
    if match is None or "://" in text[: match.end() + 2]:
        return None
    label = " ".join(_words(match.group(1)))
    return None if label in _GENERIC_LABELS else label


def _lead(text: str) -> str:
    """What a statement is about, roughly: its first content word, or the pronoun opening it
    ("we", "our" → ``we``)."""
    for word in _words(text):
        if word in ("we", "our", "us"):
            return "we"
        if word in ("i", "my", "me"):
            return "i"
        if _is_content(word):
            return _stem(word)
    return ""


@functools.lru_cache(maxsize=4_096)
def _change_event(new_text: str, old_text: str, cosine: float | None) -> tuple[str, bool] | None:
    """Whether ``new_text`` tells, as an event, that what ``old_text`` says changed ("quit
    Initech", "moved to Manchester", "stopped using Trello", "was a mix-up"): the reason and
    whether the verdict is confident, or None.

    A cessation ("quit", "has left", "stopped", "no longer") must name something the old text
    says besides its subject; a replacement ("moved to", "switched to", "is now") must bring a
    value the old text lacks and share something with it, or replace the value of a verb it
    changes ("lives in" / "moved to"). The sentence that tells the change and the old text
    must open on the same subject, unless the embedder finds them close; then the verdict is
    only a possible one. A denied change ("won't quit") is none.
    """
    for pattern in (_CESSATION, _REPLACEMENT):
        if _markers_in(old_text, pattern):
            continue  # the old text tells a change too: the other rules compare them
        for sentence, marker in _markers_in(new_text, pattern):
            said = _event(sentence, marker, old_text, cosine, cessation=pattern is _CESSATION)
            if said is not None:
                return said
    return None


def _event(
    sentence: str, marker: re.Match[str], old_text: str, cosine: float | None, *, cessation: bool
) -> tuple[str, bool] | None:
    """:func:`_change_event` for one sentence and the change it tells."""
    if not _ADDITIVE.isdisjoint(sentence.split()) or " as well" in f" {sentence}":
        return None
    confident = True
    subject = _lead(_unlabelled(old_text))
    mine = set(_sequence(sentence))
    if subject != _lead(sentence) and subject not in mine and not _implied(sentence, old_text):
        if cosine is None or cosine < CHANGE_COSINE:
            return None
        confident = False
    said = marker.group(0)
    verb = said.split()
    marker_words = {_stem(w) for w in (verb if cessation else verb[:1])}
    theirs = set(_sequence(old_text))
    shared = (mine & theirs) - {subject} - marker_words - _time_words()
    reason = f"a change told as an event: {said}"
    if cessation:
        return (reason, confident) if shared else None
    after = sentence[marker.end() :].split()
    value = {_stem(w) for w in after if _is_content(w)} - theirs
    if not value and not re.search(r"\b(?:from|instead of|rather than)\b", sentence):
        return None  # nothing new is said to hold now
    family = _CHANGE_FAMILIES.get(_stem(verb[0]), frozenset())
    if shared:
        return reason, confident
    if not family.isdisjoint(theirs):
        # Only the verb links them ("lives in Berlin" / "moved to Munich", but as often
        # "dotfiles live in a private repo" / "moved to Manchester"): words cannot tell which
        # value was replaced, so only an embedder that finds the texts close makes it sure.
        sure = _verb_replaced(sentence, old_text, family) or (
            cosine is not None and cosine >= FAMILY_COSINE
        )
        return reason, confident and sure
    return None


def _implied(sentence: str, old_text: str) -> bool:
    """Whether both texts are terse notes about one implied subject, each opening on its
    verb: the old on the verb whose value the new one's change verb replaces ("Prefers npm." /
    "Switched to pnpm.", "Lives in Leeds." / "Moved to York.")."""
    new_words, old_words = sentence.split(), _words(_unlabelled(old_text))
    if not new_words or not old_words:
        return False
    verb, was = new_words[0], old_words[0]
    return (
        verb.endswith("ed")
        and was.endswith("s")
        and _stem(was) in _CHANGE_FAMILIES.get(_stem(verb), frozenset())
    )


def tokens_of(text: str) -> Tokens:
    return content_tokens(text)


@functools.lru_cache(maxsize=16_384)
def subject_gate(new_text: str) -> float:
    """The least cosine at which a memory may be what ``new_text`` duplicates or
    contradicts: :data:`SUBJECT_COSINE`, or :data:`CHANGE_SUBJECT_COSINE` when the text tells
    a change as an event."""
    from ._pairs import analyse

    return CHANGE_SUBJECT_COSINE if analyse(new_text).change else SUBJECT_COSINE


#: Verbs a replacement said without them is commonly about ("switched to Linear" replaces
#: what the team *uses*, "in favour of Zustand" what it *uses* or *runs*): general uses of
#: tools and services, added to the families of the change verbs.
_TOOL_VERBS = frozenset({"us", "run", "host", "prefer"})
#: Change words (lemmatised) that replace a value without naming the verb it belonged to.
_REPLACING = frozenset({"instead", "favor", "replac", "swap"})


@functools.lru_cache(maxsize=1)
def _word_families() -> dict[str, frozenset[str]]:
    """Subject word → the words a memory it conflicts with may say in its place: the other
    members of its synonym class (the pair model's general table: "brief" / "short",
    "monthly" / "month", "shuts" / "closes"), and for a change verb the verbs whose value
    it replaces ("moved" / "lives", "migrated" / "runs")."""
    from ._pairs import _FOLD

    classes: dict[str, set[str]] = {}
    for word, target in _FOLD.items():
        for member in (word, target):
            classes.setdefault(lemma(target), set()).add(_role(normalise_word(member, "")))
    families: dict[str, set[str]] = {}
    for members in classes.values():
        members.discard("")
        members.discard(_NUMBER)
        for member in members:
            families.setdefault(member, set()).update(members - {member})
    for verb, family in _CHANGE_FAMILIES.items():
        families.setdefault(verb, set()).update(family | _TOOL_VERBS)
    for word in _REPLACING:
        families.setdefault(word, set()).update(_TOOL_VERBS)
    return {word: frozenset(family) for word, family in families.items() if family}


@functools.lru_cache(maxsize=16_384)
def related_words(words: frozenset[str]) -> frozenset[str]:
    """The words a memory that conflicts with a text of subject ``words`` may say in their
    place (see :func:`_word_families`), not among ``words`` themselves."""
    families = _word_families()
    return frozenset().union(*(families.get(w, frozenset()) for w in words)) - words


#: Words that say when, not what ("last *month*", "these *days*", "on *Mondays*"): sharing
#: them does not make two facts one.
_TIME_WORDS = (
    "day daily week weekly month monthly year yearly today tonight yesterday tomorrow morning "
    "evening night afternoon weekend ago time recently lately last next monday tuesday "
    "wednesday thursday friday saturday sunday"
)


def _folded(words: str) -> frozenset[str]:
    """The words of a space-separated list, folded as the pair model folds its words."""
    from ._pairs import _fold

    return frozenset(_fold(w) for w in words.split())


@functools.lru_cache(maxsize=1)
def _time_words() -> frozenset[str]:
    return _folded(_TIME_WORDS)


#: Words that name who a memory is about rather than what it says of them: the user (in the
#: third person or the first, see ``_pairs.analyse``), or the team speaking ("we").
_SUBJECT_WORDS = frozenset({"user", "we"})


@functools.lru_cache(maxsize=4_096)
def shares_attribute(new_text: str, old_text: str, *, family: bool = True) -> bool:
    """Whether two texts share what they say of their subject, not only the subject: a word
    besides the subject's own (their lead words, "user", "we"), a name, a value, or the verb
    whose value a change replaces ("lives in Berlin" / "moved to Munich", "uses Trello" /
    "switched to Linear"). Two facts about the user that share only "the user" ("prefers
    tea" / "moved to Munich") are two attributes of one subject: a change of one says
    nothing of the other."""
    from ._pairs import analyse

    a, b = analyse(new_text), analyse(old_text)
    if (a.words & b.words) - _SUBJECT_WORDS - _time_words() or (a.names & b.names):
        return True
    if (a.values & b.values) - {v for v in a.values if not v[:1].isdigit()}:
        return True  # the same count or amount (a shared date or time places, it does not say)
    if a.values and b.values and (a.words <= b.words or b.words <= a.words):
        return True  # a value, and nothing else said beside the subject ("is 34" / "turned 35")
    mine, theirs = content_tokens(new_text)[0], content_tokens(old_text)[0]
    for word in mine:
        verbs = _CHANGE_FAMILIES.get(word)
        if verbs is None and word in _REPLACING:
            verbs = _TOOL_VERBS
        if verbs is not None and not verbs.isdisjoint(theirs):
            return family or _verb_replaced(new_text, old_text, verbs)
    return False


_FROM = re.compile(r"\bfrom ((?:[\w.-]+ ){0,2}?[\w.-]+) (?:over )?(?:to|onto)\b")


def _verb_replaced(new_text: str, old_text: str, verbs: frozenset[str]) -> bool:
    """Whether the old text is "<subject> <verb> ..." with a verb whose value the new text's
    change replaces ("User *lives* in Berlin" / "User moved to Munich"), about the same
    subject, and the new text names no earlier value the old one lacks ("moved *from VS
    Code* to Neovim" is not about where the user lives)."""
    old, new = _sequence(old_text), _sequence(new_text)
    if len(old) < 2 or not new or old[0] != new[0] or old[1] not in verbs:
        return False
    named = _FROM.search(" ".join(_words(new_text)))
    if named is not None:
        earlier = {_stem(w) for w in named.group(1).split() if _is_content(w)}
        if earlier and earlier.isdisjoint(old):
            return False
    return not _names_another_thing(new_text, old)


def _names_another_thing(new_text: str, old: tuple[str, ...]) -> bool:
    """Whether the change names, as its object, a thing the old text does not mention:
    "changed *banks*", "replaced *Jest* with Vitest", "instead of *Firefox*", "gave up on
    *Spanish*" (a change of that thing, not of the old text's value)."""
    for sentence, marker in _markers_in(new_text, _CESSATION):
        # what stopped ("gave up on *Spanish*", "quit *Initech*")
        stopped = [w for w in sentence[marker.end() :].split() if _is_content(w)][:1]
        if stopped and _stem(stopped[0]) not in old:
            return True
    words = _words(new_text)
    for i, word in enumerate(words[:-1]):
        stem, after = _stem(word), words[i + 1]
        if stem == "instead" and after == "of" and i + 2 < len(words):
            after = words[i + 2]
        elif stem not in _CHANGE_FAMILIES and stem not in _REPLACING:
            continue
        if _is_content(after) and not _is_number(after) and _stem(after) not in old:
            return True
    return False


#: How many words a memory reached through related words shares with the new text, counting
#: a related word as shared: at least one of them literally.
RELATED_SHARED = 2


def reaches(new: frozenset[str], old: frozenset[str]) -> bool:
    """Whether conflict detection compares a new text of subject words ``new`` with a memory
    of subject words ``old`` in keyword mode: they share :func:`needed_shared` of the new
    words (the token index's probe), or the old memory's one word, or the new words with
    their related ones reach :data:`RELATED_SHARED` of the old words, one of them literally
    ("User lives in Berlin" / "User moved to Munich": *user*, and *lives* for *moved*)."""
    shared = len(new & old)
    if shared >= needed_shared(len(new)) or (len(old) == 1 and old <= new):
        return True
    return shared >= 1 and shared + len(related_words(new) & old) >= min(RELATED_SHARED, len(new))


_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WHEN = (
    r"(?:(?:last|this|next) (?:week|month|year|quarter|spring|summer|autumn|fall|winter|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)|yesterday|today|"
    rf"(?:(?:19|20)\d\d|q[1-4]|(?:{_MONTH_NAMES})\.?(?: \d{{1,2}}(?:st|nd|rd|th)?)?)"
    rf"(?:,? (?:19|20)\d\d)?|\d{{1,2}}(?:st|nd|rd|th)? (?:of )?(?:{_MONTH_NAMES})\.?"
    r"(?:,? (?:19|20)\d\d)?)"
)
#: When a fact starts to hold ("as of 2025", "since last week", "starting in March"): a time
#: scope of the new value, not a value of its own, so the rules compare the rest.
_START = re.compile(
    rf"(?:,\s*)?\b(?:as of|since|starting(?: from| in| on)?|effective(?: from)?) {_WHEN}\b,?",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=16_384)
def _unstarted(text: str) -> str:
    """``text`` without the time it says a fact starts to hold from, when it says one and
    keeps something besides ("As of 2025 the limit is 250" → "the limit is 250")."""
    if not _START.search(text):
        return text
    rest = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(_START.sub(" ", text).split()))
    return rest if _words(rest) else text


def judge(
    new_text: str | Tokens, old_text: str | Tokens, cosine: float | None = None
) -> tuple[ConflictKind, float, str] | None:
    """Whether ``new_text`` nearly duplicates or contradicts ``old_text``, and why.

    Either text may be given as its :func:`content_tokens` already. Word order is only known
    from the texts themselves, so a verdict on tokens is a looser pre-filter: whatever the
    texts are judged to be, their tokens are judged to be too (never the reverse).

    A ``possible_`` kind is a low-confidence verdict: the write reports it and keeps both.

    Returns:
        ``(kind, similarity, reason)``, or None when the texts are about different things or
        can both stand.
    """
    if isinstance(new_text, str) and isinstance(old_text, str):
        verdict = _judge(_unstarted(new_text), _unstarted(old_text), cosine)
    else:
        verdict = _judge(new_text, old_text, cosine)
    if isinstance(new_text, str) and isinstance(old_text, str):
        from ._pairs import probabilities

        weighed = _model_input(new_text, old_text, cosine, verdict)
        if weighed is not None:
            similarity, row = weighed
            chances = probabilities(row, embedded=cosine is not None)
            verdict = _weighed(new_text, old_text, cosine, verdict, similarity, chances)
        return _as_transcript(new_text, old_text, verdict)
    if verdict is None and not isinstance(new_text, str) and not isinstance(old_text, str):
        # On tokens only, a pre-filter: a memory sharing the words the index pruned by is
        # left for its text to decide (the pair model may find a change the rules miss).
        a, b = new_text[0], old_text[0]
        if a and b and (reaches(a, b) or b <= a):
            return "possible_duplicate", len(a & b) / len(a | b), "shares its subject words"
    return verdict


def judge_many(
    pairs: Sequence[tuple[str, str, float | None]],
) -> list[tuple[ConflictKind, float, str] | None]:
    """:func:`judge` of many ``(new text, old text, cosine)`` pairs, the same verdicts: the
    word rules per pair, then the pair model over every pair it weighs in one pass
    (:func:`._pairs.probabilities_many`) rather than one pair at a time."""
    from ._pairs import probabilities_many

    verdicts = [_judge(_unstarted(new), _unstarted(old), cosine) for new, old, cosine in pairs]
    asked = [_model_input(*pair, verdict) for pair, verdict in zip(pairs, verdicts, strict=True)]
    for embedded in (False, True):
        at = [
            i
            for i, weighed in enumerate(asked)
            if weighed is not None and (pairs[i][2] is not None) == embedded
        ]
        rows = [asked[i][1] for i in at]  # type: ignore[index]
        for i, chances in zip(at, probabilities_many(rows, embedded=embedded), strict=True):
            new, old, cosine = pairs[i]
            similarity = asked[i][0]  # type: ignore[index]
            verdicts[i] = _weighed(new, old, cosine, verdicts[i], similarity, chances)
    return [
        _as_transcript(new, old, verdict)
        for (new, old, _), verdict in zip(pairs, verdicts, strict=True)
    ]


def _as_transcript(
    new_text: str, old_text: str, verdict: tuple[ConflictKind, float, str] | None
) -> tuple[ConflictKind, float, str] | None:
    if (
        verdict is not None
        and not verdict[0].startswith("possible_")
        and _transcript_lines(new_text, old_text)
    ):
        # Two lines of one speaker's transcript are records of what was said when: a later
        # line does not make an earlier one untrue. Reported, both kept.
        kind: ConflictKind = (
            "possible_contradiction" if verdict[0] == "contradiction" else "possible_duplicate"
        )
        return kind, verdict[1], verdict[2] + " (lines of a transcript)"
    return verdict


#: The pair model's probability at or above which its verdict acts (hides the old memory
#: under the default policy), per kind, and the one at or above which it is reported with both
#: memories kept.
MODEL_CONFIDENT = {"contradiction": 0.6, "near_duplicate": 0.6}
MODEL_POSSIBLE = 0.4
#: With an embedder, the probability the model alone needs to call a pair below the usual
#: subject gate (:data:`SUBJECT_COSINE`: let through because the new text tells a change as
#: an event) a changed fact.
MODEL_FAR_CONFIDENT = 0.8
#: Without an embedder, the probability a paraphrase in other words needs to hide the old one.
MODEL_SURE = 0.7
#: With an embedder, the least cosine at which the pair model alone may call a pair the same
#: fact (the word rules have their own, higher, thresholds).
MODEL_DUPLICATE_COSINE = 0.6
#: Without an embedder, the least share of words and values (Jaccard, after the pair model's
#: lemmas and units) at which the pair model alone may call a pair the same fact: two texts
#: sharing fewer than two in five of them are never "the same fact in other words" from words
#: alone ("User prefers dark mode" / "dark build mode for tuesday deploy"); such a pair is at
#: most a possible duplicate, both kept.
MODEL_DUPLICATE_SHARE = 0.4
#: Below this cosine, one word swapped in the same sentence names another thing or value, not
#: the same fact in other words ("the login bug" / "the signup bug").
SWAP_COSINE = 0.92
#: The model's probability of "both stand" at or above which a confident rule verdict is
#: reported at low confidence instead (both kept).
MODEL_DOUBT = 0.5


def rule_kind_of(verdict: tuple[ConflictKind, float, str] | None) -> str | None:
    return verdict[0] if verdict is not None else None


@functools.lru_cache(maxsize=4_096)
def _identifiers(text: str) -> frozenset[str]:
    """Words that name one thing exactly: with a digit, a hyphen, a dot or an underscore
    inside ("acme-prod-assets", "stg-db", "v2", "PROJ-1412")."""
    return frozenset(
        w for w in _words(text) if _IDENTIFIER.search(w) and not _PLAIN_NUMBER.fullmatch(w)
    )


_IDENTIFIER = re.compile(r"[a-z][-_][a-z0-9]|[a-z]\d|\d[a-z]{3,}")
_PLAIN_NUMBER = re.compile(
    r"v?\d+(?:[.,:]\d+)*(?:st|nd|rd|th|k|am|pm|mb|gb|kb|tb|km|kg|s|h|m|x|%)?"
)


def _low(kind: ConflictKind) -> ConflictKind:
    return "possible_contradiction" if kind.endswith("contradiction") else "possible_duplicate"


def _model_input(
    new_text: str,
    old_text: str,
    cosine: float | None,
    verdict: tuple[ConflictKind, float, str] | None,
) -> tuple[float, list[float]] | None:
    """Whether the pair model weighs a pair (see :func:`_weighed`): the pair's similarity
    and its feature row, or None when the word rules' verdict stands as it is.

    The model sees only pairs the detector would compare: with an embedder, those past the
    subject gate; without, those sharing the words the token index prunes by.
    """
    from ._pairs import features

    if new_text.rstrip().endswith("?") or old_text.rstrip().endswith("?"):
        return None
    if _label(new_text) != _label(old_text) and _label(new_text) and _label(old_text):
        return None
    if cosine is None:
        a, b = content_tokens(new_text)[0], content_tokens(old_text)[0]
        if not a or not b or not (reaches(a, b) or b <= a):
            return None
        similarity = len(a & b) / len(a | b)
    elif cosine < subject_gate(new_text):
        return None
    else:
        similarity = float(min(1.0, max(0.0, cosine)))
    row = features(
        new_text,
        old_text,
        cosine,
        verdict[0] if verdict else None,
        subject_changed=_subject_changed(new_text, old_text),
    )
    return similarity, row


def _weighed(
    new_text: str,
    old_text: str,
    cosine: float | None,
    verdict: tuple[ConflictKind, float, str] | None,
    similarity: float,
    probabilities: Sequence[float],
) -> tuple[ConflictKind, float, str] | None:
    """The word rules' verdict weighed with the pair model (:mod:`._pairs`): what the texts
    are about and say, compared as a whole, with the embedder's cosine when there is one
    (``probabilities``, of none / duplicate / contradiction, the model's output for the
    row :func:`_model_input` gave).

    A duplicate that adds words to the old text (a detail, a clause) is at most a possible
    one: the detail may be a fact of its own, and hiding the old memory is the costlier
    mistake.
    """
    from ._pairs import analyse

    _none, duplicate, contradiction = probabilities
    kind: ConflictKind = "contradiction" if contradiction >= duplicate else "near_duplicate"
    p = max(contradiction, duplicate)
    new_said, old_said = analyse(new_text), analyse(old_text)
    new_words, old_words = new_said.words, old_said.words
    # A detail added: every old word kept, and two more words or a name or value of its own.
    added, dropped = new_words - old_words, old_words - new_words
    # A detail added: (nearly) every old word kept, and two more words, a name or value of its
    # own, or another subject ("the user" / "the user's partner").
    elaboration = (not dropped or (len(dropped) == 1 and len(added) >= 3)) and (
        len(added) >= 2
        or bool(new_said.names - old_words)  # a name of its own, not one capitalised anew
        or bool(new_said.values - old_said.values)
        or bool(added & new_said.possessed)
    )
    confident = p >= MODEL_CONFIDENT[kind]
    if confident and kind == "near_duplicate" and rule_kind_of(verdict) != "near_duplicate":
        # The model alone calls it the same fact: not if a detail is added, one word is swapped
        # in the same sentence (another thing: "the login bug" / "the signup bug"), or an
        # identifier or value differs ("acme-prod-assets" / "acme-stg-assets").
        swapped = len(added) == len(dropped) == 1
        confident = not (
            elaboration
            # the new text says less (hiding the old one would lose what only it said), or
            # joins another clause on (which may be a fact of its own)
            or (dropped and not added and _loses_detail(dropped, old_said, new_said, cosine))
            or _adds_a_clause(new_text, old_text)
            or (swapped and (cosine is None or cosine < SWAP_COSINE))
            # or the value after the same verb or preposition replaced ("Redis for caching" /
            # "Redis for rate limiting"): one more use, or another value, not a restatement
            or _tail_swapped(new_text, old_text)
            # without an embedder, words swapped for others are a paraphrase only when sure
            or (cosine is None and added and dropped and p < MODEL_SURE)
            # with an embedder, the words alone never make a paraphrase of a distant text
            or (cosine is not None and cosine < MODEL_DUPLICATE_COSINE)
            # nor, without one, of a text sharing fewer words than it changes
            or (cosine is None and _share(new_said, old_said) < MODEL_DUPLICATE_SHARE)
            or _identifiers(new_text) != _identifiers(old_text)
            or new_said.values != old_said.values
            # a fact scoped to the past, or a plan, beside a present fact is another fact
            or new_said.past != old_said.past
            or new_said.plan != old_said.plan
        )
    if confident and kind == "contradiction" and rule_kind_of(verdict) != "contradiction":
        # A fact scoped to the past is not replaced by one about the present ("in 2022 the
        # team had 12 people" / "the team has 8 people now"), nor a plan by a fact; what is
        # said to be added ("was *also* moved onto k8s") replaces nothing; and below the
        # usual subject gate (a change told as an event) the model must be surer.
        confident = (
            new_said.past == old_said.past
            and new_said.plan == old_said.plan
            and not (new_said.additive and not old_said.additive)
            and (cosine is None or cosine >= SUBJECT_COSINE or p >= MODEL_FAR_CONFIDENT)
            # two attributes of one subject ("prefers tea" / "moved to Munich"): a change of
            # one says nothing of the other
            and (
                shares_attribute(new_text, old_text, family=cosine is not None)
                or (cosine is not None and cosine >= ATTRIBUTE_COSINE)
            )
        )
    others = _other_subjects()
    mine, theirs = _heads(new_said.possessed) & others, _heads(old_said.possessed) & others
    if (mine - _heads(old_words) and not theirs) or (theirs - _heads(new_words) and not mine):
        # About someone else ("the user" / "the user's brother"): whatever the words say,
        # a fact of one person does not replace a fact of another. Reported, both kept.
        if verdict is not None and not verdict[0].startswith("possible_"):
            return _low(verdict[0]), verdict[1], f"{verdict[2]} (about someone else)"
        return verdict
    rule_kind = verdict[0] if verdict is not None else None
    if (
        verdict is not None
        and rule_kind == "contradiction"
        and old_said.past
        and not (new_said.past or new_said.event)
    ):
        # The old fact is scoped to the past ("weighed 90 kg in 2020", "used to work nights")
        # and the new one states the present without telling a change as an event ("moved",
        # "switched"; "now" alone says only that the new value holds today): the old stays
        # true as history, so a value told anew is not a replacement. Reported, both kept.
        return _low(rule_kind), verdict[1], f"{verdict[2]} (the old fact is scoped to the past)"
    if _values_of_other_kinds(new_said, old_said):
        # A time beside a date, a duration beside a count ("the flight is on 28 August" /
        # "leaves at 8am"): a second attribute, not the value replaced. Reported, both kept.
        if verdict is not None and rule_kind == "contradiction":
            return _low(rule_kind), verdict[1], f"{verdict[2]} (values of another kind)"
        confident = confident and kind != "contradiction"
    if verdict is not None and rule_kind is not None and not rule_kind.startswith("possible_"):
        # A confident rule stands unless the model finds the texts more likely compatible, or
        # the verdict is a duplicate that adds a detail.
        if _none >= MODEL_DOUBT or (rule_kind == "near_duplicate" and elaboration):
            return _low(rule_kind), verdict[1], f"{verdict[2]} (the pair model doubts it)"
        if _low(rule_kind) == _low(kind) or not confident:
            return verdict
    elif verdict is not None and rule_kind is not None and _low(rule_kind) == _low(kind):
        if confident:
            return kind, verdict[1], f"{verdict[2]} (the pair model agrees, p={p:.2f})"
        return verdict
    if confident:
        what = "a changed fact" if kind == "contradiction" else "the same fact"
        return kind, similarity, f"the pair model: {what} (p={p:.2f})"
    # Below the usual subject gate (let through for a change told as an event) the model
    # alone speaks only when sure: a guess there is mostly about another thing ("the kiwi
    # orchard moved north" / "the kiwi crates ship on fridays").
    if p >= MODEL_POSSIBLE and (cosine is None or cosine >= SUBJECT_COSINE):
        return _low(kind), similarity, f"the pair model: maybe (p={p:.2f})"
    return verdict


#: Who or what, named after a possessive, is a subject of its own rather than an attribute
#: of the owner: "the user's *brother* lives in Madrid" is not about the user, "the user's
#: *OS* is Windows" is. People by their relation, pets, and groups one belongs to (general
#: English, folded and lemmatised like the pair model's words).
_OTHER_SUBJECT_WORDS = (
    "brother sister sibling mother father parent partner spouse wife husband son daughter "
    "child kid baby friend boss manager colleague coworker teammate neighbour neighbor "
    "roommate flatmate cousin uncle aunt niece nephew grandmother grandfather grandma grandpa "
    "grandparent grandchild family fiance fiancee girlfriend boyfriend mentor client customer "
    "doctor dentist therapist teacher student dog cat pet team company employer landlord"
)


@functools.lru_cache(maxsize=1)
def _other_subjects() -> frozenset[str]:
    return _folded(_OTHER_SUBJECT_WORDS)


def _value_kinds(values: frozenset[str]) -> frozenset[str]:
    # The pair model's values: "t14:00" a time of day, "d3600" a duration; anything else (a
    # count, an amount, a date, a version) may be either ("at 3" / "3pm", "React 17").
    return frozenset(v[0] if v[:1] in ("t", "d") else "n" for v in values)


def _values_of_other_kinds(new: Analysis, old: Analysis) -> bool:
    """Whether the values only one text has are all of another kind than those only the
    other has (a time of day against a date, a duration against a version)."""
    mine, theirs = new.values - old.values, old.values - new.values
    kinds, others = _value_kinds(mine), _value_kinds(theirs)
    return bool(mine and theirs) and "n" not in kinds | others and kinds.isdisjoint(others)


def _heads(words: frozenset[str]) -> frozenset[str]:
    """Words with the first part of each hyphenated one ("mother-in-law" → "mother")."""
    return words | {w.split("-", 1)[0] for w in words if "-" in w}


def _loses_detail(
    dropped: frozenset[str], old: Analysis, new: Analysis, cosine: float | None
) -> bool:
    """Whether the words only the old text has say something the new one does not: a name
    or value of its own, two words or more, or (without an embedder to vouch for the
    restatement) any word at all. One verb dropped from a reordered sentence ("contains the
    dashboards" / "dashboards are in") loses nothing."""
    return (
        cosine is None
        or len(dropped) >= 2
        or bool(dropped & old.names)
        or bool(old.values - new.values)
    )


def _share(a: Analysis, b: Analysis) -> float:
    """How much of what two analysed texts say is the same: shared words and values over all
    of them (Jaccard), after the pair model's lemmas, synonyms and unit normalisation."""
    x, y = a.words | a.values, b.words | b.values
    return len(x & y) / (len(x | y) or 1)


def _transcript_lines(new_text: str, old_text: str) -> bool:
    a, b = _SPEAKER.match(new_text), _SPEAKER.match(old_text)
    return (
        a is not None
        and b is not None
        and a.group(1) == b.group(1)
        and a.group(1).casefold() not in _GENERIC_LABELS
    )


def _judge(
    new_text: str | Tokens, old_text: str | Tokens, cosine: float | None
) -> tuple[ConflictKind, float, str] | None:
    texts = (
        (new_text, old_text) if isinstance(new_text, str) and isinstance(old_text, str) else None
    )
    questions = False
    if texts:
        asked = [t.rstrip().endswith("?") for t in texts]
        if asked[0] != asked[1]:
            return None  # a question never replaces a statement, nor the other way round
        questions = asked[0]  # two questions: the same one asked again at most
        labels = _label(texts[0]), _label(texts[1])
        if labels[0] and labels[1] and labels[0] != labels[1]:
            return None  # said by someone else, or about another numbered thing
    a, a_num, a_neg = content_tokens(new_text) if isinstance(new_text, str) else new_text
    b, b_num, b_neg = content_tokens(old_text) if isinstance(old_text, str) else old_text
    if not a or not b:
        return None
    if cosine is not None and cosine < (subject_gate(texts[0]) if texts else SUBJECT_COSINE):
        return None
    shared = a & b
    # A change told as an event shares little beyond the subject ("lives in Leeds" / "moved
    # to Manchester"). Without an embedder candidates must share what the token index prunes
    # by, and the tokens alone only hint at an event (a marker word among them).
    lexical_ok = cosine is not None or reaches(a, b)
    if texts and not questions and lexical_ok:
        event = _change_event(texts[0], texts[1], cosine)
        if event is not None:
            jaccard = len(shared) / (len(a) + len(b) - len(shared))
            sim = float(min(1.0, max(0.0, cosine if cosine is not None else jaccard)))
            return ("contradiction" if event[1] else "possible_contradiction"), sim, event[0]
    elif (
        not texts
        and shared
        and lexical_ok
        and (not a.isdisjoint(_MARKER_LEMMAS) or (a_neg and not b_neg))
    ):
        jaccard = len(shared) / (len(a) + len(b) - len(shared))
        return "possible_contradiction", jaccard, "a change may be told as an event"
    # A number replaced, not one added ("floor 2" → "floor 2, with A3 paper").
    numbers_changed = bool(a_num and b_num and a_num != b_num and a_num - b_num and b_num - a_num)
    negation_flipped = a_neg != b_neg
    # With an embedder, closeness in meaning is a signal of its own: texts no word rule
    # relates (a paraphrase in other words) may still say the same thing. Not enough to hide
    # either, so it is reported and both are kept.
    close = (
        cosine is not None
        and cosine >= PARAPHRASE_COSINE
        and not numbers_changed
        and not negation_flipped
    )
    by_meaning: tuple[ConflictKind, float, str] = (
        "possible_duplicate",
        float(cosine or 0.0),
        "close in meaning",
    )
    if len(shared) < 2 and not (len(shared) == 1 and min(len(a), len(b)) == 1):
        return by_meaning if close else None
    if len(shared) / min(len(a), len(b)) < 0.5:
        return by_meaning if close else None
    jaccard = len(shared) / (len(a) + len(b) - len(shared))
    similarity = float(min(1.0, max(0.0, cosine if cosine is not None else jaccard)))
    only_new, only_old = a - b, b - a

    # Without the texts nothing is known about word order or the words around numbers: assume
    # the subject is kept, the numbers are quantities and the new text is not additive. Each
    # is worked out only when a rule needs it (they are cached per text or pair).
    def subject_kept() -> bool:
        return _same_subject(*texts) if texts else True

    additive = _adds(texts[0]) if texts else False
    # A negation that comes with a word of its own is about that word ("..., no sugar",
    # "without jargon"): only the same words with a negation flipped deny the old statement.
    if negation_flipped and not only_new and not only_old and a_num == b_num and subject_kept():
        return "contradiction", similarity, "the same statement with a negation flipped"
    if (
        not negation_flipped
        and len(only_new) == len(only_old) == 1
        and _opposites(next(iter(only_new)), next(iter(only_old)))
        and (_opposite_in_predicate(*texts) if texts else True)
    ):
        was, now = next(iter(only_old)), next(iter(only_new))
        return "contradiction", similarity, f"the same statement with opposite words: {was} → {now}"
    # A changed number alone is a changed fact only with a clear subject ("the API rate limit
    # is 100 requests per minute"): "fact number 1" and "fact number 2" are two things. A
    # number that measures something ("kept for 30 days", "has 2 cats") needs less context
    # than one that names a thing.
    if (
        numbers_changed
        and not additive
        and len(only_new) + len(only_old) <= 2
        and subject_kept()
        and (_words_by_numbers(*texts, only_new | only_old, a_num ^ b_num) if texts else True)
    ):
        measured = (
            not (a_num ^ b_num).isdisjoint(_quantities(texts[0]) | _quantities(texts[1]))
            if texts
            else True
        )
        # No easing with an embedder: it scores "fact number 3" and "fact number 7" ~0.95.
        needed = (2 if not only_new and not only_old else 3) if measured else 4
        if len(shared) >= needed:
            changed = ", ".join(sorted(a_num ^ b_num))
            return (
                "contradiction",
                similarity,
                f"the same statement with changed numbers ({changed})",
            )
    if (
        only_new
        and only_old
        and not additive
        and not numbers_changed
        and len(shared) >= 2
        and max(len(only_new), len(only_old)) <= 3
        and (_value_swapped(*texts) and not _one_of_many(*texts) if texts else True)
    ):
        was, now = ", ".join(sorted(only_old)), ", ".join(sorted(only_new))
        return "contradiction", similarity, f"same subject, another value: {was} → {now}"
    if (
        only_new
        and only_old
        and not additive
        and not numbers_changed  # then the number rule above decides
        # a number only one text has goes with the words that changed ("on the 12th of July"
        # / "in Tuscany"): another attribute as often as a changed one
        and a_num == b_num
        and jaccard >= 0.6
        and max(len(only_new), len(only_old)) <= 2
        and abs(len(only_new) - len(only_old)) <= 1
        and subject_kept()
        and not (texts and _one_of_many(*texts))
    ):
        was, now = ", ".join(sorted(only_old)), ", ".join(sorted(only_new))
        if texts and (_verb_swapped(*texts) or _predicate_reshaped(*texts)):
            # Another verb, or another shape of predicate, about the same subject: a second
            # attribute ("lives in Madrid" / "works in Madrid") as often as a change.
            return (
                "possible_contradiction",
                similarity,
                f"same subject, another verb: {was} → {now}",
            )
        return "contradiction", similarity, f"same subject, changed fact: {was} → {now}"
    unchanged = not numbers_changed and not negation_flipped
    # One text says everything the other does, and more: an elaboration, unless what it adds
    # names another subject ("the user" → "the user's partner").
    contained = (not only_new or not only_old) and min(len(a), len(b)) >= 3
    if (
        (not only_new or not only_old)
        and unchanged
        and (jaccard >= 0.6 or (contained and jaccard >= 0.5))
        and (a == b or subject_kept())
    ):
        if a == b:
            return "near_duplicate", similarity, "the same words"
        if not only_new and not only_old <= _GENERIC_LABEL_STEMS:
            # The new text says less: hiding the old one would lose what only it says.
            return "possible_duplicate", similarity, "the same statement, with less detail"
        if len(only_new) >= 3 or (texts and _adds_a_clause(*texts)):
            # What is added may be a fact of its own ("... and its on-call rotation").
            return "possible_duplicate", similarity, "the same statement, with another fact"
        return "near_duplicate", similarity, "the same statement, elaborated"
    if (
        cosine is not None
        and cosine >= DUPLICATE_COSINE
        and not numbers_changed
        and not negation_flipped
        and subject_kept()
    ):
        return "near_duplicate", similarity, "nearly the same meaning"
    return by_meaning if close else None


@functools.lru_cache(maxsize=16_384)
def _adds(text: str) -> bool:
    """Whether a text adds to what is known rather than replacing it ("also", "too", "as
    well": "supports Python 3.12 *as well*")."""
    words = _words(text)
    return not _ADDITIVE.isdisjoint(words) or " as well" in " " + " ".join(words)


def _verb_swapped(new_text: str, old_text: str) -> bool:
    """Whether the one word that differs is a verb of the present tense between the same
    words ("the sister *lives* in Madrid" / "*works* in Madrid")."""
    a, b = _words(new_text), _words(old_text)
    if len(a) != len(b):
        return False
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(changed) != 1:
        return False
    at = changed[0]
    x, y = a[at], b[at]
    # After a verb ("prefers *tabs*") a word ending in "s" is a plural object, not a verb.
    before = a[at - 1] if at else ""
    if not before or before.endswith("s") or not _is_content(before):
        return False
    return all(w.endswith("s") and not w.endswith("ss") and len(w) > 3 for w in (x, y))


def _predicate_reshaped(new_text: str, old_text: str) -> bool:
    """Whether one text states its fact with a copula and the other with a verb ("is slow
    on Mondays" / "restarts on Mondays")."""
    return (_subject_end(new_text) is None) != (_subject_end(old_text) is None)


def _adds_a_clause(new_text: str, old_text: str) -> bool:
    """Whether the new text joins one more clause or item on ("... and ...", "...; ...")."""
    joins = ("and", "but", "plus", "while")
    new_words, old_words = _words(new_text), _words(old_text)
    more = sum(new_words.count(j) for j in joins) > sum(old_words.count(j) for j in joins)
    return more or new_text.count(";") > old_text.count(";")


@dataclass(frozen=True, slots=True)
class Finding:
    """A new text's relation to an existing memory, or to an earlier item of the same batch."""

    kind: ConflictKind
    similarity: float
    reason: str
    memory_id: str | None = None
    """The existing memory, when the other side is already stored."""
    batch_index: int | None = None
    """The earlier item of the batch, when the other side is new too."""


class _Transaction(Protocol):
    async def get_many(self, ids: Sequence[str]) -> list[Memory]: ...


async def find_conflicts(
    texts: Sequence[str],
    vectors: npt.NDArray[np.float32] | None,
    *,
    tx: _Transaction,
    index: VectorIndex | None,
    lexicon: LexicalIndex[str] | StoredLexicon | None = None,
    now: float,
    within_batch: bool = True,
    model: str | None = None,
) -> list[list[Finding]]:
    """For each new text, what it duplicates or contradicts, most similar first.

    Args:
        texts: The new texts (already known not to be exact duplicates).
        vectors: Their unit vectors, or None without an embedder.
        tx: The open write transaction of the store they go to (its FTS sees earlier writes).
        index: That store's vector index, when there is an embedder.
        lexicon: That store's token index (in memory, or the tokens it stores), used
            without an embedder.
        now: The time expiry is judged against.
        within_batch: Also compare the new texts with each other (not when ``tx`` is another
            scope's store, checked for conflicts across scopes).
        model: The embedder that made ``vectors``: a store (or transaction) without an
            ``index`` that finds neighbours itself is searched for that model's vectors.
    """
    findings: list[list[Finding]] = [[] for _ in texts]
    if not texts:
        return findings
    # -- against the store --
    searcher = None if index is not None or model is None else neighbour_searcher(tx)
    hits: list[list[tuple[str, float]]] | None = None
    # Per new text, the least cosine of a candidate (only with vectors).
    gates = [subject_gate(text) for text in texts] if vectors is not None else []
    if vectors is not None and index is not None and len(index):
        hits = index.search(vectors, _CANDIDATES, VectorFilter(), now=now, min_score=min(gates))
    elif vectors is not None and searcher is not None and model is not None:
        # The same candidates, found by the store in one round trip for the whole batch.
        hits = await searcher.nearest_many(
            [to_blob(v) for v in vectors],
            model,
            k=_CANDIDATES,
            min_score=min(gates),
            now=now,
        )
    if hits is not None:
        wanted = {mid for row in hits for mid, _ in row}
        known = {m.id: m.text for m in await tx.get_many(list(wanted))} if wanted else {}
        judged = [
            (i, memory_id, (texts[i], known[memory_id], cos))
            for i, row in enumerate(hits)
            for memory_id, cos in row
            if memory_id in known and cos >= gates[i]
        ]
        verdicts = judge_many([pair for _, _, pair in judged])
        for (i, memory_id, _), verdict in zip(judged, verdicts, strict=True):
            if verdict is not None:
                findings[i].append(Finding(*verdict, memory_id=memory_id))
    elif (
        vectors is None
        and lexicon is not None
        and (not isinstance(lexicon, LexicalIndex) or len(lexicon))
    ):
        tokens = [content_tokens(text) for text in texts]
        lexical_hits: list[list[tuple[str, Tokens]]] = [[] for _ in texts]

        def take(i: int, candidates: Iterable[tuple[str, Tokens]]) -> None:
            matched = lexical_hits[i]
            for memory_id, theirs in candidates:
                if len(matched) >= _CANDIDATES:
                    return
                if judge(tokens[i], theirs) is not None:
                    matched.append((memory_id, theirs))

        offered = await lexicon.lookup([t[0] for t in tokens])
        for i, candidates in enumerate(offered):
            take(i, candidates)
        # A second probe by the words a conflicting memory may say instead (synonyms, the
        # verb a change replaces: "moved to" / "lives in"), for the texts that have any and
        # fewer than `_CANDIDATES` candidates yet: two of them with one shared literally (see
        # `reaches`), the closest few.
        wider = [
            (i, t[0] | related_words(t[0]))
            for i, t in enumerate(tokens)
            if len(lexical_hits[i]) < _CANDIDATES and related_words(t[0])
        ]
        if wider:
            more = await lexicon.lookup(
                [words for _, words in wider], RELATED_SHARED, limit=3 * _CANDIDATES
            )
            for (i, _), extra in zip(wider, more, strict=True):
                seen = set(candidate_keys(offered[i]))
                take(i, (hit for hit in extra if hit[0] not in seen))
        # An in-memory index is append-only: confirm each hit is still current, with today's
        # text (the stored tokens are current, but an expiry passes without a write).
        confirm = {mid for matched in lexical_hits for mid, _ in matched}
        live = {
            m.id: m
            for m in (await tx.get_many(list(confirm)) if confirm else [])
            if m.superseded_by is None
            and (m.pinned or m.expires_at is None or m.expires_at.timestamp() > now)
        }
        confirmed: list[tuple[int, str, tuple[str, str, float | None]]] = []
        for i, matched in enumerate(lexical_hits):
            for memory_id, theirs in matched:
                memory = live.get(memory_id)
                if memory is not None and tokens_of(memory.text) == theirs:
                    # Judged again on the texts: only they know which words lead.
                    confirmed.append((i, memory_id, (texts[i], memory.text, None)))
        verdicts = judge_many([pair for _, _, pair in confirmed])
        for (i, memory_id, _), verdict in zip(confirmed, verdicts, strict=True):
            if verdict is not None:
                findings[i].append(Finding(*verdict, memory_id=memory_id))
    # -- against each other --
    if within_batch and len(texts) > 1:
        if vectors is not None:
            import numpy as np

            # Each item against the earlier ones: the close pairs below the diagonal.
            sims = vectors @ vectors.T
            gate = np.array(gates, dtype=np.float32)[:, None]
            close = (sims >= gate) & np.tri(len(texts), k=-1, dtype=bool)
            pairs: dict[int, list[tuple[float, int]]] = {}
            for i, j in zip(*(axis.tolist() for axis in np.nonzero(close)), strict=True):
                pairs.setdefault(i, []).append((float(sims[i, j]), j))
            closest = [
                (i, j, (texts[i], texts[j], cosine))
                for i, near in pairs.items()
                for cosine, j in sorted(near, reverse=True)[:_CANDIDATES]
            ]
            verdicts = judge_many([pair for _, _, pair in closest])
            for (i, j, _), verdict in zip(closest, verdicts, strict=True):
                if verdict is not None:
                    findings[i].append(Finding(*verdict, batch_index=j))
        else:
            batch: LexicalIndex[int] = LexicalIndex()
            queue: list[list[int]] = []
            for i, text in enumerate(texts):
                mine = content_tokens(text)
                # The closest few earlier items sharing enough words (or related ones, as
                # against the store) are judged.
                earlier = batch.candidates(mine[0])
                related = related_words(mine[0])
                if related and len(earlier) < _BATCH_JUDGED:
                    also = batch.candidates(mine[0] | related, RELATED_SHARED)
                    earlier += [j for j in also if j not in earlier][:_CANDIDATES]
                queue.append(earlier[:_BATCH_JUDGED])
                batch.add([(i, mine)])
            # An item takes earlier items' verdicts, in its candidates' order, until it has
            # `_CANDIDATES` findings (at least one more, if it has that many from the store
            # already). They are judged in rounds, the next few candidates of every item
            # still short, all at once: each item judges the pairs it would one at a time.
            short = [max(1, _CANDIDATES - len(found)) for found in findings]
            at = 0
            while True:
                due = [
                    (i, j, (texts[i], texts[j], None))
                    for i, js in enumerate(queue)
                    if short[i] > 0
                    for j in js[at : at + _CANDIDATES]
                ]
                if not due:
                    break
                verdicts = judge_many([pair for _, _, pair in due])
                for (i, j, _), verdict in zip(due, verdicts, strict=True):
                    if verdict is not None and short[i] > 0:
                        findings[i].append(Finding(*verdict, batch_index=j))
                        short[i] -= 1
                at += _CANDIDATES
    for found in findings:
        found.sort(key=lambda f: f.similarity, reverse=True)
    return findings
