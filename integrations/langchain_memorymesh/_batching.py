"""Concurrent single-op calls to a ``MemoryMeshStore`` run as one group.

Agents and graphs call ``aput``/``aget``/``asearch`` from many tasks at once (LangGraph runs
parallel nodes as tasks; its own test suites ``asyncio.gather`` 60,000 of them). Run one by
one, each is a transaction and a query of its own. Instead, every single-op call made while
a group is pending joins it, and a group runs as LangGraph's own batched stores run one
(``AsyncBatchedBaseStore``): identical reads once, then the last write to each key, with
the new items in one transaction. That order is one the callers could have observed anyway:
their calls were all in flight together, so none of them can tell which went first. A call
with several ops (``abatch([...])``) keeps its own order and does not join a group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["OpQueue"]

Job = TypeVar("Job")

#: What a group runner returns per job: its result, or the exception to raise in its caller.
Outcome = object


class OpQueue(Generic[Job]):
    """Collects jobs submitted on one event loop and hands them to ``run`` a group at a time.

    ``run`` gets the jobs in the order they were submitted and returns one outcome per job:
    a result, or an exception instance that :meth:`submit` raises in that job's caller. Only
    one group runs at a time; jobs submitted meanwhile form the next one.
    """

    def __init__(self, run: Callable[[Sequence[Job]], Awaitable[list[Outcome]]]) -> None:
        self._run = run
        self._pending: list[tuple[Job, asyncio.Future[Outcome]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def accepts(self) -> bool:
        """Whether the running loop is the one this queue serves (the first one it ran on)."""
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop.is_closed():
            self._loop, self._drainer, self._pending = loop, None, []
        return loop is self._loop

    async def submit(self, job: Job) -> Outcome:
        """Run ``job`` in the next group; return its result or raise its exception."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._pending.append((job, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        outcome = await future
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _drain(self) -> None:
        # One turn of the loop first: callers started together (gather, parallel nodes) are
        # all queued by then.
        await asyncio.sleep(0)
        while self._pending:
            group, self._pending = self._pending, []
            live = [(job, future) for job, future in group if not future.done()]
            if not live:
                continue
            try:
                outcomes = await self._run([job for job, _ in live])
            except asyncio.CancelledError:
                for _, future in live:
                    future.cancel()
                for _, future in self._pending:
                    future.cancel()
                self._pending = []
                raise
            except Exception as exc:  # the runner itself failed: every caller sees it
                outcomes = [exc] * len(live)
            for (_, future), outcome in zip(live, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
