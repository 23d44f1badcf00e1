"""The drift arithmetic of `mql audit`, with values worked out by hand."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.learning.drift import (
    Bounds,
    Lift,
    RuleDrift,
    noise_bound,
    psi,
    quantile_edges,
    rate_psi,
    rate_z,
    shares,
    verdict,
)

APRIL, MAY, JUNE = date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)


def test_psi_of_a_score_moved_between_bins_by_hand() -> None:
    # baseline 50/30/20, month 20/30/50: (0.2-0.5)ln(0.4) + 0 + (0.5-0.2)ln(2.5)
    expected = 0.3 * math.log(2.5) + 0.3 * math.log(2.5)
    assert psi([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]) == pytest.approx(expected)
    assert expected == pytest.approx(0.5498, abs=1e-4)


def test_rate_psi_of_a_rule_firing_three_times_as_often() -> None:
    # 20% -> 60%: 0.4 ln 3 + (-0.4) ln(0.4 / 0.8) = 0.4 ln 3 + 0.4 ln 2
    assert rate_psi(0.2, 0.6) == pytest.approx(0.4 * math.log(6))


def test_an_empty_bin_counts_as_a_tiny_share_not_infinity() -> None:
    value = psi([1.0, 0.0], [0.5, 0.5])
    assert math.isfinite(value) and value > 1


def test_shares_put_ties_in_one_bin_and_edges_follow_the_baseline() -> None:
    baseline = [0, 0, 0, 0, 10, 20, 30, 40, 50, 60]
    edges = quantile_edges(baseline, bins=5)
    assert edges == (10, 30, 50)  # the zeros stay together below the first edge
    assert shares(baseline, edges) == (0.4, 0.2, 0.2, 0.2)
    assert shares([5, 35, 35, 70], edges) == (0.25, 0.0, 0.5, 0.25)


def test_lift_is_the_win_rate_of_the_fired_over_the_win_rate_of_all() -> None:
    # 12 of 40 closed contacts won (30%); the rule fired for 10, 6 of them won (60%)
    assert Lift(fired=10, fired_won=6, total=40, won=12).value == pytest.approx(2.0)
    assert Lift(fired=0, fired_won=0, total=40, won=12).value is None
    assert Lift(fired=5, fired_won=0, total=5, won=0).value is None


def test_rate_z_by_hand() -> None:
    # 10% of 400 -> 30% of 100: pooled 0.14, se = sqrt(0.14 * 0.86 * (1/400 + 1/100))
    se = math.sqrt(0.14 * 0.86 * (1 / 400 + 1 / 100))
    assert rate_z(400, 0.1, 100, 0.3) == pytest.approx(0.2 / se)
    assert rate_z(0, 0.1, 100, 0.3) == 0.0


def test_noise_bound_shrinks_with_the_months_size() -> None:
    assert noise_bound(10, 1000, 1000) < noise_bound(10, 1000, 100) < noise_bound(10, 100, 100)
    assert noise_bound(10, 0, 100) == math.inf


def _rule(before: Lift, after: Lift, rates: tuple[float, ...] = (0.1, 0.1, 0.1),
          active: tuple[int, ...] = (), active_before: int = 0) -> RuleDrift:
    return RuleDrift("webinar_attended", "intent", (APRIL, MAY, JUNE), rates, rates[0],
                     tuple(rate_psi(rates[0], r) for r in rates), before, after, MAY,
                     active, active_before)


def test_verdict_says_the_lift_fell_since_the_split_month() -> None:
    # before: 21 of 30 fired won, 33 of 100 overall: lift 2.12; since: 14 of 30: 1.41,
    # a fall of a third (over the 30% bound)
    r = _rule(Lift(30, 21, 100, 33), Lift(30, 14, 100, 33))
    v = verdict(r, Bounds())
    assert v.status == "weaker" and v.flagged
    assert v.words == "webinar_attended: lift fell from 2.1 to 1.4 since May 2026"


def test_verdict_says_a_rule_no_longer_separates_won_from_lost() -> None:
    # since: 11 of 30 fired won, 33 of 100 overall: lift 1.11, inside 1/1.2 .. 1.2
    v = verdict(_rule(Lift(30, 21, 100, 33), Lift(30, 11, 100, 33)), Bounds())
    assert v.status == "no_longer_separates"
    assert v.words == ("webinar_attended: lift fell from 2.1 to 1.1 since May 2026; "
                       "it no longer separates won from lost")


def test_verdict_flags_a_firing_rate_that_moved_beyond_chance() -> None:
    few = Lift(3, 2, 10, 3)  # too few outcomes to judge a lift
    moved = _rule(few, few, rates=(0.05, 0.05, 0.30), active=(400, 400, 400),
                  active_before=400)
    v = verdict(moved, Bounds())
    assert v.status == "drifted"
    assert v.words == ("webinar_attended: fires for 18% of active contacts since June 2026, "
                       f"5% before (PSI {rate_psi(0.05, 0.30):.2f})")


def test_a_large_psi_on_a_handful_of_contacts_is_not_drift() -> None:
    few = Lift(3, 2, 10, 3)
    # 5% of 100 before, 1 of 10 now (PSI 0.04) and 3 of 10 (PSI 0.46): z about 2.5 and
    # 3.0, under 3.9
    small = _rule(few, few, rates=(0.05, 0.05, 0.30), active=(100, 10, 10), active_before=100)
    assert small.psis[2] > Bounds().psi
    assert verdict(small, Bounds()).status == "too_few"


def test_a_stable_rule_with_enough_outcomes_is_stable() -> None:
    v = verdict(_rule(Lift(30, 21, 100, 33), Lift(30, 20, 100, 33)), Bounds())
    assert v.status == "stable" and not v.flagged
    assert v.words == "webinar_attended: stable (lift 2.1 before May 2026, 2.0 since)"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8),
       st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8))
def test_psi_is_never_negative_and_zero_on_the_same_population(a: list[float],
                                                               b: list[float]) -> None:
    n = min(len(a), len(b))
    e = [x / sum(a[:n]) for x in a[:n]]
    f = [x / sum(b[:n]) for x in b[:n]]
    assert psi(e, f) >= -1e-12
    assert psi(e, e) == pytest.approx(0.0, abs=1e-12)
