"""Dates a recall query names, and the preference recall gives to memories from them.

"What did Nate cook on 9 November, 2022?" or "What happened to John's job in August 2023?"
names *when*: a memory that happened then answers it better than an equally good match from
another month. Only dates that are unambiguous without knowing when the question was asked
are read (a day or a month with its year, or an ISO date): "yesterday", "last year" or "in
June" would have to guess, so they are left alone.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from ..stores._recalled import Recalled

__all__ = ["OUTSIDE_PERIOD_SHARE", "named_period", "prefer_period"]

#: A candidate from outside the named period keeps this share of its relevance, and one
#: from inside it gets the rest on top: every candidate from the period ranks above every
#: one from outside it, and each group keeps its own order. Nothing is dropped, since
#: the date may be when the memory was *told* rather than when it happened.
OUTSIDE_PERIOD_SHARE = 0.5

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r",?\s+(?P<year>\d{4})\b"
_YEAR_DIGITS = re.compile(r"\d{4}")
_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?P<year>\d{4})-(?P<mm>\d{2})-(?P<day>\d{2})\b",  # 2023-05-07
        r"\b" + _MONTH + r"\s+" + _DAY + _YEAR,  # May 7, 2023
        r"\b" + _DAY + r"\s+(?:of\s+)?" + _MONTH + _YEAR,  # 7 May 2023, 7th of May, 2023
        r"\b" + _MONTH + _YEAR,  # May 2023
    )
)

S = TypeVar("S")


def named_period(query: str) -> tuple[datetime, datetime] | None:
    """The first day or month (with its year) that ``query`` names, as ``[start, end)`` in
    local time, or None."""
    if _YEAR_DIGITS.search(query) is None:  # every pattern names a year: most queries none
        return None
    for pattern in _PATTERNS:
        for match in pattern.finditer(query):
            fields = match.groupdict()
            year = int(fields["year"])
            month = int(fields["mm"]) if fields.get("mm") else _MONTHS[fields["month"].lower()]
            try:
                if fields.get("day"):
                    first = date(year, month, int(fields["day"]))
                    last = first
                else:
                    first = date(year, month, 1)
                    last = date(year, month, calendar.monthrange(year, month)[1])
            except ValueError:
                continue  # "February 30, 2023" names no day
            start = datetime.combine(first, time()).astimezone()
            end = datetime.combine(last + timedelta(days=1), time()).astimezone()
            return start, end
    return None


def prefer_period(
    candidates: Sequence[tuple[S, Recalled, float]], period: tuple[datetime, datetime]
) -> list[tuple[S, Recalled, float]]:
    """Candidates whose event time (else their creation time) lies in ``period`` ahead of the
    others; relevance stays in [0, 1]. See :data:`OUTSIDE_PERIOD_SHARE`."""
    start, end = period
    share = OUTSIDE_PERIOD_SHARE
    preferred: list[tuple[S, Recalled, float]] = []
    for store, memory, relevance in candidates:
        when = memory.event_time or memory.created_at
        inside = start <= when < end
        preferred.append((store, memory, share * relevance + (1 - share) * float(inside)))
    return preferred
