"""The audit's edges, by hand from mql.learning.drift's docstrings: the bounds a user may
set, the limits of each verdict exactly at them, the words of missing numbers, the edges
of tiny and tied baselines, and the rates of one contact a side."""

from __future__ import annotations

import math
import re
from datetime import date

import pytest

from mql.learning.drift import (
    Bounds,
    Lift,
    RuleDrift,
    month_psis,
    noise_bound,
    psi,
    quantile_edges,
    rate_z,
    shares,
    verdict,
)

APRIL, MAY, JUNE = date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)
EVEN = Lift(10, 3, 100, 30)  # 30% of the fired won, 30% of all: lift 1.0


def _rule(before: Lift, after: Lift, psis: tuple[float | None, ...] = (0.0, 0.0, 0.0),
          rates: tuple[float | None, ...] = (0.1, 0.1, 0.1), rate_before: float | None = 0.1,
          active: tuple[int, ...] = (), active_before: int = 0) -> RuleDrift:
    return RuleDrift("webinar_attended", "intent", (APRIL, MAY, JUNE), rates, rate_before,
                     psis, before, after, MAY, active, active_before)


def test_the_bounds_a_user_may_set() -> None:
    words = "audit bounds: expected psi > 0, 0 < lift_fall < 1 and separates > 1, got "
    for bad, got in (({"psi": 0}, "0, 0.3, 1.2"), ({"lift_fall": 0}, "0.25, 0, 1.2"),
                     ({"lift_fall": 1}, "0.25, 1, 1.2"), ({"separates": 1}, "0.25, 0.3, 1")):
        with pytest.raises(ValueError, match=f"^{re.escape(words + got)}$"):
            Bounds(**bad)  # type: ignore[arg-type]
    Bounds(psi=0.01, lift_fall=0.99, separates=1.01)


def test_a_lift_at_the_separating_line_still_separates() -> None:
    # before 1.2 is not over 1.2: not "no longer separates"; 1.0 is no fall of 30%
    at_line = verdict(_rule(Lift(10, 6, 100, 50), EVEN), Bounds())
    assert (at_line.rule, at_line.status) == ("webinar_attended", "stable")
    # before 2.0, after exactly 1/1.2 and exactly 1.2: within, no longer separates
    for after in (Lift(10, 5, 100, 60), Lift(10, 6, 100, 50)):
        v = verdict(_rule(Lift(10, 10, 100, 50), after), Bounds())
        assert (v.rule, v.status) == ("webinar_attended", "no_longer_separates")


def test_a_fall_of_exactly_thirty_percent_is_no_weaker_rule() -> None:
    # 2.0 to 1.4 is a fall of exactly 30%: not more than lift_fall
    v = verdict(_rule(Lift(10, 10, 100, 50), Lift(10, 7, 100, 50)), Bounds())
    assert v.status == "stable"
    # from 1.5 (over the line) to 0.5 (under 1 / 1.2): weaker, not "no longer separates"
    v = verdict(_rule(Lift(10, 6, 100, 40), Lift(20, 3, 100, 30)), Bounds())
    assert (v.rule, v.status, v.words) == (
        "webinar_attended", "weaker", "webinar_attended: lift fell from 1.5 to 0.5 since May 2026")
    # from a lift of 1 nothing falls: it never helped
    assert verdict(_rule(EVEN, Lift(20, 3, 100, 30)), Bounds()).status == "stable"


def test_twenty_closed_deals_a_side_are_enough() -> None:
    twenty = verdict(_rule(Lift(10, 10, 20, 10), Lift(10, 5, 20, 10)), Bounds())
    assert twenty.status == "no_longer_separates"  # 2.0 to 1.0
    # ten a side: too few, however the lift moved
    ten = verdict(_rule(Lift(5, 5, 10, 5), Lift(5, 2, 10, 5)), Bounds())
    assert (ten.rule, ten.status, ten.words) == (
        "webinar_attended", "too_few",
        "webinar_attended: stable firing rate; too few closed deals to judge its lift "
        "(10 before May 2026, 10 since)")


def test_the_words_of_a_lift_or_rate_not_known() -> None:
    # fired for nobody before: no lift before, a dash in the words
    v = verdict(_rule(Lift(0, 0, 30, 10), Lift(10, 5, 30, 10)), Bounds())
    assert (v.rule, v.status, v.words) == (
        "webinar_attended", "stable",
        "webinar_attended: stable (lift - before May 2026, 1.5 since)")
    # drifted with no rate before (the rule is new) and no month's rate since
    v = verdict(_rule(EVEN, EVEN, psis=(0.0, 0.0, 0.5), rates=(None, None, None),
                      rate_before=None), Bounds())
    assert (v.rule, v.status, v.words) == (
        "webinar_attended", "drifted",
        "webinar_attended: fires for - of active contacts since June 2026, - before "
        "(PSI 0.50)")


def test_the_first_month_that_drifted_counts_from_the_split() -> None:
    # the split month itself; a PSI exactly at the bound is not over it
    assert _rule(EVEN, EVEN, psis=(0.0, 0.5, 0.0)).drifted_since(Bounds()) == MAY
    assert _rule(EVEN, EVEN, psis=(0.5, 0.25, 0.0)).drifted_since(Bounds()) is None
    # without the months' sizes no chance test: the PSI decides
    moved = _rule(EVEN, EVEN, psis=(0.0, 0.0, 0.5), rates=(0.1, 0.1, 0.5))
    assert moved.drifted_since(Bounds()) == JUNE
    assert moved.judge(Bounds()).words == (
        "webinar_attended: fires for 30% of active contacts since June 2026, 10% before "
        "(PSI 0.50)")


def test_a_move_exactly_at_the_z_bound_is_chance() -> None:
    # 10% of 100 before, 30% of 50 in June: z by rate_z; at a bound of exactly that z, chance
    z = rate_z(100, 0.1, 50, 0.3)
    rule = _rule(EVEN, EVEN, psis=(0.0, 0.0, 0.5), rates=(0.1, 0.1, 0.3),
                 active=(100, 100, 50), active_before=100)
    assert rule.drifted_since(Bounds(z=z)) is None
    assert rule.drifted_since(Bounds(z=z * 0.99)) == JUNE
    # a rate before unknown: no chance test either
    unknown = _rule(EVEN, EVEN, psis=(0.0, 0.0, 0.5), rates=(0.1, 0.1, 0.3),
                    rate_before=None, active=(100, 100, 50), active_before=100)
    assert unknown.drifted_since(Bounds()) == JUNE


def test_rates_of_one_contact_a_side_and_of_none() -> None:
    # 0 of 1 to 1 of 1: pooled 0.5, z = 1 / sqrt(0.25 x 2)
    assert rate_z(1, 0.0, 1, 1.0) == pytest.approx(math.sqrt(2))
    assert rate_z(100, 0.1, 0, 0.0) == 0.0
    # nobody or everybody on both sides: no z
    assert rate_z(10, 0.0, 10, 0.0) == 0.0
    assert rate_z(10, 1.0, 10, 1.0) == 0.0
    # the noise bound for one value a side: the chi-square quantile times 1/1 + 1/1
    assert noise_bound(10, 1, 1) == pytest.approx(
        noise_bound(10, 400, 100) / (1 / 400 + 1 / 100) * 2)
    assert noise_bound(10, 100, 0) == math.inf


def test_psi_of_bins_that_do_not_match() -> None:
    with pytest.raises(ValueError, match=r"^psi: 2 expected bins, 3 actual$"):
        psi([0.5, 0.5], [0.2, 0.3, 0.5])
    assert month_psis([None, 0.1], 0.1) == (None, 0.0)
    assert month_psis([0.1, 0.4], None) == (None, None)


def test_edges_of_small_and_tied_baselines() -> None:
    assert quantile_edges([0, 10], bins=2) == (10,)
    assert quantile_edges([0, 10], bins=10) == (10,)
    assert quantile_edges([0, 10, 20, 30], bins=4) == (10, 20, 30)
    # five 20s: one edge at 20, not one per decile they fill
    assert quantile_edges([0, 0, 0, 10, 20, 20, 20, 20, 20, 30], bins=5) == (20,)
    assert quantile_edges([], bins=5) == ()
    assert shares([], [5, 10]) == (0.0, 0.0, 0.0)
