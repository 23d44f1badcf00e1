"""Routing and SLAs: owners first, weighted round robin within limits, business hours."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.handoff import BusinessHours, Member, SlaRule
from mql.routing.calendar import add_business_hours, business_hours_between
from mql.routing.round_robin import RoundRobin
from mql.routing.rules import Assignment, route
from mql.routing.sla import SlaClock, sla_for
from mql.scoring.fit import record_getter
from tests.conftest import T0, account, contact

DAY = date(2026, 3, 2)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=5), st.integers(1, 6))
def test_round_robin_shares_follow_the_weights(weights, rounds) -> None:
    members = tuple(Member(f"m{i}", weight=w) for i, w in enumerate(weights))
    rr, picks = RoundRobin(), Counter()
    for _ in range(sum(weights) * rounds):
        name, rr = rr.pick(members, {}, DAY)
        picks[name] += 1
    assert picks == {f"m{i}": w * rounds for i, w in enumerate(weights)}


@settings(max_examples=50)
@given(st.lists(st.integers(0, 3), min_size=2, max_size=4))
def test_nobody_over_capacity_or_away_is_picked(capacities) -> None:
    members = tuple(Member(f"m{i}", capacity=c) for i, c in enumerate(capacities))
    away = Member("away", away=((DAY, DAY),))
    loads: Counter[str] = Counter()
    rr = RoundRobin()
    for _ in range(sum(capacities) + 3):
        name, rr = rr.pick((*members, away), loads, DAY)
        if name is None:
            break
        loads[name] += 1
    assert loads["away"] == 0
    assert all(loads[m.name] <= (m.capacity or 0) for m in members)
    assert sum(loads.values()) == sum(capacities)


def _get(example_model, acct):
    who = contact("jane@" + acct.domain, country="US")
    return record_getter(who, acct)


def test_an_existing_account_owner_takes_precedence(example_model) -> None:
    acct = account("acme.example", owner="li.wei", region="NA", employees=5000)
    assignment, _ = route(example_model.routing, acct, _get(example_model, acct), {}, {}, T0)
    assert (assignment.owner, assignment.rule) == ("li.wei", "account_owner")


def test_customers_go_to_their_account_team(example_model) -> None:
    acct = account("cust.example", status="customer", region="NA")
    assignment, _ = route(example_model.routing, acct, _get(example_model, acct), {}, {}, T0)
    assert (assignment.team, assignment.owner, assignment.rule) == (
        "account_management", "am.queue", "account_team")


def test_rules_route_by_region_and_size_with_round_robin(example_model) -> None:
    big = account("big.example", region="NA", employees=3000)
    robins: dict = {}
    owners = []
    for _ in range(3):
        assignment, robins = route(example_model.routing, big, _get(example_model, big), robins,
                                   {}, T0)
        owners.append(assignment.owner)
        assert (assignment.team, assignment.rule) == ("na_enterprise", "na_enterprise")
    assert owners == ["dana.ross", "li.wei", "dana.ross"]  # weights 2:1


def test_when_the_team_is_away_or_full_the_fallback_queue_gets_it(example_model) -> None:
    big = account("big.example", region="NA", employees=3000)
    full = {"dana.ross": 40}
    christmas = datetime(2026, 12, 22, 15, tzinfo=UTC)  # li.wei out of office
    assignment, _ = route(example_model.routing, big, _get(example_model, big), {}, full,
                          christmas)
    assert (assignment.team, assignment.owner) == ("inbound_queue", "sdr.pool")
    assert "away or full" in assignment.reason


def test_no_rule_matched_goes_to_the_fallback(example_model) -> None:
    nowhere = account("x.example")
    assignment, _ = route(example_model.routing, nowhere, _get(example_model, nowhere), {}, {},
                          T0)
    assert (assignment.team, assignment.rule) == ("inbound_queue", "fallback")


NY = BusinessHours("America/New_York", frozenset(range(5)), time(9), time(17),
                   frozenset({date(2026, 11, 26)}))


@settings(max_examples=100)
@given(st.integers(0, 60 * 24 * 400), st.floats(min_value=0.01, max_value=200))
def test_adding_then_counting_business_hours_gives_them_back(minutes, hours) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    end = add_business_hours(start, hours, NY)
    assert business_hours_between(start, end, NY) == pytest.approx(hours, abs=1e-6)


def test_business_hours_skip_weekends_holidays_and_follow_daylight_saving() -> None:
    wed = datetime(2026, 11, 25, 21, tzinfo=UTC)  # 16:00 New York, Thanksgiving next day
    assert add_business_hours(wed, 2, NY) == datetime(2026, 11, 27, 15, tzinfo=UTC)
    before_dst = datetime(2026, 3, 6, 21, tzinfo=UTC)  # Fri 16:00 EST; DST starts Sunday
    assert add_business_hours(before_dst, 2, NY) == datetime(2026, 3, 9, 14, tzinfo=UTC)


def test_hand_raisers_get_the_one_hour_sla(example_model) -> None:
    from mql.records import Event
    from mql.scoring.qualify import Qualifier
    from mql.scoring.scorer import Scorer

    scorer = Scorer(example_model)
    who, acct = contact("jane@acme.example"), account("acme.example")
    scorer.add_contact(who)
    scorer.add(Event("d", "demo_request", T0, contact=who.email))
    q = Qualifier(example_model, scorer.program)
    state = scorer.contact_states[who.email]
    get = q.criteria_getter(who, acct, {}, state, T0)
    assert sla_for(example_model.sla, get).name == "hand_raiser"
    later = q.criteria_getter(who, acct, {}, state, T0 + timedelta(days=3))
    assert sla_for(example_model.sla, later).name == "default"


def test_sla_states_and_speed_to_lead() -> None:
    clock = SlaClock.start(SlaRule("default", 24), datetime(2026, 3, 2, 14, tzinfo=UTC), NY)
    assert clock.due_at == datetime(2026, 3, 4, 22, tzinfo=UTC)  # 3 days of 8 hours, 17:00 EST
    assert clock.state(at=clock.due_at - timedelta(seconds=1)) == "pending"
    assert clock.state(at=clock.due_at) == "breached"
    touched = datetime(2026, 3, 3, 15, tzinfo=UTC)
    assert clock.state(at=clock.due_at, touched_at=touched) == "met"
    assert clock.speed_to_lead(touched) == pytest.approx(9.0)


# Spec (smooth weighted round robin): the chosen member pays the weights of the members
# who were eligible for that pick only. An away or full member neither earns nor costs
# credit, so after an absence the shares go by weight again at once.
@pytest.mark.parametrize("absence", ["away", "full"])
def test_after_an_absence_the_next_picks_go_by_weight(absence) -> None:
    day1, day2 = date(2026, 3, 2), date(2026, 3, 3)
    cy = Member("cy", away=((day1, day1),)) if absence == "away" else Member("cy", capacity=5)
    team = (Member("ana", weight=3), Member("ben"), cy)
    loads = {"cy": 5} if absence == "full" else {}  # on day 2 cy has closed them all
    rr, first = RoundRobin(), Counter()
    for _ in range(8):
        name, rr = rr.pick(team, loads, day1)
        first[name] += 1
    assert first == {"ana": 6, "ben": 2}
    assert dict(rr.credit) == {"ana": 0, "ben": 0}
    picks = []
    for _ in range(30):
        name, rr = rr.pick(team, {}, day2)
        picks.append(name)
    assert picks[:5] == ["ana", "ben", "ana", "cy", "ana"]
    assert Counter(picks) == {"ana": 18, "ben": 6, "cy": 6}


# Spec: a first touch exactly at the deadline is on time; one microsecond later is late.
def test_a_first_touch_exactly_at_the_deadline_is_met() -> None:
    clock = SlaClock.start(SlaRule("default", 24), datetime(2026, 3, 2, 14, tzinfo=UTC), NY)
    assert clock.state(at=clock.due_at, touched_at=clock.due_at) == "met"
    late = clock.due_at + timedelta(microseconds=1)
    assert clock.state(at=late, touched_at=late) == "breached"


# Every path of `route`, with the whole assignment (team, owner, rule, reason) by hand.
def test_each_routing_path_gives_its_team_owner_rule_and_reason(example_model) -> None:
    routing = example_model.routing
    cases = [
        (account("c.example", status="customer", owner="ana.m"),
         Assignment("account_management", "ana.m", "account_team",
                    "account is a customer: its account team, not new business")),
        (account("p.example", status="partner"),
         Assignment("account_management", "am.queue", "account_team",
                    "account is a partner: its account team, not new business")),
        (account("o.example", owner="li.wei", region="EMEA"),
         Assignment(None, "li.wei", "account_owner", "the account already has an owner")),
        (account("e.example", region="EMEA"),
         Assignment("emea", "olu.adeyemi", "emea", "matched account.region eq 'EMEA'")),
        (account("x.example"),
         Assignment("inbound_queue", "sdr.pool", "fallback", "no rule matched")),
        (None, Assignment("inbound_queue", "sdr.pool", "fallback", "no rule matched")),
    ]
    for acct, expected in cases:
        who = contact("jane@" + (acct.domain if acct else "gmail.com"), country="US")
        assignment, _ = route(routing, acct, record_getter(who, acct), {}, {}, T0)
        assert assignment == expected


def test_when_the_fallback_queue_is_away_too_the_lead_is_queued(example_model) -> None:
    routing = example_model.routing
    everyone_away = {
        name: dataclasses.replace(team, members=tuple(
            dataclasses.replace(m, away=((DAY, DAY),)) for m in team.members))
        for name, team in routing.teams.items()}
    away = dataclasses.replace(routing, teams=everyone_away)
    emea = account("e.example", region="EMEA")
    get = record_getter(contact("jane@e.example"), emea)
    assignment, _ = route(away, emea, get, {}, {}, datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert assignment == Assignment("inbound_queue", None, "emea",
                                    "matched account.region eq 'EMEA'; everyone in emea is "
                                    "away or full")
    fallback_only = dataclasses.replace(away, rules=())
    assignment, _ = route(fallback_only, emea, get, {}, {}, datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert assignment == Assignment("inbound_queue", None, "fallback",
                                    "no rule matched; nobody available: queued")


# Spec: out-of-office days are the team's own calendar days. 20:00 UTC on Monday 2 March is
# already Tuesday 3 March in Sydney, so a seller away on the 3rd is not picked.
def test_out_of_office_is_read_on_the_teams_own_date(example_model) -> None:
    routing = example_model.routing
    apac = routing.teams["apac"]
    tuesday = date(2026, 3, 3)
    kenji_away = dataclasses.replace(routing, teams={**routing.teams, "apac": dataclasses.replace(
        apac, members=(Member("kenji.sato", away=((tuesday, tuesday),)), Member("mia.chen")))})
    acct = account("a.example", region="APAC")
    get = record_getter(contact("jane@a.example"), acct)
    monday_evening_utc = datetime(2026, 3, 2, 20, tzinfo=UTC)
    assignment, _ = route(kenji_away, acct, get, {}, {}, monday_evening_utc)
    assert (assignment.team, assignment.owner) == ("apac", "mia.chen")
    monday_morning_utc = datetime(2026, 3, 2, 8, tzinfo=UTC)  # 19:00 Monday in Sydney
    assignment, _ = route(kenji_away, acct, get, {}, {}, monday_morning_utc)
    assert (assignment.team, assignment.owner) == ("apac", "kenji.sato")


# Business hours against a naive oracle: walk the calendar minute by minute in the team's
# zone (an open minute is a working day, not a holiday, between start and end local time).
def _naive_open_minutes(start: datetime, minutes: int, hours: BusinessHours) -> list[datetime]:
    zone = hours.zone
    out, t = [], start
    for _ in range(minutes):
        local = t.astimezone(zone)
        if (local.weekday() in hours.days and local.date() not in hours.holidays
                and hours.start <= local.time() < hours.end):
            out.append(t)
        t += timedelta(minutes=1)
    return out


CALENDARS = [
    BusinessHours("America/New_York", frozenset(range(5)), time(9), time(17),
                  frozenset({date(2026, 11, 26), date(2026, 3, 9)})),
    BusinessHours("Europe/London", frozenset({0, 1, 2, 3}), time(8, 30), time(12)),
    BusinessHours("Australia/Sydney", frozenset(range(5)), time(9), time(18),
                  frozenset({date(2026, 4, 6)})),
    BusinessHours("Asia/Kolkata", frozenset({6, 0, 1, 2, 3}), time(10), time(19)),
]
# around the 2026 daylight-saving changes: 8 March (US), 29 March (EU), 5 April (Sydney),
# 25 October (EU), 1 November (US)
STARTS = [datetime(2026, 3, 6), datetime(2026, 3, 27), datetime(2026, 4, 3),
          datetime(2026, 10, 23), datetime(2026, 10, 30), datetime(2026, 11, 25)]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(CALENDARS), st.sampled_from(STARTS), st.integers(0, 3 * 24 * 60),
       st.integers(1, 20 * 60))
def test_business_hours_agree_with_a_minute_by_minute_oracle(hours, day, offset,
                                                             business_minutes) -> None:
    start = (day + timedelta(minutes=offset)).replace(tzinfo=UTC)
    open_minutes = _naive_open_minutes(start, 21 * 24 * 60, hours)  # 3 weeks: >= 42 hours
    assert len(open_minutes) >= business_minutes
    # the moment n business minutes after `start` is the end of the n-th open minute
    expected = open_minutes[business_minutes - 1] + timedelta(minutes=1)
    assert add_business_hours(start, business_minutes / 60, hours) == expected
    end = start + timedelta(minutes=business_minutes * 3)
    counted = sum(1 for m in open_minutes if m < end)
    assert business_hours_between(start, end, hours) == pytest.approx(counted / 60, abs=1e-9)


def test_a_calendar_with_no_open_hour_is_refused() -> None:
    closed = BusinessHours("UTC", frozenset(), time(9), time(17))
    with pytest.raises(ValueError,
                       match=r"^the business calendar has no open hours in the next ten years$"):
        add_business_hours(T0, 1, closed)
    assert business_hours_between(T0, T0 + timedelta(days=30), closed) == 0


def test_a_late_evening_calendar_starts_on_the_local_day() -> None:
    # open 12:00-23:30 in Los Angeles: 02:00 UTC on Tuesday is still Monday 18:00 there
    late = BusinessHours("America/Los_Angeles", frozenset(range(5)), time(12), time(23, 30))
    start = datetime(2026, 3, 3, 2, tzinfo=UTC)
    assert add_business_hours(start, 1, late) == datetime(2026, 3, 3, 3, tzinfo=UTC)
    assert business_hours_between(start, start + timedelta(hours=2), late) == 2.0
    clock = SlaClock.start(SlaRule("default", 1), start, late)
    assert (clock.rule, clock.started_at, clock.calendar) == (SlaRule("default", 1), start, late)


def _with_capacity(routing, team: str, *members: Member):
    return dataclasses.replace(routing, teams={
        **routing.teams, team: dataclasses.replace(routing.teams[team], members=members)})


# Spec: capacity counts everywhere a lead can go: the account team, the rule's team and
# the fallback queue; the fallback queue keeps its own round robin.
def test_capacity_and_round_robin_hold_for_the_account_team_and_the_fallback(
        example_model) -> None:
    routing = _with_capacity(example_model.routing, "inbound_queue",
                             Member("sdr.ana", capacity=1), Member("sdr.ben", capacity=5))
    nowhere = account("x.example")
    get = record_getter(contact("jane@x.example"), nowhere)
    full = {"sdr.ana": 1}
    assignment, _ = route(routing, nowhere, get, {}, full, T0)
    assert assignment == Assignment("inbound_queue", "sdr.ben", "fallback", "no rule matched")
    # the account team is full: the fallback takes it, by its own round robin
    am_full = _with_capacity(routing, "account_management", Member("am.queue", capacity=1))
    customer = account("c.example", status="customer")
    cget = record_getter(contact("jane@c.example"), customer)
    robins: dict = {}
    owners = []
    for _ in range(3):
        assignment, robins = route(am_full, customer, cget, robins, {"am.queue": 1}, T0)
        owners.append(assignment.owner)
        assert (assignment.team, assignment.rule) == ("inbound_queue", "account_team")
    assert owners == ["sdr.ana", "sdr.ben", "sdr.ana"]
    nobody = route(am_full, customer, cget, {}, {"am.queue": 1, "sdr.ana": 1, "sdr.ben": 5},
                   T0)[0]
    assert nobody == Assignment(
        "inbound_queue", None, "account_team",
        "account is a customer: its account team, not new business; everyone in "
        "account_management is away or full")
