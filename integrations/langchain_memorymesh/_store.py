"""``MemoryMeshStore``: MemoryMesh as a LangGraph ``BaseStore`` (long-term memory for agents).

Each LangGraph item is one MemoryMesh memory:

- the item's value is the memory's metadata, key for key, so it comes back exactly;
- the namespace is stored as metadata ``langgraph_ns``: the labels joined by ``.`` and ended
  by ``.`` (``("users", "u1")`` → ``"users.u1."``; LangGraph forbids ``.`` inside a label, so
  this is lossless), and a namespace prefix becomes one string range in SQL;
- the key is metadata ``langgraph_key``;
- the memory's text, which recall searches, is the value's ``text`` (or ``content``, or
  ``memory``) string, or the whole value as JSON when it has none.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import math
import re
import weakref
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from anyio.from_thread import BlockingPortal
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

from memorymesh import (
    Category,
    InjectedContextError,
    InvalidFilterError,
    InvalidInputError,
    KeyConflictError,
    Memory,
    MemoryNotFoundError,
    Scope,
    TooLargeError,
    contains_injected,
    strip_injected,
)
from memorymesh._adapters import category_option, scope_option
from memorymesh._bridge import MeshBridge, MeshLike
from memorymesh.stores._filters import INT64_RANGE, METADATA_KEY

from ._batching import OpQueue
from ._index import StoreIndex, best_scores

__all__ = [
    "KEY_KEY",
    "NAMESPACE_KEY",
    "TEXT_KEYS",
    "TTL_KEY",
    "VECTORS_KEY",
    "MemoryMeshItem",
    "MemoryMeshSearchItem",
    "MemoryMeshStore",
]

NAMESPACE_KEY = "langgraph_ns"
KEY_KEY = "langgraph_key"
#: Where an item's semantic-index vectors are kept (see ``_index.py``): ``{path: [floats]}``.
VECTORS_KEY = "langgraph_vectors"
#: An item's LangGraph TTL in minutes, kept so a read can push its expiry out again.
TTL_KEY = "langgraph_ttl"
_RESERVED = frozenset({NAMESPACE_KEY, KEY_KEY, VECTORS_KEY, TTL_KEY})
_TTL_CONFIG_KEYS = frozenset(
    {"default_ttl", "refresh_on_read", "sweep_interval_minutes", "omit_expired"}
)
_log = logging.getLogger("langchain_memorymesh")
#: The value fields whose string becomes the memory's searchable text, first one present wins.
TEXT_KEYS = ("text", "content", "memory")
_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})
#: A filter key: a value's field, or a dotted path to a nested one (``"user.access-level"``),
#: as LangGraph's SQL stores accept them.
_FILTER_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
# A value filter that SQL cannot express (nested values, odd keys) is checked in Python over
# pages of this many candidates.
_PAGE = 500
_MAX_RECALL = 1000
#: The default limit on one value, as UTF-8 JSON: a key-value store holds documents, not
#: just one-line memories, so this is far above the mesh's own text and metadata limits.
DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
# A put that loses a race (another writer inserted or deleted the key between our lookup and
# our write) looks again; each retry follows a write that committed, so a few always suffice.
_PUT_ATTEMPTS = 8
#: A single-op call waiting in the store's queue: the op and its prepared memory (puts).
_Job = tuple[Op, tuple[str, dict[str, Any]] | None]
_Write = tuple[PutOp, tuple[str, dict[str, Any]] | None]
T = TypeVar("T")
#: How much JSON text of vectors a store keeps parsed (about 3x this in memory, as arrays).
_PARSED_CHARS = 32 * 1024 * 1024


def namespace_path(namespace: tuple[str, ...]) -> str:
    """``("users", "u1")`` → ``"users.u1."``, the form stored in ``langgraph_ns``."""
    return "".join(label + "." for label in namespace)


def _namespace(path: str) -> tuple[str, ...]:
    return tuple(path[:-1].split(".")) if path else ()


def _prefix_condition(prefix: tuple[str, ...]) -> dict[str, Any]:
    if not prefix:
        return {"$exists": True}
    start = namespace_path(prefix)
    # Every path under the prefix sorts in [ "a.b." , "a.b/" ): '/' is the byte after '.'.
    return {"$gte": start, "$lt": start[:-1] + "/"}


class MemoryMeshItem(Item):
    """A LangGraph ``Item`` that also says what the privacy guard redacted from its value.

    ``redactions`` lists the kinds of secret (``"api_key"``, ``"password"``, ...) replaced by
    ``[REDACTED:<kind>]`` in the value when it was last put; empty when the value came back
    exactly as put. Namespaces and keys are never redacted.
    """

    __slots__ = ("redactions",)

    def __init__(self, *, redactions: tuple[str, ...] = (), **fields: Any) -> None:
        super().__init__(**fields)
        self.redactions = redactions


class MemoryMeshSearchItem(SearchItem):
    """A LangGraph ``SearchItem`` with ``redactions``, as :class:`MemoryMeshItem`."""

    __slots__ = ("redactions",)

    def __init__(self, *, redactions: tuple[str, ...] = (), **fields: Any) -> None:
        super().__init__(**fields)
        self.redactions = redactions


class MemoryMeshStore(BaseStore):
    """A LangGraph ``BaseStore`` backed by MemoryMesh: pass it as ``store=`` to
    ``create_agent`` or ``StateGraph.compile``.

    ``search`` with a ``query`` ranks by the semantic index when the store has one (``index=``,
    as LangGraph's stores take it: the raw cosine similarity is each ``SearchItem.score``),
    else it is MemoryMesh recall (BM25, and vectors when the mesh has an embedder, blended
    with recency and importance). Without a query, items come most recently updated first.
    Filters take ``$eq $ne $gt $gte $lt $lte`` on the value's keys, and dotted
    paths (``"user.access-level"``) reach nested ones.

    Args:
        mesh: An open :class:`~memorymesh.MemoryMesh` (sync code) or
            :class:`~memorymesh.AsyncMemoryMesh`.
        portal: The blocking portal the mesh was opened in, if sync code opened it there.
        scope: The store every item lives in: ``"project"`` or ``"global"``. By default the
            project store when the mesh has one, else the global store. An item's category
            never moves it: another project never sees this project's items.
        category: The category of every memory written (by default inferred from the text).
        agent: Recorded as the writer of every memory.
        max_value_bytes: The largest value a put accepts, measured as UTF-8 JSON (default
            1 MiB); a larger one raises :class:`~memorymesh.TooLargeError` and writes
            nothing. The whole value is kept and returned; recall searches the first
            ``max_text_chars`` (a mesh setting) characters of its text.
        index: A semantic index, LangGraph's ``IndexConfig``: ``{"dims": 384, "embed": ...,
            "fields": ["text"]}``. ``embed`` is a LangChain ``Embeddings``, a sync or async
            function from a list of texts to vectors, a ``"provider:model"`` string, or a
            MemoryMesh embedder; left out, the mesh's own embedder (``embedding=`` when the
            mesh was opened). ``fields`` are paths into the value (``["$"]``, the whole
            value, by default); ``put(..., index=[...])`` overrides them for one item and
            ``index=False`` leaves it unindexed.
        ttl: LangGraph's ``TTLConfig``: ``default_ttl`` (minutes, for puts that name no
            ``ttl``), ``refresh_on_read`` (default True: a get or search pushes the expiry of
            the items it returns out by their TTL again, unless the call says
            ``refresh_ttl=False``), ``sweep_interval_minutes`` (how often
            :meth:`start_ttl_sweeper` deletes expired items; 5 by default) and
            ``omit_expired`` (hide expired items before they are swept; default False, as in
            LangGraph). A TTL is MemoryMesh expiry: the memory's ``expires_at``.
    """

    supports_ttl = True

    def __init__(
        self,
        *,
        mesh: MeshLike,
        portal: BlockingPortal | None = None,
        scope: Scope | str | None = None,
        category: Category | str | None = None,
        agent: str | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        if isinstance(max_value_bytes, bool) or not isinstance(max_value_bytes, int):
            raise InvalidInputError("max_value_bytes must be a positive integer")
        if max_value_bytes < 1:
            raise InvalidInputError("max_value_bytes must be a positive integer")
        self.max_value_bytes = max_value_bytes
        self._bridge = MeshBridge(mesh, portal)
        self.mesh = self._bridge.mesh  # async, also when a sync MemoryMesh was passed
        chosen = scope_option(scope)
        if chosen is None:
            chosen = Scope.PROJECT if self.mesh.project_path is not None else Scope.GLOBAL
        self.scope: Scope = chosen
        self.category = category_option(category)
        self.agent = agent
        self._index = StoreIndex(index, self.mesh.embedder) if index is not None else None
        #: The index configuration (as LangGraph's stores expose it), or None.
        self.index_config: dict[str, Any] | None = (
            None if self._index is None else self._index.config
        )
        self.embeddings = None if self._index is None else self._index.embeddings
        self.ttl_config: TTLConfig | None = _ttl_config(ttl)
        self._sweeper: asyncio.Task[None] | None = None
        self._sweeper_done: SweeperFuture | None = None
        self._sweeper_loop: asyncio.AbstractEventLoop | None = None
        #: The sweeper run asked to stop (see ``_cancel_sweeper``).
        self._sweeper_stopping: SweeperFuture | None = None
        #: Set after each sweep the sweeper makes (a new event per round).
        self._swept = asyncio.Event()
        # One put or delete of a key at a time in this process: racing writers here would only
        # make each other retry. Other processes are kept in line by the unique index.
        self._key_locks: weakref.WeakValueDictionary[tuple[tuple[str, ...], str], asyncio.Lock]
        self._key_locks = weakref.WeakValueDictionary()
        #: Concurrent single-op calls, run a group at a time (see ``_batching.py``).
        self._queue: OpQueue[_Job] = OpQueue(self._run_group)
        #: Parsed vectors by their JSON text (see ``_vectors_of``), and the texts' total size.
        self._parsed: dict[str, dict[str, npt.NDArray[np.float64]]] = {}
        self._parsed_chars = 0

    # -- the two entry points -------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops`` in order from sync code (through the mesh's event loop)."""
        return self._bridge.call(self._abatch, list(ops))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops`` in order: a later op sees what an earlier put wrote.

        Every put is checked before anything is written, so a bad value writes nothing.

        Raises:
            InvalidNamespaceError: a namespace label is empty or contains ``.``.
            InvalidInputError: a value that is not a JSON object, uses a reserved key
                (``langgraph_ns``, ``langgraph_key``), or is too large.
            InjectedContextError: a value whose text is only context MemoryMesh injected.
            InvalidFilterError: a search filter with a malformed key or an unknown operator
                (a ``ValueError``).
            InvalidInputError: a put whose ``ttl`` is not a positive number of minutes.
        """
        return await self._bridge.acall(self._abatch, list(ops))

    async def _abatch(self, ops: list[Op]) -> list[Result]:
        prepared = self._checked_ops(ops)
        if len(ops) == 1 and self._queue.accepts():
            # A single-op call (aput, aget, ...) joins the calls in flight with it.
            return [cast(Result, await self._queue.submit((ops[0], prepared.get(0))))]
        return await self._run_in_order(ops, prepared)

    async def _run_in_order(
        self, ops: list[Op], prepared: dict[int, tuple[str, dict[str, Any]]]
    ) -> list[Result]:
        if self._index is not None:
            await self._add_vectors(self._index, ops, prepared)
        results: list[Result] = []
        for index, op in enumerate(ops):
            if isinstance(op, PutOp):
                await self._put(op, prepared.get(index))
                results.append(None)
            else:
                results.append(await self._read(op))
        return results

    def _checked_ops(self, ops: list[Op]) -> dict[int, tuple[str, dict[str, Any]]]:
        """Check every op (raising on the first bad one) and prepare each put's memory."""
        prepared: dict[int, tuple[str, dict[str, Any]]] = {}
        for index, op in enumerate(ops):
            if not isinstance(op, GetOp | PutOp | SearchOp | ListNamespacesOp):
                raise InvalidInputError(f"unknown store operation {type(op).__name__}")
            _check_namespace(op)
            if isinstance(op, SearchOp):
                _split_filter(op.filter or {})
            if isinstance(op, PutOp):
                _check_ttl(op.ttl)
                if op.value is not None:
                    prepared[index] = _prepare_value(
                        op.namespace,
                        op.key,
                        op.value,
                        max_value_bytes=self.max_value_bytes,
                        max_text_chars=self.mesh.max_text_chars,
                    )
                    if op.ttl is not None:
                        prepared[index][1][TTL_KEY] = float(op.ttl)
        return prepared

    async def _read(self, op: Op) -> Result:
        if isinstance(op, GetOp):
            return await self._get(op)
        if isinstance(op, SearchOp):
            return await self._search(op)
        assert isinstance(op, ListNamespacesOp)
        return await self._list_namespaces(op)

    async def _run_group(self, jobs: Sequence[_Job]) -> list[object]:
        """Run concurrent single-op calls together (see ``_batching.py``): each distinct read
        once, then the last put or delete of each key, new items in one transaction.

        Returns one outcome per job: its result, or the exception its caller raises.
        """
        if len(jobs) == 1:  # alone: no group to gain from
            op, ready = jobs[0]
            try:
                return [(await self._run_in_order([op], {} if ready is None else {0: ready}))[0]]
            except Exception as exc:
                return [exc]
        outcomes: list[object] = [None] * len(jobs)
        last: dict[tuple[tuple[str, ...], str], int] = {}
        for position, (op, _) in enumerate(jobs):
            if isinstance(op, PutOp):
                last[(op.namespace, op.key)] = position
        writes: dict[int, _Write] = {}
        for position in sorted(last.values()):
            op, ready = jobs[position]
            assert isinstance(op, PutOp)
            writes[position] = (op, ready)
        failed: dict[int, BaseException] = {}
        if self._index is not None:
            failed = await self._embed_group(self._index, writes)
        reads: dict[str, object] = {}
        for position, (op, _) in enumerate(jobs):
            if isinstance(op, PutOp):
                continue
            # Equal ops give equal results (LangGraph's batched stores dedupe reads too).
            seen = repr(op)
            if seen not in reads:
                try:
                    reads[seen] = await self._read(op)
                except Exception as exc:
                    reads[seen] = exc
            found = reads[seen]
            outcomes[position] = list(found) if isinstance(found, list) else found
        written = await self._write_group(
            [job for position, job in writes.items() if position not in failed]
        )
        for position, (op, _) in enumerate(jobs):
            if isinstance(op, PutOp):
                final = last[(op.namespace, op.key)]
                outcomes[position] = failed.get(final, written.get((op.namespace, op.key)))
        return outcomes

    async def _embed_group(
        self, index: StoreIndex, writes: dict[int, _Write]
    ) -> dict[int, BaseException]:
        """Embed every put of a group in one call; if that fails, each put on its own, so
        only the puts whose texts fail do. Returns those failures."""
        ops: list[Op] = [op for op, _ in writes.values()]
        prepared = {i: p for i, (_, p) in enumerate(writes.values()) if p is not None}
        try:
            await self._add_vectors(index, ops, prepared)
            return {}
        except Exception:  # one bad text must not fail the others' puts: try each alone
            _log.debug("embedding a group of puts failed; embedding each alone", exc_info=True)
        failed: dict[int, BaseException] = {}
        for position, (op, ready) in writes.items():
            if ready is None:
                continue
            try:
                await self._add_vectors(index, [op], {0: ready})
            except Exception as exc:
                failed[position] = exc
        return failed

    async def _write_group(self, writes: list[_Write]) -> dict[tuple[tuple[str, ...], str], object]:
        """The last put or delete of each key in a group: deletes in one transaction, new
        items in another, the rest (updates, expired or TTL changes) one by one as
        :meth:`_put` writes them. Returns the outcome per key (None, or the exception)."""
        outcomes: dict[tuple[tuple[str, ...], str], object] = {}
        existing = await self._find_many([(op.namespace, op.key) for op, _ in writes])
        deletes: list[str] = []
        inserts: list[_Write] = []
        one_by_one: list[_Write] = []
        for op, ready in writes:
            current = existing.get((op.namespace, op.key))
            if ready is None:
                if current is not None:
                    deletes.append(current.id)
                outcomes[(op.namespace, op.key)] = None
            elif current is None:
                inserts.append((op, ready))
            else:
                one_by_one.append((op, ready))
        if deletes:
            await self.mesh.forget_many(deletes)
        if inserts:
            try:
                await self._insert_many([ready for _, ready in inserts if ready is not None])
                outcomes.update(((op.namespace, op.key), None) for op, _ in inserts)
            except Exception:  # a key another writer took, a refused secret, ...: one by one
                one_by_one.extend(inserts)
        for op, ready in one_by_one:
            try:
                await self._put(op, ready)
                outcomes[(op.namespace, op.key)] = None
            except Exception as exc:
                outcomes[(op.namespace, op.key)] = exc
        return outcomes

    async def _find_many(
        self, keys: list[tuple[tuple[str, ...], str]]
    ) -> dict[tuple[tuple[str, ...], str], Memory]:
        """The current memory of each namespace + key that has one (expired or not)."""
        by_namespace: dict[tuple[str, ...], list[str]] = {}
        for namespace, key in keys:
            by_namespace.setdefault(namespace, []).append(key)
        found: dict[tuple[tuple[str, ...], str], Memory] = {}
        for namespace, names in by_namespace.items():
            for start in range(0, len(names), _PAGE):
                chunk = names[start : start + _PAGE]
                page = await self.mesh.list(
                    scope=self.scope,
                    metadata_filter={
                        NAMESPACE_KEY: namespace_path(namespace),
                        KEY_KEY: {"$in": chunk},
                    },
                    limit=2 * len(chunk),
                    include_expired=True,
                )
                for memory in page:
                    found.setdefault((namespace, str(memory.metadata.get(KEY_KEY))), memory)
        return found

    async def _insert_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """New items in one transaction (all or none), as :meth:`_write` inserts one."""
        limit = self.mesh.max_metadata_bytes
        batch: list[dict[str, Any]] = []
        for text, metadata in items:
            limit = max(limit, 2 * self.max_value_bytes + _reserved_bytes(metadata))
            ttl = metadata.get(TTL_KEY)
            fields: dict[str, Any] = {
                "text": text,
                "metadata": metadata,
                "scope": self.scope,
                "source": "langchain",
                "on_conflict": "keep_both",
            }
            if self.category is not None:
                fields["category"] = self.category
            if self.agent is not None:
                fields["agent"] = self.agent
            if ttl is not None:
                fields["ttl"] = timedelta(minutes=ttl)
            batch.append(fields)
        await self.mesh.remember_many(batch, max_metadata_bytes=limit)

    async def _add_vectors(
        self, index: StoreIndex, ops: list[Op], prepared: dict[int, tuple[str, dict[str, Any]]]
    ) -> None:
        """Embed every put's indexed fields in one call, before anything is written."""
        wanted: list[tuple[int, str, str]] = []
        for position, (_, metadata) in prepared.items():
            op = ops[position]
            assert isinstance(op, PutOp)
            if op.index is False:
                continue
            paths = None if op.index is None else list(op.index)
            value = {k: v for k, v in metadata.items() if k not in _RESERVED}
            wanted.extend((position, path, text) for path, text in index.texts(value, paths))
        vectors = await index.embed([text for _, _, text in wanted])
        for (position, path, _), vector in zip(wanted, vectors, strict=True):
            prepared[position][1].setdefault(VECTORS_KEY, {})[path] = vector

    # -- TTL sweeping -------------------------------------------------------------------------

    async def asweep_ttl(self) -> int:
        """Delete every expired item of this store now; return how many went."""
        return await self._bridge.acall(self._sweep)

    def sweep_ttl(self) -> int | asyncio.Task[int]:
        """:meth:`asweep_ttl` from sync code.

        Called from async code on the mesh's own event loop, where a sync call cannot wait,
        it returns a task to await instead (``await store.sweep_ttl()``, as LangGraph's async
        stores are called).
        """
        if self._on_mesh_loop():
            return asyncio.ensure_future(self._sweep())
        return self._bridge.call(self._sweep)

    def _on_mesh_loop(self) -> bool:
        """Whether the caller is async code on the loop the mesh runs on (no portal)."""
        return self._bridge.portal is None and _running_loop() is not None

    async def _sweep(self) -> int:
        everything = {NAMESPACE_KEY: _prefix_condition(())}
        live = await self.mesh.count(scope=self.scope, metadata_filter=everything)
        total = await self.mesh.count(
            scope=self.scope, metadata_filter=everything, include_expired=True
        )
        if total == live:
            return 0  # nothing has expired: no need to look at every item
        expired: list[str] = []
        start = 0
        while True:
            page = await self.mesh.list(
                scope=self.scope,
                metadata_filter=everything,
                limit=_PAGE,
                offset=start,
                order="oldest",
                include_expired=True,
            )
            expired.extend(m.id for m in page if _expired(m))
            if len(page) < _PAGE:
                break
            start += _PAGE
        return await self.mesh.forget_many(expired) if expired else 0

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> SweeperFuture:
        """Delete expired items every ``sweep_interval_minutes`` (else the TTL config's, else
        5), in a task on the mesh's event loop, until :meth:`stop_ttl_sweeper`.

        Callable from sync code and from async code on the mesh's loop alike. Without a
        ``ttl=`` configuration there is nothing to sweep and the future is already done.

        Returns:
            A future that completes when the sweeper stops (cancelling it stops it). It can
            also be awaited, to the same future, so ``await store.start_ttl_sweeper()``
            works as with LangGraph's async stores.
        """
        done = SweeperFuture()
        if not self.ttl_config:
            done.set_result(None)
            return done
        if self._sweeper_done is not None and not self._sweeper_done.done():
            return self._sweeper_done
        minutes = sweep_interval_minutes or self.ttl_config.get("sweep_interval_minutes") or 5
        if not isinstance(minutes, int | float) or not math.isfinite(minutes) or minutes <= 0:
            raise InvalidInputError("sweep_interval_minutes must be a positive number")
        self._sweeper_done = done

        async def spawn() -> None:
            self._spawn_sweeper(minutes, done)

        if self._on_mesh_loop():
            # Async code on the mesh's loop: start the task right here, without blocking.
            self._spawn_sweeper(minutes, done)
        else:
            self._bridge.call(spawn)
        done.add_done_callback(lambda f: self._cancel_sweeper() if f.cancelled() else None)
        return done

    def _spawn_sweeper(self, minutes: float, done: SweeperFuture) -> None:
        self._sweeper_loop = asyncio.get_running_loop()
        self._sweeper = self._sweeper_loop.create_task(self._sweep_forever(minutes, done))
        # A task cancelled before its first step never runs its body (nor its `finally`).
        self._sweeper.add_done_callback(lambda _: _settle(done))

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool | asyncio.Future[bool]:
        """Stop the sweeper; True once it has stopped (or was not running).

        From sync code this waits up to ``timeout`` seconds for the sweep in progress to
        end. From async code on the mesh's own loop, where a sync call cannot wait, it asks
        the task to stop and returns a future to await for the same answer
        (``await store.stop_ttl_sweeper()``, as LangGraph's async stores are called).
        """
        done = self._sweeper_done
        if done is None or done.done():
            return _finished(True) if self._on_mesh_loop() else True
        self._cancel_sweeper()
        if _running_loop() is self._sweeper_loop:
            return asyncio.ensure_future(_stopped(done, timeout))
        try:
            done.result(timeout)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            return done.done()
        return True

    def _cancel_sweeper(self) -> None:
        task, loop = self._sweeper, self._sweeper_loop
        if task is None or loop is None or task.done():
            return
        # The sweeper also checks this between rounds: a cancellation that lands while a
        # sweep is inside the mesh's shielded database work can be absorbed there, and the
        # sweeper must stop all the same (else stop_ttl_sweeper() waits forever).
        self._sweeper_stopping = self._sweeper_done
        if _running_loop() is loop:
            task.cancel()
        else:
            loop.call_soon_threadsafe(task.cancel)

    async def _sweep_forever(self, minutes: float, done: SweeperFuture) -> None:
        try:
            while self._sweeper_stopping is not done:
                await asyncio.sleep(minutes * 60)
                if self._sweeper_stopping is done:
                    break
                try:
                    swept = await self._sweep()
                    if swept:
                        _log.info("MemoryMeshStore swept %d expired items", swept)
                except Exception:  # a failed round must not end the sweeper
                    _log.exception("MemoryMeshStore TTL sweep failed")
                swept_event, self._swept = self._swept, asyncio.Event()
                swept_event.set()
        finally:
            if not done.done():
                done.set_result(None)

    # -- ops --------------------------------------------------------------------------------

    async def _find(self, namespace: tuple[str, ...], key: str) -> Memory | None:
        """The item's memory, expired or not: an expired item still holds its key (the
        store keeps each namespace + key unique among current memories) until swept."""
        found = await self.mesh.list(
            scope=self.scope,
            metadata_filter={NAMESPACE_KEY: namespace_path(namespace), KEY_KEY: key},
            limit=1,
            include_expired=True,
        )
        return found[0] if found else None

    @property
    def _omit_expired(self) -> bool:
        return bool(self.ttl_config and self.ttl_config.get("omit_expired", False))

    async def _get(self, op: GetOp) -> Item | None:
        memory = await self._find(op.namespace, op.key)
        if memory is None or (_expired(memory) and self._omit_expired):
            return None
        if op.refresh_ttl:
            memory = (await self._refresh([memory]))[0]
        return _item(memory)

    async def _refresh(self, memories: list[Memory]) -> list[Memory]:
        """Push each live item's expiry out by its TTL again (a read keeps it alive); an
        item that has already expired, or has no TTL, is left as it is."""
        refreshed: list[Memory] = []
        for memory in memories:
            ttl = memory.metadata.get(TTL_KEY)
            if isinstance(ttl, int | float) and not _expired(memory):
                # Deleted since it was read: the read still returns what it saw.
                with contextlib.suppress(MemoryNotFoundError):
                    memory = await self.mesh.update(
                        memory.id, expires_at=datetime.now(UTC) + timedelta(minutes=ttl)
                    )
            refreshed.append(memory)
        return refreshed

    async def _put(self, op: PutOp, prepared: tuple[str, dict[str, Any]] | None) -> None:
        """An atomic upsert (or delete) of one item, across processes too.

        Look up, then update or insert. The store's unique index on namespace + key makes the
        insert fail with :class:`KeyConflictError` if another writer inserted first, and an
        update or delete of a row another writer just deleted finds nothing: either way we
        look again and write over whatever is current, so one item is left, last write wins.
        """
        lock = self._key_locks.get((op.namespace, op.key))
        if lock is None:
            lock = self._key_locks[(op.namespace, op.key)] = asyncio.Lock()
        async with lock:
            await self._put_locked(op, prepared)

    async def _put_locked(self, op: PutOp, prepared: tuple[str, dict[str, Any]] | None) -> None:
        for attempt in range(_PUT_ATTEMPTS):
            existing = await self._find(op.namespace, op.key)
            try:
                await self._write(existing, prepared)
                return
            except MemoryNotFoundError:
                if prepared is None:
                    return  # someone else deleted it first: deleted is what we wanted
                if attempt == _PUT_ATTEMPTS - 1:
                    raise
            except KeyConflictError:
                if attempt == _PUT_ATTEMPTS - 1:
                    raise

    async def _write(
        self, existing: Memory | None, prepared: tuple[str, dict[str, Any]] | None
    ) -> None:
        if prepared is None:
            if existing is not None:
                await self.mesh.forget(existing.id)
            return
        text, metadata = prepared
        ttl = metadata.get(TTL_KEY)
        # The value was checked against max_value_bytes; the memory's metadata adds the
        # namespace and key, and redaction markers may lengthen secrets.
        limit = max(
            self.mesh.max_metadata_bytes, 2 * self.max_value_bytes + _reserved_bytes(metadata)
        )
        if existing is not None and (
            _expired(existing) or (ttl is None and existing.expires_at is not None)
        ):
            # An expired item is gone to readers, and an expiry cannot be unset in place: the
            # put makes a new item, created now.
            await self.mesh.forget(existing.id)
            existing = None
        if existing is not None:
            await self.mesh.update(
                existing.id,
                text=text,
                metadata=metadata,
                expires_at=None if ttl is None else datetime.now(UTC) + timedelta(minutes=ttl),
                max_metadata_bytes=limit,
            )
            return
        # keep_both: two keys may hold the same text, and each must stay its own item.
        await self.mesh.remember(
            text,
            metadata=metadata,
            scope=self.scope,
            category=self.category,
            source="langchain",
            agent=self.agent,
            on_conflict="keep_both",
            ttl=None if ttl is None else timedelta(minutes=ttl),
            max_metadata_bytes=limit,
        )

    async def _search(self, op: SearchOp) -> list[SearchItem]:
        if op.limit <= 0 or op.offset < 0:
            return []
        found = await self._search_memories(op)
        if op.refresh_ttl:
            memories = await self._refresh([m for m, _ in found])
            found = [(m, s) for m, (_, s) in zip(memories, found, strict=True)]
        return [_search_item(m, s) for m, s in found]

    async def _search_memories(self, op: SearchOp) -> list[tuple[Memory, float | None]]:
        sql_filter, residual = _split_filter(op.filter or {})
        metadata_filter = {NAMESPACE_KEY: _prefix_condition(op.namespace_prefix), **sql_filter}
        wanted = op.offset + op.limit
        if op.query and self._index is not None:
            return await self._semantic_search(self._index, op, metadata_filter, residual)
        if op.query and op.query.strip():
            hits = await self.mesh.recall(
                op.query,
                k=min(_MAX_RECALL, _MAX_RECALL if residual else wanted),
                scope=self.scope,
                metadata_filter=metadata_filter,
            )
            kept = [h for h in hits if _matches(h.memory, residual)]
            return [(h.memory, h.score) for h in kept[op.offset : wanted]]
        if not residual:
            page = await self.mesh.list(
                scope=self.scope,
                metadata_filter=metadata_filter,
                limit=op.limit,
                offset=op.offset,
                order="updated",
                include_expired=not self._omit_expired,
            )
            return [(m, None) for m in page]
        matched = await self._matching(metadata_filter, residual, wanted=wanted)
        return [(m, None) for m in matched[op.offset : wanted]]

    async def _matching(
        self,
        metadata_filter: dict[str, Any],
        residual: dict[str, dict[str, Any]],
        *,
        wanted: int | None = None,
    ) -> list[Memory]:
        """The items the namespace and filter allow, most recently updated first, a page at a
        time (the residual conditions are checked here), stopping once ``wanted`` are found."""
        matched: list[Memory] = []
        start = 0
        while wanted is None or len(matched) < wanted:
            page = await self.mesh.list(
                scope=self.scope,
                metadata_filter=metadata_filter,
                limit=_PAGE,
                offset=start,
                order="updated",
                include_expired=not self._omit_expired,
            )
            matched.extend(m for m in page if _matches(m, residual))
            if len(page) < _PAGE:
                break
            start += _PAGE
        return matched

    async def _semantic_search(
        self,
        index: StoreIndex,
        op: SearchOp,
        metadata_filter: dict[str, Any],
        residual: dict[str, dict[str, Any]],
    ) -> list[tuple[Memory, float | None]]:
        """Rank every item the namespace and filter allow by its best field's similarity to
        the query (the index's distance_type); unindexed items follow, unscored, if the page
        has room.

        The candidates' vectors are read in SQL, without building their memories (which
        is most of the time otherwise: parsing each value, checking it for secrets); only
        the page returned is read whole. A filter that SQL cannot run (a nested path), or a
        store that cannot read metadata in SQL (encrypted), reads every candidate instead.
        """
        assert op.query is not None
        query = await index.embed_query(op.query)
        rows = None
        if not residual:
            rows = await self.mesh._metadata_of(  # the adapter's own read path
                VECTORS_KEY,
                scope=self.scope,
                metadata_filter=metadata_filter,
                include_expired=not self._omit_expired,
            )
        if rows is None:
            candidates = await self._matching(metadata_filter, residual)
            return _ranked(
                op,
                [(m, _vectors(m)) for m in candidates],
                index.distance,
                query,
            )
        ranked = _ranked(
            op, [(i, self._vectors_of(text)) for i, text in rows], index.distance, query
        )
        found: list[tuple[Memory, float | None]] = []
        for memory_id, score in ranked:
            with contextlib.suppress(MemoryNotFoundError):  # deleted since: not returned
                found.append((await self.mesh.get(memory_id), score))
        return found

    def _vectors_of(self, text: str | None) -> Mapping[str, Any]:
        """An item's ``{path: vector}`` from its JSON text, parsed once per distinct text:
        parsing is most of a search's time, and an item's vectors change only when it is
        put again (which changes the text, so nothing stale is ever found here)."""
        if text is None:
            return {}
        found = self._parsed.get(text)
        if found is None:
            loaded = json.loads(text)
            found = {}
            if isinstance(loaded, dict):
                for path, vector in loaded.items():
                    if isinstance(vector, list):
                        found[path] = np.asarray(vector, dtype=np.float64)
            if self._parsed_chars + len(text) > _PARSED_CHARS:
                self._parsed.clear()  # a bounded cache: start again rather than grow
                self._parsed_chars = 0
            self._parsed[text] = found
            self._parsed_chars += len(text)
        return found

    async def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conditions = tuple(op.match_conditions or ())
        # Narrow in SQL by the longest literal start of a prefix condition; wildcards and
        # suffixes are checked on the (few) distinct namespaces that come back.
        literal: tuple[str, ...] = ()
        for condition in conditions:
            if condition.match_type == "prefix":
                start: list[str] = []
                for label in condition.path:
                    if label == "*":
                        break
                    start.append(label)
                literal = max(literal, tuple(start), key=len)
        paths = await self.mesh.metadata_values(
            NAMESPACE_KEY,
            scope=self.scope,
            metadata_filter={NAMESPACE_KEY: _prefix_condition(literal)},
        )
        found: set[tuple[str, ...]] = set()
        for path in paths:
            if not isinstance(path, str):
                continue
            namespace = _namespace(path)
            if all(_namespace_matches(condition, namespace) for condition in conditions):
                found.add(namespace if op.max_depth is None else namespace[: op.max_depth])
        ordered = sorted(found)
        return ordered[op.offset : op.offset + op.limit]


# -- values ----------------------------------------------------------------------------------


def _reserved_bytes(metadata: Mapping[str, Any]) -> int:
    """The size of what the store adds to a value: namespace, key and vectors."""
    added = {k: v for k, v in metadata.items() if k in _RESERVED}
    return len(json.dumps(added).encode("utf-8"))


def _prepare_value(
    namespace: tuple[str, ...],
    key: str,
    value: Mapping[str, Any],
    *,
    max_value_bytes: int,
    max_text_chars: int,
) -> tuple[str, dict[str, Any]]:
    """The memory text and metadata for one put, checked before anything is written.

    The text recall searches is the value's text cut to ``max_text_chars`` characters; the
    value itself is kept whole.
    """
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInputError("a store value must be a mapping with string keys")
    reserved = sorted(_RESERVED & set(value))
    if reserved:
        raise InvalidInputError(f"value keys {reserved} are reserved by MemoryMeshStore")
    text_source = next(
        (value[k] for k in TEXT_KEYS if isinstance(value.get(k), str) and value[k].strip()),
        None,
    )
    if text_source is not None and not strip_injected(text_source).strip():
        raise InjectedContextError(
            "the value's text is only context MemoryMesh injected; it is already remembered"
        )
    # Recalled context pasted into a value is not memory: drop the marked blocks.
    cleaned = {
        k: strip_injected(v) if isinstance(v, str) and contains_injected(v) else v
        for k, v in value.items()
    }
    try:
        as_json = json.dumps(cleaned, ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"a store value must be JSON-serialisable: {exc}") from None
    size = len(as_json.encode("utf-8"))
    if size > max_value_bytes:
        raise TooLargeError(
            f"the value for key {key!r} is {size} bytes as JSON; this store's limit is "
            f"{max_value_bytes} (MemoryMeshStore(max_value_bytes=...))"
        )
    text = strip_injected(text_source) if text_source is not None else as_json
    text = text.strip()[:max_text_chars]
    return text, {**json.loads(as_json), NAMESPACE_KEY: namespace_path(namespace), KEY_KEY: key}


class SweeperFuture(concurrent.futures.Future[None]):
    """The TTL sweeper's handle: a ``concurrent.futures.Future`` that completes when the
    sweeper stops, and that ``await`` hands back (so ``await store.start_ttl_sweeper()``
    works as it does with LangGraph's async stores, which return the sweeper's task)."""

    def __await__(self) -> Generator[Any, None, SweeperFuture]:
        yield from ()  # a generator that never suspends
        return self


def _settle(done: SweeperFuture) -> None:
    if not done.done():
        done.set_result(None)


def _finished(value: bool) -> asyncio.Future[bool]:
    future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


async def _stopped(done: SweeperFuture, seconds: float | None) -> bool:
    """Wait (up to ``seconds``) for a cancelled sweeper to end."""
    with contextlib.suppress(TimeoutError, concurrent.futures.CancelledError):
        await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)), seconds)
    return done.done()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _ttl_config(config: TTLConfig | None) -> TTLConfig | None:
    """``config`` checked: known keys, positive numbers of minutes, booleans."""
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise InvalidInputError("ttl= must be a TTLConfig mapping such as {'default_ttl': 60}")
    unknown = sorted(set(config) - _TTL_CONFIG_KEYS)
    if unknown:
        raise InvalidInputError(f"unknown ttl setting(s) {unknown}; use {sorted(_TTL_CONFIG_KEYS)}")
    settings: dict[str, Any] = dict(config)
    for name in ("default_ttl", "sweep_interval_minutes"):
        if settings.get(name) is not None:
            _check_minutes(settings[name], name)
    for name in ("refresh_on_read", "omit_expired"):
        if name in settings and not isinstance(settings[name], bool):
            raise InvalidInputError(f"ttl setting {name} must be True or False")
    return cast(TTLConfig, settings)


def _check_minutes(value: Any, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidInputError(f"{name} must be a positive number of minutes, not {value!r}")


def _check_ttl(ttl: Any) -> None:
    if ttl is not None:
        _check_minutes(ttl, "ttl")


def _ranked(
    op: SearchOp,
    candidates: Sequence[tuple[T, Mapping[str, Any]]],
    distance: str,
    query: Any,
) -> list[tuple[T, float | None]]:
    """The page of ``candidates`` (in the order a search without a query lists them, each
    with its ``{path: vector}``) a semantic search returns: the scored ones best first
    (equal scores keep that order), then unscored ones while the page has room."""
    scores = best_scores(query, [vectors for _, vectors in candidates], distance)
    scored = sorted(
        ((s, c) for s, (c, _) in zip(scores, candidates, strict=True) if s is not None),
        key=lambda pair: -pair[0],
    )
    kept: list[tuple[T, float | None]] = [
        (c, s) for s, c in scored[op.offset : op.offset + op.limit]
    ]
    if len(kept) < op.limit:
        unscored = [c for s, (c, _) in zip(scores, candidates, strict=True) if s is None]
        kept.extend((c, None) for c in unscored[: op.limit - len(kept)])
    return kept


def _vectors(memory: Memory) -> Mapping[str, Any]:
    vectors = memory.metadata.get(VECTORS_KEY)
    return vectors if isinstance(vectors, Mapping) else {}


def _expired(memory: Memory) -> bool:
    return memory.expires_at is not None and memory.expires_at <= datetime.now(UTC)


def _parts(memory: Memory) -> tuple[dict[str, Any], tuple[str, ...], str]:
    metadata = memory.metadata
    value = {k: v for k, v in metadata.items() if k not in _RESERVED}
    namespace = _namespace(str(metadata.get(NAMESPACE_KEY, "")))
    return value, namespace, str(metadata.get(KEY_KEY, memory.id))


def _item(memory: Memory) -> MemoryMeshItem:
    value, namespace, key = _parts(memory)
    return MemoryMeshItem(
        value=value,
        key=key,
        namespace=namespace,
        created_at=memory.created_at,
        updated_at=memory.updated_at,
        redactions=memory.redactions,
    )


def _search_item(memory: Memory, score: float | None) -> MemoryMeshSearchItem:
    value, namespace, key = _parts(memory)
    return MemoryMeshSearchItem(
        namespace=namespace,
        key=key,
        value=value,
        created_at=memory.created_at,
        updated_at=memory.updated_at,
        score=score,
        redactions=memory.redactions,
    )


def _check_namespace(op: Op) -> None:
    """Refuse labels that would not survive the ``.``-joined form (ops given to ``batch``
    directly skip ``BaseStore``'s own checks)."""
    if isinstance(op, GetOp | PutOp):
        paths: tuple[tuple[str, ...], ...] = (op.namespace,)
    elif isinstance(op, SearchOp):
        paths = (op.namespace_prefix,)
    else:
        paths = tuple(tuple(c.path) for c in op.match_conditions or ())
    for path in paths:
        for label in path:
            if not isinstance(label, str) or not label or "." in label or "\x00" in label:
                raise InvalidNamespaceError(
                    f"namespace label {label!r} in {path!r} must be a non-empty string "
                    "without '.' or NUL"
                )


# -- filters ---------------------------------------------------------------------------------


def _is_scalar(value: Any) -> bool:
    """Whether SQL can compare with ``value`` exactly (else Python checks it)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value in INT64_RANGE  # 10**100 cannot be bound; Python compares it exactly
    return value is None or isinstance(value, str | bool)


def _split_filter(spec: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Split a LangGraph filter into what SQL runs and what Python checks afterwards."""
    if not isinstance(spec, Mapping):
        raise InvalidFilterError("a search filter must be a mapping of key to condition")
    sql: dict[str, Any] = {}
    residual: dict[str, dict[str, Any]] = {}
    for key, condition in spec.items():
        if not isinstance(key, str) or not _FILTER_KEY.match(key):
            raise InvalidFilterError(
                f"Invalid filter key: {key!r}. Filter keys are field names of letters, digits, "
                "'_' and '-', joined by '.' to reach nested fields"
            )
        if key.split(".")[0] in _RESERVED:
            raise InvalidFilterError(f"filter key {key!r} is reserved by MemoryMeshStore")
        if isinstance(condition, Mapping) and any(str(k).startswith("$") for k in condition):
            ops = dict(condition)
        else:
            ops = {"$eq": condition}
        unknown = sorted(set(ops) - _OPERATORS)
        if unknown:
            raise InvalidFilterError(
                f"filter {key!r}: unknown operator(s) {unknown}; use {sorted(_OPERATORS)}"
            )
        if METADATA_KEY.match(key) and all(_is_scalar(v) for v in ops.values()):
            sql[key] = ops
        else:
            residual[key] = ops
    return sql, residual


def _at_path(value: Any, key: str) -> Any:
    """The field a dotted filter key names, or None when the path does not exist."""
    for part in key.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _matches(memory: Memory, residual: Mapping[str, Mapping[str, Any]]) -> bool:
    for key, ops in residual.items():
        actual = _at_path(memory.metadata, key)
        for op, wanted in ops.items():
            if not _compare(actual, op, wanted):
                return False
    return True


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if op == "$eq":
        return _contains(actual, wanted)
    if op == "$ne":
        return not _contains(actual, wanted)
    try:
        if op == "$gt":
            return bool(actual > wanted)
        if op == "$gte":
            return bool(actual >= wanted)
        if op == "$lt":
            return bool(actual < wanted)
        return bool(actual <= wanted)
    except TypeError:  # e.g. a string against a number: no match, as in SQL
        return False


def _contains(actual: Any, wanted: Any) -> bool:
    """JSON containment: a wanted object matches an actual object holding those keys."""
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(
            _contains(actual.get(k), v) for k, v in wanted.items()
        )
    if isinstance(wanted, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(wanted)
            and all(_contains(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return bool(actual == wanted)


def _namespace_matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(path) > len(namespace):
        return False
    window = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    if not path:
        return True
    return all(p == "*" or p == n for p, n in zip(path, window, strict=True))
