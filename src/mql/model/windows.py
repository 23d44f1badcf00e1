"""Calendar windows for activity conditions: this quarter, this month, this week, the last
N business days of a team's calendar (its time zone, working days and holidays).

A window at time `t` starts at `start(t)` (included) and ends at `t`; `start` only moves
forward, at calendar boundaries, so a condition "at least n events in the window" that
holds stops holding exactly at `end_after(e)` of its n-th latest event `e`: the first
moment whose window starts after `e`.

>>> from datetime import datetime, timezone
>>> q = CalendarWindow("quarter")
>>> t = datetime(2026, 5, 20, 15, tzinfo=timezone.utc)
>>> q.start(t).isoformat(), q.end_after(t).isoformat()
('2026-04-01T00:00:00+00:00', '2026-07-01T00:00:00+00:00')
>>> five = CalendarWindow("business_days", 5)
>>> five.start(datetime(2026, 3, 9, 10, tzinfo=timezone.utc)).date()  # a Monday: Tue..Mon
datetime.date(2026, 3, 3)
>>> str(five)
'the last 5 business days (UTC, mon-fri)'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from mql.model.handoff import BusinessHours

WindowKind = Literal["quarter", "month", "week", "business_days"]
CALENDAR_WINDOWS = {"this_quarter": "quarter", "this_month": "month", "this_week": "week"}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEARCH_DAYS = 3660  # ten years: a calendar validated to have a working day ends sooner
WEEKDAYS = BusinessHours("UTC", frozenset(range(5)), time(0), time(23, 59))


@dataclass(frozen=True, slots=True)
class CalendarWindow:
    """A window of the calendar `hours` (time zone, working days, holidays) of `team`."""

    kind: WindowKind
    days: int = 0  # for business_days: how many
    hours: BusinessHours = WEEKDAYS
    team: str | None = None

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.hours.zone).astimezone(UTC)

    def _open(self, day: date) -> bool:
        return day.weekday() in self.hours.days and day not in self.hours.holidays

    def _first_of(self, day: date) -> date:
        if self.kind == "quarter":
            return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        if self.kind == "month":
            return day.replace(day=1)
        return day - timedelta(days=day.weekday())  # week: from Monday

    def start(self, t: datetime) -> datetime:
        """The first moment of the window that ends at `t`."""
        day = t.astimezone(self.hours.zone).date()
        if self.kind != "business_days":
            return self._midnight(self._first_of(day))
        found = 0
        for _ in range(_SEARCH_DAYS):
            if self._open(day):
                found += 1
                if found == self.days:
                    return self._midnight(day)
            day -= timedelta(days=1)
        return self._midnight(day)

    def end_after(self, at: datetime) -> datetime:
        """The first moment whose window starts after `at`."""
        day = at.astimezone(self.hours.zone).date()
        if self.kind == "quarter":
            first = self._first_of(day)
            month = first.month + 3
            return self._midnight(date(first.year + (month > 12), (month - 1) % 12 + 1, 1))
        if self.kind == "month":
            first = self._first_of(day)
            return self._midnight(date(first.year + (first.month == 12),
                                       first.month % 12 + 1, 1))
        if self.kind == "week":
            return self._midnight(self._first_of(day) + timedelta(days=7))
        found = 0
        for _ in range(_SEARCH_DAYS):
            day += timedelta(days=1)
            if self._open(day):
                found += 1
                if found == self.days:
                    return self._midnight(day)
        return self._midnight(day)

    def __str__(self) -> str:
        if self.kind != "business_days":
            return f"this {self.kind} ({self.team or self.hours.time_zone})"
        days = sorted(self.hours.days)
        span = f"{_DAYS[days[0]]}-{_DAYS[days[-1]]}" if days == list(
            range(days[0], days[-1] + 1)) else ",".join(_DAYS[d] for d in days)
        where = self.team or f"{self.hours.time_zone}, {span}"
        return f"the last {self.days} business days ({where})"
