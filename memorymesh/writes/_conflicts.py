"""Duplicate and contradiction detection for writes, batched.

A write's new texts are compared with the store's current memories and with each other:

- with an embedder, candidates are the nearest current memories by cosine (one matrix product
  for the whole batch against the index, one for the batch against itself);
- without one, candidates come from the store's in-memory token index (memories sharing the
  new text's rarest words, see :mod:`memorymesh.search._lexical`) and from the batch's own texts
  that share words.

Each candidate is then judged lexically (content words, numbers, negations, word order),
gated by the cosine when there is one. The judge is deliberately conservative, because under
the default policy every verdict hides the older memory: a *contradiction* needs the same
subject (most content words shared, no change before the copula) and a changed fact (a
replaced word or value, a changed number, a flipped negation, an opposite word); a
*near-duplicate* needs the same words give or take an elaboration. Its precision and recall
are measured on a hand-labelled corpus (``benchmarks/bench_conflicts.py``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from .._models import ConflictKind, Memory
from .._text import STOPWORDS
from ..search._lexical import LexicalIndex, Tokens
from ..search._vectors import VectorFilter, VectorIndex

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Finding", "Tokens", "content_tokens", "find_conflicts", "judge"]

#: Below this cosine two texts are about different things, whatever their words. It is low
#: on purpose: sentence embedders place "the user's manager is Sarah" and "... is David" far
#: apart (names and tool names carry much of the meaning), and the words decide anyway.
SUBJECT_COSINE = 0.5
#: At or above this cosine (and with no changed number or negation) texts say the same thing.
DUPLICATE_COSINE = 0.95
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
_VALUE_LEAD = frozenset({"is", "are", "was", "were", "be", "at", "to"})
#: Words after which the last word of a statement is its single value: "the manager is Sarah",
#: "lives in Lisbon", "runs on Jenkins", "goes through Sentry".
_VALUE_SLOT = _VERB_MARKERS | {"in", "on", "at", "by", "via", "through", "with", "from"}
#: Verbs (stemmed) whose object is one of many: a new object adds to the old one.
_MANY_VALUED = frozenset(
    {"lik", "lov", "enjoy", "speak", "play", "visit", "read", "know", "support", "own",
     "collect", "watch", "follow", "hik", "attend", "teach", "learn"}
)  # fmt: skip
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
    return tuple(_WORD.findall(folded))


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    # Just enough folding that "deploys"/"deploy", "requires"/"required"/"require",
    # "retries"/"retry" and "prefers"/"preferred" meet.
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    stem = word
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            stem = word[: -len(suffix)]
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # "preferred", "running"
            break
    else:
        if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
            stem = word[:-2]
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            stem = word[:-1]
    return stem[:-1] if len(stem) > 3 and stem.endswith("e") else stem


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
        )
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


def tokens_of(text: str) -> Tokens:
    return content_tokens(text)


def judge(
    new_text: str | Tokens, old_text: str | Tokens, cosine: float | None = None
) -> tuple[ConflictKind, float, str] | None:
    """Whether ``new_text`` nearly duplicates or contradicts ``old_text``, and why.

    Either text may be given as its :func:`content_tokens` already. Word order is only known
    from the texts themselves, so a verdict on tokens is a looser pre-filter: whatever the
    texts are judged to be, their tokens are judged to be too (never the reverse).

    Returns:
        ``(kind, similarity, reason)``, or None when the texts are about different things or
        can both stand.
    """
    texts = (
        (new_text, old_text) if isinstance(new_text, str) and isinstance(old_text, str) else None
    )
    if texts and texts[0].rstrip().endswith("?") != texts[1].rstrip().endswith("?"):
        return None  # a question never replaces a statement, nor the other way round
    a, a_num, a_neg = content_tokens(new_text) if isinstance(new_text, str) else new_text
    b, b_num, b_neg = content_tokens(old_text) if isinstance(old_text, str) else old_text
    if not a or not b:
        return None
    if cosine is not None and cosine < SUBJECT_COSINE:
        return None
    shared = a & b
    if len(shared) < 2 and not (len(shared) == 1 and min(len(a), len(b)) == 1):
        return None
    if len(shared) / min(len(a), len(b)) < 0.5:
        return None
    jaccard = len(shared) / (len(a) + len(b) - len(shared))
    similarity = float(min(1.0, max(0.0, cosine if cosine is not None else jaccard)))
    # A number replaced, not one added ("floor 2" → "floor 2, with A3 paper").
    numbers_changed = bool(a_num and b_num and a_num != b_num and a_num - b_num and b_num - a_num)
    negation_flipped = a_neg != b_neg
    only_new, only_old = a - b, b - a

    # Without the texts nothing is known about word order or the words around numbers: assume
    # the subject is kept, the numbers are quantities and the new text is not additive. Each
    # is worked out only when a rule needs it (they are cached per text or pair).
    def subject_kept() -> bool:
        return _same_subject(*texts) if texts else True

    additive = not _ADDITIVE.isdisjoint(_words(texts[0])) if texts else False
    # A negation that comes with a word of its own is about that word ("..., no sugar",
    # "without jargon"): only the same words with a negation flipped deny the old statement.
    if negation_flipped and not only_new and not only_old and subject_kept():
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
        and jaccard >= 0.6
        and max(len(only_new), len(only_old)) <= 2
        and abs(len(only_new) - len(only_old)) <= 1
        and subject_kept()
        and not (texts and _one_of_many(*texts))
    ):
        was, now = ", ".join(sorted(only_old)), ", ".join(sorted(only_new))
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
        what = "the same words" if a == b else "the same statement, elaborated"
        return "near_duplicate", similarity, what
    if (
        cosine is not None
        and cosine >= DUPLICATE_COSINE
        and not numbers_changed
        and not negation_flipped
        and subject_kept()
    ):
        return "near_duplicate", similarity, "nearly the same meaning"
    return None


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
    lexicon: LexicalIndex[str] | None = None,
    now: float,
) -> list[list[Finding]]:
    """For each new text, what it duplicates or contradicts, most similar first.

    Args:
        texts: The new texts (already known not to be exact duplicates).
        vectors: Their unit vectors, or None without an embedder.
        tx: The open write transaction of the store they go to (its FTS sees earlier writes).
        index: That store's vector index, when there is an embedder.
        lexicon: That store's token index, used without an embedder.
        now: The time expiry is judged against.
    """
    import numpy as np

    findings: list[list[Finding]] = [[] for _ in texts]
    if not texts:
        return findings
    # -- against the store --
    if vectors is not None and index is not None and len(index):
        hits = index.search(vectors, _CANDIDATES, VectorFilter(), now=now, min_score=SUBJECT_COSINE)
        wanted = {mid for row in hits for mid, _ in row}
        known = {m.id: m.text for m in await tx.get_many(list(wanted))} if wanted else {}
        for i, row in enumerate(hits):
            for memory_id, cos in row:
                if memory_id in known:
                    verdict = judge(texts[i], known[memory_id], cos)
                    if verdict is not None:
                        findings[i].append(Finding(*verdict, memory_id=memory_id))
    elif vectors is None and lexicon is not None and len(lexicon):
        tokens = [content_tokens(text) for text in texts]
        lexical_hits: list[list[tuple[str, tuple[ConflictKind, float, str]]]] = []
        for mine in tokens:
            matched: list[tuple[str, tuple[ConflictKind, float, str]]] = []
            for memory_id in lexicon.candidates(mine[0]):
                theirs = lexicon.tokens(memory_id)
                said = None if theirs is None else judge(mine, theirs)
                if said is not None:
                    matched.append((memory_id, said))
                    if len(matched) >= _CANDIDATES:
                        break
            lexical_hits.append(matched)
        # The index is append-only: confirm each hit is still current, with today's text.
        confirm = {mid for matched in lexical_hits for mid, _ in matched}
        live = {
            m.id: m
            for m in (await tx.get_many(list(confirm)) if confirm else [])
            if m.superseded_by is None
            and (m.pinned or m.expires_at is None or m.expires_at.timestamp() > now)
        }
        for i, matched in enumerate(lexical_hits):
            for memory_id, _lexical in matched:
                memory = live.get(memory_id)
                if memory is not None and tokens_of(memory.text) == lexicon.tokens(memory_id):
                    # Judged again on the texts: only they know which words lead.
                    verdict = judge(texts[i], memory.text)
                    if verdict is not None:
                        findings[i].append(Finding(*verdict, memory_id=memory_id))
    # -- against each other --
    if len(texts) > 1:
        if vectors is not None:
            # Each item against the earlier ones: the close pairs below the diagonal.
            sims = vectors @ vectors.T
            close = (sims >= SUBJECT_COSINE) & np.tri(len(texts), k=-1, dtype=bool)
            pairs: dict[int, list[tuple[float, int]]] = {}
            for i, j in zip(*(axis.tolist() for axis in np.nonzero(close)), strict=True):
                pairs.setdefault(i, []).append((float(sims[i, j]), j))
            for i, near in pairs.items():
                near.sort(reverse=True)
                for cosine, j in near[:_CANDIDATES]:
                    verdict = judge(texts[i], texts[j], cosine)
                    if verdict is not None:
                        findings[i].append(Finding(*verdict, batch_index=j))
        else:
            batch: LexicalIndex[int] = LexicalIndex()
            for i, text in enumerate(texts):
                mine = content_tokens(text)
                # The closest few earlier items sharing enough words are judged.
                for j in batch.candidates(mine[0])[:_BATCH_JUDGED]:
                    verdict = judge(text, texts[j])
                    if verdict is not None:
                        findings[i].append(Finding(*verdict, batch_index=j))
                        if len(findings[i]) >= _CANDIDATES:
                            break
                batch.add([(i, mine)])
    for found in findings:
        found.sort(key=lambda f: f.similarity, reverse=True)
    return findings
