"""Routing and SLAs: owners first, weighted round robin within limits, business hours."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.handoff import BusinessHours, Member, SlaRule
from mql.routing.calendar import add_business_hours, business_hours_between
from mql.routing.round_robin import RoundRobin
from mql.routing.rules import route
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


@settings(max_examples=100)
@given(st.lists(st.tuples(st.sampled_from(["ana", "ben", "cy", "dee", "eve"]),
                          st.integers(0, 60 * 24 * 60)), max_size=60))
def test_an_account_is_alerted_at_most_once_per_quiet_period(touches) -> None:
    from mql.routing.alerts import AccountAlerts

    alerts = AccountAlerts(min_contacts=3, window=timedelta(days=7), quiet=timedelta(days=30))
    fired = []
    for who, minute in sorted(touches, key=lambda t: t[1]):
        at = T0 + timedelta(minutes=minute)
        alerts, alert = alerts.observe("acme.example", who, at)
        if alert is not None:
            assert len(alert.contacts) >= 3
            fired.append(at)
    assert all(b - a >= timedelta(days=30) for a, b in itertools.pairwise(fired))


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
