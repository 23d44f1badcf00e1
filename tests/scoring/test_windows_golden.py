"""Aggregates and sequences in windows, every number worked out by hand: sums, maxima and
distinct counts of event properties, distinct contacts of an account, and sequences
("pricing within 7 days after a webinar", "a demo after 2+ security-docs views"), with
the exact moments they stop holding (qualified until, exit)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model
from mql.records import Event
from mql.scoring.explain import explain
from mql.scoring.intent import IntentState, Program, state_from_dict
from mql.scoring.scorer import Scorer, score
from mql.scoring.windows import DistinctTimes, SequenceTimes, WindowSum
from tests.conftest import T0, account, contact, event

GOLDEN = """
name: windows
fit: {rules: []}
intent:
  rules:
    - {name: reading, event: page_view, sum: seconds, at_least: 600, within_days: 30, points: 10}
    - {name: breadth, event: page_view, distinct: url, min_count: 3, within_days: 30, points: 5}
    - {name: long_read, event: page_view, max: seconds, at_least: 300, within_days: 10, points: 2}
    - name: committee
      event: [page_view, form_submit]
      distinct: contact
      min_count: 2
      within_days: 30
      level: account
      points: 20
    - name: pricing_after_webinar
      event: page_view
      when: {field: url, op: contains, value: /pricing}
      within_days: 14
      after: {event: webinar_attended, within_days: 7}
      points: 25
mql:
  thresholds: {intent: 40}
  criteria:
    - name: security_then_demo
      when:
        activity: demo_request
        within_days: 30
        after:
          activity: page_view
          where: {field: url, op: starts_with, value: /docs/security}
          min_count: 2
exit:
  below: {intent: 10}
"""

JANE = contact("jane@acme.example")
BO = contact("bo@acme.example")
ACME = account("acme.example")
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def golden():
    return parse_model(GOLDEN, source="windows.yaml")


def rule_points(model, events, at=T0, who=JANE):
    """Each intent rule's value for `who` at `at`."""
    scorer = Scorer(model)
    for c in (JANE, BO):
        scorer.add_contact(c)
    scorer.add_account(ACME)
    applied = [e for e in events if scorer.add(e, until=at)]
    x = explain(model, who, ACME, applied, at=at, contacts=[JANE, BO])
    return {r.rule: r.value for r in x.rules}, x


# -- sums and maxima -------------------------------------------------------------------------

SECONDS = [
    event("page_view", 20, seconds=300),
    event("page_view", 10, seconds=200),
    event("page_view", 2, seconds="250"),  # text that reads as a number counts
    event("page_view", 1, seconds=-50),  # a negative value counts 0
    event("page_view", 1, seconds="n/a", event_id="na"),  # not a number: 0
]


def test_a_sum_of_seconds_in_the_window_reaches_its_line(golden) -> None:
    values, x = rule_points(golden, SECONDS)
    # 300 + 200 + 250 = 750 >= 600; the max in 10 days is 250 (the 200 is exactly 10 days
    # old: out of (t - 10 days, t])
    assert values["reading"] == 10.0
    assert values.get("long_read", 0.0) == 0.0
    line = next(r for r in x.rules if r.rule == "reading")
    assert line.note == "sum of seconds 750 in 30 days, needs 600"
    assert x.decision.intent == 10.0


def test_a_sum_stops_holding_exactly_when_the_events_it_needs_age_out(golden) -> None:
    # newest first: 250 + 200 = 450 < 600, + 300 = 750: the view of 20 days ago is needed,
    # so the sum holds until it is 30 days old: T0 + 10 days
    d = score(golden, [JANE], [ACME], SECONDS, at=T0)[0]
    assert d.exit_at == T0 + 10 * DAY
    before = score(golden, [JANE], [ACME], SECONDS, at=T0 + 10 * DAY - timedelta(microseconds=1))
    after = score(golden, [JANE], [ACME], SECONDS, at=T0 + 10 * DAY)
    assert before[0].intent == 10.0 and after[0].intent == 0.0


def test_a_max_holds_while_one_event_reaches_its_line(golden) -> None:
    values, x = rule_points(golden, [event("page_view", 4, seconds=320),
                                     event("page_view", 1, seconds=100)])
    assert values["long_read"] == 2.0
    assert next(r for r in x.rules if r.rule == "long_read").note == (
        "max of seconds 320 in 10 days, needs 300")
    state = IntentState.empty().add(event("page_view", 4, seconds=320), Program(golden))
    assert state.expiry("intent.long_read", 10) == T0 + 6 * DAY
    assert Program(golden).trackers[2].keep == 1  # a max is a count of events at its line


# -- distinct values and distinct contacts ---------------------------------------------------

PAGES = [
    event("page_view", 25, url="/a"),
    event("page_view", 20, url="/b"),
    event("page_view", 5, url="/a"),
    event("page_view", 3, url="/B"),  # values are compared as written: /B is not /b
    event("page_view", 1, url=" "),  # blank: missing, not a value
]


def test_three_distinct_pages_in_the_window(golden) -> None:
    values, x = rule_points(golden, PAGES)
    assert values["breadth"] == 5.0
    assert next(r for r in x.rules if r.rule == "breadth").note == (
        "3 distinct url in 30 days (/B, /a, /b), needs 3")
    # latest of each: /a 5 days ago, /b 20, /B 3: the window loses /b at T0 + 10 days
    scorer = Scorer(golden)
    scorer.add_contact(JANE)
    for e in PAGES:
        scorer.add(e)
    state, _ = scorer.states_of(JANE.email)
    assert state.expiry("intent.breadth", 30) == T0 + 10 * DAY
    again = [*PAGES, event("page_view", 1, url="/b")]  # /b seen again: /a is now the oldest
    later = IntentState.empty()
    for e in again:
        later = later.add(e, scorer.program)
    assert later.expiry("intent.breadth", 30) == T0 + 25 * DAY


def test_two_distinct_contacts_of_the_account(golden) -> None:
    events = [event("page_view", 12, contact="jane@acme.example", account="acme.example"),
              event("form_submit", 3, contact="bo@acme.example", account="acme.example"),
              event("page_view", 1, contact="jane@acme.example", account="acme.example"),
              event("page_view", 0, contact=None, account="acme.example")]  # no contact
    jane, _ = rule_points(golden, events, who=JANE)
    bo, x = rule_points(golden, events, who=BO)
    assert jane["committee"] == bo["committee"] == 20.0
    assert next(r for r in x.rules if r.rule == "committee").note == (
        "2 distinct contact in 30 days (bo@acme.example, jane@acme.example), needs 2")
    alone, _ = rule_points(golden, [events[0], events[2], events[3]], who=JANE)
    assert alone.get("committee", 0.0) == 0.0
    scorer = Scorer(golden)
    for e in events:
        scorer.add(e)
    # jane's latest 1 day ago, bo's 3 days ago: two contacts until bo's view is 30 days old
    assert scorer.account_states["acme.example"].expiry("intent.committee", 30) == T0 + 27 * DAY


# -- sequences --------------------------------------------------------------------------------

@pytest.mark.parametrize(("webinar", "pricing", "points"), [
    (10, 5, 25.0),  # 5 days after the webinar, 5 days ago
    (10, 3 + 1e-6, 25.0),  # just under 7 days after
    (10, 3, 0.0),  # exactly 7 days after: the gap is (b - 7 days, b)
    (10, 10, 0.0),  # at the same moment: the earlier event must come strictly before
    (5, 10, 0.0),  # pricing before the webinar
    (20, 15, 0.0),  # 5 days after, but 15 days ago: out of the 14-day window
])
def test_pricing_within_seven_days_after_a_webinar(golden, webinar, pricing, points) -> None:
    events = [event("webinar_attended", webinar), event("page_view", pricing, url="/pricing")]
    values, _ = rule_points(golden, events)
    assert values.get("pricing_after_webinar", 0.0) == points
    late_first = list(reversed(events))  # the webinar arrives late: same answer
    assert rule_points(golden, late_first)[0].get("pricing_after_webinar", 0.0) == points


def test_a_sequence_holds_until_its_latest_completed_event_leaves_the_window(golden) -> None:
    events = [event("webinar_attended", 10), event("page_view", 5, url="/pricing"),
              event("page_view", 1, url="/pricing")]  # 9 days after: too late to count
    _, x = rule_points(golden, events)
    line = next(r for r in x.rules if r.rule == "pricing_after_webinar")
    assert line.value == 25.0 and line.events == 1
    assert line.note.startswith("1 of 2 page_view in 14 days after 1+ webinar_attended "
                                "within 7 days before, the latest ")
    state = IntentState.empty()
    for e in events:
        state = state.add(e, Program(golden))
    assert state.expiry("intent.pricing_after_webinar", 14) == T0 + 9 * DAY


def demo_after(views: list[float], demo: float) -> list[Event]:
    return [*[event("page_view", d, url="/docs/security/sso") for d in views],
            event("demo_request", demo)]


@pytest.mark.parametrize(("views", "qualifies"), [
    ([20, 12], True),  # two views, then the demo
    ([12], False),  # one view only
    ([20, 1], False),  # the second view came after the demo
    ([60, 40], True),  # no gap given: any time before
])
def test_a_demo_request_after_two_security_docs_views(golden, views, qualifies) -> None:
    d = score(golden, [JANE], [ACME], demo_after(views, 5), at=T0)[0]
    assert d.mql is qualifies
    if qualifies:
        assert [r.name for r in d.reasons] == ["security_then_demo"]
        assert d.qualified_until == T0 + 25 * DAY  # the demo leaves the 30-day window
        x = explain(golden, JANE, ACME, demo_after(views, 5), at=T0)
        assert x.criteria[0].leaves == ((
            "1+ demo_request after 2+ page_view where url starts_with '/docs/security' "
            "in 30 days", True),)


# -- bounded, versioned state ------------------------------------------------------------------

def test_window_states_stay_small_however_many_events(golden) -> None:
    program = Program(golden)
    state = IntentState.empty()
    for i in range(300):
        state = state.add(event("page_view", 29 - i / 12, url=f"/p{i}", seconds=100,
                                event_id=f"v{i}"), program)
    for i in range(50):
        state = state.add(event("webinar_attended", 29 - i / 2, event_id=f"w{i}"), program)
    breadth = state.values["intent.breadth"]
    reading = state.values["intent.reading"]
    assert isinstance(breadth, DistinctTimes) and len(breadth.latest) == 3
    assert isinstance(reading, WindowSum) and len(reading.sums) == 6  # 6 x 100 = 600
    sequence = state.values["intent.pricing_after_webinar"]
    assert isinstance(sequence, SequenceTimes)
    assert len(sequence.priors) <= 2 * 21  # the webinars of the last 14 + 7 days only


def test_a_state_stored_before_windows_existed_still_loads(golden) -> None:
    old = {"as_of": "2026-03-01T10:00:00+00:00", "values": {
        "intent.old": {"sum": 12.5, "as_of": "2026-03-01T10:00:00+00:00"},
        "activity.0": {"times": ["2026-03-01T10:00:00+00:00"], "keep": 1}}}
    state = state_from_dict(old)
    state = state.add(event("page_view", 0, url="/a", seconds=700), Program(golden))
    assert state.holds("intent.reading", T0, 30)
    assert state.values["intent.old"] == state_from_dict(old).values["intent.old"]


# -- mistakes, located ---------------------------------------------------------------------------

BASE = """name: m
fit: {rules: []}
intent:
  rules:
    - RULE
mql: {thresholds: {intent: 1}}
"""


@pytest.mark.parametrize(("rule", "message"), [
    ("{name: r, event: page_view, sum: seconds, within_days: 30, points: 1}",
     "m.yaml:5:40 intent.rules[0].sum: at_least is required with sum (the line the sum must "
     "reach, > 0)"),
    ("{name: r, event: page_view, sum: seconds, at_least: 600, points: 1}",
     "m.yaml:5:7 intent.rules[0]: within_days is required with sum, at_least (the window, "
     "in days)"),
    ("{name: r, event: page_view, distinct: url, at_least: 3, within_days: 30, points: 1}",
     "m.yaml:5:50 intent.rules[0].at_least: distinct counts values: say how many with "
     "min_count"),
    ("{name: r, event: page_view, sum: seconds, at_least: 9, min_count: 2, within_days: 3, "
     "points: 1}",
     "m.yaml:5:62 intent.rules[0].min_count: a sum is compared with at_least, not min_count; "
     "remove min_count"),
    ("{name: r, event: page_view, distinct: contact, min_count: 2, within_days: 3, points: 1}",
     "m.yaml:5:45 intent.rules[0].distinct: distinct contacts count an account's events: use "
     "it in an intent rule with level: account"),
    ("{name: r, event: page_view, sum: page-seconds, at_least: 9, within_days: 3, points: 1}",
     "m.yaml:5:40 intent.rules[0].sum: sum names an event property (such as seconds or url), "
     'got "page-seconds"'),
    ("{name: r, event: page_view, distinct: url, sum: seconds, within_days: 3, points: 1}",
     "m.yaml:5:50 intent.rules[0].sum: a window measures one thing; choose distinct or sum"),
    ("{name: r, event: page_view, within_days: 3, points: 1, after: {event: webinar}}",
     'm.yaml:5:77 intent.rules[0].after.event: unknown event "webinar"; declare custom types '
     "under event_types"),
    ("{name: r, event: page_view, within_days: 3, min_count: 2, points: 1, "
     "after: {event: webinar_attended}}",
     "m.yaml:5:51 intent.rules[0].min_count: a sequence counts once; say how many earlier "
     "events it needs with after.min_count"),
    ("{name: r, event: page_view, within_days: 3, points: 1, after: {event: form_submit, "
     "within_days: 0}}",
     "m.yaml:5:103 intent.rules[0].after.within_days: expected a number > 0, got 0"),
    ("{name: r, event: page_view, within_days: 3, points: 1, after: [form_submit]}",
     "m.yaml:5:69 intent.rules[0].after: expected the earlier events: {event: E, when: ..., "
     "min_count: N, within_days: D}"),
    ("{name: r, event: page_view, cap: 5, sum: seconds, at_least: 1, within_days: 3, "
     "points: 1}",
     "m.yaml:5:40 intent.rules[0].cap: a windowed rule scores its points once; cap has no "
     "effect here, remove it"),
])
def test_each_window_mistake_is_located(rule: str, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        parse_model(BASE.replace("RULE", rule), source="m.yaml")
    assert [str(p) for p in caught.value.problems] == [message]


def test_window_mistakes_in_criteria_are_located() -> None:
    text = BASE.replace("RULE", "{name: r, event: page_view, points: 1}").replace(
        "mql: {thresholds: {intent: 1}}", """mql:
  criteria:
    - name: c
      when: {activity: page_view, within_days: 3, max: seconds, after: {activity: x}}""")
    with pytest.raises(ModelError) as caught:
        parse_model(text, source="m.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "m.yaml:9:51 mql.criteria[0].when.max: a sequence (after) cannot also take a max; "
        "use two rules",
        "m.yaml:9:56 mql.criteria[0].when.max: at_least is required with max (the line the "
        "max must reach, > 0)",
        'm.yaml:9:83 mql.criteria[0].when.after.activity: unknown event "x"; declare custom '
        "types under event_types",
    ]


def test_window_mistakes_are_reported_with_the_shape_mistakes_of_the_same_file() -> None:
    text = BASE.replace("RULE", """{name: a, event: page_view, sum: secs, within_days: 3, points: 1}
    - {name: b, event: page_view, distinct: contact, min_count: 2, within_days: 3, points: 1}
    - {name: c, event: page_view, points: 1, after: {event: webinar}}
    - {name: e, event: page_view, sum: 5, at_least: 1, within_days: 3, points: 1}""")
    with pytest.raises(ModelError) as caught:
        parse_model(text, source="m.yaml")
    assert [str(p).split(": ", 1)[0] for p in caught.value.problems] == [
        "m.yaml:5:40 intent.rules[0].sum",  # at_least is required
        "m.yaml:6:45 intent.rules[1].distinct",  # distinct contacts of one contact
        "m.yaml:7:7 intent.rules[2]",  # within_days is required
        "m.yaml:7:61 intent.rules[2].after.event",  # unknown event
        "m.yaml:8:40 intent.rules[3].sum",  # the shape: expected text, got 5
    ]


COMMITTEE = """
name: committee
fit: {rules: []}
intent: {rules: []}
scores:
  committee:
    kind: intent
    decay: none
    rules:
      - {name: two_people_active, level: account, event: [page_view, form_submit],
         distinct: contact, min_count: 2, within_days: 30, points: 1}
mql:
  criteria:
    - name: buying_committee_active
      when: {field: score.committee, op: gte, value: 1}
"""


def test_an_account_committee_qualifies_its_contacts_through_a_score() -> None:
    from mql.batch.asof import AsOf
    from mql.batch.engines import Inputs, connect

    model = parse_model(COMMITTEE, source="committee.yaml")
    events = [event("page_view", 20, contact="jane@acme.example"),
              event("form_submit", 4, contact="bo@acme.example")]
    decisions = score(model, [JANE, BO], [ACME], events, at=T0)
    assert [d.mql for d in decisions] == [True, True]
    # jane's view of 20 days ago leaves the window at T0 + 10 days: the committee is one
    assert {d.qualified_until for d in decisions} == {T0 + 10 * DAY}
    engine = connect("duckdb")
    try:
        rows = engine.rescore(model, Inputs([JANE, BO], [ACME], events),
                              AsOf(T0, 5 * DAY, 3)).to_pylist()
    finally:
        engine.close()
    mine = sorted((r["as_of"], r["mql"]) for r in rows if r["contact"] == JANE.email)
    assert [mql for _, mql in mine] == [True, True, False]  # T0, T0 + 5 days, T0 + 10 days


# -- averages: they can start holding as events age out -------------------------------------------

AVERAGE = """
name: average
fit: {rules: []}
intent:
  rules:
    - {name: attentive, event: page_view, avg: seconds, at_least: 100, within_days: 30,
       points: 10}
mql:
  thresholds: {intent: 10}
exit:
  below: {intent: 10}
"""


def test_an_average_stops_when_a_long_visit_ages_out() -> None:
    model = parse_model(AVERAGE, source="average.yaml")
    views = [event("page_view", 20, seconds=300), event("page_view", 10, seconds=30),
             event("page_view", 2, seconds="30"), event("page_view", 1, seconds="n/a")]
    d = score(model, [JANE], [ACME], views, at=T0)[0]
    # (300 + 30 + 30) / 3 = 120 >= 100 ("n/a" is left out); without the 300: 30
    assert d.mql and d.intent == 10.0
    assert d.qualified_until == d.exit_at == T0 + 10 * DAY
    x = explain(model, JANE, ACME, views, at=T0)
    assert x.rules[0].note == "avg of seconds 120 over 3 in 30 days, needs 100"


def test_an_average_can_start_holding_without_new_events_and_stop_again() -> None:
    model = parse_model(AVERAGE, source="average.yaml")
    views = [event("page_view", 20, seconds=10), event("page_view", 10, seconds=150),
             event("page_view", 2, seconds=60)]
    # now (10 + 150 + 60) / 3 = 73.3; at T0 + 10 days the 10 leaves: 105; at T0 + 20 days
    # the 150 leaves: 60; at T0 + 28 days nothing is left
    state = IntentState.empty()
    for e in views:
        state = state.add(e, Program(model))
    assert state.flips("intent.attentive", T0, 30) == [T0 + 10 * DAY, T0 + 20 * DAY]
    assert not score(model, [JANE], [ACME], views, at=T0)[0].mql
    later = score(model, [JANE], [ACME], views, at=T0 + 10 * DAY)[0]
    assert later.mql and later.qualified_until == T0 + 20 * DAY
    scorer = Scorer(model)
    scorer.add_contact(JANE)
    for e in views:
        scorer.add(e)
    fits = scorer.qualifier.fits(JANE, None)
    assert scorer.qualifier.crossings("intent", 10, fits, state, IntentState.empty(), T0) == [
        T0 + 10 * DAY, T0 + 20 * DAY]
