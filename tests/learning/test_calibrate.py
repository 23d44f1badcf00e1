"""The calibration curve and its recommendation, worked out by hand on eight outreaches."""

from __future__ import annotations

import itertools
import math
import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from mql.learning.calibrate import (
    Block,
    Daily,
    Moment,
    Team,
    calibrate,
    candidates,
    change_point,
    crossings,
    curve,
    isotonic,
)

# scores at the moment of outreach and whether an SQL followed: 5 of 8 converted
EIGHT = [Moment(c, s, y) for c, s, y in [("a", 10, 0), ("b", 20, 0), ("c", 30, 1),
                                         ("d", 40, 0), ("e", 50, 1), ("f", 60, 1),
                                         ("g", 70, 1), ("h", 80, 1)]]
T = [20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0]


def test_the_candidates_step_from_just_above_the_lowest_score() -> None:
    assert candidates([m.score for m in EIGHT], step=10) == T


def test_conversion_above_and_below_each_threshold() -> None:
    points = {p.threshold: p for p in curve(EIGHT, [], T, weeks=1.0)}
    # at 40: below are 10, 20, 30 (one SQL), at or above 40..80 (four of five)
    p = points[40.0]
    assert (p.below, p.converted_below, p.above, p.converted_above) == (3, 1, 5, 4)
    assert p.rate_above == 0.8 and math.isclose(p.rate_below or 0, 1 / 3)
    assert math.isclose(p.lift or 0, 2.4)
    assert points[30.0].rate_below == 0.0 and points[30.0].lift is None


def test_the_change_point_is_where_a_two_rate_split_explains_the_outcomes_best() -> None:
    # log-likelihood gains over one rate of 5/8, by hand:
    # 20: 1.105, 30: 2.589, 40: 0.881, 50: 3.043, 60: 1.927, 70: 1.134, 80: 0.512
    assert change_point(EIGHT, T, min_share=0.05) == 50.0
    # with at least 3 of 8 on each side, 30 (two below) and 60.. (three above, allowed)
    assert change_point(EIGHT, T, min_share=0.375) == 50.0
    assert change_point(EIGHT, T, min_share=0.5) == 50.0
    # never a threshold where conversion falls
    falling = [Moment(m.contact, -m.score, m.converted) for m in EIGHT]
    assert change_point(falling, [-t for t in T]) is None


def test_the_isotonic_fit_pools_adjacent_violators() -> None:
    # 0 0 | 1 0 -> 0.5 | 1 1 1 1
    assert isotonic(EIGHT) == [Block(10, 20, 2, 0.0), Block(30, 40, 2, 0.5),
                               Block(50, 80, 4, 1.0)]
    points = {p.threshold: p for p in curve(EIGHT, [], T, weeks=1.0)}
    assert (points[30.0].fitted, points[40.0].fitted, points[50.0].fitted) == (0.5, 0.5, 1.0)


def test_mqls_per_week_count_the_rises_to_each_threshold() -> None:
    # 0 -> 25 -> 55 -> 45 -> 65: crosses 20; then 30, 40, 50; falls; then 50, 60 again
    d = Daily("x@a.example", date(2026, 1, 1), (0.0, 25.0, 55.0, 45.0, 65.0), "emea")
    total, teams = crossings([d], T)
    assert total == [1, 1, 1, 2, 1, 0, 0]
    assert teams == {"emea": total}
    # only the days from Jan 4: the rise 45 -> 65 on Jan 5
    assert crossings([d], T, since=date(2026, 1, 4))[0] == [0, 0, 0, 1, 1, 0, 0]


def test_load_per_seller_against_capacity() -> None:
    d = Daily("x@a.example", date(2026, 1, 1), (0.0, 25.0, 55.0, 45.0, 65.0), "emea")
    teams = {"emea": Team("emea", sellers=2, capacity=2)}
    at_50 = curve(EIGHT, [d], [50.0], weeks=1.0, teams=teams)[0].loads[0]
    assert (at_50.mqls_per_week, at_50.per_seller_per_week, at_50.capacity_per_seller,
            at_50.over_capacity) == (2.0, 1.0, 1.0, False)
    # the same two MQLs in half a week: two new leads a seller a week, over one open lead
    assert curve(EIGHT, [d], [50.0], weeks=0.5, teams=teams)[0].loads[0].over_capacity


def test_the_recommendation_with_its_health_verdict() -> None:
    result = calibrate(EIGHT, [], weeks=1.0, step=10)
    assert result.recommended == 50.0
    assert result.chosen is not None and result.chosen.rate_above == 1.0
    # every MQL at or above 50 became an SQL: far above the 13-27% band
    assert result.health is not None and result.health.position == "too_strict"
    assert any("only 5 conversions: the recommendation is a guess" in n for n in result.notes)


def test_no_recommendation_when_the_score_does_not_predict() -> None:
    flat = [Moment(str(i), float(i), 1.0 if i % 2 else 0.0) for i in range(40)]
    result = calibrate(flat, [], weeks=1.0, step=1, min_share=0.25)
    # alternating outcomes: conversion rises only by noise; whatever is chosen, it is
    # never a threshold where conversion falls
    if result.chosen is not None:
        assert (result.chosen.rate_above or 0) > (result.chosen.rate_below or 0)
    assert calibrate([], [], weeks=1.0).recommended is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100), st.booleans()), min_size=1, max_size=40))
def test_the_isotonic_rate_never_falls_and_keeps_the_conversions(pairs) -> None:  # type: ignore[no-untyped-def]
    moments = [Moment(str(i), float(s), 1.0 if y else 0.0) for i, (s, y) in enumerate(pairs)]
    blocks = isotonic(moments)
    assert all(a.rate < b.rate for a, b in itertools.pairwise(blocks))
    assert sum(b.n for b in blocks) == len(moments)
    assert math.isclose(sum(b.rate * b.n for b in blocks), sum(m.converted for m in moments),
                        abs_tol=1e-9)


def test_the_interval_of_a_clear_step_is_the_step() -> None:
    # 100 outreaches under 50 that never convert, 100 from 50 up that always do: however
    # they are drawn again, the change point stays at 50
    clear = [Moment(f"l{i}", 40.0, 0.0) for i in range(100)] + [
        Moment(f"h{i}", 60.0, 1.0) for i in range(100)]
    result = calibrate(clear, [], weeks=1.0, step=10, rng=random.Random(1))
    assert result.recommended == 50.0
    assert result.interval == (50.0, 50.0)
    # the eight above: the interval holds the recommendation, and no interval without rng
    eight = calibrate(EIGHT, [], weeks=1.0, step=10, rng=random.Random(1))
    assert eight.interval is not None and eight.interval[0] <= 50.0 <= eight.interval[1]
    assert calibrate(EIGHT, [], weeks=1.0, step=10).interval is None
