"""Running a write transaction again when the engine reports a transient conflict.

PostgreSQL may abort a transaction that took part in a deadlock (SQLSTATE ``40P01``) or lost
a serialization check (``40001``); nothing it wrote is kept, and the same transaction run
again normally succeeds. The engine raises :class:`~memorymesh.stores.base.TransientWriteError`
for them; :func:`retried` runs the whole write again (every statement, from its first), a few
times with a growing, jittered pause, and then gives up with the
:class:`~memorymesh.DatabaseLockedError` it is. A write is retried only as a whole, so it
stays all-or-nothing: a write over two stores whose first commit had already happened is
never retried (see ``write_all``).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from .._errors import DatabaseLockedError
from ..stores.base import TransientWriteError

__all__ = ["WRITE_ATTEMPTS", "retried"]

T = TypeVar("T")

#: How many times a write transaction is run before its conflict is raised.
WRITE_ATTEMPTS = 4
#: The first pause between attempts, in seconds; doubled for each further one, jittered.
_FIRST_PAUSE = 0.02


async def retried(write: Callable[[], Awaitable[T]]) -> T:
    """``await write()``, run again after a transient conflict, at most
    :data:`WRITE_ATTEMPTS` times in all.

    Raises:
        DatabaseLockedError: the last attempt conflicted too (or the conflict came after a
            commit, when running it again could write twice).
    """
    attempt = 1
    while True:
        try:
            return await write()
        except TransientWriteError as exc:
            if not exc.retryable or attempt >= WRITE_ATTEMPTS:
                raise DatabaseLockedError(
                    f"{exc} (gave up after {attempt} attempt{'s' if attempt > 1 else ''})"
                ) from exc
        # Two writers that deadlocked would otherwise collide again in step.
        pause = _FIRST_PAUSE * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)  # noqa: S311 (jitter)
        await anyio.sleep(pause)
        attempt += 1
