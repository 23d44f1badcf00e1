"""Calendar windows (docs/model.md, "Calendar windows"): this quarter and the last N
business days of a team's calendar, alike in the streaming core and every batch engine;
values computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs
from mql.model.parse import parse_model
from mql.records import Event
from mql.scoring.scorer import score
from tests.conftest import T0, contact

MODEL = parse_model("""\
name: calendar
fit: {rules: []}
intent: {rules: []}
mql:
  criteria:
    - name: engaged_this_quarter
      when: {activity: page_view, min_count: 2, within: this_quarter}
    - name: recent_demo
      when: {activity: demo_request, within_business_days: 3, calendar: emea}
routing:
  teams:
    emea:
      time_zone: Europe/London
      holidays: ["2026-02-27"]
      members: [{name: olu}]
  fallback: emea
""", source="calendar.yaml")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# T0 is Monday 2026-03-02 10:00 UTC (10:00 in London). This quarter began 2026-01-01
# 00:00 UTC. The last 3 business days of emea are Mon 2, Thu 26 and Wed 25 February
# (Friday 27 is a holiday): the window starts 2026-02-25 00:00 London = 00:00 UTC.
EVENTS = [
    Event("v0", "page_view", _at("2025-12-31T23:59:59"), contact="old@acme.example"),
    Event("v1", "page_view", _at("2026-01-01T00:00:00"), contact="old@acme.example"),
    Event("v2", "page_view", _at("2026-01-01T00:00:00"), contact="jane@acme.example"),
    Event("v3", "page_view", _at("2026-02-15T12:00:00"), contact="jane@acme.example"),
    Event("d1", "demo_request", _at("2026-02-25T00:00:00"), contact="bob@acme.example"),
    Event("d2", "demo_request", _at("2026-02-24T23:59:59"), contact="cy@acme.example"),
]
CONTACTS = [contact(e) for e in ("jane@acme.example", "old@acme.example", "bob@acme.example",
                                 "cy@acme.example")]


def test_the_streaming_core_qualifies_within_the_calendar_and_says_until_when() -> None:
    decisions = {d.contact: d for d in score(MODEL, CONTACTS, [], EVENTS, at=T0)}
    assert [r.name for r in decisions["jane@acme.example"].reasons] == ["engaged_this_quarter"]
    assert not decisions["old@acme.example"].mql  # one view is from last quarter
    assert [r.name for r in decisions["bob@acme.example"].reasons] == ["recent_demo"]
    assert not decisions["cy@acme.example"].mql  # a second before the window
    # until the quarter ends; until Tue 3 March 00:00 London, when the window starts on
    # Thu 26 February
    assert decisions["jane@acme.example"].qualified_until == _at("2026-04-01T00:00:00")
    assert decisions["bob@acme.example"].qualified_until == _at("2026-03-03T00:00:00")
    later = {d.contact: d for d in score(MODEL, CONTACTS, [], EVENTS,
                                         at=_at("2026-03-03T00:00:00"))}
    assert not later["bob@acme.example"].mql and later["jane@acme.example"].mql


def test_calendar_windows_decide_alike_in_every_engine(engine: Engine) -> None:
    table = engine.rescore(MODEL, Inputs(CONTACTS, [], EVENTS), AsOf.at(T0))
    verdicts = {r["contact"]: (r["mql"], r["reasons"]) for r in table.to_pylist()}
    assert verdicts == {"jane@acme.example": (True, "criteria engaged_this_quarter"),
                        "old@acme.example": (False, ""),
                        "bob@acme.example": (True, "criteria recent_demo"),
                        "cy@acme.example": (False, "")}


def test_a_daily_series_with_calendar_windows_decides_day_by_day_in_every_engine(
        engine: Engine) -> None:
    # by hand: bob's demo (Wed 25 Feb, 00:00 London) is in emea's last 3 business days
    # on Mon 2 March (Mon, Thu, Wed: Friday 27 is a holiday), not on Tue 3 March; jane's
    # views are both in Q1 on every day from 1 to 31 March, and none on 1 April
    days = AsOf.daily(T0.date(), T0.date().replace(day=3))
    table = engine.rescore(MODEL, Inputs(CONTACTS, [], EVENTS), days)
    mql = {(r["contact"], r["as_of"].date().isoformat()) for r in table.to_pylist()
           if r["mql"]}
    assert mql == {("jane@acme.example", "2026-03-02"), ("jane@acme.example", "2026-03-03"),
                   ("bob@acme.example", "2026-03-02")}
    turn = AsOf.daily(_at("2026-03-31T00:00:00").date(), _at("2026-04-01T00:00:00").date())
    rows = engine.rescore(MODEL, Inputs(CONTACTS, [], EVENTS), turn).to_pylist()
    assert sorted((r["as_of"].date().isoformat(), r["mql"]) for r in rows
                  if r["contact"] == "jane@acme.example") == [
        ("2026-03-31", True), ("2026-04-01", False)]
