"""Vector recall on PostgreSQL runs in the database (pgvector), not in this process's memory.

A store that searches its own vectors (``stores.base.VectorSearch``) gets the query vector
and applies every filter and its tenant in the same query; the exact path serves small sets
and id lists, the HNSW index (with pgvector 0.8's iterative scan) large ones. Every test runs
on the session's real PostgreSQL (``_postgres.py``).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import _postgres
import numpy as np
import psycopg
import pytest
from _embedders import HashEmbedder

from memorymesh import AsyncMemoryMesh, Category, NewMemory
from memorymesh.search._vectors import to_blob, unit_rows
from memorymesh.stores.base import Filters, vector_searcher
from memorymesh.stores.postgres._store import (
    HNSW_EF_SEARCH,
    NEIGHBOUR_EF_SEARCH,
    PostgresStore,
    _nearest_many,
    _vector_search,
)

pytestmark = pytest.mark.anyio

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
]


@pytest.fixture
def url() -> str:
    return _postgres.server_url(_postgres.fresh_name("v"))


def _items(n: int, *, decision_every: int = 40, seed: int = 1) -> list[NewMemory]:
    rng = np.random.default_rng(seed)
    return [
        NewMemory(
            text=" ".join(rng.choice(WORDS, 6)) + f" note{i}",
            scope="project",
            category="decision" if i % decision_every == 0 else "context",
            on_conflict="keep_both",
        )
        for i in range(n)
    ]


async def _query(embedder: HashEmbedder, text: str) -> bytes:
    return to_blob(unit_rows(await embedder.embed([text]))[0])


async def test_vector_and_hybrid_recall_need_no_vectors_in_memory(url: str) -> None:
    embedder = HashEmbedder()
    async with AsyncMemoryMesh(url, project="acme/api", user="ann", embedding=embedder) as mesh:
        await mesh.remember_many(_items(60))
        target = await mesh.remember(
            "kestrel falcon osprey migrate south", scope="project", on_conflict="keep_both"
        )
        assert vector_searcher(mesh.stores[0]) is not None
        # What a mesh that never loaded its vectors has: no in-memory index at all.
        mesh._indexes.vectors.clear()
        for mode in ("vector", "hybrid"):
            hits = await mesh.recall("osprey kestrel falcon", k=3, mode=mode)
            assert hits and hits[0].memory.id == target.id, mode
        # Filters are applied by the database in the same query.
        decisions = await mesh.recall("alpha beta", k=5, mode="vector", category="decision")
        assert decisions and {h.memory.category for h in decisions} == {Category.DECISION}


async def test_hnsw_agrees_with_exact_and_filters_do_not_starve_the_top_k(url: str) -> None:
    embedder = HashEmbedder()
    async with AsyncMemoryMesh(url, project="acme/api", user="bo", embedding=embedder) as mesh:
        await mesh.remember_many(_items(400))  # 10 decisions among 400
        store = mesh.stores[0]
        assert isinstance(store, PostgresStore)
        now = time.time()
        query = await _query(embedder, "alpha beta gamma")
        decision = Filters(categories=(Category.DECISION,))
        for filters in (Filters(), decision):
            exact = await store.vector_search(
                query, embedder.name, filters, limit=10, now=now, exact=True
            )

            async def by_index(conn: object, filters: Filters = filters) -> list[float]:
                # The HNSW query alone, without the exact fallback: the iterative scan must
                # find ten decisions although the first candidates are mostly context.
                await conn.execute("SET enable_sort = off")  # type: ignore[attr-defined]
                found = await _vector_search(
                    store, conn, query, embedder.name, filters, 10, now, hnsw=True
                )
                await conn.execute("RESET enable_sort")  # type: ignore[attr-defined]
                assert all(m.category in (filters.categories or Category) for m, _ in found)
                return [cosine for _, cosine in found]

            approximate = await store._run(by_index)  # type: ignore[arg-type]
            # Bag-of-words vectors tie often: compare the scores, not which of equals came.
            assert approximate == pytest.approx([cosine for _, cosine in exact], abs=1e-5)
        # Cosines are the in-memory index's: unit vectors, 1 - cosine distance.
        best, cosine = exact[0]
        vector = unit_rows(await embedder.embed([best.text]))[0]
        expected = float(vector @ np.frombuffer(query, dtype="<f4"))
        assert cosine == pytest.approx(expected, abs=1e-5)
        # Above the exact threshold the store picks the index path itself.
        store.exact_below = 0
        chosen = await store.vector_search(query, embedder.name, decision, limit=10, now=now)
        assert {m.category for m, _ in chosen} == {Category.DECISION} and len(chosen) == 10


class _Counting:
    """A connection that notes the statements sent through its own ``execute``."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.sent: list[str] = []

    async def execute(self, query: Any, params: Any = None) -> Any:
        self.sent.append(str(query))
        return await self.conn.execute(query, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


async def test_hnsw_searches_set_ef_search_once_per_connection_and_after_writes(
    url: str,
) -> None:
    embedder = HashEmbedder()
    async with AsyncMemoryMesh(url, project="acme/api", user="ef", embedding=embedder) as mesh:
        await mesh.remember_many(_items(60))
        store = mesh.stores[0]
        assert isinstance(store, PostgresStore)
        now = time.time()
        query = await _query(embedder, "alpha beta gamma")

        async def ef_search(conn: Any) -> int:
            return int((await (await conn.execute("SHOW hnsw.ef_search")).fetchone())[0])

        async def search(conn: Any) -> None:
            await _vector_search(store, conn, query, embedder.name, Filters(), 10, now, hnsw=True)

        async def go(raw: Any) -> None:
            conn = _Counting(raw)
            await search(conn)
            await search(conn)
            # A recall's search is one round trip once its connection holds the setting.
            assert sum("hnsw.ef_search" in q for q in conn.sent) == 1
            assert await ef_search(conn) == HNSW_EF_SEARCH
            for commit in (True, False):
                # A write's neighbour search sets its own value inside its transaction...
                with contextlib.suppress(ZeroDivisionError):
                    async with raw.transaction():
                        await _nearest_many(
                            store, conn, [query], embedder.name, 3, 0.0, now, hnsw=True
                        )
                        if not commit:
                            raise ZeroDivisionError  # rolled back
                assert await ef_search(conn) == (NEIGHBOUR_EF_SEARCH if commit else HNSW_EF_SEARCH)
                # ... and the next read sets the engine's again, whatever became of it.
                await search(conn)
                assert await ef_search(conn) == HNSW_EF_SEARCH

        await store._run(go)


async def test_recording_an_embedder_creates_the_hnsw_index_for_its_dimension(url: str) -> None:
    embedder = HashEmbedder(dim=48)
    async with AsyncMemoryMesh(url, project="acme/api", user="cy", embedding=embedder) as mesh:
        await mesh.remember("first note", scope="project")
        store = mesh.stores[0]
        assert isinstance(store, PostgresStore)

        async def definition(conn: object) -> str | None:
            cur = await conn.execute(  # type: ignore[attr-defined]
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'memories_hnsw_48'"
            )
            row = await cur.fetchone()
            return None if row is None else str(row[0])

        found = await store._run(definition)  # type: ignore[arg-type]
        assert found is not None and "hnsw" in found and "vector_cosine_ops" in found


async def test_vector_recall_never_crosses_tenants(url: str) -> None:
    embedder = HashEmbedder()
    ids: dict[tuple[str, str, str], str] = {}
    for project, user in (("acme/api", "alice"), ("acme/web", "alice"), ("acme/api", "bob")):
        async with AsyncMemoryMesh(url, project=project, user=user, embedding=embedder) as m:
            for scope in ("project", "global"):
                memory = await m.remember(
                    f"the deploy key rotates weekly ({project} {user} {scope})",
                    scope=scope,
                    on_conflict="keep_both",
                )
                ids[(project, user, scope)] = memory.id
    allowed = {
        ids[("acme/api", "alice", "project")],
        ids[("acme/api", "bob", "project")],
        ids[("acme/api", "alice", "global")],
        ids[("acme/web", "alice", "global")],
    }
    async with AsyncMemoryMesh(url, project="acme/api", user="alice", embedding=embedder) as m:
        for exact_below in (10_000, 0):  # the exact path, then the index path
            for store in m.stores:
                assert isinstance(store, PostgresStore)
                store.exact_below = exact_below
            for mode in ("vector", "hybrid"):
                for metadata_filter in (None, {"x": {"$exists": False}}):
                    hits = await m.recall(
                        "deploy key rotates", k=50, mode=mode, metadata_filter=metadata_filter
                    )
                    assert {h.memory.id for h in hits} == allowed, (mode, exact_below)


async def test_an_hnsw_index_that_cannot_be_built_now_leaves_search_exact(url: str) -> None:
    async with AsyncMemoryMesh(url, project="acme/api", user="dee") as mesh:
        await mesh.remember("the table exists before the embedder is recorded", scope="project")
    schema = url.rsplit("schema=", 1)[1]
    embedder = HashEmbedder(dim=40)
    async with (
        await psycopg.AsyncConnection.connect(_postgres.server_url(), autocommit=True) as other,
        other.transaction(),
    ):
        # Another worker's long write: building an index must wait for it to finish.
        await other.execute(f'LOCK TABLE "{schema}".memories IN ROW EXCLUSIVE MODE')
        async with AsyncMemoryMesh(
            url, project="acme/api", user="dee", embedding=embedder, busy_timeout=0.3
        ) as mesh:
            # Opening recorded the embedder (and embedded the backlog) without the index.
            store = mesh.stores[0]
            assert isinstance(store, PostgresStore)
            assert await store.get_meta("embedder_dim") == "40"
            hits = await mesh.recall("embedder recorded", mode="vector", k=1)
            assert [h.memory.text for h in hits] == [
                "the table exists before the embedder is recorded"
            ]

            async def index(conn: object) -> object:
                cur = await conn.execute(  # type: ignore[attr-defined]
                    "SELECT to_regclass('memories_hnsw_40')"
                )
                return (await cur.fetchone())[0]

            assert await store._run(index) is None  # type: ignore[arg-type]


async def test_a_small_tenant_on_a_big_index_is_searched_exactly(url: str) -> None:
    embedder = HashEmbedder()
    async with AsyncMemoryMesh(url, project="big", user="eve", embedding=embedder) as big:
        await big.remember_many(_items(600))
        async with AsyncMemoryMesh(url, project="small", user="eve", embedding=embedder) as small:
            await small.remember_many(_items(10, seed=2))
            stores = [big.stores[0], small.stores[0]]
            for store in stores:
                assert isinstance(store, PostgresStore)
                store.exact_below = 0
                # The writes' neighbour searches counted the vectors before ANALYZE (cached).
                store._vector_sizes.clear()
            await stores[0]._run(lambda conn: conn.execute("ANALYZE memories"))  # type: ignore[attr-defined]
            # 600 of 610 vectors in the index: the index serves the big project; 10 of 610
            # (under 2%): the small one is scanned exactly, with the same results.
            assert (await stores[0]._vector_size(embedder.name, 64))[1]  # type: ignore[union-attr]
            assert not (await stores[1]._vector_size(embedder.name, 64))[1]  # type: ignore[union-attr]
            hits = await small.recall("alpha beta", mode="vector", k=10)
            assert len(hits) == 10 and {h.memory.id for h in hits} <= {
                m.id for m in await small.list(limit=20)
            }
