"""One store's share of a ``remember_many``: dedupe, detect conflicts, apply policies, write.

Everything happens inside the caller's open write transaction, so a batch lands whole or not
at all. The vector index is only touched after the commit, through
:meth:`WriteResult.apply_to_index`, so a rolled-back write never leaves vectors behind.

No policy loses a memory: ``supersede`` marks the old one as history (``superseded_by``,
``superseded_at``), ``skip`` stores nothing new, ``keep_both`` stores both, and ``merge``
folds the new text and fields into the old memory after saving the old version as a
superseded snapshot linked to it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .._errors import StoreError
from .._models import (
    Conflict,
    ConflictAction,
    ConflictPolicy,
    Memory,
    conflict_json,
    trusted_conflict,
)
from .._text import content_hash
from ..search._lexical import LexicalIndex, StoredLexicon
from ..search._vectors import IndexRow, VectorIndex, from_blob, to_blob
from ..stores.base import (
    UNIQUE_METADATA_KEYS,
    LogEntry,
    MemoryRow,
    PairRow,
    Store,
    StoreTransaction,
    TransientWriteError,
    memory_from_row,
    neighbour_searcher,
    token_postings,
)
from ._conflicts import Finding, content_tokens, find_conflicts
from ._indexes import Indexes
from ._postings import refresh_tokens, sync_tokens
from ._retry import retried

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "OtherScope",
    "Prepared",
    "WriteResult",
    "index_row",
    "snapshot_row",
    "supersede_across",
    "write_all",
    "write_batch",
]

logger = logging.getLogger("memorymesh")

#: How often (in changes) a write prunes the change feed down to its last CHANGES_KEPT.
_PRUNE_CHANGES_EVERY = 4096


def _new_id() -> str:
    return uuid.uuid4().hex


_ACTIONS: dict[str, ConflictAction] = {
    "supersede": "superseded",
    "keep_both": "kept_both",
    "skip": "skipped",
    "merge": "merged",
}


def index_row(row: MemoryRow, *, superseded: bool = False) -> IndexRow:
    return IndexRow(
        id=row.id,
        category=row.category,
        importance=row.importance,
        pinned=row.pinned,
        created_at=row.created_at,
        expires_at=row.expires_at,
        session_id=row.session_id,
        superseded=superseded,
    )


def memory_index_row(memory: Memory, *, superseded: bool = False) -> IndexRow:
    return IndexRow(
        id=memory.id,
        category=memory.category.value,
        importance=memory.importance,
        pinned=memory.pinned,
        created_at=memory.created_at.timestamp(),
        expires_at=None if memory.expires_at is None else memory.expires_at.timestamp(),
        session_id=memory.session_id,
        superseded=superseded,
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    """One validated, guarded, classified item, ready for :func:`write_batch`: its row, the
    store it goes to, what the write log records of it, and its conflict policy."""

    row: MemoryRow
    store: Store
    detail: dict[str, Any]
    on_conflict: ConflictPolicy


@dataclass
class WriteResult:
    """What a batch wrote, and the index changes to make once it has committed."""

    memories: list[Memory]
    index: VectorIndex | None
    lexicon: LexicalIndex[str] | StoredLexicon | None = None
    added: list[tuple[IndexRow, npt.NDArray[np.float32]]] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    #: ``(other scope, old id, new id)``: memories of the other scope's store this batch
    #: supersedes (see :meth:`StoreTransaction.supersede_across`).
    across: list[tuple[OtherScope, str, str]] = field(default_factory=list)

    def apply_to_index(self) -> None:
        if isinstance(self.lexicon, LexicalIndex):
            self.lexicon.add((mid, content_tokens(text)) for mid, text in self.texts)
        if self.index is None:
            return
        if self.added:
            rows = [row for row, _ in self.added]
            self.index.add(rows, _stack([v for _, v in self.added]))
        self.index.set_superseded(self.superseded)


class _Reads(Protocol):
    async def get_many(self, ids: Sequence[str]) -> list[Memory]: ...


@dataclass(frozen=True)
class OtherScope:
    """Another scope's store (or its open transaction) that a batch is also checked
    against: a new memory may duplicate or replace a memory kept in the other scope."""

    reader: _Reads
    index: VectorIndex | None
    lexicon: LexicalIndex[str] | StoredLexicon | None


@dataclass
class _Pending:
    """One batch item as the plan evolves."""

    row: MemoryRow
    policy: ConflictPolicy
    detail: dict[str, Any]
    vector: npt.NDArray[np.float32] | None
    insert: bool = True
    target: str | None = None  # the memory this item resolved to when it is not inserted
    conflicts: list[Conflict] = field(default_factory=list)


def _stack(vectors: list[npt.NDArray[np.float32] | None]) -> npt.NDArray[np.float32]:
    # numpy is imported only here: a keyword-mode write (a one-shot CLI or hook process)
    # never needs it.
    import numpy as np

    return np.stack(vectors)  # type: ignore[arg-type]


def _merged_metadata(old: str | dict[str, Any], new: str) -> str:
    base = json.loads(old) if isinstance(old, str) else dict(old)
    return json.dumps({**base, **json.loads(new)}, ensure_ascii=False)


def snapshot_row(
    memory: Memory, new_id: str, vector: npt.NDArray[np.float32] | None, model: str | None
) -> MemoryRow:
    """A copy of ``memory`` as it is now, under ``new_id``, with its vector: the version a
    merge or an update replaces, kept as history."""
    return MemoryRow(
        id=new_id,
        text=memory.text,
        content_hash=content_hash(memory.text),
        category=memory.category.value,
        importance=memory.importance,
        scope=memory.scope.value,
        pinned=memory.pinned,
        metadata=json.dumps(memory.metadata, ensure_ascii=False),
        session_id=memory.session_id,
        source=memory.source,
        agent=memory.agent,
        redactions=json.dumps(list(memory.redactions)),
        created_at=memory.created_at.timestamp(),
        updated_at=memory.updated_at.timestamp(),
        event_time=None if memory.event_time is None else memory.event_time.timestamp(),
        expires_at=None if memory.expires_at is None else memory.expires_at.timestamp(),
        embedding=None if vector is None or model is None else to_blob(vector),
        embedding_model=None if vector is None or model is None else model,
    )


async def write_batch(
    tx: StoreTransaction,
    rows: Sequence[MemoryRow],
    policies: Sequence[ConflictPolicy],
    details: Sequence[dict[str, Any]],
    vectors: npt.NDArray[np.float32] | None,
    *,
    index: VectorIndex | None,
    new_id: Callable[[], str],
    model: str | None = None,
    lexicon: LexicalIndex[str] | StoredLexicon | None = None,
    review: bool = False,
    others: Sequence[OtherScope] = (),
) -> WriteResult:
    """Write ``rows`` (all for ``tx``'s store) under their conflict policies.

    With ``review``, the rows are captures waiting in the review queue: a text already
    stored in any status (a rejected capture included) is a duplicate, and nothing current
    is superseded or merged until the capture is accepted.

    Returns:
        One :class:`Memory` per row, in order: the stored one, or the existing one a
        duplicate resolved to, each with its ``conflicts``.
    """
    items = [
        _Pending(row, policy, dict(detail), None if vectors is None else vectors[i])
        for i, (row, policy, detail) in enumerate(zip(rows, policies, details, strict=True))
    ]
    result = WriteResult(memories=[], index=index, lexicon=lexicon)
    log: list[LogEntry] = []
    supersede: list[tuple[str, str]] = []
    merges: dict[str, dict[str, Any]] = {}  # existing id -> fields to set
    snapshots: list[MemoryRow] = []
    # Uncertain pairs in this store, queued for a judge or the review queue.
    unsure_pairs: list[tuple[_Pending, Finding, str]] = []

    # 1. Exact duplicates (normalised text): against the store, then within the batch.
    existing = await tx.active_ids_by_hash([it.row.content_hash for it in items], any_status=review)
    keyed = await _keyed_items(tx, existing.values())
    existing = {h: i for h, i in existing.items() if i not in keyed}
    first: dict[str, int] = {}
    fresh: list[int] = []
    for i, it in enumerate(items):
        if it.policy == "keep_both":
            fresh.append(i)
            continue
        known = existing.get(it.row.content_hash)
        earlier = first.get(it.row.content_hash)
        if known is None and earlier is None:
            first[it.row.content_hash] = i
            fresh.append(i)
            continue
        target = known if known is not None else items[earlier].row.id  # type: ignore[index]
        it.insert, it.target = False, target
        action: ConflictAction = "merged" if it.policy == "merge" else "deduplicated"
        it.conflicts.append(
            trusted_conflict(
                kind="duplicate",
                memory_id=target,
                similarity=1.0,
                action=action,
                policy=it.policy,
                reason="the same text",
            )
        )
        if it.policy == "merge":
            if known is not None:
                fields = merges.setdefault(known, {})
                fields["metadata"] = it.row.metadata
                fields["importance"] = it.row.importance
                fields["pinned"] = it.row.pinned
            else:
                _fold_into_pending(items[earlier], it, rewrite=False)  # type: ignore[index]
        log.append(
            ("deduplicated", target, it.row.source, {"duplicate_text": True, "policy": it.policy})
        )

    # 2. Near-duplicates and contradictions, for the texts that are new.
    if review:
        fresh = []  # a queued capture changes nothing current before it is accepted
    findings = await find_conflicts(
        [items[i].row.text for i in fresh],
        None if vectors is None or not fresh else _stack([items[i].vector for i in fresh]),
        tx=tx,
        index=index,
        lexicon=lexicon,
        now=tx.now,
        model=model,
    )
    keyed = await _keyed_items(tx, (f.memory_id for fs in findings for f in fs if f.memory_id))
    if keyed:
        findings = [[f for f in fs if f.memory_id not in keyed] for fs in findings]
    # The other scope's store: a conflict across scopes is reported and resolved the same way.
    owner: dict[str, OtherScope] = {}
    for other in others if fresh else ():
        across = await find_conflicts(
            [items[i].row.text for i in fresh],
            None if vectors is None else _stack([items[i].vector for i in fresh]),
            tx=other.reader,
            index=other.index,
            lexicon=other.lexicon,
            now=tx.now,
            within_batch=False,
            model=model,
        )
        found = {f.memory_id for fs in across for f in fs if f.memory_id}
        keyed_there = await _keyed_items(other.reader, found)
        for position, extra in enumerate(across):
            for f in extra:
                if f.memory_id and f.memory_id not in keyed_there:
                    owner[f.memory_id] = other
                    findings[position].append(f)
        for fs in findings:
            fs.sort(key=lambda f: f.similarity, reverse=True)
    for position, i in enumerate(fresh):
        it = items[i]
        if it.policy == "keep_both" and not findings[position]:
            continue
        targets = _resolve_targets(findings[position], fresh, items, it)
        if not targets:
            continue
        for finding, target in targets:
            unsure = finding.kind.startswith("possible_")
            # Across scopes (project vs global) the same policies apply, except that a memory
            # is never rewritten from the other scope: there `merge` supersedes.
            cross = target in owner
            action = "kept_both" if unsure else _ACTIONS[it.policy]
            if cross and action == "merged":
                action = "superseded"
            it.conflicts.append(
                trusted_conflict(
                    kind=finding.kind,
                    memory_id=target,
                    similarity=round(finding.similarity, 4),
                    # A low-confidence verdict keeps both: hiding a memory on a guess costs
                    # more than a missed duplicate or contradiction.
                    action=action,
                    policy=it.policy,
                    reason=finding.reason,
                )
            )
            if unsure:  # queued in this store; across scopes the old one lives in the other
                unsure_pairs.append((it, finding, target))
        targets = [(f, t) for f, t in targets if not f.kind.startswith("possible_")]
        if it.policy == "keep_both" or not targets:
            continue
        if it.policy == "supersede" or (it.policy == "merge" and targets[0][1] in owner):
            for _, target in targets:
                if target in owner:
                    # The link is kept by the other store, naming its successor here.
                    result.across.append((owner[target], target, it.row.id))
                    log.append(("supersedes", it.row.id, it.row.source, {"across": target}))
                else:
                    supersede.append((target, it.row.id))
            continue
        if it.policy == "skip":
            it.insert, it.target = False, targets[0][1]
            log.append(
                (
                    "skipped",
                    targets[0][1],
                    it.row.source,
                    {"text": it.row.text, "kind": targets[0][0].kind},
                )
            )
            continue
        # merge: fold into the most similar target, keeping its old version as history.
        target = targets[0][1]
        it.insert, it.target = False, target
        pending = next((p for p in items if p.insert and p.row.id == target), None)
        if pending is not None:
            if pending.row.text != it.row.text:
                snapshot = dataclasses.replace(pending.row, id=new_id())
                snapshots.append(snapshot)
                supersede.append((snapshot.id, pending.row.id))
            _fold_into_pending(pending, it, rewrite=True)
        else:
            fields = merges.setdefault(target, {})
            fields.update(
                text=it.row.text,
                content_hash=it.row.content_hash,
                metadata=it.row.metadata,
                importance=it.row.importance,
                pinned=it.row.pinned,
                embedding=it.row.embedding,
                embedding_model=it.row.embedding_model,
            )

    # 3. Merges into stored memories: snapshot the old version, then rewrite it in place.
    merged_ids = list(merges)
    olds = {m.id: m for m in await tx.get_many(merged_ids)} if merged_ids else {}
    old_vectors = index.vectors(merged_ids) if index is not None and merged_ids else None
    if old_vectors is None and merged_ids and model is not None:
        old_vectors = await _stored_vectors(tx, merged_ids, model)
    for n, memory_id in enumerate(merged_ids):
        old = olds[memory_id]
        fields = merges[memory_id]
        fields["metadata"] = _merged_metadata(old.metadata, fields["metadata"])
        fields["importance"] = max(old.importance, fields["importance"])
        fields["pinned"] = int(old.pinned or bool(fields["pinned"]))
        fields["updated_at"] = tx.now
        vector = None if old_vectors is None else old_vectors[n]
        snapshot = snapshot_row(old, new_id(), vector, model)
        snapshots.append(snapshot)
        supersede.append((snapshot.id, memory_id))

    # 4. Write it all: inserts, supersede links, merges, log.
    to_insert = [it.row for it in items if it.insert] + snapshots
    await tx.insert_many(to_insert)
    for memory_id, fields in merges.items():
        await tx.update(memory_id, {k: v for k, v in fields.items() if k != "embedding" or v})
    await tx.supersede(supersede)
    await tx.add_pairs(
        [
            PairRow(
                it.row.id,
                target,
                finding.kind,
                round(finding.similarity, 4),
                it.policy,
                finding.reason,
                tx.now,
            )
            for it, finding, target in unsure_pairs
            if it.insert
        ]
    )
    for it in items:
        if it.insert:
            log.append(
                (
                    "queued" if review else "stored",
                    it.row.id,
                    it.row.source,
                    {**it.detail, **_conflict_detail(it.conflicts)},
                )
            )
        elif it.policy == "merge" and it.target is not None:
            log.append(
                (
                    "merged",
                    it.target,
                    it.row.source,
                    {"text": it.row.text, **_conflict_detail(it.conflicts)},
                )
            )
    for old_id, successor in supersede:
        log.append(("superseded", old_id, None, {"superseded_by": successor}))
    await tx.log(log)

    # 5. The memories to return, and the index changes to make after the commit.
    reread_ids = {it.target for it in items if not it.insert and it.target} | set(merges)
    reread = {m.id: m for m in await tx.get_many(list(reread_ids))} if reread_ids else {}
    for memory_id in reread_ids - reread.keys():
        if memory_id in owner:  # skipped for a memory of the other scope
            reread.update((m.id, m) for m in await owner[memory_id].reader.get_many([memory_id]))
    by_id = {it.row.id: it for it in items if it.insert}
    superseded_now = {old for old, _ in supersede}
    for it in items:
        if it.insert and it.row.id not in reread and not it.conflicts:
            result.memories.append(memory_from_row(it.row))  # the common case: nothing to add
            continue
        if it.insert:
            memory = memory_from_row(it.row)
            if it.row.id in superseded_now:
                memory = reread.get(it.row.id) or memory
        else:
            target = it.target or ""
            memory = reread.get(target) or memory_from_row(by_id[target].row)
        result.memories.append(memory.model_copy(update={"conflicts": tuple(it.conflicts)}))
    if lexicon is not None:
        result.texts.extend((row.id, row.text) for row in to_insert if row.id not in superseded_now)
        result.texts.extend((mid, reread[mid].text) for mid in merges)
    if index is not None:
        dim = index.dim
        for row in to_insert:
            vector = None if row.embedding is None else from_blob(row.embedding, dim)
            if vector is not None:
                result.added.append((index_row(row, superseded=row.id in superseded_now), vector))
        for memory_id in merges:
            memory = reread[memory_id]
            blob = merges[memory_id].get("embedding")
            vector = from_blob(blob, dim) if isinstance(blob, bytes) else None
            if vector is None:
                vector = index.vectors([memory_id])[0]
            result.added.append((memory_index_row(memory), vector))
        result.superseded.extend(old for old in superseded_now if old not in by_id)
    return result


async def supersede_across(tx: StoreTransaction, links: list[tuple[str, str]]) -> None:
    """Supersede memories of ``tx``'s store by successors in the other scope's store, and
    log it."""
    await tx.supersede_across(links)
    await tx.log(
        [("superseded", old, None, {"superseded_by": new, "across": True}) for old, new in links]
    )


async def _stored_vectors(
    tx: StoreTransaction, ids: list[str], model: str
) -> npt.NDArray[np.float32] | None:
    """The vectors of ``ids`` from a store that keeps them itself (no index here), zero rows
    for ids without one, as ``VectorIndex.vectors`` gives them; None for other stores."""
    import numpy as np

    searcher = neighbour_searcher(tx)
    if searcher is None:
        return None
    found = await searcher.vectors_of(ids, model)
    blobs = [found.get(mid) for mid in ids]
    dim = next((len(b) // 4 for b in blobs if b is not None), 0)
    if not dim:
        return None
    rows = [None if b is None else from_blob(b, dim) for b in blobs]
    return np.stack([np.zeros(dim, np.float32) if r is None else r for r in rows])


def _conflict_detail(conflicts: list[Conflict]) -> dict[str, Any]:
    if not conflicts:
        return {}
    return {"conflicts": [conflict_json(c) for c in conflicts]}


async def _keyed_items(tx: _Reads, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are keyed items (a LangGraph store's, see ``UNIQUE_METADATA_KEYS``).

    Their lifetime belongs to the adapter that wrote them, under their key: another write
    never deduplicates into one, supersedes or merges it, or the item would change or vanish
    behind its store's back.
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    return {m.id for m in await tx.get_many(wanted) if UNIQUE_METADATA_KEYS[0] in m.metadata}


def _resolve_targets(
    found: list[Finding], fresh: list[int], items: list[_Pending], it: _Pending
) -> list[tuple[Finding, str]]:
    """The memory ids the findings point at; a batch item that was not stored points at what
    it resolved to."""
    out: list[tuple[Finding, str]] = []
    for finding in found:
        if finding.memory_id is not None:
            target = finding.memory_id
        else:
            other = items[fresh[finding.batch_index or 0]]
            target = other.row.id if other.insert else (other.target or "")
        if target and target != it.row.id and all(t != target for _, t in out):
            out.append((finding, target))
    return out


def _fold_into_pending(target: _Pending, it: _Pending, *, rewrite: bool) -> None:
    """Merge ``it`` into a batch item that is still to be inserted (``rewrite``: its text too)."""
    row = target.row
    target.row = dataclasses.replace(
        row,
        text=it.row.text if rewrite else row.text,
        content_hash=it.row.content_hash if rewrite else row.content_hash,
        metadata=_merged_metadata(row.metadata, it.row.metadata),
        importance=max(row.importance, it.row.importance),
        pinned=row.pinned or it.row.pinned,
        embedding=it.row.embedding if rewrite else row.embedding,
    )
    if rewrite:
        target.vector = it.vector


#: Texts a mesh checks against a store through its stored tokens before it builds that
#: store's token index in memory instead: a batch writer (an import, an agent saving a
#: transcript) then pays the build once and looks up in microseconds, while one-shot
#: processes and occasional writes never pay it. The index is the same lookup (see
#: ``search/_lexical.py``), kept current by the change feed.
WARM_AFTER = 1_000


async def _lexicon(
    indexes: Indexes, store: Store, demand: int
) -> LexicalIndex[str] | StoredLexicon:
    """Where keyword-mode conflict candidates for ``demand`` new texts come from: the
    store's tokens, or the index in memory (already warm, worth warming, or a store that
    keeps no tokens). Decided before any write lock is held: building reads the store."""
    tokens = token_postings(store)
    if (
        tokens is not None
        and store not in indexes.lexicons
        and not indexes.warm_lexicon(store, demand, WARM_AFTER)
    ):
        return StoredLexicon(tokens)
    return await indexes.lexicon(store)


async def write_all(
    prepared: list[Prepared], stores: Sequence[Store], indexes: Indexes, *, review: bool
) -> list[Memory]:
    """Write prepared items to their stores: one transaction per store, all held until every
    store has written, so a failure anywhere writes nothing anywhere.

    Inside each transaction the store's indexes first catch up with other processes' writes
    (under the write lock nothing can land in between), then :func:`write_batch` detects
    conflicts and writes. The in-memory indexes learn the new rows only after every commit.
    """
    vectors = await indexes.vectors_for([p.row.text for p in prepared], stores)
    if vectors is not None:
        name = indexes.embedder_name
        prepared = [
            dataclasses.replace(
                p,
                row=dataclasses.replace(p.row, embedding=to_blob(v), embedding_model=name),
            )
            for p, v in zip(prepared, vectors, strict=True)
        ]
    # A transient conflict (a deadlock with another writer) runs the transactions again.
    return await retried(lambda: _write_all_once(prepared, stores, indexes, vectors, review))


async def _write_all_once(
    prepared: list[Prepared],
    stores: Sequence[Store],
    indexes: Indexes,
    vectors: npt.NDArray[np.float32] | None,
    review: bool,
) -> list[Memory]:
    results: list[Memory | None] = [None] * len(prepared)
    after_commit: list[Callable[[], None]] = []
    unembedded: list[Store] = []
    later: dict[Store, list[tuple[str, str]]] = {}
    committing = False
    several = False
    try:
        async with AsyncExitStack() as stack:
            committing, several = await _write_stores(
                stack,
                prepared,
                stores,
                indexes,
                vectors,
                review,
                results,
                after_commit,
                unembedded,
                later,
            )
    except TransientWriteError as exc:
        # Once one store has committed, running the write again could write it twice.
        exc.retryable = exc.retryable and not (committing and several)
        raise
    for apply in after_commit:
        apply()
    for store, links in later.items():
        # Its own transaction, after the rest committed: taking a second write lock while
        # holding the first could wait on another writer doing the reverse. Should it fail,
        # both memories simply stay current (the safe way to be wrong).
        try:
            async with store.write() as tx:
                await supersede_across(tx, links)
        except StoreError as exc:
            logger.warning("MemoryMesh could not supersede across scopes: %s", exc)
            continue
        if indexes.vectors.get(store) is not None:
            indexes.vectors[store].set_superseded([old for old, _ in links])
    for store in unembedded:
        await indexes.refresh(store)
    await indexes.persist(stores, remap=True)
    return [r for r in results if r is not None]


async def _write_stores(
    stack: AsyncExitStack,
    prepared: list[Prepared],
    stores: Sequence[Store],
    indexes: Indexes,
    vectors: npt.NDArray[np.float32] | None,
    review: bool,
    results: list[Memory | None],
    after_commit: list[Callable[[], None]],
    unembedded: list[Store],
    later: dict[Store, list[tuple[str, str]]],
) -> tuple[bool, bool]:
    """Open each store's transaction on ``stack`` and write its share (the transactions
    commit as the stack closes); whether it got that far, and whether several stores wrote.
    Supersedes across scopes into a store that was only read are left in ``later``."""
    across: list[tuple[OtherScope, str, str]] = []
    # A new memory is checked against the other scope's memories too: a store that
    # receives nothing is read (its indexes caught up first), not locked. A review capture
    # changes nothing current, so it needs only its own store.
    targets = [s for s in stores if any(p.store is s for p in prepared)]
    opened: dict[Store, tuple[StoreTransaction, OtherScope]] = {}
    readers: dict[Store, OtherScope] = {}
    keyword = vectors is None and not review  # conflicts found by tokens
    lexicons: dict[Store, LexicalIndex[str] | StoredLexicon] = {}
    for store in stores if keyword and targets else ():
        # Before any write lock is held: building an index or syncing another store's
        # tokens (in a short transaction of its own) takes that store's lock.
        lexicons[store] = await _lexicon(indexes, store, len(prepared))
        if store not in targets and isinstance(lexicons[store], StoredLexicon):
            await refresh_tokens(store)
    for store in stores:
        if store in opened or store in readers:
            continue
        if store not in targets:
            if review or not targets:
                continue
            lexicon = lexicons.get(store)
            if await indexes.catch_up(store):
                unembedded.append(store)
            readers[store] = OtherScope(store, indexes.vectors.get(store), lexicon)
            continue
        lexicon = lexicons.get(store)
        tx = await stack.enter_async_context(store.write())
        if isinstance(lexicon, StoredLexicon):
            # Under the write lock: the tokens catch up with every write before this one.
            await sync_tokens(tx)
            tokens = token_postings(tx)
            if tokens is not None:
                lexicon = StoredLexicon(tokens)
        # Under the write lock: nothing can land between catching up and writing.
        if await indexes.catch_up(store, tx):
            unembedded.append(store)
        opened[store] = (tx, OtherScope(tx, indexes.vectors.get(store), lexicon))
    for store in targets:
        positions = [i for i, p in enumerate(prepared) if p.store is store]
        tx, mine = opened[store]
        lexicon = mine.lexicon
        others = (
            []
            if review
            else [
                o
                for s, o in [*((s, o) for s, (_, o) in opened.items()), *readers.items()]
                if s is not store
            ]
        )
        written = await write_batch(
            tx,
            [prepared[i].row for i in positions],
            [prepared[i].on_conflict for i in positions],
            [prepared[i].detail for i in positions],
            None if vectors is None else vectors[positions],
            index=indexes.vectors.get(store),
            new_id=_new_id,
            model=indexes.embedder_name,
            lexicon=lexicon,
            review=review,
            others=others,
        )
        for i, memory in zip(positions, written.memories, strict=True):
            results[i] = memory
        mark = await tx.change_mark()
        prune = mark // _PRUNE_CHANGES_EVERY != indexes.marks.get(store, 0) // (
            _PRUNE_CHANGES_EVERY
        )
        if keyword and (prune or not isinstance(lexicon, LexicalIndex)):
            # This batch's own rows, in its transaction. A mesh whose index is warm in
            # memory does not need the stored tokens: it brings them up to date only
            # before the feed they follow is pruned (every few thousand changes), and
            # the next process that reads them catches up on the rest from the feed.
            await sync_tokens(tx)
        if prune:
            await tx.prune_changes(mark)
        after_commit.append(written.apply_to_index)
        after_commit.append(functools.partial(indexes.marks.__setitem__, store, mark))
        across += written.across
    # Supersedes across scopes: in the other store's transaction when it is open (all or
    # nothing with the rest); a store that was only read is written after the commit.
    for other, old_id, new_id in across:
        store = next(
            s
            for s, o in [*readers.items(), *((s, o) for s, (_, o) in opened.items())]
            if o is other
        )
        if store not in opened:
            later.setdefault(store, []).append((old_id, new_id))
            continue
        await supersede_across(opened[store][0], [(old_id, new_id)])
        if indexes.vectors.get(store) is not None:
            after_commit.append(functools.partial(indexes.vectors[store].set_superseded, [old_id]))
    return True, len(targets) > 1
