"""Moving memories between stores and export files, every field kept.

:func:`export_stores` pages each store's rows into one document, with the records each store
keeps beside its memories (the queue of uncertain pairs, the judge's cached verdicts, the
recorded sessions, and when asked the write log); :func:`import_records` writes decoded
records back, one all-or-nothing transaction per store, after :func:`guard_records` has put
them through the same text checks and privacy guard as any other write.

What is not carried, on purpose: what each engine derives from the memories and rebuilds on
the target (keyword indexes, conflict tokens, counts, the change feed, the vector cache file),
and settings of one store only (``store_meta``: an encryption check, a cache file's token;
only the embedder that made the vectors goes, with them). The write log goes only when asked
(``include_log``): it can be far larger than the memories.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Collection, Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict
from typing import Any, Literal, TextIO

import anyio

from .._errors import InvalidInputError, StoreError, TargetExistsError
from .._models import Scope, SessionRecord
from .._text import content_hash
from ..stores.base import (
    LogEntry,
    LogImport,
    PairRow,
    SideImport,
    Store,
    StoreTransaction,
    VerdictRow,
    side_records,
)
from ..writes._prepare import WriteRules
from ..writes._privacy import redact
from ._export import (
    CARRIED_SETTINGS,
    Document,
    ExportFormat,
    ImportReport,
    encode_log_entry,
    encode_pair,
    encode_record,
    encode_session,
    encode_setting,
    encode_verdict,
    render,
)

__all__ = [
    "OnClash",
    "append_log",
    "export_stores",
    "guard_log",
    "guard_records",
    "import_records",
    "links_first",
    "missing_log_entries",
    "read_text",
]

OnClash = Literal["skip", "replace", "newer"]
_PAGE = 5_000


async def export_stores(
    stores: Sequence[Store],
    target: str | os.PathLike[str] | TextIO,
    *,
    format: ExportFormat,
    include_embeddings: bool,
    overwrite: bool = False,
    seal: Callable[[str], str] | None = None,
    include_log: bool = False,
) -> int:
    """Write every memory of ``stores`` to ``target`` in ``format``; return how many.

    A file is written private (0600) and never silently replaces another one: without
    ``overwrite`` an existing path raises :class:`TargetExistsError`. ``seal`` encrypts the
    document (an encrypted store's export is encrypted with the same key).
    """
    # Checked before the stores are read (a large export fails fast); creating the file
    # exclusively below is what makes the refusal race-free.
    if (
        isinstance(target, str | os.PathLike)
        and not overwrite
        and await anyio.to_thread.run_sync(os.path.lexists, target)
    ):
        raise TargetExistsError(
            f"{os.fspath(target)} exists; pass overwrite=True (--force) to replace it"
        )
    records: list[dict[str, Any]] = []
    side: list[dict[str, Any]] = []
    for store in stores:
        after = 0
        while True:
            page = await store.dump_page(
                after_seq=after, limit=_PAGE, include_embeddings=include_embeddings
            )
            if not page:
                break
            after = page[-1][0]
            records.extend(encode_record(raw) for _, raw in page)
        side.extend(await side_lines(store, include_embeddings=include_embeddings))
        if include_log:
            entries = reversed(await store.recent_log(_ALL))  # oldest first
            side.extend(encode_log_entry(store.scope, at, entry) for at, entry in entries)
    document = render(records, format, side)
    if seal is not None:
        document = seal(document)
    if isinstance(target, str | os.PathLike):
        await anyio.to_thread.run_sync(_write_private, os.fspath(target), document, overwrite)
    else:
        target.write(document)
    return len(records)


async def side_lines(store: Store, *, include_embeddings: bool) -> list[dict[str, Any]]:
    """The records ``store`` keeps beside its memories, as export records: its queued
    uncertain pairs, then (when the engine reads them, :class:`SideRecords`) its cached
    verdicts and its sessions, and with its vectors the embedder they came from."""
    lines = [encode_pair(pair) for pair in await store.pending_pairs(limit=_ALL)]
    reader = side_records(store)
    if reader is not None:
        lines += [encode_verdict(store.scope, row) for row in await reader.all_verdicts()]
        lines += [encode_session(store.scope, s) for s in await reader.all_sessions()]
    if include_embeddings:
        for key in CARRIED_SETTINGS:
            value = await store.get_meta(key)
            if value is not None:
                lines.append(encode_setting(store.scope, key, value))
    return lines


def _write_private(path: str, document: str, overwrite: bool) -> None:
    """Write ``document`` to ``path`` readable by its owner only, all or nothing.

    Without ``overwrite`` the file is created exclusively (``O_EXCL``: a file that appeared
    meanwhile, or a symlink planted there, is not followed or replaced). With it, a private
    temporary file in the same folder replaces the target atomically, so a failed write
    leaves the old file as it was, and an existing file's wider mode is not inherited.
    """
    data = document.encode("utf-8")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if not overwrite:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(path, flags, 0o600)
            except FileExistsError:
                raise TargetExistsError(
                    f"{path} exists; pass overwrite=True (--force) to replace it"
                ) from None
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(path)
                raise
            return
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".memorymesh-export-")  # 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise StoreError(f"cannot write the export to {path}: {exc}") from exc


async def read_text(source: str | os.PathLike[str] | TextIO) -> str:
    """The text of an export file or stream."""
    if not isinstance(source, str | os.PathLike):
        return source.read()
    try:
        return await anyio.Path(os.fspath(source)).read_text(encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot read {source}: {exc}") from exc
    except UnicodeDecodeError as exc:  # a binary file: not an export (polish fix)
        raise InvalidInputError(f"{source} is not a MemoryMesh export: not UTF-8 text") from exc


def guard_records(rows: list[dict[str, Any]], rules: WriteRules) -> None:
    """Check each record's text and guard it and its metadata, in place, before any write."""
    for index, row in enumerate(rows):
        try:
            text = rules.check_text(row["text"])
            # privacy guard: an import is a write like any other, so no secret lands in clear
            text, text_kinds = rules.privacy.check_text(text)
            metadata, meta_kinds = rules.privacy.check_metadata(json.loads(row["metadata"]))
            labels, label_kinds = rules.guard_labels(
                **{name: row.get(name) for name in ("session_id", "source", "agent")}
            )
        except InvalidInputError as exc:
            raise type(exc)(f"memory {row['id']!r} (record {index}): {exc}") from None
        row.update({name: value for name, value in labels.items() if name in row})
        found = {*json.loads(row["redactions"]), *text_kinds, *meta_kinds, *label_kinds}
        row["text"] = text
        row["metadata"] = json.dumps(metadata, ensure_ascii=False)
        row["redactions"] = json.dumps(sorted(found))
        row["content_hash"] = content_hash(text)


def guard_log(document: Document, rules: WriteRules) -> None:
    """Put the details of ``document``'s write-log entries through the privacy guard, in
    place: an import is a write like any other, so no secret lands in the clear."""
    for index, (scope, (at, (action, memory_id, source, detail))) in enumerate(document.log):
        try:
            guarded, _ = rules.privacy.check_metadata(detail)
        except InvalidInputError as exc:
            raise type(exc)(f"write-log entry {index}: {exc}") from None
        document.log[index] = (scope, (at, (action, memory_id, source, guarded)))


async def import_records(
    rows: list[dict[str, Any]],
    *,
    store_for: Callable[[Scope], Store],
    global_store: Store,
    source: str,
    on_clash: OnClash,
    side: Document | None = None,
) -> ImportReport:
    """Write guarded records to the store of their scope (global where there is no project
    store), all or nothing; history links to memories that exist nowhere are dropped.

    ``side``'s records go along in the same transactions: each pair to the store its new
    memory is in (a pair whose memories are in neither the import nor a store is left out),
    verdicts, sessions, settings and write-log entries to the store of their scope. One
    already there is kept as it is.
    """
    rescoped = 0
    by_store: dict[Store, list[dict[str, Any]]] = {}
    for row in rows:
        store = store_for(Scope(row["scope"]))
        if store is global_store and row["scope"] != Scope.GLOBAL.value:
            row["scope"] = Scope.GLOBAL.value
            rescoped += 1
        by_store.setdefault(store, []).append(row)
    totals = {"imported": 0, "replaced": 0, "skipped": 0, "links_dropped": 0}
    ids_by_store = {store: {row["id"] for row in batch} for store, batch in by_store.items()}
    stores = {store_for(Scope.PROJECT), global_store, *by_store}
    side_by_store = _side_by_scope(side, store_for)
    # Read before the transactions: a store's own reads wait for its open transaction.
    unset = await _unset_settings(side, store_for)
    settings = {store for store, _ in unset}
    logs = await _missing_log(side, store_for)
    # The mesh's store order (project first), as every write takes the stores' locks.
    ordered = [
        s
        for s in dict.fromkeys([store_for(Scope.PROJECT), global_store])
        if s in by_store
        or s in side_by_store
        or s in settings
        or logs.get(s)
        or (side and side.pairs)
    ]
    added: dict[Store, dict[str, int]] = {}
    logged: dict[Store, dict[str, Any]] = {}
    async with AsyncExitStack() as stack:
        txs = {store: await stack.enter_async_context(store.write()) for store in ordered}
        for store, batch in by_store.items():
            tx = txs[store]
            in_batch = ids_by_store[store]
            targets = [r["superseded_by"] for r in batch if r["superseded_by"]]
            known = in_batch | await tx.existing_ids([t for t in targets if t not in in_batch])
            elsewhere = await _in_other_stores(
                [t for t in targets if t not in known], store, stores, ids_by_store, txs
            )
            for row in batch:
                target = row["superseded_by"]
                row.setdefault("superseded_across", None)
                if not target or target in known:
                    continue
                if target in elsewhere:
                    # Superseded from the other scope: the link stays in this store (to
                    # itself) and names the successor apart, as the write path records it.
                    row["superseded_by"], row["superseded_across"] = row["id"], target
                else:
                    row["superseded_by"] = None
                    totals["links_dropped"] += 1
            counts = await tx.import_rows(batch, on_clash)
            totals["imported"] += counts.imported
            totals["replaced"] += counts.replaced
            totals["skipped"] += counts.skipped
            logged[store] = {"on_clash": on_clash, **asdict(counts)}
        if side is not None:
            # After every batch is written, so a pair finds its memories in any store.
            pairs_by_store = await _pairs_by_store(side.pairs, txs)
            for (store, key), value in unset.items():
                await txs[store].set_meta(key, value)
            for store, tx in txs.items():
                entries = logs.get(store, [])
                if entries and isinstance(tx, LogImport):
                    await tx.import_log(entries)
                    added.setdefault(store, {})["log_entries"] = len(entries)
                if isinstance(tx, SideImport):
                    verdicts, sessions = side_by_store.get(store, ([], []))
                    added.setdefault(store, {}).update(
                        pairs=await tx.import_pairs(pairs_by_store.get(store, [])),
                        verdicts=await tx.import_verdicts(verdicts),
                        sessions=await tx.import_sessions(sessions),
                    )
        for store, tx in txs.items():
            new = {name: n for name, n in added.get(store, {}).items() if n}
            if store in logged or new:
                detail = {**logged.get(store, {"on_clash": on_clash}), **new}
                await tx.log([("imported", None, source, detail)])
    side_totals = {
        name: sum(counts.get(name, 0) for counts in added.values())
        for name in ("pairs", "verdicts", "sessions", "log_entries")
    }
    return ImportReport(rescoped=rescoped, **totals, **side_totals)


async def _unset_settings(
    side: Document | None, store_for: Callable[[Scope], Store]
) -> dict[tuple[Store, str], str]:
    """``side``'s store settings that the store of their scope has not recorded: a setting
    never replaces the target's own (its vectors may be another embedder's)."""
    return {
        (store_for(scope), key): value
        for scope, key, value in (side.settings if side else [])
        if await store_for(scope).get_meta(key) is None
    }


async def _missing_log(
    side: Document | None, store_for: Callable[[Scope], Store]
) -> dict[Store, list[tuple[float, LogEntry]]]:
    """``side``'s write-log entries that the store of their scope lacks (an entry is its
    time, action, memory, source and detail, as :func:`missing_log_entries` compares them)."""
    logs: dict[Store, list[tuple[float, LogEntry]]] = {}
    for scope, item in side.log if side else []:
        logs.setdefault(store_for(scope), []).append(item)
    for store, wanted in logs.items():
        present = {_log_key(at, entry) for at, entry in await store.recent_log(_ALL)}
        wanted[:] = [item for item in wanted if _log_key(*item) not in present]
    return logs


def _side_by_scope(
    side: Document | None, store_for: Callable[[Scope], Store]
) -> dict[Store, tuple[list[VerdictRow], list[SessionRecord]]]:
    """``side``'s verdicts and sessions by the store of their scope."""
    found: dict[Store, tuple[list[VerdictRow], list[SessionRecord]]] = {}
    if side is None:
        return found
    for scope, verdict in side.verdicts:
        found.setdefault(store_for(scope), ([], []))[0].append(verdict)
    for scope, session in side.sessions:
        found.setdefault(store_for(scope), ([], []))[1].append(session)
    return found


async def _pairs_by_store(
    pairs: Sequence[PairRow], txs: dict[Store, StoreTransaction]
) -> dict[Store, list[PairRow]]:
    """Each pair in the store its new memory is in, once both of its memories are found in
    one of the stores (``txs``: their open transactions, which see this import's rows); the
    detector's reason is redacted, as the judge's prompts are (it quotes the texts)."""
    ids = list({i for p in pairs for i in (p.new_id, p.old_id)})
    held = {store: await tx.existing_ids(ids) for store, tx in txs.items()} if ids else {}
    everywhere = set().union(*held.values()) if held else set()
    found: dict[Store, list[PairRow]] = {}
    for pair in pairs:
        home = next((s for s, there in held.items() if pair.new_id in there), None)
        if home is None or pair.old_id not in everywhere:
            continue
        found.setdefault(home, []).append(dataclasses.replace(pair, reason=redact(pair.reason)[0]))
    return found


async def _in_other_stores(
    targets: list[str],
    store: Store,
    stores: Collection[Store],
    ids_by_store: dict[Store, set[str]],
    txs: dict[Store, StoreTransaction],
) -> set[str]:
    """Which of ``targets`` the other scope's store holds or is given by this import (read
    through its transaction when this import holds one: the store waits for it to end)."""
    found: set[str] = set()
    for other in stores:
        if other is store or not targets:
            continue
        found |= ids_by_store.get(other, set()).intersection(targets)
        missing = [t for t in targets if t not in found]
        if missing and other in txs:
            found |= await txs[other].existing_ids(missing)
        elif missing:
            found |= {memory.id for memory in await other.get_many(missing)}
    return found


def links_first(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` ordered so that each history link's target comes before the memory that
    links to it: imported in chunks, no chunk then links to a memory not yet written (an
    update's earlier version is newer than the memory it links to, so export order is not
    enough). Links form chains (one target per memory), so a chain's depth orders it."""
    by_id = {r["id"]: r for r in records}
    depth: dict[str, int] = {}

    def depth_of(memory_id: str) -> int:
        chain: list[str] = []
        current: str | None = memory_id
        while current is not None and current in by_id and current not in depth:
            if current in chain:  # a cycle (not written by MemoryMesh): cut it here
                break
            chain.append(current)
            current = by_id[current].get("superseded_by")
        base = depth.get(current, -1) if current is not None else -1
        for offset, link in enumerate(reversed(chain), 1):
            depth[link] = base + offset
        return depth[memory_id]

    return sorted(records, key=lambda r: depth_of(r["id"]))


def _log_key(at: float, entry: LogEntry) -> tuple[Any, ...]:
    action, memory_id, source, detail = entry
    return (at, action, memory_id, source, json.dumps(detail, sort_keys=True, default=str))


async def missing_log_entries(source: Store, target: Store) -> list[tuple[float, LogEntry]]:
    """``source``'s write-log entries that ``target``'s log lacks (same time, action, memory,
    source and detail), oldest first: what :func:`append_log` should copy."""
    wanted = await source.recent_log(_ALL)
    present = {_log_key(at, entry) for at, entry in await target.recent_log(_ALL)}
    return [(at, entry) for at, entry in reversed(wanted) if _log_key(at, entry) not in present]


async def append_log(
    target: Store,
    entries: Sequence[tuple[float, LogEntry]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Append ``entries`` to ``target``'s write log with their own times, in one transaction;
    return how many (0 when ``target``'s engine cannot keep entries' times)."""
    if not entries:
        return 0
    async with target.write() as tx:
        if not isinstance(tx, LogImport):
            return 0
        for start in range(0, len(entries), _PAGE):
            page = entries[start : start + _PAGE]
            await tx.import_log(page)
            if progress is not None:
                progress(len(page))
    return len(entries)


#: "Every entry" for recent_log (a bound parameter, so any integer the engines take).
_ALL = 2**62
