"""Conflict candidates stay cheap however many memories share a word."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memorymesh.search._lexical import _MAX_POSTINGS, LexicalIndex, Tokens, needed_shared
from memorymesh.writes._conflicts import (
    RELATED_SHARED,
    content_tokens,
    judge,
    reaches,
    related_words,
)


def test_a_common_word_probes_only_its_most_recent_holders() -> None:
    index = LexicalIndex()
    total = _MAX_POSTINGS * 3
    index.add(
        (f"m{i}", content_tokens(f"nightly report {i} lists flaky suites")) for i in range(total)
    )
    found = index.candidates(content_tokens("nightly report lists flaky suites")[0])
    assert found, "recent holders of the shared words are still candidates"
    recent = {f"m{i}" for i in range(total - _MAX_POSTINGS, total)}
    assert set(found) <= recent


_WORDS = st.sampled_from([f"w{i}" for i in range(14)])
_TOKENS = st.tuples(
    st.frozensets(_WORDS, min_size=1, max_size=12),
    st.frozensets(st.sampled_from(["1", "2", "30"]), max_size=2),
    st.booleans(),
)


@given(new=_TOKENS, old=_TOKENS)
@settings(max_examples=3000, deadline=None)
def test_every_lexical_verdict_shares_what_the_index_prunes_by(new: Tokens, old: Tokens) -> None:
    # The token index only offers memories sharing `needed_shared` of the new words (or
    # whose one word is among them), and its second probe those that `reaches` through
    # related words; a verdict on anything else would be silently missed.
    if judge(new, old) is not None:
        assert reaches(new[0], old[0]) or old[0] <= new[0]


@given(
    new=st.frozensets(_WORDS, min_size=1, max_size=12),
    stored=st.lists(st.frozensets(_WORDS, min_size=1, max_size=12), min_size=1, max_size=40),
)
@settings(max_examples=300, deadline=None)
def test_the_index_offers_every_memory_that_shares_enough(
    new: frozenset[str], stored: list[frozenset[str]]
) -> None:
    index = LexicalIndex()
    index.add((f"m{i}", (words, frozenset(), False)) for i, words in enumerate(stored))
    expected = {
        f"m{i}"
        for i, words in enumerate(stored)
        if len(words & new) >= needed_shared(len(new)) or (len(words) == 1 and words <= new)
    }
    assert set(index.candidates(new)) == expected


def _tokens_by_definition(text: str) -> Tokens:
    """What content tokens are, word by word, with no role cache in the way."""
    from memorymesh.writes import _conflicts as c

    words = c._words(text)
    numbers = frozenset(w for w in words if c._DIGIT.search(w))
    subject = frozenset(
        c._stem(w)
        for w in words
        if w not in c._STOP and w not in c._NEGATIONS and w not in numbers and w not in c._FILLER
    )
    return subject, numbers, not c._NEGATIONS.isdisjoint(words)


_PIECES = st.sampled_from(
    ["we", "don't", "deploy", "deploys", "deploying", "on", "Fridays", "still", "3.5", "v2",
     "café", "isn't", "not", "never", "prefers", "preferred", "the", "API", "10:30", "x-ray"]
)  # fmt: skip


@given(st.lists(_PIECES, min_size=1, max_size=14))
@settings(max_examples=300, deadline=None)
def test_word_role_cache_gives_the_tokens_the_definition_gives(pieces: list[str]) -> None:
    from memorymesh.writes._conflicts import _content_tokens, content_tokens_many

    text = " ".join(pieces)
    expected = _tokens_by_definition(text)
    assert _content_tokens(text) == expected
    assert list(content_tokens_many([text, text])) == [expected, expected]


def test_a_wider_probe_offers_memories_sharing_fewer_words() -> None:
    # A probe by a text's words and the words related to them asks for two shared.
    index = LexicalIndex()
    index.add(
        [
            ("berlin", content_tokens("User lives in Berlin")),
            ("hiking", content_tokens("User likes hiking")),
        ]
    )
    words = content_tokens("User moved to Munich last month")[0]
    assert index.candidates(words) == []
    assert index.candidates(words | related_words(words), RELATED_SHARED) == ["berlin"]


@settings(max_examples=60, deadline=None)
@given(
    memories=st.lists(st.frozensets(_WORDS, min_size=1, max_size=10), min_size=1, max_size=80),
    query=st.frozensets(_WORDS, min_size=1, max_size=10),
)
def test_small_probes_counted_in_python_find_what_numpy_finds(
    memories: list[frozenset[str]], query: frozenset[str]
) -> None:
    # Few probed postings are counted in a dict, many with numpy: the same candidates in the
    # same order either way, and the order is closest first, then the most recent.
    import memorymesh.search._lexical as lexical

    index: LexicalIndex[int] = LexicalIndex()
    index.add((i, (words, frozenset(), False)) for i, words in enumerate(memories))
    saved = lexical._SMALL_PROBE
    try:
        lexical._SMALL_PROBE = 10**9
        in_python = index.candidates(query)
        lexical._SMALL_PROBE = -1
        with_numpy = index.candidates(query)
    finally:
        lexical._SMALL_PROBE = saved
    assert in_python == with_numpy
    shared = [len(query & memories[i]) if len(memories[i]) > 1 else 1 for i in in_python]
    keys = list(zip(shared, in_python, strict=True))
    assert keys == sorted(keys, key=lambda k: (-k[0], -k[1]))
