"""Conflict candidates stay cheap however many memories share a word."""

from __future__ import annotations

from memorymesh._contradiction import content_tokens
from memorymesh._lexical import _MAX_POSTINGS, LexicalIndex


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
