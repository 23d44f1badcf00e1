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


def test_an_exit_that_holds_is_named_with_the_job_change_behind_it() -> None:
    from datetime import timedelta

    from mql.records import Event

    model = parse_model("""
name: exits
event_types: [job_change]
fit: {rules: []}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
mql: {thresholds: {intent: 30}}
exit:
  when:
    - name: changed_job
      reason: changed job
      when: {activity: job_change, within_days: 90}
    - name: unsubscribed
      reason: unsubscribed from our emails
      when: {activity: email_unsubscribe, within_days: 365}
""", source="exits.yaml")
    jane = contact()
    change = Event("j1", "job_change", T0 - timedelta(days=2), contact=jane.email,
                   properties={"change": "title Director of IT -> Student"})
    events = [event("demo_request", 1), change, event("email_unsubscribe", 3)]
    x = explain(model, jane, None, events, at=T0)
    assert not x.decision.mql
    assert x.decision.exits == ("changed_job", "unsubscribed")
    # T0 is 2 March: the change was recorded on 28 February
    assert x.changes == (
        "never qualifies while exit rule changed_job holds (changed job: title Director of "
        "IT -> Student, since 2026-02-28)",
        "never qualifies while exit rule unsubscribed holds (unsubscribed from our emails)",
    )


def test_a_capped_rule_with_its_own_counting_notes_both() -> None:
    model = parse_model("""
name: capped
decay: none
fit: {rules: []}
intent:
  rules:
    - {name: webinar, event: webinar_attended, points: 30, cap: 40, once_per: day}
mql: {thresholds: {intent: 30}}
""", source="capped.yaml")
    # two days with a webinar: 30 + 30 = 60, capped at 40; the second of day one not counted
    x = explain(model, contact(), None, [event("webinar_attended", 1), event("webinar_attended", 2),
                                         event("webinar_attended", 2.01)], at=T0)
    (line,) = x.rules
    assert (line.events, line.points, line.decayed, line.value) == (3, 60.0, 60.0, 40.0)
    assert line.note == "cap 40, once per day"


def test_a_criterion_on_a_score_is_checked_leaf_by_leaf() -> None:
    model = parse_model("""
name: criteria
decay: none
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  criteria:
    - name: engaged_us
      when:
        all:
          - {field: score.intent, op: gte, value: 30}
          - {field: score.fit, op: gte, value: 30}
""", source="criteria.yaml")
    x = explain(model, contact(country="US"), None, [event("demo_request", 1)], at=T0)
    (check,) = x.criteria
    # intent 40 >= 30 holds, fit 20 >= 30 does not
    assert (check.name, check.matched) == ("engaged_us", False)
    assert [truth for _, truth in check.leaves] == [True, False]


def test_a_negated_group_is_checked_by_its_own_leaves() -> None:
    model = parse_model("""
name: negated
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
intent: {rules: []}
mql:
  criteria:
    - name: not_a_student_in_the_us
      when:
        not:
          all:
            - {field: contact.country, op: eq, value: US}
            - {field: contact.title, op: contains, value: student}
""", source="negated.yaml")
    x = explain(model, contact(country="US", title="VP Sales"), None, [], at=T0)
    (check,) = x.criteria
    # the group under `not` is shown leaf by leaf: US holds, student does not
    assert check.matched
    assert [truth for _, truth in check.leaves] == [True, False]
