"""The hand-off sections of a model (lifecycle, routing, sla; docs/model.md): the values
they build and every mistake located by file:line:column. Lines refer to tiny.BASE (1-13)
followed by the section (from line 14)."""

from __future__ import annotations

from datetime import date, time

import pytest

from mql.errors import ModelError
from mql.model.conditions import Activity, Compare
from mql.model.handoff import AlertPolicy, BusinessHours, Member, NamedRule, SlaRule
from mql.model.parse import parse_model
from tests.model.tiny import BASE

GOOD = """\
lifecycle:
  recycle_after_days: 21
  requalify: fresh_intent
  disqualify:
    - name: gov
      when: {field: account.industry, op: eq, value: government}
      description: Public sector.
  reject_reasons: [wrong_fit, no_budget]
  account_team_statuses: [customer]
routing:
  account_owner_first: false
  account_team: am
  account_alerts: {min_contacts: 4, window_days: 10, quiet_days: 20}
  teams:
    sales:
      time_zone: America/New_York
      hours: {days: [mon, wed, fri], start: "08:30", end: "17:15"}
      holidays: ["2026-12-25"]
      manager: boss
      members:
        - {name: dana, weight: 3, capacity: 40, out_of_office: [["2026-12-21", "2027-01-04"]]}
        - {name: li}
    am:
      time_zone: Europe/Berlin
      members: [{name: am.queue}]
  rules:
    - name: us
      when: {field: contact.country, op: eq, value: US}
      team: sales
      description: US leads.
  fallback: am
sla:
  - name: hot
    when: {activity: demo_request, within_days: 2}
    first_touch_hours: 1
    escalate_after_breaches: 3
    description: Fast.
  - {name: default, first_touch_hours: 24}
"""

BAD = """\
lifecycle:
  reject_reasons: []
  disqualify:
    - {name: gov, when: {field: account.industry, op: eq, value: government}}
    - {name: gov, when: {field: account.industri, op: eq, value: x}}
routing:
  account_team: am
  teams:
    sales:
      time_zone: Mars/Olympus
      hours: {days: [], start: "18:00", end: "09:00"}
      holidays: ["2026-12-25", "christmas"]
      members:
        - {name: dana, out_of_office: [["2026-12-21", "soon"]]}
        - {name: dana}
    queue:
      time_zone: UTC
      hours: {start: "9am", end: "17:00"}
      members: []
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, team: sale}
    - {name: us, when: {field: contact.country, op: eq, value: CA}, team: queue}
  fallback: inbound
sla:
  - {name: hot, when: {activity: demo_request, within_days: 2}, first_touch_hours: 1}
  - {name: hot, when: {activity: demo_requestt, within_days: 2}, first_touch_hours: 4}
"""

BAD_PROBLEMS = [
    'm.yaml:15:19 lifecycle.reject_reasons: name at least one reject reason',
    'm.yaml:18:14 lifecycle.disqualify[1].name: another rule is already named "gov"',
    'm.yaml:18:33 lifecycle.disqualify[1].when.field: unknown account field "industri" '
     '(did you mean "industry"?); declare custom ones under fields.account',
    'm.yaml:20:17 routing.account_team: unknown team "am"; teams are queue, sales',
    'm.yaml:23:18 routing.teams.sales.time_zone: unknown time zone "Mars/Olympus" (use an '
     'IANA name such as Europe/Berlin or America/New_York)',
    'm.yaml:24:14 routing.teams.sales.hours: end must be after start (hours within one day)',
    'm.yaml:24:21 routing.teams.sales.hours.days: name at least one working day',
    'm.yaml:25:32 routing.teams.sales.holidays[1]: expected a date like 2026-12-25, got '
     '"christmas"',
    'm.yaml:27:55 routing.teams.sales.members[0].out_of_office[0][1]: expected a date like '
     '2026-12-25, got "soon"',
    'm.yaml:28:18 routing.teams.sales.members[1].name: another member is already named '
     '"dana"',
    'm.yaml:31:22 routing.teams.queue.hours.start: expected a time like 09:00, got "9am"',
    'm.yaml:32:16 routing.teams.queue.members: a team needs at least one member (or use it '
     'as a queue with one member named after the queue)',
    'm.yaml:34:75 routing.rules[0].team: unknown team "sale"; teams are queue, sales',
    'm.yaml:35:14 routing.rules[1].name: another rule is already named "us"',
    'm.yaml:36:13 routing.fallback: unknown team "inbound"; teams are queue, sales',
    'm.yaml:39:5 sla[1]: the last SLA should have no `when`, so every lead gets one (e.g. '
     '24 business hours)',
    'm.yaml:39:12 sla[1].name: another SLA is already named "hot"',
    'm.yaml:39:34 sla[1].when.activity: unknown event "demo_requestt" (did you mean '
     '"demo_request"?); declare custom types under event_types',
]


def test_the_hand_off_sections_build_their_values() -> None:
    model = parse_model(BASE + GOOD, source="m.yaml")
    life = model.lifecycle
    assert (life.recycle_after_days, life.requalify_fresh_intent) == (21.0, True)
    assert life.disqualify == (NamedRule("gov", Compare("account.industry", "eq",
                                                        "government"), "Public sector."),)
    assert life.reject_reasons == ("wrong_fit", "no_budget")
    assert life.account_team_statuses == frozenset({"customer"})
    routing = model.routing
    assert routing is not None
    assert (routing.fallback, routing.account_owner_first, routing.account_team) == (
        "am", False, "am")
    assert routing.alerts == AlertPolicy(4, 10.0, 20.0)
    sales = routing.teams["sales"]
    assert sales.manager == "boss"
    assert sales.members == (Member("dana", 3, 40, ((date(2026, 12, 21), date(2027, 1, 4)),)),
                             Member("li", 1, None, ()))
    assert sales.hours == BusinessHours("America/New_York", frozenset({0, 2, 4}), time(8, 30),
                                        time(17, 15), frozenset({date(2026, 12, 25)}))
    # a team without hours works mon-fri 09:00-17:00
    assert routing.teams["am"].hours == BusinessHours(
        "Europe/Berlin", frozenset(range(5)), time(9), time(17), frozenset())
    [rule] = routing.rules
    assert (rule.name, rule.team, rule.description) == ("us", "sales", "US leads.")
    assert model.sla == (
        SlaRule("hot", 1.0, Activity(("demo_request",), 1, 2.0), 3, "Fast."),
        SlaRule("default", 24.0, None, 2, None))


def test_without_hand_off_sections_the_defaults_hold() -> None:
    model = parse_model(BASE)
    assert model.routing is None
    life = model.lifecycle
    assert (life.recycle_after_days, life.requalify_fresh_intent, life.disqualify) == (
        None, True, ())
    assert life.reject_reasons == ("wrong_fit", "no_budget", "bad_timing", "duplicate",
                                   "no_response", "competitor", "student")
    assert life.account_team_statuses == frozenset({"customer", "partner"})
    assert model.sla == ()


def test_every_mistake_of_the_hand_off_sections_is_reported() -> None:
    with pytest.raises(ModelError) as caught:
        parse_model(BASE + BAD, source="m.yaml")
    assert [str(p) for p in caught.value.problems] == BAD_PROBLEMS


def test_a_requalify_other_than_fresh_intent_is_any_activity() -> None:
    model = parse_model(BASE + GOOD.replace("requalify: fresh_intent", "requalify: any"))
    assert model.lifecycle.requalify_fresh_intent is False


def test_a_bad_start_time_is_reported_once() -> None:
    # read as midnight, a bad start is not also reported as after an early end
    text = BAD.replace('hours: {start: "9am", end: "17:00"}',
                       'hours: {start: "9am", end: "00:30"}')
    with pytest.raises(ModelError) as caught:
        parse_model(BASE + text, source="m.yaml")
    assert [str(p) for p in caught.value.problems] == BAD_PROBLEMS


@pytest.mark.parametrize(("hours", "expected"), [
    ('{start: "09:00", end: "09:00"}',
     ["m.yaml:30:14 routing.teams.sales.hours: end must be after start (hours within one "
      "day)"]),
    # a bad end reads as midnight, so it is also before the start
    ('{start: "09:00", end: "9pm"}',
     ["m.yaml:30:14 routing.teams.sales.hours: end must be after start (hours within one "
      "day)",
      'm.yaml:30:36 routing.teams.sales.hours.end: expected a time like 09:00, got "9pm"']),
])
def test_working_hours_end_after_they_start(hours: str, expected: list[str]) -> None:
    text = GOOD.replace('hours: {days: [mon, wed, fri], start: "08:30", end: "17:15"}',
                        f"hours: {hours}")
    with pytest.raises(ModelError) as caught:
        parse_model(BASE + text, source="m.yaml")
    assert [str(p) for p in caught.value.problems] == expected
