"""What `explain` writes beside each intent rule and each counted event for rules with
points read per event, lifespans and floors, worked out by hand (half-life 10 days)."""

from __future__ import annotations

import pytest

from mql.model.parse import parse_model
from mql.scoring.explain import explain
from tests.conftest import T0, contact, event

MODEL = parse_model("""
name: notes
decay: {half_life_days: 10}
fit: {rules: []}
intent:
  floor: -5
  rules:
    - name: minutes
      event: page_view
      points_per: {field: minutes, each: 1, points: 2, cap: 20}
    - name: surge
      event: intent_surge
      points_per: {field: strength, each: 10, points: 3}
    - name: webinar
      event: webinar_attended
      points: 30
      expires_after_days: 10
    - name: unsubscribed
      event: email_unsubscribe
      points: -40
    - name: pricing
      event: page_view
      when: {field: url, op: contains, value: pricing}
      points: 5
      decay: {half_life_days: 5}
mql: {thresholds: {intent: 30}}
""", source="notes.yaml")


def test_points_read_per_event_are_noted_with_their_rate_and_cap() -> None:
    jane = contact()
    x = explain(MODEL, jane, None, [event("page_view", 0, minutes=7.9),
                                    event("intent_surge", 0, strength=85)], at=T0)
    notes = {line.rule: (line.points, line.note) for line in x.rules}
    # 7.9 minutes: 7 whole x 2 = 14; strength 85: 8 x 3 = 24
    assert notes["minutes"] == (14.0, "2 per 1 minutes (at most 20 an event)")
    assert notes["surge"] == (24.0, "3 per 10 strength")


def test_an_event_past_its_lifespan_earns_nothing_in_the_ledger() -> None:
    jane = contact()
    events = [event("webinar_attended", 12), event("webinar_attended", 10),
              event("webinar_attended", 9)]
    x = explain(MODEL, jane, None, events, at=T0)
    ledger = sorted((line.at, line.points) for line in x.ledger if line.rule == "webinar")
    # 12 and exactly 10 days ago: past the 10 days; 9 days ago: 30, decayed 2**-0.9
    assert [points for _, points in ledger] == [0.0, 0.0, 30.0]
    (line,) = [r for r in x.rules if r.rule == "webinar"]
    assert line.value == pytest.approx(30 * 2 ** -0.9, rel=1e-12)
    assert line.note == "expires after 10 days"


def test_a_floored_score_explains_to_its_floor_and_a_rule_of_its_own_decay_says_so() -> None:
    jane = contact()
    x = explain(MODEL, jane, None, [event("email_unsubscribe", 0),
                                    event("page_view", 5, url="/pricing")], at=T0)
    # -40 + 5 * 2**-1 = -37.5, raised to the floor -5: the decision's score
    assert x.decision.intent == -5.0
    assert x.score_total("intent") == -5.0
    notes = {line.rule: line.note for line in x.rules}
    assert notes["pricing"] == "half-life 5 days"
    assert notes["unsubscribed"] == ""
