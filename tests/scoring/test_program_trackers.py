"""What a compiled `Program` tracks, with the program built inside each test (a program
built at import is made before any test runs): which events an intent rule, a windowed
rule and a fast track count, how merged records join a window, and which model changes
give a program other trackers (an activation carries stored states over only between
programs with equal ones). Values by hand from docs/model.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mql.model.parse import parse_model
from mql.records import Event
from mql.scoring.decay import DecayedSum, RecentTimes
from mql.scoring.intent import IntentState, Program, rule_key

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)

_TEXT = """\
name: trackers
decay: {half_life_days: 45}
fit: {rules: []}
intent:
  rules:
    - {name: pricing, event: page_view, points: 10,
       when: {field: url, op: eq, value: /pricing}}
    - {name: breadth, event: page_view, distinct: url, min_count: 2, within_days: 30,
       points: 5, when: {field: seconds, op: gte, value: 60}}
mql:
  thresholds: {intent: 30}
  criteria:
    - name: webinars
      when: {activity: webinar_attended, min_count: 2, within_days: 30,
             where: {field: live, op: eq, value: "yes"}}
  fast_track:
    - {name: demo, event: demo_request, when: {field: plan, op: eq, value: enterprise}}
"""
PRICING, BREADTH = rule_key("intent", "pricing"), rule_key("intent", "breadth")


def _view(n: int, url: str, seconds: int, at: datetime = T0) -> Event:
    return Event(f"v{n}", "page_view", at, contact="jane@acme.example",
                 properties={"url": url, "seconds": seconds})


def test_an_intent_rule_counts_only_the_events_its_condition_matches() -> None:
    program = Program(parse_model(_TEXT))
    state = IntentState.empty()
    for n, url in enumerate(["/pricing", "/docs", "/blog"]):
        state = state.add(_view(n, url, 10), program)
    # one /pricing view: 10 points, at its time; /docs and /blog earn nothing
    assert state.values[PRICING] == DecayedSum(10.0, T0)


def test_a_windowed_rule_folds_only_the_events_its_condition_matches() -> None:
    program = Program(parse_model(_TEXT))
    short = IntentState.empty()
    for n, url in enumerate(["/a", "/b"]):  # two distinct pages, read 10 s each
        short = short.add(_view(n, url, 10), program)
    assert BREADTH not in short.values
    assert not short.holds(BREADTH, T0, 30)
    read = short.add(_view(3, "/c", 90), program).add(_view(4, "/d", 60), program)
    assert read.holds(BREADTH, T0, 30)  # /c and /d, read 60 s or more


def test_merged_records_join_a_distinct_window() -> None:
    program = Program(parse_model(_TEXT))
    one = IntentState.empty().add(_view(1, "/a", 100, T0 - timedelta(days=2)), program)
    other = IntentState.empty().add(_view(2, "/b", 100, T0), program)
    assert not one.holds(BREADTH, T0, 30) and not other.holds(BREADTH, T0, 30)
    for merged in (one.merge(other, program), other.merge(one, program)):
        # /a and /b: two distinct pages in 30 days once the records are one
        assert merged.holds(BREADTH, T0, 30)
        assert merged.as_of == T0


def test_a_fast_track_counts_only_the_events_its_condition_matches() -> None:
    program = Program(parse_model(_TEXT))
    free = Event("d1", "demo_request", T0, contact="jane@acme.example",
                 properties={"plan": "free"})
    big = Event("d2", "demo_request", T0 + timedelta(hours=1), contact="jane@acme.example",
                properties={"plan": "enterprise"})
    state = IntentState.empty().add(free, program)
    assert "fast_track.demo" not in state.values
    state = state.add(big, program)
    assert state.values["fast_track.demo"] == RecentTimes((T0 + timedelta(hours=1),), 1)


def test_a_criterion_activity_counts_only_the_events_its_condition_matches() -> None:
    program = Program(parse_model(_TEXT))
    key = next(iter(program.activity_keys.values()))
    state = IntentState.empty()
    for n, live in enumerate(["no", "no", "yes"]):
        state = state.add(Event(f"w{n}", "webinar_attended", T0 + timedelta(hours=n),
                                contact="jane@acme.example", properties={"live": live}),
                          program)
    assert state.values[key] == RecentTimes((T0 + timedelta(hours=2),), 2)
    assert not state.holds(key, T0 + timedelta(hours=2), 30)  # one live webinar of two


def test_programs_track_alike_only_when_their_conditions_are_the_same() -> None:
    contact = Program(parse_model(_TEXT)).tracking("contact")
    assert Program(parse_model(_TEXT)).tracking("contact") == contact
    # a model that differs in one condition only builds another state from the same
    # events, so its trackers differ: the intent rule's, the windowed rule's, the
    # criterion's activity and the fast track's
    for was, now in (("value: /pricing", "value: /plans"), ("value: 60", "value: 30"),
                     ('value: "yes"', 'value: "no"'), ("value: enterprise", "value: free")):
        assert was in _TEXT
        changed = Program(parse_model(_TEXT.replace(was, now))).tracking("contact")
        assert changed != contact, now


def test_an_activity_only_a_routing_rule_reads_is_tracked() -> None:
    program = Program(parse_model("""\
name: routed
decay: {half_life_days: 45}
fit: {rules: []}
intent: {rules: []}
mql:
  thresholds: {intent: 30}
routing:
  teams:
    emea: {members: [{name: olu.adeyemi}]}
  rules:
    - {name: webinar_goers, when: {activity: webinar_attended, within_days: 30}, team: emea}
  fallback: emea
"""))
    state = IntentState.empty().add(Event("w", "webinar_attended", T0,
                                          contact="jane@acme.example"), program)
    # the rule's leaf `webinar_attended in the last 30 days` holds from the webinar on
    (key,) = program.activity_keys.values()
    assert state.holds(key, T0 + timedelta(days=29), 30)
    assert not state.holds(key, T0 + timedelta(days=30), 30)
