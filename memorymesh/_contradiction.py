"""Duplicate and contradiction detection for writes, batched.

A write's new texts are compared with the store's current memories and with each other:

- with an embedder, candidates are the nearest current memories by cosine (one matrix product
  for the whole batch against the index, one for the batch against itself);
- without one, candidates come from the store's in-memory token index (memories sharing the
  new text's rarest words, see :mod:`memorymesh._lexical`) and from the batch's own texts
  that share words.

Each candidate is then judged lexically (content words, numbers, negations), gated by the
cosine when there is one. The judge is deliberately conservative: a *contradiction* needs the
same subject (most content words shared) and a changed fact (a replaced word, a changed number
or a flipped negation); a *near-duplicate* needs the same words give or take an elaboration.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ._lexical import LexicalIndex, Tokens
from ._models import ConflictKind, Memory
from ._text import STOPWORDS
from ._vectors import VectorFilter, VectorIndex

__all__ = ["Finding", "Tokens", "content_tokens", "find_conflicts", "judge"]

#: Below this cosine two texts are about different things, whatever their words.
SUBJECT_COSINE = 0.75
#: At or above this cosine (and with no changed number or negation) texts say the same thing.
DUPLICATE_COSINE = 0.95
_CANDIDATES = 3
_BATCH_JUDGED = 16

_WORD = re.compile(r"\w+", re.UNICODE)
_DIGIT = re.compile(r"\d")
_NEGATIONS = frozenset(
    {"not", "no", "never", "nor", "don", "doesn", "didn", "isn", "aren", "wasn", "weren",
     "won", "cannot", "can't", "without", "nothing", "none", "neither", "stop", "stopped"}
)  # fmt: skip
# Negations are facts here, not noise: keep them out of the stopword list used for subjects.
_STOP = STOPWORDS - _NEGATIONS


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    # Just enough folding that "deploys"/"deploy" and "prefers"/"preferred" meet.
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@functools.lru_cache(maxsize=16_384)
def content_tokens(text: str) -> tuple[frozenset[str], frozenset[str], bool]:
    """``(subject words, numbers, negated)`` of a text (cached: a write computes them for
    the same text several times)."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    numbers = frozenset(w for w in words if _DIGIT.search(w))
    negated = not _NEGATIONS.isdisjoint(words)
    subject = frozenset(
        _stem(w) for w in words if w not in _STOP and w not in _NEGATIONS and w not in numbers
    )
    return subject, numbers, negated


@functools.lru_cache(maxsize=16_384)
def _sequence(text: str) -> tuple[str, ...]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return tuple(_stem(w) for w in words if w not in _STOP and w not in _NEGATIONS)


def _same_subject(new_text: str, old_text: str) -> bool:
    """Whether what changed is said *about* a shared subject, rather than naming another one.

    "User prefers dark mode" → "User prefers light mode" changes a fact. "The cache settings
    live in the cache module" and "The queue settings live in the queue module", or "widget 3
    renders with option 3" and "widget 4 ... option 4", are the same sentence about different
    things: the change leads the sentence, or one name is consistently swapped for another.
    """
    a, b = _sequence(new_text), _sequence(old_text)
    if len(a) != len(b):
        return True
    changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    if not changed:
        return True
    first = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    if first < len(a) / 3:
        return False  # the change names the subject ("release note 4", "the queue settings")
    return not (len(changed) > 1 and len(set(changed)) == 1)


def tokens_of(text: str) -> Tokens:
    return content_tokens(text)


def judge(
    new_text: str | Tokens, old_text: str | Tokens, cosine: float | None = None
) -> tuple[ConflictKind, float, str] | None:
    """Whether ``new_text`` nearly duplicates or contradicts ``old_text``, and why.

    Either text may be given as its :func:`content_tokens` already.

    Returns:
        ``(kind, similarity, reason)``, or None when the texts are about different things or
        can both stand.
    """
    if (
        isinstance(new_text, str)
        and isinstance(old_text, str)
        and (new_text.rstrip().endswith("?") != old_text.rstrip().endswith("?"))
    ):
        return None  # a question never replaces a statement, nor the other way round
    a, a_num, a_neg = content_tokens(new_text) if isinstance(new_text, str) else new_text
    b, b_num, b_neg = content_tokens(old_text) if isinstance(old_text, str) else old_text
    if not a or not b:
        return None
    shared = a & b
    overlap = len(shared) / min(len(a), len(b))
    similarity = cosine if cosine is not None else len(shared) / len(a | b)
    similarity = float(min(1.0, max(0.0, similarity)))
    if cosine is not None and cosine < SUBJECT_COSINE:
        return None
    numbers_changed = bool(a_num and b_num and a_num != b_num)
    negation_flipped = a_neg != b_neg
    if len(shared) < 2 and not (len(shared) == 1 and min(len(a), len(b)) == 1):
        return None
    if overlap < 0.5:
        return None
    only_new, only_old = a - b, b - a
    jaccard = len(shared) / len(a | b)
    if negation_flipped and len(only_new) + len(only_old) <= 2:
        return "contradiction", similarity, "the same statement with a negation flipped"
    # A changed number alone is a changed fact only with a clear subject ("the API rate limit
    # is 100 requests per minute"): "fact number 1" and "fact number 2" are two things.
    # Word order is only known from the texts themselves (not from cached tokens).
    subject_kept = (
        _same_subject(new_text, old_text)
        if isinstance(new_text, str) and isinstance(old_text, str)
        else True
    )
    needed = 2 if cosine is not None else 4
    if (
        numbers_changed
        and subject_kept
        and len(shared) >= needed
        and len(only_new) + len(only_old) <= 2
    ):
        changed = ", ".join(sorted(a_num ^ b_num))
        return "contradiction", similarity, f"the same statement with changed numbers ({changed})"
    if (
        only_new
        and only_old
        and subject_kept
        and jaccard >= 0.6
        and max(len(only_new), len(only_old)) <= 2
        and abs(len(only_new) - len(only_old)) <= 1
    ):
        was, now = ", ".join(sorted(only_old)), ", ".join(sorted(only_new))
        return "contradiction", similarity, f"same subject, changed fact: {was} → {now}"
    unchanged = not numbers_changed and not negation_flipped
    if (not only_new or not only_old) and unchanged and jaccard >= 0.6:
        what = "the same words" if a == b else "the same statement, elaborated"
        return "near_duplicate", similarity, what
    if (
        cosine is not None
        and cosine >= DUPLICATE_COSINE
        and not numbers_changed
        and not negation_flipped
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
