"""What MemoryMesh needs from storage: the ``Store`` protocol, its row types and query types.

Everything above ``stores/`` talks to storage through :class:`Store` and the
:class:`StoreTransaction` its :meth:`Store.write` opens, and nothing else: no SQL, no engine
query syntax (keyword search takes the user's query text and each engine builds its own
expression), no connection handles. An engine is a class that satisfies these protocols (the
SQLite one is :class:`memorymesh.stores.sqlite.SQLiteStore`) and is registered for a URL scheme
with :func:`memorymesh.stores.register_store`; ``tests/contract/`` is the suite every engine
must pass.

Conventions every engine keeps:

* Times are POSIX seconds (``float``) in and :class:`~datetime.datetime` (UTC) out.
* ``cursor`` values (``after_seq``, the ``seq`` in page rows) are opaque, strictly increasing in
  insertion order, and only ever handed back to the same store to fetch the next page.
* Every value reaches the engine as a bound parameter; identifiers (metadata keys, sort orders,
  updatable columns) come from allowlists (:data:`METADATA_KEY`, :class:`ListOrder`).
* Errors are :mod:`memorymesh._errors` types (``StoreError`` and its subclasses), raised
  ``from`` the driver's own exception.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from .._errors import DatabaseLockedError
from .._vocab import Category, ListOrder, Scope
from ._filters import (
    METADATA_KEY,
    Filters,
    MetadataCondition,
    TimeField,
    checked_filters,
    parse_metadata_filter,
)

if TYPE_CHECKING:
    # Only named in annotations: a one-shot read (``memorymesh list``) imports this module
    # without pydantic.
    from .._models import Memory, SessionRecord
    from ._recalled import Recalled

__all__ = [
    "CHANGES_KEPT",
    "EXPORT_COLUMNS",
    "METADATA_KEY",
    "UNIQUE_METADATA_KEYS",
    "ChangedMemory",
    "Changes",
    "CompactionRow",
    "Filters",
    "ImportCounts",
    "LogEntry",
    "LogImport",
    "MemoryRow",
    "MetadataCondition",
    "MetadataRead",
    "NeighbourSearch",
    "PairRow",
    "SideImport",
    "SideRecords",
    "Store",
    "StoreCounts",
    "StoreOptions",
    "StoreTransaction",
    "TimeField",
    "TokenCandidates",
    "TokenPlan",
    "TokenPostings",
    "TokenProbe",
    "TokenRow",
    "TransientWriteError",
    "VectorRow",
    "VectorSearch",
    "VerdictRow",
    "bm25_idf",
    "checked_filters",
    "memory_from_row",
    "metadata_reader",
    "neighbour_searcher",
    "order_key",
    "parse_metadata_filter",
    "side_records",
    "token_postings",
    "vector_searcher",
]

#: ``(key, verdict, created_at)``: a judge's cached verdict as a store keeps it.
VerdictRow = tuple[str, str, float]

#: ``(action, memory_id, source, detail)`` as the write log records it.
LogEntry = tuple[str, str | None, str | None, dict[str, Any]]

#: One row of :meth:`Store.vector_rows`: ``(cursor, id, category, importance, pinned,
#: created_at, expires_at, session_id, superseded, vector_blob)``.
VectorRow = tuple[int, str, str, float, int, float, float | None, str | None, int, bytes]

#: Metadata keys whose values together name one keyed item (a LangGraph store's namespace and
#: key). An engine keeps them unique among current memories (active, not superseded, expired
#: or not) with a unique index or constraint, so an upsert is atomic across processes without
#: a lock: an insert or update that would make a second current memory with the same values
#: raises :class:`~memorymesh.KeyConflictError` and writes nothing. Memories without the first
#: key are not constrained. (SQLite: migration ``0006_unique_items``; PostgreSQL: a unique
#: partial index on ``(metadata->>'langgraph_ns', metadata->>'langgraph_key')``.)
UNIQUE_METADATA_KEYS: tuple[str, ...] = ("langgraph_ns", "langgraph_key")

#: Changes an engine keeps in its feed: a process further behind than this rebuilds its indexes.
CHANGES_KEPT = 20_000


@dataclass(frozen=True, slots=True)
class MemoryRow:
    """Everything ``insert_many`` writes for one memory."""

    id: str
    text: str
    content_hash: str
    category: str
    importance: float
    scope: str
    pinned: bool
    metadata: str
    session_id: str | None
    source: str
    agent: str | None
    redactions: str
    created_at: float
    updated_at: float
    event_time: float | None
    expires_at: float | None
    embedding: bytes | None = None
    embedding_model: str | None = None
    status: str = "active"


@dataclass(frozen=True, slots=True)
class PairRow:
    """An uncertain pair a write kept both of (a ``possible_`` conflict), waiting for a
    judge or a person: the new memory, the existing one, and what the detector said."""

    new_id: str
    old_id: str
    kind: str
    similarity: float
    policy: str
    reason: str
    created_at: float


@dataclass(frozen=True, slots=True)
class CompactionRow:
    """What compaction needs to know about one memory (see ``_compact.py``)."""

    id: str
    category: str
    pinned: bool
    importance: float
    access_count: int
    updated_at: float
    expires_at: float | None
    terms: frozenset[str]


@dataclass(frozen=True, slots=True)
class ChangedMemory:
    """A memory's indexed columns as they are now, for a process catching up on a change."""

    id: str
    text: str
    category: str
    importance: float
    pinned: bool
    created_at: float
    expires_at: float | None
    session_id: str | None
    superseded: bool
    active: bool
    embedding: bytes | None
    embedding_model: str | None


@dataclass(frozen=True, slots=True)
class Changes:
    """What the change feed says happened after a process's mark."""

    mark: int  # the newest change: the process's next mark once it has applied these
    ids: list[str]  # the memories touched (some may since have been deleted)
    everything: bool = False  # the feed was pruned past the mark: ``ids`` is every memory


#: Every column an export carries, in order (the schema's columns less the internal ones).
EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "text", "category", "importance", "scope", "pinned", "metadata", "session_id",
    "source", "agent", "redactions", "created_at", "updated_at", "event_time", "expires_at",
    "access_count", "last_accessed_at", "superseded_by", "superseded_at", "status",
    "embedding", "embedding_model", "superseded_across",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImportCounts:
    imported: int
    replaced: int
    skipped: int


@dataclass(frozen=True, slots=True)
class StoreCounts:
    by_scope: dict[str, int]
    by_category: dict[str, int]
    pinned: int
    superseded: int
    expired: int


#: FTS5's floor for a term's weight: a word in half of a store's rows or more.
_IDF_FLOOR = 1e-6


def bm25_idf(rows: int, matching: int) -> float:
    """The weight BM25 (as FTS5's ``bm25()`` computes it) gives a term found in ``matching``
    of ``rows`` rows; engines use it to report :meth:`Store.term_statistics`."""
    idf = math.log((rows - matching + 0.5) / (matching + 0.5))
    return idf if idf > 0.0 else _IDF_FLOOR


def order_key(order: ListOrder) -> Callable[[Any], Any]:
    """A list order as a sort key, to merge stores' pages: over anything with a memory's
    attributes (a ``Memory``, or a one-shot reader's plain records)."""
    keys: dict[str, Callable[[Any], Any]] = {
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


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def memory_from_row(row: MemoryRow, *, access_count: int = 0) -> Memory:
    """The :class:`Memory` a just-inserted row reads back as, without a round trip."""
    from .._models import trusted_memory

    return trusted_memory(
        {
            "id": row.id,
            "text": row.text,
            "category": Category(row.category),
            "importance": row.importance,
            "scope": Scope(row.scope),
            "pinned": bool(row.pinned),
            "metadata": {} if row.metadata == "{}" else json.loads(row.metadata),
            "session_id": row.session_id,
            "created_at": datetime.fromtimestamp(row.created_at, tz=UTC),
            "updated_at": datetime.fromtimestamp(row.updated_at, tz=UTC),
            "event_time": _dt(row.event_time),
            "expires_at": _dt(row.expires_at),
            "access_count": access_count,
            "last_accessed_at": None,
            "superseded_by": None,
            "superseded_at": None,
            "source": row.source,
            "agent": row.agent,
            "redactions": () if row.redactions == "[]" else tuple(json.loads(row.redactions)),
            "conflicts": (),
        }
    )


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """What the mesh asks of every store it opens, whatever the engine."""

    scope: Scope
    #: Seconds a write waits for another writer before :class:`~memorymesh.DatabaseLockedError`.
    busy_timeout: float = 5.0
    #: Encryption at rest: a passphrase or a 32-byte key (engines without it refuse one).
    encryption_key: str | bytes | None = None
    #: On a shared server: the project key project memories are filed under (None: the
    #: engine's default, derived from the git remote or the folder name).
    project: str | None = None
    #: On a shared server: the user global memories belong to (None: the OS user).
    user: str | None = None


class StoreTransaction(Protocol):
    """One all-or-nothing write on one store, opened by :meth:`Store.write`.

    Everything done through it commits together when the ``async with`` block ends, or not at
    all when the block raises; reads through it see its own writes. Only one transaction per
    store is open at a time, across processes too (writers queue, they never interleave).
    """

    #: When the transaction began (POSIX seconds): the time its writes record.
    now: float

    async def insert_many(self, rows: Sequence[MemoryRow]) -> None:
        """Insert new memories (ids are fresh; a clash is a :class:`StoreError`, a second
        current holder of a keyed item a :class:`~memorymesh.KeyConflictError`: see
        :data:`UNIQUE_METADATA_KEYS`)."""

    async def update(self, memory_id: str, fields: dict[str, Any]) -> bool:
        """Set ``fields`` (names from the updatable allowlist) on one memory; False if absent."""

    async def delete_many(self, ids: Sequence[str]) -> list[str]:
        """Delete these memories; return the ids that existed."""

    async def earlier_versions(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The copies ``update`` kept of these memories' earlier texts, by memory id."""

    async def add_accesses(self, counts: dict[str, tuple[int, float]]) -> None:
        """Add ``(count, last_at)`` recalls to each memory's access statistics."""

    async def log(self, entries: Iterable[LogEntry]) -> None:
        """Append entries to the write log."""

    async def set_meta(self, key: str, value: str) -> None:
        """Record a store-level setting (for example the embedder its vectors come from)."""

    async def add_session(self, session: SessionRecord) -> None:
        """Record a session and the one it continues (a clash of ids is a
        :class:`StoreError`)."""

    async def active_ids_by_hash(
        self, hashes: Sequence[str], *, any_status: bool = False
    ) -> dict[str, str]:
        """Map each content hash to the id of a current memory that has it."""

    async def set_status(
        self, ids: Sequence[str], status: str, *, only_from: Sequence[str]
    ) -> list[str]:
        """Move the memories whose status is in ``only_from`` to ``status``; return them."""

    async def supersede(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Mark each ``(old_id, new_id)``: old is kept as history, superseded by new."""

    async def supersede_across(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Mark each ``(old_id, successor_id)`` whose successor is a memory of the other
        scope's store: old is kept as history, and reports ``superseded_by=successor_id``."""

    async def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        """The life-cycle status of each memory in ``ids`` that exists."""

    async def get_many(self, ids: Sequence[str]) -> list[Memory]:
        """The memories with these ids, current or not, in no particular order."""

    async def change_mark(self) -> int:
        """The newest change in the feed, this transaction's own included."""

    async def changes_since(self, mark: int) -> Changes:
        """The memories changed after ``mark``, by this process or any other."""

    async def changed_memories(self, ids: Sequence[str]) -> list[ChangedMemory]:
        """The current indexed columns of these memories (deleted ones are absent)."""

    async def prune_changes(self, mark: int) -> None:
        """Forget changes older than the newest :data:`CHANGES_KEPT` before ``mark``."""

    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these ids exist, in any status."""

    async def import_rows(self, rows: Sequence[dict[str, Any]], on_clash: str) -> ImportCounts:
        """Insert exported rows with every field kept; ``on_clash`` is skip or replace."""

    async def set_embeddings(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        """Store ``(memory_id, vector_blob, embedder_name)`` for existing memories."""

    async def search_text(
        self, query: str, filters: Filters, *, limit: int, now: float
    ) -> list[tuple[Memory, float]]:
        """:meth:`Store.search_text`, seeing this transaction's writes."""

    async def add_pairs(self, pairs: Sequence[PairRow]) -> None:
        """Queue uncertain pairs for a judge or the review queue (a pair already queued is
        left as it is)."""

    async def resolve_pairs(self, keys: Sequence[tuple[str, str]]) -> int:
        """Take ``(new_id, old_id)`` pairs off the queue; return how many were on it."""

    async def cache_verdicts(self, items: Sequence[tuple[str, str]]) -> None:
        """Remember ``(key, verdict)``: a judge's answer for a pair of texts (see
        ``writes/_judge.py``), so the same pair is never sent twice."""


#: A memory's conflict tokens as stored: ``(seq, id, (subject words, numbers, negated))``.
TokenRow = tuple[int, str, tuple[frozenset[str], frozenset[str], bool]]
#: One new text's keyword probe: its subject words, how many of them a candidate must
#: share, how many of the rarest are probed, and how many of those a candidate must hold
#: (see ``search/_lexical.py``).
TokenPlan = tuple[frozenset[str], int, int, int]
#: What :meth:`TokenCandidates.probe` finds for a batch: per text, the words it probes;
#: per probed word, its holders; per word, its one-word holders (as ``postings`` reads them).
TokenProbe = tuple[list[list[str]], dict[str, list[int]], dict[str, list[int]]]


class TokenPostings(Protocol):
    """The conflict tokens a store keeps of its current memories (migration
    ``0009_conflict_tokens``): which memories hold a word, so a write finds the memories it may
    duplicate or contradict with a few indexed reads instead of an index built from every
    memory. Maintained from the change feed (see ``writes/_postings.py``): the tokens reflect the
    store up to :meth:`mark`. Reached through :func:`token_postings`; an engine (or an encrypted
    file, whose words must not be stored in the clear) without them returns None there.
    """

    async def mark(self) -> int | None:
        """The change-feed mark the tokens reflect (None: never built)."""

    async def counts(self, words: Collection[str]) -> dict[str, int]:
        """How many current memories hold each word (absent: none)."""

    async def postings(
        self, words: Collection[str], limit: int, *, single: bool = False
    ) -> dict[str, list[int]]:
        """Per word, the ``seq`` of its ``limit`` most recent holders, newest first (with
        ``single``: only memories whose subject is that one word)."""

    async def entries(self, seqs: Collection[int]) -> dict[int, TokenRow]:
        """The stored tokens of these memories, by ``seq``."""

    async def current_texts(self, ids: Sequence[str] | None) -> list[tuple[int, str, str]]:
        """``(seq, id, text)`` of these memories (None: all) that are current and active."""

    async def replace(
        self, ids: Sequence[str] | None, rows: Sequence[TokenRow], mark: int | None
    ) -> None:
        """Drop the tokens of ``ids`` (None: all), store ``rows``, record ``mark`` (None:
        keep the recorded one). Only inside a write transaction."""


@runtime_checkable
class TokenCandidates(Protocol):
    """An optional capability of :class:`TokenPostings`: a whole batch's keyword probe
    planned by the store in one statement (PostgreSQL), so a lookup makes two reads (the
    probe, then the candidates' tokens) instead of four."""

    async def probe(self, plans: Sequence[TokenPlan], per_word: int) -> TokenProbe:
        """Per plan, its ``probed`` rarest words the store holds (equally rare words in
        code point order); per word probed, the ``per_word`` most recent holders' seqs,
        newest first; per word of a plan with ``needed`` > 1, its ``per_word`` most recent
        one-word holders (words with none are absent from both)."""


def token_postings(source: object) -> TokenPostings | None:
    """The stored conflict tokens of a store or an open transaction, when it keeps them."""
    get = getattr(source, "conflict_tokens", None)
    return None if get is None else cast("TokenPostings | None", get())


class Store(Protocol):
    """One MemoryMesh store: the memories of one scope (project or global) in one engine.

    Reads may run concurrently with each other and with another process's write; writes go
    through :meth:`write`. A store is opened once, closed once (``close`` is idempotent), and
    never reopened.
    """

    #: Which scope this store holds; every memory in it carries this scope.
    scope: Scope
    #: Where the store is, for people: a file path, ``":memory:"`` or a URL without password.
    label: str

    async def open(self) -> None:
        """Connect and bring the schema up to date (migrations are named and recorded)."""

    async def close(self) -> None:
        """Release the connection; safe to call more than once."""

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` succeeded and :meth:`close` has not been called."""

    @property
    def encrypted(self) -> bool:
        """Whether memory text is encrypted at rest in this store."""

    @property
    def has_pending_access(self) -> bool:
        """Whether recorded accesses wait for :meth:`flush_access`."""

    def write(self) -> AbstractAsyncContextManager[StoreTransaction]:
        """One all-or-nothing :class:`StoreTransaction` for the ``async with`` block."""

    def record_access(self, memory_id: str, at: float) -> None:
        """Count one recall of ``memory_id``; written with the next transaction."""

    async def flush_access(self) -> None:
        """Write the recorded accesses now."""

    async def ids_by_hash(
        self, hashes: Sequence[str], *, any_status: bool = False
    ) -> dict[str, str]:
        """Map each content hash to the id of a current memory with that text, if any."""

    async def get_many(self, ids: Sequence[str]) -> list[Memory]:
        """The memories with these ids, current or not, in no particular order."""

    async def search_text(
        self, query: str, filters: Filters, *, limit: int, now: float
    ) -> Sequence[tuple[Recalled, float]]:
        """Keyword search: memories matching the words of ``query`` under ``filters``.

        Best first, each with the engine's relevance score (higher is better; scores are
        comparable within one call only). A query with no searchable word matches nothing.
        A match is a :class:`Memory` or a row that builds one (:func:`as_memory`).
        """

    async def term_statistics(
        self, terms: Sequence[str], ids: Sequence[str]
    ) -> tuple[int, dict[str, int], dict[str, dict[str, float]]]:
        """What keyword recall needs to put this store's scores on statistics shared with
        another store: how many memories the engine counts, each term's document count, and
        each term's own share of the relevance (higher is better) of the memories ``ids``."""

    async def count_text(self, query: str, filters: Filters, *, now: float) -> int:
        """How many memories :meth:`search_text` could return for ``query`` (no limit)."""

    async def select(
        self, filters: Filters, *, order: ListOrder, limit: int, offset: int, now: float
    ) -> list[Memory]:
        """A page of the memories the filters allow, in ``order``."""

    async def count(self, filters: Filters, *, now: float) -> int:
        """How many memories the filters allow."""

    async def counts(self, *, now: float) -> StoreCounts:
        """The totals :meth:`AsyncMemoryMesh.stats` reports."""

    async def metadata_values(self, key: str, filters: Filters, *, now: float) -> list[Any]:
        """The distinct string and number values of metadata ``key`` among matching memories."""

    async def resolve_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        """Ids that start with ``prefix`` (people type short ids)."""

    async def dump_page(
        self, *, after_seq: int, limit: int, include_embeddings: bool
    ) -> list[tuple[int, dict[str, Any]]]:
        """Every memory with every :data:`EXPORT_COLUMNS` value, a page at a time."""

    async def compaction_rows(self) -> list[CompactionRow]:
        """Every active, current memory with what compaction weighs, except keyed items
        (:data:`UNIQUE_METADATA_KEYS`): their adapter decides when they go."""

    async def embedding_models(self) -> dict[str | None, int]:
        """How many memories carry vectors of each embedder (None: no vector)."""

    async def vector_rows(
        self, model: str, *, after_seq: int = 0, limit: int = 20_000
    ) -> list[VectorRow]:
        """A page of the memories embedded by ``model``, for the in-memory vector index."""

    async def change_mark(self) -> int:
        """The newest change in the store's change feed."""

    async def changes_since(self, mark: int) -> Changes:
        """The memories changed after ``mark``, by this process or any other."""

    async def changed_memories(self, ids: Sequence[str]) -> list[ChangedMemory]:
        """The current indexed columns of these memories (deleted ones are absent)."""

    async def current_texts(
        self, *, after_seq: int = 0, limit: int = 20_000
    ) -> list[tuple[int, str, str]]:
        """A page of ``(cursor, id, text)`` of the memories not superseded."""

    async def texts_to_embed(
        self, model: str, *, after_seq: int = 0, limit: int = 256
    ) -> list[tuple[int, str, str]]:
        """A page of ``(cursor, id, text)`` of memories without a vector from ``model``."""

    async def ids_matching(self, filters: Filters, *, now: float) -> frozenset[str]:
        """The ids of every memory the filters allow."""

    async def session_neighbours(
        self, ids: Sequence[str], filters: Filters, *, now: float
    ) -> Sequence[tuple[str, Recalled]]:
        """For each memory in ``ids`` with a session, its neighbours in that session."""

    async def history(self, memory_id: str) -> list[Memory]:
        """Every memory linked to ``memory_id`` by supersede links, oldest first."""

    async def predecessors_across(self, ids: Sequence[str]) -> list[Memory]:
        """The memories of this store superseded across scopes by one of ``ids`` (memories of
        the other scope's store: see :meth:`StoreTransaction.supersede_across`)."""

    async def get_meta(self, key: str) -> str | None:
        """A store-level setting written by :meth:`StoreTransaction.set_meta`."""

    async def get_session(self, session_id: str) -> SessionRecord | None:
        """The session recorded as ``session_id`` by :meth:`StoreTransaction.add_session`."""

    async def latest_session(self, *, client: str | None = None) -> SessionRecord | None:
        """The session started last (by ``client`` only, when given), or None."""

    async def recent_log(
        self, limit: int, *, memory_id: str | None = None
    ) -> list[tuple[float, LogEntry]]:
        """The newest ``limit`` write-log entries with their times, newest first."""

    async def health(self) -> list[str]:
        """``["ok"]`` for a healthy store, else what is wrong."""

    async def migrations(self) -> list[str]:
        """The names of the migrations applied, in order."""

    async def pending_pairs(self, *, limit: int) -> list[PairRow]:
        """Up to ``limit`` queued uncertain pairs, oldest first."""

    async def cached_verdicts(self, keys: Sequence[str]) -> dict[str, str]:
        """The verdicts :meth:`StoreTransaction.cache_verdicts` recorded for these keys."""


class TransientWriteError(DatabaseLockedError):
    """An engine aborted a write transaction for a transient conflict with another one (a
    deadlock, a failed serialization check): nothing it wrote was kept, and running the same
    transaction again normally succeeds. The write path does (``writes/_retry.py``); callers
    only ever see the :class:`~memorymesh.DatabaseLockedError` of the last attempt."""

    #: False once part of a write over several stores may have committed: running it again
    #: could then write twice, so it is not retried.
    retryable: bool = True


@runtime_checkable
class VectorSearch(Protocol):
    """An optional capability: a store that searches its own vectors (the PostgreSQL engine,
    with pgvector). Recall asks :func:`vector_searcher` and, when a store has it, sends the
    query vector to the store instead of searching this process's in-memory index, so the
    store's vectors never need to be held in memory for recall. Stores without it (SQLite)
    keep the exact numpy search of ``search/_vectors.py``.
    """

    async def vector_search(
        self, query: bytes, model: str, filters: Filters, *, limit: int, now: float
    ) -> list[tuple[Memory, float]]:
        """The ``limit`` memories the filters allow whose vectors from ``model`` are most
        similar to ``query`` (a unit vector as a little-endian ``float32`` blob), best first,
        each with its cosine similarity. Memories without a vector from ``model`` are never
        returned. An engine may answer approximately (an ANN index) for large sets, but must
        apply every filter exactly and must not return fewer than ``limit`` when that many
        qualify."""


_SEARCHES_VECTORS: dict[type, bool] = {}


def vector_searcher(store: Store) -> VectorSearch | None:
    """``store`` if it searches its own vectors (see :class:`VectorSearch`), else None."""
    # Once per class: a runtime protocol check costs tens of microseconds, every recall.
    kind = type(store)
    searches = _SEARCHES_VECTORS.get(kind)
    if searches is None:
        searches = _SEARCHES_VECTORS[kind] = isinstance(store, VectorSearch)
    return cast(VectorSearch, store) if searches else None


@runtime_checkable
class NeighbourSearch(Protocol):
    """An optional capability of a store and of its write transactions: find a whole batch's
    nearest neighbours in the store itself (the PostgreSQL engine, with pgvector). The write
    path's duplicate and contradiction checks use it when a store has it, so the store's
    vectors are never loaded into this process's memory (a worker opens without them).
    Stores without it (SQLite) are checked against the in-memory index of
    ``search/_vectors.py``, with the same semantics: the current memories (not superseded;
    unexpired or pinned; any review status) with a vector from ``model``.
    """

    async def nearest_many(
        self, queries: Sequence[bytes], model: str, *, k: int, min_score: float, now: float
    ) -> list[list[tuple[str, float]]]:
        """For each query (a unit vector as a little-endian ``float32`` blob), up to ``k``
        of those memories at least ``min_score`` similar by cosine, best first, as
        ``(id, cosine)``: the whole batch in one round trip."""

    async def vectors_of(self, ids: Sequence[str], model: str) -> dict[str, bytes]:
        """The vectors from ``model`` of those of ``ids`` that have one, as blobs."""


def neighbour_searcher(reader: object) -> NeighbourSearch | None:
    """``reader`` (a store or an open transaction) if it finds neighbours itself (see
    :class:`NeighbourSearch`), else None."""
    return reader if isinstance(reader, NeighbourSearch) else None


@runtime_checkable
class MetadataRead(Protocol):
    """An optional capability: read one metadata key of every memory a filter allows, in
    SQL, without building the memories (both engines have it). The LangGraph store's
    semantic search reads each candidate's stored vectors this way; without it the adapter
    reads the memories whole, which gives the same results more slowly.
    """

    async def metadata_of(
        self, key: str, filters: Filters, *, now: float
    ) -> list[tuple[str, str | None, float]] | None:
        """``(id, metadata[key] as JSON text, updated_at)`` of every memory ``filters``
        allow, most recently updated first; the value is None where it is not an object or
        array. None when the store cannot read it (its metadata is encrypted). ``key`` has
        already been checked against :data:`METADATA_KEY`."""


def metadata_reader(store: Store) -> MetadataRead | None:
    """``store`` if it reads metadata keys in SQL (see :class:`MetadataRead`), else None."""
    return store if isinstance(store, MetadataRead) else None


@runtime_checkable
class LogImport(Protocol):
    """An optional capability of a :class:`StoreTransaction`: append write-log entries with
    the times they were first recorded (``memorymesh migrate`` copies a store's log with it;
    :meth:`StoreTransaction.log` stamps entries with the transaction's time instead)."""

    async def import_log(self, entries: Sequence[tuple[float, LogEntry]]) -> None:
        """Append ``(at, (action, memory_id, source, detail))`` entries in the given order."""


@runtime_checkable
class SideRecords(Protocol):
    """An optional capability of a :class:`Store`: read the records it keeps beside its
    memories that export and ``memorymesh migrate`` carry (both engines have it). The queue
    of uncertain pairs is read whole with :meth:`Store.pending_pairs`; these read the rest.
    Derived tables (keyword indexes, conflict tokens, counts, the change feed) are not side
    records: each engine rebuilds them from the memories it is given.
    """

    async def all_verdicts(self) -> list[VerdictRow]:
        """Every cached judge verdict, oldest first, keyed as :func:`writes._judge.verdict_key`
        makes the key (a store that keeps only keyed hashes of them, an encrypted file,
        returns none: another store could never look them up)."""

    async def all_sessions(self) -> list[SessionRecord]:
        """Every recorded session, in the order they started."""


@runtime_checkable
class SideImport(Protocol):
    """An optional capability of a :class:`StoreTransaction`: write side records read from
    another store or an export (see :class:`SideRecords`), each kept as it was (its own
    times included); one already there is left as it is, so importing twice adds nothing."""

    async def import_pairs(self, pairs: Sequence[PairRow]) -> int:
        """Queue these uncertain pairs; return how many were not queued already."""

    async def import_verdicts(self, items: Sequence[VerdictRow]) -> int:
        """Cache these verdicts; return how many keys were not cached already."""

    async def import_sessions(self, sessions: Sequence[SessionRecord]) -> int:
        """Record these sessions; return how many ids were not recorded already."""


def side_records(store: Store) -> SideRecords | None:
    """``store`` if it reads its side records (see :class:`SideRecords`), else None."""
    return store if isinstance(store, SideRecords) else None
