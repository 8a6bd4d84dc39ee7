"""Keyword recall's field weighting (a line's label) and pseudo-relevance feedback."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from _embedders import HashEmbedder

from memorymesh import AsyncMemoryMesh
from memorymesh.search import _recall
from memorymesh.search._recall import label_of

pytestmark = pytest.mark.anyio

FILLER = [
    f"{word} notes about the {word} rotation schedule"
    for word in [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliet",
        "kilo",
        "lima",
        "mike",
        "november",
        "oscar",
        "papa",
        "quebec",
        "romeo",
        "sierra",
        "tango",
        "uniform",
        "victor",
        "whiskey",
        "xray",
        "yankee",
        "zulu",
        "amber",
        "birch",
        "cedar",
        "dune",
        "ember",
        "fjord",
        "grove",
        "heath",
        "inlet",
        "jade",
        "knoll",
    ]
]


def _items(texts: list[str]) -> list[dict[str, object]]:
    return [{"text": t, "category": "context", "on_conflict": "keep_both"} for t in texts]


def test_a_label_is_a_short_lead_before_a_colon() -> None:
    assert label_of("Caroline: I went to the support group") == "caroline"
    assert label_of("Release notes v2: faster imports") == "release notes v2"
    assert label_of("Notes for the release: faster imports") is None  # four words
    assert label_of("Build team: moved CI to arm runners") == "build team"
    assert label_of("We chose this because: speed") is None  # a sentence, not a label
    assert label_of("No colon at all") is None


async def test_a_line_said_by_the_person_asked_about_ranks_first(tmp_path: Path) -> None:
    # "caroline" is in most lines, so BM25 gives it almost no weight; Melanie's line says
    # "support group" twice and would win on words alone.
    texts = [f"Caroline: {t}" for t in FILLER[:30]]
    texts += [
        "Melanie: the support group, my support group, was great",
        "Caroline: I went to a support group yesterday",
    ]
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        await mesh.remember_many(_items(texts))
        hits = await mesh.recall("When did Caroline go to the support group?", k=2)
    assert hits[0].memory.text == "Caroline: I went to a support group yesterday"


async def test_feedback_finds_an_answer_that_shares_no_word_with_the_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_recall, "FEEDBACK_WEIGHT", 0.35)  # off by default (its latency)
    texts = [
        *FILLER,
        "The billing outage was traced to the ledger reconciler",
        "During the billing outage the ledger reconciler kept retrying",
        "Postmortem: reconciler retries need jitter and a ledger lock",
    ]
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        await mesh.remember_many(_items(texts))
        hits = await mesh.recall("what caused the billing outage?", k=5)
    found = [h.memory.text for h in hits]
    assert "Postmortem: reconciler retries need jitter and a ledger lock" in found


async def test_vector_relevance_is_scaled_so_use_does_not_outvote_meaning(tmp_path: Path) -> None:
    db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    texts = ["alpha beta gamma delta epsilon zeta", "alpha beta gamma delta epsilon zeta eta"]
    async with AsyncMemoryMesh(db, global_path=global_db, embedding=HashEmbedder()) as mesh:
        closer, used = await mesh.remember_many(
            [{**item, "importance": 0.5} for item in _items(texts)]
        )
    # The slightly weaker match was recalled 50 times: with raw cosines (0.82 against 0.76)
    # the blend's use weight put it first.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE memories SET access_count = 50 WHERE id = ?", [used.id])
    conn.close()
    async with AsyncMemoryMesh(db, global_path=global_db, embedding=HashEmbedder()) as mesh:
        hits = await mesh.recall("alpha beta gamma delta", k=2, mode="vector")
    assert [h.memory.id for h in hits] == [closer.id, used.id]
    assert hits[0].breakdown.relevance == 1.0


async def test_feedback_costs_one_more_search_and_no_per_word_lookups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memorymesh.stores.sqlite import SQLiteStore

    monkeypatch.setattr(_recall, "FEEDBACK_WEIGHT", 0.35)
    calls: dict[str, int] = {"search_text": 0, "term_statistics": 0}
    for name in calls:
        original = getattr(SQLiteStore, name)

        async def counted(
            self: SQLiteStore, *args: Any, _f: Any = original, _n: str = name, **kw: Any
        ) -> Any:
            calls[_n] += 1
            return await _f(self, *args, **kw)

        monkeypatch.setattr(SQLiteStore, name, counted)
    texts = [*FILLER, "The billing outage was traced to the ledger reconciler"]
    texts += ["During the billing outage the ledger reconciler kept retrying"]
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        await mesh.remember_many(_items(texts))
        calls.update(search_text=0, term_statistics=0)
        hits = await mesh.recall("what caused the billing outage?", k=5, scope="project")
    assert hits
    # One search for the question, one for the feedback words: nothing per word.
    assert calls == {"search_text": 2, "term_statistics": 0}
