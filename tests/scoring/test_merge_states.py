"""Two records of one person as one intent state (`IntentState.merge`): sums decayed to the
later record's time and added, the latest window times kept, the later stamp; values by
hand (half-life 45 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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


def test_a_record_stored_under_an_earlier_model_merges_without_failing() -> None:
    # the same key held a count of recent page views under an earlier model: the two
    # kinds cannot be joined, one record's state is kept as it was
    day = timedelta(days=1)
    stale = IntentState({READING: RecentTimes((T0 - day,), 3)}, T0 - day)
    current = _windowed(("page_view", T0, {"seconds": 700}))
    for ours, theirs in ((stale, current), (current, stale)):
        merged = ours.merge(theirs, WINDOWED_PROGRAM)
        assert merged.values[READING] == ours.values[READING]
        assert merged.as_of == T0


def test_a_rule_that_became_once_per_day_merges_its_old_sum_without_failing() -> None:
    # under an earlier model the webinar rule was a plain decayed sum; now it logs times
    old = IntentState({WEBINAR: DecayedSum(20.0, T0 - timedelta(days=1))}, T0 - timedelta(days=1))
    new = _windowed(("webinar_attended", T0, {}))
    for ours, theirs in ((old, new), (new, old)):
        merged = ours.merge(theirs, WINDOWED_PROGRAM)
        assert merged.values[WEBINAR] == ours.values[WEBINAR]
        assert merged.as_of == T0


def test_an_account_level_event_of_an_unknown_contact_has_no_account() -> None:
    from mql.scoring.scorer import Scorer

    scorer = Scorer(MODEL)
    assert scorer.account_of(Event("x", "page_view", T0, contact="nobody@acme.example")) is None
    assert scorer.account_of(Event("y", "page_view", T0, account="acme.example")) == (
        "acme.example")
