"""Activity leaves over calendar windows: an event at the very first moment of the quarter
is in it (the window is [start of the quarter, at])."""

from __future__ import annotations

from datetime import UTC, datetime

from mql.model.conditions import Activity
from mql.model.windows import CalendarWindow
from mql.scoring.calendar_windows import activity_expiry, activity_holds
from mql.scoring.decay import RecentTimes
from mql.scoring.intent import IntentState


def test_an_event_at_the_first_moment_of_the_quarter_counts_in_it() -> None:
    leaf = Activity(("page_view",), 1, 0.0, calendar=CalendarWindow("quarter"))
    first = datetime(2026, 4, 1, tzinfo=UTC)
    state = IntentState({"k": RecentTimes((first,), 1)}, first)
    assert activity_holds(state, "k", leaf, first)
    assert activity_holds(state, "k", leaf, datetime(2026, 6, 30, 23, 59, tzinfo=UTC))
    assert not activity_holds(state, "k", leaf, datetime(2026, 7, 1, tzinfo=UTC))
    assert activity_expiry(state, "k", leaf) == datetime(2026, 7, 1, tzinfo=UTC)
