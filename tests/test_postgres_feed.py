"""The PostgreSQL change feed by LISTEN/NOTIFY, with polling as the fallback.

Two meshes on one database stand for two workers. Every test runs on the session's real
PostgreSQL (``_postgres.py``), in a schema of its own.
"""

from __future__ import annotations

import _postgres
import anyio
import psycopg
import pytest

from memorymesh import AsyncMemoryMesh, DatabaseLockedError
from memorymesh.stores.postgres._store import PostgresStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def url() -> str:
    return _postgres.server_url(_postgres.fresh_name("f"))


def _store(mesh: AsyncMemoryMesh) -> PostgresStore:
    store = mesh.stores[0]
    assert isinstance(store, PostgresStore)
    return store


async def _quiet_mark(store: PostgresStore) -> int:
    # The first reads of the feed establish what the listener vouches for afterwards.
    mark = await store.change_mark()
    assert (await store.changes_since(mark)).mark == mark
    assert (await store.changes_since(mark)).ids == []
    return mark


def _worker(url: str, name: str) -> AsyncMemoryMesh:
    """One worker of the project ``acme/api``, as user ``name``."""
    return AsyncMemoryMesh(url, project="acme/api", user=name)


async def test_another_workers_write_is_notified_as_it_commits(url: str) -> None:
    async with (
        _worker(url, "a") as a,
        _worker(url, "b") as b,
        AsyncMemoryMesh(url, project="acme/web", user="c") as other_project,
    ):
        await a.remember("the first note", scope="project")
        watcher = _store(b)
        mark = await _quiet_mark(watcher)
        await other_project.remember("a note for another project", scope="project")
        written = await a.remember("deploys go out on tuesdays", scope="project")
        # No polling: the listener is woken by the NOTIFY the write's commit sent.
        assert await watcher.wait_for_change(within=30)
        changes = await watcher.changes_since(mark)
        assert changes.ids == [written.id] and changes.mark == mark + 1


async def test_waiters_and_catch_ups_share_the_listener_without_holding_each_other_up(
    url: str,
) -> None:
    # One dashboard tab per waiter, and a recall's catch-up meanwhile: the listener's
    # connection is read by its own task, so none of them waits for another.
    async with (
        _worker(url, "a") as a,
        _worker(url, "b") as b,
        AsyncMemoryMesh(url, project="acme/web", user="c") as other_project,
    ):
        await a.remember("the first note", scope="project")
        watcher = _store(b)
        mark = await _quiet_mark(watcher)
        heard = watcher.changes_heard
        assert heard is not None
        woken: list[bool] = []

        async def wait(after: int | None) -> None:
            woken.append(await watcher.wait_for_change(within=3600, after=after))

        with anyio.fail_after(60):  # a guard against hanging, not a timing
            async with anyio.create_task_group() as tg:
                for after in (None, None, heard):
                    tg.start_soon(wait, after)
                await anyio.wait_all_tasks_blocked()
                # Another project's write notifies the same channel: catch-ups still answer.
                await other_project.remember("a note for another project", scope="project")
                assert (await watcher.changes_since(mark)).ids == []
                written = await a.remember("deploys go out on tuesdays", scope="project")
        assert woken == [True, True, True]
        assert watcher.changes_heard == heard + 1
        assert (await watcher.changes_since(mark)).ids == [written.id]


async def test_a_quiet_listener_answers_without_asking_the_server(url: str) -> None:
    async with AsyncMemoryMesh(url, project="acme/api", user="d", busy_timeout=0.5) as mesh:
        await mesh.remember("the first note", scope="project")
        store = _store(mesh)
        mark = await _quiet_mark(store)
        schema = url.rsplit("schema=", 1)[1]
        async with (
            await psycopg.AsyncConnection.connect(_postgres.server_url(), autocommit=True) as admin,
            admin.transaction(),
        ):
            # Any read of the feed now waits for this lock and fails after busy_timeout.
            await admin.execute(f'LOCK TABLE "{schema}".memory_changes IN ACCESS EXCLUSIVE MODE')
            for _ in range(20):
                assert (await store.changes_since(mark)).ids == []
            # A write transaction always reads the feed itself (conflict checks stay exact).
            with pytest.raises(DatabaseLockedError):
                async with store.write() as tx:
                    await tx.changes_since(mark)


async def test_without_its_listener_a_worker_falls_back_to_polling(url: str) -> None:
    async with _worker(url, "e") as writer, _worker(url, "f") as reader:
        await writer.remember("the first note", scope="project")
        store = _store(reader)
        mark = await _quiet_mark(store)
        listener = store._listener
        assert listener is not None and listener._conn is not None
        async with await psycopg.AsyncConnection.connect(
            _postgres.server_url(), autocommit=True
        ) as admin:
            # The listener's connection dies (a restart, a failover, an idle-connection
            # reaper); waiting up to 10 s for the backend to be gone.
            await admin.execute(
                "SELECT pg_terminate_backend(%s, 10000)", [listener._conn.info.backend_pid]
            )
        written = await writer.remember("written while nobody listened", scope="project")
        assert (await store.changes_since(mark)).ids == [written.id]
        assert not listener.listening  # polling until it reconnects
        later = await writer.remember("and another", scope="project")
        assert (await store.changes_since(mark + 1)).ids == [later.id]
