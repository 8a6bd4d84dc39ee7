"""Checks of the arguments callers pass, shared by every layer: one message for one mistake.

Each returns the value in its checked form or raises :class:`~memorymesh.InvalidInputError`
saying what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from ._errors import InvalidInputError
from ._vocab import CONFLICT_POLICIES, Category, ConflictPolicy, Scope

__all__ = [
    "CategoryArg",
    "categories",
    "category",
    "check_depth",
    "check_importance",
    "check_label",
    "check_policy",
    "check_scope",
    "check_timestamp",
    "check_unicode",
    "utc",
]

CategoryArg = Category | str | Sequence[Category | str] | None


def utc(value: datetime | None, name: str) -> float | None:
    """``value`` as POSIX seconds; a naive datetime is the caller's local time."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} must be a datetime, not {type(value).__name__}")
    # A naive datetime means the caller's local time, as datetime.now() gives it.
    try:
        seconds = (
            value.astimezone(UTC).timestamp() if value.tzinfo else value.astimezone().timestamp()
        )
    except (OverflowError, ValueError, OSError):
        # datetime.min / datetime.max shifted by a time zone fall outside the calendar.
        raise InvalidInputError(f"{name} is outside the dates MemoryMesh can store") from None
    return check_timestamp(seconds, name)


def check_timestamp(seconds: float, name: str) -> float:
    """``seconds`` if it reads back as a datetime in every time zone (years 1 to 9999).

    Raises:
        InvalidInputError: the moment cannot be read back (``datetime.max``, a huge ttl).
    """
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
        # A day of margin: reading it back in the caller's time zone must not overflow.
        if not 1 < moment.year < 9999:
            raise ValueError(moment.year)
    except (OverflowError, ValueError, OSError):
        raise InvalidInputError(f"{name} is outside the dates MemoryMesh can store") from None
    return seconds


def category(value: Category | str) -> Category:
    try:
        return Category(value)
    except ValueError:
        valid = ", ".join(c.value for c in Category)
        raise InvalidInputError(f"unknown category {value!r}; use one of: {valid}") from None


def categories(value: CategoryArg) -> tuple[Category, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (category(value),)
    return tuple(category(v) for v in value)


def check_scope(value: Scope | str | None) -> Scope | None:
    if value is None:
        return None
    try:
        return Scope(value)
    except ValueError:
        raise InvalidInputError(f"unknown scope {value!r}; use 'project' or 'global'") from None


def check_importance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"importance must be a number in [0, 1], not {value!r}")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidInputError(f"importance must be a number in [0, 1], not {value!r}")
    return float(value)


def check_policy(value: Any) -> ConflictPolicy:
    if value not in CONFLICT_POLICIES:
        raise InvalidInputError(
            f"unknown conflict policy {value!r}; use one of {sorted(CONFLICT_POLICIES)}"
        )
    return cast(ConflictPolicy, value)


def check_label(value: Any, name: str, *, max_chars: int = 256) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise InvalidInputError(f"{name} must be a non-empty string of at most {max_chars} chars")
    check_unicode(value, name)
    return value


#: How deep metadata may nest (objects and arrays): far beyond any real use, far below the
#: interpreter's recursion limit that JSON encoding and pydantic would otherwise hit.
MAX_METADATA_DEPTH = 64


def check_unicode(value: str, name: str) -> None:
    """Refuse a string UTF-8 cannot hold: a lone surrogate (``"\\ud800"``) a Python string
    may carry but no database, file or JSON-RPC peer accepts.

    Raises:
        InvalidInputError: naming the position of the first lone surrogate.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{name} must be valid Unicode: {exc.object[exc.start : exc.end]!a} at position "
            f"{exc.start} is a lone surrogate"
        ) from None


def check_depth(value: Any, name: str, limit: int = MAX_METADATA_DEPTH) -> None:
    """Refuse nesting deeper than ``limit`` (iteratively: never recursing on hostile input).

    Raises:
        InvalidInputError: the value nests too deeply.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InvalidInputError(f"{name} nests deeper than {limit} levels")
        if isinstance(item, Mapping):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
