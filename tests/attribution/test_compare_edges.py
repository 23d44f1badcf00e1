"""`attribute` and `compare`: the totals, the notes a user reads and the model file's
settings reaching each model, worked out by hand from docs/attribution.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mql.attribution.compare import attribute, compare, model_name
from mql.attribution.journeys import Journey, Touch
from mql.model.attribution import (
    AttributionSettings,
    MarkovSettings,
    Position,
    ShapleySettings,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def path(channels: str, conversions: float = 1, nulls: float = 0, value: float = 0,
         **times: datetime) -> Journey:
    touches = tuple(Touch(c, T0 + i * DAY) for i, c in enumerate(channels.split()))
    return Journey("j", touches, conversions=conversions, nulls=nulls, value=value, **times)


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def test_totals_leave_out_conversions_without_a_touch_and_the_note_counts_them() -> None:
    js = [path("a b", 1, value=100, converted_at=T0 + 2 * DAY),
          path("a", 2, value=40, converted_at=T0 + DAY),
          # its only touch 200 days before the conversion: nothing left in 90 days
          path("a", 1, value=50, converted_at=T0 + 200 * DAY),
          Journey("empty", (), nulls=1)]  # no touch and no conversion: not counted
    a = attribute(js, "first", lookback=timedelta(days=90))
    assert a.model == "first"
    assert (a.total_conversions, a.total_value) == (3.0, 140.0)
    assert a.conversions == {"a": 3.0, "b": 0.0}
    assert a.value == {"a": 140.0, "b": 0.0}
    assert a.notes == ("1 conversions without a touch in the lookback window are not "
                       "credited",)


def test_every_journey_touched_gives_no_note() -> None:
    assert attribute([path("a b")], "linear").notes == ()


def test_a_model_is_named_by_its_canonical_name() -> None:
    assert attribute([path("a")], "Time-Decay").model == "time_decay"


def test_an_unknown_model_names_every_model() -> None:
    with pytest.raises(ValueError, match=exact(
            "unknown attribution model 'lastt'; choose one of first, last, last_non_direct, "
            "linear, u, w, z, time_decay, j, inverse_j, markov, shapley")):
        model_name("lastt")


CLASSIC = [path("c1 c2 c3", value=70), path("c1", value=30), path("c2 c3", 0, 1)]


def test_the_markov_note_states_the_chain() -> None:
    # the classic example: states c1, c2, c3; P(conversion) 2/3
    a = attribute(CLASSIC, "markov")
    assert a.notes == ("Markov order 1, 3 states, P(conversion) 0.6667, allocation total, "
                       "self-transitions keep",)


def test_the_model_files_markov_allocation_and_order_are_used() -> None:
    # allocation journey: c1 > c2 > c3 (1 conversion, 70) split 0.75 : 0.5 : 0.5, so
    # 3/7, 2/7, 2/7 of it (30, 20, 20); c1 alone keeps its own (1, 30)
    a = attribute(CLASSIC, "markov", AttributionSettings(markov=MarkovSettings(1, "journey")))
    assert a.conversions == pytest.approx({"c1": 10 / 7, "c2": 2 / 7, "c3": 2 / 7}, abs=1e-12)
    assert a.value == pytest.approx({"c1": 60.0, "c2": 20.0, "c3": 20.0}, abs=1e-9)
    # a > b converts, c > b does not: order 2 knows b converts only after a
    js = [path("a b"), path("c b", 0, 1)]
    second = AttributionSettings(markov=MarkovSettings(order=2))
    assert attribute(js, "markov", second).details["removal_effect"] == pytest.approx(
        {"a": 1.0, "b": 1.0, "c": 0.0}, abs=1e-12)
    # `--order 1` overrides the file's order 2: b converts half the time, whoever came first
    assert attribute(js, "markov", second, order=1).details["removal_effect"] == pytest.approx(
        {"a": 0.5, "b": 1.0, "c": 0.5}, abs=1e-12)


def test_dropping_self_transitions_merges_the_states_of_repeats() -> None:
    # a a b converts, a b b does not; order 2 with repeats dropped: both are a > b, states
    # (a) and (a, b), and a > b converts half the time
    js = [path("a a b"), path("a b b", 0, 1)]
    drop = attribute(js, "markov", AttributionSettings(markov=MarkovSettings(2, "total", "drop")))
    assert drop.notes == ("Markov order 2, 2 states, P(conversion) 0.5000, allocation total, "
                          "self-transitions drop",)
    # kept: (a), (a, a), (a, b) and (b, b)
    keep = attribute(js, "markov", AttributionSettings(markov=MarkovSettings(2)))
    assert keep.notes == ("Markov order 2, 4 states, P(conversion) 0.5000, allocation total, "
                          "self-transitions keep",)


SETS = [path("a", 1, 1), path("b", 1, 3), path("a b", 2, 0), path("c", 0, 2)]


def test_the_shapley_note_of_an_exact_run() -> None:
    assert attribute(SETS, "shapley").notes == ("Shapley (conversions), exact over 3 channels",)
    ordered = AttributionSettings(shapley=ShapleySettings("rate", ordered=True))
    assert attribute([path("a b"), path("b", 0, 1)], "shapley", ordered).notes == (
        "Shapley (rate, ordered), exact over 2 channels",)


def test_the_model_files_sampling_settings_are_used() -> None:
    # 3 channels over exact_up_to 2: 500 random orders from seed 11
    sampled = AttributionSettings(shapley=ShapleySettings("rate", exact_up_to=2, samples=500,
                                                          seed=11))
    a = attribute(SETS, "shapley", sampled)
    assert a.notes == ("Shapley (rate) sampled: 500 random orders, 95% interval in "
                       "conversions_ci95",)
    assert set(a.details["conversions_ci95"]) == {"a", "b", "c"}
    assert all(half > 0 for half in a.details["conversions_ci95"].values())
    assert sum(a.conversions.values()) == pytest.approx(4.0, abs=1e-9)
    # the same seed gives the same numbers; another seed draws other orders
    assert attribute(SETS, "shapley", sampled).conversions == a.conversions
    other = AttributionSettings(shapley=ShapleySettings("rate", exact_up_to=2, samples=500,
                                                        seed=7))
    assert attribute(SETS, "shapley", other).conversions != a.conversions


def test_compare_runs_each_model_with_the_settings_order_and_lookback() -> None:
    # x: a touch 100 days before its conversion, then a, b, c; the null journey has no
    # conversion time, so the window keeps its touches
    x = Journey("x", (Touch("old", T0 - 97 * DAY), Touch("a", T0), Touch("b", T0 + DAY),
                      Touch("c", T0 + 2 * DAY)), conversions=1, converted_at=T0 + 3 * DAY)
    n = Journey("n", (Touch("a", T0), Touch("c", T0 + DAY)), nulls=1)
    settings = AttributionSettings(u=Position(0.5, 0.3))
    first, u, markov = compare([x, n], ["first", "u", "markov"], settings, order=2,
                               lookback=timedelta(days=90))
    assert [first.model, u.model, markov.model] == ["first", "u", "markov"]
    assert first.conversions == {"a": 1.0, "b": 0.0, "c": 0.0}  # "old" is out of the window
    assert u.conversions == pytest.approx({"a": 0.5, "b": 0.2, "c": 0.3}, abs=1e-12)
    assert markov.notes[0].startswith("Markov order 2,")
