"""Finding *when something happened* in a memory's text, resolved against the write's date.

"We shipped the fix yesterday" written on 2026-03-10 happened on 2026-03-09: that is the
memory's ``event_time``, kept apart from ``created_at`` (when it was recorded). Only plain,
unambiguous English phrases are resolved; anything else leaves ``event_time`` unset rather
than guessing.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["FoundTime", "find_event_time"]

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_WEEKDAYS = {name.lower(): index for index, name in enumerate(calendar.day_name)}
_MONTHS = {name.lower(): index for index, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): index for index, name in enumerate(calendar.month_abbr) if name})

_COUNT = r"(?P<n>\d{1,3}|" + "|".join(_NUMBERS) + r")"
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("iso", r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
        ("month_day", _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?\b"),
        (
            "day_month",
            r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+(?P<y>\d{4}))?\b",
        ),
        ("day_before_yesterday", r"\bthe day before yesterday\b"),
        ("yesterday", r"\byesterday\b"),
        ("today", r"\b(?:today|this morning|this afternoon|this evening|tonight)\b"),
        ("ago", r"\b" + _COUNT + r"\s+(?P<unit>hour|day|week|month|year)s?\s+ago\b"),
        ("last_weekday", r"\b(?:last|this past)\s+(?P<weekday>" + "|".join(_WEEKDAYS) + r")\b"),
        ("last_unit", r"\blast\s+(?P<unit>week|month|year)\b"),
    )
)

# Every pattern above needs a digit or one of these words. Most memories have neither, and
# one search for them spares every write the nine patterns (they cost ~80 µs a text).
_ANY_TIME = re.compile(r"\d|\b(?:yesterday|today|tonight|this|ago|last)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FoundTime:
    when: datetime
    phrase: str


def _months_back(day: date, months: int) -> date:
    month_index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def _at_midnight(day: date, reference: datetime) -> datetime:
    return datetime.combine(day, time(), tzinfo=reference.tzinfo)


def _resolve(kind: str, m: re.Match[str], reference: datetime) -> datetime | None:
    today = reference.date()
    if kind == "iso":
        return _at_midnight(date(int(m["y"]), int(m["m"]), int(m["d"])), reference)
    if kind in ("month_day", "day_month"):
        month = _MONTHS[m["month"].lower()]
        year = int(m["y"]) if m["y"] else today.year
        candidate = date(year, month, int(m["d"]))
        if not m["y"] and candidate > today:
            # "March 5" written in February means last March: memories record the past.
            candidate = date(year - 1, month, int(m["d"]))
        return _at_midnight(candidate, reference)
    if kind == "day_before_yesterday":
        return _at_midnight(today - timedelta(days=2), reference)
    if kind == "yesterday":
        return _at_midnight(today - timedelta(days=1), reference)
    if kind == "today":
        return _at_midnight(today, reference)
    if kind == "ago":
        raw = m["n"].lower()
        n = int(raw) if raw.isdigit() else _NUMBERS[raw]
        unit = m["unit"].lower()
        if unit == "hour":
            return reference - timedelta(hours=n)
        if unit == "day":
            return _at_midnight(today - timedelta(days=n), reference)
        if unit == "week":
            return _at_midnight(today - timedelta(weeks=n), reference)
        months = n if unit == "month" else 12 * n
        return _at_midnight(_months_back(today, months), reference)
    if kind == "last_weekday":
        back = (today.weekday() - _WEEKDAYS[m["weekday"].lower()]) % 7 or 7
        return _at_midnight(today - timedelta(days=back), reference)
    if kind == "last_unit":
        unit = m["unit"].lower()
        if unit == "week":
            return _at_midnight(today - timedelta(weeks=1), reference)
        return _at_midnight(_months_back(today, 1 if unit == "month" else 12), reference)
    return None


def find_event_time(text: str, reference: datetime) -> FoundTime | None:
    """The first time expression in ``text``, resolved against ``reference`` (an aware
    datetime: the moment the memory is written, in the writer's time zone)."""
    if _ANY_TIME.search(text) is None:
        return None
    found: list[tuple[int, FoundTime]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            try:
                when = _resolve(kind, match, reference)
            except ValueError:
                continue  # "February 30": not a date, so not an event time
            if when is not None:
                found.append((match.start(), FoundTime(when, match.group(0))))
                break
    if not found:
        return None
    return min(found, key=lambda item: item[0])[1]
