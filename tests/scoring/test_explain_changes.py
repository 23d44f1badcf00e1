"""What would change a decision (`Explanation.changes`), in words, with every number worked
out by hand: when an MQL stops qualifying and exits (days, or hours under a day and a
half), and which single event would close a threshold's gap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mql.model.parse import parse_model
from mql.scoring.explain import explain
from tests.conftest import T0, account, contact, event
from tests.scoring.test_golden import ACME, EVENTS, GOLDEN, JANE

# T0 is 2026-03-02 10:00 UTC


def test_an_mql_is_told_when_it_stops_qualifying_and_when_it_exits() -> None:
    x = explain(parse_model(GOLDEN), JANE, ACME, EVENTS, at=T0)
    # intent 37.5 halves every 10 days: under 30 after 10 log2(1.25) = 3.2193 days
    # (3 d 5 h 15.8 min), under 10 after 10 log2(3.75) = 19.0689 days (19 d 1 h 39.2 min)
    assert x.changes == (
        "stops qualifying without new activity on 2026-03-05 15:15 UTC (in 3 days)",
        "the exit rule (intent < 10) returns an unaccepted MQL to nurture on "
        "2026-03-21 11:39 UTC (in 19 days)",
    )


@pytest.mark.parametrize(("demo_days_ago", "until", "span"), [
    (6.5, "2026-03-02 22:00", "12 hours"),  # a 7-day fast track with half a day left
    (5.5, "2026-03-03 22:00", "2 days"),  # exactly 1.5 days: counted in days, rounded
    (5.75, "2026-03-03 16:00", "30 hours"),  # 1.25 days: in hours
])
def test_under_a_day_and_a_half_the_time_left_is_in_hours(
        demo_days_ago: float, until: str, span: str) -> None:
    kim = contact("kim@gmail.com")
    demo = [event("demo_request", demo_days_ago, contact="kim@gmail.com")]
    x = explain(parse_model(GOLDEN), kim, None, demo, at=T0)
    assert x.decision.mql
    assert x.changes[0] == f"stops qualifying without new activity on {until} UTC (in {span})"


HINTS = """
name: hints
decay: none
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  rules:
    - {name: binge, event: page_view, min_count: 5, within_days: 7, points: 100}
    - {name: demo, event: demo_request, points: 40, cap: 50}
    - {name: webinar, event: webinar_attended, points: 10, cap: 10}
mql:
  thresholds: [{fit: 10, intent: THRESHOLD}, {total: TOTAL}]
"""


def _changes(threshold: int, total: int, *kinds: str) -> tuple[str, ...]:
    model = parse_model(HINTS.replace("THRESHOLD", str(threshold)).replace("TOTAL", str(total)))
    events = [event(kind, 0.5 + n / 10) for n, kind in enumerate(kinds)]
    return explain(model, contact("jane@acme.example", country="DE"), account(), events,
                   at=T0).changes


def test_the_hint_names_the_largest_rule_that_closes_a_gap_on_its_own() -> None:
    # no events, fit 0: the fit gap has no event to close it, the intent gap of 30 is
    # closed by one demo (+40); a window rule (binge, 5 views) is never "one event"
    assert _changes(30, 200) == (
        "thresholds #1 need fit +10 (0 -> 10) and intent +30 (0 -> 30); one demo_request "
        "(demo, +40) would do",
        "thresholds #2 need total +200 (0 -> 200)",
    )
    # a total gap is closed by intent events too: 8 points, the largest rule first
    assert _changes(30, 8)[1] == ("thresholds #2 need total +8 (0 -> 8); one demo_request "
                                  "(demo, +40) would do")


def test_a_cap_leaves_only_its_room_and_a_rule_exactly_at_the_gap_closes_it() -> None:
    # one demo (40 of its cap 50): the next demo adds 10 only; gap 10: the demo's room
    # (10) closes it exactly, the webinar (10 of cap 10) too but comes later
    assert _changes(50, 200, "demo_request")[0] == (
        "thresholds #1 need fit +10 (0 -> 10) and intent +10 (40 -> 50); one demo_request "
        "(demo, +10) would do")
    # gap 11: neither the demo's 10 nor the webinar's 10 is enough
    assert _changes(51, 200, "demo_request")[0] == (
        "thresholds #1 need fit +10 (0 -> 10) and intent +11 (40 -> 51)")
    # two demos fill the cap: the webinar's 10 closes a gap of 10
    assert _changes(60, 200, "demo_request", "demo_request")[0] == (
        "thresholds #1 need fit +10 (0 -> 10) and intent +10 (50 -> 60); one "
        "webinar_attended (webinar, +10) would do")


def test_a_window_rule_is_never_hinted_even_when_it_would_close_the_gap() -> None:
    # the binge rule (+100) would close a gap of 45, but needs five views: the demo
    # cannot (cap 50 - 40 = 10), nor the webinar (10): no hint
    assert _changes(85, 200, "demo_request")[0] == (
        "thresholds #1 need fit +10 (0 -> 10) and intent +45 (40 -> 85)")


def test_the_explained_score_is_capped_at_the_score_maximum() -> None:
    capped = GOLDEN.replace("intent:\n  rules:", "intent:\n  max: 30\n  rules:")
    x = explain(parse_model(capped), JANE, ACME, EVENTS, at=T0)
    # the lines add to 37.5, the score's maximum is 30
    assert x.score_total("intent") == 30.0 == x.decision.intent


def test_each_leaf_of_a_criterion_is_shown_with_its_truth(example_model) -> None:
    # the example model's US mid-market criterion: a US contact of a 300-person account
    # with three page views this month (and nothing else)
    jane = contact("jane@acme.example", country="US")
    views = [event("page_view", d, url="/blog") for d in (1, 2, 3)]
    x = explain(example_model, jane, account("acme.example", employees=300), views, at=T0)
    [check] = x.criteria
    assert (check.name, check.matched) == ("us_midmarket_engaged", True)
    assert [truth for _, truth in check.leaves] == [
        True,   # contact.country eq US
        True,   # account.employees between 50 and 500
        False,  # a whitepaper download in 30 days
        False,  # a webinar in 30 days
        True,   # 3+ page views in 30 days
        False,  # a demo request in 30 days
        True,   # not a competitor or customer account
    ]
    assert check.leaves[4][0] == "3+ page_view in 30 days"
    assert x.decision.mql and [r.kind for r in x.decision.reasons] == ["criteria"]
    # the criterion holds until its 30-day window loses the view of 3 days ago
    assert x.decision.qualified_until == T0 + timedelta(days=27)


def test_explain_counts_only_events_up_to_its_time_and_colleagues_account_events(
        example_model) -> None:
    jane = contact("jane@acme.example", country="US")
    bo = contact("bo@acme.example")
    acme = account("acme.example", employees=300)
    # a demo tomorrow does not count today; bo's intent surge (strength 80) names no
    # account: it counts for acme, bo's account, and so for jane: 10 points, 1 day old
    history = [event("demo_request", -1), event("intent_surge", 1, contact="bo@acme.example",
                                                strength=80)]
    x = explain(example_model, jane, acme, history, at=T0, contacts=[bo])
    [surge] = [r for r in x.rules if r.rule == "account_surge"]
    assert surge.value == pytest.approx(10 * 2 ** (-1 / 45), rel=1e-12)
    assert [r.rule for r in x.rules if r.value] == ["account_surge"]


def test_the_hint_names_every_event_type_of_a_rule() -> None:
    model = parse_model("""
name: hand_raise
decay: none
fit: {rules: []}
intent:
  rules:
    - {name: hand_raise, event: [demo_request, trial_signup], points: 40}
mql:
  thresholds: [{intent: 30}]
""")
    x = explain(model, contact("jane@acme.example"), None, [], at=T0)
    assert x.changes == ("thresholds #1 need intent +30 (0 -> 30); one "
                         "demo_request/trial_signup (hand_raise, +40) would do",)


def test_what_would_change_a_lead_names_fast_tracks_and_fields_worth_enriching() -> None:
    model = parse_model("""
name: changes
decay: none
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
    - {name: not_us, when: {field: contact.country, op: ne, value: US}, points: -5}
    - {name: half, when: {field: contact.country, op: eq, value: CA}, points: 0.5}
    - {name: big, when: {field: account.employees, op: gte, value: 200}, points: 10}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: [{fit: 10, intent: 30}]
  fast_track:
    - {name: hand_raise, event: [demo_request, trial_signup]}
""")
    # fit exactly at its minimum (10 employees rule) is no gap; intent 0 is
    x = explain(model, contact("jane@acme.example", country="US"), account(employees=20),
                [], at=T0)
    assert x.changes == (
        "thresholds #1 need intent +30 (0 -> 30); one demo_request (demo, +40) would do",
        "a demo_request or trial_signup event would qualify at once (fast-track hand_raise)",
    )
    unknown = explain(model, contact("kim@acme.example"), account(employees=500), [], at=T0)
    assert unknown.changes[-1] == ("contact.country is unknown; enriching it may change "
                                   "us (+10), not_us (-5), half (+0.5)")


def test_a_rule_of_zero_points_at_stake_reads_plus_zero() -> None:
    model = parse_model("""
name: zero
fit:
  rules:
    - {name: tracked, when: {field: contact.country, op: eq, value: US}, points: 0}
intent: {rules: []}
mql:
  thresholds: [{fit: 10}]
""")
    x = explain(model, contact("kim@acme.example"), None, [], at=T0)
    assert x.changes[-1] == "contact.country is unknown; enriching it may change tracked (+0)"
