"""Curves of mixed half-lives and windows of recent times read on their own, each moment
worked out by hand (docs/model.md, "Decay" and `exit`: the first microsecond under a
line, every moment the truth of `score >= line` changes)."""

from __future__ import annotations

import math
from datetime import timedelta

from mql.scoring.decay import MixedCurve, Part, RecentTimes, Term
from tests.conftest import T0

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
