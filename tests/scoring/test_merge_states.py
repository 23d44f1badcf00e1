"""Two records of one person as one intent state (`IntentState.merge`): sums decayed to the
later record's time and added, the latest window times kept, the later stamp; values by
hand (half-life 45 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
