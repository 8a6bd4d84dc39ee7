"""Turning what a caller asked to remember into a row: validation, guards and classification.

Everything here runs before any store is touched, so a bad item fails the whole batch with a
clear :class:`~memorymesh.InvalidInputError` and nothing is written. The order matters: the
injected-context guard first (context MemoryMesh injected is never stored back), then the
privacy guard (no later step sees a secret), then classification, scope, times and limits.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .._errors import InjectedContextError, InvalidInputError, TooLargeError
from .._models import ConflictPolicy, NewMemory, Scope, default_scope
from .._text import content_hash
from .._validate import (
    category,
    check_depth,
    check_importance,
    check_label,
    check_policy,
    check_scope,
    check_timestamp,
    check_unicode,
    utc,
)
from .._validate import (
    category as category_of,
)
from ..stores.base import MemoryRow, Store
from ._classify import classify, estimate_importance, infer_scope
from ._event_time import find_event_time
from ._injected import contains_injected, strip_injected
from ._pipeline import Prepared
from ._privacy import PrivacyGuard

__all__ = ["WriteRules", "as_new"]

# Every NewMemory field with its default (`text` has none: each item must give it).
_NEW_MEMORY_DEFAULTS: dict[str, Any] = {
    name: field.default for name, field in NewMemory.model_fields.items()
}


def new_id() -> str:
    """A random UUID4 in hex, as ``uuid.uuid4().hex`` gives it, at a fifth of the cost
    (no ``UUID`` object): one per memory of a batch."""
    value = int.from_bytes(os.urandom(16), "big")
    value = value & ~_UUID_FIXED_BITS | _UUID4_BITS
    return f"{value:032x}"


# The version (4) and variant (RFC 4122) bits of a UUID4.
_UUID_FIXED_BITS = 0xF000 << 64 | 0xC000 << 48
_UUID4_BITS = 0x4000 << 64 | 0x8000 << 48


@functools.lru_cache(maxsize=1)
def _local_moment(now: float) -> datetime:
    """``now`` as an aware local datetime: built once per batch (every item shares its
    ``now``), not per item, and only read when a text has a time expression."""
    return datetime.fromtimestamp(now).astimezone()


class _Item:
    """A string or mapping item's fields, as :class:`NewMemory` names them: what
    :meth:`WriteRules.prepare` reads, without building a pydantic model per item (~10 µs
    each, a fifth of preparing one; ``prepare`` validates every field itself)."""

    __slots__ = tuple(_NEW_MEMORY_DEFAULTS)

    text: Any
    category: Any
    importance: Any
    scope: Any
    metadata: Any
    pin: Any
    session_id: Any
    event_time: Any
    expires_at: Any
    ttl: Any
    source: Any
    agent: Any
    on_conflict: Any

    def __init__(self, fields: Mapping[str, Any]) -> None:
        for name, default in _NEW_MEMORY_DEFAULTS.items():
            setattr(self, name, fields.get(name, default))


def as_new(item: str | Mapping[str, Any] | NewMemory) -> NewMemory | _Item:
    """One ``remember_many`` item with :class:`NewMemory`'s fields (not validated yet)."""
    if isinstance(item, NewMemory):
        return item
    if isinstance(item, str):
        return _Item({"text": item})
    if isinstance(item, Mapping):
        unknown = item.keys() - _NEW_MEMORY_DEFAULTS.keys()
        if unknown:
            raise InvalidInputError(f"unknown field(s) {sorted(map(str, unknown))}")
        if "text" not in item:
            raise InvalidInputError("each item needs a 'text'")
        return _Item(item)
    raise InvalidInputError(
        f"each item must be a string, a mapping or a NewMemory, not {type(item).__name__}"
    )


@dataclass(frozen=True, slots=True)
class WriteRules:
    """A mesh's settings for new memories, and where each scope's memories go."""

    max_text_chars: int
    max_metadata_bytes: int
    privacy: PrivacyGuard
    source: str
    agent: str | None
    on_conflict: ConflictPolicy
    #: The store for a scope; ``explicit`` says the caller named the scope.
    store_for: Callable[[Scope, bool], Store]
    global_store: Store

    def check_text(self, text: Any) -> str:
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
            raise TooLargeError(
                f"text is {len(cleaned)} characters; the limit is {self.max_text_chars}"
            )
        if "\x00" in cleaned:
            raise InvalidInputError("text contains a NUL character")
        check_unicode(cleaned, "text")
        return cleaned

    def check_metadata(self, metadata: Any) -> str:
        if metadata is None:
            return "{}"
        if not isinstance(metadata, Mapping):
            raise InvalidInputError(
                f"metadata must be a JSON object (a mapping), not {type(metadata).__name__}"
            )
        if not all(isinstance(key, str) for key in metadata):
            raise InvalidInputError("metadata keys must be strings")
        check_depth(metadata, "metadata")
        try:
            encoded = json.dumps(dict(metadata), allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"metadata is not JSON-serialisable: {exc}") from None
        check_unicode(encoded, "metadata")
        if len(encoded.encode("utf-8")) > self.max_metadata_bytes:
            raise TooLargeError(f"metadata is larger than the {self.max_metadata_bytes}-byte limit")
        return encoded

    def guard_labels(self, **labels: str | None) -> tuple[dict[str, str | None], set[str]]:
        """``session_id``, ``source``, ``agent``... through the privacy guard: they are
        stored in clear (even in an encrypted store), so a secret in one is redacted too."""
        found: set[str] = set()
        checked: dict[str, str | None] = {}
        for name, value in labels.items():
            checked[name], kinds = self.privacy.check_label(value, where=name)
            found.update(kinds)
        return checked, found

    def changes(
        self,
        *,
        text: Any = None,
        importance: Any = None,
        category: Any = None,
        metadata: Any = None,
        pin: Any = None,
        event_time: Any = None,
        expires_at: Any = None,
    ) -> tuple[dict[str, Any], set[str]]:
        """An ``update``'s new values, checked and guarded, as stored columns; and the kinds
        of secret the privacy guard redacted from them. None leaves a field as it is."""
        fields: dict[str, Any] = {}
        found: set[str] = set()
        if text is not None:
            checked, kinds = self.privacy.check_text(self.check_text(text))
            found.update(kinds)
            fields["text"] = checked
            fields["content_hash"] = content_hash(checked)
        if importance is not None:
            fields["importance"] = check_importance(importance)
        if category is not None:
            fields["category"] = category_of(category).value
        if metadata is not None:
            check_depth(metadata, "metadata")  # before anything walks it recursively
            metadata, kinds = self.privacy.check_metadata(metadata)
            found.update(kinds)
            fields["metadata"] = self.check_metadata(metadata)
        if pin is not None:
            if not isinstance(pin, bool):
                raise InvalidInputError(f"pin must be True or False, not {pin!r}")
            fields["pinned"] = int(pin)
        if event_time is not None:
            fields["event_time"] = utc(event_time, "event_time")
        if expires_at is not None:
            fields["expires_at"] = utc(expires_at, "expires_at")
        return fields, found

    def prepare(self, item: NewMemory | _Item, now: float) -> Prepared:
        """``item`` validated, guarded and classified into the row its store will hold."""
        text = self.check_text(item.text)
        check_depth(item.metadata, "metadata")  # before anything walks it recursively
        # -- privacy guard: secrets are redacted (or rejected) before anything else sees them
        text, text_kinds = self.privacy.check_text(text)
        metadata, meta_kinds = self.privacy.check_metadata(item.metadata)
        labels, label_kinds = self.guard_labels(
            session_id=check_label(item.session_id, "session_id"),
            source=check_label(item.source, "source") or self.source,
            agent=check_label(item.agent, "agent") or self.agent,
        )
        redactions = sorted(set(text_kinds) | set(meta_kinds) | set(label_kinds))
        # -- end privacy guard
        detail: dict[str, Any] = {"redacted": redactions} if redactions else {}
        if item.category is None:
            guess = classify(text)
            chosen = guess.category
            detail["category_rule"] = guess.rule
            if guess.matched:
                detail["category_words"] = list(guess.matched)
        else:
            chosen = category(item.category)
        if item.importance is None:
            importance = estimate_importance(text, chosen)
            detail["importance"] = "estimated"
        else:
            importance = check_importance(item.importance)
        explicit_scope = check_scope(item.scope)
        if explicit_scope is not None:
            scope = explicit_scope
        elif item.category is None:  # an inferred category: global only if about the user
            scope = infer_scope(text, chosen)
        else:
            scope = default_scope(chosen)
        store = self.store_for(scope, explicit_scope is not None)
        if store is self.global_store:
            scope = Scope.GLOBAL
        if not isinstance(item.pin, bool):
            raise InvalidInputError(f"pin must be True or False, not {item.pin!r}")
        if item.ttl is not None and item.expires_at is not None:
            raise InvalidInputError("give ttl or expires_at, not both")
        expires_at = utc(item.expires_at, "expires_at")
        if item.ttl is not None:
            if not isinstance(item.ttl, timedelta) or item.ttl <= timedelta(0):
                raise InvalidInputError("ttl must be a positive timedelta")
            expires_at = check_timestamp(now + item.ttl.total_seconds(), "ttl")
        event_time = utc(item.event_time, "event_time")
        if event_time is None:
            # "yesterday", "last Friday", "2024-03-05": resolved against this write's moment.
            found = find_event_time(text, _local_moment(now))
            if found is not None:
                event_time = found.when.timestamp()
                detail["event_time_from"] = found.phrase
        row = MemoryRow(
            id=new_id(),
            text=text,
            content_hash=content_hash(text),
            category=chosen.value,
            importance=importance,
            scope=scope.value,
            pinned=item.pin,
            metadata=self.check_metadata(metadata),
            session_id=labels["session_id"],
            source=labels["source"] or self.source,
            agent=labels["agent"],
            redactions=json.dumps(redactions),
            created_at=now,
            updated_at=now,
            event_time=event_time,
            expires_at=expires_at,
        )
        policy = self.on_conflict if item.on_conflict is None else check_policy(item.on_conflict)
        return Prepared(row=row, store=store, detail=detail, on_conflict=policy)
