"""Text helpers shared by writes and keyword recall: normalisation, hashing, query terms."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

__all__ = ["STOPWORDS", "content_hash", "normalise", "query_terms"]

_WORD = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")

# Common English function words: they carry no topic, and OR-ing them into a BM25 query
# would match nearly every memory.
_STOPWORD_TEXT = """
    a about above after again against all am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn
    doing don down during each few for from further had hadn has hasn have haven having he
    her here hers herself him himself his how i if in into is isn it its itself just let ll
    me more most mustn my myself no nor not now of off on once only or other ought our ours
    ourselves out over own re s same shan she should shouldn so some such t than that the
    their theirs them themselves then there these they this those through to too under until
    up ve very was wasn we were weren what when where which while who whom why will with won
    would wouldn you your yours yourself yourselves d m o y ma tell know also get got ever
"""
# The scaffolding of questions ("what kind of", "how many", "what happened", "in what ways",
# "what does X say about"): it asks for a fact without being one, so it only adds noise to
# a keyword query about that fact.
_QUESTION_TEXT = """
    kind kinds type types sort sorts many much way ways happen happened happens describe
    described mention mentioned say said says tell told regarding something anything
    someone anyone thing things
"""
QUESTION_WORDS: frozenset[str] = frozenset(_QUESTION_TEXT.split())
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


def normalise(text: str) -> str:
    """Case-, width- and whitespace-insensitive form used to spot exact duplicates."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", folded).strip()


def content_hash(text: str) -> str:
    return hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=16).hexdigest()


def query_terms(query: str) -> list[str]:
    """The distinct content words of ``query``, in order; all words if every one is a stopword."""
    return list(_query_terms(query))


# One recall reads its query's terms three or four times (each store's FTS5 expression, the
# field weights, shared statistics): each costs a Unicode normalisation and a regex scan.
@functools.lru_cache(maxsize=256)
def _query_terms(query: str) -> tuple[str, ...]:
    words = [w.casefold() for w in _WORD.findall(unicodedata.normalize("NFKC", query))]
    words = [w.strip("_") for w in words if w.strip("_")]
    content = [w for w in words if w not in STOPWORDS and w not in QUESTION_WORDS]
    return tuple(dict.fromkeys(content or words))
