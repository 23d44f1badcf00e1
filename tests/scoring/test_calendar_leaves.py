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


def test_a_leaf_short_of_its_count_this_quarter_does_not_hold_and_has_no_expiry() -> None:
    # min_count 2 with one event in the quarter: the leaf does not hold, so there is no
    # moment at which it stops holding (the expiry is None, not the end of the quarter)
    leaf = Activity(("page_view",), 2, 0.0, calendar=CalendarWindow("quarter"))
    seen = datetime(2026, 5, 10, 9, tzinfo=UTC)
    state = IntentState({"k": RecentTimes((seen,), 2)}, seen)
    assert not activity_holds(state, "k", leaf, seen)
    assert activity_expiry(state, "k", leaf) is None
    # a second event in the quarter: it holds until the next quarter's first midnight
    later = datetime(2026, 6, 1, tzinfo=UTC)
    both = IntentState({"k": RecentTimes((seen, later), 2)}, later)
    assert activity_holds(both, "k", leaf, later)
    assert activity_expiry(both, "k", leaf) == datetime(2026, 7, 1, tzinfo=UTC)


def test_a_leaf_with_no_events_at_all_does_not_hold_and_has_no_expiry() -> None:
    leaf = Activity(("page_view",), 1, 0.0, calendar=CalendarWindow("month"))
    empty = IntentState.empty()
    assert not activity_holds(empty, "k", leaf, datetime(2026, 5, 10, tzinfo=UTC))
    assert activity_expiry(empty, "k", leaf) is None
