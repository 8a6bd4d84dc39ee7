"""What the PostgreSQL engine adds beyond the contract suite (which it passes in full):
tenants that never see each other, migrations that run once however many workers start
together, concurrent writers that lose and duplicate nothing, and typed errors.

Every test runs on the session's real PostgreSQL (``_postgres.py``), in a schema of its own.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _postgres
import anyio
import psycopg
import pytest
from _embedders import HashEmbedder

from memorymesh import (
    AsyncMemoryMesh,
    DatabaseLockedError,
    EncryptionError,
    InvalidInputError,
    MemoryNotFoundError,
    NewMemory,
    SchemaVersionError,
    StoreError,
)
from memorymesh.cli import main
from memorymesh.stores._tenant import default_project, project_key_from_remote
from memorymesh.stores.base import Filters
from memorymesh.stores.postgres._schema import MIGRATIONS, WORD_CHUNK

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("postgres_worker.py")


@pytest.fixture
def url() -> str:
    """A store URL on the session's server, in a schema no other test uses."""
    return _postgres.server_url(_postgres.fresh_name("s"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent.parent), env.get("PYTHONPATH", "")]
    )
    return env


def _gated(commands: list[list[str]]) -> list[str]:
    """Start every command, wait until each prints ``ready``, release them all at once, and
    return each one's last output line (failing on any non-zero exit)."""
    children = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for command in commands
    ]
    for child in children:
        assert child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError(f"worker did not start: {line!r} {child.stderr.read()!r}")  # type: ignore[union-attr]
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        outputs.append(out.strip().splitlines()[-1])
    return outputs


# -- tenants ------------------------------------------------------------------------------------


async def test_projects_and_users_never_see_each_others_memories(url: str) -> None:
    # One database, two projects, two users: alice and bob both work on acme/api, alice also
    # on acme/web. Every memory has the same words and metadata, so only the tenant differs.
    def mesh(project: str, user: str) -> AsyncMemoryMesh:
        return AsyncMemoryMesh(url, project=project, user=user)

    written: dict[tuple[str, str], list[str]] = {}
    for project, user in (("acme/api", "alice"), ("acme/web", "alice"), ("acme/api", "bob")):
        async with mesh(project, user) as m:
            ids = []
            for scope in ("project", "global"):
                memory = await m.remember(
                    f"the deploy key rotates weekly ({project} {user} {scope})",
                    scope=scope,
                    metadata={"team": "ops", "n": 1},
                    on_conflict="keep_both",
                )
                ids.append(memory.id)
            written[(project, user)] = ids

    api_project = {written[("acme/api", "alice")][0], written[("acme/api", "bob")][0]}
    crafted = [
        None,
        {"team": "ops"},
        {"team": {"$ne": "nobody"}},
        {"team": {"$nin": ["x"]}},
        {"absent": {"$exists": False}},
        {"team": "ops' OR '1'='1"},
        {"team": {"$in": ["ops", None]}},
        {"n": {"$gte": -1e308}},
    ]
    async with mesh("acme/api", "alice") as alice:
        expected = api_project | {
            written[("acme/api", "alice")][1],
            written[("acme/web", "alice")][1],
        }
        for metadata_filter in crafted:
            listed = {m.id for m in await alice.list(limit=100, metadata_filter=metadata_filter)}
            recalled = {
                hit.memory.id
                for hit in await alice.recall(
                    "deploy key rotates", k=50, mode="keyword", metadata_filter=metadata_filter
                )
            }
            assert listed <= expected and recalled <= expected, metadata_filter
        # Both of acme/api's project memories, and alice's global ones (from either project).
        assert {m.id for m in await alice.list(limit=100)} == expected
        assert (await alice.stats()).total == len(expected)
        assert await alice.metadata_values("team") == ["ops"]
        foreign = [written[("acme/web", "alice")][0], written[("acme/api", "bob")][1]]
        for memory_id in foreign:
            with pytest.raises(MemoryNotFoundError):
                await alice.get(memory_id)
            with pytest.raises(MemoryNotFoundError):
                await alice.forget(memory_id)
            with pytest.raises(MemoryNotFoundError):
                await alice.resolve_id(memory_id[:12])
        buffer = io.StringIO()
        await alice.export(buffer)
        lines = [json.loads(line) for line in buffer.getvalue().splitlines()[1:]]
        assert {record["id"] for record in lines} == expected
    async with mesh("acme/api", "bob") as bob:  # alice's attempts changed nothing of bob's
        assert {m.id for m in await bob.list(limit=100)} == api_project | {
            written[("acme/api", "bob")][1]
        }


async def test_a_project_key_comes_from_the_git_remote(tmp_path: Path, url: str) -> None:
    project = tmp_path / "project"  # the isolated project root (tests/conftest.py)
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = git@github.com:Acme/api.git\n'
    )
    assert default_project() == "github.com/Acme/api"
    async with AsyncMemoryMesh(url, user="carol") as mine:
        assert (
            mine.project_path is not None and "(project:github.com/Acme/api)" in mine.project_path
        )
        assert "(user:carol)" in mine.global_path
        memory = await mine.remember("the API is versioned by date", scope="project")
    # Another clone of the same repository, over HTTPS, shares the project memories.
    async with AsyncMemoryMesh(url, project="github.com/Acme/api", user="dave") as theirs:
        assert (await theirs.get(memory.id)).text == "the API is versioned by date"


def test_a_linked_worktree_has_its_main_checkouts_project_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Agents often work in `git worktree`s, where .git is a file: same repository, same key.
    main_checkout, linked = tmp_path / "main", tmp_path / "linked"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(main_checkout)], check=True)
    subprocess.run(
        [*git, "-C", str(main_checkout), "remote", "add", "origin", "https://github.com/acme/api"],
        check=True,
    )
    subprocess.run(
        [*git, "-C", str(main_checkout), "commit", "-q", "--allow-empty", "-m", "x"], check=True
    )
    subprocess.run(
        [*git, "-C", str(main_checkout), "worktree", "add", "-q", str(linked)], check=True
    )
    assert (linked / ".git").is_file()
    monkeypatch.delenv("MEMORYMESH_PROJECT_ROOT")
    assert default_project(main_checkout) == default_project(linked) == "github.com/acme/api"


def test_remote_urls_name_the_same_project() -> None:
    for remote in (
        "git@github.com:acme/api.git",
        "https://github.com/acme/api",
        "https://user:token@GitHub.com/acme/api.git/",
        "ssh://git@github.com:22/acme/api.git",
    ):
        assert project_key_from_remote(remote) == "github.com/acme/api", remote
    assert project_key_from_remote("/srv/git/api.git") == "api"


# -- migrations and concurrency --------------------------------------------------------------


def test_workers_starting_together_migrate_once() -> None:
    schema = _postgres.fresh_name("m")
    url = _postgres.server_url(schema)
    outputs = _gated([["migrate", url, schema] for _ in range(4)])
    applied = [json.loads(line) for line in outputs]
    assert sorted(applied, key=len) == [[], [], [], [m.name for m in MIGRATIONS]]


def test_processes_writing_one_project_lose_and_duplicate_nothing() -> None:
    url = _postgres.server_url(_postgres.fresh_name("w"))
    # Eight workers, 500 memories each: 10 single remembers, then remember_many of 70.
    processes, writes, batch = 8, 500, 70
    outputs = _gated(
        [
            ["write", url, "acme/ledger", str(worker), str(writes), str(batch)]
            for worker in range(processes)
        ]
    )
    results = [json.loads(line) for line in outputs]
    assert [r["errors"] for r in results] == [[]] * processes
    ids = [memory_id for r in results for memory_id in r["ids"]]
    assert len(ids) == len(set(ids)) == processes * writes

    async def check() -> None:
        async with AsyncMemoryMesh(url, project="acme/ledger", user="auditor") as mesh:
            stored = await mesh.list(limit=processes * writes + 10)
            assert sorted(m.id for m in stored) == sorted(ids)
            assert len({m.text for m in stored}) == processes * writes
            # Every write reached the change feed once, numbered without gaps.
            store = mesh.stores[0]
            assert await store.change_mark() == processes * writes

    anyio.run(check)


def test_a_worker_killed_mid_remember_many_writes_all_or_nothing() -> None:
    schema = _postgres.fresh_name("k")
    url = _postgres.server_url(schema)
    child = subprocess.Popen(
        [sys.executable, str(WORKER), "batch", url, "acme/ledger", "50"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready", child.stderr.read()  # type: ignore[union-attr]
        with psycopg.connect(_postgres.server_url(), autocommit=True) as admin:
            with admin.transaction():
                # The batch's last step is its write-log entries: holding that table stops
                # the worker's transaction after it inserted every memory, before commit.
                admin.execute(f'LOCK TABLE "{schema}".write_log IN ACCESS EXCLUSIVE MODE')
                child.stdin.write("go\n")
                child.stdin.flush()
                inserted = _wait_for(
                    admin,
                    "SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid) "
                    f"WHERE l.relation = '{schema}.memories'::regclass AND l.granted "
                    "AND l.mode = 'RowExclusiveLock' AND a.wait_event_type = 'Lock'",
                )
                assert inserted == 1  # in the middle of its transaction, rows inserted
                child.kill()
                child.wait(timeout=60)
            # The lock is gone; the dead client's transaction is rolled back, never committed.
            count = admin.execute(
                f'SELECT count(*) FROM "{schema}".memories WHERE tenant = %s',
                ["project:acme/ledger"],
            ).fetchone()
            assert count is not None and count[0] == 0
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=60)

    async def next_writer() -> None:
        async with AsyncMemoryMesh(url, project="acme/ledger", user="next") as mesh:
            await mesh.remember_many(
                [NewMemory(text=f"doomed batch item {i}", scope="project") for i in range(50)]
            )
            assert await mesh.count() == 50  # all of the next batch, none of the killed one

    anyio.run(next_writer)


def _wait_for(admin: psycopg.Connection[Any], query: str, rounds: int = 6000) -> int:
    """Re-run a count query until it is non-zero (each round is a round trip to the server,
    not a sleep); the count, or 0 after ``rounds``."""
    for _ in range(rounds):
        row = admin.execute(query).fetchone()  # type: ignore[arg-type]
        if row is not None and row[0]:
            return int(row[0])
    return 0


async def test_a_server_restarted_mid_write_is_a_store_error_then_the_next_call_works(
    url: str,
) -> None:
    async with AsyncMemoryMesh(url, project="acme/api", user="hal") as mesh:
        await mesh.remember("kept before the restart", scope="project")
        failures: list[BaseException] = []

        async def blocked_write() -> None:
            try:
                await mesh.remember_many(
                    [NewMemory(text=f"lost in the restart {i}", scope="project") for i in range(5)]
                )
            except StoreError as exc:
                failures.append(exc)

        schema = url.rsplit("schema=", 1)[1]
        # Another worker holds the project's write lock; the restart cuts its connection too.
        holder = await psycopg.AsyncConnection.connect(_postgres.server_url(), autocommit=True)
        await holder.execute(
            "SELECT pg_advisory_lock(hashtextextended(%s, 0))",
            [f"memorymesh:{schema}:project:acme/api"],
        )
        admin = await psycopg.AsyncConnection.connect(_postgres.server_url(), autocommit=True)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(blocked_write)
                # Until the write waits for the lock inside its transaction, then restart.
                for _ in range(6000):
                    cur = await admin.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                    )
                    row = await cur.fetchone()
                    if row is not None and row[0]:
                        break
                await anyio.to_thread.run_sync(_postgres.restart)
        finally:
            await holder.close()
            await admin.close()
        assert len(failures) == 1 and isinstance(failures[0], StoreError), failures
        # The next calls reconnect by themselves; nothing of the failed batch was written.
        await mesh.remember("written after the restart", scope="project")
        assert sorted(m.text for m in await mesh.list(scope="project")) == [
            "kept before the restart",
            "written after the restart",
        ]
        hits = await mesh.recall("restart", mode="keyword")
        assert {h.memory.text for h in hits} == {
            "kept before the restart",
            "written after the restart",
        }


# -- typed errors --------------------------------------------------------------------------------


async def test_a_writer_waiting_past_the_busy_timeout_gets_database_locked(url: str) -> None:
    async with AsyncMemoryMesh(url, project="acme/api", user="erin", busy_timeout=0.2) as mesh:
        await mesh.remember("first note", scope="project")
        schema = url.rsplit("schema=", 1)[1]
        # Another worker holds this project's write lock (the key the engine locks on).
        async with await psycopg.AsyncConnection.connect(
            _postgres.server_url(), autocommit=True
        ) as other:
            await other.execute(
                "SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                [f"memorymesh:{schema}:project:acme/api"],
            )
            with pytest.raises(DatabaseLockedError):
                await mesh.remember("second note", scope="project")
            await other.execute("SELECT pg_advisory_unlock_all()")
        assert [m.text for m in await mesh.list()] == ["first note"]
        await mesh.remember("second note", scope="project")  # the next call succeeds
        assert await mesh.count() == 2


async def test_a_connection_dropped_mid_write_is_a_store_error_and_the_next_call_works(
    url: str,
) -> None:
    async with AsyncMemoryMesh(url, project="acme/api", user="gus") as mesh:
        await mesh.remember("kept before the outage", scope="project")
        store = mesh.stores[0]
        async with await psycopg.AsyncConnection.connect(
            _postgres.server_url(), autocommit=True
        ) as admin:

            async def write_through_an_outage() -> None:
                async with store.write() as tx:
                    await tx.log([("probe", None, "test", {})])
                    # The server drops this connection mid-transaction (a restart, a failover).
                    pid = tx._conn.info.backend_pid  # type: ignore[attr-defined]
                    await admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                    await tx.log([("probe", None, "test", {})])

            with pytest.raises(StoreError, match="closed the connection"):
                await write_through_an_outage()
            # Every idle pooled connection goes too: the next calls must reconnect by themselves.
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database()"
            )
        await mesh.remember("written after the outage", scope="project")
        assert sorted(m.text for m in await mesh.list(scope="project")) == [
            "kept before the outage",
            "written after the outage",
        ]
        assert [e.action for e in await mesh.log(limit=10)].count("probe") == 0


async def _drop_every_pooled_connection(admin: psycopg.AsyncConnection[Any]) -> None:
    """Terminate every other backend of the database (a failover, an idle-session reaper),
    and return once the server no longer lists them (each round a round trip, not a sleep)."""
    others = "pid <> pg_backend_pid() AND datname = current_database() AND backend_type = %s"
    await admin.execute(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}",
        ["client backend"],
    )
    for _ in range(6000):
        cur = await admin.execute(
            f"SELECT count(*) FROM pg_stat_activity WHERE {others}", ["client backend"]
        )
        row = await cur.fetchone()
        if row is not None and row[0] == 0:
            return
    raise AssertionError("the terminated backends did not go")


async def test_pooled_connections_the_server_dropped_are_replaced_without_an_error(
    url: str,
) -> None:
    # The pool does not ping a connection before handing it out (a round trip per call):
    # a read, or a write that has sent nothing yet, finds the dead connection by its first
    # statement and runs once more on a fresh one, so no error reaches the caller.
    async with AsyncMemoryMesh(url, project="acme/api", user="ida") as mesh:
        await mesh.remember("kept before the drop", scope="project")
        store = mesh.stores[0]

        async def read() -> None:
            await store.count(Filters(), now=time.time())

        async with anyio.create_task_group() as group:  # several pooled connections
            for _ in range(4):
                group.start_soon(read)
        async with await psycopg.AsyncConnection.connect(
            _postgres.server_url(), autocommit=True
        ) as admin:
            await _drop_every_pooled_connection(admin)
            assert [m.text for m in await mesh.list(scope="project")] == ["kept before the drop"]
            await _drop_every_pooled_connection(admin)
            await mesh.remember("written after the drop", scope="project")
            await _drop_every_pooled_connection(admin)
            hits = await mesh.recall("drop", mode="keyword")
        assert {h.memory.text for h in hits} == {"kept before the drop", "written after the drop"}


async def test_an_encryption_key_is_refused_before_anything_is_written(url: str) -> None:
    mesh = AsyncMemoryMesh(url, project="acme/api", user="fay", encryption_key="a passphrase!")
    with pytest.raises(EncryptionError, match="does not encrypt"):
        await mesh.open()
    assert mesh.closed
    schema = url.rsplit("schema=", 1)[1]
    async with await psycopg.AsyncConnection.connect(_postgres.server_url()) as conn:
        cursor = await conn.execute("SELECT to_regnamespace(%s)", [schema])
        assert (await cursor.fetchone()) == (None,)  # not even the schema was created


async def test_an_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    mesh = AsyncMemoryMesh(f"postgresql://nobody@/db?host={tmp_path}", project="p", user="u")
    with pytest.raises(StoreError, match="cannot be reached"):
        await mesh.open()


async def test_a_schema_from_a_newer_memorymesh_is_refused(url: str) -> None:
    async with AsyncMemoryMesh(url, project="p", user="u"):
        pass
    schema = url.rsplit("schema=", 1)[1]
    async with await psycopg.AsyncConnection.connect(_postgres.server_url()) as conn:
        await conn.execute(
            f'INSERT INTO "{schema}".schema_migrations VALUES (%s, 0)', ["9999_from_the_future"]
        )
        await conn.commit()
    with pytest.raises(SchemaVersionError, match="9999_from_the_future"):
        async with AsyncMemoryMesh(url, project="p", user="u"):
            pass


async def test_conflict_words_written_before_0013_are_split_into_chunks_in_place(
    url: str,
) -> None:
    async with AsyncMemoryMesh(url, project="p", user="u"):
        pass
    schema = url.rsplit("schema=", 1)[1]
    # The table as 0009 made it, holding one word whose holders span three chunks.
    async with await psycopg.AsyncConnection.connect(_postgres.server_url()) as conn:
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute("DROP TABLE conflict_words")
        await conn.execute(
            "CREATE TABLE conflict_words (tenant TEXT NOT NULL, token TEXT NOT NULL, "
            "seqs BIGINT[] NOT NULL, PRIMARY KEY (tenant, token))"
        )
        await conn.execute(
            "INSERT INTO conflict_words VALUES ('project:p', 'kestrel', %s), "
            "('project:p', 'ledger', '{3}')",
            [[5, 2 * WORD_CHUNK + 1, WORD_CHUNK, 7]],
        )
        await conn.execute(
            "DELETE FROM schema_migrations WHERE name = %s", ["0013_conflict_word_chunks"]
        )
        await conn.commit()
    async with AsyncMemoryMesh(url, project="p", user="u"):
        pass  # opening applies 0013
    async with await psycopg.AsyncConnection.connect(_postgres.server_url()) as conn:
        cur = await conn.execute(
            f'SELECT token, chunk, seqs FROM "{schema}".conflict_words ORDER BY token, chunk'
        )
        assert await cur.fetchall() == [
            ("kestrel", 0, [5, 7]),
            ("kestrel", 1, [WORD_CHUNK]),
            ("kestrel", 2, [2 * WORD_CHUNK + 1]),
            ("ledger", 0, [3]),
        ]


async def test_a_words_holders_are_kept_in_rows_of_one_chunk_each(url: str) -> None:
    # A batch's holders are appended to each word's newest chunk only, so the rows a write
    # rewrites stay small however many memories hold the word.
    async with AsyncMemoryMesh(url, project="p", user="u") as mesh:
        await mesh.remember_many(
            [
                NewMemory(
                    text=f"the kestrel deploy note {i}", scope="project", on_conflict="keep_both"
                )
                for i in range(40)
            ]
        )
        first = (await mesh.list(scope="project"))[0]
        await mesh.forget(first.id)
    schema = url.rsplit("schema=", 1)[1]
    async with await psycopg.AsyncConnection.connect(_postgres.server_url()) as conn:
        cur = await conn.execute(
            f'SELECT token, chunk, seqs FROM "{schema}".conflict_words WHERE tenant = %s',
            ["project:p"],
        )
        rows = await cur.fetchall()
    kestrel = [seq for token, _, seqs in rows if token == "kestrel" for seq in seqs]
    assert len(kestrel) == 39  # the forgotten memory left the word
    assert all(seq // WORD_CHUNK == chunk for _, chunk, seqs in rows for seq in seqs)


def test_memorymesh_db_points_the_cli_and_the_hook_at_the_server(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MEMORYMESH_DB`` names the project store of every command (and the dashboard's,
    and the Claude Code hook's) when ``--db`` is not given (issue 14)."""
    located = url + "&project=acme/env"
    monkeypatch.setenv("MEMORYMESH_DB", located)
    assert main(["remember", "Deploys go out on Tuesdays", "--scope", "project"]) == 0
    hook = subprocess.run(
        [str(Path(sys.executable).parent / "memorymesh-hook"), "stop"],
        input=json.dumps(
            {
                "session_id": "8c35adc1-0a1b-4c2d-9e8f-1234567890ab",
                "transcript_path": str(
                    Path(__file__).parent / "fixtures" / "claude_code" / "transcript.jsonl"
                ),
                "cwd": str(tmp_path / "project"),
                "hook_event_name": "Stop",
                "stop_hook_active": False,
            }
        ),
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert hook.returncode == 0 and hook.stderr == "", hook.stderr

    async def read() -> tuple[list[str], list[str]]:
        async with AsyncMemoryMesh(located) as mesh:
            listed = [m.text for m in await mesh.list()]
            queued = [m.text for m in await mesh.review_queue()]
        return listed, queued

    listed, queued = anyio.run(read)
    assert listed == ["Deploys go out on Tuesdays"]
    assert any(text.startswith("We decided to keep the in-process cache") for text in queued)
    assert not (tmp_path / "project" / ".memorymesh").exists()  # nothing went to a file


def test_bad_locations_and_keys_are_invalid_input() -> None:
    base = _postgres.server_url()
    with pytest.raises(InvalidInputError, match="schema="):
        AsyncMemoryMesh(base + "&schema=Robert'); DROP TABLE x;--", project="p", user="u")
    with pytest.raises(InvalidInputError, match="project"):
        AsyncMemoryMesh(base, project="  ", user="u")
    with pytest.raises(InvalidInputError, match="user"):
        AsyncMemoryMesh(base, project="p", user="a\nb")


def test_without_the_driver_the_error_names_the_install_command() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from memorymesh import AsyncMemoryMesh, StoreError\n"
        "try:\n"
        "    AsyncMemoryMesh('postgresql://h/db', project='p', user='u')\n"
        "except StoreError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    ).stdout
    assert "memorymesh[postgres]" in out and "pip install" in out


def test_importing_memorymesh_does_not_import_the_driver() -> None:
    code = "import sys, memorymesh; print('psycopg' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    ).stdout
    assert out.strip() == "False"


def test_doctor_and_backup_point_server_stores_to_the_servers_tools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["doctor"], ["backup", str(tmp_path / "copies")]):
        assert main(["--db", "postgresql://u:secret@db.internal/team", *command]) == 2
        err = capsys.readouterr().err
        assert "pg_dump" in err and "secret" not in err
    assert not (tmp_path / "copies").exists()


async def _records(mesh: AsyncMemoryMesh) -> list[dict[str, object]]:
    buffer = io.StringIO()
    await mesh.export(buffer, include_embeddings=True)
    records = [json.loads(line) for line in buffer.getvalue().splitlines()[1:]]
    return sorted((r for r in records if "type" not in r), key=lambda r: str(r["id"]))


async def _logs(mesh: AsyncMemoryMesh) -> dict[str, list[tuple[float, object]]]:
    """Each store's write log, oldest first, as ``(at, (action, memory_id, source, detail))``."""
    return {
        str(store.scope): list(reversed(await store.recent_log(10_000))) for store in mesh.stores
    }


def test_migrate_copies_both_stores_to_the_server_and_back_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import anyio

    project_db, global_db = tmp_path / "p.db", tmp_path / "g.db"

    async def fill() -> tuple[str, list[dict[str, object]]]:
        async with AsyncMemoryMesh(
            project_db, global_path=global_db, embedding=HashEmbedder()
        ) as m:
            old = await m.remember("the staging cluster is called kestrel", scope="project")
            # A contradiction supersedes it: the old version stays as history.
            await m.remember("the staging cluster is called osprey", scope="project")
            await m.remember("alice prefers dark mode", scope="global", metadata={"ui": 1})
            await m.recall("staging cluster")  # access counts travel too
        # Read back after closing: recall's access counts reach the store on close.
        async with AsyncMemoryMesh(project_db, global_path=global_db) as m:
            return old.id, await _records(m)

    old_id, local = anyio.run(fill)

    async def local_log() -> dict[str, list[tuple[float, object]]]:
        async with AsyncMemoryMesh(project_db, global_path=global_db) as m:
            return await _logs(m)

    local_logs = anyio.run(local_log)
    url = _postgres.server_url(_postgres.fresh_name("mig"))
    where = ["--db", str(project_db), "--global-db", str(global_db)]
    target = ["--project", "acme/api", "--user", "alice"]
    assert main([*where, "--json", "migrate", "--to", url, *target]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["imported"] == len(local)
    assert first["log_entries"] == sum(len(entries) for entries in local_logs.values())
    assert main([*where, "--json", "migrate", "--to", url, *target]) == 0  # again: nothing new
    again = json.loads(capsys.readouterr().out)
    assert again["imported"] == 0 and again["log_entries"] == 0

    async def on_server() -> None:
        async with AsyncMemoryMesh(
            url, project="acme/api", user="alice", embedding=HashEmbedder()
        ) as server:
            assert await _records(server) == local
            assert [v.text for v in await server.history(old_id)] == [
                "the staging cluster is called kestrel",
                "the staging cluster is called osprey",
            ]
            # Every local write-log entry, with its own time, besides the imports' own.
            server_logs = await _logs(server)
            for scope, entries in local_logs.items():
                copied = [e for e in server_logs[scope] if e[1][0] != "imported"]
                assert copied == [e for e in entries if e[1][0] != "imported"], scope

    async def recorded() -> list[tuple[str | None, str | None]]:
        # Opened without an embedder: the server stores say which one made their vectors
        # (so `--db URL recall` uses it, and the server built its HNSW index on the way).
        async with AsyncMemoryMesh(url, project="acme/api", user="alice") as server:
            return [
                (await s.get_meta("embedder"), await s.get_meta("embedder_dim"))
                for s in server.stores
            ]

    assert anyio.run(recorded) == [("test:hash", "64")] * 2
    anyio.run(on_server)
    back = ["--db", str(tmp_path / "p2.db"), "--global-db", str(tmp_path / "g2.db")]
    assert main([*back, "migrate", "--from", url, *target]) == 0
    assert "Copied 3 of 3 memories" in capsys.readouterr().out

    async def copied() -> list[dict[str, object]]:
        async with AsyncMemoryMesh(tmp_path / "p2.db", global_path=tmp_path / "g2.db") as copy:
            return await _records(copy)

    assert anyio.run(copied) == local


class _Unsure:
    """A judge model in this process that is never sure: its verdicts are cached, the pairs
    stay queued. Counts the pairs it was asked about."""

    name = "test:unsure"

    def __init__(self) -> None:
        self.asked = 0

    async def complete(self, system: str, user: str) -> str:
        count = user.count("\nOLD: ")
        self.asked += count
        entry = {"verdict": "contradiction", "confidence": 0.3}
        return json.dumps({"verdicts": [{"pair": n, **entry} for n in range(1, count + 1)]})


async def _side(mesh: AsyncMemoryMesh) -> tuple[list[tuple[object, ...]], list[object], object]:
    """The queue of uncertain pairs, the session chain, and what the judge does with the
    queue (its verdicts all cached: nothing is sent)."""
    queue = sorted(
        (p.new.id, p.old.id, p.kind, p.similarity, p.policy, p.reason, p.created_at)
        for p in await mesh.conflict_pairs()
    )
    chain: list[object] = list(await mesh.session_history())
    report = await mesh.judge_pending()
    return queue, chain, (report.sent, report.cached, report.unsure)


def test_migrate_carries_the_review_queue_the_judge_cache_and_sessions_both_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_db, global_db = tmp_path / "p.db", tmp_path / "g.db"
    judge = _Unsure()

    async def fill() -> tuple[list[tuple[object, ...]], list[object], object]:
        # Not entered: a one-shot process, so the judge runs only when asked.
        mesh = AsyncMemoryMesh(project_db, global_path=global_db, judge=judge)
        try:
            await mesh.remember("Maria owns the billing service", scope="project")
            await mesh.remember(
                "Maria owns the billing service and its on-call rotation", scope="project"
            )
            await mesh.remember("Omar runs the nightly data export job", scope="global")
            await mesh.remember(  # a pair across scopes: queued in the project store
                "Omar runs the nightly data export job and its alerting", scope="project"
            )
            await mesh.session_start(session_id="monday", client="cli")
            await mesh.session_start(session_id="tuesday", client="cli")
            assert (await mesh.judge_pending()).sent == 2  # now cached
            return await _side(mesh)
        finally:
            await mesh.aclose()

    local = anyio.run(fill)
    queue, chain, judged = local
    assert len(queue) == 2 and len(chain) == 2 and judged == (0, 2, 2)
    url = _postgres.server_url(_postgres.fresh_name("side"))
    where = ["--db", str(project_db), "--global-db", str(global_db)]
    target = ["--project", "acme/api", "--user", "alice"]
    assert main([*where, "--json", "migrate", "--to", url, *target]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["pairs"], first["verdicts"], first["sessions"]) == (2, 2, 2)
    assert main([*where, "--json", "migrate", "--to", url, *target]) == 0  # again: nothing new
    again = json.loads(capsys.readouterr().out)
    assert (again["imported"], again["pairs"], again["verdicts"], again["sessions"]) == (0,) * 4

    async def read(*location: Any, **options: Any) -> object:
        mesh = AsyncMemoryMesh(*location, judge=judge, **options)
        try:
            return await _side(mesh)
        finally:
            await mesh.aclose()

    asked = judge.asked
    assert anyio.run(lambda: read(url, project="acme/api", user="alice")) == local
    back = ["--db", str(tmp_path / "p2.db"), "--global-db", str(tmp_path / "g2.db")]
    assert main([*back, "migrate", "--from", url, *target]) == 0
    assert "2 queued pairs; 2 judge verdicts; 2 sessions" in capsys.readouterr().out
    copied = anyio.run(lambda: read(tmp_path / "p2.db", global_path=tmp_path / "g2.db"))
    assert copied == local
    assert judge.asked == asked  # every verdict was found in the copied caches


def test_migrate_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    project_db, global_db = tmp_path / "p.db", tmp_path / "g.db"

    async def fill() -> None:
        async with AsyncMemoryMesh(project_db, global_path=global_db) as m:
            await m.remember_many(
                [NewMemory(text=f"note {i} on the runbook", scope="project") for i in range(30)]
            )

    anyio.run(fill)
    url = _postgres.server_url(_postgres.fresh_name("bar"))
    argv = ["--db", str(project_db), "--global-db", str(global_db), "migrate", "--to", url]
    controller, terminal = os.openpty()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from memorymesh.cli import main; sys.exit(main())",
                *argv,
                "--project",
                "acme/api",
            ],
            stdin=subprocess.DEVNULL,
            stderr=terminal,
            stdout=subprocess.PIPE,
            env=_env(),
            check=False,
            timeout=120,
        )
        os.close(terminal)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the other end is closed and drained
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(controller)
    assert done.returncode == 0, drawn
    assert b"Copying memories [" in drawn and b"30/30" in drawn
    assert b"Copying the write log [" in drawn
    assert b"Copied 30 of 30 memories" in done.stdout
