"""Duplicate and contradiction checks on PostgreSQL run in the database, not in memory.

A store that finds its own neighbours (``stores.base.NeighbourSearch``) is asked for a whole
batch's candidates in one statement; the mesh never builds its in-memory vector index for
it, so a worker opens without loading the store's vectors. The verdicts must be the ones the
in-memory index gives (the SQLite path): the whole conflict corpus is run through both. Every
test runs on the session's real PostgreSQL (``_postgres.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

import _postgres
import psycopg
import pytest
from _embedders import HashEmbedder
from conflict_corpus import PAIRS

from memorymesh import AsyncMemoryMesh, NewMemory
from memorymesh.search._vectors import to_blob, unit_rows
from memorymesh.stores.base import neighbour_searcher
from memorymesh.stores.postgres._location import parse_location
from memorymesh.stores.postgres._store import PostgresStore, _nearest_many

pytestmark = pytest.mark.anyio

#: What writing a pair's second memory did: the conflict kind against the first memory, its
#: similarity, and whether the first memory ended up hidden.
Outcome = tuple[str, float | None, bool]


async def _outcome(mesh: AsyncMemoryMesh, old: str, new: str) -> Outcome:
    first = await mesh.remember(old, scope="project")
    second = await mesh.remember(new, scope="project")
    mine = [c for c in second.conflicts if c.memory_id == first.id]
    after = await mesh.get(first.id)
    hidden = after is not None and after.superseded_by is not None
    return (mine[0].kind, mine[0].similarity, hidden) if mine else ("none", None, hidden)


async def test_the_corpus_gets_the_same_verdicts_as_the_in_memory_index(tmp_path: Path) -> None:
    # One mesh per engine; each pair is forgotten after it is scored, so no pair sees
    # another's memories (as with a fresh store per pair, and much faster).
    embedder = HashEmbedder()
    url = _postgres.server_url(_postgres.fresh_name("c"))
    outcomes: dict[str, list[Outcome]] = {}
    for engine, location in (("sqlite", tmp_path / "project.db"), ("postgres", url)):
        found = outcomes[engine] = []
        extra = {"global_path": tmp_path / "global.db"} if engine == "sqlite" else {}
        async with AsyncMemoryMesh(
            location, project="pairs", user="pat", embedding=embedder, **extra
        ) as mesh:
            searched_here = neighbour_searcher(mesh.stores[0]) is not None
            assert searched_here == (engine == "postgres")
            for _label, old, new in PAIRS:
                found.append(await _outcome(mesh, old, new))
                await mesh.forget_many(
                    [m.id for m in await mesh.list(limit=50, include_superseded=True)]
                )
            if searched_here:
                # Nothing was loaded into this process for the checks.
                assert mesh._indexes.vectors == {}
    differ = [
        (pair, a, b)
        for pair, a, b in zip(PAIRS, outcomes["sqlite"], outcomes["postgres"], strict=True)
        if a != b
    ]
    assert not differ, differ[:5]
    # The corpus exercised every verdict through the database path.
    assert {kind for kind, _, _ in outcomes["postgres"]} >= {
        "duplicate",
        "near_duplicate",
        "contradiction",
        "none",
    }


async def test_a_batch_is_checked_against_the_store_and_itself_in_the_database() -> None:
    embedder = HashEmbedder()
    url = _postgres.server_url(_postgres.fresh_name("c"))
    async with AsyncMemoryMesh(url, project="acme/api", user="ann", embedding=embedder) as mesh:
        deploy = await mesh.remember("The staging deploy runs on Fridays", scope="project")
        editor = await mesh.remember("The team editor is Vim", scope="project")
    # A new worker: opens without the store's vectors, then writes a batch.
    async with AsyncMemoryMesh(url, project="acme/api", user="ann", embedding=embedder) as mesh:
        assert mesh._indexes.vectors == {}
        written = await mesh.remember_many(
            [
                NewMemory(text="The staging deploy runs on Mondays", scope="project"),
                NewMemory(text="The team editor is Emacs", scope="project"),
                NewMemory(text="Invoices are sent on the first of the month", scope="project"),
                NewMemory(text="Invoices are sent on the second of the month", scope="project"),
            ]
        )
        kinds = [[(c.kind, c.memory_id) for c in m.conflicts] for m in written]
        assert kinds[0] == [("contradiction", deploy.id)]
        assert kinds[1] == [("contradiction", editor.id)]
        assert kinds[2] == []
        assert [mid for _, mid in kinds[3]] == [written[2].id]  # within the batch
        assert (await mesh.get(deploy.id)).superseded_by == written[0].id  # type: ignore[union-attr]
        assert (await mesh.get(editor.id)).superseded_by == written[1].id  # type: ignore[union-attr]
        assert mesh._indexes.vectors == {}


async def test_a_conflict_across_scopes_is_found_in_the_other_store() -> None:
    embedder = HashEmbedder()
    url = _postgres.server_url(_postgres.fresh_name("c"))
    async with AsyncMemoryMesh(url, project="acme/api", user="bo", embedding=embedder) as mesh:
        mine = await mesh.remember("The team editor is Vim", scope="global")
        theirs = await mesh.remember("The team editor is Emacs", scope="project")
        # Found in the other scope's store, and resolved by the same policy (supersede).
        assert [(c.kind, c.memory_id, c.action) for c in theirs.conflicts] == [
            ("contradiction", mine.id, "superseded")
        ]
        assert (await mesh.get(mine.id)).superseded_by == theirs.id
        assert mesh._indexes.vectors == {}


async def _embedding_of(url: str, memory_id: str) -> bytes | None:
    location = parse_location(url)
    async with await psycopg.AsyncConnection.connect(location.conninfo) as conn:
        cur = await conn.execute(
            f'SELECT embedding::text FROM "{location.schema}".memories WHERE id = %s',
            [memory_id],
        )
        row = await cur.fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]


async def test_history_copies_keep_their_vectors_read_from_the_store() -> None:
    # A merge and an update keep the earlier version as a copy, with its vector: without an
    # in-memory index, the vector is read from the store in the same transaction.
    embedder = HashEmbedder()
    url = _postgres.server_url(_postgres.fresh_name("c"))
    async with AsyncMemoryMesh(url, project="acme/api", user="cy", embedding=embedder) as mesh:
        old = await mesh.remember("The staging deploy runs on Fridays", scope="project")
        merged = await mesh.remember(
            "The staging deploy runs on Mondays", scope="project", on_conflict="merge"
        )
        assert merged.id == old.id
        (copy,) = [m for m in await mesh.history(old.id) if m.id != old.id]
        assert copy.text == "The staging deploy runs on Fridays"
        kept = await _embedding_of(url, copy.id)
        assert kept is not None and kept != await _embedding_of(url, old.id)
        updated = await mesh.update(old.id, text="The staging deploy runs on Tuesdays")
        earlier = [m for m in await mesh.history(updated.id) if m.text.endswith("Mondays")]
        assert len(earlier) == 1
        assert await _embedding_of(url, earlier[0].id) is not None
        assert mesh._indexes.vectors == {}


async def test_memories_written_without_a_vector_are_embedded_before_recall() -> None:
    # A worker without an embedder writes; a worker with one, open meanwhile, holds no index
    # of the store but still follows its change feed and embeds what arrived without a vector.
    embedder = HashEmbedder()
    url = _postgres.server_url(_postgres.fresh_name("c"))
    async with AsyncMemoryMesh(url, project="acme/api", user="di", embedding=embedder) as mesh:
        await mesh.remember("kestrel falcon osprey", scope="project")
        async with AsyncMemoryMesh(url, project="acme/api", user="di") as plain:
            late = await plain.remember("heron egret bittern", scope="project")
        hits = await mesh.recall("heron egret bittern", mode="vector", k=1)
        assert [h.memory.id for h in hits] == [late.id]
        assert await _embedding_of(url, late.id) is not None


async def test_a_large_tenant_is_searched_through_the_index_with_the_same_neighbours() -> None:
    # Past a few hundred vectors a batch's neighbours come from the HNSW index (an exact
    # scan per query of a batch costs the batch's size times the tenant's); the candidates
    # are the exact ones on this set.
    embedder = HashEmbedder()
    url = _postgres.server_url(_postgres.fresh_name("c"))
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    texts = [
        f"{words[i % 9]} {words[(i // 9) % 9]} {words[(i // 81) % 9]} note {i}" for i in range(700)
    ]
    async with AsyncMemoryMesh(url, project="big", user="ed", embedding=embedder) as mesh:
        await mesh.remember_many(
            [NewMemory(text=t, scope="project", on_conflict="keep_both") for t in texts]
        )
        store = mesh.stores[0]
        assert isinstance(store, PostgresStore)
        await store._run(lambda conn: conn.execute("ANALYZE memories"))
        store._vector_sizes.clear()
        queries = [to_blob(v) for v in unit_rows(await embedder.embed(texts[:50]))]
        assert await store._neighbours_by_index(queries, embedder.name)
        now = time.time()
        by_index = await store.nearest_many(queries, embedder.name, k=3, min_score=0.5, now=now)
        exact = await store._run(
            lambda conn: _nearest_many(store, conn, queries, embedder.name, 3, 0.5, now, False)
        )
        # Many texts here tie on their cosine: the same neighbours means equally close ones.
        same = sum(
            [round(c, 5) for _, c in a] == [round(c, 5) for _, c in b]
            for a, b in zip(by_index, exact, strict=True)
        )
        assert same >= 48 and all(hits for hits in by_index)
        assert mesh._indexes.vectors == {}


async def test_tokens_stored_by_the_earlier_tokeniser_are_refilled() -> None:
    # A tenant's tokens as the tokeniser before migration 0012 stored them ("HR" read as
    # "hour"): written by this version, then put back the way the earlier one had them and
    # the migration marked as not applied, as on a server upgraded from that version.
    url = _postgres.server_url(_postgres.fresh_name("r"))
    async with AsyncMemoryMesh(url, project="p", user="pat", embedding="none") as mesh:
        hr = await mesh.remember("User works in HR.", scope="project")
    where = parse_location(url)
    with psycopg.connect(where.conninfo, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{where.schema}"')
        conn.execute("UPDATE conflict_memories SET words = ARRAY['hour', 'user', 'work']")
        conn.execute("UPDATE conflict_words SET token = 'hour' WHERE token = 'human-resources'")
        conn.execute("DELETE FROM schema_migrations WHERE name = '0012_retokenise_conflicts'")
    async with AsyncMemoryMesh(url, project="p", user="pat", embedding="none") as mesh:
        again = await mesh.remember("The user works in human resources.", scope="project")
    assert [(c.kind, c.memory_id) for c in again.conflicts] == [("near_duplicate", hr.id)]
    with psycopg.connect(where.conninfo, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{where.schema}"')
        tokens = {t for (t,) in conn.execute("SELECT token FROM conflict_words")}
    assert "hour" not in tokens
    assert "human-resources" in tokens


async def test_a_batch_s_keyword_probe_is_planned_in_sql_with_the_reads_candidates() -> None:
    """Without an embedder a batch's probe is planned by the database in one statement (the
    candidates' tokens are a second read): the same memories, in the same order, as the four
    reads give (rarity ties, words past their probed holders, one-word memories, a wider
    probe, a forgotten memory)."""
    from test_conflict_seed import _fill, _texts

    from memorymesh.search._lexical import StoredLexicon
    from memorymesh.stores.base import TokenCandidates, token_postings
    from memorymesh.writes._conflicts import content_tokens, related_words

    url = _postgres.server_url(_postgres.fresh_name("cand"))
    async with AsyncMemoryMesh(url, project="cands", user="pat", on_conflict="keep_both") as mesh:
        await _fill(mesh)
        olds = [old for _label, old, _new in PAIRS]
        await mesh.remember_many([*olds, "Kubernetes", "Postgres", "Staging", "pnpm"])
        gone = await mesh.remember("The staging database runs PostgreSQL 15")
        await mesh.forget(gone.id)
        tokens = token_postings(mesh.stores[0])
        assert isinstance(tokens, TokenCandidates)  # the planned probe is the one used
        lexicon = StoredLexicon(tokens)
        news = [content_tokens(text)[0] for text in [*_texts()[3], *(n for _, _, n in PAIRS)]]
        batches = [
            ([*news, frozenset(), frozenset({"kubernet"})], None, 64),
            ([words | related_words(words) for words in news], 2, 24),
            (news[:5], 1, 3),
        ]
        found_any = 0
        for token_sets, needed, limit in batches:
            by_reads = await lexicon.lookup_by_reads(token_sets, needed, limit)
            at_once = await lexicon.lookup(token_sets, needed, limit)
            assert at_once == by_reads
            found_any += sum(map(len, at_once))
        assert found_any > len(PAIRS)
        # The seed fixtures' old statements are found only through their two recent words,
        # probed unless one of them is the last of the equally rare words (the first group).
        first = await lexicon.lookup(news[:3])
        assert [len(row) for row in first] == [0, 1, 1]
