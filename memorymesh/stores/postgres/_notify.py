"""The change feed by LISTEN/NOTIFY: knowing, without a round trip, that nobody wrote.

Every change the feed trigger records also sends ``NOTIFY memorymesh_changes`` with
``<schema> <tenant>`` as payload (migration ``0005_change_notify``; PostgreSQL sends one per
transaction and payload, however many rows it touched). Each store keeps one extra connection
that LISTENs; before asking the server what changed since its mark, the store asks this
listener whether a notification for its tenant has arrived. When none has, the answer is
"nothing", at the cost of a ``select()`` on a socket instead of a query.

Polling stays the fallback, and the source of truth:

* a notification arrives just after the commit it announces, so a check made in that instant
  still says "quiet": only catch-ups outside a write use the listener (a write transaction
  reads the feed itself, under the tenant's lock, so conflict detection is always exact);
* the listener is trusted for :data:`TRUST_SECONDS` at most, then the feed is read again (a
  connection that died silently, as a dropped network path can, cannot hide writes longer);
* a listener whose connection fails is closed and reopened no sooner than
  :data:`RETRY_SECONDS` later; meanwhile every check reads the feed.
"""

from __future__ import annotations

import asyncio
import select
import time
from contextlib import aclosing, suppress
from typing import Any

import anyio
import psycopg

__all__ = ["CHANNEL", "RETRY_SECONDS", "TRUST_SECONDS", "ChangeListener"]

#: The channel every MemoryMesh schema's trigger notifies.
CHANNEL = "memorymesh_changes"
#: Longest a listener's silence is believed without reading the feed.
TRUST_SECONDS = 10.0
#: How long a failed listener waits before connecting again.
RETRY_SECONDS = 5.0


class ChangeListener:
    """One LISTENing connection for one tenant of one schema (see the module docstring).

    A background task reads the connection: it holds the connection's lock for as long as it
    waits (psycopg's ``notifies()`` does), so nobody else reads it. :meth:`quiet` then only
    looks at counters and at whether the socket holds bytes the task has not read yet, and
    any number of :meth:`wait` calls (one per open dashboard tab) wait on one event without
    holding up each other or a recall's catch-up.
    """

    def __init__(self, conninfo: str, schema: str, tenant: str) -> None:
        self._conninfo = conninfo
        self._payload = f"{schema} {tenant}"
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._reader: asyncio.Task[None] | None = None
        #: Notifications for the tenant heard so far (never reset, so callers can compare).
        self._heard = 0
        #: ``_heard`` when :meth:`quiet` last sent its caller to read the feed.
        self._checked = 0
        self._unverified = True  # nothing is known until the first read of the feed
        self._news = asyncio.Event()  # set, then replaced, on every notification or failure
        self._verified_at = 0.0
        self._failed_at: float | None = None

    @property
    def listening(self) -> bool:
        """Whether the listener's connection is up (else every check reads the feed)."""
        return self._conn is not None

    @property
    def heard(self) -> int:
        """How many notifications of writes to the tenant have been heard (pass it to
        :meth:`wait` as ``after`` to wait for the next one without missing any)."""
        return self._heard

    async def start(self) -> None:
        """Connect, LISTEN and start reading; a failure leaves the store polling, and is
        retried later."""
        try:
            conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            await conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            self._failed_at = time.monotonic()
            return
        self._conn, self._failed_at = conn, None
        self._unverified = True
        self._reader = asyncio.get_running_loop().create_task(
            self._read(conn), name=f"memorymesh listener {self._payload}"
        )

    async def close(self) -> None:
        """Stop the reader and close the connection (shielded by the caller)."""
        reader, self._reader = self._reader, None
        conn, self._conn = self._conn, None
        if reader is not None:
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader
        if conn is not None:
            await conn.close()
        self._wake()

    async def quiet(self) -> bool:
        """Whether no write to the tenant can have happened since the previous call that
        returned False (after which the caller read the feed). False means: read it now."""
        if self._conn is None:
            await self._retry()
            return False
        now = time.monotonic()
        if (
            self._unverified
            or self._heard != self._checked
            or self._unread()
            or now - self._verified_at > TRUST_SECONDS
        ):
            # Counted before the caller reads the feed: a notification arriving while it
            # reads is kept for the next check.
            self._unverified = False
            self._checked = self._heard
            self._verified_at = now
            return False
        return True

    async def wait(self, within: float, *, after: int | None = None) -> bool:
        """Wait up to ``within`` seconds for a notification of a write to the tenant (for a
        process that wants to react to other workers' writes as they commit). True once
        :attr:`heard` passes ``after``; by default, once a write the feed has not been read
        for since is heard (it stays pending, so the next :meth:`quiet` says False). False
        at the deadline, or when the connection fails (the caller polls then)."""
        if self._conn is None:
            await self._retry()
            if self._conn is None:
                return False
        if after is None:
            if self._unverified:
                return True
            after = self._checked
        with anyio.move_on_after(within):
            while self._heard <= after and self._conn is not None:
                await self._news.wait()
        return self._heard > after

    def _unread(self) -> bool:
        # Bytes on the socket the reader has not had its turn to read yet (it runs between
        # our awaits): a notification that has just arrived, or news of a closed connection.
        conn = self._conn
        if conn is None:
            return False
        try:
            readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            return True
        return bool(readable)

    async def _retry(self) -> None:
        if self._failed_at is not None and time.monotonic() - self._failed_at > RETRY_SECONDS:
            await self.start()

    def _wake(self) -> None:
        news, self._news = self._news, asyncio.Event()
        news.set()

    async def _read(self, conn: psycopg.AsyncConnection[Any]) -> None:
        # Any failure ends the reading: the store polls, and retries later.
        with suppress(Exception):
            # aclosing: the generator holds the connection's lock until it is closed.
            async with aclosing(conn.notifies()) as notifies:
                async for notify in notifies:
                    if notify.payload == self._payload:
                        self._heard += 1
                        self._wake()
        # The connection failed (a restart, a failover, a reaper): poll until retried.
        if self._conn is conn:
            self._failed_at = time.monotonic()
            self._conn = None
            self._reader = None
            self._wake()
            with suppress(psycopg.Error):
                await conn.close()
