"""Validated recall/list filters, independent of any SQL dialect.

The store turns a :class:`Filters` into SQL; everything here only checks that the caller's
filter is well formed, so a bad key or operator is refused before any query is built.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .._errors import InvalidFilterError, InvalidInputError
from .._validate import (
    CategoryArg,
    categories,
    check_importance,
    check_label,
    check_scope,
    utc,
)
from .._vocab import Category, Scope

__all__ = [
    "INT64_RANGE",
    "METADATA_KEY",
    "Filters",
    "MetadataCondition",
    "TimeField",
    "checked_filters",
    "parse_metadata_filter",
]

METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Operator = Literal["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"]
_OPERATORS: frozenset[str] = frozenset(
    {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"}
)
Scalar = str | int | float | bool | None
TimeField = Literal["created", "event"]


@dataclass(frozen=True, slots=True)
class MetadataCondition:
    key: str
    op: Operator
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Filters:
    """Which memories an operation may see. Empty means every current memory."""

    categories: tuple[Category, ...] = ()
    scope: Scope | None = None
    min_importance: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    session_id: str | None = None
    pinned: bool | None = None
    metadata: tuple[MetadataCondition, ...] = field(default=())
    include_superseded: bool = False
    include_expired: bool = False
    ids: tuple[str, ...] | None = None
    as_of: datetime | None = None
    """Evaluate "current" at this moment instead of now: recorded by then, not yet
    superseded or expired then."""
    time_field: TimeField = "created"
    """Which time ``since``/``until`` compare: ``created`` (recorded) or ``event`` (happened)."""

    @property
    def narrows(self) -> bool:
        """Whether anything beyond "current" narrows the memories (a category, a time, ...)."""
        return bool(
            self.categories
            or self.metadata
            or self.ids is not None
            or self.as_of is not None
            or any(
                getattr(self, name) is not None
                for name in (
                    "scope",
                    "min_importance",
                    "since",
                    "until",
                    "session_id",
                    "pinned",
                    "source",
                    "agent",
                )
            )
        )

    def described(self) -> dict[str, Any]:
        """The filters that narrow the search, for explanations (defaults left out)."""
        shown: dict[str, Any] = {}
        if self.categories:
            shown["category"] = [c.value for c in self.categories]
        if self.scope is not None:
            shown["scope"] = self.scope.value
        for name in ("min_importance", "session_id", "pinned", "source", "agent"):
            value = getattr(self, name)
            if value is not None:
                shown[name] = value
        for name in ("since", "until", "as_of"):
            value = getattr(self, name)
            if value is not None:
                shown[name] = value.isoformat()
        if self.since is not None or self.until is not None:
            shown["time_field"] = self.time_field
        if self.metadata:
            shown["metadata"] = [f"{c.key} {c.op} {c.value!r}" for c in self.metadata]
        if not self.include_superseded:
            shown["current_only"] = True
        return shown

    status: str | None = "active"
    """Only memories in this life-cycle status (see ``0003_review_queue``); None for any."""
    source: str | None = None
    """Only memories written through this source (``api``, ``mcp``, ``hook``, ...)."""
    agent: str | None = None
    """Only memories written by this agent (the MCP client's name, an agent's id, ...)."""


#: The integers every engine can bind (SQLite's and PostgreSQL's 64-bit range).
INT64_RANGE = range(-(2**63), 2**63)


def _scalar(key: str, value: Any) -> Scalar:
    if isinstance(value, int) and not isinstance(value, bool) and value not in INT64_RANGE:
        raise InvalidFilterError(
            f"metadata filter {key!r}: {value} is outside the 64-bit integer range"
        )
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidFilterError(f"metadata filter {key!r}: {value!r} is not a finite number")
        return value
    raise InvalidFilterError(
        f"metadata filter {key!r}: values must be strings, numbers, booleans or null, "
        f"not {type(value).__name__}"
    )


def parse_metadata_filter(spec: Mapping[str, Any] | None) -> tuple[MetadataCondition, ...]:
    """Turn ``{"lang": "py", "stars": {"$gte": 3}}`` into checked conditions.

    :raises InvalidFilterError: a key outside ``^[A-Za-z_][A-Za-z0-9_]*$``, an unknown
        operator, or a value that is not a JSON scalar.
    """
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise InvalidFilterError("metadata_filter must be a mapping of key to value")
    conditions: list[MetadataCondition] = []
    for key, wanted in spec.items():
        if not isinstance(key, str) or not METADATA_KEY.match(key):
            raise InvalidFilterError(
                f"metadata filter key {key!r} is not allowed: keys must match "
                "^[A-Za-z_][A-Za-z0-9_]*$"
            )
        if isinstance(wanted, Mapping):
            if not wanted:
                raise InvalidFilterError(f"metadata filter {key!r}: empty operator mapping")
            for op, operand in wanted.items():
                conditions.append(_condition(key, op, operand))
        else:
            conditions.append(MetadataCondition(key, "$eq", _scalar(key, wanted)))
    return tuple(conditions)


def _condition(key: str, op: Any, operand: Any) -> MetadataCondition:
    if op not in _OPERATORS:
        raise InvalidFilterError(
            f"metadata filter {key!r}: unknown operator {op!r}; "
            f"use one of {', '.join(sorted(_OPERATORS))}"
        )
    if op in ("$in", "$nin"):
        if isinstance(operand, str | bytes) or not isinstance(operand, Sequence | set | frozenset):
            raise InvalidFilterError(f"metadata filter {key!r}: {op} takes a list of values")
        values = tuple(_scalar(key, item) for item in operand)
        if not values:
            raise InvalidFilterError(f"metadata filter {key!r}: {op} needs at least one value")
        return MetadataCondition(key, op, values)
    if op == "$exists":
        if not isinstance(operand, bool):
            raise InvalidFilterError(f"metadata filter {key!r}: $exists takes true or false")
        return MetadataCondition(key, "$exists", operand)
    value = _scalar(key, operand)
    if op in ("$gt", "$gte", "$lt", "$lte") and (value is None or isinstance(value, bool)):
        raise InvalidFilterError(f"metadata filter {key!r}: {op} needs a number or a string")
    return MetadataCondition(key, op, value)


def checked_filters(
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
    source: str | None = None,
    agent: str | None = None,
) -> Filters:
    """Recall/list filter arguments checked into a :class:`Filters` (see ``recall``)."""
    if time_field not in ("created", "event"):
        raise InvalidInputError(f"time_field must be 'created' or 'event', not {time_field!r}")
    for name, value in (("since", since), ("until", until), ("as_of", as_of)):
        if value is not None and not isinstance(value, datetime):
            raise InvalidInputError(f"{name} must be a datetime")
        utc(value, name)  # datetime.min/max in a time zone: refused here, not deep in a query
    return Filters(
        categories=categories(category),
        scope=check_scope(scope),
        min_importance=None if min_importance is None else check_importance(min_importance),
        since=since,
        until=until,
        session_id=check_label(session_id, "session_id"),
        pinned=pinned,
        metadata=parse_metadata_filter(metadata_filter),
        include_superseded=include_superseded,
        include_expired=include_expired,
        as_of=as_of,
        time_field=time_field,
        source=check_label(source, "source"),
        agent=check_label(agent, "agent"),
    )
