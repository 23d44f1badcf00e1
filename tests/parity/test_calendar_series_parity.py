"""Calendar windows along series of times (issue 13): `within: this_quarter`, `this_month`,
`this_week` and `within_business_days: N`, in UTC or a team's calendar (time zone,
holidays), give the same decisions in the streaming core and the batch engines at every
time of a daily or sub-daily series, as at one time. The drawn histories put events on
the window boundaries (a quarter's first midnight in the team's zone, a microsecond before
it, a holiday, a weekend)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs, connect
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Contact, Event
from tests.parity.test_streaming_equals_batch import assert_same, streaming

# Wednesday 1 April 2026, 00:00 UTC: a quarter, a month begins; Good Friday (3 April) is a
# holiday of the team below, and the weekend follows
Q2 = datetime(2026, 4, 1, tzinfo=UTC)
ZONES = ("UTC", "America/New_York", "Asia/Tokyo")
WINDOWS: tuple[dict[str, Any], ...] = (
    {"within": "this_quarter"}, {"within": "this_month"}, {"within": "this_week"},
    {"within_business_days": 1}, {"within_business_days": 3}, {"within_business_days": 5})
KINDS = ("page_view", "demo_request")
CONTACTS = [Contact(f"{n}@acme.example", "acme.example", {}) for n in ("ann", "bo", "cy")]
# hours from Q2: the boundaries in each zone (New York is 4 h behind, Tokyo 9 h ahead),
# days before and after, and a microsecond either side of them
HOURS = (-24 * 9, -24 * 3, -9.0, -1.0, 0.0, 4.0, 10.0, 24 * 2 + 4, 24 * 3, 24 * 4 + 4, 24 * 7)
NUDGES = (0.0, 0.0, -1e-6 / 3600, 1e-6 / 3600)


@st.composite
def models(draw: st.DrawFn) -> Model:
    criteria = []
    for i in range(draw(st.integers(1, 2))):
        leaf = {"activity": draw(st.sampled_from(KINDS)), "min_count": draw(st.integers(1, 3)),
                **draw(st.sampled_from(WINDOWS))}
        if draw(st.booleans()):
            leaf["calendar"] = "team"
        criteria.append({"name": f"c{i}", "when": leaf})
    doc: dict[str, Any] = {
        "name": "calendar_series",
        "fit": {"rules": []},
        "intent": {"decay": {"half_life_days": 3},
                   "rules": [{"name": "views", "event": "page_view", "points": 5}]},
        "mql": {"thresholds": [{"intent": 12}], "criteria": criteria},
        "routing": {"teams": {"team": {
            "time_zone": draw(st.sampled_from(ZONES)),
            "hours": {"days": draw(st.sampled_from([["mon", "tue", "wed", "thu", "fri"],
                                                    ["sun", "mon", "tue", "wed", "thu"]])),
                      "start": "09:00", "end": "17:00"},
            "holidays": draw(st.sampled_from([[], ["2026-04-03"], ["2026-03-31"]])),
            "members": [{"name": "olu"}]}}, "fallback": "team"},
    }
    if draw(st.booleans()):
        doc["exit"] = {"when": [{"name": "quiet", "reason": "asked for quiet",
                                 "when": {"activity": "email_unsubscribe",
                                          **draw(st.sampled_from(WINDOWS))}}]}
    return parse_model(yaml.safe_dump(doc, sort_keys=False), source="calendar.yaml")


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events = []
    for i in range(draw(st.integers(0, 14))):
        hours = draw(st.sampled_from(HOURS)) + draw(st.sampled_from(NUDGES))
        events.append(Event(f"e{i}", draw(st.sampled_from((*KINDS, "email_unsubscribe"))),
                            Q2 + timedelta(hours=hours),
                            contact=draw(st.sampled_from([c.email for c in CONTACTS]))))
    return events


as_ofs = st.sampled_from([
    AsOf.daily(date(2026, 3, 22), date(2026, 4, 12)),
    AsOf(Q2 - timedelta(days=2, hours=3), timedelta(hours=6), 24),
    AsOf(Q2 + timedelta(hours=4) - timedelta(microseconds=1), timedelta(hours=1), 12),
    AsOf.at(Q2 + timedelta(days=2, hours=10))])


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[Engine]:
    engine = connect("duckdb")
    yield engine
    engine.close()


@settings(max_examples=int(os.environ.get("MQL_CALENDAR_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories(), as_of=as_ofs)
def test_duckdb_equals_streaming_on_calendar_windows_along_series(
        duckdb_engine: Engine, model: Model, events: list[Event], as_of: AsOf) -> None:
    expected = streaming(model, CONTACTS, [], events, as_of)
    actual = duckdb_engine.rescore(model, Inputs(CONTACTS, [], events), as_of)
    assert_same(expected, actual.to_pylist(), model)


def test_a_quarter_window_restarts_on_the_quarter_in_a_daily_series(
        duckdb_engine: Engine) -> None:
    # by hand: two views on 30 and 31 March (the second at 23:00 UTC, 19:00 in New York)
    # qualify "2+ this quarter" (New York) from the second view until the quarter begins
    # in New York, 1 April 04:00 UTC; after that neither counts
    model = parse_model("""\
name: quarter
fit: {rules: []}
intent: {rules: []}
mql:
  criteria:
    - name: busy_quarter
      when: {activity: page_view, min_count: 2, within: this_quarter, calendar: ny}
routing:
  teams:
    ny: {time_zone: America/New_York, members: [{name: dana}]}
  fallback: ny
""")
    ann = CONTACTS[0]
    events = [Event("v1", "page_view", datetime(2026, 3, 30, 14, tzinfo=UTC), contact=ann.email),
              Event("v2", "page_view", datetime(2026, 3, 31, 23, tzinfo=UTC), contact=ann.email)]
    as_of = AsOf(datetime(2026, 3, 31, 3, tzinfo=UTC), timedelta(hours=12), 4)
    rows = duckdb_engine.rescore(model, Inputs([ann], [], events), as_of).to_pylist()
    # 31 Mar 03:00 (one view), 31 Mar 15:00 (one), 1 Apr 03:00 UTC (both, still March in
    # New York), 1 Apr 15:00 UTC (Q2 in New York: none)
    assert [r["mql"] for r in sorted(rows, key=lambda r: r["as_of"])] == [
        False, False, True, False]
    assert_same(streaming(model, [ann], [], events, as_of), rows, model)


# a few drawn cases on Spark (each is a few Spark jobs, ~30 s on the shared machine);
# MQL_SPARK_EXAMPLES=N for a longer run, as in test_streaming_equals_batch
@pytest.mark.spark
@settings(max_examples=int(os.environ.get("MQL_SPARK_EXAMPLES", "3")), deadline=None,
          derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories(), as_of=as_ofs)
def test_spark_equals_streaming_on_calendar_windows_along_series(
        spark_session: Any, model: Model, events: list[Event], as_of: AsOf) -> None:
    engine = connect("spark", session=spark_session)
    expected = streaming(model, CONTACTS, [], events, as_of)
    assert_same(expected, engine.rescore(model, Inputs(CONTACTS, [], events),
                                         as_of).to_pylist(), model)
