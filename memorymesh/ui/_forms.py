"""Reading what a request sends: form bodies and query parameters, as checked values.

Every parse error is an :class:`~memorymesh.InvalidInputError` with one message, which the app
turns into a 400 (a message on the page, or typed JSON). The body has already passed the size
and CSRF checks of :mod:`._security`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from .._errors import InvalidInputError

__all__ = ["body_fields", "choice", "flag", "number", "timestamp", "whole"]


async def body_fields(request: Request) -> dict[str, list[str]]:
    """The fields of a urlencoded form or a flat JSON object, each as a list of strings."""
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    fields: dict[str, list[str]] = {}
    if kind.startswith("application/json"):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise InvalidInputError("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidInputError("the body must be a JSON object")
        for key, value in data.items():
            items = value if isinstance(value, list) else [value]
            fields[key] = ["" if v is None else _text(v) for v in items]
        return fields
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidInputError("the form is not UTF-8") from None
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidInputError("every field must be a string, a number or a boolean")


def first(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    """``value`` if it is one of ``allowed``; None when empty."""
    if not value:
        return None
    if value not in allowed:
        raise InvalidInputError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def number(value: str | None, name: str, low: float, high: float) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        parsed = float(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number, not {value!r}") from None
    if not low <= parsed <= high:
        raise InvalidInputError(f"{name} must be from {low:g} to {high:g}")
    return parsed


def whole(value: str | None, name: str, low: int, high: int, default: int) -> int:
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise InvalidInputError(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def timestamp(value: str | None, name: str) -> datetime | None:
    """A date (``2025-05-03``) or ISO date-time; naive values are UTC."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(f"{name} must be a date like 2025-05-03, not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def flag(value: str | None) -> bool:
    return value in ("on", "1", "true", "yes")
