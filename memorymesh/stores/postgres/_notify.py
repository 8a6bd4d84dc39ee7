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

import select
import time
from contextlib import aclosing, suppress
from typing import Any

import psycopg

__all__ = ["CHANNEL", "RETRY_SECONDS", "TRUST_SECONDS", "ChangeListener"]

#: The channel every MemoryMesh schema's trigger notifies.
CHANNEL = "memorymesh_changes"
#: Longest a listener's silence is believed without reading the feed.
TRUST_SECONDS = 10.0
#: How long a failed listener waits before connecting again.
RETRY_SECONDS = 5.0


class ChangeListener:
    """One LISTENing connection for one tenant of one schema (see the module docstring)."""

    def __init__(self, conninfo: str, schema: str, tenant: str) -> None:
        self._conninfo = conninfo
        self._payload = f"{schema} {tenant}"
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._notified = True  # nothing is known until the first read of the feed
        self._verified_at = 0.0
        self._failed_at: float | None = None

    @property
    def listening(self) -> bool:
        """Whether the listener's connection is up (else every check reads the feed)."""
        return self._conn is not None

    async def start(self) -> None:
        """Connect and LISTEN; a failure leaves the store polling, and is retried later."""
        try:
            conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            await conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            self._failed_at = time.monotonic()
            return
        self._conn, self._failed_at = conn, None
        self._notified = True

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def quiet(self) -> bool:
        """Whether no write to the tenant can have happened since the previous call that
        returned False (after which the caller read the feed). False means: read it now."""
        if self._conn is None:
            if self._failed_at is not None and time.monotonic() - self._failed_at > RETRY_SECONDS:
                await self.start()
            return False
        await self._drain(wait=0.0)
        now = time.monotonic()
        if self._conn is None or self._notified or now - self._verified_at > TRUST_SECONDS:
            # Cleared before the caller reads the feed: a notification arriving while it
            # reads is kept for the next check.
            self._notified = False
            self._verified_at = now
            return False
        return True

    async def wait(self, within: float) -> bool:
        """Wait up to ``within`` seconds for a notification of a write to the tenant (for a
        process that wants to react to other workers' writes as they commit). True if one
        came (it stays pending, so the next :meth:`quiet` says False)."""
        if self._conn is None:
            return False
        await self._drain(wait=within)
        return self._notified

    async def _drain(self, wait: float) -> None:
        conn = self._conn
        assert conn is not None
        try:
            if wait <= 0.0:
                # Nothing on the socket: no notification and no news of a closed connection.
                # (psycopg's own zero-timeout read does not report a closed connection.)
                readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
                if not readable:
                    return
                wait = 0.001
            # aclosing: the generator holds the connection's lock until it is closed.
            async with aclosing(conn.notifies(timeout=wait)) as notifies:
                async for notify in notifies:
                    if notify.payload == self._payload:
                        self._notified = True
                        return
        except psycopg.Error:
            self._failed_at = time.monotonic()
            self._conn = None
            self._notified = True
            with suppress(psycopg.Error):
                await conn.close()
