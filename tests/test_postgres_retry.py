"""A write that loses a real deadlock on the real server is run again, whole, and succeeds.

Another session (a worker of some other program, or an administrator's script) locks a
memory's row and then asks for the tenant's write lock, while a MemoryMesh write holds that
lock and waits for the row: a lock cycle. PostgreSQL's deadlock detector aborts the
MemoryMesh transaction (SQLSTATE 40P01; its session's ``deadlock_timeout`` expires first),
the other session goes on and commits, and the write path runs the whole transaction again
(``writes/_retry.py``). Nothing is written twice; after the last attempt the error is the
typed :class:`~memorymesh.DatabaseLockedError`. Every test runs on the session's real
PostgreSQL (``_postgres.py``); nothing is simulated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import _postgres
import anyio
import psycopg
import pytest

from memorymesh import AsyncMemoryMesh, DatabaseLockedError, NewMemory
from memorymesh.stores.postgres._store import PostgresStore
from memorymesh.writes import _retry

pytestmark = pytest.mark.anyio


async def _deadlock_with(
    mesh: AsyncMemoryMesh, row_id: str, write: Callable[[], Awaitable[Any]]
) -> tuple[Any, BaseException | None, bool]:
    """Run ``write`` while another session builds a lock cycle with it over ``row_id``.

    Returns the write's result (or the error it raised) and whether the other session got
    the tenant's write lock while the write was still running: only possible once the
    server had aborted the write's transaction, which held that lock.
    """
    store = mesh.stores[0]
    assert isinstance(store, PostgresStore)
    conninfo = store.location.conninfo
    key = f"memorymesh:{store.location.schema}:{store.tenant}"
    outcome: list[Any] = [None, None]
    done = anyio.Event()

    async def run_write() -> None:
        try:
            outcome[0] = await write()
        except DatabaseLockedError as exc:
            outcome[1] = exc
        finally:
            done.set()

    other = await psycopg.AsyncConnection.connect(conninfo)
    watch = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    try:
        # This session waits long before checking for a deadlock: the write's session
        # (the server default, 1 s) finds the cycle and is the one aborted.
        await other.execute("SET deadlock_timeout = '60s'")
        await other.execute(
            f'SELECT id FROM "{store.location.schema}".memories WHERE id = %s FOR UPDATE',
            [row_id],
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_write)
            # Until the write holds the tenant's lock and waits for the row (each check is
            # a round trip to the server; no sleeping).
            for _ in range(100_000):
                cur = await watch.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted "
                    "AND locktype IN ('transactionid', 'tuple')"
                )
                row = await cur.fetchone()
                if row is not None and row[0] > 0:
                    break
            else:
                raise AssertionError("the write never waited for the locked row")
            # Close the cycle: this blocks until the server aborts the write's transaction.
            await other.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
            overtook = not done.is_set()
            await other.commit()
    finally:
        await other.close()
        await watch.close()
    return outcome[0], outcome[1], overtook


async def _rows(store: PostgresStore) -> list[tuple[str, str | None]]:
    async def query(conn: Any) -> list[tuple[str, str | None]]:
        cur = await conn.execute(
            "SELECT text, superseded_by FROM memories WHERE tenant = %s ORDER BY seq",
            [store.tenant],
        )
        return [(str(r[0]), r[1]) for r in await cur.fetchall()]

    return await store._run(query)


async def _log(store: PostgresStore) -> list[str]:
    async def query(conn: Any) -> list[str]:
        cur = await conn.execute(
            "SELECT action FROM write_log WHERE tenant = %s ORDER BY seq", [store.tenant]
        )
        return [str(r[0]) for r in await cur.fetchall()]

    return await store._run(query)


@pytest.fixture
def url() -> str:
    return _postgres.server_url(_postgres.fresh_name("r"))


async def test_an_update_that_loses_a_deadlock_is_retried_once_and_whole(url: str) -> None:
    async with AsyncMemoryMesh(url, project="acme/api", user="ann") as mesh:
        memory = await mesh.remember("The staging deploy runs on Fridays", scope="project")
        store = mesh.stores[0]
        assert isinstance(store, PostgresStore)
        result, error, overtook = await _deadlock_with(
            mesh, memory.id, lambda: mesh.update(memory.id, text="The deploy runs on Mondays")
        )
        assert error is None and overtook  # aborted by the server, then run again
        assert result.text == "The deploy runs on Mondays"
        # One earlier version and one update logged: the aborted attempt left nothing.
        assert sorted(await _rows(store)) == [
            ("The deploy runs on Mondays", None),
            ("The staging deploy runs on Fridays", memory.id),
        ]
        assert (await _log(store)).count("updated") == 1


async def test_a_batch_that_loses_a_deadlock_is_retried_whole(url: str) -> None:
    async with AsyncMemoryMesh(url, project="acme/api", user="bo") as mesh:
        old = await mesh.remember("The team editor is Vim", scope="project")
        store = mesh.stores[0]
        assert isinstance(store, PostgresStore)
        batch = [
            NewMemory(text="The team editor is Emacs", scope="project"),
            NewMemory(text="Invoices go out on the first of the month", scope="project"),
        ]
        # Superseding the old memory updates its row: the row the other session holds.
        written, error, overtook = await _deadlock_with(
            mesh, old.id, lambda: mesh.remember_many(batch)
        )
        assert error is None and overtook
        assert [m.text for m in written] == [item.text for item in batch]
        rows = await _rows(store)
        assert sorted(text for text, _ in rows) == sorted(
            ["The team editor is Vim", "The team editor is Emacs", *[batch[1].text]]
        )
        assert dict(rows)["The team editor is Vim"] == written[0].id
        assert (await _log(store)).count("stored") == 3


async def test_the_last_attempt_raises_database_locked_and_writes_nothing(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_retry, "WRITE_ATTEMPTS", 1)
    async with AsyncMemoryMesh(url, project="acme/api", user="cy") as mesh:
        memory = await mesh.remember("The staging deploy runs on Fridays", scope="project")
        store = mesh.stores[0]
        assert isinstance(store, PostgresStore)
        _, error, overtook = await _deadlock_with(
            mesh, memory.id, lambda: mesh.update(memory.id, text="The deploy runs on Mondays")
        )
        # (Whether this session got the lock before the error reached the test is a race
        # here: nothing waits for the lock after the aborted attempt.)
        del overtook
        assert isinstance(error, DatabaseLockedError)
        assert "deadlock detected" in str(error) and "gave up after 1 attempt" in str(error)
        assert await _rows(store) == [("The staging deploy runs on Fridays", None)]
        assert "updated" not in await _log(store)
        # And the next write goes through.
        assert (await mesh.update(memory.id, text="Deploys run on Mondays")).text == (
            "Deploys run on Mondays"
        )
