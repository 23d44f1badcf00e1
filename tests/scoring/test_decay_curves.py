"""Curves of mixed half-lives and windows of recent times read on their own, each moment
worked out by hand (docs/model.md, "Decay" and `exit`: the first microsecond under a
line, every moment the truth of `score >= line` changes)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from mql.model.parse import parse_model
from mql.model.spec import Decay
from mql.scoring.decay import Curve, MixedCurve, Part, RecentTimes, Term
from mql.scoring.intent import IntentState, Program, intent_part
from mql.scoring.scorer import score
from tests.conftest import T0, contact, event

DAY = 86400.0
US = timedelta(microseconds=1)


def test_a_window_of_recent_times_expires_only_while_it_holds() -> None:
    week = timedelta(days=7)
    assert RecentTimes((T0,), 2).expires_at(week) is None  # one event of the two needed
    both = RecentTimes((T0, T0 + timedelta(days=1)), 2)
    assert both.expires_at(week) == T0 + week  # the older of the two leaves first


def test_a_curve_on_its_line_now_is_under_it_a_microsecond_later() -> None:
    # 20 (half-life 10 days) + 10 (half-life 5 days) = 30 at now, falling at once
    curve = MixedCurve(T0, 0.0, (Part(1.0, (Term(((20.0, None),), None, 10 * DAY),
                                            Term(((10.0, None),), None, 5 * DAY))),))
    assert curve.value(T0) == 30.0
    assert curve.first_below(30.0) == T0 + US
    assert curve.crossings(30.0) == [T0 + US]


def test_a_window_that_ends_onto_the_line_is_no_crossing() -> None:
    # 10 for good (no decay) + 5 until day 3: 15, then exactly 10
    curve = MixedCurve(T0, 0.0, (Part(1.0, (Term(((10.0, None),), None, math.inf),),
                                      steps=((5.0, T0 + timedelta(days=3)),)),))
    assert curve.crossings(10.0) == []  # 10 >= 10 after day 3 too
    assert curve.crossings(10.5) == [T0 + timedelta(days=3)]
    assert curve.first_below(10.0) is None


def test_after_a_crossing_a_later_window_end_on_the_same_side_is_none() -> None:
    # 40 * 2^(-d/10) + 5 until day 30: under 25 at day 10; at day 30 (5 -> 0 points) it
    # is already under: one crossing
    curve = MixedCurve(T0, 0.0, (Part(1.0, (Term(((40.0, None),), None, 10 * DAY),),
                                      steps=((5.0, T0 + timedelta(days=30)),)),))
    (flip,) = curve.crossings(25.0)
    assert abs((flip - (T0 + timedelta(days=10))).total_seconds()) < 1e-3


def test_after_a_jump_over_the_line_a_later_window_end_above_it_is_none() -> None:
    # 40 for good, -20 until day 1, +5 until day 5: 25, then 45 from day 1, 40 from day 5
    curve = MixedCurve(T0, 0.0, (Part(1.0, (Term(((40.0, None),), None, math.inf),),
                                      steps=((-20.0, T0 + timedelta(days=1)),
                                             (5.0, T0 + timedelta(days=5)))),))
    assert curve.crossings(30.0) == [T0 + timedelta(days=1)]


def test_every_crossing_is_listed_not_only_the_first() -> None:
    # 40 for good, -20 until day 1, +5 until day 5: 25, 45 from day 1, 40 from day 5;
    # over 42 from day 1 to day 5
    curve = MixedCurve(T0, 0.0, (Part(1.0, (Term(((40.0, None),), None, math.inf),),
                                      steps=((-20.0, T0 + timedelta(days=1)),
                                             (5.0, T0 + timedelta(days=5)))),))
    assert curve.crossings(42.0) == [T0 + timedelta(days=1), T0 + timedelta(days=5)]
    assert curve.crossings(42.0, first=True) == [T0 + timedelta(days=1)]
    assert curve.first_below(42.0) == T0  # 25 now


def test_a_term_held_at_a_cap_decays_from_the_moment_it_drops_under_it() -> None:
    # min(1, 5 * 2^(-d)) (half-life 1 day): 1 until day log2(5), under 0.5 from day log2(10)
    curve = Curve(T0, Decay(1), 0.0, ((5.0, 1.0),), ())
    below = curve.first_below(0.5)
    assert below is not None
    assert (below - T0).total_seconds() / DAY == pytest.approx(math.log2(10), abs=1e-9)
    # a cap of 0 holds the term at 0 for good: 10 stays 10
    assert Curve(T0, Decay(1), 10.0, ((5.0, 0.0),), ()).crossings(5.0) == []


SESSIONS = parse_model("""
name: sessions
decay: {half_life_days: 10}
fit: {rules: []}
intent:
  rules:
    - {name: clicks, event: email_click, points: 4, once_per: session}
mql: {thresholds: {intent: 100}}
""")


@pytest.mark.parametrize(("minutes", "value"), [
    (29, 4 * 2 ** (-29 / (10 * 1440))),  # one session: the first click counts
    (30, 4 + 4 * 2 ** (-30 / (10 * 1440))),  # 30 minutes apart: a second session
])
def test_a_session_is_a_run_of_events_less_than_30_minutes_apart(minutes: int,
                                                                 value: float) -> None:
    clicks = [event("email_click", minutes / 1440), event("email_click", 0)]
    d = score(SESSIONS, [contact()], [], clicks, at=T0)[0]
    assert d.intent == pytest.approx(value, rel=1e-12)


LIFESPAN = parse_model("""
name: lifespan
decay: {half_life_days: 10}
fit: {rules: []}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40, expires_after_days: 5, once_per: day}
mql: {thresholds: {intent: 20}}
""")


def test_the_curve_of_a_lifespan_ends_each_event_at_its_age() -> None:
    # 40 * 2^(-d/10) is still 28.3 on day 5, when the demo's lifespan ends it: the curve
    # itself (closed form, no state) drops under 20 on day 5, not on day 10
    program = Program(LIFESPAN)
    mine = IntentState.empty().add(event("demo_request", 0), program)
    curve = MixedCurve(T0, 0.0, (intent_part(LIFESPAN.intent, mine, IntentState.empty(), T0),))
    assert curve.value(T0) == 40.0
    assert curve.first_below(20.0) == T0 + timedelta(days=5)


@pytest.mark.parametrize("shift", [5.0, -5.0, 0.25, -0.25])
def test_a_crossing_is_settled_where_the_exact_score_crosses(shift: float) -> None:
    # `exact` is how the caller computes the score: here the closed form 5 s (or 250 ms)
    # later or earlier; the crossing is the first microsecond the exact score is under
    # 20, 10 days (one half-life) + shift after now
    lag = timedelta(seconds=shift)

    def exact(t: datetime) -> float:
        return float(40.0 * 2.0 ** (-((t - lag) - T0).total_seconds() / (10 * DAY)))

    curve = Curve(T0, Decay(10), 0.0, ((40.0, None),), (), exact=exact)
    below = curve.first_below(20.0)
    assert below is not None
    assert exact(below) < 20.0 <= exact(below - US)
    assert abs((below - (T0 + timedelta(days=10) + lag)).total_seconds()) < 1e-5
