"""Recall ranks SQLite rows and builds a Memory only for the results it returns.

The rows must rank exactly as the memories they stand for would: same fields, same scores,
same order, same breakdowns.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _embedders import HashEmbedder

from memorymesh import AsyncMemoryMesh, ScoringWeights
from memorymesh.search import _recall
from memorymesh.search._scoring import signals, signals_many
from memorymesh.stores._columns import memory_fields
from memorymesh.stores._filters import Filters
from memorymesh.stores._recalled import as_memory
from memorymesh.stores.sqlite._rows import StoredRow

pytestmark = pytest.mark.anyio

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
WORDS += ["golf", "hotel", "india", "juliet", "kilo", "lima"]
FIELDS = [
    "id",
    "text",
    "session_id",
    "importance",
    "pinned",
    "access_count",
    "created_at",
    "updated_at",
    "event_time",
]


def _items(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    return [
        {
            "text": ("Ana: " if i % 5 == 0 else "")
            + " ".join(rng.choice(WORDS) for _ in range(6))
            + f" item{i}",
            "category": ["decision", "pattern", "context"][i % 3],
            "importance": round(rng.random(), 2),
            "pin": i % 11 == 0,
            "session_id": f"s{i % 4}" if i % 3 else None,
            "event_time": now - timedelta(days=i) if i % 2 else None,
        }
        for i in range(n)
    ]


async def test_a_row_reads_as_the_memory_it_builds(tmp_path: Path) -> None:
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        await mesh.remember_many(_items(60))
        await mesh.recall("alpha bravo", k=5, mode="keyword")  # pending access counts
        store = mesh.stores[0]
        found = await store.search_text("alpha bravo charlie", Filters(), limit=40, now=time.time())
        assert found and all(isinstance(row, StoredRow) for row, _ in found)
        for row, _ in found:
            memory = as_memory(row)
            assert {f: getattr(row, f) for f in FIELDS} == {f: getattr(memory, f) for f in FIELDS}
            (stored,) = await store.get_many([row.id])
            assert memory.model_dump(exclude={"access_count", "last_accessed_at"}) == (
                stored.model_dump(exclude={"access_count", "last_accessed_at"})
            )
            # The access counts recorded but not written yet are counted, as before.
            assert memory.access_count == stored.access_count


def test_signals_many_is_signals_for_each() -> None:
    now = datetime.now(UTC)
    memories: list[tuple[Any, float]] = []
    from memorymesh._models import trusted_memory
    from memorymesh.stores.sqlite._store import _memory

    for i in range(50):
        ts = now.timestamp() - i * 3600.123457
        row = (
            f"{i:032x}", "text", "decision", (i % 10) / 10, "project", i % 7 == 0, "{}",
            None, "api", None, "[]", ts, ts + 1.5, ts - 86400 if i % 2 else None, None,
            i % 5, None, None, None,
        )  # fmt: skip
        memories.append((_memory(row), i / 50))
    assert isinstance(memories[0][0], type(trusted_memory(memories[0][0].__dict__)))
    weights = ScoringWeights(relevance=0.6, recency=0.2, importance=0.15, frequency=0.05)
    for by_event in (False, True):
        expected = [
            signals(m, r, weights=weights, now=now.timestamp(), by_event_time=by_event)
            for m, r in memories
        ]
        got = signals_many(memories, weights=weights, now=now.timestamp(), by_event_time=by_event)
        assert got == expected


@pytest.mark.parametrize("mode", ["keyword", "vector", "hybrid"])
async def test_recall_ranks_rows_as_it_would_rank_memories(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    original = StoredRow.fields  # what a result's memory is built from (memory() too)

    def counted(self: StoredRow) -> Any:
        built.append(self.id)
        return original(self)

    monkeypatch.setattr(StoredRow, "fields", counted)
    async with AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", embedding=HashEmbedder()
    ) as mesh:
        await mesh.remember_many(_items(120))
        stores = mesh._stores_for(None)
        for query in ["alpha bravo", "Ana delta echo", "what did kilo do on 3 May 2024?"]:
            now = time.time()
            found = await _recall.candidates(
                stores, query, Filters(), mode, limit=40, now=now, vectors=mesh._indexes
            )
            assert any(isinstance(m, StoredRow) for _, m, _ in found)
            built.clear()
            ranked = _recall.rank(found, query, weights=mesh.weights, now=now, by_event=False, k=10)
            as_memories = [(st, as_memory(m), r) for st, m, r in found]
            expected = _recall.rank(
                as_memories, query, weights=mesh.weights, now=now, by_event=False, k=10
            )
            assert [(s, m.id, b) for s, _, m, b in ranked] == [
                (s, m.id, b) for s, _, m, b in expected
            ]
            built.clear()
            hits = await mesh.recall(query, k=10, mode=mode)  # type: ignore[arg-type]
            assert hits
            # Only the results became memories, not every candidate.
            assert len(built) <= len(hits) < len(found)


# -- issue 19: keyword recall near the FTS5 floor -------------------------------------------

#: The best-first query as it was before it became a co-routine read in its own order
#: (90a9888): the best rows materialised, joined, then sorted again by score.
_MATERIALISED_BEST_FIRST = (
    "WITH best AS (SELECT rowid AS seq, bm25(memories_fts) AS score FROM memories_fts "
    "WHERE memories_fts MATCH ? ORDER BY score LIMIT ?) "
    "SELECT {columns}, -best.score AS relevance, CASE WHEN {where} THEN 1 ELSE 0 END "
    "FROM best JOIN memories AS m ON m.seq = best.seq ORDER BY best.score"
)


async def test_best_first_rows_come_in_the_order_the_sorted_query_gave(tmp_path: Path) -> None:
    """Many equal BM25 scores (texts of the same words and length): the rows, their order
    among ties included, are those the query sorted a second time returned."""
    import sqlite3

    from memorymesh.stores.sqlite._sql import M_COLUMNS, where
    from memorymesh.stores.sqlite._store import _search_best_first_sql, fts_match

    rng = random.Random(3)
    items = [
        {"text": " ".join(rng.choice(WORDS[:4]) for _ in range(3)) + f" {rng.choice(WORDS)} n{i}"}
        for i in range(300)
    ]
    async with AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", on_conflict="keep_both"
    ) as mesh:
        await mesh.remember_many(items)
    now = time.time()
    new_sql, params = _search_best_first_sql(Filters(), now)
    clause, old_params = where(Filters(), now)
    old_sql = _MATERIALISED_BEST_FIRST.format(columns=M_COLUMNS, where=clause)
    conn = sqlite3.connect(tmp_path / "p.db")
    try:
        ties = 0
        for query in ["alpha", "bravo charlie", "alpha delta golf", "kilo", "echo lima"]:
            match = fts_match(query)
            for prefetch in (5, 40, 60, 400):
                new = conn.execute(new_sql, [match, prefetch, *params]).fetchall()
                old = conn.execute(old_sql, [match, prefetch, *old_params]).fetchall()
                assert new == old
                scores = [row[19] for row in new]
                ties += len(scores) - len(set(scores))
        assert ties > 100  # the ordering among equal scores was exercised
    finally:
        conn.close()


def test_row_seconds_are_the_datetime_round_trip() -> None:
    """``StoredRow.recency_seconds`` skips the datetime, and must give the very same float:
    a datetime keeps whole microseconds, rounding half to even."""
    from memorymesh.stores.sqlite._rows import as_datetime_seconds

    rng = random.Random(11)
    now = time.time()
    values = [now - rng.random() * 3e8 for _ in range(20_000)]
    values += [rng.randrange(0, 2**31) + (k + 0.5) / 1e6 for k in range(0, 1_000_000, 997)]
    values += [0.0, 1.5e-6, 2.5e-6, 1_700_000_000.0000005, 1_700_000_000.9999995, -1.5e-6]
    for value in values:
        assert as_datetime_seconds(value) == datetime.fromtimestamp(value, tz=UTC).timestamp()


def test_signals_many_reads_row_seconds_as_memory_datetimes() -> None:
    from memorymesh.stores.sqlite._store import _memory

    now = time.time()
    rows = []
    for i in range(60):
        ts = now - i * 5003.1234567 - 0.0000005 * (i % 3)
        row = (
            f"{i:032x}", "text", "decision", (i % 10) / 10, "project", i % 7 == 0, "{}",
            None, "api", None, "[]", ts - 10.25, ts, ts - 86400.5 if i % 2 else None,
            None, i % 5, None, None, None,
        )  # fmt: skip
        rows.append(row)
    stored = [
        (StoredRow(row, None, lambda r, p: memory_fields(r)), i / 60) for i, row in enumerate(rows)
    ]
    built = [(_memory(row), i / 60) for i, row in enumerate(rows)]
    weights = ScoringWeights(relevance=0.6, recency=0.2, importance=0.15, frequency=0.05)
    for by_event in (False, True):
        assert signals_many(stored, weights=weights, now=now, by_event_time=by_event) == (
            signals_many(built, weights=weights, now=now, by_event_time=by_event)
        )


async def test_an_empty_later_store_is_searched_after_the_first(tmp_path: Path) -> None:
    """Two stores: once the global one has matched nothing it is searched after the project
    store instead of at the same time, with the same matches in the same order."""
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        await mesh.remember_many(_items(80))
        stores = mesh._stores_for(None)
        now = time.time()
        first = await _recall.search_stores(stores, "alpha bravo", Filters(), limit=40, now=now)
        assert _recall._matched_before(stores[0]) and not _recall._matched_before(stores[1])
        again = await _recall.search_stores(stores, "alpha bravo", Filters(), limit=40, now=now)
        assert [(s, m.id, r) for s, m, r in again] == [(s, m.id, r) for s, m, r in first]
        await mesh.remember("alpha bravo kept for every project", scope="global")
        # Searched after the project's: the new global memory is found all the same, and
        # the next search runs the two at once again.
        found = await _recall.search_stores(stores, "alpha bravo", Filters(), limit=40, now=now)
        assert any(s is stores[1] for s, _, _ in found)
        assert _recall._matched_before(stores[1])
        both = await _recall.search_stores(stores, "alpha bravo", Filters(), limit=40, now=now)
        assert [(s, m.id, r) for s, m, r in both] == [(s, m.id, r) for s, m, r in found]


def test_query_terms_are_read_once_and_handed_out_afresh() -> None:
    from memorymesh._text import _query_terms, query_terms

    first = query_terms("What did Caroline say about the support group?")
    assert first == ["caroline", "support", "group"]
    first.append("changed")  # a caller's list is its own
    hits = _query_terms.cache_info().hits
    assert query_terms("What did Caroline say about the support group?") == [
        "caroline",
        "support",
        "group",
    ]
    assert _query_terms.cache_info().hits == hits + 1


# -- issue 19, session 9: each result built once from its row's fields -------------------------


class _FrozenTime:
    """The ``time`` module with ``time()`` fixed, so a recall and its reference share ``now``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _varied(n: int) -> list[dict[str, Any]]:
    """Memories that differ in everything recall's blend and redaction read."""
    rng = random.Random(19)
    now = datetime.now(UTC)
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    items = []
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
        item: dict[str, Any] = {
            "text": (f"{rng.choice(['Ana', 'Bo Li'])}: " if i % 4 == 0 else "")
            + words
            + (f" token={secret}" if i % 9 == 0 else ""),
            "category": ["decision", "pattern", "context", "preference"][i % 4],
            "importance": round(rng.random(), 3),
            "pin": i % 13 == 0,
            "session_id": f"s{i % 5}" if i % 3 else None,
            "event_time": now - timedelta(days=rng.randint(0, 900)) if i % 2 else None,
        }
        if i % 7 == 0:
            item["metadata"] = {"note": f"password={secret}" if i % 14 == 0 else "plain"}
        items.append(item)
    return items


@pytest.mark.parametrize("mode", ["keyword", "vector", "hybrid"])
async def test_recall_results_are_built_as_before(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each result's memory, score and breakdown, in order, are what the candidates' old
    build gave (the memory with this process's pending counts as a pydantic copy, then a
    trusted copy with the access counted and the privacy guard's redactions), on a store
    whose memories differ in importance, pins, categories, dates, sessions, labels, access
    counts (written and pending) and secrets stored before the guard."""
    import memorymesh._mesh as facade
    from memorymesh._models import trusted_memory
    from memorymesh.stores.sqlite._store import _memory

    project, glob = tmp_path / "p.db", tmp_path / "g.db"
    async with AsyncMemoryMesh(project, global_path=glob, privacy="allow") as mesh:
        await mesh.remember_many(_varied(150))
        await mesh.remember_many([{**item, "scope": "global"} for item in _varied(10)])
    clock = _FrozenTime(time.time())
    monkeypatch.setattr(facade, "time", clock)
    queries = ["alpha bravo", "Ana delta echo", "token kilo", "what did kilo do on 3 May 2024?"]
    async with AsyncMemoryMesh(project, global_path=glob, embedding=HashEmbedder()) as mesh:
        stores = mesh._stores_for(None)
        checked = redacted = 0
        for round_ in range(4):
            if round_ == 2:
                for store in stores:  # half the counts written, half still pending
                    await store.flush_access()  # type: ignore[attr-defined]
            for query in queries:
                clock.now += 37.5
                now = clock.now
                found = await _recall.candidates(
                    stores, query, Filters(), mode, limit=40, now=now, vectors=mesh._indexes
                )
                ranked = _recall.rank(
                    found, query, weights=mesh.weights, now=now, by_event=False, k=8
                )
                expected = []
                for score, store, candidate, breakdown in ranked:
                    if isinstance(candidate, StoredRow):
                        row, pending = candidate._row, candidate._pending
                        memory = store._overlaid(store._open_row(_memory(row)), pending)  # type: ignore[attr-defined]
                    else:
                        memory = as_memory(candidate)
                    seen = trusted_memory(
                        {
                            **memory.__dict__,
                            "access_count": memory.access_count + 1,
                            "last_accessed_at": datetime.fromtimestamp(now, tz=UTC),
                            **mesh._privacy.scrub_memory(memory),
                        }
                    )
                    expected.append((score, seen, breakdown))
                hits = await mesh.recall(query, k=8, mode=mode)  # type: ignore[arg-type]
                assert [(h.score, h.memory.model_dump(), h.breakdown) for h in hits] == [
                    (s, m.model_dump(), b) for s, m, b in expected
                ]
                for hit, (_, memory, _) in zip(hits, expected, strict=True):
                    assert hit.memory.model_fields_set == memory.model_fields_set
                    assert list(hit.memory.__dict__) == list(memory.__dict__)
                checked += len(hits)
                redacted += sum("[REDACTED" in h.memory.text for h in hits)
        assert checked > 50 and redacted > 0
    # The store held secrets in clear (written with privacy="allow"): the check covers redaction.
    async with AsyncMemoryMesh(project, global_path=glob, privacy="allow") as mesh:
        assert any("ghp_" in h.memory.text for h in await mesh.recall("token kilo", k=20))
