"""Calendar windows in the model file: what they mean at their edges and how mistakes are
reported."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from mql.errors import ModelError
from mql.model.handoff import BusinessHours
from mql.model.parse import parse_model
from mql.model.windows import CalendarWindow

BASE = """\
name: cal
fit: {rules: []}
intent: {rules: []}
mql:
  criteria:
    - name: c
      when: WHEN
routing:
  teams:
    na: {time_zone: America/New_York, holidays: ["2026-11-26"], members: [{name: dana}]}
  fallback: na
"""


def _problems(when: str) -> str:
    with pytest.raises(ModelError) as caught:
        parse_model(BASE.replace("WHEN", when), source="cal.yaml")
    return str(caught.value)


def test_mistakes_are_located_and_name_the_choices() -> None:
    assert "cal.yaml:7:43 mql.criteria[0].when.within: expected this_quarter, this_month, " \
        'this_week, got "last_quarter"' in _problems(
            "{activity: page_view, within: last_quarter}")
    assert 'cal.yaml:7:70 mql.criteria[0].when.calendar: unknown team "emea"; teams are na' \
        in _problems("{activity: page_view, within_business_days: 5, calendar: emea}")
    assert "mql.criteria[0].when.within: give one of within_days, within" in _problems(
        "{activity: page_view, within_days: 3, within: this_week}")
    assert "within_business_days: expected a whole number of days from 1 to 366, got 0" in \
        _problems("{activity: page_view, within_business_days: 0}")


def test_a_team_calendar_skips_weekends_and_its_holidays_in_its_time_zone() -> None:
    model = parse_model(BASE.replace(
        "WHEN", "{activity: page_view, within_business_days: 2, calendar: na}"), source="c")
    (leaf,) = [model.mql.criteria[0].when]
    window = leaf.calendar  # type: ignore[union-attr]
    assert str(window) == "the last 2 business days (na)"
    # Friday 27 Nov 2026 15:00 UTC (10:00 in New York); Thursday 26 is Thanksgiving: the
    # 2 business days are Fri 27 and Wed 25, from Wed 00:00 New York = 05:00 UTC
    at = datetime(2026, 11, 27, 15, tzinfo=UTC)
    assert window.start(at) == datetime(2026, 11, 25, 5, tzinfo=UTC)  # type: ignore[union-attr]
    # an event on Wed 25 leaves the window when the window starts on Fri 27: Mon 30 (Fri
    # 27 and Mon 30 are the two business days then), 00:00 New York
    assert window.end_after(datetime(2026, 11, 25, 12, tzinfo=UTC)) == datetime(  # type: ignore[union-attr]
        2026, 11, 30, 5, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "at", "start", "end"), [
    ("quarter", "2026-12-31T23:59:59", "2026-10-01", "2027-01-01"),
    ("month", "2026-02-28T12:00:00", "2026-02-01", "2026-03-01"),
    ("week", "2026-03-08T23:00:00", "2026-03-02", "2026-03-09"),  # Sunday: week from Monday
])
def test_this_quarter_month_and_week_start_at_midnight(kind: str, at: str, start: str,
                                                      end: str) -> None:
    window = CalendarWindow(kind, 0, BusinessHours("UTC", frozenset(range(5)), time(0),
                                                   time(23)))  # type: ignore[arg-type]
    t = datetime.fromisoformat(at).replace(tzinfo=UTC)
    assert window.start(t).date() == date.fromisoformat(start)
    assert window.end_after(t).date() == date.fromisoformat(end)


LA = BusinessHours("America/Los_Angeles", frozenset(range(5)), time(9), time(17))


@pytest.mark.parametrize(("kind", "at", "start", "end"), [
    # 05:00 UTC on 1 April is 22:00 on 31 March in Los Angeles (UTC-7): still Q1 there
    ("quarter", "2026-04-01T05:00", "2026-01-01T08:00", "2026-04-01T07:00"),
    ("quarter", "2026-04-01T08:00", "2026-04-01T07:00", "2026-07-01T07:00"),
    ("quarter", "2026-11-15T12:00", "2026-10-01T07:00", "2027-01-01T08:00"),
    ("month", "2026-12-01T06:00", "2026-11-01T07:00", "2026-12-01T08:00"),
    ("month", "2026-12-10T12:00", "2026-12-01T08:00", "2027-01-01T08:00"),
    ("month", "2026-07-31T12:00", "2026-07-01T07:00", "2026-08-01T07:00"),
    # Monday 9 March 2026 06:00 UTC is Sunday 23:00 in Los Angeles (DST began 8 March)
    ("week", "2026-03-09T06:00", "2026-03-02T08:00", "2026-03-09T07:00"),
])
def test_calendar_windows_follow_the_team_time_zone(kind: str, at: str, start: str,
                                                    end: str) -> None:
    window = CalendarWindow(kind, 0, LA, "west")  # type: ignore[arg-type]
    t = datetime.fromisoformat(at).replace(tzinfo=UTC)
    assert window.start(t) == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert window.end_after(t) == datetime.fromisoformat(end).replace(tzinfo=UTC)
    assert str(window) == f"this {kind} (west)"


def test_the_business_days_of_a_window_read_as_a_range_or_a_list() -> None:
    def hours(days: set[int]) -> BusinessHours:
        return BusinessHours("Europe/Berlin", frozenset(days), time(9), time(17))

    assert str(CalendarWindow("business_days", 3, hours({1, 2, 3, 4, 5}))) == (
        "the last 3 business days (Europe/Berlin, tue-sat)")
    assert str(CalendarWindow("business_days", 2, hours({0, 2, 4}))) == (
        "the last 2 business days (Europe/Berlin, mon,wed,fri)")
    assert str(CalendarWindow("month", 0, hours({0}))) == "this month (Europe/Berlin)"
