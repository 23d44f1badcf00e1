"""The calibration's edges, each value worked out by hand from docs/learning.md
("Calibrate"): the round grid, the change point's conditions, the isotonic rate below
the lowest block, the crossings of the daily scores, the loads per seller, the bootstrap
interval by nearest rank, the last quarter and the notes under 40 and 100 conversions."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import date

from mql.learning.calibrate import (
    Block,
    Daily,
    Moment,
    Team,
    TeamLoad,
    bootstrap,
    calibrate,
    candidates,
    change_point,
    crossings,
    curve,
    fitted_at,
    isotonic,
    nice_step,
    split_gain,
    team_load,
)
from tests.learning.test_calibrate import EIGHT, T  # 5 of 8 converted, change point at 50

# 0 -> 25 (Jan 2) -> 55 (Jan 3) -> 45 (Jan 4) -> 65 (Jan 5): 50 crossed on Jan 3 and Jan 5
RISES = Daily("x@a.example", date(2026, 1, 1), (0.0, 25.0, 55.0, 45.0, 65.0), "emea")

GUESS = ("only 5 conversions: the recommendation is a guess; read the interval and the "
         "isotonic rate")
NOISY = ("only 40 conversions: the curve is noisy and a few outcomes move the "
         "recommendation (on the synthetic world it lands within 5% of the truth one time "
         "in three at 40 to 80); read the interval and the isotonic rate rather than "
         "single points")
NOTHING = "no outreach with an outcome in the period: nothing to calibrate on"
FLAT = ("conversion does not increase with the score anywhere: no threshold to recommend "
        "(the score does not predict this outcome)")


class Scripted(random.Random):
    """A random source whose draws are given: each resample of the bootstrap draws one
    index per outreach, so the resamples are written out by hand."""

    def __init__(self, draws: Iterable[int]) -> None:
        super().__init__(0)
        self._draws = iter(draws)

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        return next(self._draws)


# four outreaches for the bootstrap: A (1, no), B (2, yes), C (3, yes), D (2, no)
ABCD = [Moment("A", 1.0, 0.0), Moment("B", 2.0, 1.0), Moment("C", 3.0, 1.0),
        Moment("D", 2.0, 0.0)]
# resamples of ABCD by index: A B C C has its change point at 2 (0 of 1 below, 3 of 3 at
# or above: gain 2.249 against 0.863 at 3); A D C C at 3 (0 of 2 below, 2 of 2 above:
# 2.773 against 0.863 at 2); A A A A has none (nothing at or above 2)
AT_2, AT_3, NONE = (0, 1, 2, 2), (0, 3, 2, 2), (0, 0, 0, 0)


def _draws(*samples: tuple[int, ...]) -> Scripted:
    return Scripted(i for sample in samples for i in sample)


def test_a_round_step_of_one_two_or_five_times_a_power_of_ten() -> None:
    # about 50 lines: the span over 50, rounded up to 1, 2 or 5 times a power of ten
    assert nice_step(100, 200) == 2.0  # 100 / 50 = 2, from the span, not the top
    assert nice_step(0, 50) == 1.0  # exactly 1
    assert nice_step(0, 400) == 10.0  # 8 rounds up to 10
    assert nice_step(0, 5000) == 100.0  # exactly 100
    assert nice_step(0, 0.5) == 0.01  # a span under one point: a step under one point


def test_the_grid_stays_round_and_ends_at_the_highest_score() -> None:
    assert candidates([0.2, 1.0], step=0.5) == [0.5, 1.0]
    # far from zero a tenth is not exact in binary: the lines are still round numbers
    assert candidates([99_999.85, 100_000.0], step=0.1) == [99_999.9, 100_000.0]


def test_the_isotonic_rate_below_the_lowest_block_is_the_lowest_blocks() -> None:
    blocks = isotonic(EIGHT)
    assert blocks[0] == Block(10, 20, 2, 0.0)
    assert fitted_at(blocks, 5.0) == 0.0
    assert fitted_at(blocks, 35.0) == 0.5
    assert fitted_at([], 5.0) is None


def test_the_split_gain_by_hand() -> None:
    # at 40: 1 of 3 below, 4 of 5 above, 5 of 8 in all
    below = math.log(1 / 3) + 2 * math.log(2 / 3)
    above = 4 * math.log(0.8) + math.log(0.2)
    one = 5 * math.log(5 / 8) + 3 * math.log(3 / 8)
    assert math.isclose(split_gain(EIGHT, 40.0), below + above - one)
    assert round(split_gain(EIGHT, 40.0), 3) == 0.881
    # a side empty: no gain
    assert split_gain(EIGHT, 5.0) == 0.0


def test_a_low_rate_above_the_line_beats_none_below_it() -> None:
    none_below = [Moment(f"l{i}", 10.0, 0.0) for i in range(4)]
    one_above = [Moment(f"h{i}", 20.0, 1.0 if i == 0 else 0.0) for i in range(4)]
    assert change_point(none_below + one_above, [15.0]) == 15.0


def test_one_outreach_on_each_side_is_enough_when_the_share_allows_it() -> None:
    # 5% of 2 outreaches rounds up to one on each side
    assert change_point([Moment("a", 1.0, 0.0), Moment("b", 2.0, 1.0)], [2.0]) == 2.0


def test_equal_rates_on_both_sides_are_no_change_point() -> None:
    even = [Moment("a", 10.0, 0.0), Moment("b", 10.0, 1.0), Moment("c", 20.0, 0.0),
            Moment("d", 20.0, 1.0)]
    assert change_point(even, [15.0]) is None


def test_a_line_where_conversion_falls_does_not_stop_the_search() -> None:
    # at 15: 1 of 1 below, 2 of 4 above (falls); at 35: 1 of 3 below, 2 of 2 above
    ms = [Moment("a", 10.0, 1.0), Moment("b", 20.0, 0.0), Moment("c", 30.0, 0.0),
          Moment("d", 40.0, 1.0), Moment("e", 50.0, 1.0)]
    assert change_point(ms, [15.0, 35.0]) == 35.0


def test_crossings_without_a_team_are_unrouted() -> None:
    d = Daily("y@a.example", date(2026, 1, 1), (0.0, 35.0))
    assert crossings([d], T) == ([1, 1, 0, 0, 0, 0, 0], {"unrouted": [1, 1, 0, 0, 0, 0, 0]})


def test_the_day_before_the_period_is_a_baseline_not_a_crossing() -> None:
    # a fall from 60 to 10: nothing crossed (and a team with no crossing is left out)
    d = Daily("z@a.example", date(2026, 1, 1), (60.0, 10.0), "emea")
    assert crossings([d], T) == ([0] * 7, {})


def test_a_rise_on_the_first_day_counted_is_counted() -> None:
    d = Daily("w@a.example", date(2026, 1, 1), (0.0, 25.0))  # 0 -> 25 on Jan 2
    assert crossings([d], T, since=date(2026, 1, 2))[0] == [1, 0, 0, 0, 0, 0, 0]
    assert crossings([d], T, since=date(2026, 1, 3))[0] == [0] * 7


def test_a_team_the_routing_does_not_know_has_one_seller_and_no_capacity() -> None:
    assert team_load("apac", 3.0, {}) == TeamLoad("apac", 3.0, 3.0, None, False)
    # a team of no sellers counts as one
    assert team_load("emea", 3.0, {"emea": Team("emea", 0, 2)}) == TeamLoad(
        "emea", 3.0, 3.0, 2.0, True)


def test_mqls_and_mqls_a_week_on_the_curve() -> None:
    teams = {"emea": Team("emea", sellers=2, capacity=4)}
    half = curve(EIGHT, [RISES], [50.0], weeks=0.5, teams=teams)[0]
    assert (half.mqls, half.mqls_per_week) == (2, 4.0)
    assert half.loads == (TeamLoad("emea", 4.0, 2.0, 2.0, False),)
    # no weeks: MQLs counted, none a week
    empty = curve(EIGHT, [RISES], [50.0], weeks=0.0, teams=teams)[0]
    assert (empty.mqls, empty.mqls_per_week) == (2, 0.0)
    assert empty.loads == (TeamLoad("emea", 0.0, 0.0, 2.0, False),)
    # only the days from Jan 4: the rise of Jan 5
    late = curve(EIGHT, [RISES], [50.0], weeks=1.0, since=date(2026, 1, 4))[0]
    assert (late.mqls, late.mqls_per_week) == (1, 1.0)


def test_exactly_half_the_draws_with_a_change_point_give_an_interval() -> None:
    assert bootstrap(ABCD, [2.0, 3.0], _draws(AT_2, NONE), resamples=2) == (2.0, 2.0)
    # one of three is under half: no interval
    assert bootstrap(ABCD, [2.0, 3.0], _draws(AT_2, NONE, NONE), resamples=3) is None


def test_the_interval_by_nearest_rank() -> None:
    # seven change points 2 3 3 3 3 3 3: the 10th percentile is rank round(0.6) = 1,
    # the 90th rank round(5.4) = 5
    draws = _draws(AT_2, *[AT_3] * 6)
    assert bootstrap(ABCD, [2.0, 3.0], draws, resamples=7) == (3.0, 3.0)
    # 2 2 2 2 2 3 3: rank 1 is a 2, rank 5 a 3
    draws = _draws(*[AT_2] * 5, AT_3, AT_3)
    assert bootstrap(ABCD, [2.0, 3.0], draws, resamples=7) == (2.0, 3.0)
    # five, 2 3 3 3 3: ranks round(0.4) = 0 and round(3.6) = 4
    draws = _draws(AT_2, *[AT_3] * 4)
    assert bootstrap(ABCD, [2.0, 3.0], draws, resamples=5) == (2.0, 3.0)


def test_the_draws_keep_the_share_on_each_side() -> None:
    # A B C C with half on each side: 2 keeps one outreach below, so 3 (1 of 2 below)
    assert bootstrap(ABCD, [2.0, 3.0], _draws(AT_2), resamples=1,
                     min_share=0.5) == (3.0, 3.0)
    assert bootstrap(ABCD, [2.0, 3.0], _draws(AT_2), resamples=1) == (2.0, 2.0)


def test_the_recommendation_keeps_the_share_on_each_side() -> None:
    # ABCD on the grid 2, 3: equally good (gain 0.863 each), the lower one; with half on
    # each side neither line keeps two outreaches on both sides
    assert calibrate(ABCD, [], weeks=1.0, step=1).recommended == 2.0
    assert calibrate(ABCD, [], weeks=1.0, step=1, min_share=0.5).recommended is None


def test_the_interval_is_drawn_with_the_same_share() -> None:
    # A E (1, no), B (2, yes), C (3, yes): with half on each side the line is 2; every
    # draw is A B C C, whose line with half on each side is 3 (at 5%, 2)
    four = [Moment("A", 1.0, 0.0), Moment("E", 1.0, 0.0), Moment("B", 2.0, 1.0),
            Moment("C", 3.0, 1.0)]
    draws = Scripted(i for _ in range(200) for i in (0, 2, 3, 3))
    result = calibrate(four, [], weeks=1.0, step=1, min_share=0.5, rng=draws)
    assert result.recommended == 2.0
    assert result.interval == (3.0, 3.0)


def test_the_last_quarter_replays_the_line_over_its_own_outreaches() -> None:
    teams = {"emea": Team("emea", sellers=2, capacity=4)}
    quarter = [Moment("q1", 60.0, 1.0), Moment("q2", 40.0, 0.0), Moment("q3", 55.0, 0.0)]
    result = calibrate(EIGHT, [RISES], weeks=26.0, step=10, teams=teams,
                       last_quarter_from=date(2026, 1, 4), quarter_moments=quarter)
    assert result.recommended == 50.0 and result.weeks == 26.0
    assert len(result.points) == 7 and result.blocks == tuple(isotonic(EIGHT))
    # the whole period at 50: two MQLs in 26 weeks, a seller's share against 2 open leads
    assert result.chosen is not None
    assert (result.chosen.mqls, result.chosen.mqls_per_week) == (2, 2 / 26)
    assert result.chosen.loads == (TeamLoad("emea", 2 / 26, 1 / 26, 2.0, False),)
    # the last quarter (13 weeks of the 26): the rise of Jan 5; q1 and q3 at or above 50
    q = result.last_quarter
    assert q is not None and q.threshold == 50.0
    assert (q.above, q.converted_above, q.below, q.converted_below) == (2, 1.0, 1, 0.0)
    assert (q.mqls, q.mqls_per_week) == (1, 1 / 13)
    assert q.loads == (TeamLoad("emea", 1 / 13, 1 / 26, 2.0, False),)
    # a period shorter than a quarter: its own weeks
    short = calibrate(EIGHT, [RISES], weeks=6.5, step=10,
                      last_quarter_from=date(2026, 1, 4), quarter_moments=quarter)
    assert short.last_quarter is not None and short.last_quarter.mqls_per_week == 1 / 6.5
    # no last quarter asked for: none
    assert calibrate(EIGHT, [RISES], weeks=26.0, step=10).last_quarter is None


def test_the_notes_of_a_calibration() -> None:
    eight = calibrate(EIGHT, [], weeks=1.0, step=10)
    assert eight.notes == (GUESS,)
    # nothing to calibrate on: one note, no curve
    empty = calibrate([], [], weeks=1.0, last_quarter_from=date(2026, 1, 4))
    assert empty.notes == (NOTHING,)
    assert (empty.points, empty.blocks, empty.recommended, empty.chosen, empty.health,
            empty.last_quarter, empty.interval) == ((), (), None, None, None, None, None)
    # conversion falls with the score: no line, no verdict, no last quarter
    falling = [Moment(m.contact, -m.score, m.converted) for m in EIGHT]
    flat = calibrate(falling, [], weeks=1.0, step=10, last_quarter_from=date(2026, 1, 4))
    assert flat.notes == (FLAT, GUESS)
    assert (flat.recommended, flat.health, flat.last_quarter) == (None, None, None)
    # 40 conversions: no longer a guess, still noisy; 100: no note
    forty = [Moment(f"n{i}", 40.0, 0.0) for i in range(40)] + [
        Moment(f"y{i}", 60.0, 1.0) for i in range(40)]
    assert calibrate(forty, [], weeks=1.0, step=10).notes == (NOISY,)
    hundred = [Moment(f"n{i}", 40.0, 0.0) for i in range(100)] + [
        Moment(f"y{i}", 60.0, 1.0) for i in range(100)]
    assert calibrate(hundred, [], weeks=1.0, step=10).notes == ()
