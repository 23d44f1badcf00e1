"""The frozen values of a model and the arithmetic they carry (docs/model.md): decay by
half-life or loss per quarter, score bounds, rule caps, points read from a field by table,
bins or units. Values computed by hand."""

from __future__ import annotations

import math

import pytest

from mql.model.conditions import All, Compare
from mql.model.spec import (
    QUARTER_DAYS,
    Decay,
    FitRule,
    IntentRule,
    PointsBy,
    PointsPer,
    Score,
    clamp_points,
)


def test_a_half_life_must_be_positive() -> None:
    for bad in (0, -1, -0.5):
        with pytest.raises(ValueError, match="half-life") as caught:
            Decay(bad)
        assert str(caught.value) == f"half-life must be > 0 days, got {bad}"
    assert Decay(0.01).half_life_days == 0.01
    assert Decay.none() == Decay(None)


def test_a_loss_per_quarter_is_a_half_life() -> None:
    # losing half every quarter is a half-life of one quarter (365.25 / 4 days)
    assert QUARTER_DAYS == 91.3125
    assert Decay.from_loss_per_quarter(0.5).half_life_days == pytest.approx(91.3125)
    # 1 - 0.75 = 2 ** -2: two half-lives a quarter
    assert Decay.from_loss_per_quarter(0.75).half_life_days == pytest.approx(45.65625)
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="loss_per_quarter") as caught:
            Decay.from_loss_per_quarter(bad)
        assert str(caught.value) == f"loss_per_quarter must be between 0 and 1, got {bad}"


def test_the_share_left_after_an_age() -> None:
    day = 86_400.0
    assert Decay(1.0).factor(day) == 0.5
    assert Decay(2.0).factor(4 * day) == 0.25
    assert Decay(10.0).factor(0.0) == 1.0
    assert Decay.none().factor(1e9) == 1.0
    assert Decay(1.5).half_life_seconds == 129_600.0
    assert Decay.none().half_life_seconds == math.inf


def test_a_cap_limits_points_in_magnitude() -> None:
    assert clamp_points(36.0, 20.0) == 20.0
    assert clamp_points(-36.0, 20.0) == -20.0
    assert clamp_points(-5.0, 20.0) == -5.0
    assert clamp_points(5.0, 20.0) == 5.0
    assert clamp_points(0.0, 20.0) == 0.0
    assert clamp_points(-36.0, None) == -36.0


def test_a_score_is_its_rules_sum_limited_to_max_then_raised_to_floor() -> None:
    assert Score("s", "intent", (), max=100).bounded(150.0) == 100
    assert Score("s", "intent", (), max=100).bounded(-35.5) == -35.5
    assert Score("s", "intent", (), floor=-20).bounded(-35.5) == -20
    assert Score("s", "intent", (), floor=-20).bounded(250.0) == 250.0
    assert Score("s", "intent", (), max=50, floor=10).bounded(5.0) == 10
    assert Score("s", "intent", ()).bounded(-7.0) == -7.0


def test_the_fields_a_fit_rule_reads_and_the_decay_of_an_intent_rule() -> None:
    country = Compare("contact.country", "eq", "US")
    assert FitRule("r", country, 5).fields() == ("contact.country",)
    by = PointsBy("account.employees", bins=((0, 50, 1),))
    per = PointsPer("account.revenue", 1000, 1)
    assert FitRule("r", country, 0, points_by=by).fields() == (
        "contact.country", "account.employees")
    assert FitRule("r", country, 0, points_per=per).fields() == (
        "contact.country", "account.revenue")
    score = Score("intent", "intent", (), decay=Decay(45))
    assert IntentRule("r", ("demo_request",), 10).decay_in(score) == Decay(45)
    assert IntentRule("r", ("demo_request",), 10, decay=Decay(7)).decay_in(score) == Decay(7)


def test_points_by_a_value_table_in_order() -> None:
    by = PointsBy("account.industry", table=(("software", 20), ("fintech", 15)), default=-5)
    assert by.cases() == (
        ("software", Compare("account.industry", "eq", "software"), 20),
        ("fintech", Compare("account.industry", "eq", "fintech"), 15))
    assert by.best == 20
    assert PointsBy("account.tier", table=((1, 30),)).cases()[0][0] == "1"


def test_points_by_bins_with_open_ends() -> None:
    field = "account.employees"
    by = PointsBy(field, bins=((-math.inf, 50, -5), (50, 200.5, 5), (200.5, math.inf, 10)),
                  default=-30)
    assert by.cases() == (
        ("< 50", All((Compare(field, "lt", 50),)), -5),
        ("[50, 200.5)", All((Compare(field, "gte", 50), Compare(field, "lt", 200.5))), 5),
        (">= 200.5", All((Compare(field, "gte", 200.5),)), 10))
    assert by.best == -30  # the most points in magnitude, the default included
    assert PointsBy(field, bins=((0, 10, 4), (10, 20, -3))).best == 4
    assert PointsBy(field).cases() == ()


@pytest.mark.parametrize(("number", "points", "units"), [
    (7.9, 14.0, 7), (0.0, 0.0, 0), (10.0, 20.0, 10), (None, 0.0, 0), (-4.0, 0.0, 0),
    (math.nan, 0.0, 0), (math.inf, 0.0, 0), (-math.inf, 0.0, 0), (0.999, 0.0, 0),
])
def test_points_per_whole_unit(number: float | None, points: float, units: int) -> None:
    per = PointsPer("minutes", 1, 2, cap=20)
    assert per.value(number) == points
    assert per.units(number) == units


def test_points_per_unit_with_a_step_and_a_cap_in_magnitude() -> None:
    per = PointsPer("seats", 5, -3, cap=10)
    assert (per.value(14.0), per.units(14.0)) == (-6.0, 2)  # floor(14 / 5) = 2 units
    assert (per.value(100.0), per.units(100.0)) == (-10.0, 20)
    assert PointsPer("seats", 2.5, 4).value(100.0) == 160.0  # no cap


def test_fractions_count_below_one() -> None:
    # a cap under one point and a unit under one: fractions are values like any other
    assert clamp_points(0.75, 0.5) == 0.5
    assert clamp_points(-0.75, 0.5) == -0.5
    half = PointsPer("hours", 0.5, 2)
    assert (half.value(0.75), half.units(0.75)) == (2.0, 1)
    assert (half.value(0.25), half.units(0.25)) == (0.0, 0)
