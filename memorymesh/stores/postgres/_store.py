"""The PostgreSQL store: one tenant (a project, or a user's global memories) in a shared database.

One :class:`PostgresStore` owns a ``psycopg_pool`` pool. Reads run concurrently on pooled
connections in autocommit; :meth:`PostgresStore.write` opens one transaction that first takes a
transaction-scoped advisory lock on the tenant, so writers to one store queue (across processes
and machines) and conflict detection inside it sees every earlier write. Every statement goes
through :meth:`PostgresStore._run` or a :class:`PostgresTransaction`, where driver errors become
:mod:`memorymesh._errors` types (``_driver.translate``). Every value is bound; the only
identifiers spliced into SQL are the allowlisted columns and orders in this package and the
schema name (checked against an identifier pattern in ``_location.py``).

Tenant isolation is enforced here, in the one place that writes SQL: every statement names
``tenant = %s`` (``_sql.where`` for filtered reads). Row-level security was considered and not
used: a client holding the database credentials can set whatever session variable a policy
reads (and superusers and table owners bypass RLS), so it would add a second, unenforceable
check rather than a boundary. Teams that do not trust each other get separate databases or
roles (``docs/teams.md``).
"""

from __future__ import annotations

import contextlib
import json
import time
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TypeVar

import anyio
import psycopg
from psycopg import sql as pgsql
from psycopg_pool import AsyncConnectionPool

from ..._errors import ClosedError, EncryptionError, SchemaVersionError, StoreError
from ..._models import ListOrder, Memory, Scope, SessionRecord, trusted_memory
from ..._version import install_command
from .._columns import COLUMNS as _COLUMNS
from .._columns import M_COLUMNS as _M_COLUMNS
from .._columns import memory_fields
from ..base import (
    CHANGES_KEPT,
    EXPORT_COLUMNS,
    UNIQUE_METADATA_KEYS,
    ChangedMemory,
    Changes,
    CompactionRow,
    Filters,
    ImportCounts,
    LogEntry,
    MemoryRow,
    PairRow,
    StoreCounts,
    VectorRow,
    bm25_idf,
)
from ._driver import Vector, register_vector, translated
from ._location import PostgresLocation
from ._notify import ChangeListener
from ._schema import (
    HNSW_MAX_DIM,
    MIGRATION_LOCK,
    MIGRATIONS,
    TS_CONFIG,
    hnsw_index,
    hnsw_index_name,
)
from ._sql import ORDERS, tsquery, where
from ._tokens import PostgresTokenPostings

__all__ = ["PostgresStore", "PostgresTransaction"]

T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]


#: Columns ``update`` may set: the allowlist for dynamic SET clauses.
_UPDATABLE: frozenset[str] = frozenset(
    {
        "text", "content_hash", "category", "importance", "pinned", "metadata", "session_id",
        "event_time", "expires_at", "updated_at", "superseded_by", "superseded_at",
        "superseded_across",
        "redactions", "embedding", "embedding_model",
    }
)  # fmt: skip

#: The columns ``insert_many`` writes (after ``tenant``): the fields of a ``MemoryRow``.
_INSERT_COLUMNS = (
    "id", "text", "content_hash", "category", "importance", "scope", "pinned", "metadata",
    "session_id", "source", "agent", "redactions", "created_at", "updated_at", "event_time",
    "expires_at", "embedding", "embedding_model", "status",
)  # fmt: skip

#: The SQL type of each of ``_INSERT_COLUMNS`` after ``tenant`` (``insert_many`` sends each
#: column in it).
_INSERT_TYPES = (
    "text", "text", "text", "text", "float8", "text", "int2", "text", "text", "text", "text",
    "text", "float8", "float8", "float8", "float8", "vector", "text", "text",
)  # fmt: skip

#: ``insert_many``'s statement and the type of each column it sends (binary COPY takes no
#: casts: each must be the column's own type).
_COPY_MEMORIES = (
    f"COPY memories (tenant, {', '.join(_INSERT_COLUMNS)}) FROM STDIN (FORMAT BINARY)".encode()
)
_COPY_TYPES = ("text", *_INSERT_TYPES)

#: The SQL type of each column of ``memories`` a batch writes that is not text: a batch
#: binds each column as one array of it (``_unnest_insert``).
_COLUMN_TYPES: dict[str, str] = {
    "importance": "float8", "pinned": "int2", "created_at": "float8", "updated_at": "float8",
    "event_time": "float8", "expires_at": "float8", "access_count": "int8",
    "last_accessed_at": "float8", "superseded_at": "float8", "embedding": "vector",
}  # fmt: skip


def _bound(value: Any, kind: str) -> Any:
    """``value`` as the driver binds it in a column of SQL type ``kind``."""
    if value is None:
        return None
    if kind == "vector":
        return Vector(value)
    return int(value) if kind.startswith("int") else float(value) if kind == "float8" else value


def _unnest_insert(columns: Sequence[str]) -> str:
    """``INSERT`` of a batch of ``memories`` rows into ``columns`` (after ``tenant``) as one
    statement: each column bound as one array of its type (:func:`_unnest_arrays`), so the
    change-feed trigger runs once for the batch (migration 0008) and the server plans one
    statement instead of one per row. Vectors travel in pgvector's binary format only
    (``_driver.Vector``). The table is aliased ``old`` for an ``ON CONFLICT`` clause."""
    kinds = (_COLUMN_TYPES.get(column, "text") for column in columns)
    arrays = ", ".join(f"%{'b' if kind == 'vector' else 's'}::{kind}[]" for kind in kinds)
    return (
        f"INSERT INTO memories AS old (tenant, {', '.join(columns)}) "
        f"SELECT %s, * FROM unnest({arrays})"
    )


def _unnest_arrays(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    """The arrays :func:`_unnest_insert` binds: each column's value in every row."""
    arrays: list[list[Any]] = []
    for column in columns:
        values = list(map(itemgetter(column), rows))
        # As _bound, a column at a time (no call per value: an import is a long batch).
        kind = _COLUMN_TYPES.get(column)
        if kind == "vector":
            values = [None if v is None else Vector(v) for v in values]
        elif kind == "float8":
            values = [None if v is None else float(v) for v in values]
        elif kind is not None:
            values = [None if v is None else int(v) for v in values]
        arrays.append(values)
    return arrays


#: Seconds any one statement may run before the server cancels it.
STATEMENT_TIMEOUT = 60.0

#: Vector search is exact (every vector scored) while a tenant holds fewer vectors than this
#: from the query's embedder, and uses the HNSW index from there on (``docs/teams.md``). An
#: exact scan costs about 6 microseconds a vector on the benchmark machine (12 ms here).
EXACT_BELOW = 2_000
#: ... and while the tenant's vectors are less than this share of the index (which holds
#: every tenant's vectors of that dimension): the index walks the others' rows too, so for a
#: small tenant on a big server an exact scan of its own rows is cheaper.
HNSW_MIN_SHARE = 0.02
#: HNSW's candidate list per search (pgvector's ``hnsw.ef_search``; raised to the number of
#: results asked for when that is larger). Chosen by ``benchmarks/bench_postgres.py``.
HNSW_EF_SEARCH = 100
#: HNSW's candidate list for the write path's neighbour search (:meth:`nearest_many`): it
#: asks for a few close neighbours of each new text, where recall asks for ten of a query.
NEIGHBOUR_EF_SEARCH = 40
#: The ``hnsw.ef_search`` each pooled connection holds, as a read set it: a vector recall
#: then sends its search alone, without a ``set_config`` round trip before it. A read runs
#: in autocommit, so its setting stays; a write transaction (which may roll back, taking
#: its setting with it) forgets its connection's entry, and the next read sets it again.
_EF_SEARCH_SET: weakref.WeakKeyDictionary[Conn, int] = weakref.WeakKeyDictionary()
#: ... and it is exact below this many vectors in the tenant (when that is below
#: :data:`EXACT_BELOW`): a batch of a thousand scanning 2,000 vectors each costs seconds.
NEIGHBOUR_EXACT_BELOW = 500
#: How far past the threshold the database's cut reaches (its cosine and ours differ in the
#: last places; :func:`_nearest_many` applies the exact threshold to its own).
_SLACK = 1e-5
#: Seconds a tenant's vector count (exact or HNSW) and its index's existence are cached.
_SIZE_TTL = 30.0
_POOL_MAX = 4

#: ``(conninfo, schema)`` pairs this process has brought up to date (see ``_migrate``).
_MIGRATED: set[tuple[str, str]] = set()


def _memory(row: Sequence[Any]) -> Memory:
    # Rows come from our own CHECK-constrained table: no re-validation on this hot path.
    return trusted_memory(memory_fields(row))


def _dead(conn: Conn) -> bool:
    """Whether the server dropped ``conn`` (as opposed to an error on a live connection)."""
    return bool(conn.closed or conn.broken)


def _vector(blob: bytes | None) -> Vector | None:
    return None if blob is None else Vector(blob)


async def _fetch(conn: Conn, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    # Binary results: vectors arrive as pgvector's binary format, numbers without parsing.
    async with conn.cursor(binary=True) as cur:
        await cur.execute(query.encode(), params)
        return await cur.fetchall() if cur.description is not None else []


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """``rows`` of ``width`` values as ``width`` columns, each bound as one array (unnest)."""
    return [[row[i] for row in rows] for i in range(width)]


def _pair_values(p: PairRow) -> tuple[Any, ...]:
    return (p.new_id, p.old_id, p.kind, p.similarity, p.policy, p.reason, p.created_at)


# -- the reads a transaction and the store share --------------------------------------------


async def _get_many(store: PostgresStore, conn: Conn, ids: Sequence[str]) -> list[Memory]:
    if not ids:
        return []
    rows = await _fetch(
        conn,
        f"SELECT {_COLUMNS} FROM memories WHERE tenant = %s AND id = ANY(%s)",
        [store.tenant, list(ids)],
    )
    return [store._overlay(_memory(r)) for r in rows]


async def _ids_by_hash(
    store: PostgresStore, conn: Conn, hashes: Sequence[str], any_status: bool
) -> dict[str, str]:
    unique = list(dict.fromkeys(hashes))
    if not unique:
        return {}
    rows = await _fetch(
        conn,
        "SELECT content_hash, id FROM memories WHERE tenant = %s AND content_hash = ANY(%s) "
        "AND superseded_by IS NULL "
        + ("" if any_status else "AND status = 'active' ")
        + "ORDER BY seq",
        [store.tenant, unique],
    )
    result: dict[str, str] = {}
    for content_hash, memory_id in rows:
        result.setdefault(content_hash, memory_id)
    return result


async def _change_mark(store: PostgresStore, conn: Conn) -> int:
    rows = await _fetch(
        conn, "SELECT coalesce(max(seq), 0) FROM memory_changes WHERE tenant = %s", [store.tenant]
    )
    return int(rows[0][0])


async def _changes_since(store: PostgresStore, conn: Conn, mark: int) -> Changes:
    rows = await _fetch(
        conn,
        "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM memory_changes WHERE tenant = %s",
        [store.tenant],
    )
    first, last = int(rows[0][0]), int(rows[0][1])
    if last <= mark:
        return Changes(last, [], everything=False)
    if first > mark + 1:  # pruned past the mark (seqs are gapless per tenant): all changed
        ids = await _fetch(conn, "SELECT id FROM memories WHERE tenant = %s", [store.tenant])
        return Changes(last, [str(r[0]) for r in ids], everything=True)
    ids = await _fetch(
        conn,
        "SELECT DISTINCT memory_id FROM memory_changes WHERE tenant = %s AND seq > %s "
        "AND seq <= %s",
        [store.tenant, mark, last],
    )
    return Changes(last, [str(r[0]) for r in ids], everything=False)


async def _changed_memories(
    store: PostgresStore, conn: Conn, ids: Sequence[str]
) -> list[ChangedMemory]:
    if not ids:
        return []
    rows = await _fetch(
        conn,
        "SELECT id, text, category, importance, pinned, created_at, expires_at, session_id, "
        "superseded_by IS NOT NULL, status = 'active', embedding, embedding_model "
        "FROM memories WHERE tenant = %s AND id = ANY(%s)",
        [store.tenant, list(ids)],
    )
    return [
        ChangedMemory(
            id=str(r[0]),
            text=str(r[1]),
            category=str(r[2]),
            importance=float(r[3]),
            pinned=bool(r[4]),
            created_at=float(r[5]),
            expires_at=None if r[6] is None else float(r[6]),
            session_id=r[7],
            superseded=bool(r[8]),
            active=bool(r[9]),
            embedding=r[10],
            embedding_model=r[11],
        )
        for r in rows
    ]


#: A term's document count within its tenant, from the counts the change-feed triggers
#: keep (migration 0011): one indexed read for a word that is one lexeme, a count through
#: the GIN index for the rare term that stems to several (or none: a stop word counts 0).
#: Binds the tenant twice; ``t`` is the row with the term's ``lexemes`` and tsquery ``q``.
_TERM_COUNT = (
    "(CASE cardinality(t.lexemes) WHEN 0 THEN 0 "
    "WHEN 1 THEN coalesce((SELECT l.n FROM lexeme_counts AS l "
    "WHERE l.tenant = %s AND l.lexeme = t.lexemes[1]), 0) "
    "ELSE (SELECT count(*) FROM memories AS x WHERE x.tenant = %s AND x.search @@ t.q) "
    "END)::float8"
)
#: ... and the tenant's number of memories (binds the tenant once).
_TENANT_SIZE = "coalesce((SELECT memories FROM change_counters WHERE tenant = %s), 0)::float8"
#: Each query word as its tsquery ``q`` and its ``lexemes`` (binds the configuration twice
#: and the words as one array); plainto_tsquery parses text-search syntax as plain text.
_TERMS = (
    "SELECT u.i, plainto_tsquery(%s::regconfig, u.t) AS q, "
    "tsvector_to_array(to_tsvector(%s::regconfig, u.t)) AS lexemes "
    "FROM unnest(%s::text[]) WITH ORDINALITY AS u (t, i)"
)
#: A keyword search first ranks the memories holding its rarest words (as many of them,
#: rarest first, as hold at most this many memories together, and always the rarest) or
#: two of its other words. A memory that leaves out holds one of the commoner words alone,
#: so it scores at most that word's weight (search engines' "max-score" bound): when the
#: best ``limit`` candidates all score more, they are the answer, exactly; otherwise (rare
#: on real text, see ``docs/benchmarks.md``) the search ranks every match. A tenant of at
#: most this many memories is searched through its own rows, every word at once.
RARE_MATCHES = 1_000


async def _search_text(
    store: PostgresStore, conn: Conn, query: str, filters: Filters, limit: int, now: float
) -> list[tuple[Memory, float]]:
    built = tsquery(query)
    if built is None:
        return []
    _, terms = built
    clause, params = where(filters, now, store.tenant)
    tenant = store.tenant

    def score(alias: str) -> str:
        # The sum of the weights of the words the row holds, written out per word (a
        # subquery per candidate cost about as much as finding it).
        return (
            "("
            + " + ".join(
                f"(CASE WHEN {alias}.search @@ wa.q[{k}] THEN wa.idf[{k}] ELSE 0 END)"
                for k in range(1, len(terms) + 1)
            )
            + ")"
        )

    # Ranked like BM25 without its term-frequency and length parts: each query word a memory
    # holds adds its BM25 weight, so rare words weigh more and term_statistics can report
    # each word's share exactly. Plain ts_rank_cd weighs "the" like "kestrel": 0.57
    # recall@10 on LoCoMo against SQLite's 0.73; this gets 0.73 (bench_quality.py
    # --postgres). The weights count among all the tenant's memories, as FTS5 counts every
    # row of its file, from the counts the triggers keep (no scan of the matches for them).
    # One statement: the weights, the candidates ranked, and only when the bound does not
    # prove them the answer (see RARE_MATCHES), every match ranked: the result is exactly
    # what ranking every match gives.
    rows = await _fetch(
        conn,
        f"WITH t AS ({_TERMS}), total AS MATERIALIZED (SELECT {_TENANT_SIZE} AS n), "
        "w AS MATERIALIZED (SELECT t.i, t.q, d.c AS df, "
        # base.bm25_idf in SQL: FTS5's weight, floored for words in half the rows or more.
        "greatest(ln(greatest(total.n - d.c + 0.5, 0.5) / (d.c + 0.5)), 1e-6) AS idf "
        f"FROM t, total, LATERAL (SELECT {_TERM_COUNT} AS c) AS d WHERE numnode(t.q) > 0), "
        # Each word's weight by position, stop words 0: a candidate's score is a fixed sum.
        "wa AS MATERIALIZED (SELECT array_agg(t.q ORDER BY t.i) AS q, "
        "array_agg(coalesce(w.idf, 0)::float8 ORDER BY t.i) AS idf FROM t LEFT JOIN w USING (i)), "
        # A small tenant (or one with no memories, a global store beside a big project) is
        # read through its own rows whatever its words: the GIN index holds every tenant's.
        "s AS MATERIALIZED (SELECT total.n <= %s AS small FROM total), "
        # Rarest first: a word is rare while the words up to it hold at most RARE_MATCHES
        # memories together (the rarest always is); in a small tenant every word is.
        "o AS MATERIALIZED (SELECT u.*, s.small OR u.upto <= %s OR u.upto = u.df AS rare "
        "FROM (SELECT w.*, sum(w.df) OVER (ORDER BY w.df, w.i) AS upto FROM w) AS u, s), "
        # The candidates: memories holding a rare word, or two of the others (GIN intersects
        # those words' postings in the index). A memory left out holds one common word, so
        # it scores at most the largest of their weights: `bound`.
        "plan AS MATERIALIZED (SELECT s.small, (SELECT memorymesh_tsquery_or(x.q) FROM ("
        "SELECT o.q FROM o WHERE o.rare UNION ALL SELECT a.q && b.q FROM o AS a "
        "JOIN o AS b ON a.i < b.i WHERE NOT a.rare AND NOT b.rare) AS x) AS rare, "
        "(SELECT coalesce(max(o.idf), 0) FROM o WHERE NOT o.rare) AS bound, "
        "(SELECT memorymesh_tsquery_or(w.q) FROM w) AS every FROM s), "
        # The candidates the filters allow: through the GIN index, or
        # (a small tenant) its rows by the tenant's index (the column wrapped so the GIN
        # index is not used). Each branch runs only when its one-time filter holds.
        "cand AS MATERIALIZED (SELECT m.seq, m.search FROM memories AS m "
        f"WHERE m.search @@ (SELECT rare FROM plan) AND {clause} "
        "AND NOT (SELECT small FROM plan) "
        "UNION ALL SELECT m.seq, m.search FROM memories AS m "
        f"WHERE (m.search || ''::tsvector) @@ (SELECT rare FROM plan) AND {clause} "
        "AND (SELECT small FROM plan)), "
        f"scored AS MATERIALIZED (SELECT cand.seq, {score('cand')} AS r "
        "FROM cand, wa ORDER BY r DESC, cand.seq LIMIT %s), "
        "sure AS (SELECT (SELECT bound FROM plan) = 0 OR (count(*) >= %s "
        "AND min(scored.r) > (SELECT bound FROM plan)) AS ok FROM scored), "
        # Run only when `sure` is false (a one-time filter: the scan never starts otherwise).
        "wide AS (SELECT m.seq, m.search FROM memories AS m "
        f"WHERE m.search @@ (SELECT every FROM plan) AND {clause} "
        "AND NOT (SELECT ok FROM sure)), "
        "best AS (SELECT scored.seq, scored.r FROM scored WHERE (SELECT ok FROM sure) "
        f"UNION ALL (SELECT wide.seq, {score('wide')} AS r "
        "FROM wide, wa ORDER BY r DESC, wide.seq LIMIT %s)) "
        f"SELECT {_M_COLUMNS}, best.r FROM best JOIN memories AS m ON m.seq = best.seq "
        "ORDER BY best.r DESC, m.seq",
        [
            TS_CONFIG,
            TS_CONFIG,
            terms,
            tenant,
            tenant,
            tenant,
            RARE_MATCHES,
            RARE_MATCHES,
            *params,
            *params,
            limit,
            limit,
            *params,
            limit,
        ],
    )
    return [(store._overlay(_memory(r)), float(r[19])) for r in rows]


async def _vector_search(
    store: PostgresStore,
    conn: Conn,
    query: bytes,
    model: str,
    filters: Filters,
    limit: int,
    now: float,
    hnsw: bool,
) -> list[tuple[Memory, float]]:
    dim = len(query) // 4  # spliced as an int (the index's cast and predicate must match)
    clause, params = where(filters, now, store.tenant)
    # The HNSW index is on the column cast to this dimension; the exact scan names the
    # column itself, so the planner cannot use the index for it.
    column = f"(m.embedding::vector({dim}))" if hnsw else "m.embedding"
    probe = f"%s::vector({dim})" if hnsw else "%s"
    ef_search = max(HNSW_EF_SEARCH, limit)
    if hnsw and _EF_SEARCH_SET.get(conn) != ef_search:
        # relaxed_order (set per connection): the index may return rows slightly out of
        # order, so the best `limit` are sorted again after the join.
        await conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", [str(ef_search)])
        _EF_SEARCH_SET[conn] = ef_search
    rows = await _fetch(
        conn,
        f"WITH hits AS MATERIALIZED (SELECT m.seq, {column} <=> {probe} AS d "
        f"FROM memories AS m WHERE {clause} AND m.embedding_model = %s "
        f"AND vector_dims(m.embedding) = {dim} ORDER BY {column} <=> {probe} LIMIT %s) "
        f"SELECT {_M_COLUMNS}, 1 - hits.d FROM hits JOIN memories AS m ON m.seq = hits.seq "
        "ORDER BY hits.d, m.seq",
        [Vector(query), *params, model, Vector(query), limit],
    )
    return [(store._overlay(_memory(r)), float(r[19])) for r in rows]


async def _nearest_many(
    store: PostgresStore,
    conn: Conn,
    queries: Sequence[bytes],
    model: str,
    k: int,
    min_score: float,
    now: float,
    hnsw: bool,
) -> list[list[tuple[str, float]]]:
    """Each query's ``k`` nearest current memories of the tenant, in one statement: the
    batch's vectors are unnested and each is searched by a LATERAL ``ORDER BY <=> LIMIT k``
    (through the HNSW index when ``hnsw``), then cut near ``min_score``. The cut is outside
    the LATERAL: inside it, an index scan would keep searching for rows it can never find.

    The similarities are then computed here from the stored vectors, as the in-memory index
    computes them (a float32 dot product of unit vectors): pgvector's cosine divides by the
    norms in double precision, which moves a cosine of exactly 0.5 (a text sharing half its
    words) by a few units in the last place, to either side of the threshold.
    """
    import numpy as np

    found: list[list[tuple[str, float]]] = [[] for _ in queries]
    if not queries:
        return found
    dim = len(queries[0]) // 4  # spliced as an int, as in _vector_search
    column = f"(m.embedding::vector({dim}))" if hnsw else "m.embedding"
    probe = f"q.v::vector({dim})" if hnsw else "q.v"
    if hnsw:
        _EF_SEARCH_SET.pop(conn, None)  # in a transaction: the setting may be rolled back
        await conn.execute(
            "SELECT set_config('hnsw.ef_search', %s, false)",
            [str(max(NEIGHBOUR_EF_SEARCH, k))],
        )
    rows = await _fetch(
        conn,
        "SELECT q.i, h.id, h.embedding FROM unnest(%b::vector[]) WITH ORDINALITY AS q(v, i) "
        f"CROSS JOIN LATERAL (SELECT m.id, m.embedding, {column} <=> {probe} AS d "
        "FROM memories AS m WHERE m.tenant = %s AND m.embedding_model = %s "
        f"AND vector_dims(m.embedding) = {dim} AND m.superseded_by IS NULL "
        "AND (m.pinned = 1 OR m.expires_at IS NULL OR m.expires_at > %s) "
        f"ORDER BY {column} <=> {probe} LIMIT %s) AS h "
        "WHERE h.d <= %s ORDER BY q.i, h.d",
        [[Vector(q) for q in queries], store.tenant, model, now, k, 1.0 - min_score + _SLACK],
    )
    if not rows:
        return found
    matrix = np.frombuffer(b"".join(q for q in queries), dtype="<f4").reshape(-1, dim)
    stored = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(-1, dim)
    cosines = np.einsum("ij,ij->i", matrix[[int(r[0]) - 1 for r in rows]], stored)
    for (i, memory_id, _), cosine in zip(rows, cosines.tolist(), strict=True):
        if cosine >= min_score:
            found[int(i) - 1].append((str(memory_id), cosine))
    for hits in found:
        hits.sort(key=lambda hit: hit[1], reverse=True)
    return found


async def _vectors_of(
    store: PostgresStore, conn: Conn, ids: Sequence[str], model: str
) -> dict[str, bytes]:
    if not ids:
        return {}
    rows = await _fetch(
        conn,
        "SELECT id, embedding FROM memories WHERE tenant = %s AND id = ANY(%s) "
        "AND embedding_model = %s AND embedding IS NOT NULL",
        [store.tenant, list(ids), model],
    )
    return {str(r[0]): r[1] for r in rows}


class PostgresTransaction:
    """An open transaction holding the tenant's write lock; see :meth:`PostgresStore.write`."""

    def __init__(self, store: PostgresStore, conn: Conn) -> None:
        self._store = store
        self._conn = conn
        self._tenant = store.tenant
        self.now = time.time()

    async def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with translated(self._store.label):
            return await _fetch(self._conn, query, params)

    def conflict_tokens(self) -> PostgresTokenPostings:
        """The tenant's conflict tokens, read and written in this transaction."""

        async def run(fn: Callable[[Conn], Awaitable[Any]]) -> Any:
            with translated(self._store.label):
                return await fn(self._conn)

        return PostgresTokenPostings(run, _fetch, self._tenant)

    async def _executemany(self, query: str, params: Sequence[Sequence[Any]]) -> None:
        with translated(self._store.label):
            async with self._conn.cursor() as cur:
                await cur.executemany(query.encode(), params)

    async def insert_many(self, rows: Sequence[MemoryRow]) -> None:
        if not rows:
            return
        self._store._count_written(rows)
        # One binary COPY for the batch: one statement, so the change-feed trigger runs once
        # for it (migration 0008), and each value goes out in its binary form straight from
        # the row (vectors in pgvector's format, ``_driver.Vector``) instead of text arrays
        # parsed back by the server. About 15% more rows a second than one ``INSERT ...
        # SELECT FROM unnest(arrays)``, and a quarter of the client's CPU for them
        # (docs/benchmarks.md, "PostgreSQL, session 8").
        tenant = self._tenant
        with translated(self._store.label):
            async with self._conn.cursor() as cur, cur.copy(_COPY_MEMORIES) as copy:
                copy.set_types(_COPY_TYPES)
                for r in rows:
                    await copy.write_row(
                        (
                            tenant, r.id, r.text, r.content_hash, r.category, r.importance,
                            r.scope, int(r.pinned), r.metadata, r.session_id, r.source, r.agent,
                            r.redactions, r.created_at, r.updated_at, r.event_time,
                            r.expires_at, _vector(r.embedding), r.embedding_model, r.status,
                        )
                    )  # fmt: skip

    async def update(self, memory_id: str, fields: dict[str, Any]) -> bool:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if not fields:
            return True
        values = [
            _vector(v) if name == "embedding" else int(v) if name == "pinned" else v
            for name, v in fields.items()
        ]
        assignments = ", ".join(f"{name} = %s" for name in fields)
        rows = await self._fetch(
            f"UPDATE memories SET {assignments} WHERE tenant = %s AND id = %s RETURNING id",
            [*values, self._tenant, memory_id],
        )
        return bool(rows)

    async def delete_many(self, ids: Sequence[str]) -> list[str]:
        if not ids:
            return []
        rows = await self._fetch(
            "DELETE FROM memories WHERE tenant = %s AND id = ANY(%s) RETURNING id",
            [self._tenant, list(ids)],
        )
        return [str(r[0]) for r in rows]

    async def earlier_versions(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The copies ``update`` kept of these memories' earlier texts (the write log's
        ``earlier_version``): versions of the same memory, so forgetting it forgets them."""
        if not ids:
            return {}
        rows = await self._fetch(
            "SELECT memory_id, detail FROM write_log WHERE tenant = %s "
            "AND memory_id = ANY(%s) AND action = 'updated'",
            [self._tenant, list(ids)],
        )
        found: dict[str, list[str]] = {}
        for memory_id, detail in rows:
            version = json.loads(detail).get("earlier_version")
            if isinstance(version, str):
                found.setdefault(str(memory_id), []).append(version)
        return found

    async def add_accesses(self, counts: dict[str, tuple[int, float]]) -> None:
        if not counts:
            return
        # One statement for every recalled memory (recall flushes its counts every few dozen
        # calls, hundreds of rows at once), not one UPDATE per memory.
        ids = sorted(counts)
        await self._fetch(
            "UPDATE memories AS m SET access_count = m.access_count + u.n, "
            "last_accessed_at = greatest(coalesce(m.last_accessed_at, 0), u.at) "
            "FROM unnest(%s::text[], %s::int8[], %s::float8[]) AS u (id, n, at) "
            "WHERE m.tenant = %s AND m.id = u.id",
            [ids, [counts[i][0] for i in ids], [counts[i][1] for i in ids], self._tenant],
        )

    async def log(self, entries: Iterable[LogEntry]) -> None:
        await self.import_log([(self.now, entry) for entry in entries])

    async def import_log(self, entries: Sequence[tuple[float, LogEntry]]) -> None:
        """Append write-log entries with their own times (``stores.base.LogImport``)."""
        if not entries:
            return
        # One statement (unnest), as insert_many: the log grows by a batch's size per write.
        await self._fetch(
            "INSERT INTO write_log (tenant, at, action, memory_id, source, detail) "
            "SELECT %s, * FROM unnest(%s::float8[], %s::text[], %s::text[], %s::text[], "
            "%s::text[])",
            [
                self._tenant,
                [at for at, _ in entries],
                [entry[0] for _, entry in entries],
                [entry[1] for _, entry in entries],
                [entry[2] for _, entry in entries],
                [json.dumps(entry[3], default=str) for _, entry in entries],
            ],
        )

    async def set_meta(self, key: str, value: str) -> None:
        await self._fetch(
            "INSERT INTO store_meta (tenant, key, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value",
            [self._tenant, key, value],
        )
        if key == "embedder_dim" and value.isdigit() and 0 < int(value) <= HNSW_MAX_DIM:
            await self._ensure_hnsw(int(value))

    async def _ensure_hnsw(self, dim: int) -> None:
        """Create the HNSW index for ``dim``-dimensional vectors if no tenant has yet.

        Under the migration lock, so two tenants recording one dimension create it once.
        The build is instant on an empty table; on one already holding many vectors of this
        dimension it takes as long as ``CREATE INDEX`` does (once per database), and blocks
        other writers meanwhile; past the lock or statement timeout it is given up.
        """
        found = await self._fetch("SELECT to_regclass(%s)", [hnsw_index_name(dim)])
        if found[0][0] is not None:
            return
        try:
            # A savepoint: on a busy server the build may wait past the lock timeout, or
            # run past the statement timeout on a large table. Then only the index is
            # given up (vector search stays exact until a later store creates it), never
            # the write that recorded the embedder.
            async with self._conn.transaction():
                await _fetch(
                    self._conn,
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    [MIGRATION_LOCK],
                )
                await _fetch(self._conn, hnsw_index(dim))
        except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled):
            return

    async def add_pairs(self, pairs: Sequence[PairRow]) -> None:
        if pairs:
            await self._executemany(
                "INSERT INTO conflict_pairs (tenant, new_id, old_id, kind, similarity, policy, "
                "reason, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (tenant, new_id, old_id) DO NOTHING",
                [(self._tenant, *_pair_values(p)) for p in pairs],
            )

    async def resolve_pairs(self, keys: Sequence[tuple[str, str]]) -> int:
        total = 0
        for new_id, old_id in keys:
            rows = await self._fetch(
                "DELETE FROM conflict_pairs WHERE tenant = %s AND new_id = %s AND old_id = %s "
                "RETURNING 1",
                [self._tenant, new_id, old_id],
            )
            total += len(rows)
        return total

    async def import_pairs(self, pairs: Sequence[PairRow]) -> int:
        """Queue pairs from another store or an export (``stores.base.SideImport``)."""
        if not pairs:
            return 0
        rows = await self._fetch(
            "INSERT INTO conflict_pairs (tenant, new_id, old_id, kind, similarity, policy, "
            "reason, created_at) SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], "
            "%s::float8[], %s::text[], %s::text[], %s::float8[]) "
            "ON CONFLICT (tenant, new_id, old_id) DO NOTHING RETURNING 1",
            [self._tenant, *_columns([_pair_values(p) for p in pairs], 7)],
        )
        return len(rows)

    async def import_verdicts(self, items: Sequence[tuple[str, str, float]]) -> int:
        """Cache verdicts with their own times (``stores.base.SideImport``)."""
        if not items:
            return 0
        rows = await self._fetch(
            "INSERT INTO judge_verdicts (tenant, key, verdict, created_at) "
            "SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::float8[]) "
            "ON CONFLICT (tenant, key) DO NOTHING RETURNING 1",
            [self._tenant, *_columns(items, 3)],
        )
        return len(rows)

    async def import_sessions(self, sessions: Sequence[SessionRecord]) -> int:
        """Record sessions as they were started (``stores.base.SideImport``); ``seq`` keeps
        their order, which breaks ties between equal start times."""
        if not sessions:
            return 0
        rows = await self._fetch(
            "INSERT INTO sessions (tenant, id, started_at, client, continues) "
            "SELECT %s, s.id, s.started_at, s.client, s.continues "
            "FROM unnest(%s::text[], %s::float8[], %s::text[], %s::text[]) "
            "WITH ORDINALITY AS s (id, started_at, client, continues, n) ORDER BY s.n "
            "ON CONFLICT (tenant, id) DO NOTHING RETURNING 1",
            [
                self._tenant,
                [s.id for s in sessions],
                [s.started_at.timestamp() for s in sessions],
                [s.client for s in sessions],
                [s.continues for s in sessions],
            ],
        )
        return len(rows)

    async def cache_verdicts(self, items: Sequence[tuple[str, str]]) -> None:
        if items:
            await self._executemany(
                "INSERT INTO judge_verdicts (tenant, key, verdict, created_at) "
                "VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (tenant, key) DO UPDATE SET verdict = excluded.verdict",
                [(self._tenant, key, verdict, self.now) for key, verdict in items],
            )

    async def add_session(self, session: SessionRecord) -> None:
        await self._fetch(
            "INSERT INTO sessions (tenant, id, started_at, client, continues) "
            "VALUES (%s, %s, %s, %s, %s)",
            [
                self._tenant,
                session.id,
                session.started_at.timestamp(),
                session.client,
                session.continues,
            ],
        )

    async def active_ids_by_hash(
        self, hashes: Sequence[str], *, any_status: bool = False
    ) -> dict[str, str]:
        with translated(self._store.label):
            return await _ids_by_hash(self._store, self._conn, hashes, any_status)

    async def set_status(
        self, ids: Sequence[str], status: str, *, only_from: Sequence[str]
    ) -> list[str]:
        if not ids:
            return []
        rows = await self._fetch(
            "UPDATE memories SET status = %s, updated_at = %s WHERE tenant = %s "
            "AND id = ANY(%s) AND status = ANY(%s) RETURNING id",
            [status, self.now, self._tenant, list(ids), list(only_from)],
        )
        return [str(r[0]) for r in rows]

    async def supersede(self, pairs: Sequence[tuple[str, str]]) -> int:
        if not pairs:
            return 0
        await self._executemany(
            "UPDATE memories SET superseded_by = %s, superseded_at = %s "
            "WHERE tenant = %s AND id = %s AND superseded_by IS NULL",
            [(new, self.now, self._tenant, old) for old, new in pairs],
        )
        return len(pairs)

    async def supersede_across(self, pairs: Sequence[tuple[str, str]]) -> int:
        if not pairs:
            return 0
        await self._executemany(
            "UPDATE memories SET superseded_by = id, superseded_across = %s, superseded_at = %s "
            "WHERE tenant = %s AND id = %s AND superseded_by IS NULL",
            [(new, self.now, self._tenant, old) for old, new in pairs],
        )
        return len(pairs)

    async def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        rows = await self._fetch(
            "SELECT id, status FROM memories WHERE tenant = %s AND id = ANY(%s)",
            [self._tenant, list(ids)],
        )
        return {str(r[0]): str(r[1]) for r in rows}

    async def get_many(self, ids: Sequence[str]) -> list[Memory]:
        with translated(self._store.label):
            return await _get_many(self._store, self._conn, ids)

    async def nearest_many(
        self, queries: Sequence[bytes], model: str, *, k: int, min_score: float, now: float
    ) -> list[list[tuple[str, float]]]:
        """A batch's nearest neighbours, seen from inside this transaction
        (:class:`~memorymesh.stores.base.NeighbourSearch`)."""
        hnsw = await self._store._neighbours_by_index(queries, model)
        with translated(self._store.label):
            return await _nearest_many(
                self._store, self._conn, queries, model, k, min_score, now, hnsw
            )

    async def vectors_of(self, ids: Sequence[str], model: str) -> dict[str, bytes]:
        with translated(self._store.label):
            return await _vectors_of(self._store, self._conn, ids, model)

    async def change_mark(self) -> int:
        with translated(self._store.label):
            return await _change_mark(self._store, self._conn)

    async def changes_since(self, mark: int) -> Changes:
        with translated(self._store.label):
            return await _changes_since(self._store, self._conn, mark)

    async def changed_memories(self, ids: Sequence[str]) -> list[ChangedMemory]:
        with translated(self._store.label):
            return await _changed_memories(self._store, self._conn, ids)

    async def prune_changes(self, mark: int) -> None:
        await self._fetch(
            "DELETE FROM memory_changes WHERE tenant = %s AND seq <= %s",
            [self._tenant, mark - CHANGES_KEPT],
        )

    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = await self._fetch(
            "SELECT id FROM memories WHERE tenant = %s AND id = ANY(%s)",
            [self._tenant, list(ids)],
        )
        return {str(r[0]) for r in rows}

    async def import_rows(self, rows: Sequence[dict[str, Any]], on_clash: str) -> ImportCounts:
        """Insert exported rows with every field kept; ``on_clash``: skip, replace or newer.
        History links may point forward in the batch: the foreign key is checked at commit."""
        if on_clash not in ("skip", "replace", "newer"):
            raise ValueError(f"unknown on_clash {on_clash!r}")
        if not rows:
            return ImportCounts(0, 0, 0)
        columns = [*EXPORT_COLUMNS, "content_hash"]
        names = ", ".join(["tenant", *columns])
        clash = " ON CONFLICT (tenant, id) DO "
        if on_clash == "skip":
            clash += "NOTHING"
        else:
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
            clash += f"UPDATE SET {updates}"
            if on_clash == "newer":
                clash += " WHERE excluded.updated_at > old.updated_at"
        clash += " RETURNING id"

        def value(row: dict[str, Any], column: str) -> Any:
            return _bound(row[column], _COLUMN_TYPES.get(column, "text"))

        before = await self.existing_ids([r["id"] for r in rows])
        changed = 0
        if len({r["id"] for r in rows}) == len(rows):
            # One statement for the batch (as insert_many): the change-feed trigger runs once.
            found = await self._fetch(
                _unnest_insert(columns) + clash,
                [self._tenant, *_unnest_arrays(rows, columns)],
            )
            changed = len(found)
        else:
            # An id twice in one batch: a row at a time, so the later one meets the earlier
            # (one statement may not update a row twice).
            marks = ", ".join(["%s"] * (len(columns) + 1))
            statement = f"INSERT INTO memories AS old ({names}) VALUES ({marks})" + clash
            with translated(self._store.label):
                async with self._conn.cursor() as cur:
                    await cur.executemany(
                        statement.encode(),
                        [[self._tenant, *(value(r, c) for c in columns)] for r in rows],
                        returning=True,
                    )
                    while True:
                        changed += len(await cur.fetchall())
                        if not cur.nextset():
                            break
        fresh = sum(1 for r in rows if r["id"] not in before)
        replaced = changed - fresh
        return ImportCounts(imported=fresh, replaced=replaced, skipped=len(rows) - fresh - replaced)

    async def set_embeddings(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        if items:
            await self._executemany(
                "UPDATE memories SET embedding = %s, embedding_model = %s "
                "WHERE tenant = %s AND id = %s",
                [(Vector(blob), model, self._tenant, mid) for mid, blob, model in items],
            )

    async def search_text(
        self, query: str, filters: Filters, *, limit: int, now: float
    ) -> list[tuple[Memory, float]]:
        with translated(self._store.label):
            return await _search_text(self._store, self._conn, query, filters, limit, now)


class PostgresStore:
    """One tenant's memories of one scope in a PostgreSQL database (see the module docstring)."""

    def __init__(
        self,
        location: PostgresLocation,
        *,
        scope: Scope,
        tenant: str,
        busy_timeout: float = 5.0,
        encryption_key: str | bytes | None = None,
    ) -> None:
        self.scope = scope
        self.location = location
        #: The key every row of this store carries: ``project:<key>`` or ``user:<name>``.
        self.tenant = tenant
        self.label = f"{location.label} ({tenant})"
        self._busy_timeout = busy_timeout
        self._key = encryption_key
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._closed = False
        # Writers in this process queue here first (the advisory lock queues the others).
        self._write_lock = anyio.Lock()
        #: Vector search is exact below this many vectors of the query's embedder in the
        #: tenant, by the HNSW index from there on (see :data:`EXACT_BELOW`).
        self.exact_below = EXACT_BELOW
        # (model, dim) -> (when counted, vectors in the tenant, whether the HNSW index exists)
        self._vector_sizes: dict[tuple[str, int], tuple[float, int, bool]] = {}
        # LISTEN/NOTIFY: tells a catch-up that nobody wrote since `_quiet_mark` without a
        # query (``_notify.py``); None until open, or when it could not connect.
        self._listener: ChangeListener | None = None
        self._quiet_mark: int | None = None
        # Recalls counted but not yet written: applied by the next write transaction (or
        # flush_access) and overlaid on every read meanwhile. `_inflight` holds the ones a
        # running write is applying, so a read during that write still counts them.
        self._pending: dict[str, tuple[int, float]] = {}
        self._inflight: dict[str, tuple[int, float]] = {}

    # -- lifetime -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, apply pending migrations (once, under an advisory lock) and start the pool."""
        if self._closed:
            raise ClosedError(f"store {self.label} is closed")
        if self._pool is not None:
            return
        if self._key is not None:
            # Never a silent downgrade: a key asked for encryption this engine does not do.
            raise EncryptionError(
                f"{self.label}: the PostgreSQL engine does not encrypt memories itself; open it "
                "without encryption_key and encrypt the server's storage and connections "
                "instead (see docs/teams.md, 'Encryption')"
            )
        with translated(self.label):
            await self._migrate()
            pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
                self.location.conninfo,
                min_size=1,
                max_size=_POOL_MAX,
                open=False,
                timeout=max(self._busy_timeout, 5.0),
                kwargs={"autocommit": True},
                configure=self._configure,
                # No check on checkout (a round trip on every call, and a recall makes one
                # per store): a connection the server dropped is found by its first
                # statement and replaced (``_run``, ``_begin``).
                name=self.label,
            )
            try:
                await pool.open(wait=True, timeout=max(self._busy_timeout, 10.0))
                await self._check_schema(pool)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await pool.close()
                raise
        self._pool = pool
        self._listener = ChangeListener(self.location.conninfo, self.location.schema, self.tenant)
        await self._listener.start()

    async def _check_schema(self, pool: AsyncConnectionPool[Conn]) -> None:
        # One query on a pooled connection: the schema this process migrated may since have
        # been upgraded by a newer MemoryMesh (refuse) or dropped and recreated (migrate again).
        async with pool.connection() as conn:
            try:
                rows = await _fetch(conn, "SELECT name FROM schema_migrations")
            except psycopg.errors.UndefinedTable:
                rows = []
        if {str(r[0]) for r in rows} != {m.name for m in MIGRATIONS}:
            _MIGRATED.discard((self.location.conninfo, self.location.schema))
            await self._migrate()

    async def _configure(self, conn: Conn) -> None:
        # lock_timeout: any lock wait (the tenant's write lock first) is bounded by
        # busy_timeout, as SQLite's busy timeout bounds waiting for its write lock.
        await conn.execute(
            "SELECT set_config('search_path', %s, false), "
            "set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false), "
            # pgvector 0.8's iterative index scan: when filters reject the first candidates
            # HNSW finds, it keeps searching instead of returning fewer than asked for.
            "set_config('hnsw.iterative_scan', 'relaxed_order', false)",
            [
                f'"{self.location.schema}", public',
                f"{int(STATEMENT_TIMEOUT * 1000)}ms",
                f"{max(1, int(self._busy_timeout * 1000))}ms",
            ],
        )
        await register_vector(conn)

    async def _migrate(self) -> None:
        # Checked once per process and schema: this process's migrations do not change while
        # it runs, and every later store opened on the schema is a tenant of the same tables.
        checked = (self.location.conninfo, self.location.schema)
        if checked in _MIGRATED:
            return
        conn = await psycopg.AsyncConnection.connect(self.location.conninfo, autocommit=True)
        try:
            await migrate(conn, self.location.schema, self.label)
        finally:
            with anyio.CancelScope(shield=True):
                await conn.close()
        _MIGRATED.add(checked)

    async def close(self) -> None:
        """Flush nothing, close the pool. Safe to call more than once."""
        self._closed = True
        listener, self._listener = self._listener, None
        if listener is not None:
            with anyio.CancelScope(shield=True), translated(self.label):
                await listener.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            with anyio.CancelScope(shield=True), translated(self.label):
                await pool.close()

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    @property
    def encrypted(self) -> bool:
        return False

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if getattr(self, "_pool", None) is not None:
            _warn(f"MemoryMesh store {self.label} was not closed", ResourceWarning, stacklevel=1)

    def _connected(self) -> AsyncConnectionPool[Conn]:
        if self._pool is None:
            raise ClosedError(f"store {self.label} is {'closed' if self._closed else 'not open'}")
        return self._pool

    async def _run(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Run a read on a pooled connection (autocommit: one statement, one snapshot).

        The pool hands connections out unchecked (a check is a round trip on every call). A
        read the server cut off (a connection dropped while pooled, a restart, a failover)
        changed nothing, so it runs once more on a fresh connection; a second failure is a
        :class:`~memorymesh.StoreError`.
        """
        pool = self._connected()
        conn: Conn | None = None
        with translated(self.label):
            try:
                async with pool.connection() as conn:
                    return await fn(conn)
            except psycopg.OperationalError:
                if conn is None or not _dead(conn):
                    raise  # a timeout or a lock wait: the connection is fine, the error real
            await pool.check()  # the other pooled connections the server dropped go too
            async with pool.connection() as conn:
                return await fn(conn)

    async def _begin(self, pool: AsyncConnectionPool[Conn], stack: AsyncExitStack) -> Conn:
        """A pooled connection in a transaction holding this tenant's write lock.

        A connection the server dropped while it sat in the pool fails at ``BEGIN``, before
        anything of the write was sent: then the write starts over, once, on a fresh one.
        A connection lost later (waiting for the lock, or inside the caller's block) is a
        :class:`~memorymesh.StoreError`: the caller decides whether to run its write again.
        """
        for attempt in (1, 2):
            inner = AsyncExitStack()
            conn = await inner.enter_async_context(pool.connection())
            try:
                await inner.enter_async_context(conn.transaction())
            except psycopg.OperationalError as exc:
                with contextlib.suppress(psycopg.Error):
                    await inner.__aexit__(type(exc), exc, exc.__traceback__)
                if attempt == 2 or not _dead(conn):
                    raise
                await pool.check()
                continue
            stack.push_async_exit(inner)
            # lock_timeout (set per connection to busy_timeout) bounds the wait.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"memorymesh:{self.location.schema}:{self.tenant}"],
            )
            return conn
        raise AssertionError("unreachable")  # the loop returns or raises

    # -- transactions ---------------------------------------------------------------------------

    @asynccontextmanager
    async def write(self) -> AsyncIterator[PostgresTransaction]:
        """One transaction holding this tenant's advisory lock for the block.

        Everything written inside commits together or not at all. Waiting longer than
        ``busy_timeout`` for another writer raises :class:`~memorymesh.DatabaseLockedError`.
        """
        async with self._write_lock:
            pool = self._connected()
            pending, self._pending = self._pending, {}
            self._inflight = pending
            committed = False
            try:
                with translated(self.label):
                    async with AsyncExitStack() as stack:
                        conn = await self._begin(pool, stack)
                        tx = PostgresTransaction(self, conn)
                        yield tx
                        await tx.add_accesses(pending)
                committed = True
            finally:
                self._inflight = {}
                if not committed:
                    for memory_id, (n, at) in pending.items():
                        old_n, old_at = self._pending.get(memory_id, (0, 0.0))
                        self._pending[memory_id] = (old_n + n, max(old_at, at))

    # -- access statistics ----------------------------------------------------------------------

    def record_access(self, memory_id: str, at: float) -> None:
        count = self._pending.get(memory_id, (0, 0.0))[0]
        self._pending[memory_id] = (count + 1, at)

    @property
    def has_pending_access(self) -> bool:
        return bool(self._pending)

    async def flush_access(self) -> None:
        if self._pending and self._pool is not None:
            async with self.write():
                pass

    def _overlay(self, memory: Memory) -> Memory:
        pending = self._pending.get(memory.id)
        inflight = self._inflight.get(memory.id)
        if pending is None and inflight is None:
            return memory
        n = (pending or (0, 0.0))[0] + (inflight or (0, 0.0))[0]
        at = max((pending or (0, 0.0))[1], (inflight or (0, 0.0))[1])
        return memory.model_copy(
            update={
                "access_count": memory.access_count + n,
                "last_accessed_at": datetime.fromtimestamp(at, tz=UTC),
            }
        )

    # -- reads ----------------------------------------------------------------------------------

    async def ids_by_hash(
        self, hashes: Sequence[str], *, any_status: bool = False
    ) -> dict[str, str]:
        return await self._run(lambda conn: _ids_by_hash(self, conn, hashes, any_status))

    async def get_many(self, ids: Sequence[str]) -> list[Memory]:
        return await self._run(lambda conn: _get_many(self, conn, ids))

    async def search_text(
        self, query: str, filters: Filters, *, limit: int, now: float
    ) -> list[tuple[Memory, float]]:
        """Matches for the words of ``query`` (OR-ed), best first, ranked by the summed inverse
        document frequency of the words each holds (see ``_search_text``)."""
        return await self._run(lambda conn: _search_text(self, conn, query, filters, limit, now))

    async def vector_search(
        self,
        query: bytes,
        model: str,
        filters: Filters,
        *,
        limit: int,
        now: float,
        exact: bool | None = None,
    ) -> list[tuple[Memory, float]]:
        """The memories most similar to ``query`` by cosine, searched by pgvector in the
        database (:class:`~memorymesh.stores.base.VectorSearch`), with every filter and the
        tenant applied in the same query.

        Exact (every vector of the tenant that the filters allow is scored) for an id list,
        a tenant with fewer than :attr:`exact_below` vectors of ``model``, or one holding
        less than :data:`HNSW_MIN_SHARE` of the dimension's index; otherwise the HNSW index,
        with pgvector's iterative scan so filters do not starve the top-k. Should the index
        still return fewer than ``limit`` (a filter allowing a sliver of a large tenant), the
        search is repeated exactly. ``exact`` forces either path (benchmarks).
        """
        dim = len(query) // 4
        if exact is None:
            exact = filters.ids is not None or dim > HNSW_MAX_DIM
            if not exact:
                size, indexed = await self._vector_size(model, dim)
                exact = size < self.exact_below or not indexed
        hits = await self._run(
            lambda conn: _vector_search(
                self, conn, query, model, filters, limit, now, hnsw=not exact
            )
        )
        if not exact and len(hits) < limit:
            hits = await self._run(
                lambda conn: _vector_search(
                    self, conn, query, model, filters, limit, now, hnsw=False
                )
            )
        return hits

    async def nearest_many(
        self, queries: Sequence[bytes], model: str, *, k: int, min_score: float, now: float
    ) -> list[list[tuple[str, float]]]:
        """A batch's nearest neighbours among the tenant's current memories, in one
        statement (:class:`~memorymesh.stores.base.NeighbourSearch`): exact or by the HNSW
        index on the same terms as :meth:`vector_search`."""
        hnsw = await self._neighbours_by_index(queries, model)
        return await self._run(
            lambda conn: _nearest_many(self, conn, queries, model, k, min_score, now, hnsw)
        )

    async def vectors_of(self, ids: Sequence[str], model: str) -> dict[str, bytes]:
        return await self._run(lambda conn: _vectors_of(self, conn, ids, model))

    async def _neighbours_by_index(self, queries: Sequence[bytes], model: str) -> bool:
        if not queries:
            return False
        dim = len(queries[0]) // 4
        if dim > HNSW_MAX_DIM:
            return False
        size, indexed = await self._vector_size(model, dim)
        # An exact scan per query of a batch costs the batch's size times the tenant's: past
        # a few hundred vectors the index is cheaper (and finds the same few neighbours).
        return size >= min(self.exact_below, NEIGHBOUR_EXACT_BELOW) and indexed

    def _count_written(self, rows: Sequence[MemoryRow]) -> None:
        """Keep the cached vector counts (see :meth:`_vector_size`) in step with this
        process's own inserts, so a store filling up switches to the index without waiting
        for the count to expire."""
        for row in rows:
            if row.embedding is None or row.embedding_model is None:
                continue
            key = (row.embedding_model, len(row.embedding) // 4)
            cached = self._vector_sizes.get(key)
            if cached is not None:
                self._vector_sizes[key] = (cached[0], cached[1] + 1, cached[2])

    async def _vector_size(self, model: str, dim: int) -> tuple[int, bool]:
        """How many vectors of ``model`` the tenant holds, and whether the HNSW index for
        their dimension exists and serves it (the tenant holds at least
        :data:`HNSW_MIN_SHARE` of it), counted at most every ``_SIZE_TTL`` seconds."""
        cached = self._vector_sizes.get((model, dim))
        if cached is not None and time.monotonic() - cached[0] < _SIZE_TTL:
            return cached[1], cached[2]
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                # reltuples: the planner's estimate of the index's rows (cheap; -1 or 0 before
                # the first ANALYZE, then taken as "this tenant's share is large enough").
                "SELECT (SELECT count(*) FROM memories WHERE tenant = %s "
                "AND embedding_model = %s), "
                "(SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s))",
                [self.tenant, model, hnsw_index_name(dim)],
            )
        )
        size, index_rows = int(rows[0][0]), rows[0][1]
        indexed = index_rows is not None and (
            index_rows <= 0 or size >= HNSW_MIN_SHARE * float(index_rows)
        )
        self._vector_sizes[(model, dim)] = (time.monotonic(), size, indexed)
        return size, indexed

    async def term_statistics(
        self, terms: Sequence[str], ids: Sequence[str]
    ) -> tuple[int, dict[str, int], dict[str, dict[str, float]]]:
        """Rows, each term's document count, and each term's share of the candidates' scores.

        :meth:`search_text` scores a memory by the summed BM25 weights of the query words it
        holds, so a term's share is its weight in this store for every candidate holding it;
        :func:`memorymesh.search._scoring.shared_bm25` then swaps that weight for the one over
        both stores, as it does for SQLite's bm25.
        """
        # One statement: the counts the triggers keep (as search_text weighs words) and,
        # per term, which of the candidates hold it.
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                f"WITH t AS ({_TERMS}) "
                f"SELECT {_TENANT_SIZE}, t.i, {_TERM_COUNT}, ARRAY(SELECT m.id FROM memories "
                "AS m WHERE m.tenant = %s AND m.id = ANY(%s) AND m.search @@ t.q) "
                "FROM (SELECT 1) AS one LEFT JOIN t ON true ORDER BY t.i",
                [
                    TS_CONFIG,
                    TS_CONFIG,
                    list(terms),
                    self.tenant,
                    self.tenant,
                    self.tenant,
                    self.tenant,
                    list(ids),
                ],
            )
        )
        total = int(rows[0][0])
        counts: dict[str, int] = {}
        shares: dict[str, dict[str, float]] = {}
        for _, i, found, holders in rows if terms else ():
            term = terms[int(i) - 1]
            counts[term] = int(found)
            weight = bm25_idf(total, counts[term])
            shares[term] = {str(mid): weight for mid in holders}
        return total, counts, shares

    async def count_text(self, query: str, filters: Filters, *, now: float) -> int:
        built = tsquery(query)
        if built is None:
            return 0
        expression, terms = built
        clause, params = where(filters, now, self.tenant)
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                f"SELECT count(*) FROM memories AS m WHERE m.search @@ {expression} AND {clause}",
                [*terms, *params],
            )
        )
        return int(rows[0][0])

    async def select(
        self, filters: Filters, *, order: ListOrder, limit: int, offset: int, now: float
    ) -> list[Memory]:
        clause, params = where(filters, now, self.tenant)
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                f"SELECT {_M_COLUMNS} FROM memories AS m WHERE {clause} "
                f"ORDER BY {ORDERS[order]} LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
        )
        return [self._overlay(_memory(r)) for r in rows]

    async def count(self, filters: Filters, *, now: float) -> int:
        clause, params = where(filters, now, self.tenant)
        rows = await self._run(
            lambda conn: _fetch(conn, f"SELECT count(*) FROM memories AS m WHERE {clause}", params)
        )
        return int(rows[0][0])

    async def counts(self, *, now: float) -> StoreCounts:
        async def query(conn: Conn) -> StoreCounts:
            rows = await _fetch(
                conn,
                "SELECT scope, category, pinned, count(*) FROM memories WHERE tenant = %s "
                "AND superseded_by IS NULL AND status = 'active' "
                "AND (expires_at IS NULL OR expires_at > %s OR pinned = 1) "
                "GROUP BY scope, category, pinned",
                [self.tenant, now],
            )
            by_scope: dict[str, int] = {}
            by_category: dict[str, int] = {}
            pinned = 0
            for scope, category, is_pinned, n in rows:
                by_scope[scope] = by_scope.get(scope, 0) + n
                by_category[category] = by_category.get(category, 0) + n
                pinned += n if is_pinned else 0
            totals = await _fetch(
                conn,
                "SELECT count(*) FILTER (WHERE superseded_by IS NOT NULL), "
                "count(*) FILTER (WHERE superseded_by IS NULL AND pinned = 0 "
                "AND status = 'active' AND expires_at IS NOT NULL AND expires_at <= %s) "
                "FROM memories WHERE tenant = %s",
                [now, self.tenant],
            )
            superseded, expired = totals[0]
            return StoreCounts(by_scope, by_category, pinned, int(superseded), int(expired))

        return await self._run(query)

    async def metadata_values(self, key: str, filters: Filters, *, now: float) -> list[Any]:
        """The distinct string and number values of metadata ``key`` (bound, never spliced)."""
        clause, params = where(filters, now, self.tenant)
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT DISTINCT (m.meta -> %s) FROM memories AS m "
                f"WHERE {clause} AND jsonb_typeof(m.meta -> %s) IN ('string', 'number')",
                [key, *params, key],
            )
        )
        values = [r[0] for r in rows]
        # SQLite's order: numbers before text, each ascending.
        return sorted(values, key=lambda v: (isinstance(v, str), v))

    async def resolve_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT id FROM memories WHERE tenant = %s AND id LIKE %s ESCAPE '\\' "
                "ORDER BY id LIMIT %s",
                [self.tenant, escaped + "%", limit],
            )
        )
        return [str(r[0]) for r in rows]

    async def dump_page(
        self, *, after_seq: int, limit: int, include_embeddings: bool
    ) -> list[tuple[int, dict[str, Any]]]:
        columns = [c for c in EXPORT_COLUMNS if include_embeddings or not c.startswith("embed")]
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                f"SELECT seq, {', '.join(columns)} FROM memories WHERE tenant = %s AND seq > %s "
                "ORDER BY seq LIMIT %s",
                [self.tenant, after_seq, limit],
            )
        )
        return [(int(r[0]), dict(zip(columns, r[1:], strict=True))) for r in rows]

    async def compaction_rows(self) -> list[CompactionRow]:
        """Every active, current memory with what compaction weighs; its terms are the
        keyword index's own lexemes (stemmed as search stems them)."""
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT id, category, pinned, importance, access_count, updated_at, expires_at, "
                "tsvector_to_array(search) FROM memories WHERE tenant = %s "
                "AND status = 'active' AND superseded_by IS NULL "
                # Keyed items (a LangGraph store's) live and expire under their adapter.
                f"AND NOT meta ? '{UNIQUE_METADATA_KEYS[0]}' ORDER BY seq",
                [self.tenant],
            )
        )
        return [
            CompactionRow(
                id=r[0],
                category=r[1],
                pinned=bool(r[2]),
                importance=float(r[3]),
                access_count=int(r[4]),
                updated_at=float(r[5]),
                expires_at=None if r[6] is None else float(r[6]),
                terms=frozenset(r[7] or ()),
            )
            for r in rows
        ]

    async def embedding_models(self) -> dict[str | None, int]:
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT embedding_model, count(*) FROM memories WHERE tenant = %s "
                "GROUP BY embedding_model",
                [self.tenant],
            )
        )
        return {r[0]: int(r[1]) for r in rows}

    async def vector_rows(
        self, model: str, *, after_seq: int = 0, limit: int = 20_000
    ) -> list[VectorRow]:
        """A page of the memories embedded by ``model``, for the in-memory vector index.

        A mesh no longer asks this engine for them: recall searches vectors in the
        database (:meth:`vector_search`), and so do the write path's duplicate and
        contradiction checks (:meth:`nearest_many`). Kept for the ``Store`` protocol.
        """
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT seq, id, category, importance, pinned, created_at, expires_at, "
                "session_id, (superseded_by IS NOT NULL)::int, embedding FROM memories "
                "WHERE tenant = %s AND embedding_model = %s AND seq > %s ORDER BY seq LIMIT %s",
                [self.tenant, model, after_seq, limit],
            )
        )
        return [
            (
                int(r[0]),
                r[1],
                r[2],
                float(r[3]),
                int(r[4]),
                float(r[5]),
                r[6],
                r[7],
                int(r[8]),
                r[9],
            )
            for r in rows
        ]

    async def change_mark(self) -> int:
        return await self._run(lambda conn: _change_mark(self, conn))

    async def changes_since(self, mark: int) -> Changes:
        """The memories changed after ``mark``. When the listener has heard of no write to
        this tenant since the feed was last read at ``mark``, nothing is asked of the server
        (``_notify.py`` says when that is trusted; write transactions always read the feed)."""
        listener = self._listener
        if listener is not None and mark == self._quiet_mark and await listener.quiet():
            return Changes(mark, [], everything=False)
        changes = await self._run(lambda conn: _changes_since(self, conn, mark))
        self._quiet_mark = changes.mark if listener is not None and listener.listening else None
        return changes

    @property
    def changes_heard(self) -> int | None:
        """How many writes to this tenant the listener has heard of, to pass to
        :meth:`wait_for_change` as ``after``; None while it is not listening (poll then)."""
        listener = self._listener
        return listener.heard if listener is not None and listener.listening else None

    async def wait_for_change(self, within: float, *, after: int | None = None) -> bool:
        """Wait up to ``within`` seconds for another worker's (or this one's) write to this
        tenant to be notified; True if one was. For a process that shows memories live (a
        dashboard): it can re-read at once instead of polling. ``after``: a
        :attr:`changes_heard` taken before reading, so a write notified meanwhile is not
        missed; by default, a write not yet seen by a read of the feed counts. Any number of
        callers may wait at once; a recall's catch-up is never held up by them. False without
        a listener (and when its connection fails while waiting)."""
        listener = self._listener
        if listener is None:
            return False
        with translated(self.label):
            return await listener.wait(within, after=after)

    async def changed_memories(self, ids: Sequence[str]) -> list[ChangedMemory]:
        return await self._run(lambda conn: _changed_memories(self, conn, ids))

    async def current_texts(
        self, *, after_seq: int = 0, limit: int = 20_000
    ) -> list[tuple[int, str, str]]:
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT seq, id, text FROM memories WHERE tenant = %s AND superseded_by IS NULL "
                "AND status = 'active' AND seq > %s ORDER BY seq LIMIT %s",
                [self.tenant, after_seq, limit],
            )
        )
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def texts_to_embed(
        self, model: str, *, after_seq: int = 0, limit: int = 256
    ) -> list[tuple[int, str, str]]:
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT seq, id, text FROM memories WHERE tenant = %s "
                "AND embedding_model IS DISTINCT FROM %s AND seq > %s ORDER BY seq LIMIT %s",
                [self.tenant, model, after_seq, limit],
            )
        )
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def metadata_of(
        self, key: str, filters: Filters, *, now: float
    ) -> list[tuple[str, str | None, float]] | None:
        """``(id, metadata[key] as JSON text, updated_at)`` of every memory the filters
        allow, most recently updated first (None where the value is not an object or
        array); the key is a bound parameter."""
        clause, params = where(filters, now, self.tenant)
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT m.id, CASE WHEN jsonb_typeof(m.meta -> %s) IN ('object', 'array') "
                "THEN (m.meta -> %s)::text END, m.updated_at "
                f"FROM memories AS m WHERE {clause} ORDER BY {ORDERS['updated']}",
                [key, key, *params],
            )
        )
        return [(str(r[0]), r[1], float(r[2])) for r in rows]

    async def ids_matching(self, filters: Filters, *, now: float) -> frozenset[str]:
        clause, params = where(filters, now, self.tenant)
        rows = await self._run(
            lambda conn: _fetch(conn, f"SELECT m.id FROM memories AS m WHERE {clause}", params)
        )
        return frozenset(str(r[0]) for r in rows)

    async def session_neighbours(
        self, ids: Sequence[str], filters: Filters, *, now: float
    ) -> list[tuple[str, Memory]]:
        """For each memory in ``ids`` with a session, the memories just before and after it
        in that session that the filters allow, as ``(anchor_id, memory)``."""
        if not ids:
            return []
        clause, params = where(filters, now, self.tenant)
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                f"SELECT a.id, {_M_COLUMNS} FROM memories AS a JOIN memories AS m "
                "ON m.tenant = a.tenant AND m.session_id = a.session_id AND m.seq IN ("
                "  (SELECT max(p.seq) FROM memories AS p WHERE p.tenant = a.tenant"
                "   AND p.session_id = a.session_id AND p.seq < a.seq),"
                "  (SELECT min(n.seq) FROM memories AS n WHERE n.tenant = a.tenant"
                "   AND n.session_id = a.session_id AND n.seq > a.seq)) "
                f"WHERE a.tenant = %s AND a.id = ANY(%s) AND a.session_id IS NOT NULL "
                f"AND {clause}",
                [self.tenant, list(ids), *params],
            )
        )
        return [(str(r[0]), self._overlay(_memory(r[1:]))) for r in rows]

    async def history(self, memory_id: str) -> list[Memory]:
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                # One recursive term (PostgreSQL allows no more) that follows links both ways.
                "WITH RECURSIVE chain(id) AS ("
                "  SELECT %s::text UNION"
                "  SELECT step.id FROM memories AS m"
                "  JOIN chain ON m.superseded_by = chain.id OR m.id = chain.id"
                "  CROSS JOIN LATERAL (VALUES"
                "    (CASE WHEN m.superseded_by = chain.id THEN m.id END),"
                "    (CASE WHEN m.id = chain.id THEN m.superseded_by END)) AS step(id)"
                "  WHERE m.tenant = %s AND step.id IS NOT NULL"
                ") "
                f"SELECT {_M_COLUMNS} FROM memories AS m JOIN chain ON m.id = chain.id "
                "WHERE m.tenant = %s "
                "ORDER BY m.superseded_by IS NULL, coalesce(m.superseded_at, m.updated_at), m.seq",
                [memory_id, self.tenant, self.tenant],
            )
        )
        return [self._overlay(_memory(r)) for r in rows]

    async def predecessors_across(self, ids: Sequence[str]) -> list[Memory]:
        if not ids:
            return []
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                f"SELECT {_M_COLUMNS} FROM memories AS m WHERE m.tenant = %s "
                "AND m.superseded_across IS NOT NULL AND m.superseded_across = ANY(%s)",
                [self.tenant, list(dict.fromkeys(ids))],
            )
        )
        return [self._overlay(_memory(r)) for r in rows]

    async def pending_pairs(self, *, limit: int) -> list[PairRow]:
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT new_id, old_id, kind, similarity, policy, reason, created_at "
                "FROM conflict_pairs WHERE tenant = %s "
                "ORDER BY created_at, new_id, old_id LIMIT %s",
                [self.tenant, limit],
            )
        )
        return [PairRow(r[0], r[1], r[2], float(r[3]), r[4], r[5], float(r[6])) for r in rows]

    async def cached_verdicts(self, keys: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT key, verdict FROM judge_verdicts WHERE tenant = %s AND key = ANY(%s)",
                [self.tenant, wanted],
            )
        )
        return {str(r[0]): str(r[1]) for r in rows}

    async def all_verdicts(self) -> list[tuple[str, str, float]]:
        """Every cached verdict of the tenant (``stores.base.SideRecords``)."""
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT key, verdict, created_at FROM judge_verdicts WHERE tenant = %s "
                "ORDER BY created_at, key",
                [self.tenant],
            )
        )
        return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]

    async def all_sessions(self) -> list[SessionRecord]:
        """Every session of the tenant, in the order they started
        (``stores.base.SideRecords``)."""
        return await self._sessions("ORDER BY started_at, seq", [])

    def conflict_tokens(self) -> PostgresTokenPostings:
        """The tenant's conflict tokens, for reads."""
        return PostgresTokenPostings(self._run, _fetch, self.tenant)

    async def get_meta(self, key: str) -> str | None:
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT value FROM store_meta WHERE tenant = %s AND key = %s",
                [self.tenant, key],
            )
        )
        return str(rows[0][0]) if rows else None

    async def get_session(self, session_id: str) -> SessionRecord | None:
        """The session recorded as ``session_id``, or None."""
        found = await self._sessions("AND id = %s", [session_id])
        return found[0] if found else None

    async def latest_session(self, *, client: str | None = None) -> SessionRecord | None:
        """The session started last (by ``client`` only, when given), or None."""
        where, params = ("AND client = %s", [client]) if client is not None else ("", [])
        tail = f"{where} ORDER BY started_at DESC, seq DESC LIMIT 1"
        found = await self._sessions(tail, params)
        return found[0] if found else None

    async def _sessions(self, tail: str, params: list[Any]) -> list[SessionRecord]:
        sql = f"SELECT id, started_at, client, continues FROM sessions WHERE tenant = %s {tail}"
        rows = await self._run(lambda conn: _fetch(conn, sql, [self.tenant, *params]))
        return [
            SessionRecord(
                id=r[0],
                started_at=datetime.fromtimestamp(r[1], tz=UTC),
                client=r[2],
                continues=r[3],
            )
            for r in rows
        ]

    async def recent_log(
        self, limit: int, *, memory_id: str | None = None
    ) -> list[tuple[float, LogEntry]]:
        extra = "AND memory_id = %s " if memory_id is not None else ""
        params: list[Any] = [self.tenant, *([memory_id] if memory_id is not None else [])]
        rows = await self._run(
            lambda conn: _fetch(
                conn,
                "SELECT at, action, memory_id, source, detail FROM write_log WHERE tenant = %s "
                f"{extra}ORDER BY seq DESC LIMIT %s",
                [*params, limit],
            )
        )
        return [(float(r[0]), (r[1], r[2], r[3], json.loads(r[4]))) for r in rows]

    async def health(self) -> list[str]:
        """``["ok"]`` when the server answers and the schema is complete, else what is wrong."""
        rows = await self._run(
            lambda conn: _fetch(conn, "SELECT name FROM schema_migrations ORDER BY name")
        )
        missing = [m.name for m in MIGRATIONS if m.name not in {r[0] for r in rows}]
        return ["ok"] if not missing else [f"migrations not applied: {', '.join(missing)}"]

    async def migrations(self) -> list[str]:
        rows = await self._run(
            lambda conn: _fetch(conn, "SELECT name FROM schema_migrations ORDER BY name")
        )
        return [str(r[0]) for r in rows]


async def migrate(conn: Conn, schema: str, label: str) -> list[str]:
    """Bring ``schema`` up to date; return the migrations this call applied.

    Fast path: when every migration is recorded, no lock is taken. Otherwise one transaction
    takes the database-wide migration lock, re-reads what is applied (another worker may have
    done it meanwhile) and applies the rest, so concurrent workers migrate exactly once.
    """
    schema_id = pgsql.Identifier(schema)
    known = [m.name for m in MIGRATIONS]

    async def applied() -> set[str]:
        table = await _fetch(conn, "SELECT to_regclass(%s)", [f"{schema}.schema_migrations"])
        if table[0][0] is None:
            return set()
        rows = await conn.execute(
            pgsql.SQL("SELECT name FROM {}.schema_migrations").format(schema_id)
        )
        return {str(r[0]) for r in await rows.fetchall()}

    done = await applied()
    newer = sorted(done - set(known))
    if newer:
        raise SchemaVersionError(
            f"{label} was written by a newer MemoryMesh (it has migrations {', '.join(newer)}); "
            f"upgrade with `{install_command()}`"
        )
    if set(known) <= done:
        return []
    ran: list[str] = []
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [MIGRATION_LOCK]
        )
        has_vector = await _fetch(conn, "SELECT 1 FROM pg_extension WHERE extname = 'vector'")
        if not has_vector:
            try:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
            except psycopg.errors.InsufficientPrivilege as exc:
                raise StoreError(
                    f"{label}: the pgvector extension is not installed and this role may not "
                    "install it; ask the database owner to run CREATE EXTENSION vector"
                ) from exc
        await conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema_id))
        await conn.execute(
            pgsql.SQL("SELECT set_config('search_path', {}, true)").format(
                pgsql.Literal(f'"{schema}", public')
            )
        )
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        done = {str(r[0]) for r in await _fetch(conn, "SELECT name FROM schema_migrations")}
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            for statement in migration.statements:
                await conn.execute(statement.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                [migration.name, time.time()],
            )
            ran.append(migration.name)
    return ran
