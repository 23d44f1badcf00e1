"""Business hours in a team's time zone, with holidays: adding and counting them.

>>> from datetime import datetime, time, timezone
>>> from mql.model.handoff import BusinessHours
>>> ny = BusinessHours("America/New_York", frozenset({0, 1, 2, 3, 4}), time(9), time(17))
>>> friday_4pm = datetime(2026, 3, 6, 21, 0, tzinfo=timezone.utc)  # 16:00 in New York
>>> add_business_hours(friday_4pm, 2, ny).isoformat()  # 1 h Friday, 1 h Monday
'2026-03-09T14:00:00+00:00'
>>> business_hours_between(friday_4pm, datetime(2026, 3, 9, 14, tzinfo=timezone.utc), ny)
2.0
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from mql.model.handoff import BusinessHours


def _is_open(day: date, hours: BusinessHours) -> bool:
    return day.weekday() in hours.days and day not in hours.holidays


def _windows(start: datetime, hours: BusinessHours) -> Iterator[tuple[datetime, datetime]]:
    """Open windows (UTC) from the one containing or following `start`, in order."""
    zone = hours.zone
    day = start.astimezone(zone).date()
    for _ in range(3660):  # ten years of days: a calendar with no open day ends here
        if _is_open(day, hours):
            opens = datetime.combine(day, hours.start, zone).astimezone(UTC)
            closes = datetime.combine(day, hours.end, zone).astimezone(UTC)
            if closes > start:
                yield max(opens, start), closes
        day += timedelta(days=1)


def add_business_hours(start: datetime, hours: float, calendar: BusinessHours) -> datetime:
    """The moment `hours` business hours after `start` (daylight saving included)."""
    left = timedelta(hours=hours)
    for opens, closes in _windows(start, calendar):
        if opens + left <= closes:
            return opens + left
        left -= closes - opens
    raise ValueError("the business calendar has no open hours in the next ten years")


def business_hours_between(start: datetime, end: datetime, calendar: BusinessHours) -> float:
    """How many business hours lie between `start` and `end` (0 if end <= start)."""
    total = timedelta()
    for opens, closes in _windows(start, calendar):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total.total_seconds() / 3600
