"""Decay math: O(1) updates are exact, in any order, and crossings are when they say."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.spec import QUARTER_DAYS, Decay
from mql.scoring.decay import Curve, DecayedSum, RecentTimes, clamp
from tests.conftest import T0

points = st.floats(min_value=-100, max_value=100, allow_nan=False).filter(lambda p: p != 0)
ages = st.floats(min_value=0, max_value=400, allow_nan=False)
half_lives = st.floats(min_value=0.5, max_value=365, allow_nan=False)
events = st.lists(st.tuples(points, ages), min_size=1, max_size=40)
MICRO = timedelta(microseconds=1)
# points and lines a model can state: a denormal line such as 5e-324 cannot be resolved to
# the microsecond in floating point
sizable = st.floats(min_value=-100, max_value=100).filter(lambda p: abs(p) >= 0.01)
lines = st.floats(min_value=-50, max_value=120).filter(lambda x: abs(x) >= 0.01)
sizable_terms = st.lists(
    st.tuples(sizable, st.one_of(st.none(), st.floats(min_value=1, max_value=80))),
    min_size=1, max_size=6,
)


def naive(evts: list[tuple[float, float]], decay: Decay, now_days: float) -> float:
    return sum(p * decay.factor((now_days - age_day) * 86400) for p, age_day in evts)


@given(events, half_lives, st.randoms(use_true_random=False))
def test_any_order_of_events_gives_the_same_sum(evts, h, rnd) -> None:
    decay = Decay(h)
    shuffled = list(evts)
    rnd.shuffle(shuffled)
    now = T0 + timedelta(days=500)

    def fold(items: list[tuple[float, float]]) -> float:
        state: DecayedSum | None = None
        for p, day in items:
            at = T0 + timedelta(days=day)
            state = DecayedSum.start(p, at) if state is None else state.add(p, at, decay)
        assert state is not None
        return state.value_at(now, decay)

    expected = naive(evts, decay, 500)
    assert fold(evts) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert fold(shuffled) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@given(points, half_lives)
def test_a_score_halves_after_one_half_life_without_events(p, h) -> None:
    decay = Decay(h)
    s = DecayedSum.start(p, T0)
    assert s.value_at(T0 + timedelta(days=h), decay) == pytest.approx(p / 2, rel=1e-9)


@given(points, ages, ages, half_lives)
def test_decay_never_increases_a_positive_sum(p, a, b, h) -> None:
    decay = Decay(h)
    s = DecayedSum.start(abs(p), T0)
    early, late = sorted((a, b))
    assert s.value_at(T0 + timedelta(days=late), decay) <= s.value_at(
        T0 + timedelta(days=early), decay)


@given(events, events, events, half_lives)
def test_merge_is_associative_and_equals_one_history(a, b, c, h) -> None:
    decay = Decay(h)

    def fold(items: list[tuple[float, float]]) -> DecayedSum:
        s = DecayedSum.start(0.0, T0)
        for p, day in items:
            s = s.add(p, T0 + timedelta(days=day), decay)
        return s

    now = T0 + timedelta(days=450)
    left = fold(a).merge(fold(b), decay).merge(fold(c), decay)
    right = fold(a).merge(fold(b).merge(fold(c), decay), decay)
    whole = fold(a + b + c)
    for s in (left, right):
        assert s.value_at(now, decay) == pytest.approx(whole.value_at(now, decay),
                                                       rel=1e-9, abs=1e-9)


@given(st.floats(min_value=0.001, max_value=0.999))
def test_loss_per_quarter_loses_exactly_that_share_in_a_quarter(loss) -> None:
    decay = Decay.from_loss_per_quarter(loss)
    left = decay.factor(QUARTER_DAYS * 86400)
    assert left == pytest.approx(1 - loss, rel=1e-12)


def test_reading_before_the_last_event_is_refused() -> None:
    s = DecayedSum.start(5.0, T0)
    with pytest.raises(ValueError, match="earlier time"):
        s.value_at(T0 - timedelta(seconds=1), Decay(30))


@given(st.lists(ages, min_size=1, max_size=30), st.integers(1, 5),
       st.floats(min_value=1, max_value=90))
def test_recent_times_know_whether_the_window_holds(days, keep, window) -> None:
    state = None
    for day in days:
        at = T0 + timedelta(days=day)
        state = RecentTimes.start(at, keep) if state is None else state.add(at)
    assert state is not None
    now = T0 + timedelta(days=max(days) + 1)
    in_window = [d for d in days if (now - (T0 + timedelta(days=d))) < timedelta(days=window)]
    assert state.holds_at(now, timedelta(days=window)) == (len(in_window) >= keep)


terms = st.lists(
    st.tuples(points, st.one_of(st.none(), st.floats(min_value=1, max_value=80))),
    min_size=1, max_size=6,
)


@settings(max_examples=300)
@given(sizable_terms, half_lives, lines)
def test_the_crossing_time_is_when_the_score_crosses(ts, h, threshold) -> None:
    curve = Curve(T0, Decay(h), 0.0, tuple(ts), ())
    if curve.value(T0) < threshold:
        assert curve.first_below(threshold) == T0
        return
    crossing = curve.first_below(threshold)
    if crossing is None:
        # never: the score stays at or above the line forever (it tends to 0 from above)
        far = T0 + timedelta(days=h * 200)
        assert curve.value(far) >= threshold - 1e-6
        assert threshold <= 1e-6
        return
    # the first microsecond under the line: under it, and at or over it one microsecond before
    assert curve.value(crossing) < threshold
    assert curve.value(crossing - timedelta(microseconds=1)) >= threshold
    assert curve.value(crossing) == pytest.approx(threshold, abs=1e-6)


@settings(max_examples=200)
@given(terms, half_lives, st.floats(min_value=-50, max_value=120),
       st.lists(st.tuples(st.floats(min_value=-20, max_value=20),
                          st.floats(min_value=0.1, max_value=60)), max_size=3))
def test_every_flip_is_the_first_microsecond_on_the_new_side(ts, h, threshold, windows) -> None:
    steps = tuple((p, T0 + timedelta(days=d)) for p, d in windows)
    curve = Curve(T0, Decay(h), 0.0, tuple(ts), steps)
    above = curve.value(T0) >= threshold
    for flip in curve.crossings(threshold):
        above = not above
        assert (curve.value(flip) >= threshold) == above
        assert (curve.value(flip - timedelta(microseconds=1)) >= threshold) != above


def test_a_crossing_is_settled_by_the_callers_own_arithmetic() -> None:
    # 20 points, half-life 10 days, line 10: the closed form says day 10 exactly. A caller
    # whose own arithmetic reads the score 1e-12 higher crosses a few microseconds later,
    # and the answer is the first microsecond under the line *as the caller computes it*.
    def own(t):
        return 20.0 * Decay(10).factor((t - T0).total_seconds()) + 1e-12

    curve = Curve(T0, Decay(10), 0.0, ((20.0, None),), (), exact=own)
    crossing = curve.first_below(10.0)
    assert crossing is not None
    assert own(crossing) < 10.0 <= own(crossing - timedelta(microseconds=1))
    assert abs((crossing - T0) - timedelta(days=10)) < timedelta(milliseconds=1)


@settings(max_examples=300)
@given(sizable_terms, half_lives, lines,
       st.lists(st.tuples(st.floats(min_value=-20, max_value=20),
                          st.floats(min_value=0.1, max_value=60)), max_size=3))
def test_every_crossing_is_the_first_microsecond_on_the_new_side(ts, h, threshold,
                                                                 windows) -> None:
    steps = tuple((p, T0 + timedelta(days=d)) for p, d in windows)
    curve = Curve(T0, Decay(h), 0.0, tuple(ts), steps)
    for flip in curve.crossings(threshold):
        assert flip > T0
        after, before = curve.value(flip) >= threshold, curve.value(flip - MICRO) >= threshold
        assert after != before, (flip, curve.value(flip), curve.value(flip - MICRO))


def test_a_closing_window_drops_the_score_at_that_moment() -> None:
    until = T0 + timedelta(days=10)
    curve = Curve(T0, Decay(None), 5.0, (), ((10.0, until),))
    assert curve.first_below(12.0) == until
    assert curve.value(until) == 5.0
    assert curve.value(until - timedelta(microseconds=1)) == 15.0


def test_caps_hold_for_positive_and_negative_rules() -> None:
    assert clamp(45.0, 30.0) == 30.0
    assert clamp(-45.0, 30.0) == -30.0
    assert clamp(12.0, 30.0) == 12.0


def test_capped_curve_crosses_exactly_after_the_cap_stops_binding() -> None:
    # 60 points capped at 30, half-life 10 days: at 30 for 10 days, then 15 at day 20
    curve = Curve(T0, Decay(10), 0.0, ((60.0, 30.0),), ())
    crossing = curve.first_below(15.0)
    assert crossing is not None
    assert (crossing - T0).total_seconds() == pytest.approx(20 * 86400, abs=1e-3)
    assert math.isclose(curve.value(T0 + timedelta(days=5)), 30.0)


@settings(max_examples=300)
@given(terms, half_lives, st.floats(min_value=-50, max_value=120),
       st.lists(st.tuples(st.floats(min_value=-20, max_value=20),
                          st.floats(min_value=0.1, max_value=60)), max_size=3))
def test_between_two_crossings_the_score_stays_on_one_side(ts, h, threshold, windows) -> None:
    steps = tuple((p, T0 + timedelta(days=d)) for p, d in windows)
    curve = Curve(T0, Decay(h), 0.0, tuple(ts), steps)
    flips = curve.crossings(threshold)
    assert flips == sorted(flips)
    bounds = [T0, *flips, T0 + timedelta(days=max(h, 60) * 100)]
    side = curve.value(T0) >= threshold
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        if (b - a) < timedelta(seconds=2):
            side = not side if i < len(flips) else side
            continue
        for frac in (0.25, 0.5, 0.75):
            t = a + (b - a) * frac
            value = curve.value(t)
            if abs(value - threshold) > 1e-6:
                assert (value >= threshold) == side, (i, t, value)
        side = not side


def test_a_score_exactly_on_the_line_is_not_yet_below_it() -> None:
    # 1 point, half-life 1 day: exactly 0.5 at T0 + 1 day, under 0.5 a microsecond later
    curve = Curve(T0, Decay(1), 0.0, ((1.0, None),), ())
    assert curve.value(T0 + timedelta(days=1)) == 0.5
    assert curve.first_below(0.5) == T0 + timedelta(days=1) + MICRO
    # a score starting on the line leaves it at the first microsecond, not at `now`
    assert Curve(T0, Decay(1), 0.0, ((10.0, None),), ()).first_below(10.0) == T0 + MICRO


def test_a_mixed_curve_is_base_plus_each_weighted_bounded_score() -> None:
    from mql.scoring.decay import MixedCurve, Part, Term

    day = 86400.0
    # 0.5 x min(50, 40 decaying by half in 10 days + 30 until day 3 + 10 until day 5)
    # + 2 x max(-5, clamp(-30, 10) = -10, not decaying) + 10
    first = Part(0.5, (Term(((40.0, None), (30.0, T0 + timedelta(days=3))), None, 10 * day),),
                 ((10.0, T0 + timedelta(days=5)),), max=50.0)
    second = Part(2.0, (Term(((-30.0, None),), 10.0, math.inf),), floor=-5.0)
    curve = MixedCurve(T0, 10.0, (first, second))
    # now: 40 + 30 + 10 = 80, limited to 50: 10 + 25 - 10
    assert curve.model_value(T0) == 25.0
    assert curve.value(T0) == 25.0  # no exact computation given: the closed form
    # day 3: the 30 has ended (a piece counts while t < until)
    assert curve.model_value(T0 + timedelta(days=3)) == pytest.approx(
        10 + 0.5 * (40 * 2 ** -0.3 + 10) - 10, rel=1e-12)
    # day 10: 40 halved, the step gone: 10 + 0.5 x 20 - 10
    assert curve.model_value(T0 + timedelta(days=10)) == pytest.approx(10.0, rel=1e-12)
    # without the floor the capped -10 counts in full
    unfloored = MixedCurve(T0, 10.0, (first, Part(2.0, second.terms)))
    assert unfloored.model_value(T0) == 15.0


def test_an_event_log_keeps_only_what_can_still_count() -> None:
    # the bound docs/model.md promises for the streaming state of such rules
    from mql.scoring.decay import EventLog, LogRule

    hour = timedelta(hours=1)
    none = Decay(None)
    # a lifespan of 10 days: at day 20 the events of days 0 and 5 are dead for good,
    # and one exactly 10 days old too
    life = LogRule(10.0, none, lifespan_s=10 * 86400)
    log = EventLog.start(T0)
    for days in (5, 10, 20):
        log = log.add(T0 + timedelta(days=days), life)
    assert log.runs == ((T0 + timedelta(days=20), T0 + timedelta(days=20)),)
    # each repeat worth half the one before: the first 40 count, later ones never do
    halves = LogRule(10.0, none, each_repeat=0.5)
    log = EventLog.start(T0)
    for n in range(1, 45):
        log = log.add(T0 + n * hour, halves)
    assert [first for first, _ in log.runs] == [T0 + n * hour for n in range(40)]
    # a lifespan with repeats: the first events decide the shares, so none is dropped
    # for its age (the 41st event still earns nothing)
    both = LogRule(10.0, none, lifespan_s=86400, each_repeat=0.5)
    log = EventLog.start(T0).add(T0 + timedelta(days=3), both)
    assert len(log.runs) == 2
    # once a day with a lifespan: one run per day, dead days are kept as they decide
    # nothing either way
    daily = LogRule(10.0, none, lifespan_s=86400, once_per="day")
    log = EventLog.start(T0).add(T0 + timedelta(days=3), daily)
    assert len(log.runs) == 2
    # sessions with repeats: a late event may join two sessions, so every one is kept
    sessions = LogRule(10.0, none, once_per="session", each_repeat=0.0)
    log = EventLog.start(T0)
    for n in range(1, 4):
        log = log.add(T0 + n * hour, sessions)
    assert len(log.runs) == 4
    assert log.counted(sessions) == [(T0, 1.0)]


def test_merged_session_logs_keep_each_session_to_its_last_event() -> None:
    from mql.scoring.decay import EventLog, LogRule

    minute = timedelta(minutes=1)
    sessions = LogRule(10.0, Decay(None), once_per="session")
    ours = EventLog.start(T0).add(T0 + 20 * minute, sessions)
    theirs = EventLog.start(T0 + 100 * minute).add(T0 + 120 * minute, sessions)
    merged = ours.merge(theirs, sessions)
    assert merged.runs == ((T0, T0 + 20 * minute), (T0 + 100 * minute, T0 + 120 * minute))
    # 25 minutes after the last event of the second session: the same session
    later = merged.add(T0 + 145 * minute, sessions)
    assert later.runs == ((T0, T0 + 20 * minute), (T0 + 100 * minute, T0 + 145 * minute))
    assert later.value_at(T0 + 145 * minute, sessions) == 20.0  # two sessions, 10 each


def test_a_mixed_curve_adds_every_term_of_a_part_and_ends_steps_at_their_moment() -> None:
    from mql.scoring.decay import MixedCurve, Part, Term

    day = 86400.0
    # two terms in one part: 40 halving every 10 days, 8 not decaying; a step of 5 until day 2
    part = Part(1.0, (Term(((40.0, None),), None, 10 * day), Term(((8.0, None),), 100.0,
                                                                    math.inf)),
                ((5.0, T0 + timedelta(days=2)),))
    curve = MixedCurve(T0, 0.0, (part,))
    assert curve.model_value(T0) == 53.0
    assert curve.model_value(T0 + timedelta(days=2)) == pytest.approx(40 * 2 ** -0.2 + 8,
                                                                      rel=1e-12)
    assert curve.model_value(T0 + timedelta(days=10)) == pytest.approx(28.0, rel=1e-12)
