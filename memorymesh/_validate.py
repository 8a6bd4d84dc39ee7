"""Checks of the arguments callers pass, shared by every layer: one message for one mistake.

Each returns the value in its checked form or raises :class:`~memorymesh.InvalidInputError`
saying what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from ._errors import InvalidInputError
from ._models import CONFLICT_POLICIES, Category, ConflictPolicy, Scope

__all__ = [
    "CategoryArg",
    "categories",
    "category",
    "check_importance",
    "check_label",
    "check_policy",
    "check_scope",
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
    return value.astimezone(UTC).timestamp() if value.tzinfo else value.astimezone().timestamp()


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
    return value
