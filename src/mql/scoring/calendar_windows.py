"""Activity leaves over calendar windows (`mql.model.windows`) read from the same state as
day windows: the `min_count` latest event times of the leaf's tracker.

>>> from datetime import datetime, timezone
>>> from mql.model.conditions import Activity
>>> from mql.model.windows import CalendarWindow
>>> from mql.scoring.decay import RecentTimes
>>> from mql.scoring.intent import IntentState
>>> leaf = Activity(("page_view",), 1, 0.0, calendar=CalendarWindow("quarter"))
>>> seen = datetime(2026, 3, 31, 23, tzinfo=timezone.utc)
>>> state = IntentState({"k": RecentTimes((seen,), 1)}, seen)
>>> activity_holds(state, "k", leaf, seen), activity_expiry(state, "k", leaf).isoformat()
(True, '2026-04-01T00:00:00+00:00')
>>> activity_holds(state, "k", leaf, datetime(2026, 4, 1, tzinfo=timezone.utc))
False
"""

from __future__ import annotations

from datetime import datetime

from mql.model.conditions import Activity
from mql.scoring.decay import RecentTimes
from mql.scoring.intent import IntentState


def activity_holds(state: IntentState, key: str, leaf: Activity, at: datetime) -> bool:
    """Whether `leaf` (tracked under `key`) holds at `at`."""
    if leaf.calendar is None:
        return state.holds(key, at, leaf.within_days)
    tracked = state.values.get(key)
    return (isinstance(tracked, RecentTimes) and len(tracked.times) == tracked.keep
            and tracked.times[0] >= leaf.calendar.start(at))


def activity_expiry(state: IntentState, key: str, leaf: Activity) -> datetime | None:
    """When `leaf` stops holding with no new events (None: it does not hold)."""
    if leaf.calendar is None:
        return state.expiry(key, leaf.within_days)
    tracked = state.values.get(key)
    if not isinstance(tracked, RecentTimes) or len(tracked.times) < tracked.keep:
        return None
    return leaf.calendar.end_after(tracked.times[0])
