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


_SEQUENCE = parse_model("""\
name: sequence
decay: {half_life_days: 45}
fit: {rules: []}
intent:
  rules:
    - {name: pricing_after_webinar, event: page_view, within_days: 14, points: 25,
       when: {field: url, op: eq, value: /pricing},
       after: {event: webinar_attended, within_days: 7,
               when: {field: live, op: eq, value: "yes"}}}
mql:
  thresholds: {intent: 30}
""")
SEQUENCE = rule_key("intent", "pricing_after_webinar")


def _sequence(*events: tuple[str, timedelta, dict[str, object]]) -> IntentState:
    program = Program(_SEQUENCE)
    state = IntentState.empty()
    for n, (kind, after, properties) in enumerate(events):
        state = state.add(Event(f"s{n}", kind, T0 + after, contact="jane@acme.example",
                                properties=properties), program)
    return state


def test_a_sequence_counts_only_the_events_both_its_conditions_match() -> None:
    day = timedelta(days=1)
    live, recorded = {"live": "yes"}, {"live": "no"}
    pricing, docs = {"url": "/pricing"}, {"url": "/docs"}
    # a live webinar, then /pricing a day later: holds from the view for 14 days, the
    # window (t - 14 days, t] leaving the view out exactly 14 days after it
    state = _sequence(("webinar_attended", 0 * day, live), ("page_view", day, pricing))
    assert state.holds(SEQUENCE, T0 + day, 14)
    assert state.holds(SEQUENCE, T0 + 15 * day - timedelta(seconds=1), 14)
    assert not state.holds(SEQUENCE, T0 + 15 * day, 14)
    # a recorded webinar is not the earlier event; /docs is not the later one
    assert not _sequence(("webinar_attended", 0 * day, recorded),
                         ("page_view", day, pricing)).holds(SEQUENCE, T0 + day, 14)
    assert not _sequence(("webinar_attended", 0 * day, live),
                         ("page_view", day, docs)).holds(SEQUENCE, T0 + day, 14)
    # a webinar with a /pricing url is still a webinar, not the page view the rule waits for
    assert not _sequence(("webinar_attended", 0 * day, live),
                         ("webinar_attended", day, {"live": "yes", "url": "/pricing"})
                         ).holds(SEQUENCE, T0 + day, 14)


def test_a_late_earlier_event_completes_a_waiting_one_after_an_earlier_sequence() -> None:
    day = timedelta(days=1)
    live, pricing = {"live": "yes"}, {"url": "/pricing"}
    # webinar at day 0, /pricing at day 1: a sequence; /pricing at day 10 waits (its
    # webinar must be within the 7 days before it); the webinar of day 9, arriving last,
    # completes it: the sequence then holds until day 24, not only until day 15
    state = _sequence(("webinar_attended", 0 * day, live), ("page_view", day, pricing),
                      ("page_view", 10 * day, pricing), ("webinar_attended", 9 * day, live))
    assert state.holds(SEQUENCE, T0 + 20 * day, 14)
    assert not state.holds(SEQUENCE, T0 + 24 * day, 14)
    # a webinar of day 5 after that first sequence is kept for a view within its 7 days:
    # /pricing at day 10 follows it, and the sequence holds until day 24
    state = _sequence(("webinar_attended", 0 * day, live), ("page_view", day, pricing),
                      ("webinar_attended", 5 * day, live), ("page_view", 10 * day, pricing))
    assert state.holds(SEQUENCE, T0 + 20 * day, 14)
    assert not state.holds(SEQUENCE, T0 + 24 * day, 14)


def test_distinct_values_arriving_out_of_order_keep_the_latest_ones() -> None:
    program = Program(parse_model(_TEXT))
    state = IntentState.empty()
    day = timedelta(days=1)
    for n, (url, at) in enumerate([("/a", T0), ("/b", T0 + 2 * day), ("/c", T0 + day)]):
        state = state.add(_view(n, url, 90, at), program)
    # the two latest distinct pages are /c (day 1) and /b (day 2): 2 in the 30 days
    # up to day 30.5, which no longer hold /a's day 0
    assert state.holds(BREADTH, T0 + 30 * day + timedelta(hours=12), 30)
    assert not state.holds(BREADTH, T0 + 31 * day, 30)
