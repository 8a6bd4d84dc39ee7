"""Batches on PostgreSQL: the change feed per statement (migration 0008), one statement a batch.

The change-feed triggers number every inserted or deleted memory per tenant without gaps and
send one NOTIFY per tenant; since 0008 an INSERT or DELETE does that once per statement (one
counter update, however many rows), and the engine writes a batch as one statement. Every
test runs on the session's real PostgreSQL (``_postgres.py``), in a schema of its own.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import _postgres
import psycopg
import pytest

from memorymesh import AsyncMemoryMesh, NewMemory
from memorymesh.stores.base import MemoryRow
from memorymesh.stores.postgres._store import PostgresStore

pytestmark = pytest.mark.anyio

_COUNTER_WRITES = (
    "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_xact_user_tables "
    "WHERE schemaname = %s AND relname = 'change_counters'"
)


async def _counter_writes(conn: psycopg.AsyncConnection[Any], schema: str) -> int:
    # This session's row writes to the counters not yet flushed to the shared statistics
    # (earlier transactions' may still be in it): read before and after, use the difference.
    cur = await conn.execute(_COUNTER_WRITES, [schema])
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def schema() -> str:
    return _postgres.fresh_name("b")


def _store(mesh: AsyncMemoryMesh) -> PostgresStore:
    store = mesh.stores[0]
    assert isinstance(store, PostgresStore)
    return store


def _row(text: str) -> MemoryRow:
    now = time.time()
    return MemoryRow(
        id=uuid.uuid4().hex,
        text=text,
        content_hash=uuid.uuid4().hex,
        category="context",
        importance=0.5,
        scope="project",
        pinned=False,
        metadata='{"n": 1}',
        session_id=None,
        source="api",
        agent=None,
        redactions="[]",
        created_at=now,
        updated_at=now,
        event_time=None,
        expires_at=None,
    )


async def _admin(schema: str) -> psycopg.AsyncConnection[Any]:
    conn = await psycopg.AsyncConnection.connect(_postgres.server_url(), autocommit=True)
    await conn.execute(f'SET search_path TO "{schema}", public')
    return conn


async def _feed(conn: psycopg.AsyncConnection[Any], tenant: str) -> list[tuple[int, str]]:
    cur = await conn.execute(
        "SELECT seq, memory_id FROM memory_changes WHERE tenant = %s ORDER BY seq", [tenant]
    )
    return [(int(seq), str(mid)) for seq, mid in await cur.fetchall()]


async def test_a_statement_numbers_its_rows_gaplessly_with_one_counter_update(
    schema: str,
) -> None:
    url = _postgres.server_url(schema)
    async with AsyncMemoryMesh(url, project="acme/api", user="a") as mesh:
        await mesh.remember("the first note", scope="project")
    conn = await _admin(schema)
    try:
        a, b = "project:acme/api", "project:acme/web"
        async with conn.transaction():
            before = await _counter_writes(conn, schema)
            # One INSERT of 30 rows for two tenants (20 + 10): each tenant's counter moves
            # once, by its own rows.
            cur = await conn.execute(
                "INSERT INTO memories (tenant, id, text, content_hash, category, importance, "
                "scope, created_at, updated_at) "
                "SELECT CASE WHEN i <= 20 THEN %s ELSE %s END, 'm' || i, 'note ' || i, "
                "'h' || i, 'context', 0.5, 'project', 1, 1 FROM generate_series(1, 30) AS i "
                "RETURNING tenant, id, seq",
                [a, b],
            )
            inserted = await cur.fetchall()
            assert await _counter_writes(conn, schema) - before == 2
        feed_a = await _feed(conn, a)
        # Seq 1 is the first note; then the statement's rows in insertion (seq) order.
        in_order = [str(mid) for tenant, mid, _ in sorted(inserted, key=lambda r: r[2])]
        assert feed_a[1:] == list(enumerate([m for m in in_order if int(m[1:]) <= 20], 2))
        assert await _feed(conn, b) == list(enumerate([m for m in in_order if int(m[1:]) > 20], 1))
        async with conn.transaction():
            before = await _counter_writes(conn, schema)
            await conn.execute(
                "DELETE FROM memories WHERE tenant = %s AND id = ANY(%s)",
                [a, ["m3", "m1", "m2"]],
            )
            assert await _counter_writes(conn, schema) - before == 1
        tail = (await _feed(conn, a))[-3:]
        assert [seq for seq, _ in tail] == [22, 23, 24]
        assert sorted(mid for _, mid in tail) == ["m1", "m2", "m3"]
        cur = await conn.execute(
            "SELECT tenant, last_seq FROM change_counters WHERE tenant = ANY(%s) ORDER BY 1",
            [[a, b]],
        )
        assert await cur.fetchall() == [(a, 24), (b, 10)]
    finally:
        await conn.close()


async def test_a_statement_sends_one_notification_per_tenant(schema: str) -> None:
    url = _postgres.server_url(schema)
    async with AsyncMemoryMesh(url, project="acme/api", user="a") as mesh:
        await mesh.remember("the first note", scope="project")
    listener = await _admin(schema)
    writer = await _admin(schema)
    try:
        await listener.execute("LISTEN memorymesh_changes")
        await writer.execute(
            "INSERT INTO memories (tenant, id, text, content_hash, category, importance, "
            "scope, created_at, updated_at) "
            "SELECT %s, 'n' || i, 'note', 'h' || i, 'context', 0.5, 'project', 1, 1 "
            "FROM generate_series(1, 5) AS i",
            ["project:acme/api"],
        )
        # A statement that touches nothing notifies nothing; the marker below arrives after
        # whatever the insert sent, so the list is complete when it does.
        await writer.execute("DELETE FROM memories WHERE tenant = 'project:nobody'")
        await writer.execute("NOTIFY memorymesh_changes, 'end'")
        payloads = []
        async for note in listener.notifies(timeout=30):
            if note.payload == "end":
                break
            payloads.append(note.payload)
        assert payloads == [f"{schema} project:acme/api"]
    finally:
        await listener.close()
        await writer.close()


async def test_remember_many_writes_its_batch_in_one_statement(schema: str) -> None:
    url = _postgres.server_url(schema)
    async with AsyncMemoryMesh(url, project="acme/api", user="a") as mesh:
        await mesh.remember("the first note", scope="project")
        store = _store(mesh)
        mark = await store.change_mark()
        rows = [_row(f"batch note {i} about kestrels") for i in range(40)]
        async with store.write() as tx:
            before = await tx._fetch(_COUNTER_WRITES, [schema])
            await tx.insert_many(rows)
            after = await tx._fetch(_COUNTER_WRITES, [schema])
        assert after[0][0] - before[0][0] == 1
        changes = await store.changes_since(mark)
        assert changes.mark == mark + 40
        assert sorted(changes.ids) == sorted(r.id for r in rows)
        got = {m.id: m for m in await store.get_many([r.id for r in rows])}
        assert [got[r.id].text for r in rows] == [r.text for r in rows]
        assert got[rows[0].id].metadata == {"n": 1}
        # And through the whole write path, with its write log.
        written = await mesh.remember_many(
            [NewMemory(text=f"deploy {i} goes out on day {i}", scope="project") for i in range(25)]
        )
        assert len(written) == 25
        log = await mesh.log(limit=25)
        assert {e.memory_id for e in log} == {m.id for m in written}


async def test_an_import_batch_is_one_statement_and_counts_what_it_did(schema: str) -> None:
    source_url = _postgres.server_url(schema, project="acme/api", owner="a")
    target_url = _postgres.server_url(schema, project="acme/web", owner="b")
    async with (
        AsyncMemoryMesh(source_url) as source,
        AsyncMemoryMesh(target_url) as target,
    ):
        await source.remember_many(
            [NewMemory(text=f"release {i} ships on day {i}", scope="project") for i in range(12)]
        )
        exported = [
            row
            for _, row in await _store(source).dump_page(
                after_seq=0, limit=100, include_embeddings=True
            )
        ]
        for row in exported:
            row["content_hash"] = uuid.uuid4().hex
        store = _store(target)
        async with store.write() as tx:
            before = await tx._fetch(_COUNTER_WRITES, [schema])
            counts = await tx.import_rows(exported, "skip")
            after = await tx._fetch(_COUNTER_WRITES, [schema])
        assert after[0][0] - before[0][0] == 1
        assert (counts.imported, counts.replaced, counts.skipped) == (12, 0, 0)
        newer = [{**row, "text": row["text"] + " (edited)", "updated_at": row["updated_at"] + 1}
                 for row in exported[:5]]  # fmt: skip
        async with store.write() as tx:
            again = await tx.import_rows(exported, "skip")
            updated = await tx.import_rows(newer, "newer")
        assert (again.imported, again.replaced, again.skipped) == (0, 0, 12)
        assert (updated.imported, updated.replaced, updated.skipped) == (0, 5, 0)
        texts = {m.text for m in await target.list(scope="project", limit=100)}
        assert len(texts) == 12 and sum(t.endswith("(edited)") for t in texts) == 5
