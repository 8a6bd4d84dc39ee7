"""The MemoryMesh export format: versioned JSON lines carrying every field of every memory.

Line 1 is a header (``{"format": "memorymesh", "version": 1, ...}``); each further line is one
memory with its id, text, category, importance, scope, metadata, session, source, agent,
redactions, all five timestamps, access statistics and history link. Embeddings are optional:
text is the source of truth and vectors can always be recomputed. After the memories come the
records a store keeps beside them, each line naming its ``type``: the uncertain pairs waiting
for the judge or the review queue (``conflict_pair``), the judge's cached verdicts
(``judge_verdict``), the recorded sessions (``session``), with the vectors which embedder
made them (``store_setting``) and, when asked for, the write log (``log_entry``); a document
holding any is
version 2 (version 1 readers refuse it with "upgrade" instead of misreading it). ``json``
wraps the same records in one document; ``markdown`` is for people and cannot be imported.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from .._errors import InvalidInputError
from .._models import Category, ConflictKind, Scope, SessionRecord
from .._version import __version__, install_command
from .._vocab import ConflictPolicy
from ..stores.base import LogEntry, PairRow, VerdictRow

__all__ = [
    "CARRIED_SETTINGS",
    "EXPORT_VERSION",
    "Document",
    "ExportFormat",
    "ImportReport",
    "decode_document",
    "decode_records",
    "encode_log_entry",
    "encode_pair",
    "encode_record",
    "encode_session",
    "encode_setting",
    "encode_verdict",
    "render",
]

#: The newest format this MemoryMesh reads and writes (2: side records, see the module).
EXPORT_VERSION = 2
#: The version a document of memories alone is written as, so older readers still take it.
_MEMORIES_ONLY_VERSION = 1
ExportFormat = Literal["jsonl", "json", "markdown"]
_TIMES = ("created_at", "updated_at", "event_time", "expires_at", "last_accessed_at",
          "superseded_at")  # fmt: skip


class ImportReport(BaseModel):
    """What ``import_`` did with each record."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    imported: int = 0
    """New memories added."""
    replaced: int = 0
    """Existing memories overwritten by the file (``on_clash="replace"`` or ``"newer"``)."""
    skipped: int = 0
    """Records whose id was already stored and kept as it was."""
    links_dropped: int = 0
    """History links to memories neither in the file nor in the store."""
    rescoped: int = 0
    """Project memories imported into the global store because no project was found."""
    pairs: int = 0
    """Uncertain pairs added to the queue the judge and the review queue read."""
    verdicts: int = 0
    """The judge's cached verdicts added."""
    sessions: int = 0
    """Recorded sessions (``session_start``'s chains) added."""
    log_entries: int = 0
    """Write-log entries added with their own times (an export made with ``include_log``)."""


class _Embedding(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    model: str | None
    dim: int = Field(ge=1)
    b64: str


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str = Field(min_length=1, max_length=128)
    text: str
    category: Category
    importance: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    scope: Scope
    pinned: bool = False
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    session_id: str | None = None
    source: str = "import"
    agent: str | None = None
    redactions: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    event_time: datetime | None = None
    expires_at: datetime | None = None
    access_count: int = Field(default=0, ge=0)
    last_accessed_at: datetime | None = None
    superseded_by: str | None = None
    superseded_at: datetime | None = None
    status: Literal["active", "pending", "rejected", "archived"] = "active"
    embedding: _Embedding | None = None


class _PairRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: Literal["conflict_pair"]
    new_id: str = Field(min_length=1, max_length=128)
    old_id: str = Field(min_length=1, max_length=128)
    kind: ConflictKind
    similarity: float = Field(allow_inf_nan=False)
    policy: ConflictPolicy
    reason: str = Field(default="", max_length=4096)
    created_at: datetime


class _VerdictRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: Literal["judge_verdict"]
    scope: Scope
    key: str = Field(min_length=1, max_length=128)
    verdict: dict[str, JsonValue]
    created_at: datetime


class _SessionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: Literal["session"]
    scope: Scope
    # As session_start checks them (context/_session.py, MAX_SESSION_ID_CHARS).
    id: str = Field(min_length=1, max_length=256)
    started_at: datetime
    client: str | None = Field(default=None, max_length=256)
    continues: str | None = Field(default=None, max_length=256)


#: The store settings an export carries, with its vectors only: which embedder made them
#: (so a mesh opened on the target without ``embedding=`` recalls by vector as the source
#: did, and a server builds its vector index). Any other setting belongs to one store.
CARRIED_SETTINGS = ("embedder", "embedder_dim")


class _SettingRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: Literal["store_setting"]
    scope: Scope
    key: Literal["embedder", "embedder_dim"]
    value: str = Field(min_length=1, max_length=256)


class _LogRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: Literal["log_entry"]
    scope: Scope
    # POSIX seconds, not an ISO time: an entry is told from another by its exact time, so
    # importing it twice (or migrating after an import) finds it already there.
    at: float = Field(ge=0.0, allow_inf_nan=False)
    action: str = Field(min_length=1, max_length=64)
    memory_id: str | None = Field(default=None, max_length=128)
    source: str | None = Field(default=None, max_length=256)
    detail: dict[str, JsonValue] = Field(default_factory=dict)


_SIDE_MODELS: dict[str, type[BaseModel]] = {
    "conflict_pair": _PairRecord,
    "judge_verdict": _VerdictRecord,
    "session": _SessionRecord,
    "store_setting": _SettingRecord,
    "log_entry": _LogRecord,
}


@dataclass(slots=True)
class Document:
    """A decoded export: the memories as rows for the store, and the side records."""

    memories: list[dict[str, Any]]
    pairs: list[PairRow] = field(default_factory=list)
    #: Each verdict with the scope of the store that cached it.
    verdicts: list[tuple[Scope, VerdictRow]] = field(default_factory=list)
    #: Each session with the scope of the store that recorded it.
    sessions: list[tuple[Scope, SessionRecord]] = field(default_factory=list)
    #: ``(scope, key, value)``: a :data:`CARRIED_SETTINGS` setting of the scope's store.
    settings: list[tuple[Scope, str, str]] = field(default_factory=list)
    #: Write-log entries (``include_log``), each with the scope of the store that logged it.
    log: list[tuple[Scope, tuple[float, LogEntry]]] = field(default_factory=list)


def _iso(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC).isoformat()


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def encode_record(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored row (as :meth:`SQLiteStore.dump_page` returns it) as an export record."""
    record: dict[str, Any] = {
        "id": raw["id"],
        "text": raw["text"],
        "category": raw["category"],
        "importance": raw["importance"],
        "scope": raw["scope"],
        "pinned": bool(raw["pinned"]),
        "metadata": json.loads(raw["metadata"]),
        "session_id": raw["session_id"],
        "source": raw["source"],
        "agent": raw["agent"],
        "redactions": json.loads(raw["redactions"]),
        "access_count": raw["access_count"],
        # A memory superseded from the other scope links to itself in its store (the link
        # cannot cross files) and names its successor apart: the export names the successor.
        "superseded_by": raw.get("superseded_across") or raw["superseded_by"],
        "status": raw["status"],
    }
    for name in _TIMES:
        record[name] = _iso(raw[name])
    blob = raw.get("embedding")
    if blob is not None:
        record["embedding"] = {
            "model": raw.get("embedding_model"),
            "dim": len(blob) // 4,
            "b64": base64.b64encode(blob).decode("ascii"),
        }
    return record


def encode_pair(pair: PairRow) -> dict[str, Any]:
    """A queued uncertain pair as an export record (it goes to its new memory's store)."""
    return {
        "type": "conflict_pair",
        "new_id": pair.new_id,
        "old_id": pair.old_id,
        "kind": pair.kind,
        "similarity": pair.similarity,
        "policy": pair.policy,
        "reason": pair.reason,
        "created_at": _iso(pair.created_at),
    }


def encode_verdict(scope: Scope, row: VerdictRow) -> dict[str, Any]:
    """A cached judge verdict of ``scope``'s store as an export record."""
    key, verdict, created_at = row
    return {
        "type": "judge_verdict",
        "scope": scope.value,
        "key": key,
        "verdict": json.loads(verdict),
        "created_at": _iso(created_at),
    }


def encode_session(scope: Scope, session: SessionRecord) -> dict[str, Any]:
    """A recorded session of ``scope``'s store as an export record."""
    return {
        "type": "session",
        "scope": scope.value,
        "id": session.id,
        "started_at": session.started_at.isoformat(),
        "client": session.client,
        "continues": session.continues,
    }


def encode_setting(scope: Scope, key: str, value: str) -> dict[str, Any]:
    """A store setting of ``scope``'s store (one of :data:`CARRIED_SETTINGS`) as a record."""
    return {"type": "store_setting", "scope": scope.value, "key": key, "value": value}


def encode_log_entry(scope: Scope, at: float, entry: LogEntry) -> dict[str, Any]:
    """A write-log entry of ``scope``'s store, with its own time, as an export record."""
    action, memory_id, source, detail = entry
    return {
        "type": "log_entry",
        "scope": scope.value,
        "at": at,
        "action": action,
        "memory_id": memory_id,
        "source": source,
        "detail": json.loads(json.dumps(detail, default=str)),
    }


def _validated(model: type[BaseModel], obj: Any, where: str) -> Any:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "record"
        raise InvalidInputError(f"{where}: {field}: {first['msg']}") from None


def _decode_side(obj: dict[str, Any], where: str, document: Document) -> None:
    """Add the side record ``obj`` (a line with a ``type``) to ``document``."""
    model = _SIDE_MODELS.get(obj["type"]) if isinstance(obj["type"], str) else None
    if model is None:
        raise InvalidInputError(
            f"{where}: unknown record type {obj['type']!r}; "
            f"expected one of {', '.join(_SIDE_MODELS)}"
        )
    record = _validated(model, obj, where)
    if isinstance(record, _PairRecord):
        document.pairs.append(
            PairRow(
                record.new_id,
                record.old_id,
                record.kind,
                record.similarity,
                record.policy,
                record.reason,
                _epoch(record.created_at) or 0.0,
            )
        )
    elif isinstance(record, _VerdictRecord):
        # Stored as the judge writes it (writes/_judge.Verdict.dumps): the same text back.
        row = (record.key, json.dumps(record.verdict), _epoch(record.created_at) or 0.0)
        document.verdicts.append((record.scope, row))
    elif isinstance(record, _LogRecord):
        entry = (record.action, record.memory_id, record.source, dict(record.detail))
        document.log.append((record.scope, (record.at, entry)))
    elif isinstance(record, _SettingRecord):
        if record.key == "embedder_dim" and not (
            record.value.isdigit() and 0 < int(record.value) <= 65_536
        ):
            raise InvalidInputError(f"{where}: value: embedder_dim must be a positive integer")
        document.settings.append((record.scope, record.key, record.value))
    else:
        assert isinstance(record, _SessionRecord)
        started = record.started_at
        session = SessionRecord(
            id=record.id,
            started_at=started if started.tzinfo else started.replace(tzinfo=UTC),
            client=record.client,
            continues=record.continues,
        )
        document.sessions.append((record.scope, session))


def _decode_into(obj: Any, where: str, document: Document) -> None:
    if isinstance(obj, dict) and "type" in obj:
        _decode_side(obj, where, document)
    else:
        document.memories.append(_decode(obj, where))


def _decode(obj: Any, where: str) -> dict[str, Any]:
    record = _validated(_Record, obj, where)
    raw: dict[str, Any] = {
        "id": record.id,
        "text": record.text,
        "category": record.category.value,
        "importance": record.importance,
        "scope": record.scope.value,
        "pinned": int(record.pinned),
        "metadata": json.dumps(record.metadata, ensure_ascii=False),
        "session_id": record.session_id,
        "source": record.source,
        "agent": record.agent,
        "redactions": json.dumps(record.redactions),
        "access_count": record.access_count,
        "superseded_by": record.superseded_by,
        "status": record.status,
        "embedding": None,
        "embedding_model": None,
        "superseded_across": None,
    }
    for name in _TIMES:
        raw[name] = _epoch(getattr(record, name))
    if record.embedding is not None:
        try:
            blob = base64.b64decode(record.embedding.b64, validate=True)
        except ValueError:
            raise InvalidInputError(f"{where}: embedding is not valid base64") from None
        if len(blob) != 4 * record.embedding.dim:
            raise InvalidInputError(
                f"{where}: embedding does not have {record.embedding.dim} floats"
            )
        raw["embedding"] = blob
        raw["embedding_model"] = record.embedding.model
    return raw


def _check_header(header: Any, where: str) -> None:
    if not isinstance(header, dict) or header.get("format") != "memorymesh":
        raise InvalidInputError(f"{where}: not a MemoryMesh export (no memorymesh header)")
    version = header.get("version")
    if not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"{where}: the export header has no valid version")
    if version > EXPORT_VERSION:
        raise InvalidInputError(
            f"this export is format version {version}; this MemoryMesh reads up to "
            f"{EXPORT_VERSION}: upgrade with `{install_command()}`"
        )


def decode_records(text: str) -> list[dict[str, Any]]:
    """The memories of a ``jsonl`` or ``json`` export as rows ready for the store (see
    :func:`decode_document`, which also returns the side records)."""
    return decode_document(text).memories


def decode_document(text: str) -> Document:
    """Parse a ``jsonl`` or ``json`` export: its memories as rows ready for the store, and
    its side records.

    Raises:
        InvalidInputError: not an export, a newer format version, or an invalid record
            (the message names its line or index). Nothing is returned on any error, so an
            import is all or nothing.
    """
    stripped = text.lstrip()
    if not stripped:
        raise InvalidInputError("the export is empty")
    if stripped.startswith("# MemoryMesh export"):
        raise InvalidInputError(
            "this is a markdown export, which is for reading; import a jsonl or json export "
            "(memorymesh export --format jsonl)"
        )
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    document = Document(memories=[])
    if isinstance(whole, dict) and "memories" in whole:
        _check_header(whole.get("header"), "header")
        memories, side = whole["memories"], whole.get("side_records", [])
        if not isinstance(memories, list):
            raise InvalidInputError("'memories' must be a list")
        if not isinstance(side, list):
            raise InvalidInputError("'side_records' must be a list")
        for i, obj in enumerate(memories):
            document.memories.append(_decode(obj, f"memory {i}"))
        for i, obj in enumerate(side):
            if not isinstance(obj, dict) or "type" not in obj:
                raise InvalidInputError(f"side record {i}: type: Field required")
            _decode_side(obj, f"side record {i}", document)
        return document
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    parsed: list[tuple[int, Any]] = []
    for number, line in lines:
        try:
            parsed.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"line {number}: not JSON ({exc.msg})") from None
    (first, header), *records = parsed
    _check_header(header, f"line {first}")
    for number, obj in records:
        _decode_into(obj, f"line {number}", document)
    return document


def _header(count: int, version: int) -> dict[str, Any]:
    return {
        "format": "memorymesh",
        "version": version,
        "exported_at": datetime.now(UTC).isoformat(),
        "memorymesh": __version__,
        "count": count,
    }


def render(
    records: Iterable[dict[str, Any]],
    format: ExportFormat,
    side: Sequence[dict[str, Any]] = (),
) -> str:
    """The export document for ``records`` (as :func:`encode_record` makes them) and the
    ``side`` records (as :func:`encode_pair`, :func:`encode_verdict` and
    :func:`encode_session` make them; a markdown export, for people, leaves them out)."""
    items = list(records)
    version = EXPORT_VERSION if side else _MEMORIES_ONLY_VERSION
    if format == "jsonl":
        lines = [json.dumps(_header(len(items), version), ensure_ascii=False)]
        lines.extend(json.dumps(item, ensure_ascii=False) for item in items)
        lines.extend(json.dumps(item, ensure_ascii=False) for item in side)
        return "\n".join(lines) + "\n"
    if format == "json":
        document: dict[str, Any] = {"header": _header(len(items), version), "memories": items}
        if side:
            document["side_records"] = list(side)
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if format == "markdown":
        return _markdown(items)
    raise InvalidInputError(f"unknown export format {format!r}; use jsonl, json or markdown")


def _markdown(items: list[dict[str, Any]]) -> str:
    out = ["# MemoryMesh export", "", f"{len(items)} memories, exported "
           f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.", ""]  # fmt: skip
    for category in Category:
        group = [i for i in items if i["category"] == category.value]
        if not group:
            continue
        out += [f"## {category.value.replace('_', ' ').title()}", ""]
        for item in sorted(group, key=lambda i: (-i["importance"], i["created_at"])):
            flags = ["pinned"] if item["pinned"] else []
            if item["superseded_by"]:
                flags.append(f"superseded by {item['superseded_by'][:8]}")
            when = item["created_at"][:10]
            extra = f"; {', '.join(flags)}" if flags else ""
            text = " ".join(item["text"].split())
            out.append(
                f"- {text} _({item['scope']}, importance {item['importance']:.2f}, "
                f"{when}, `{item['id'][:8]}`{extra})_"
            )
        out.append("")
    return "\n".join(out)
