"""``AsyncMemoryMesh``: the one implementation of every MemoryMesh operation."""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TextIO

import anyio
import anyio.lowlevel

from ._errors import (
    ClosedError,
    EmbeddingError,
    EncryptionError,
    InvalidFilterError,
    InvalidInputError,
    StoreError,
)
from ._models import (
    Category,
    Conflict,
    ConflictPair,
    ConflictPolicy,
    JudgeReport,
    ListOrder,
    Memory,
    MemoryStats,
    NewMemory,
    RecallResults,
    Scope,
    ScoringWeights,
    SessionRecord,
    WriteLogEntry,
    default_weights,
    trusted_explanation,
    trusted_memory,
    trusted_result,
)
from ._paths import IN_MEMORY, default_global_path, find_project_root, project_store_path
from ._text import query_terms
from ._validate import (
    CategoryArg,
    check_policy,
    check_scope,
)
from ._vocab import MAX_RECALL_K
from .context._session import (
    DEFAULT_BUDGET_TOKENS,
    SessionContext,
    build_session_context,
    session_chain,
)
from .embeddings._chat import ChatModel, resolve_judge
from .embeddings._embedders import Embedder, resolve_embedder
from .search import _listing as listing
from .search._vectors import to_blob
from .stores import Store, StoreOptions, holds_both_scopes, open_store, resolve_location
from .stores._filters import METADATA_KEY, TimeField
from .stores._recalled import fields_of
from .stores.base import checked_filters, metadata_reader
from .stores.sqlite._crypto import (
    EncryptionKey,
    is_sealed_document,
    open_document,
    seal_document,
)
from .writes import _lifecycle as lifecycle
from .writes._indexes import Indexes
from .writes._pipeline import Prepared, write_all
from .writes._prepare import WriteRules, as_new
from .writes._privacy import PrivacyGuard, PrivacyMode

if TYPE_CHECKING:
    # Imported where they are used (below, each in its method): a one-shot remember or
    # capture loads no recall ranking, review queue, judge or import/export code.
    from .context._compact import CompactPolicy, CompactReport
    from .context._instructions import SyncReport, SyncWeights
    from .context._quality import QualityReport
    from .io._export import ExportFormat, ImportReport
    from .io._import_v4 import V4ImportReport
    from .search._recall import RecallMode

__all__ = ["AsyncMemoryMesh"]

logger = logging.getLogger("memorymesh")

DEFAULT_MAX_TEXT_CHARS = 20_000
DEFAULT_MAX_METADATA_BYTES = 64 * 1024
# remember_many validates this many items between yields to the event loop (a few ms of
# work each): see benchmarks/bench_loop_lag.py.
_PREPARE_CHUNK = 64
#: How long recall's access counts wait before they are written, so a burst of recalls costs
#: one write transaction instead of one each (reads overlay counts not yet written).
_ACCESS_FLUSH_DELAY = 1.0
#: ``recall(mode=...)``: ``auto`` is ``hybrid`` with an embedder and ``keyword`` without.

PathLike = str | os.PathLike[str]


class AsyncMemoryMesh:
    """Persistent, local long-term memory for LLM agents.

    Two stores back one mesh: the *project* store (``<project>/.memorymesh/memories.db``)
    and the *global* store (``~/.memorymesh/global.db``), which follows the user everywhere.
    Writes go to the store of the memory's scope; recall searches both and merges by score.
    Each is a SQLite file by default, or any engine registered for a URL scheme.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with AsyncMemoryMesh() as mesh:
            await mesh.remember("User prefers dark mode", category="preference")
            hits = await mesh.recall("which theme does the user like?")

    Args:
        path: The project store: a file, a URL (``"sqlite:///notes.db"``, or a scheme
            added with :func:`~memorymesh.register_store`), or ``":memory:"``. By default the
            project
            root is found by walking up from the working directory (or read from
            ``MEMORYMESH_PROJECT_ROOT``); outside any project, project-scoped memories go to
            the global store.
        global_path: The global store, in the same forms (default
            ``$MEMORYMESH_HOME/global.db``, with ``MEMORYMESH_HOME`` defaulting to
            ``~/.memorymesh``).
        embedding: ``"none"`` (keyword recall), a registered provider name, any object
            implementing :class:`~memorymesh.Embedder`, or ``"auto"``: the embedder the
            stores recorded when they were last embedded (keyword recall if none was).
        weights: How recall blends relevance, recency, importance and access frequency.
        max_text_chars: Longest text ``remember`` accepts.
        max_metadata_bytes: Largest metadata object (as JSON) ``remember`` accepts.
        source: Recorded on every memory this mesh writes, unless a call names its own.
        agent: Recorded as the writer of every memory, unless a call names its own.
        busy_timeout: Seconds to wait for another process's write lock before retrying.
        on_conflict: The default :data:`~memorymesh.ConflictPolicy` of writes.
        privacy: What the privacy guard does with secrets (API keys, tokens, passwords,
            private keys...) found in text or metadata: ``"redact"`` (default) stores
            ``[REDACTED:<kind>]`` in their place, ``"reject"`` raises
            :class:`~memorymesh.SecretDetectedError`, ``"allow"`` stores them as given.
            Recall redacts its output too, unless ``"allow"``. See ``docs/security.md``.
        encryption_key: Encrypt new stores at rest (needs ``memorymesh[encryption]``): a
            passphrase (``str``, 8+ characters) or a raw 32-byte key. Defaults to the
            ``MEMORYMESH_ENCRYPTION_KEY`` environment variable. An encrypted store cannot be
            opened without it; a wrong key raises :class:`~memorymesh.EncryptionError`.
        project: On a shared server (``postgresql://...``, see ``docs/teams.md``): the key
            project memories are filed under, shared by everyone using it. Defaults to the
            git remote (``github.com/acme/api``), else the project folder's name.
        user: On a shared server: whose global memories these are. Defaults to the OS user.
            When ``path`` is a server URL and ``global_path`` is not given, the global store
            is that same database.
        judge: A chat model that settles the conflicts the detector is unsure of, off the
            write path (``"ollama:llama3.2"``, ``"openai:gpt-4o-mini"`` or an object with
            ``name`` and async ``complete(system, user)``). Default: ``$MEMORYMESH_JUDGE``,
            unset means no judge and nothing is ever sent; ``"none"`` turns it off.
    """

    def __init__(
        self,
        path: PathLike | None = None,
        *,
        global_path: PathLike | None = None,
        embedding: str | Embedder | None = "none",
        weights: ScoringWeights | None = None,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES,
        source: str = "api",
        agent: str | None = None,
        busy_timeout: float = 5.0,
        on_conflict: ConflictPolicy = "supersede",
        privacy: PrivacyMode = "redact",
        encryption_key: str | bytes | None = None,
        project: str | None = None,
        user: str | None = None,
        judge: str | ChatModel | None = None,
    ) -> None:
        self.on_conflict = check_policy(on_conflict)
        # Off unless configured: nothing is ever sent to a model the user did not name.
        self._judge = resolve_judge(judge)
        self._privacy = PrivacyGuard(privacy)
        # "auto": the embedder the stores recorded, looked up when they open.
        self._auto_embedding = embedding == "auto"
        self._embedder = None if self._auto_embedding else resolve_embedder(embedding)
        self.weights = weights or default_weights()
        self.max_text_chars = max_text_chars
        self.max_metadata_bytes = max_metadata_bytes
        self._source = source
        self._agent = agent

        global_location = (
            resolve_location(global_path) if global_path is not None else str(default_global_path())
        )
        if path is None:
            root = find_project_root()
            project_location = str(project_store_path(root)) if root is not None else None
        else:
            project_location = resolve_location(path)
            # A shared server database holds both scopes (see docs/teams.md).
            if global_path is None and holds_both_scopes(project_location):
                global_location = project_location
        # Encryption at rest (see stores/sqlite/_crypto.py): one key for both stores, each with
        # its own salt.
        key = (
            encryption_key
            if encryption_key is not None
            else os.environ.get("MEMORYMESH_ENCRYPTION_KEY") or None
        )
        # Kept to seal exports of the encrypted stores with the same key (issue #17).
        self._encryption_key = EncryptionKey.of(key)
        self._global = open_store(
            global_location,
            StoreOptions(Scope.GLOBAL, busy_timeout, key, project=project, user=user),
        )
        self._project: Store | None = None
        if project_location is not None and not (
            project_location != IN_MEMORY
            and project_location == global_location
            and not holds_both_scopes(project_location)
        ):
            self._project = open_store(
                project_location,
                StoreOptions(Scope.PROJECT, busy_timeout, key, project=project, user=user),
            )

        self._open_lock = anyio.Lock()
        self._opened = False
        self._closed = False
        # Set by `async with`: access statistics are then flushed in the background.
        self._background = False
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_scheduled = False
        self._flush_delay: anyio.CancelScope | None = None
        self._judge_scope: anyio.CancelScope | None = None
        self._judge_task: asyncio.Task[None] | None = None
        # One judge run at a time (the background one and an explicit judge_pending): a
        # pair is never sent twice.
        self._judge_lock = anyio.Lock()
        self._judge_again = False
        # Per store, this process's vector and token indexes (see writes/_indexes.py).
        self._indexes = Indexes(self._embedder)

    # -- lifetime -----------------------------------------------------------------------------

    @property
    def stores(self) -> tuple[Store, ...]:
        """The open stores, project first."""
        return tuple(s for s in (self._project, self._global) if s is not None)

    @property
    def project_path(self) -> str | None:
        """The project store's file, ``":memory:"``, or None outside any project."""
        return None if self._project is None else self._project.label

    @property
    def global_path(self) -> str:
        return self._global.label

    @property
    def embedder(self) -> Embedder | None:
        return self._embedder

    @property
    def judge(self) -> ChatModel | None:
        """The chat model that settles uncertain conflicts, or None (the default)."""
        return self._judge

    @property
    def privacy(self) -> PrivacyMode:
        """The privacy guard's mode: ``"redact"``, ``"reject"`` or ``"allow"``."""
        return self._privacy.mode

    @property
    def closed(self) -> bool:
        return self._closed

    async def open(self) -> Self:
        """Open both stores and apply migrations. Called for you on first use.

        :raises StoreError: a database cannot be opened, is damaged, or is from a newer version.
        :raises ClosedError: the mesh was closed.
        """
        if self._opened and not self._closed:
            return self
        async with self._open_lock:
            if self._closed:
                raise ClosedError("this AsyncMemoryMesh is closed; create a new one")
            if not self._opened:
                try:
                    for store in self.stores:
                        await store.open()
                    if self._auto_embedding:
                        self._embedder = await self._recorded_embedder()
                        self._indexes.embedder = self._embedder
                    try:
                        await self._indexes.open(self.stores)
                    except EmbeddingError as exc:
                        if not self._auto_embedding:
                            raise
                        # Nobody asked for this embedder: an unreachable one (an Ollama
                        # server that is down) leaves keyword recall working.
                        warnings.warn(
                            f"MemoryMesh: {exc}; using keyword recall", RuntimeWarning, stacklevel=2
                        )
                        self._embedder = None
                        self._indexes = Indexes(None)
                except BaseException:
                    for store in self.stores:
                        await store.close()
                    self._closed = True
                    raise
                self._opened = True
        return self

    async def __aenter__(self) -> Self:
        await self.open()
        # No task group is held from here to __aexit__: its cancel scope would have to be left
        # by the task that entered it, and pytest-asyncio's async-generator fixtures (like
        # other frameworks' setup/teardown hooks) enter and exit in different tasks. The
        # background flush runs in a task of its own instead, awaited by aclose().
        self._background = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Apply pending access statistics and close both stores. Safe to call twice."""
        if self._closed:
            return
        self._background = False
        task, self._flush_task = self._flush_task, None
        if self._flush_delay is not None:
            self._flush_delay.cancel()  # a delayed flush writes now rather than hold up close
        judge, self._judge_task = self._judge_task, None
        if self._judge_scope is not None:
            # A judgement in flight is not waited for: its pairs stay queued for the next run.
            self._judge_scope.cancel()
        if task is not None:
            await task  # a background flush in flight (its failure, other than StoreError)
        if judge is not None:
            await judge  # cancelled above: it only unwinds
        try:
            if self._opened:
                with anyio.CancelScope(shield=True):
                    await self._flush_access()
                    await self._indexes.persist(self.stores)
        finally:
            self._closed = True
            for store in self.stores:
                await store.close()

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if getattr(self, "_opened", False) and not getattr(self, "_closed", True):
            _warn(
                "AsyncMemoryMesh was not closed: use `async with` or `await mesh.aclose()`",
                ResourceWarning,
                stacklevel=1,
            )

    async def _ready(self) -> None:
        if self._closed:
            raise ClosedError("this AsyncMemoryMesh is closed; create a new one")
        if not self._opened:
            await self.open()

    async def _recorded_embedder(self) -> Embedder | None:
        """The embedder the stores were last embedded with (project first), if it can be
        built here; keyword recall otherwise."""
        for store in self.stores:
            name = await store.get_meta("embedder")
            if name:
                try:
                    return resolve_embedder(name)
                except EmbeddingError:
                    return None  # a custom embedder registered only in another program
        return None

    # -- vectors ------------------------------------------------------------------------------

    async def reembed(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Re-embed every memory whose vector is missing or from another embedder.

        Run it after changing the mesh's ``embedding``: until then a store embedded by a
        different model refuses vector recall instead of silently mixing vectors.

        Args:
            progress: Called with the number of memories done after each batch.

        Returns:
            How many memories were embedded, including those this mesh embedded when it
            opened (a store's memories without a vector are embedded then).

        Raises:
            EmbeddingError: the mesh has no embedder, or the embedder failed (the memories
                done so far keep their new vectors; run it again to finish).
        """
        await self._ready()
        if self._embedder is None:
            raise EmbeddingError("this mesh has no embedder: pass embedding=... to reembed")
        return await self._indexes.reembed(self.stores, progress)

    async def embedding_backlog(self) -> int:
        """How many memories lack a vector from the mesh's embedder (0 without one)."""
        await self._ready()
        return await self._indexes.backlog(self.stores)

    # -- writes -------------------------------------------------------------------------------

    async def remember(
        self,
        text: str,
        *,
        category: Category | str | None = None,
        importance: float | None = None,
        scope: Scope | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        pin: bool = False,
        session_id: str | None = None,
        event_time: datetime | None = None,
        expires_at: datetime | None = None,
        ttl: timedelta | None = None,
        source: str | None = None,
        agent: str | None = None,
        on_conflict: ConflictPolicy | None = None,
        max_metadata_bytes: int | None = None,
    ) -> Memory:
        """Store one memory and return it.

        Category and importance are inferred from the text when not given (see
        ``docs/concepts.md``); the scope follows the category unless given. Storing text that
        is already remembered (ignoring case and spacing) returns the existing memory.

        Args:
            text: What to remember: one fact, preference, decision, ...
            category: One of the nine :class:`~memorymesh.Category` values.
            importance: 0 (trivia) to 1 (never forget).
            scope: ``"project"`` or ``"global"``.
            metadata: A JSON object stored with the memory and filterable in recall.
            pin: Pinned memories always rank as most important and never expire.
            session_id: The conversation or session this came from.
            event_time: When the remembered thing happened, if not now.
            expires_at: When the memory stops being recalled.
            ttl: Alternative to ``expires_at``: how long from now it stays.
            source: What wrote it (defaults to the mesh's ``source``).
            agent: Who wrote it (defaults to the mesh's ``agent``).
            on_conflict: What to do when the text duplicates or contradicts a current
                memory (defaults to the mesh's ``on_conflict``): ``keep_both`` always stores.
            max_metadata_bytes: This write's metadata size limit, instead of the mesh's (a
                LangGraph store keeps whole values in metadata and sets its own).

        Raises:
            InvalidInputError: empty or oversized text, an unknown category or scope,
                importance outside [0, 1], metadata that is not a JSON object, and so on.
            StoreError: the database failed; nothing was written.
            ClosedError: the mesh was closed.
        """
        item = NewMemory.model_construct(
            text=text,
            category=category,
            importance=importance,
            scope=scope,
            metadata=metadata,
            pin=pin,
            session_id=session_id,
            event_time=event_time,
            expires_at=expires_at,
            ttl=ttl,
            source=source,
            agent=agent,
            on_conflict=on_conflict,
        )
        try:
            (memory,) = await self.remember_many([item], max_metadata_bytes=max_metadata_bytes)
        except InvalidInputError as exc:
            # (polish) One item: remember_many's "item 0: " prefix would only puzzle the caller.
            exc.args = (str(exc).removeprefix("item 0: "), *exc.args[1:])
            raise
        return memory

    async def remember_many(
        self,
        items: Iterable[str | Mapping[str, Any] | NewMemory],
        *,
        review: bool = False,
        max_metadata_bytes: int | None = None,
    ) -> list[Memory]:
        """Store many memories in one transaction per store: all of them or none.

        Each item is a string, or a mapping or :class:`~memorymesh.NewMemory` with
        :meth:`remember`'s fields. Every item is validated before anything is written.

        With ``review=True`` the memories land in the review queue instead (see
        :meth:`review_queue`): they are not recalled until accepted, and text that is already
        remembered, queued or was rejected before is not queued again.
        ``max_metadata_bytes`` is the batch's metadata size limit, as in :meth:`remember`.

        Returns:
            One memory per item, in order (an existing one for duplicates).

        Raises:
            InvalidInputError: any item is invalid; the message names its index.
            StoreError: the database failed; nothing was written.
            ClosedError: the mesh was closed.
        """
        if isinstance(items, str | bytes | Mapping):
            raise InvalidInputError("remember_many takes a list of items, not a single item")
        await self._ready()
        now = time.time()
        prepared: list[Prepared] = []
        rules = self._rules(max_metadata_bytes)
        for index, item in enumerate(items):
            if index and index % _PREPARE_CHUNK == 0:
                await anyio.lowlevel.checkpoint()  # a long batch must not stall the loop
            try:
                ready = rules.prepare(as_new(item), now)
                if review:
                    ready = replace(ready, row=replace(ready.row, status="pending"))
                prepared.append(ready)
            except InvalidInputError as exc:
                raise type(exc)(f"item {index}: {exc}") from exc
        if not prepared:
            return []

        written = await write_all(prepared, self.stores, self._indexes, review=review)
        if self._judge is not None and any(
            c.kind.startswith("possible_") for m in written for c in m.conflicts
        ):
            self._schedule_judge()
        return written

    def _store_for(self, scope: Scope, *, explicit: bool) -> Store:
        if scope is Scope.GLOBAL:
            return self._global
        if self._project is None:
            if explicit:
                raise InvalidInputError(
                    "scope='project' needs a project: run inside one (a folder with .git, "
                    "pyproject.toml, package.json, ...), pass path= (--db on the command line), "
                    "or set MEMORYMESH_PROJECT_ROOT"
                )
            return self._global
        return self._project

    def _rules(self, max_metadata_bytes: int | None = None) -> WriteRules:
        if max_metadata_bytes is not None and (
            isinstance(max_metadata_bytes, bool)
            or not isinstance(max_metadata_bytes, int)
            or max_metadata_bytes < 1
        ):
            raise InvalidInputError("max_metadata_bytes must be a positive integer")
        return WriteRules(
            max_text_chars=self.max_text_chars,
            max_metadata_bytes=max_metadata_bytes or self.max_metadata_bytes,
            privacy=self._privacy,
            source=self._source,
            agent=self._agent,
            on_conflict=self.on_conflict,
            store_for=lambda scope, explicit: self._store_for(scope, explicit=explicit),
            global_store=self._global,
        )

    def _prepare(self, item: NewMemory, now: float) -> Prepared:
        return self._rules().prepare(item, now)

    async def update(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        importance: float | None = None,
        category: Category | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        pin: bool | None = None,
        event_time: datetime | None = None,
        expires_at: datetime | None = None,
        max_metadata_bytes: int | None = None,
    ) -> Memory:
        """Change fields of one memory; arguments left as None stay as they are.

        ``metadata`` replaces the whole object. The scope cannot change: forget and
        remember again to move a memory between project and global. ``max_metadata_bytes``
        is this write's metadata size limit, as in :meth:`remember`.

        Raises:
            MemoryNotFoundError: no memory has that id.
            InvalidInputError: a new value is invalid; nothing changed.
            StoreError: the database failed; nothing changed.
        """
        await self._ready()
        fields, found = self._rules(max_metadata_bytes).changes(
            text=text,
            importance=importance,
            category=category,
            metadata=metadata,
            pin=pin,
            event_time=event_time,
            expires_at=expires_at,
        )
        store = await self._store_holding(memory_id)
        vector = None
        if "text" in fields and self._embedder is not None:
            vectors = await self._indexes.vectors_for([fields["text"]], self.stores)
            assert vectors is not None
            vector = vectors[0]
            fields["embedding"] = to_blob(vector)
            fields["embedding_model"] = self._embedder.name
        return await lifecycle.update(
            store,
            memory_id,
            fields,
            redacted=found,
            vector=vector,
            indexes=self._indexes,
            source=self._source,
        )

    async def pin(self, memory_id: str) -> Memory:
        """Pin a memory: it ranks as most important and never expires.

        Raises:
            MemoryNotFoundError: no memory has that id.
        """
        return await self.update(memory_id, pin=True)

    async def unpin(self, memory_id: str) -> Memory:
        """Undo :meth:`pin`.

        Raises:
            MemoryNotFoundError: no memory has that id.
        """
        return await self.update(memory_id, pin=False)

    async def forget(self, memory_id: str) -> Memory:
        """Delete one memory for good and return what it was.

        Raises:
            MemoryNotFoundError: no memory has that id.
            StoreError: the database failed; nothing was deleted.
        """
        memory = await self.get(memory_id)
        store = self._global if memory.scope is Scope.GLOBAL else (self._project or self._global)
        await lifecycle.forget(store, memory_id, indexes=self._indexes, source=self._source)
        return memory

    async def forget_many(self, ids: Iterable[str]) -> int:
        """Delete every memory in ``ids`` (unknown ids are skipped); return how many went.

        Raises:
            InvalidInputError: an id is not a string.
            StoreError: the database failed; nothing was deleted.
        """
        if isinstance(ids, str):
            raise InvalidInputError("forget_many takes a list of ids; use forget() for one")
        wanted = list(dict.fromkeys(ids))
        if not all(isinstance(i, str) for i in wanted):
            raise InvalidInputError("every id must be a string")
        await self._ready()
        return await lifecycle.forget_many(
            self.stores, wanted, indexes=self._indexes, source=self._source
        )

    async def restore(self, memory_id: str) -> Memory:
        """Make a superseded memory current again; nothing is lost by superseding.

        The memory that replaced it, if still current, becomes history in its place (so
        ``restore`` undoes a ``supersede``); :meth:`history` shows the whole chain.

        Raises:
            MemoryNotFoundError: no memory has that id.
            StoreError: the database failed; nothing changed.
        """
        await self._ready()
        store = await self._store_holding(memory_id)
        others = [s for s in self.stores if s is not store]
        return await lifecycle.restore(
            store, memory_id, indexes=self._indexes, source=self._source, others=others
        )

    async def history(self, memory_id: str) -> builtins.list[Memory]:
        """Every version linked to this memory by superseding or merging, oldest first.

        The current version has ``superseded_by`` None; each older one names its successor.

        Raises:
            MemoryNotFoundError: no memory has that id.
        """
        await self._ready()
        store = await self._store_holding(memory_id)
        return await lifecycle.history_across(self.stores, store, memory_id)

    # -- reads --------------------------------------------------------------------------------

    async def get(self, memory_id: str) -> Memory:
        """The memory with this id (current, superseded or expired alike).

        Raises:
            MemoryNotFoundError: no memory has that id.
        """
        await self._ready()
        return self._scrubbed((await listing.find(self.stores, memory_id))[1])

    def _scrubbed(self, memory: Memory) -> Memory:
        # privacy guard: a memory stored with the guard off (an older version, another tool
        # with privacy="allow") is redacted on its way out, as recall does, so reads that
        # feed a model (MCP list_memories, memory://, session_start) never hand it a secret.
        update = self._privacy.scrub_memory(memory)
        return memory.model_copy(update=update) if update else memory

    async def _store_holding(self, memory_id: str) -> Store:
        return (await listing.find(self.stores, memory_id))[0]

    async def resolve_id(self, prefix: str) -> str:
        """The full id of the one memory whose id starts with ``prefix`` (for short ids).

        Raises:
            MemoryNotFoundError: no memory, or more than one, matches.
        """
        await self._ready()
        return await listing.resolve_prefix(self.stores, prefix)

    def _stores_for(self, scope: Scope | None) -> tuple[Store, ...]:
        if scope is None:
            return self.stores
        if scope is Scope.GLOBAL:
            return (self._global,)
        return () if self._project is None else (self._project,)

    async def recall(
        self,
        query: str,
        *,
        k: int = 5,
        category: CategoryArg = None,
        scope: Scope | str | None = None,
        min_importance: float | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        time_field: TimeField = "created",
        as_of: datetime | None = None,
        current_only: bool = True,
        explain: bool = False,
        mode: RecallMode = "auto",
        source: str | None = None,
        agent: str | None = None,
    ) -> RecallResults:
        """The ``k`` memories that best answer ``query``, best first.

        Keyword relevance (SQLite FTS5, BM25 over the query's content words) is blended with
        recency, importance and access frequency by the mesh's :class:`ScoringWeights`.
        Filters narrow the search inside the same query: they never replace it. A day or
        month the query names with its year ("on 3 May 2024") ranks memories from then
        first, without filtering out the others.

        Args:
            query: A question or keywords, in natural language.
            k: How many results at most (1 to 1000).
            category: One category or several.
            scope: Only ``"project"`` or only ``"global"`` memories.
            min_importance: Skip memories less important than this.
            since: Only memories at or after this time (see ``time_field``).
            until: Only memories before this time (see ``time_field``).
            metadata_filter: ``{"key": value}`` or ``{"key": {"$gte": 3}}``; operators
                ``$eq $ne $gt $gte $lt $lte $in $nin $exists``.
            session_id: Only memories from this session.
            time_field: ``"created"`` (when recorded, the default) or ``"event"`` (when it
                happened, falling back to when recorded): what ``since``/``until`` compare
                and what recency ranks by.
            as_of: Answer as of this moment: only memories recorded by then, and neither
                superseded nor expired then ("what was true then").
            current_only: Hide superseded and expired memories (the default). False shows
                the whole history.
            explain: Attach a :class:`RecallExplanation` to the result list (terms, filters,
                candidates, and why nothing matched when nothing did).

            mode: ``keyword`` (FTS5 BM25), ``vector`` (exact cosine over every memory),
                ``hybrid`` (both, fused), or ``auto`` (default: hybrid with an embedder,
                keyword without).
            source: Only memories written through this source (``api``, ``mcp``, ...).
            agent: Only memories written by this agent.

        Returns:
            A :class:`RecallResults` list; each result has ``memory``, ``score`` and the
            ``breakdown`` of the score.

        Raises:
            InvalidInputError: an empty or oversized query, ``k`` out of range, an unknown
                mode, or a vector mode without an embedder.
            InvalidFilterError: a metadata filter key or operator that is not allowed.
            EmbeddingError: the embedder failed, or the store holds another embedder's
                vectors (run ``memorymesh reembed``).
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query is empty")
        if len(query) > self.max_text_chars:
            raise InvalidInputError(f"query is longer than {self.max_text_chars} characters")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_RECALL_K:
            raise InvalidInputError(f"k must be an integer from 1 to {MAX_RECALL_K}")
        filters = checked_filters(
            category=category,
            scope=scope,
            min_importance=min_importance,
            since=since,
            until=until,
            metadata_filter=metadata_filter,
            session_id=session_id,
            include_superseded=not current_only,
            include_expired=not current_only,
            as_of=as_of,
            time_field=time_field,
            source=source,
            agent=agent,
        )
        from .search._recall import (
            CANDIDATES_PER_RESULT,
            MIN_CANDIDATES,
            rank,
            resolve_mode,
            why_empty,
        )
        from .search._recall import candidates as find_candidates

        resolved = resolve_mode(mode, has_embedder=self._embedder is not None)
        await self._ready()
        now = time.time()
        limit = max(MIN_CANDIDATES, k * CANDIDATES_PER_RESULT)
        candidates = await find_candidates(
            self._stores_for(filters.scope),
            query,
            filters,
            resolved,
            limit=limit,
            now=now,
            vectors=None if self._embedder is None else self._indexes,
        )
        scored = rank(
            candidates, query, weights=self.weights, now=now, by_event=time_field == "event", k=k
        )
        results = RecallResults()
        for score, store, candidate, breakdown in scored:
            # The memory's fields, changed and built once (every field already valid): a
            # memory and then a copy of it cost twice, model_copy several times more.
            fields = fields_of(candidate)
            store.record_access(fields["id"], now)
            # privacy guard: memories stored before it existed are redacted on the way out
            fields.update(self._privacy.scrub_fields(fields))
            fields["access_count"] += 1
            fields["last_accessed_at"] = _dt(now)
            results.append(trusted_result(trusted_memory(fields), score, breakdown))
        if results:
            self._schedule_flush()
        if explain:
            results.explanation = trusted_explanation(
                query_terms=query_terms(query),
                filters=filters.described(),
                candidates=len(candidates),
                returned=len(results),
                weights=self.weights,
                reason=None
                if results
                else await why_empty(self._stores_for(filters.scope), query, filters, now),
            )
        return results

    async def list(
        self,
        *,
        scope: Scope | str | None = None,
        category: CategoryArg = None,
        limit: int = 50,
        offset: int = 0,
        order: ListOrder = "newest",
        session_id: str | None = None,
        pinned: bool | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        include_superseded: bool = False,
        include_expired: bool = False,
        source: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Memory]:
        """Memories in a stable order, a page at a time.

        Args:
            order: ``newest`` (default), ``oldest``, ``importance``, ``updated`` or ``accessed``.
            limit: Page size (1 or more, no upper bound).
            offset: How many to skip.
            source: Only memories written through this source (``api``, ``mcp``, ``hook``, ...).
            agent: Only memories written by this agent.
            since: Only memories recorded at or after this moment.
            until: Only memories recorded before this moment.

        Raises:
            InvalidInputError: an unknown order, limit/offset out of range, an empty
                ``source``/``agent``, or ``since``/``until`` not a datetime.
        """
        if order not in listing.ORDERS:
            raise InvalidInputError(f"unknown order {order!r}; use one of {sorted(listing.ORDERS)}")
        for name, value, low in (("limit", limit, 1), ("offset", offset, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidInputError(f"{name} must be an integer >= {low}")
        filters = checked_filters(
            scope=scope,
            category=category,
            session_id=session_id,
            pinned=pinned,
            metadata_filter=metadata_filter,
            include_superseded=include_superseded,
            include_expired=include_expired,
            source=source,
            agent=agent,
            since=since,
            until=until,
        )
        await self._ready()
        stores = self._stores_for(filters.scope)
        page = await listing.page(
            stores, filters, order=order, limit=limit, offset=offset, now=time.time()
        )
        return [self._scrubbed(memory) for memory in page]

    async def count(
        self,
        *,
        scope: Scope | str | None = None,
        category: CategoryArg = None,
        session_id: str | None = None,
        pinned: bool | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        include_superseded: bool = False,
        include_expired: bool = False,
        source: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """How many memories match; the same filters as :meth:`list`."""
        filters = checked_filters(
            scope=scope,
            category=category,
            session_id=session_id,
            pinned=pinned,
            metadata_filter=metadata_filter,
            include_superseded=include_superseded,
            include_expired=include_expired,
            source=source,
            agent=agent,
            since=since,
            until=until,
        )
        await self._ready()
        return await listing.count(self._stores_for(filters.scope), filters, now=time.time())

    # -- distinct metadata values (issue #5: LangGraph namespaces) ---------------------------

    async def metadata_values(
        self,
        key: str,
        *,
        scope: Scope | str | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
    ) -> builtins.list[str | int | float]:
        """The distinct string and number values metadata ``key`` takes, sorted.

        Numbers sort before strings. Only current memories count (not superseded or
        expired), narrowed by ``scope`` and ``metadata_filter`` as in :meth:`list`.

        Raises:
            InvalidFilterError: ``key`` does not match ``^[A-Za-z_][A-Za-z0-9_]*$``, or the
                filter is malformed.
        """
        if not isinstance(key, str) or not METADATA_KEY.match(key):
            raise InvalidFilterError(
                f"metadata key {key!r} is not allowed: keys must match ^[A-Za-z_][A-Za-z0-9_]*$"
            )
        filters = checked_filters(scope=scope, metadata_filter=metadata_filter)
        await self._ready()
        stores = self._stores_for(filters.scope)
        return await listing.metadata_values(stores, key, filters, now=time.time())

    async def _metadata_of(
        self,
        key: str,
        *,
        scope: Scope | str | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        include_expired: bool = False,
    ) -> builtins.list[tuple[str, str | None]] | None:
        """``(id, metadata[key] as JSON text)`` of every memory the filters allow, most
        recently updated first (None where the value is not an object or array), read in SQL
        without building the memories (the LangGraph store's semantic search reads each
        candidate's vectors this way); None when a store cannot (its metadata is
        encrypted). ``key`` must match ``METADATA_KEY``."""
        if not METADATA_KEY.match(key):
            raise InvalidFilterError(f"metadata key {key!r} is not allowed")
        filters = checked_filters(
            scope=scope, metadata_filter=metadata_filter, include_expired=include_expired
        )
        await self._ready()
        found: builtins.list[tuple[str, str | None, float]] = []
        for store in self._stores_for(filters.scope):
            reader = metadata_reader(store)
            rows = (
                None if reader is None else await reader.metadata_of(key, filters, now=time.time())
            )
            if rows is None:
                return None
            found += rows
        found.sort(key=lambda row: -row[2])  # newest update first, across both stores
        return [(memory_id, value) for memory_id, value, _ in found]

    async def stats(self) -> MemoryStats:
        """Totals per scope and category, pinned, superseded and expired counts, and paths."""
        await self._ready()
        return await listing.stats(
            self.stores,
            now=time.time(),
            project_path=self.project_path,
            global_path=self.global_path,
            embedder="none" if self._embedder is None else self._embedder.name,
        )

    async def export(
        self,
        target: PathLike | TextIO,
        *,
        scope: Scope | str | None = None,
        format: ExportFormat = "jsonl",
        include_embeddings: bool = False,
        overwrite: bool = False,
        encrypt: bool | None = None,
        include_log: bool = False,
    ) -> int:
        """Write every memory (superseded and expired ones too) to ``target``.

        The ``jsonl`` format (the default) and ``json`` carry every field, the history links
        and all timestamps, and :meth:`import_` reads them back exactly, with what the stores
        keep beside the memories: the uncertain pairs waiting for the judge or the review
        queue, the judge's cached verdicts and the recorded sessions. ``markdown`` is a
        readable summary. Embeddings are left out unless asked for: text is the source of
        truth and vectors can be recomputed.

        Args:
            target: A file path, or an open text stream.
            scope: Only ``"project"`` or only ``"global"`` memories.
            format: ``jsonl``, ``json`` or ``markdown``.
            include_embeddings: Also write each stored vector (base64 float32), and the
                embedder that made them.
            overwrite: Replace ``target`` if it exists (otherwise
                :class:`TargetExistsError`). A file is always written private (0600).
            encrypt: Seal the export with the mesh's encryption key (AES-256-GCM);
                ``None`` (the default) encrypts exactly when the stores are encrypted, so an
                encrypted store never leaves a plaintext copy. :meth:`import_` reads it back
                with the same key.
            include_log: Also write each store's write log (:meth:`log`), every entry with
                its own time; :meth:`import_` adds the entries the target lacks.

        Returns:
            How many memories were written.

        Raises:
            InvalidInputError: an unknown format or scope.
            TargetExistsError: ``target`` exists and ``overwrite`` is False.
            EncryptionError: ``encrypt=True`` on a mesh without an encryption key.
            StoreError: the file cannot be written, or the database failed.
        """
        if format not in ("jsonl", "json", "markdown"):
            raise InvalidInputError(
                f"unknown export format {format!r}; use jsonl, json or markdown"
            )
        wanted = check_scope(scope)
        key = self._encryption_key
        if encrypt and key is None:
            raise EncryptionError("encrypt=True needs a mesh opened with an encryption key")
        seal = None
        if key is not None and encrypt is not False:
            sealing_key = key

            def seal(document: str) -> str:
                return seal_document(sealing_key, document)

        from .io._transfer import export_stores

        await self._ready()
        stores = self._stores_for(wanted)
        return await export_stores(
            stores,
            target,
            format=format,
            include_embeddings=include_embeddings,
            overwrite=overwrite,
            seal=seal,
            include_log=include_log,
        )

    async def import_(
        self, source: PathLike | TextIO, *, on_clash: Literal["skip", "replace", "newer"] = "skip"
    ) -> ImportReport:
        """Read an export (``jsonl`` or ``json``) back, all or nothing.

        Each memory keeps its id, timestamps, access statistics and history link, and goes to
        the store of its scope; queued uncertain pairs go to their new memory's store, cached
        verdicts and sessions to their scope's. Importing the same file twice changes nothing.

        Args:
            source: A file path, or an open text stream.
            on_clash: What happens to an id that is already stored: ``skip`` keeps the stored
                memory (the default), ``replace`` takes the file's, ``newer`` keeps whichever
                was updated last.

        Raises:
            InvalidInputError: not a MemoryMesh export, a newer format, an invalid record
                (named by line), or an unknown ``on_clash``; nothing is imported.
            StoreError: the file cannot be read, or the database failed; nothing is imported.
        """
        if on_clash not in ("skip", "replace", "newer"):
            raise InvalidInputError(f"on_clash must be skip, replace or newer, not {on_clash!r}")
        from .io._export import decode_document
        from .io._transfer import guard_log, guard_records, import_records, read_text

        text = await read_text(source)
        if is_sealed_document(text):  # an encrypted store's export: the same key opens it
            text = open_document(self._encryption_key, text)
        document = decode_document(text)
        rules = self._rules()
        guard_records(document.memories, rules)
        guard_log(document, rules)
        await self._ready()
        return await import_records(
            document.memories,
            store_for=lambda scope: self._store_for(scope, explicit=False),
            global_store=self._global,
            source=self._source,
            on_clash=on_clash,
            side=document,
        )

    async def log(
        self, *, limit: int = 20, memory_id: str | None = None
    ) -> builtins.list[WriteLogEntry]:
        """The newest write decisions across both stores, newest first.

        Every write records what it did and why (stored with the inferred category and the
        rule behind it, deduplicated into an existing memory, updated fields, forgotten, ...).

        Args:
            limit: How many entries at most (1 to 10000).
            memory_id: Only the entries about this memory.

        Raises:
            InvalidInputError: ``limit`` out of range.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError("limit must be an integer from 1 to 10000")
        await self._ready()
        return await listing.write_log(self.stores, limit=limit, memory_id=memory_id)

    async def session_start(
        self,
        query: str | None = None,
        *,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        session_id: str | None = None,
        client: str | None = None,
        continues: str | None = None,
    ) -> SessionContext:
        """The memory an assistant should load at the start of a session, within a budget.

        Records the session, linked to the one it continues: ``continues`` when given, else
        the last session of the same ``client`` in this project, else the last one in this
        project. The text then opens with "last time": what the previous session of the
        chain decided, changed or left open (its memories, by ``session_id``). Gathers
        guardrails, the user's profile (personality and preferences), mistakes not to
        repeat, recent project decisions and patterns, memories recorded in ``session_id``
        and, when ``query`` (the first message or task) is given, the memories that answer
        it. Each candidate is ranked by its kind, importance, how often and how lately it was
        recalled, and its recall score; the best are kept while the text fits
        ``budget_tokens`` (estimated as ``ceil(characters / 4)``). ``.text`` is ready to
        inject and marked, so it is never stored back as a memory.

        Args:
            query: The first message or task, if known: makes the context task-aware.
            budget_tokens: The most tokens the text may take (100 to 100000).
            session_id: This session's id (a new one is made when None). An id recorded
                before is resumed: its memories are included, its link kept.
            client: Who opens the session (defaults to the mesh's ``agent``): a new session
                continues this client's last one.
            continues: The id of the session this one picks up from, overriding the default.

        Returns:
            A :class:`SessionContext`; its ``session_id`` is the session recorded (pass it to
            ``remember(session_id=...)``), ``continues`` the one it links to.

        Raises:
            InvalidInputError: a budget out of range, a query that is not a string, or
                ``continues`` naming no session of this project.
            ClosedError: the mesh was closed.
        """
        await self._ready()
        return await build_session_context(
            self,
            query,
            budget_tokens=budget_tokens,
            session_id=session_id,
            client=self._agent if client is None else client,
            continues=continues,
        )

    async def session_history(
        self, session_id: str | None = None, *, limit: int = 20
    ) -> builtins.list[SessionRecord]:
        """A chain of sessions: ``session_id`` (default: the last session started in this
        project) and the ones it continues, newest first.

        Args:
            session_id: The session whose chain to follow back.
            limit: The most sessions to return (1 to 1000).

        Raises:
            InvalidInputError: no such session in this project, or ``limit`` out of range.
            ClosedError: the mesh was closed.
        """
        await self._ready()
        return await session_chain(self, session_id, limit=limit)

    async def health(self) -> dict[str, builtins.list[str]]:
        """SQLite's integrity quick-check per store file: ``["ok"]`` when healthy.

        Raises:
            StoreError: a store cannot be read at all.
        """
        await self._ready()
        return {store.label: await store.health() for store in self.stores}

    # -- access statistics --------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._background and not self._flush_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on asyncio (the only backend aiosqlite supports)
                return  # flushed by aclose()
            self._flush_scheduled = True
            # Made here, not in the task: aclose() can cancel the delay even before the task
            # has started (a scope cancelled before it is entered cancels on entry).
            self._flush_delay = anyio.CancelScope()
            self._flush_task = loop.create_task(self._background_flush(self._flush_delay))

    async def _background_flush(self, delay: anyio.CancelScope) -> None:
        try:
            with delay:
                await anyio.sleep(_ACCESS_FLUSH_DELAY)
            self._flush_delay = None
            await self._flush_access()
        except StoreError as exc:
            # Access counts are statistics: losing one batch to a locked database must not
            # take the caller's task group down. They are retried with the next flush.
            warnings.warn(f"MemoryMesh could not record access counts: {exc}", stacklevel=1)
        finally:
            self._flush_scheduled = False

    # -- the optional judge -------------------------------------------------------------------

    def _schedule_judge(self) -> None:
        # Off the hot path: the write has returned; a mesh held open (`async with`: the MCP
        # server, the dashboard, an agent) judges in a task of its own, which aclose() stops
        # and awaits. A mesh only opened (a one-shot process) leaves its pairs for
        # `memorymesh judge` or judge_pending().
        if not self._background:
            return
        if self._judge_scope is not None:
            self._judge_again = True  # the run in flight goes round once more
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on asyncio (the only backend aiosqlite supports)
            return
        self._judge_scope = anyio.CancelScope()
        self._judge_task = loop.create_task(self._background_judge(self._judge_scope))

    async def _background_judge(self, scope: anyio.CancelScope) -> None:
        try:
            with scope:
                again = True
                while again:
                    self._judge_again = False
                    try:
                        await self.judge_pending()
                    except Exception as exc:
                        # Whatever went wrong (a model that is down, a locked store, a custom
                        # ChatModel's own error), the pairs stay queued and visible in the
                        # review queue: a background judgement must never take the caller's
                        # task group down.
                        logger.warning("MemoryMesh judge: %s; the pairs stay queued", exc)
                        return
                    again = self._judge_again
        finally:
            self._judge_scope = None

    async def judge_pending(self, *, limit: int = 200) -> JudgeReport:
        """Ask the judge model about the uncertain pairs waiting in the stores, and apply the
        confident verdicts with each write's conflict policy.

        The pairs go in one batched request, redacted by the privacy guard; verdicts are
        cached, so a pair is never sent twice. Without a judge nothing is sent and the report's
        ``judge`` is None. See ``docs/concepts.md``.

        Args:
            limit: At most this many pairs per store (1 to 10000).

        Raises:
            JudgeError: the model could not be reached or answered an error; the pairs stay
                queued.
            InvalidInputError: ``limit`` is out of range.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError("limit must be an integer from 1 to 10000")
        await self._ready()
        if self._judge is None:
            waiting = 0
            for store in self.stores:
                waiting += len(await store.pending_pairs(limit=limit))
            return JudgeReport(judge=None, pairs=waiting, unsure=waiting)
        async with self._judge_lock:
            from .writes import _judge as judging

            return await judging.judge_pending(
                self.stores, self._judge, indexes=self._indexes, limit=limit
            )

    async def conflict_pairs(self, *, limit: int = 100) -> builtins.list[ConflictPair]:
        """The uncertain pairs in the review queue (a ``possible_`` conflict a write kept both
        of), oldest first: accept the new memory as the replacement, or keep both, with
        :meth:`resolve_conflict`.

        Raises:
            InvalidInputError: ``limit`` is not an integer from 1 to 10000.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError("limit must be an integer from 1 to 10000")
        await self._ready()
        from .context import _review as review

        return await review.conflict_pairs(self.stores, limit=limit, privacy=self._privacy)

    async def resolve_conflict(
        self, new_id: str, old_id: str, *, action: Literal["replace", "keep_both"]
    ) -> Conflict:
        """Settle an uncertain pair from the review queue: ``replace`` makes ``new_id``
        supersede ``old_id`` (undo with :meth:`restore`), ``keep_both`` keeps both. Logged
        with ``decided_by="review"``.

        Raises:
            InvalidInputError: ``action`` is not ``replace`` or ``keep_both``, or no such
                pair is waiting in the queue.
        """
        if action not in ("replace", "keep_both"):
            raise InvalidInputError("action must be 'replace' or 'keep_both'")
        await self._ready()
        from .context import _review as review

        return await review.resolve_pair(self.stores, new_id, old_id, action, indexes=self._indexes)

    async def _flush_access(self) -> None:
        for store in self.stores:
            await store.flush_access()

    # -- Smart Sync ---------------------------------------------------------------------------

    async def sync_to(
        self,
        target: str | os.PathLike[str] = "auto",
        *,
        format: str | None = None,
        limit: int = 30,
        weights: SyncWeights | None = None,
    ) -> builtins.list[SyncReport]:
        """Write the top ``limit`` memories into the marked MemoryMesh section of instruction
        files (``CLAUDE.md``, ``MEMORY.md``, ``AGENTS.md``, ``GEMINI.md``,
        ``.cursor/rules/memorymesh.mdc``), leaving the rest of each file untouched.

        Args:
            target: A file, or ``"auto"`` for every instruction file present in the project.
            format: ``claude``, ``codex``, ``gemini`` or ``cursor`` (default: from the name).
            limit: How many memories at most (1 to 1000).
            weights: A :class:`~memorymesh.SyncWeights` ranking by importance and recency.

        Raises:
            InvalidInputError: an unknown format, no instruction file for ``"auto"``, a file
                whose section is broken, or a file that cannot be written.
        """
        from .context._instructions import sync_to

        return await sync_to(self, target, format=format, limit=limit, weights=weights)

    async def sync_from(
        self, source: str | os.PathLike[str], *, format: str | None = None
    ) -> SyncReport:
        """Import the hand-edited entries of a file's MemoryMesh section back into memory,
        without duplicating anything: a round trip ``sync_to`` → ``sync_from`` changes nothing.

        Raises:
            InvalidInputError: an unknown format, a missing file or a broken section.
        """
        from .context._instructions import sync_from

        return await sync_from(self, source, format=format)

    # -- review queue -------------------------------------------------------------------------

    async def review_queue(self, *, limit: int = 50) -> builtins.list[Memory]:
        """Memories waiting for review (captured by hooks with ``review=True``), oldest first.

        They are not recalled, listed or synced until :meth:`accept` makes them active.

        Raises:
            InvalidInputError: ``limit`` is not an integer from 1 to 10000.
        """
        await self.open()
        from .context import _review as review

        return await review.by_status(self.stores, "pending", limit=limit, newest_first=False)

    async def accept(self, ids: Iterable[str]) -> builtins.list[Memory]:
        """Move queued memories into memory; return the ones accepted.

        A queued memory whose text is by now already remembered is marked rejected instead
        (it would be a duplicate). Ids that are not queued are skipped. Edit a queued memory
        first with :meth:`update` to accept a corrected version.

        Raises:
            InvalidInputError: ``ids`` is not a list of strings.
            StoreError: the database failed; nothing changed.
        """
        from .context import _review as review

        wanted = review.id_list(ids, "accept")
        await self.open()
        return await review.accept(self.stores, wanted)

    async def reject(self, ids: Iterable[str]) -> int:
        """Reject queued memories; return how many. Rejected text is kept (never recalled)
        only so that the same capture is not queued again; :meth:`forget` deletes it.

        Raises:
            InvalidInputError: ``ids`` is not a list of strings.
            StoreError: the database failed; nothing changed.
        """
        from .context import _review as review

        wanted = review.id_list(ids, "reject")
        await self.open()
        return await review.reject(self.stores, wanted)

    # -- MemoryMesh 4.x -----------------------------------------------------------------------

    async def import_v4(
        self, path: str | os.PathLike[str], *, scope: Scope | str | None = None
    ) -> V4ImportReport:
        """Import a MemoryMesh 4.x database, losslessly (ids, timestamps, access counts,
        category, pinned, metadata) and idempotently (importing it twice adds nothing).

        Args:
            path: The 4.x database file (opened read-only, never changed).
            scope: ``project`` or ``global``; by default ``global`` for ``global*.db`` files.

        Raises:
            InvalidInputError: not a 4.x database, a malformed row, or no project store for
                a project file; nothing is written then.
        """
        from .io._import_v4 import import_v4

        return await import_v4(self, path, scope=scope)

    # -- compaction ---------------------------------------------------------------------------

    async def compact(
        self, *, dry_run: bool = False, policy: CompactPolicy | None = None
    ) -> CompactReport:
        """Merge near-duplicate memories and archive stale, unimportant, never-used, unpinned
        (or expired) ones, losing nothing: merged memories stay as history superseded by the
        survivor, archived ones keep their text; :meth:`restore_compacted` brings either back.

        Near-duplicate candidates come from the FTS5 index (rare shared terms), never from a
        pass over all pairs. ``dry_run=True`` reports what would change and changes nothing.

        Args:
            dry_run: Only report.
            policy: A :class:`~memorymesh.CompactPolicy` (similarity, stale_days,
                max_importance).

        Raises:
            InvalidInputError: ``policy`` is not a ``CompactPolicy``.
            StoreError: the database failed; that store is left as it was.
        """
        from .context._compact import compact

        return await compact(self, dry_run=dry_run, policy=policy)

    async def archived(self, *, limit: int = 50) -> builtins.list[Memory]:
        """Memories compaction archived, most recently archived first (merged ones are
        superseded instead: ``list(include_superseded=True)`` shows them).

        Raises:
            InvalidInputError: ``limit`` is not an integer from 1 to 10000.
        """
        await self.open()
        from .context import _review as review

        return await review.by_status(self.stores, "archived", limit=limit, newest_first=True)

    async def restore_compacted(self, ids: Iterable[str]) -> builtins.list[Memory]:
        """Make merged (superseded) or archived memories current again; return them.

        Raises:
            InvalidInputError: ``ids`` is not a list of strings.
            StoreError: the database failed; nothing changed.
        """
        from .context import _review as review

        wanted = review.id_list(ids, "restore_compacted")
        await self.open()
        return await review.restore_compacted(self.stores, wanted)

    # -- quality review -----------------------------------------------------------------------

    async def quality_report(self, *, limit: int = 10_000) -> QualityReport:
        """Score every active memory (0 to 100) and list its problems with a suggested fix:
        scope mismatches, too verbose, uncategorised, stale, near-duplicate, low quality.
        Changes nothing.

        Args:
            limit: At most this many memories per store, most important first.

        Raises:
            InvalidInputError: ``limit`` is not an integer from 1 to 10000.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError("limit must be an integer from 1 to 10000")
        from .context._quality import review_quality

        return await review_quality(self, limit=limit)


def _dt(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
