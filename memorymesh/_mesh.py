"""``AsyncMemoryMesh``: the one implementation of every MemoryMesh operation."""

from __future__ import annotations

import builtins
import dataclasses
import functools
import json
import math
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TextIO, cast

import anyio
import anyio.lowlevel
import numpy as np
import numpy.typing as npt
from anyio.abc import TaskGroup

from ._catchup import apply_changes
from ._classify import classify, estimate_importance, infer_scope
from ._contradiction import content_tokens, content_tokens_many
from ._crypto import EncryptionKey
from ._embeddings import Embedder, as_matrix, resolve_embedder
from ._errors import (
    ClosedError,
    EmbeddingError,
    InjectedContextError,
    InvalidFilterError,
    InvalidInputError,
    MemoryNotFoundError,
    StoreError,
)
from ._export import ExportFormat, ImportReport, decode_records, encode_record, render
from ._filters import METADATA_KEY, Filters, TimeField, parse_metadata_filter
from ._hybrid import standard_score_fusion
from ._injected import contains_injected, strip_injected
from ._invisible import InvisibleMixin
from ._lexical import LexicalIndex
from ._models import (
    CONFLICT_POLICIES,
    Category,
    ConflictPolicy,
    ListOrder,
    Memory,
    MemoryStats,
    NewMemory,
    RecallExplanation,
    RecallResult,
    RecallResults,
    Scope,
    ScoreBreakdown,
    ScoringWeights,
    WriteLogEntry,
    default_scope,
)
from ._paths import IN_MEMORY, default_global_path, find_project_root, project_store_path
from ._privacy import PrivacyGuard, PrivacyMode
from ._querytime import named_period, prefer_period
from ._scoring import blend, shared_bm25
from ._session import DEFAULT_BUDGET_TOKENS, SessionContext, build_session_context
from ._store import LogEntry, MemoryRow, SQLiteStore, WriteTransaction
from ._text import content_hash, fts_query, query_terms
from ._timeparse import find_event_time
from ._vectors import IndexRow, VectorIndex, to_blob, unit_rows, vector_filter
from ._writes import memory_index_row, write_batch

__all__ = ["AsyncMemoryMesh"]

DEFAULT_MAX_TEXT_CHARS = 20_000
DEFAULT_MAX_METADATA_BYTES = 64 * 1024
MAX_RECALL_K = 1_000
_ORDERS: frozenset[str] = frozenset({"newest", "oldest", "importance", "updated", "accessed"})
# Recall scores this many keyword candidates per result asked for, so the recency/importance
# blend can lift a slightly weaker match above a stale one.
_CANDIDATES_PER_RESULT = 4
_MIN_CANDIDATES = 40
#: How often (in changes) a write prunes the change feed down to its last CHANGES_KEPT.
_PRUNE_CHANGES_EVERY = 4096
# remember_many validates this many items between yields to the event loop (a few ms of
# work each): see benchmarks/bench_loop_lag.py.
_PREPARE_CHUNK = 64
# Every NewMemory field with its default (`text` has none: each item must give it).
_NEW_MEMORY_DEFAULTS: dict[str, Any] = {
    name: field.default for name, field in NewMemory.model_fields.items()
}
#: How long recall's access counts wait before they are written, so a burst of recalls costs
#: one write transaction instead of one each (reads overlay counts not yet written).
_ACCESS_FLUSH_DELAY = 1.0
#: SQLite reads LIMIT as a signed 64-bit integer.
_SQL_MAX_LIMIT = 2**62
_EMBED_PAGE = 256
# Session context: the best keyword hits lend this share of their score to their neighbours.
_SESSION_ANCHORS = 20
_SESSION_CONTEXT_SHARE = 0.5
#: ``recall(mode=...)``: ``auto`` is ``hybrid`` with an embedder and ``keyword`` without.
RecallMode = Literal["auto", "keyword", "vector", "hybrid"]
_MODES: frozenset[str] = frozenset({"auto", "keyword", "vector", "hybrid"})

PathLike = str | os.PathLike[str]
CategoryArg = Category | str | Sequence[Category | str] | None


@dataclass(frozen=True, slots=True)
class _Prepared:
    row: MemoryRow
    store: SQLiteStore
    detail: dict[str, Any]
    on_conflict: ConflictPolicy


def _utc(value: datetime | None, name: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} must be a datetime, not {type(value).__name__}")
    # A naive datetime means the caller's local time, as datetime.now() gives it.
    return value.astimezone(UTC).timestamp() if value.tzinfo else value.astimezone().timestamp()


def _category(value: Category | str) -> Category:
    try:
        return Category(value)
    except ValueError:
        valid = ", ".join(c.value for c in Category)
        raise InvalidInputError(f"unknown category {value!r}; use one of: {valid}") from None


def _categories(value: CategoryArg) -> tuple[Category, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (_category(value),)
    return tuple(_category(v) for v in value)


def _scope(value: Scope | str | None) -> Scope | None:
    if value is None:
        return None
    try:
        return Scope(value)
    except ValueError:
        raise InvalidInputError(f"unknown scope {value!r}; use 'project' or 'global'") from None


def _importance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"importance must be a number in [0, 1], not {value!r}")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidInputError(f"importance must be a number in [0, 1], not {value!r}")
    return float(value)


def _policy(value: Any) -> ConflictPolicy:
    if value not in CONFLICT_POLICIES:
        raise InvalidInputError(
            f"unknown conflict policy {value!r}; use one of {sorted(CONFLICT_POLICIES)}"
        )
    return cast(ConflictPolicy, value)


def _optional_label(value: Any, name: str, *, max_chars: int = 256) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise InvalidInputError(f"{name} must be a non-empty string of at most {max_chars} chars")
    return value


class AsyncMemoryMesh(InvisibleMixin):
    """Persistent, local long-term memory for LLM agents.

    Two SQLite stores back one mesh: the *project* store (``<project>/.memorymesh/memories.db``)
    and the *global* store (``~/.memorymesh/global.db``), which follows the user everywhere.
    Writes go to the store of the memory's scope; recall searches both and merges by score.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with AsyncMemoryMesh() as mesh:
            await mesh.remember("User prefers dark mode", category="preference")
            hits = await mesh.recall("which theme does the user like?")

    Args:
        path: The project store's database file, or ``":memory:"``. By default the project
            root is found by walking up from the working directory (or read from
            ``MEMORYMESH_PROJECT_ROOT``); outside any project, project-scoped memories go to
            the global store.
        global_path: The global store's file (default ``$MEMORYMESH_HOME/global.db``, with
            ``MEMORYMESH_HOME`` defaulting to ``~/.memorymesh``), or ``":memory:"``.
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
    ) -> None:
        self.on_conflict = _policy(on_conflict)
        self._privacy = PrivacyGuard(privacy)
        # "auto": the embedder the stores recorded, looked up when they open.
        self._auto_embedding = embedding == "auto"
        self._embedder = None if self._auto_embedding else resolve_embedder(embedding)
        # Memories embedded while opening (a store's backlog), reported by the next reembed().
        self._embedded_on_open = 0
        self.weights = weights or ScoringWeights()
        self.max_text_chars = max_text_chars
        self.max_metadata_bytes = max_metadata_bytes
        self._source = source
        self._agent = agent

        timeout_ms = int(busy_timeout * 1000)
        global_file = (
            self._resolve(global_path) if global_path is not None else str(default_global_path())
        )
        if path is None:
            root = find_project_root()
            project_file = str(project_store_path(root)) if root is not None else None
        else:
            project_file = self._resolve(path)
        # Encryption at rest (see _crypto.py): one key for both stores, each with its own salt.
        key = EncryptionKey.of(
            encryption_key
            if encryption_key is not None
            else os.environ.get("MEMORYMESH_ENCRYPTION_KEY") or None
        )
        self._global = SQLiteStore(
            global_file, scope=Scope.GLOBAL, busy_timeout_ms=timeout_ms, encryption_key=key
        )
        self._project: SQLiteStore | None = None
        if project_file is not None and not (
            project_file != IN_MEMORY and project_file == global_file
        ):
            self._project = SQLiteStore(
                project_file, scope=Scope.PROJECT, busy_timeout_ms=timeout_ms, encryption_key=key
            )

        self._open_lock = anyio.Lock()
        self._opened = False
        self._closed = False
        self._exit_stack: AsyncExitStack | None = None
        self._task_group: TaskGroup | None = None
        self._flush_scheduled = False
        self._flush_delay: anyio.CancelScope | None = None
        # Retrieval engine: one vector index per store (with an embedder), and the stores
        # whose vectors came from a different embedder (usable again after `reembed`).
        self._indexes: dict[SQLiteStore, VectorIndex] = {}
        self._stale: dict[SQLiteStore, builtins.list[str]] = {}
        # Without an embedder: a token index per store for conflict candidates, built on
        # the first write (reads never pay for it).
        self._lexicons: dict[SQLiteStore, LexicalIndex[str]] = {}
        # Per store, the change-feed mark up to which both indexes reflect the file, writes
        # by other processes included (see _catchup.py).
        self._change_marks: dict[SQLiteStore, int] = {}

    @staticmethod
    def _resolve(path: PathLike) -> str:
        text = os.fspath(path)
        return text if text == IN_MEMORY else str(Path(text).expanduser().resolve())

    # -- lifetime -----------------------------------------------------------------------------

    @property
    def stores(self) -> tuple[SQLiteStore, ...]:
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
                    try:
                        await self._open_vectors()
                    except EmbeddingError as exc:
                        if not self._auto_embedding:
                            raise
                        # Nobody asked for this embedder: an unreachable one (an Ollama
                        # server that is down) leaves keyword recall working.
                        warnings.warn(
                            f"MemoryMesh: {exc}; using keyword recall", RuntimeWarning, stacklevel=2
                        )
                        self._embedder = None
                        self._indexes.clear()
                        self._stale.clear()
                except BaseException:
                    for store in self.stores:
                        await store.close()
                    self._closed = True
                    raise
                self._opened = True
        return self

    async def __aenter__(self) -> Self:
        await self.open()
        stack = AsyncExitStack()
        self._task_group = await stack.enter_async_context(anyio.create_task_group())
        self._exit_stack = stack
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
        stack, self._exit_stack = self._exit_stack, None
        if self._flush_delay is not None:
            self._flush_delay.cancel()  # a delayed flush writes now rather than hold up close
        if stack is not None:
            await stack.aclose()  # waits for a background flush in flight
        self._task_group = None
        try:
            if self._opened:
                with anyio.CancelScope(shield=True):
                    await self._flush_access()
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

    # -- vectors (retrieval engine) ------------------------------------------------------------

    @property
    def _embedder_name(self) -> str | None:
        return None if self._embedder is None else self._embedder.name

    async def _embed(self, texts: builtins.list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors for ``texts`` from the mesh's embedder, checked for shape."""
        assert self._embedder is not None
        try:
            raw = await self._embedder.embed(texts)
        except EmbeddingError:
            raise
        except Exception as exc:  # a third-party embedder's own failure, typed for callers
            raise EmbeddingError(f"{self._embedder.name} failed: {exc}") from exc
        dim = self._embedder.dim or None
        return unit_rows(as_matrix(raw, len(texts), dim, who=self._embedder.name))

    async def _vectors_for(self, texts: builtins.list[str]) -> npt.NDArray[np.float32] | None:
        if self._embedder is None:
            return None
        self._check_fresh()
        return await self._embed(texts)

    def _check_fresh(self, stores: Iterable[SQLiteStore] | None = None) -> None:
        for store in self.stores if stores is None else stores:
            if store in self._stale:
                raise EmbeddingError(
                    f"{store.label} holds vectors from {', '.join(self._stale[store])}, not "
                    f"{self._embedder_name}: run `memorymesh reembed` (or mesh.reembed()) "
                    "before using vectors with this embedder"
                )

    async def _open_vectors(self) -> None:
        """Check each store's recorded embedder and build its vector index."""
        if self._embedder is None:
            return
        if not self._embedder.dim:
            await self._embed(["dimension probe"])  # HTTP providers learn dim from an answer
        name = self._embedder.name
        for store in self.stores:
            models = await store.embedding_models()
            others = sorted(m for m in models if m is not None and m != name)
            if others:
                self._stale[store] = others
                continue
            if models.get(None):
                self._embedded_on_open += await self._embed_missing(store)
            elif await store.get_meta("embedder") != name:
                await self._record_embedder(store)
            await self._load_index(store)

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

    async def _record_embedder(self, store: SQLiteStore) -> None:
        assert self._embedder is not None
        async with store.write() as tx:
            await tx.set_meta("embedder", self._embedder.name)
            await tx.set_meta("embedder_dim", str(self._embedder.dim))

    async def _embed_missing(
        self, store: SQLiteStore, progress: Callable[[int], None] | None = None
    ) -> int:
        """Give every memory of ``store`` a vector from the current embedder; return how many."""
        assert self._embedder is not None
        name = self._embedder.name
        done = 0
        after = 0
        while True:
            page = await store.texts_to_embed(name, after_seq=after, limit=_EMBED_PAGE)
            if not page:
                break
            vectors = await self._embed([text for _, _, text in page])
            async with store.write() as tx:
                await tx.set_embeddings(
                    [(mid, to_blob(v), name) for (_, mid, _), v in zip(page, vectors, strict=True)]
                )
            after = page[-1][0]
            done += len(page)
            if progress is not None:
                progress(len(page))
        await self._record_embedder(store)
        return done

    async def _load_index(self, store: SQLiteStore) -> None:
        assert self._embedder is not None
        await self._mark_before_building(store)
        dim = self._embedder.dim
        index = VectorIndex(dim)
        after = 0
        while True:
            page = await store.vector_rows(self._embedder.name, after_seq=after)
            if not page:
                break
            rows = []
            blobs = []
            for seq, mid, cat, imp, pinned, created, expires, session, superseded, blob in page:
                del seq
                if len(blob) != dim * 4:
                    raise EmbeddingError(
                        f"{store.label}: memory {mid} has a vector of the wrong size; "
                        "run `memorymesh reembed`"
                    )
                rows.append(
                    IndexRow(
                        id=mid,
                        category=cat,
                        importance=imp,
                        pinned=bool(pinned),
                        created_at=created,
                        expires_at=expires,
                        session_id=session,
                        superseded=bool(superseded),
                    )
                )
                blobs.append(blob)
            matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(rows), dim)
            index.add(rows, matrix.astype(np.float32))
            after = page[-1][0]
        self._indexes[store] = index

    async def _lexicon(self, store: SQLiteStore) -> LexicalIndex[str]:
        lexicon = self._lexicons.get(store)
        if lexicon is None:
            # Registered before it is filled, so writes committing meanwhile still land in it.
            lexicon = self._lexicons[store] = LexicalIndex[str]()
            await self._mark_before_building(store)
            after = 0
            while True:
                page = await store.current_texts(after_seq=after)
                if not page:
                    break
                tokens = content_tokens_many(text for _, _, text in page)
                lexicon.add(zip((mid for _, mid, _ in page), tokens, strict=True))
                after = page[-1][0]
        return lexicon

    async def _mark_before_building(self, store: SQLiteStore) -> None:
        # Read before the rows: a write landing meanwhile is applied again later, harmlessly.
        if store not in self._change_marks:
            self._change_marks[store] = await store.change_mark()

    async def _catch_up(self, store: SQLiteStore, tx: WriteTransaction | None = None) -> bool:
        """Apply the writes made to ``store`` since this process's mark (by other processes
        sharing the file, mostly) to its in-memory indexes. Returns whether memories without
        a vector were found: :meth:`_embed_missing` should run once no write is open."""
        index = self._indexes.get(store)
        lexicon = self._lexicons.get(store)
        if index is None and lexicon is None:
            return False
        mark = self._change_marks.get(store, 0)
        source: SQLiteStore | WriteTransaction = store if tx is None else tx
        changes = await source.changes_since(mark)
        if changes.ids:
            found = apply_changes(
                changes.ids,
                await source.changed_memories(changes.ids),
                everything=changes.everything,
                index=index,
                lexicon=lexicon,
                model=self._embedder_name,
            )
            if found.other_models:
                self._stale[store] = sorted({*self._stale.get(store, ()), *found.other_models})
        else:
            found = None
        self._change_marks[store] = changes.mark
        return found is not None and bool(found.unembedded) and index is not None

    async def _fresh_index(self, store: SQLiteStore) -> None:
        """Catch ``store``'s indexes up before a search, embedding what arrived unembedded."""
        # A store holding another embedder's vectors waits for `reembed` instead.
        if await self._catch_up(store) and store not in self._stale:
            await self._embed_missing(store)
            await self._catch_up(store)

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
        total, self._embedded_on_open = self._embedded_on_open, 0
        for store in self.stores:
            total += await self._embed_missing(store, progress)
            self._stale.pop(store, None)
            await self._load_index(store)
        return total

    async def embedding_backlog(self) -> int:
        """How many memories lack a vector from the mesh's embedder (0 without one)."""
        await self._ready()
        if self._embedder is None:
            return 0
        total = 0
        for store in self.stores:
            models = await store.embedding_models()
            total += sum(n for m, n in models.items() if m != self._embedder.name)
        return total

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
            (memory,) = await self.remember_many([item])
        except InvalidInputError as exc:
            # (polish) One item: remember_many's "item 0: " prefix would only puzzle the caller.
            exc.args = (str(exc).removeprefix("item 0: "), *exc.args[1:])
            raise
        return memory

    async def remember_many(
        self, items: Iterable[str | Mapping[str, Any] | NewMemory], *, review: bool = False
    ) -> list[Memory]:
        """Store many memories in one transaction per store: all of them or none.

        Each item is a string, or a mapping or :class:`~memorymesh.NewMemory` with
        :meth:`remember`'s fields. Every item is validated before anything is written.

        With ``review=True`` the memories land in the review queue instead (see
        :meth:`review_queue`): they are not recalled until accepted, and text that is already
        remembered, queued or was rejected before is not queued again.

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
        prepared: list[_Prepared] = []
        for index, item in enumerate(items):
            if index and index % _PREPARE_CHUNK == 0:
                await anyio.lowlevel.checkpoint()  # a long batch must not stall the loop
            try:
                ready = self._prepare(self._as_new(item), now)
                if review:
                    ready = replace(ready, row=replace(ready.row, status="pending"))
                prepared.append(ready)
            except InvalidInputError as exc:
                raise type(exc)(f"item {index}: {exc}") from exc
        if not prepared:
            return []

        vectors = await self._vectors_for([p.row.text for p in prepared])
        if vectors is not None:
            name = self._embedder_name
            prepared = [
                dataclasses.replace(
                    p,
                    row=dataclasses.replace(p.row, embedding=to_blob(v), embedding_model=name),
                )
                for p, v in zip(prepared, vectors, strict=True)
            ]
        results: list[Memory | None] = [None] * len(prepared)
        after_commit: list[Callable[[], None]] = []
        unembedded: list[SQLiteStore] = []
        async with AsyncExitStack() as stack:
            for store in self.stores:
                positions = [i for i, p in enumerate(prepared) if p.store is store]
                if not positions:
                    continue
                lexicon = await self._lexicon(store) if vectors is None else None
                tx = await stack.enter_async_context(store.write())
                # Under the write lock: nothing can land between catching up and writing.
                if await self._catch_up(store, tx):
                    unembedded.append(store)
                written = await write_batch(
                    tx,
                    [prepared[i].row for i in positions],
                    [prepared[i].on_conflict for i in positions],
                    [prepared[i].detail for i in positions],
                    None if vectors is None else vectors[positions],
                    index=self._indexes.get(store),
                    new_id=_new_id,
                    model=self._embedder_name,
                    lexicon=lexicon,
                    review=review,
                )
                for i, memory in zip(positions, written.memories, strict=True):
                    results[i] = memory
                mark = await tx.change_mark()
                if mark // _PRUNE_CHANGES_EVERY != self._change_marks.get(store, 0) // (
                    _PRUNE_CHANGES_EVERY
                ):
                    await tx.prune_changes(mark)
                after_commit.append(written.apply_to_index)
                after_commit.append(functools.partial(self._change_marks.__setitem__, store, mark))
        for apply in after_commit:
            apply()
        for store in unembedded:
            await self._fresh_index(store)
        return [r for r in results if r is not None]

    def _as_new(self, item: str | Mapping[str, Any] | NewMemory) -> NewMemory:
        if isinstance(item, NewMemory):
            return item
        if isinstance(item, str):
            return NewMemory.model_construct(text=item, pin=False)
        if isinstance(item, Mapping):
            unknown = item.keys() - _NEW_MEMORY_DEFAULTS.keys()
            if unknown:
                raise InvalidInputError(f"unknown field(s) {sorted(map(str, unknown))}")
            if "text" not in item:
                raise InvalidInputError("each item needs a 'text'")
            return NewMemory.model_construct(**{**_NEW_MEMORY_DEFAULTS, **item})
        raise InvalidInputError(
            f"each item must be a string, a mapping or a NewMemory, not {type(item).__name__}"
        )

    def _check_text(self, text: Any) -> str:
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a string, not {type(text).__name__}")
        cleaned = strip_injected(text).strip()
        if not cleaned:
            if contains_injected(text):
                raise InjectedContextError(
                    "the text is only context MemoryMesh injected; it is already remembered"
                )
            raise InvalidInputError("text is empty")
        if len(cleaned) > self.max_text_chars:
            raise InvalidInputError(
                f"text is {len(cleaned)} characters; the limit is {self.max_text_chars}"
            )
        if "\x00" in cleaned:
            raise InvalidInputError("text contains a NUL character")
        return cleaned

    def _check_metadata(self, metadata: Any) -> str:
        if metadata is None:
            return "{}"
        if not isinstance(metadata, Mapping):
            raise InvalidInputError(
                f"metadata must be a JSON object (a mapping), not {type(metadata).__name__}"
            )
        if not all(isinstance(key, str) for key in metadata):
            raise InvalidInputError("metadata keys must be strings")
        try:
            encoded = json.dumps(dict(metadata), allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"metadata is not JSON-serialisable: {exc}") from None
        if len(encoded.encode("utf-8")) > self.max_metadata_bytes:
            raise InvalidInputError(
                f"metadata is larger than the {self.max_metadata_bytes}-byte limit"
            )
        return encoded

    def _store_for(self, scope: Scope, *, explicit: bool) -> SQLiteStore:
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

    def _prepare(self, item: NewMemory, now: float) -> _Prepared:
        text = self._check_text(item.text)
        # -- privacy guard: secrets are redacted (or rejected) before anything else sees them
        text, text_kinds = self._privacy.check_text(text)
        metadata, meta_kinds = self._privacy.check_metadata(item.metadata)
        redactions = sorted(set(text_kinds) | set(meta_kinds))
        # -- end privacy guard
        detail: dict[str, Any] = {"redacted": redactions} if redactions else {}
        if item.category is None:
            guess = classify(text)
            category = guess.category
            detail["category_rule"] = guess.rule
            if guess.matched:
                detail["category_words"] = list(guess.matched)
        else:
            category = _category(item.category)
        if item.importance is None:
            importance = estimate_importance(text, category)
            detail["importance"] = "estimated"
        else:
            importance = _importance(item.importance)
        explicit_scope = _scope(item.scope)
        if explicit_scope is not None:
            scope = explicit_scope
        elif item.category is None:  # an inferred category: global only if about the user
            scope = infer_scope(text, category)
        else:
            scope = default_scope(category)
        store = self._store_for(scope, explicit=explicit_scope is not None)
        if store is self._global:
            scope = Scope.GLOBAL
        if not isinstance(item.pin, bool):
            raise InvalidInputError(f"pin must be True or False, not {item.pin!r}")
        if item.ttl is not None and item.expires_at is not None:
            raise InvalidInputError("give ttl or expires_at, not both")
        expires_at = _utc(item.expires_at, "expires_at")
        if item.ttl is not None:
            if not isinstance(item.ttl, timedelta) or item.ttl <= timedelta(0):
                raise InvalidInputError("ttl must be a positive timedelta")
            expires_at = now + item.ttl.total_seconds()
        event_time = _utc(item.event_time, "event_time")
        if event_time is None:
            # "yesterday", "last Friday", "2024-03-05": resolved against this write's moment.
            found = find_event_time(text, datetime.fromtimestamp(now).astimezone())
            if found is not None:
                event_time = found.when.timestamp()
                detail["event_time_from"] = found.phrase
        row = MemoryRow(
            id=uuid.uuid4().hex,
            text=text,
            content_hash=content_hash(text),
            category=category.value,
            importance=importance,
            scope=scope.value,
            pinned=item.pin,
            metadata=self._check_metadata(metadata),
            session_id=_optional_label(item.session_id, "session_id"),
            source=_optional_label(item.source, "source") or self._source,
            agent=_optional_label(item.agent, "agent") or self._agent,
            redactions=json.dumps(redactions),
            created_at=now,
            updated_at=now,
            event_time=event_time,
            expires_at=expires_at,
        )
        policy = self.on_conflict if item.on_conflict is None else _policy(item.on_conflict)
        return _Prepared(row=row, store=store, detail=detail, on_conflict=policy)

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
    ) -> Memory:
        """Change fields of one memory; arguments left as None stay as they are.

        ``metadata`` replaces the whole object. The scope cannot change: forget and
        remember again to move a memory between project and global.

        Raises:
            MemoryNotFoundError: no memory has that id.
            InvalidInputError: a new value is invalid; nothing changed.
            StoreError: the database failed; nothing changed.
        """
        await self._ready()
        fields: dict[str, Any] = {}
        found: set[str] = set()  # privacy guard: kinds of secret redacted by this update
        if text is not None:
            checked, kinds = self._privacy.check_text(self._check_text(text))
            found.update(kinds)
            fields["text"] = checked
            fields["content_hash"] = content_hash(fields["text"])
        if importance is not None:
            fields["importance"] = _importance(importance)
        if category is not None:
            fields["category"] = _category(category).value
        if metadata is not None:
            metadata, kinds = self._privacy.check_metadata(metadata)
            found.update(kinds)
            fields["metadata"] = self._check_metadata(metadata)
        if pin is not None:
            if not isinstance(pin, bool):
                raise InvalidInputError(f"pin must be True or False, not {pin!r}")
            fields["pinned"] = int(pin)
        if event_time is not None:
            fields["event_time"] = _utc(event_time, "event_time")
        if expires_at is not None:
            fields["expires_at"] = _utc(expires_at, "expires_at")
        store = await self._store_holding(memory_id)
        index = self._indexes.get(store)
        vector = None
        if "text" in fields and self._embedder is not None:
            vectors = await self._vectors_for([fields["text"]])
            assert vectors is not None
            vector = vectors[0]
            fields["embedding"] = to_blob(vector)
            fields["embedding_model"] = self._embedder.name
        earlier: Memory | None = None
        earlier_vector: npt.NDArray[np.float32] | None = None
        async with store.write() as tx:
            fields["updated_at"] = tx.now
            current = await tx.get_many([memory_id])
            if found:  # privacy guard: add to the kinds already recorded on the memory
                known = set(current[0].redactions) if current else set()
                fields["redactions"] = json.dumps(sorted(known | found))
            detail: dict[str, Any] = {}
            if current and "text" in fields and current[0].text != fields["text"]:
                # The earlier wording stays as history, as a supersede keeps it: a copy under
                # a new id, superseded by this one, so history() shows it and restore() can
                # bring it back. The memory keeps its id.
                if index is not None and memory_id in index:
                    earlier_vector = index.vectors([memory_id])[0]
                row = _history_row(current[0], _new_id(), earlier_vector, self._embedder_name)
                await tx.insert_many([row])
                await tx.supersede([(row.id, memory_id)])
                detail["earlier_version"] = row.id
                (earlier,) = await tx.get_many([row.id])
            if not await tx.update(memory_id, fields):
                raise MemoryNotFoundError(memory_id)
            changed = sorted(set(fields) - {"updated_at", "content_hash", "embedding_model"})
            await tx.log([("updated", memory_id, self._source, {"fields": changed, **detail})])
            (memory,) = await tx.get_many([memory_id])
        if "text" in fields and store in self._lexicons:
            self._lexicons[store].add([(memory_id, content_tokens(memory.text))])
        if index is not None and earlier is not None and earlier_vector is not None:
            index.add([memory_index_row(earlier, superseded=True)], earlier_vector[None, :])
        if index is not None and (memory_id in index or vector is not None):
            if vector is None:
                vector = index.vectors([memory_id])[0]
            superseded = memory.superseded_by is not None
            index.add([memory_index_row(memory, superseded=superseded)], vector[None, :])
        return memory

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
        async with store.write() as tx:
            earlier = (await tx.earlier_versions([memory_id])).get(memory_id, [])
            if not await tx.delete_many([memory_id]):
                raise MemoryNotFoundError(memory_id)
            # The wordings update() kept are this memory's own history: they go with it.
            versions = await tx.delete_many(earlier)
            detail = {"earlier_versions": versions} if versions else {}
            await tx.log([("forgotten", memory_id, self._source, detail)])
        if store in self._indexes:
            self._indexes[store].remove([memory_id, *versions])
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
        total = 0
        gone: builtins.list[tuple[SQLiteStore, builtins.list[str]]] = []
        async with AsyncExitStack() as stack:
            for store in self.stores:
                tx = await stack.enter_async_context(store.write())
                earlier = await tx.earlier_versions(wanted)
                deleted = await tx.delete_many(wanted)
                total += len(deleted)
                # update()'s earlier wordings go with their memory (and are not counted).
                entries: builtins.list[LogEntry] = []
                for memory_id in builtins.list(deleted):
                    versions = await tx.delete_many(earlier.get(memory_id, []))
                    deleted += versions
                    detail = {"earlier_versions": versions} if versions else {}
                    entries.append(("forgotten", memory_id, self._source, detail))
                await tx.log(entries)
                gone.append((store, deleted))
        for store, deleted in gone:
            if store in self._indexes:
                self._indexes[store].remove(deleted)
        return total

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
        hidden: builtins.list[str] = []
        async with store.write() as tx:
            (memory,) = await tx.get_many([memory_id])
            if memory.superseded_by is None:
                return memory
            successors = await tx.get_many([memory.superseded_by])
            await tx.update(memory_id, {"superseded_by": None, "superseded_at": None})
            if successors and successors[0].superseded_by is None:
                await tx.supersede([(successors[0].id, memory_id)])
                hidden.append(successors[0].id)
            await tx.log(
                [("restored", memory_id, self._source, {"was_superseded_by": memory.superseded_by})]
            )
            (memory,) = await tx.get_many([memory_id])
        if store in self._lexicons:
            self._lexicons[store].add([(memory_id, content_tokens(memory.text))])
        index = self._indexes.get(store)
        if index is not None:
            index.set_superseded([memory_id], False)
            index.set_superseded(hidden)
        return memory

    async def history(self, memory_id: str) -> builtins.list[Memory]:
        """Every version linked to this memory by superseding or merging, oldest first.

        The current version has ``superseded_by`` None; each older one names its successor.

        Raises:
            MemoryNotFoundError: no memory has that id.
        """
        await self._ready()
        store = await self._store_holding(memory_id)
        return await store.history(memory_id)

    # -- reads --------------------------------------------------------------------------------

    async def get(self, memory_id: str) -> Memory:
        """The memory with this id (current, superseded or expired alike).

        Raises:
            MemoryNotFoundError: no memory has that id.
        """
        if not isinstance(memory_id, str) or not memory_id:
            raise MemoryNotFoundError(str(memory_id))
        await self._ready()
        for store in self.stores:
            found = await store.get_many([memory_id])
            if found:
                return found[0]
        raise MemoryNotFoundError(memory_id)

    async def _store_holding(self, memory_id: str) -> SQLiteStore:
        if not isinstance(memory_id, str) or not memory_id:
            raise MemoryNotFoundError(str(memory_id))
        for store in self.stores:
            if await store.get_many([memory_id]):
                return store
        raise MemoryNotFoundError(memory_id)

    async def resolve_id(self, prefix: str) -> str:
        """The full id of the one memory whose id starts with ``prefix`` (for short ids).

        Raises:
            MemoryNotFoundError: no memory, or more than one, matches.
        """
        await self._ready()
        matches: list[str] = []
        for store in self.stores:
            matches.extend(await store.resolve_prefix(prefix))
        if len(matches) != 1:
            raise MemoryNotFoundError(prefix)
        return matches[0]

    def _filters(
        self,
        *,
        category: CategoryArg = None,
        scope: Scope | str | None = None,
        min_importance: float | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        pinned: bool | None = None,
        include_superseded: bool = False,
        include_expired: bool = False,
        as_of: datetime | None = None,
        time_field: TimeField = "created",
    ) -> Filters:
        if time_field not in ("created", "event"):
            raise InvalidInputError(f"time_field must be 'created' or 'event', not {time_field!r}")
        for name, value in (("since", since), ("until", until), ("as_of", as_of)):
            if value is not None and not isinstance(value, datetime):
                raise InvalidInputError(f"{name} must be a datetime")
        return Filters(
            categories=_categories(category),
            scope=_scope(scope),
            min_importance=None if min_importance is None else _importance(min_importance),
            since=since,
            until=until,
            session_id=_optional_label(session_id, "session_id"),
            pinned=pinned,
            metadata=parse_metadata_filter(metadata_filter),
            include_superseded=include_superseded,
            include_expired=include_expired,
            as_of=as_of,
            time_field=time_field,
        )

    def _stores_for(self, scope: Scope | None) -> tuple[SQLiteStore, ...]:
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
        filters = self._filters(
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
        )
        resolved = self._mode(mode)
        await self._ready()
        now = time.time()
        match = fts_query(query)
        limit = max(_MIN_CANDIDATES, k * _CANDIDATES_PER_RESULT)
        candidates = await self._candidates(query, filters, resolved, limit=limit, now=now)
        period = named_period(query)
        if period is not None:  # "what did we decide on 3 May 2024?": that day's memories first
            candidates = prefer_period(candidates, period)
        scored: list[tuple[float, SQLiteStore, Memory, ScoreBreakdown]] = []
        for store, memory, relevance in candidates:
            score, breakdown = blend(
                memory,
                relevance,
                weights=self.weights,
                now=now,
                by_event_time=time_field == "event",
            )
            scored.append((score, store, memory, breakdown))
        scored.sort(key=lambda item: item[0], reverse=True)
        results = RecallResults()
        for score, store, memory, breakdown in scored[:k]:
            store.record_access(memory.id, now)
            seen = memory.model_copy(
                update={
                    "access_count": memory.access_count + 1,
                    "last_accessed_at": _dt(now),
                    # privacy guard: memories stored before it existed are redacted on the way out
                    **self._privacy.scrub_memory(memory),
                }
            )
            results.append(RecallResult(memory=seen, score=score, breakdown=breakdown))
        if results:
            self._schedule_flush()
        if explain:
            results.explanation = RecallExplanation(
                query_terms=query_terms(query),
                filters=filters.described(),
                candidates=len(candidates),
                returned=len(results),
                weights=self.weights,
                reason=None if results else await self._why_empty(match, filters, now),
            )
        return results

    async def _why_empty(self, match: str | None, filters: Filters, now: float) -> str:
        if match is None:
            return "the query has no searchable words"
        stores = self._stores_for(filters.scope)
        everything = Filters(include_superseded=True, include_expired=True)
        if not sum([await s.count_text(match, everything, now=now) for s in stores]):
            return "no memory contains any of the query's terms"
        current = Filters(as_of=filters.as_of)
        matching_current = sum([await s.count_text(match, current, now=now) for s in stores])
        if not matching_current:
            return (
                "every memory that matches is superseded or expired (current_only=False shows them)"
            )
        return (
            f"{matching_current} current memories match the terms, but the filters exclude them all"
        )

    def _mode(self, mode: Any) -> RecallMode:
        if mode not in _MODES:
            raise InvalidInputError(f"unknown recall mode {mode!r}; use one of {sorted(_MODES)}")
        if mode == "auto":
            return "keyword" if self._embedder is None else "hybrid"
        if mode != "keyword" and self._embedder is None:
            raise InvalidInputError(
                f"mode={mode!r} needs an embedder: open the mesh with embedding='local' "
                "(or another provider)"
            )
        return cast(RecallMode, mode)

    async def _candidates(
        self, query: str, filters: Filters, mode: RecallMode, *, limit: int, now: float
    ) -> builtins.list[tuple[SQLiteStore, Memory, float]]:
        """The memories worth scoring, each with its relevance in [0, 1]."""
        stores = self._stores_for(filters.scope)
        keyword: builtins.list[tuple[SQLiteStore, Memory, float]] = []
        if mode in ("keyword", "hybrid"):
            match = fts_query(query)
            if match is not None:
                for store in stores:
                    for memory, bm25 in await store.search_text(
                        match, filters, limit=limit, now=now
                    ):
                        keyword.append((store, memory, bm25))
            keyword = await self._comparable_across_stores(query, keyword)
            keyword.sort(key=lambda item: item[2], reverse=True)
            if mode == "keyword":
                best = keyword[0][2] if keyword and keyword[0][2] > 0 else 1.0
                ranked = [(st, m, bm25 / best) for st, m, bm25 in keyword]
                return await self._with_session_context(ranked, filters, now=now)
        for store in stores:
            if store in self._indexes:
                await self._fresh_index(store)
        self._check_fresh(stores)
        (q,) = await self._embed([query])
        vector: builtins.list[tuple[SQLiteStore, Memory, float]] = []
        vf = vector_filter(filters)
        for store in stores:
            index = self._indexes.get(store)
            if index is None or not len(index):
                continue
            if filters.as_of is not None:
                # What was current then is not what the index marks current now: SQL says
                # exactly which rows qualify, superseded or expired since included.
                vf = dataclasses.replace(
                    vf,
                    include_superseded=True,
                    include_expired=True,
                    allowed=await store.ids_matching(filters, now=now),
                )
            elif filters.metadata or filters.ids is not None:
                vf = dataclasses.replace(vf, allowed=await store.ids_matching(filters, now=now))
            (hits,) = index.search(q[None, :], limit, vf, now=now)
            # The index knows scope, category, time and history; the SQL filters (life-cycle
            # status, metadata) are applied to its hits here.
            ids = tuple(mid for mid, _ in hits)
            # The index has applied category, importance, session and pinned exactly; left in
            # the SQL they tempt SQLite to scan a whole category by its index instead of
            # looking the hits up by id (30 ms instead of 1 at 100k memories).
            exact = dataclasses.replace(
                filters, ids=ids, categories=(), min_importance=None, session_id=None, pinned=None
            )
            found = {
                m.id: m
                for m in await store.select(
                    exact, order="newest", limit=max(1, len(ids)), offset=0, now=now
                )
            }
            vector.extend((store, found[mid], cos) for mid, cos in hits if mid in found)
        vector.sort(key=lambda item: item[2], reverse=True)
        if mode == "vector":
            ranked = [(st, m, max(0.0, cos)) for st, m, cos in vector]
            return await self._with_session_context(ranked, filters, now=now)
        best = keyword[0][2] if keyword and keyword[0][2] > 0 else 1.0
        kw_ranked = [(st, m, bm25 / best) for st, m, bm25 in keyword]
        # Session context belongs to the keyword side: a reply that shares no word with the
        # question still has its own meaning, which the vector side scores for itself.
        kw_ranked = await self._with_session_context(kw_ranked, filters, now=now)
        # Score the keyword candidates the vector search did not return too, exactly, so a
        # strong keyword hit is never fused with a made-up cosine.
        cosines = {m.id: c for _, m, c in vector}
        for store in stores:
            index = self._indexes.get(store)
            missing = [m.id for st, m, _ in kw_ranked if st is store and m.id not in cosines]
            if index is not None and missing:
                sims = index.vectors(missing) @ q
                cosines.update(zip(missing, sims.tolist(), strict=True))
        fused = standard_score_fusion({m.id: s for _, m, s in kw_ranked}, cosines)
        seen: dict[str, tuple[SQLiteStore, Memory]] = {}
        for st, m, _ in (*kw_ranked, *vector):
            seen.setdefault(m.id, (st, m))
        return sorted(
            ((st, m, fused[mid]) for mid, (st, m) in seen.items()),
            key=lambda item: item[2],
            reverse=True,
        )

    async def _comparable_across_stores(
        self, query: str, keyword: builtins.list[tuple[SQLiteStore, Memory, float]]
    ) -> builtins.list[tuple[SQLiteStore, Memory, float]]:
        """Keyword scores on one scale when both stores matched: each store's BM25 weighs
        words by their rarity in that file alone (see :func:`shared_bm25`)."""
        ids: dict[SQLiteStore, builtins.list[str]] = {}
        for store, memory, _ in keyword:
            ids.setdefault(store, []).append(memory.id)
        if len(ids) < 2:
            return keyword
        terms = query_terms(query)
        stats = [await store.term_statistics(terms, found) for store, found in ids.items()]
        shared = dict(zip(ids, shared_bm25(stats), strict=True))
        return [(st, m, shared[st].get(m.id, 0.0)) for st, m, _ in keyword]

    async def _with_session_context(
        self,
        ranked: builtins.list[tuple[SQLiteStore, Memory, float]],
        filters: Filters,
        *,
        now: float,
    ) -> builtins.list[tuple[SQLiteStore, Memory, float]]:
        """Let each strong hit lend part of its score to the memories written just before and
        after it in the same session.

        A conversation's answer rarely repeats its question's words: "what kind of counseling
        do you want?" matches the query, the reply that names it does not. Memories of one
        session are each other's context, so a neighbour of a hit is a candidate too, scored
        at :data:`_SESSION_CONTEXT_SHARE` of the hit (never above it).
        """
        anchors = [(st, m, score) for st, m, score in ranked[:_SESSION_ANCHORS] if m.session_id]
        if not anchors:
            return ranked
        best: dict[str, tuple[SQLiteStore, Memory, float]] = {
            m.id: (st, m, s) for st, m, s in ranked
        }
        lent = {m.id: score for _, m, score in anchors}
        for store in {st for st, _, _ in anchors}:
            ids = [m.id for st, m, _ in anchors if st is store]
            for anchor, memory in await store.session_neighbours(ids, filters, now=now):
                share = _SESSION_CONTEXT_SHARE * lent[anchor]
                if memory.id not in best or best[memory.id][2] < share:
                    best[memory.id] = (store, memory, share)
        return sorted(best.values(), key=lambda item: item[2], reverse=True)

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
    ) -> list[Memory]:
        """Memories in a stable order, a page at a time.

        Args:
            order: ``newest`` (default), ``oldest``, ``importance``, ``updated`` or ``accessed``.
            limit: Page size (1 or more, no upper bound).
            offset: How many to skip.

        Raises:
            InvalidInputError: an unknown order, or limit/offset out of range.
        """
        if order not in _ORDERS:
            raise InvalidInputError(f"unknown order {order!r}; use one of {sorted(_ORDERS)}")
        for name, value, low in (("limit", limit, 1), ("offset", offset, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidInputError(f"{name} must be an integer >= {low}")
        filters = self._filters(
            scope=scope,
            category=category,
            session_id=session_id,
            pinned=pinned,
            metadata_filter=metadata_filter,
            include_superseded=include_superseded,
            include_expired=include_expired,
        )
        await self._ready()
        now = time.time()
        stores = self._stores_for(filters.scope)
        merged: list[Memory] = []
        for store in stores:
            # No cap on the page: asking for 50,000 memories means all of them (SQLite's
            # LIMIT is a 64-bit integer, so an absurd one is clamped rather than refused).
            rows = min(limit + offset, _SQL_MAX_LIMIT)
            page = await store.select(filters, order=order, limit=rows, offset=0, now=now)
            merged.extend(page)
        if len(stores) > 1:
            merged.sort(key=_sort_key(order))
        return merged[offset : offset + limit]

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
    ) -> int:
        """How many memories match; the same filters as :meth:`list`."""
        filters = self._filters(
            scope=scope,
            category=category,
            session_id=session_id,
            pinned=pinned,
            metadata_filter=metadata_filter,
            include_superseded=include_superseded,
            include_expired=include_expired,
        )
        await self._ready()
        now = time.time()
        total = 0
        for store in self._stores_for(filters.scope):
            total += await store.count(filters, now=now)
        return total

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
        filters = self._filters(scope=scope, metadata_filter=metadata_filter)
        await self._ready()
        now = time.time()
        values: set[str | int | float] = set()
        for store in self._stores_for(filters.scope):
            values.update(await store.metadata_values(key, filters, now=now))
        return sorted(values, key=lambda v: (isinstance(v, str), v))

    async def stats(self) -> MemoryStats:
        """Totals per scope and category, pinned, superseded and expired counts, and paths."""
        await self._ready()
        now = time.time()
        by_scope: dict[str, int] = {s.value: 0 for s in Scope}
        by_category: dict[str, int] = {}
        pinned = superseded = expired = 0
        for store in self.stores:
            counts = await store.counts(now=now)
            for key, n in counts.by_scope.items():
                by_scope[key] = by_scope.get(key, 0) + n
            for key, n in counts.by_category.items():
                by_category[key] = by_category.get(key, 0) + n
            pinned += counts.pinned
            superseded += counts.superseded
            expired += counts.expired
        return MemoryStats(
            total=sum(by_scope.values()),
            by_scope=by_scope,
            by_category=dict(sorted(by_category.items())),
            pinned=pinned,
            superseded=superseded,
            expired=expired,
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
    ) -> int:
        """Write every memory (superseded and expired ones too) to ``target``.

        The ``jsonl`` format (the default) and ``json`` carry every field, the history links
        and all timestamps, and :meth:`import_` reads them back exactly; ``markdown`` is a
        readable summary. Embeddings are left out unless asked for: text is the source of
        truth and vectors can be recomputed.

        Args:
            target: A file path, or an open text stream.
            scope: Only ``"project"`` or only ``"global"`` memories.
            format: ``jsonl``, ``json`` or ``markdown``.
            include_embeddings: Also write each stored vector (base64 float32).

        Returns:
            How many memories were written.

        Raises:
            InvalidInputError: an unknown format or scope.
            StoreError: the file cannot be written, or the database failed.
        """
        if format not in ("jsonl", "json", "markdown"):
            raise InvalidInputError(
                f"unknown export format {format!r}; use jsonl, json or markdown"
            )
        wanted = _scope(scope)
        await self._ready()
        records: builtins.list[dict[str, Any]] = []
        for store in self._stores_for(wanted):
            after = 0
            while True:
                page = await store.dump_page(
                    after_seq=after, limit=5_000, include_embeddings=include_embeddings
                )
                if not page:
                    break
                after = page[-1][0]
                records.extend(encode_record(raw) for _, raw in page)
        document = render(records, format)
        if isinstance(target, str | os.PathLike):
            try:
                await anyio.Path(os.fspath(target)).write_text(document, encoding="utf-8")
            except OSError as exc:
                raise StoreError(f"cannot write the export to {target}: {exc}") from exc
        else:
            target.write(document)
        return len(records)

    async def import_(
        self, source: PathLike | TextIO, *, on_clash: Literal["skip", "replace", "newer"] = "skip"
    ) -> ImportReport:
        """Read an export (``jsonl`` or ``json``) back, all or nothing.

        Each memory keeps its id, timestamps, access statistics and history link, and goes to
        the store of its scope. Importing the same file twice changes nothing.

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
        if isinstance(source, str | os.PathLike):
            try:
                text = await anyio.Path(os.fspath(source)).read_text(encoding="utf-8")
            except OSError as exc:
                raise StoreError(f"cannot read {source}: {exc}") from exc
            except UnicodeDecodeError as exc:  # a binary file: not an export (polish fix)
                raise InvalidInputError(
                    f"{source} is not a MemoryMesh export: not UTF-8 text"
                ) from exc
        else:
            text = source.read()
        rows = decode_records(text)
        for index, row in enumerate(rows):
            try:
                text = self._check_text(row["text"])
                # privacy guard: an import is a write like any other, so no secret lands in clear
                text, text_kinds = self._privacy.check_text(text)
                metadata, meta_kinds = self._privacy.check_metadata(json.loads(row["metadata"]))
            except InvalidInputError as exc:
                raise type(exc)(f"memory {row['id']!r} (record {index}): {exc}") from None
            found = {*json.loads(row["redactions"]), *text_kinds, *meta_kinds}
            row["text"] = text
            row["metadata"] = json.dumps(metadata, ensure_ascii=False)
            row["redactions"] = json.dumps(sorted(found))
            row["content_hash"] = content_hash(text)
        await self._ready()
        rescoped = 0
        by_store: dict[SQLiteStore, builtins.list[dict[str, Any]]] = {}
        for row in rows:
            store = self._store_for(Scope(row["scope"]), explicit=False)
            if store is self._global and row["scope"] != Scope.GLOBAL.value:
                row["scope"] = Scope.GLOBAL.value
                rescoped += 1
            by_store.setdefault(store, []).append(row)
        totals = {"imported": 0, "replaced": 0, "skipped": 0, "links_dropped": 0}
        async with AsyncExitStack() as stack:
            for store, batch in by_store.items():
                tx = await stack.enter_async_context(store.write())
                in_batch = {row["id"] for row in batch}
                targets = [r["superseded_by"] for r in batch if r["superseded_by"]]
                known = in_batch | await tx.existing_ids([t for t in targets if t not in in_batch])
                for row in batch:
                    if row["superseded_by"] and row["superseded_by"] not in known:
                        row["superseded_by"] = None
                        totals["links_dropped"] += 1
                counts = await tx.import_rows(batch, on_clash)
                totals["imported"] += counts.imported
                totals["replaced"] += counts.replaced
                totals["skipped"] += counts.skipped
                await tx.log(
                    [("imported", None, self._source, {"on_clash": on_clash, **asdict(counts)})]
                )
        return ImportReport(rescoped=rescoped, **totals)

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
        entries: builtins.list[WriteLogEntry] = []
        for store in self.stores:
            for at, (action, about, source, detail) in await store.recent_log(
                limit, memory_id=memory_id
            ):
                entries.append(
                    WriteLogEntry(
                        at=_dt(at),
                        action=action,
                        memory_id=about,
                        source=source,
                        scope=store.scope,
                        detail=detail,
                    )
                )
        entries.sort(key=lambda entry: entry.at, reverse=True)
        return entries[:limit]

    async def session_start(
        self,
        query: str | None = None,
        *,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        session_id: str | None = None,
    ) -> SessionContext:
        """The memory an assistant should load at the start of a session, within a budget.

        Gathers guardrails, the user's profile (personality and preferences), mistakes not to
        repeat, recent project decisions and patterns, memories recorded in ``session_id``
        and, when ``query`` (the first message or task) is given, the memories that answer
        it. Each candidate is ranked by its kind, importance, how often it proved useful and
        its recall score; the best are kept while the text fits ``budget_tokens`` (estimated
        as ``ceil(characters / 4)``). ``.text`` is ready to inject and marked, so it is never
        stored back as a memory.

        Args:
            query: The first message or task, if known: makes the context task-aware.
            budget_tokens: The most tokens the text may take (100 to 100000).
            session_id: A session being resumed: its memories are included.

        Raises:
            InvalidInputError: a budget out of range, or a query that is not a string.
            ClosedError: the mesh was closed.
        """
        return await build_session_context(
            self, query, budget_tokens=budget_tokens, session_id=session_id
        )

    async def health(self) -> dict[str, builtins.list[str]]:
        """SQLite's integrity quick-check per store file: ``["ok"]`` when healthy.

        Raises:
            StoreError: a store cannot be read at all.
        """
        await self._ready()
        return {store.label: await store.health() for store in self.stores}

    # -- access statistics --------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._task_group is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            # The delay's scope exists before the task starts, so a close that comes first
            # (a CLI recall closes right away) cancels the delay instead of waiting it out.
            self._flush_delay = anyio.CancelScope()
            self._task_group.start_soon(self._background_flush, self._flush_delay)

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

    async def _flush_access(self) -> None:
        for store in self.stores:
            await store.flush_access()


def _new_id() -> str:
    return uuid.uuid4().hex


def _history_row(
    memory: Memory,
    new_id: str,
    vector: npt.NDArray[np.float32] | None,
    model: str | None,
) -> MemoryRow:
    """A copy of ``memory`` as it is now, under ``new_id``: the version an update replaces."""
    return MemoryRow(
        id=new_id,
        text=memory.text,
        content_hash=content_hash(memory.text),
        category=memory.category.value,
        importance=memory.importance,
        scope=memory.scope.value,
        pinned=memory.pinned,
        metadata=json.dumps(memory.metadata),
        session_id=memory.session_id,
        source=memory.source,
        agent=memory.agent,
        redactions=json.dumps(list(memory.redactions)),
        created_at=memory.created_at.timestamp(),
        updated_at=memory.updated_at.timestamp(),
        event_time=None if memory.event_time is None else memory.event_time.timestamp(),
        expires_at=None if memory.expires_at is None else memory.expires_at.timestamp(),
        embedding=None if vector is None else to_blob(vector),
        embedding_model=None if vector is None else model,
    )


def _dt(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _sort_key(order: str) -> Callable[[Memory], Any]:
    keys: dict[str, Callable[[Memory], Any]] = {
        "newest": lambda m: -m.created_at.timestamp(),
        "oldest": lambda m: m.created_at.timestamp(),
        "importance": lambda m: (-m.importance, -m.created_at.timestamp()),
        "updated": lambda m: -m.updated_at.timestamp(),
        "accessed": lambda m: (
            -m.access_count,
            -(m.last_accessed_at.timestamp() if m.last_accessed_at else 0.0),
        ),
    }
    return keys[order]
