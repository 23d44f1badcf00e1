"""Two records of one person as one intent state (`IntentState.merge`): sums decayed to the
later record's time and added, the latest window times kept, the later stamp; values by
hand (half-life 45 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.parse import parse_model
from mql.records import Event
from mql.scoring.decay import DecayedSum, RecentTimes
from mql.scoring.intent import IntentState, Program, rule_key

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
MODEL = parse_model("""\
name: merge
decay: {half_life_days: 45}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: browsing, event: page_view, min_count: 3, within_days: 30, points: 10}
mql:
  thresholds: {total: 45}
""")
PROGRAM = Program(MODEL)
DEMO, BROWSING = rule_key("intent", "demo"), rule_key("intent", "browsing")


def _state(*events: tuple[str, timedelta]) -> IntentState:
    state = IntentState.empty()
    for n, (kind, before) in enumerate(events):
        state = state.add(Event(f"e{n}", kind, T0 - before, contact="jane@acme.example"),
                          PROGRAM)
    return state


def test_two_records_merge_into_the_state_of_their_joint_history() -> None:
    day = timedelta(days=1)
    older = _state(("demo_request", 45 * day), ("page_view", 2 * day), ("page_view", 9 * day))
    newer = _state(("demo_request", 0 * day), ("page_view", 3 * day), ("page_view", 20 * day))
    for merged in (older.merge(newer, PROGRAM), newer.merge(older, PROGRAM)):
        # 40 now + 40 one half-life ago = 40 + 20
        assert merged.values[DEMO] == DecayedSum(60.0, T0)
        # the three latest page views of both records
        assert merged.values[BROWSING] == RecentTimes((T0 - 9 * day, T0 - 3 * day, T0 - 2 * day),
                                                      3)
        assert merged.as_of == T0


def test_a_rule_only_one_record_has_is_taken_as_it_is() -> None:
    day = timedelta(days=1)
    demo_only = _state(("demo_request", 10 * day))
    views_only = _state(("page_view", 1 * day))
    merged = demo_only.merge(views_only, PROGRAM)
    assert merged.values[DEMO] == DecayedSum(40.0, T0 - 10 * day)
    assert merged.values[BROWSING] == RecentTimes((T0 - day,), 3)
    assert merged.as_of == T0 - day
    assert IntentState.empty().merge(IntentState.empty(), PROGRAM) == IntentState.empty()


def test_a_state_without_events_is_stored_and_read_back_without_a_time() -> None:
    from mql.scoring.intent import days_between, state_from_dict, state_to_dict

    assert state_to_dict(IntentState.empty()) == {"as_of": None, "values": {}}
    assert state_from_dict({"as_of": None, "values": {}}) == IntentState.empty()
    assert days_between(T0, T0 + timedelta(hours=36)) == 1.5


WINDOWED = parse_model("""\
name: merge_windows
decay: {half_life_days: 45}
fit: {rules: []}
intent:
  rules:
    - {name: reading, event: page_view, sum: seconds, at_least: 600, within_days: 30,
       points: 15}
    - {name: webinar, event: webinar_attended, points: 20, once_per: day}
mql:
  thresholds: {intent: 30}
""")
WINDOWED_PROGRAM = Program(WINDOWED)
READING, WEBINAR = rule_key("intent", "reading"), rule_key("intent", "webinar")


def _windowed(*events: tuple[str, datetime, dict[str, object]]) -> IntentState:
    state = IntentState.empty()
    for n, (kind, at, properties) in enumerate(events):
        state = state.add(Event(f"w{n}", kind, at, contact="jane@acme.example",
                                properties=properties), WINDOWED_PROGRAM)
    return state


def test_merged_records_join_their_windows_and_count_a_day_once() -> None:
    from mql.scoring.decay import EventLog
    from mql.scoring.intent import rule_value
    from mql.scoring.windows import WindowSum

    day = timedelta(days=1)
    # 400 seconds read on one record, 250 on the other: 650 >= 600 together only
    one = _windowed(("page_view", T0 - 2 * day, {"seconds": 400}),
                    ("webinar_attended", T0, {}))
    other = _windowed(("page_view", T0 - day, {"seconds": 250}),
                      ("webinar_attended", T0 + timedelta(hours=3), {}))
    rules = {r.name: r for r in WINDOWED.scores["intent"].rules}
    for merged in (one.merge(other, WINDOWED_PROGRAM), other.merge(one, WINDOWED_PROGRAM)):
        assert merged.values[READING] == WindowSum(
            ((T0 - 2 * day, 400.0), (T0 - day, 250.0)), 600.0, T0 - day)  # its last page view
        assert merged.holds(READING, T0, 30)
        assert merged.expiry(READING, 30) == T0 + 28 * day  # when the 400 leaves
        # two webinars on the same UTC day: `once_per: day` counts the first only,
        # 3 hours (0.125 days) later: 20 * 2 ** (-0.125 / 45)
        assert isinstance(merged.values[WEBINAR], EventLog)
        assert rule_value(rules["webinar"], WINDOWED.scores["intent"], merged,
                          T0 + timedelta(hours=3)) == pytest.approx(20 * 2 ** (-0.125 / 45),
                                                                    rel=1e-12)
        assert rule_value(rules["reading"], WINDOWED.scores["intent"], merged, T0) == 15.0
    # apart, neither record reads enough
    assert not one.holds(READING, T0, 30) and not other.holds(READING, T0, 30)


def test_a_windowed_state_is_stored_with_its_kind_and_read_back() -> None:
    from mql.scoring.intent import state_from_dict, state_to_dict

    state = _windowed(("page_view", T0, {"seconds": 700}))
    stored = state_to_dict(state)
    assert stored == {"as_of": "2026-03-02T10:00:00+00:00", "values": {READING: {
        "window": "sum", "line": 600.0, "as_of": "2026-03-02T10:00:00+00:00",
        "sums": [["2026-03-02T10:00:00+00:00", 700.0]]}}}
    assert state_from_dict(stored) == state


# Spec (DESIGN: merges lose nothing): a value another model's tracker kept under a key
# (a record stored under an earlier model) cannot be joined with this model's; the merge
# keeps this model's value whichever record it comes from, never the stale one, in
# either order, and a key of no tracker is left out.
def test_a_record_stored_under_an_earlier_model_gives_way_to_the_current_value() -> None:
    # the same key held a count of recent page views under an earlier model
    day = timedelta(days=1)
    stale = IntentState({READING: RecentTimes((T0 - day,), 3),
                         "intent.removed_rule": DecayedSum(5.0, T0 - day)}, T0 - day)
    current = _windowed(("page_view", T0, {"seconds": 700}))
    for ours, theirs in ((stale, current), (current, stale)):
        merged = ours.merge(theirs, WINDOWED_PROGRAM)
        assert merged.values == current.values
        assert merged.as_of == T0
        assert merged.holds(READING, T0, 30)  # 700 seconds read: the sum, not a count
    # alone, the stale record keeps nothing this model could misread
    assert stale.merge(IntentState.empty(), WINDOWED_PROGRAM) == IntentState({}, T0 - day)


def test_a_rule_that_became_once_per_day_keeps_its_logged_times_in_a_merge() -> None:
    # under an earlier model the webinar rule was a plain decayed sum; now it logs times
    old = IntentState({WEBINAR: DecayedSum(20.0, T0 - timedelta(days=1))}, T0 - timedelta(days=1))
    new = _windowed(("webinar_attended", T0, {}))
    for ours, theirs in ((old, new), (new, old)):
        merged = ours.merge(theirs, WINDOWED_PROGRAM)
        assert merged.values[WEBINAR] == new.values[WEBINAR]
        assert merged.as_of == T0
    # an event on the stale record replaces its value with this model's kind
    later = old.add(Event("w9", "webinar_attended", T0, contact="jane@acme.example"),
                    WINDOWED_PROGRAM)
    assert later.values[WEBINAR] == new.values[WEBINAR]


EVERY_KIND = parse_model("""\
name: every_kind
decay: {half_life_days: 30}
fit: {rules: []}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40, cap: 60}
    - {name: views, event: page_view, min_count: 3, within_days: 14, points: 10}
    - {name: reading, event: page_view, sum: seconds, at_least: 600, within_days: 30,
       points: 15}
    - {name: breadth, event: page_view, distinct: url, min_count: 2, within_days: 30,
       points: 5}
    - {name: long_reads, event: page_view, avg: seconds, at_least: 300, within_days: 30,
       points: 5}
    - {name: pricing_after_webinar, event: page_view, within_days: 14, points: 25,
       when: {field: url, op: eq, value: /pricing},
       after: {event: webinar_attended, within_days: 7}}
    - {name: webinar, event: webinar_attended, points: 20, once_per: day}
mql:
  thresholds: {intent: 30}
  fast_track:
    - {name: demo, event: demo_request}
""")
EVERY_PROGRAM = Program(EVERY_KIND)
_KINDS = st.sampled_from(["demo_request", "page_view", "webinar_attended"])
_EVENTS = st.lists(st.tuples(_KINDS, st.integers(0, 60 * 24), st.sampled_from(
    ["/pricing", "/docs", "/blog"]), st.integers(0, 900), st.booleans()), max_size=14)
# values of another kind than this model's tracker keeps under the key
_STALE = st.sets(st.sampled_from(sorted(EVERY_PROGRAM.by_key)), max_size=3).map(
    lambda keys: {k: RecentTimes((T0,), 1) if EVERY_PROGRAM.by_key[k].kind is not RecentTimes
                  else DecayedSum(7.0, T0) for k in keys})


def _record(events: list[tuple[str, int, str, int, bool]], stale: dict) -> IntentState:
    state = IntentState(stale, None)
    for n, (kind, hours, url, seconds, _) in enumerate(events):
        state = state.add(Event(f"h{n}-{kind}-{hours}-{url}-{seconds}", kind,
                                T0 + timedelta(hours=hours), contact="jane@acme.example",
                                properties={"url": url, "seconds": seconds}), EVERY_PROGRAM)
    return state


def _readings(state: IntentState) -> list[float | bool]:
    at = T0 + timedelta(days=61)
    score = EVERY_KIND.scores["intent"]
    from mql.scoring.intent import rule_value

    out: list[float | bool] = [rule_value(r, score, state, at) for r in score.rules]
    return out + [state.holds(k, at - timedelta(days=d), 14) for k in sorted(state.values)
                  for d in (0, 20, 40)]


# Property: two records merged read, rule by rule, as the one record that saw every
# event of both, whatever each record held under an earlier model, in either order.
@settings(max_examples=60, deadline=None)
@given(_EVENTS, _STALE, _STALE)
def test_a_merge_reads_as_the_record_of_both_histories(events, stale_a, stale_b) -> None:
    mine = [e for e in events if e[4]]
    theirs = [e for e in events if not e[4]]
    a, b = _record(mine, stale_a), _record(theirs, stale_b)
    whole = _record(mine + theirs, {})
    for merged in (a.merge(b, EVERY_PROGRAM), b.merge(a, EVERY_PROGRAM)):
        assert set(merged.values) == set(whole.values)
        assert all(type(merged.values[k]) is type(whole.values[k]) for k in whole.values)
        assert _readings(merged) == pytest.approx(_readings(whole), rel=1e-9, abs=1e-9)


def test_an_account_level_event_of_an_unknown_contact_has_no_account() -> None:
    from mql.scoring.scorer import Scorer

    scorer = Scorer(MODEL)
    assert scorer.account_of(Event("x", "page_view", T0, contact="nobody@acme.example")) is None
    assert scorer.account_of(Event("y", "page_view", T0, account="acme.example")) == (
        "acme.example")


def test_keys_no_rule_of_the_model_tracks_are_left_out_and_the_rest_kept() -> None:
    # values kept under keys this model has no tracker for (rules since removed) are
    # dropped from a merge; every rule the model has keeps its joined value, whatever the
    # order the keys come in
    day = timedelta(days=1)
    gone = {f"intent.removed_{n}": DecayedSum(5.0, T0) for n in range(30)}
    older = _state(("demo_request", 45 * day), ("page_view", 2 * day))
    newer = _state(("demo_request", 0 * day), ("page_view", 3 * day), ("page_view", 9 * day))
    older = IntentState({**gone, **older.values}, older.as_of)
    newer = IntentState({**gone, **newer.values}, newer.as_of)
    for merged in (older.merge(newer, PROGRAM), newer.merge(older, PROGRAM)):
        assert dict(merged.values) == {
            DEMO: DecayedSum(60.0, T0),  # 40 now + 40 one half-life ago
            BROWSING: RecentTimes((T0 - 9 * day, T0 - 3 * day, T0 - 2 * day), 3)}
