"""`intent_part`: the score from now on without new events, read from the contact's and
the account's states; values by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mql.model.parse import parse_model
from mql.records import Event
from mql.scoring.decay import DecayedSum, MixedCurve
from mql.scoring.intent import IntentState, Program, intent_part, intent_value, rule_key

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
DAY = timedelta(days=1)
MODEL = parse_model("""\
name: parts
decay: {half_life_days: 30}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  rules:
    - {name: committee, level: account, event: page_view, min_count: 2, within_days: 30,
       points: 20}
    - {name: pricing, event: page_view, points: 10, once_per: day, decay: {half_life_days: 7}}
mql:
  thresholds: {total: 45}
""")
PROGRAM = Program(MODEL)
SCORE = MODEL.scores["intent"]


def _views(level: str, *ages: timedelta) -> IntentState:
    state = IntentState.empty()
    for n, age in enumerate(ages):
        state = state.add(Event(f"v{n}", "page_view", T0 - age, contact="jane@acme.example"),
                          PROGRAM, level)  # type: ignore[arg-type]
    return state


def test_an_account_window_that_holds_is_a_step_until_its_oldest_event_leaves() -> None:
    # two page views of the account 10 and 4 days ago: 20 points until the older one is
    # 30 days old, 20 days from now; the contact has none
    account = _views("account", 10 * DAY, 4 * DAY)
    part = intent_part(SCORE, IntentState.empty(), account, T0)
    assert part.terms == ()
    assert part.steps == ((20.0, T0 + 20 * DAY),)
    curve = MixedCurve(T0, 0.0, (part,))
    assert curve.value(T0) == 20.0 == intent_value(SCORE, IntentState.empty(), account, T0)
    assert curve.value(T0 + 20 * DAY) == 0.0


def test_a_sum_kept_before_a_rule_counted_once_per_day_reads_as_its_decayed_sum() -> None:
    # a decayed sum stored under an earlier model (the rule had no once_per): the score
    # and its curve read it alike, 10 points 7 days old at a half-life of 7 days = 5
    stored = IntentState({rule_key("intent", "pricing"): DecayedSum(10.0, T0 - 7 * DAY)},
                         T0 - 7 * DAY)
    part = intent_part(SCORE, stored, IntentState.empty(), T0)
    curve = MixedCurve(T0, 0.0, (part,))
    assert intent_value(SCORE, stored, IntentState.empty(), T0) == pytest.approx(5.0)
    assert curve.value(T0) == pytest.approx(5.0)
    assert curve.value(T0 + 7 * DAY) == pytest.approx(2.5)


def test_a_floored_score_never_reads_under_its_floor_on_its_curve() -> None:
    # an unsubscribe of -30 now, floor -10: the score and its curve read -10 until the
    # -30 decays above it, two half-lives (60 days) later -7.5
    model = parse_model("""\
name: floored
decay: {half_life_days: 30}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  floor: -10
  rules:
    - {name: unsubscribe, event: email_unsubscribe, points: -30}
mql:
  thresholds: {total: 45}
""")
    score = model.scores["intent"]
    state = IntentState.empty().add(
        Event("u", "email_unsubscribe", T0, contact="jane@acme.example"), Program(model))
    curve = MixedCurve(T0, 0.0, (intent_part(score, state, IntentState.empty(), T0),))
    assert intent_value(score, state, IntentState.empty(), T0) == -10.0
    assert curve.value(T0) == -10.0
    assert curve.value(T0 + 60 * DAY) == pytest.approx(-7.5)
    from mql.scoring.intent import plain_curve

    assert not plain_curve(score) and not plain_curve(score)  # a floor: not the closed form


def test_the_trackers_of_a_level_are_its_rules_and_nothing_else() -> None:
    assert [t.key for t in PROGRAM.tracking("account")] == ["intent.committee"]
    assert [t.key for t in PROGRAM.tracking("contact")] == ["intent.pricing"]


CURVED = parse_model("""\
name: curved
decay: {half_life_days: 30}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  max: 30
  rules:
    - {name: attentive, event: page_view, avg: seconds, at_least: 120, within_days: 30,
       points: 5}
    - {name: browsing, event: page_view, min_count: 2, within_days: 30, points: 10}
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {total: 45}
""")


def test_the_curve_of_a_plain_score_adds_every_rule_and_stops_at_max() -> None:
    from mql.scoring.intent import intent_curve, plain_curve

    program, score = Program(CURVED), CURVED.scores["intent"]
    state = IntentState.empty()
    for event in (Event("v1", "page_view", T0 - DAY, contact="j@a.example",
                        properties={"seconds": 200}),
                  Event("v2", "page_view", T0 - DAY, contact="j@a.example",
                        properties={"seconds": 200}),
                  Event("d", "demo_request", T0, contact="j@a.example")):
        state = state.add(event, program)
    curve = intent_curve(score, state, IntentState.empty(), T0)
    # 5 (average 200 s >= 120) + 10 (2 views) + 40 (the demo) = 55, at most 30
    assert curve.value(T0) == 30.0
    # 28 days on: both windows still hold, the demo is worth 40 * 2^(-28/30)
    assert curve.value(T0 + 28 * DAY) == pytest.approx(min(30.0, 15 + 40 * 2 ** (-28 / 30)))
    # 60 days on: the views left their windows 29 days from now; 40 * 2^-2 = 10
    assert curve.value(T0 + 60 * DAY) == pytest.approx(10.0)
    # one half-life, no floor, no lifespan: the closed form (asked twice: the second answer
    # comes from the plan worked out once per score)
    assert plain_curve(score) and plain_curve(score)
    assert not plain_curve(MODEL.scores["intent"])  # a rule with a half-life of its own
    assert not plain_curve(MODEL.scores["intent"])
