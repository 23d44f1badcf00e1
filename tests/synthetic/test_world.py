"""Any seed gives a self-consistent world; the same seed gives the same world."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.errors import ConfigError
from mql.model.vocabulary import (
    COMMITTEE_ROLES,
    DEPARTMENTS,
    EVENT_PROPERTIES,
    EVENT_TYPES,
    SENIORITIES,
)
from mql.synthetic import AccountSlice, World, WorldParameters
from mql.synthetic.messiness import MalformedEvent
from mql.synthetic.params import add_months


def slices(seed: int, accounts: int, months: int, dirty: float = 0.0,
           start: datetime = datetime(2025, 1, 1, tzinfo=UTC)) -> list[AccountSlice]:
    params = WorldParameters(accounts=accounts, months=months, start=start, dirty=dirty)
    return list(World(params, random.Random(seed)).accounts())


def check_consistent(pieces: list[AccountSlice], start: datetime, end: datetime) -> None:
    domains = {p.account.domain for p in pieces}
    assert len(domains) == len(pieces), "account domains are unique"
    contacts = {c.email.lower() for p in pieces for c in p.contacts}
    malformed_contacts = {m.key for p in pieces for m in p.malformed if m.file == "contacts"}
    malformed_events = {m.key for p in pieces for m in p.malformed if m.file == "events"}
    for piece in pieces:
        for contact in piece.contacts:
            assert contact.account in domains
        for event in piece.events:
            if isinstance(event, MalformedEvent):
                assert event.event.event_id in malformed_events
                continue
            assert start <= event.at < end, event
            if event.event_id in malformed_events:
                continue
            if event.contact is not None:
                assert (event.contact.lower() in contacts
                        or event.contact in malformed_contacts), event
            else:
                assert event.anonymous_id is not None or event.account in domains, event
            if event.account is not None:
                assert event.account == piece.account.domain
        for opp in piece.opportunities:
            assert opp.account in domains
            primary = opp.primary_contact
            assert primary is None or primary in contacts or primary in malformed_contacts
            assert start <= opp.created_at < end
            assert opp.closed_at is None or opp.created_at < opp.closed_at < end
            times = [at for _, at in opp.stage_history]
            assert times == sorted(times)
            assert opp.status in ("open", "won", "lost")
        for d in piece.dispositions:
            assert d.email.lower() in contacts or d.email in malformed_contacts
            assert start <= d.handed_at <= d.disposed_at < end
            assert d.sql == (d.status == "sql") and (d.sql_at is not None) == d.sql
            assert d.accepted == (d.status != "rejected")
        for record in piece.consent:
            assert record.email in contacts or record.email in malformed_contacts
            assert start <= record.at < end


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), accounts=st.integers(1, 40), months=st.integers(1, 4),
       dirty=st.sampled_from([0.0, 0.2, 0.5]))
def test_any_seed_gives_a_self_consistent_world(seed: int, accounts: int, months: int,
                                                 dirty: float) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    check_consistent(slices(seed, accounts, months, dirty), start, add_months(start, months))


def test_a_clean_world_uses_only_the_vocabulary() -> None:
    pieces = slices(5, 40, 6)
    ids = [e.event_id for p in pieces for e in p.clean_events]
    assert len(ids) == len(set(ids)), "event ids are unique"
    for piece in pieces:
        assert piece.events == piece.clean_events
        assert not piece.duplicates and not piece.malformed
        for contact in piece.contacts:
            assert contact.attributes["seniority"] in SENIORITIES
            assert contact.attributes["department"] in DEPARTMENTS
            role = contact.attributes["committee_role"]
            assert role is None or role in COMMITTEE_ROLES
        for event in piece.clean_events:
            assert event.type in EVENT_TYPES
            assert set(event.properties) <= EVENT_PROPERTIES, event.properties
            if event.type == "intent_surge":
                assert event.contact is None and event.anonymous_id is None
                assert event.account == piece.account.domain
                assert 0 <= event.properties["strength"] <= 100 and event.properties["topic"]


def test_events_are_sorted_by_time_within_each_account() -> None:
    for piece in slices(9, 30, 3):
        times = [e.at for e in piece.clean_events]
        assert times == sorted(times)


def test_the_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    assert slices(11, 8, 3, 0.2) == slices(11, 8, 3, 0.2)
    assert slices(11, 8, 3) != slices(12, 8, 3)


def test_anonymous_visits_are_tied_to_an_email_only_by_a_later_form_or_click() -> None:
    checked = 0
    for piece in slices(3, 150, 6):
        tie: dict[str, datetime] = {}
        cookie_owner: dict[str, str] = {}
        for e in piece.clean_events:
            if e.contact and e.anonymous_id:
                cookie_owner.setdefault(e.anonymous_id, e.contact)
            if e.type in ("form_submit", "email_click") and e.contact:
                tie.setdefault(e.contact, e.at)
        for e in piece.clean_events:
            if e.contact is None and e.anonymous_id is not None:
                owner = cookie_owner.get(e.anonymous_id)
                if owner is not None:
                    assert e.at < tie[owner], "after the tie the visit carries the email"
                    checked += 1
            if e.type == "form_submit":
                assert e.contact and e.anonymous_id, "a form submit ties cookie and email"
    assert checked > 20, "some contacts browsed anonymously before identifying themselves"


def test_email_goes_only_to_contacts_who_may_receive_it() -> None:
    for piece in slices(4, 200, 6):
        granted: dict[str, datetime] = {}
        withdrawn: dict[str, datetime] = {}
        for record in piece.consent:
            if record.status == "granted":
                granted.setdefault(record.email, record.at)
            if record.status == "withdrawn":
                withdrawn[record.email] = record.at
        unsubscribed = set()
        for e in piece.clean_events:
            if e.type == "email_send":
                assert e.contact in granted and granted[e.contact] <= e.at
                assert e.contact not in withdrawn or e.at < withdrawn[e.contact]
            if e.type == "email_unsubscribe":
                assert withdrawn[e.contact] == e.at
                unsubscribed.add(e.contact)
        assert unsubscribed == set(withdrawn)


def test_generation_is_lazy() -> None:
    params = WorldParameters(accounts=10_000_000, months=12)
    began = time.perf_counter()
    first = next(World(params, random.Random(1)).accounts())
    assert time.perf_counter() - began < 2.0, "the first account comes without the others"
    assert first.account.domain


def test_bad_options_are_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="months must be between 1 and 120"):
        WorldParameters(accounts=1, months=0)
    with pytest.raises(ConfigError, match=r"dirty must be between 0 and 0\.5"):
        WorldParameters(accounts=1, months=1, dirty=0.7)
    with pytest.raises(ConfigError, match="time zone"):
        WorldParameters(accounts=1, months=1, start=datetime(2025, 1, 1))


def test_campaigns_and_costs_belong_to_the_month_of_the_touch() -> None:
    params = WorldParameters(accounts=60, months=3, start=datetime(2025, 1, 29, tzinfo=UTC))
    world = World(params, random.Random(2))
    months = set()
    for piece in world.accounts():
        for e in piece.clean_events:
            months.add(e.at.strftime("%Y-%m"))
            campaign = e.properties.get("campaign")
            if campaign and e.properties.get("channel") != "events":
                assert campaign.startswith(e.at.strftime("%Y-%m")), e
    assert months <= {c.month for c in world.costs()}
