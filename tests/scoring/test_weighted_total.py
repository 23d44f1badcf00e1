"""Weighted totals of named scores and floors under scores (issue 13), with the exact
moment a weighted total of scores with different half-lives crosses a line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model
from mql.scoring.scorer import Scorer
from tests.conftest import T0, contact, event

MODEL = parse_model("""
name: weighted
total: {fit: 0.5, intent: 1.0, product: 2.0}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
intent:
  decay: {half_life_days: 10}
  floor: -5
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: unsubscribe, event: email_unsubscribe, points: -30}
scores:
  product:
    kind: intent
    decay: {half_life_days: 30}
    rules:
      - {name: docs, event: page_view, points: 10}
mql: {thresholds: {total: 40}}
exit: {below: {total: 30}}
""", source="weighted.yaml")


def scorer(*events: object) -> Scorer:
    s = Scorer(MODEL)
    s.add_contact(contact(country="US"))
    for e in events:
        s.add(e)  # type: ignore[arg-type]
    return s


def test_total_is_the_weighted_sum_of_the_named_scores() -> None:
    s = scorer(event("demo_request", 0), event("page_view", 0),
               event("email_unsubscribe", 1))
    d = s.decide("jane@acme.example", T0)
    # intent = 40 - 30 * 2**(-1/10) = 40 - 27.9910 = 12.0090
    assert d.scores["intent"] == pytest.approx(40 - 30 * 2 ** -0.1, rel=1e-12)
    # total = 0.5 * 20 + 1.0 * 12.0090 + 2.0 * 10 = 42.0090
    assert d.total == pytest.approx(10 + 40 - 30 * 2 ** -0.1 + 20, rel=1e-12)
    assert d.mql


def test_a_floor_bounds_negative_rules() -> None:
    d = scorer(event("email_unsubscribe", 0)).decide("jane@acme.example", T0)
    assert d.scores["intent"] == -5.0  # -30, raised to the floor -5
    assert d.total == pytest.approx(0.5 * 20 - 5.0)


def test_the_exit_of_a_weighted_total_with_two_half_lives_is_exact() -> None:
    s = scorer(event("demo_request", 0), event("page_view", 0),
               event("email_unsubscribe", 1))
    exit_at = s.decide("jane@acme.example", T0).exit_at
    assert exit_at is not None
    # total(x days) = 10 + max(-5, 40 * 2**(-x/10) - 30 * 2**(-(x+1)/10)) + 20 * 2**(-x/30):
    # solved by bisection by hand, 30 is reached 12.5464 days later
    assert exit_at - T0 == pytest.approx(timedelta(days=12.546356), abs=timedelta(seconds=1))
    assert s.decide("jane@acme.example", exit_at).total < 30
    assert s.decide("jane@acme.example", exit_at - timedelta(microseconds=1)).total >= 30


def test_the_floor_is_reached_and_left_at_the_right_moments() -> None:
    # intent alone: 40 * 2**(-x/10) - 30 * 2**(-(x + 1)/10) is above 0 and falls to 0: the
    # floor -5 only matters with the larger unsubscribe, so total reads 10 - 5 + 0 = 5
    s = scorer(event("email_unsubscribe", 0), event("email_unsubscribe", 0, event_id="u2"))
    d = s.decide("jane@acme.example", T0)
    assert d.scores["intent"] == -5.0
    # -60 * 2**(-x/10) reaches -5 when 2**(-x/10) = 1/12: x = 10 * log2(12) = 35.85 days;
    # the total then rises over 6 (0.5 * 20 + intent > -4 <=> -60 * 2**(-x/10) > -4)
    # at x = 10 * log2(15) = 39.069 days
    curve = s.qualifier.curve("total", s.qualifier.fits(contact(country="US"), None),
                              *s.states_of("jane@acme.example"), T0)
    assert curve is not None
    (flip,) = curve.crossings(6.0)
    assert flip - T0 == pytest.approx(timedelta(days=39.068906), abs=timedelta(seconds=1))


def test_the_qualifier_gives_the_crossings_of_the_total_and_none_of_a_fit() -> None:
    s = scorer(event("email_unsubscribe", 0), event("email_unsubscribe", 0, event_id="u2"))
    # as above: over 6 at 10 * log2(15) = 39.069 days; a fit score is constant: none
    fits = s.qualifier.fits(contact(country="US"), None)
    states = s.states_of("jane@acme.example")
    (flip,) = s.qualifier.crossings("total", 6.0, fits, *states, T0)
    assert flip - T0 == pytest.approx(timedelta(days=39.068906), abs=timedelta(seconds=1))
    assert s.qualifier.crossings("fit", 6.0, fits, *states, T0) == []


def test_weights_must_name_scores_and_floors_stay_under_max() -> None:
    text = MODEL_TEXT.replace("product: 2.0}", "prodct: 2.0}").replace(
        "floor: -5", "floor: -5\n  max: -10")
    with pytest.raises(ModelError) as info:
        parse_model(text, source="w.yaml")
    assert str(info.value).splitlines() == [
        'w.yaml:3:32 total.prodct: unknown score "prodct" (did you mean "product"?); total '
        "weighs the scores fit, intent, product",
        "w.yaml:9:10 intent.floor: floor must not be above max (-10), got -5",
        "2 errors",
    ]


MODEL_TEXT = """
name: weighted
total: {fit: 0.5, intent: 1.0, product: 2.0}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
intent:
  decay: {half_life_days: 10}
  floor: -5
  rules:
    - {name: demo, event: demo_request, points: 40}
scores:
  product:
    kind: intent
    rules:
      - {name: docs, event: page_view, points: 10}
mql: {thresholds: {total: 40}}
"""


def test_the_model_is_dumped_and_read_back_unchanged() -> None:
    from mql.model.dump import dump_model

    assert parse_model(dump_model(MODEL)) == MODEL


def test_explain_spells_out_how_the_weighted_total_adds_up() -> None:
    from mql.scoring.explain import explain

    jane = contact(country="US")
    events = [event("demo_request", 0), event("page_view", 0), event("email_unsubscribe", 1)]
    x = explain(MODEL, jane, None, events, at=T0)
    # 0.5 x 20 + 1 x (40 - 30 * 2**(-1/10) = 12.009) + 2 x 10 = 42.009, one decimal
    assert x.total_words() == "total = 0.5 x fit 20 + 1 x intent 12 + 2 x product 10 = 42"
    plain = parse_model("""
name: plain
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40.25}
mql: {thresholds: {total: 40}}
""", source="plain.yaml")
    x = explain(plain, jane, None, [event("demo_request", 0)], at=T0)
    assert x.total_words() == "total = 1 x fit 20 + 1 x intent 40.2 = 60.2"
