"""Keyword search on PostgreSQL from the counts the triggers keep (migration 0011).

Each tenant's number of memories and each word's number of holders are kept by the change-feed
triggers, and a search ranks its rarest words' matches first, ranking every match only when
those cannot be the answer. Every test runs on the session's real PostgreSQL
(``_postgres.py``), in a schema of its own.
"""

from __future__ import annotations

from typing import Any

import _postgres
import psycopg
import pytest

from memorymesh import AsyncMemoryMesh, NewMemory
from memorymesh.stores.base import Filters
from memorymesh.stores.postgres import _store as pg_store
from memorymesh.stores.postgres._store import PostgresStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def schema() -> str:
    return _postgres.fresh_name("kw")


def _store(mesh: AsyncMemoryMesh) -> PostgresStore:
    store = mesh.stores[0]
    assert isinstance(store, PostgresStore)
    return store


async def _kept_and_recounted(
    schema: str, tenant: str
) -> tuple[tuple[int, dict[str, int]], tuple[int, dict[str, int]]]:
    """The counts the triggers keep for ``tenant``, and the same counted from its rows."""
    conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
        _postgres.server_url(), autocommit=True
    )
    try:
        await conn.execute(f'SET search_path TO "{schema}", public')

        async def rows(query: str) -> list[tuple[Any, ...]]:
            cur = await conn.execute(query, [tenant])
            return await cur.fetchall()

        kept_total = await rows("SELECT memories FROM change_counters WHERE tenant = %s")
        kept = await rows("SELECT lexeme, n FROM lexeme_counts WHERE tenant = %s AND n <> 0")
        total = await rows("SELECT count(*) FROM memories WHERE tenant = %s")
        counted = await rows(
            "SELECT l, count(*) FROM memories, unnest(tsvector_to_array(search)) AS l "
            "WHERE tenant = %s GROUP BY l"
        )
    finally:
        await conn.close()
    return (
        (int(kept_total[0][0]), {str(w): int(n) for w, n in kept}),
        (int(total[0][0]), {str(w): int(n) for w, n in counted}),
    )


async def test_the_kept_counts_follow_inserts_rewrites_and_deletes(schema: str) -> None:
    url = _postgres.server_url(schema)
    async with AsyncMemoryMesh(url, project="acme/api", user="a") as mesh:
        written = await mesh.remember_many(
            [
                NewMemory(text=text, scope="project")
                for text in (
                    "Deploys go out on Tuesdays from the blue pipeline",
                    "The kestrel cluster hosts the billing queue",
                    "Invoices are archived after seven years",
                    "Rollbacks need a second reviewer on Fridays",
                )
            ]
        )
        await mesh.update(written[1].id, text="The falcon cluster hosts the billing queue")
        await mesh.forget(written[2].id)
        await mesh.remember("Deploys go out on Wednesdays now", scope="project")
        kept, counted = await _kept_and_recounted(schema, "project:acme/api")
        assert kept == counted
        assert "falcon" in kept[1] and "invoic" not in kept[1]
        # Through the store's own reads too: what term_statistics reports.
        total, counts, _ = await _store(mesh).term_statistics(["deploys", "kestrel"], [])
        assert total == counted[0]
        assert counts == {"deploys": counted[1]["deploy"], "kestrel": counted[1].get("kestrel", 0)}


async def test_ranking_the_rarest_words_first_finds_what_ranking_every_match_does(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _postgres.server_url(schema)
    texts = [f"service note {i} about the queue" for i in range(60)]  # common words
    texts += [f"the kestrel queue {i}" for i in range(6)]  # a rare word with a common one
    texts += [f"kestrel falcon report {i}" for i in range(3)]  # two rare words
    texts += ["falcon sighting"]
    async with AsyncMemoryMesh(url, project="acme/api", user="a") as mesh:
        await mesh.remember_many(
            [
                NewMemory(
                    text=t,
                    scope="project",
                    category="context" if i % 2 else "decision",
                    on_conflict="keep_both",
                )
                for i, t in enumerate(texts)
            ]
        )
        store = _store(mesh)
        now = 4e9

        async def search(query: str, limit: int, filters: Filters) -> list[tuple[str, float]]:
            found = await store.search_text(query, filters, limit=limit, now=now)
            return [(m.text, round(score, 9)) for m, score in found]

        cases = [
            ("kestrel falcon queue", 3, Filters()),  # the rarest word's matches are the answer
            ("kestrel falcon queue", 30, Filters()),  # they are not: every match is ranked
            ("service queue", 10, Filters()),
            ("kestrel queue note", 8, Filters(categories=("context",))),  # type: ignore[arg-type]
            ("the of", 10, Filters()),  # stop words only
        ]
        # A tenant this small is searched through its own rows, every word at once; with a
        # budget of one memory it goes through the GIN index, the rarest word alone first.
        monkeypatch.setattr(pg_store, "RARE_MATCHES", 10**9)
        everything = [await search(q, limit, f) for q, limit, f in cases]
        monkeypatch.setattr(pg_store, "RARE_MATCHES", 1)
        rarest_first = [await search(q, limit, f) for q, limit, f in cases]
        assert rarest_first == everything
        assert [len(found) for found in everything] == [3, 30, 10, 8, 0]
        assert all(text.startswith("kestrel falcon report") for text, _ in everything[0])
