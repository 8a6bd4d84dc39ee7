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
    original = StoredRow.memory

    def counted(self: StoredRow) -> Any:
        built.append(self.id)
        return original(self)

    monkeypatch.setattr(StoredRow, "memory", counted)
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
