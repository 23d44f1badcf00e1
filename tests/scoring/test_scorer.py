"""Streaming scores equal a recompute from the whole history, in any order."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.spec import IntentRule, Model
from mql.records import Event
from mql.scoring.explain import explain
from mql.scoring.intent import rule_value
from mql.scoring.scorer import Scorer, score
from tests.conftest import T0, account, contact

JANE = contact("jane@acme.example", title="VP Marketing", department="marketing", country="US")
ACME = account("acme.example", employees=800, industry="software", country="US")

URLS = ["/pricing", "/security", "/careers", "/blog/x", "/docs/architecture/a", "/trust"]
KINDS = ["page_view", "demo_request", "trial_signup", "webinar_attended", "content_download",
         "email_click", "email_unsubscribe", "event_scan"]


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(1, 40))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from([*KINDS, "intent_surge"]))
        at = T0 - timedelta(seconds=draw(st.integers(0, 200 * 86400)))
        if kind == "intent_surge":
            out.append(Event(f"e{i}", kind, at, account="acme.example",
                             properties={"strength": draw(st.integers(0, 100))}))
            continue
        props = {"url": draw(st.sampled_from(URLS)),
                 "asset_type": draw(st.sampled_from(["comparison", "whitepaper", "ebook"]))}
        out.append(Event(f"e{i}", kind, at, contact=JANE.email, properties=props))
    return out


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_any_permutation_of_events_gives_the_same_decision(example_model, events, rnd) -> None:
    first = score(example_model, [JANE], [ACME], events, at=T0)[0]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    second = score(example_model, [JANE], [ACME], shuffled, at=T0)[0]
    assert second.scores == pytest.approx(first.scores, rel=1e-9, abs=1e-9)
    assert (second.mql, second.grade) == (first.mql, first.grade)
    assert [r.name for r in second.reasons] == [r.name for r in first.reasons]


@settings(max_examples=150, deadline=None)
@given(histories())
def test_streaming_equals_a_recompute_from_the_whole_history(example_model, events) -> None:
    decision = score(example_model, [JANE], [ACME], events, at=T0)[0]
    recomputed = explain(example_model, JANE, ACME, events, at=T0)
    for name, value in decision.scores.items():
        if name == "total":
            continue
        expected = recomputed.score_total(name)
        cap = example_model.scores[name].max
        expected = min(cap, expected) if cap is not None else expected
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-9), name


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(0, 400))
def test_no_rule_contributes_more_than_its_cap(example_model, events, later_days) -> None:
    scorer = Scorer(example_model)
    scorer.add_contact(JANE)
    scorer.add_account(ACME)
    for e in events:
        scorer.add(e)
    at = T0 + timedelta(days=later_days)
    for score_def in example_model.scores.values():
        if score_def.kind != "intent":
            continue
        for rule in score_def.rules:
            assert isinstance(rule, IntentRule)
            state = scorer.account_states.get("acme.example") if rule.level == "account" else (
                scorer.contact_states.get(JANE.email))
            if state is None:
                continue
            value = rule_value(rule, score_def, state, at)
            if rule.cap is not None:
                assert abs(value) <= rule.cap + 1e-12


def test_a_late_event_counts_exactly_as_if_on_time(example_model) -> None:
    on_time = [Event("a", "demo_request", T0 - timedelta(days=9), contact=JANE.email),
               Event("b", "page_view", T0 - timedelta(days=1), contact=JANE.email,
                     properties={"url": "/pricing"})]
    late = list(reversed(on_time))
    a = score(example_model, [JANE], [ACME], on_time, at=T0)[0]
    b = score(example_model, [JANE], [ACME], late, at=T0)[0]
    assert a.intent == pytest.approx(b.intent, rel=1e-12)


def test_the_same_event_id_is_applied_once(example_model) -> None:
    demo = Event("dup", "demo_request", T0, contact=JANE.email)
    once = score(example_model, [JANE], [ACME], [demo], at=T0)[0]
    twice = score(example_model, [JANE], [ACME], [demo, demo], at=T0)[0]
    assert twice.intent == once.intent == 40.0


def test_events_after_the_scoring_time_are_ignored(example_model) -> None:
    future = Event("f", "demo_request", T0 + timedelta(days=1), contact=JANE.email)
    assert score(example_model, [JANE], [ACME], [future], at=T0)[0].intent == 0.0


def test_account_level_surge_counts_for_every_contact_of_the_account(example_model) -> None:
    raj = contact("raj@acme.example", department="security")
    surge = Event("s", "intent_surge", T0, account="acme.example", properties={"strength": 90})
    decisions = {d.contact: d for d in score(example_model, [JANE, raj], [ACME], [surge], at=T0)}
    assert decisions[JANE.email].intent == decisions["raj@acme.example"].intent == 10.0


def test_competitors_never_qualify_whatever_they_do(example_model) -> None:
    spy = contact("spy@rival.example", title="VP Marketing", country="US")
    rival = account("rival.example", status="competitor", employees=800)
    demo = Event("d", "demo_request", T0, contact=spy.email)
    decision = score(example_model, [spy], [rival], [demo], at=T0)[0]
    assert not decision.mql
    assert decision.excluded_by == ("competitor",)


def test_an_event_naming_no_one_does_not_hide_a_later_valid_copy_of_its_id(
        example_model: Model) -> None:
    scorer = Scorer(example_model)
    scorer.add_contact(JANE)
    nobody = Event("e1", "demo_request", T0 - timedelta(hours=2))
    valid = Event("e1", "demo_request", T0 - timedelta(hours=1), contact=JANE.email)
    assert scorer.add(nobody) is False
    assert scorer.add(valid) is True
    assert scorer.decide(JANE.email, T0).mql


PEOPLE = [JANE, contact("raj@acme.example", department="security", country="US"),
          contact("li@globex.example", title="CTO", country="GB"),
          contact("ana@initech.example", title="Marketing Manager", country="US")]
COMPANIES = [ACME, account("globex.example", employees=300, industry="fintech", country="GB"),
             account("initech.example", employees=120, industry="software", country="US")]


@st.composite
def world_histories(draw: st.DrawFn) -> list[Event]:
    """Events of four contacts at three companies; an account-level surge names an account
    (and maybe a contact of another company: a partner's employee), or only a contact, whose
    company it then counts for."""
    out = []
    for i in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from([*KINDS, "intent_surge"]))
        at = T0 - timedelta(seconds=draw(st.integers(0, 120 * 86400)))
        who = draw(st.sampled_from(PEOPLE)).email
        if kind == "intent_surge":
            domain = draw(st.sampled_from([None, *(a.domain for a in COMPANIES)]))
            named = who if domain is None else draw(st.sampled_from([None, who]))
            out.append(Event(f"e{i}", kind, at, contact=named, account=domain,
                             properties={"strength": draw(st.integers(0, 100))}))
            continue
        props = {"url": draw(st.sampled_from(URLS)),
                 "asset_type": draw(st.sampled_from(["comparison", "whitepaper", "ebook"]))}
        out.append(Event(f"e{i}", kind, at, contact=who, properties=props))
    return out


def _same_decision(a, b) -> None:
    assert a.scores == pytest.approx(b.scores, rel=1e-9, abs=1e-9)
    assert (a.contact, a.mql, a.grade, a.excluded_by, a.disqualified_by) == (
        b.contact, b.mql, b.grade, b.excluded_by, b.disqualified_by)
    assert [str(r) for r in a.reasons] == [str(r) for r in b.reasons]
    assert (a.qualified_until, a.exit_at) == (b.qualified_until, b.exit_at)


@settings(max_examples=60, deadline=None)
@given(world_histories(), st.integers(0, 60))
def test_streaming_equals_a_recompute_for_every_contact_of_several_accounts(
        example_model, events, later) -> None:
    at = T0 + timedelta(days=later)
    streamed = {d.contact: d for d in score(example_model, PEOPLE, COMPANIES, events, at=at)}
    companies = {a.domain: a for a in COMPANIES}
    # as `mql explain` passes them: an event naming a contact and no account is the
    # contact's company's
    employer = {p.email: p.account for p in PEOPLE}
    named = [e if e.account or e.contact is None
             else dataclasses.replace(e, account=employer[e.contact]) for e in events]
    for person in PEOPLE:
        recomputed = explain(example_model, person, companies[person.account], named, at=at)
        _same_decision(streamed[person.email], recomputed.decision)


def test_a_surge_at_one_company_named_by_another_companys_contact(example_model) -> None:
    # a strength-90 surge on globex (10 points at account level), sent with jane's email
    surge = Event("s", "intent_surge", T0, contact=JANE.email, account="globex.example",
                  properties={"strength": 90})
    decisions = {d.contact: d for d in score(example_model, PEOPLE, COMPANIES, [surge], at=T0)}
    intents = {email: d.intent for email, d in decisions.items()}
    assert intents == {JANE.email: 0.0, "raj@acme.example": 0.0, "li@globex.example": 10.0,
                       "ana@initech.example": 0.0}


@settings(max_examples=60, deadline=None)
@given(world_histories(), st.lists(st.integers(0, 39), max_size=10),
       st.randoms(use_true_random=False))
def test_resent_events_in_any_order_give_the_same_decisions(example_model, events, resend,
                                                            rnd) -> None:
    # ids from a small pool: every event may arrive again, before or after its first copy
    copies = [*events, *(events[i % len(events)] for i in resend)]
    first = score(example_model, PEOPLE, COMPANIES, events, at=T0)
    rnd.shuffle(copies)
    again = score(example_model, PEOPLE, COMPANIES, copies, at=T0)
    for a, b in zip(first, again, strict=True):
        _same_decision(a, b)


def test_add_says_whether_the_event_was_applied(example_model: Model) -> None:
    scorer = Scorer(example_model)
    scorer.add_contact(JANE)
    demo = Event("d1", "demo_request", T0 - timedelta(hours=1), contact=JANE.email)
    assert scorer.add(demo, until=T0) is True
    # a second copy of the id is not applied
    assert scorer.add(demo, until=T0) is False
    # an event after `until` is not applied (and its id is taken)
    future = Event("d2", "demo_request", T0 + timedelta(seconds=1), contact=JANE.email)
    assert scorer.add(future, until=T0) is False
    assert scorer.add(dataclasses.replace(future, at=T0), until=T0) is False
    # the demo's 40 points, once, an hour old with a half-life of 45 days
    assert scorer.decide(JANE.email, T0).intent == pytest.approx(40 * 2 ** (-1 / (45 * 24)))


def test_an_event_goes_to_the_states_whose_rules_count_it(example_model: Model) -> None:
    scorer = Scorer(example_model)
    scorer.add_contact(JANE)
    # intent_surge has only an account-level rule: jane's surge goes to acme's state alone
    surge = Event("s", "intent_surge", T0, contact=JANE.email, properties={"strength": 90})
    assert scorer.targets(surge) == (("account", "acme.example"),)
    # page_view has only contact-level rules: a view with an account and no contact goes
    # nowhere (no contact to fold it into)
    view = Event("v", "page_view", T0, account="acme.example", properties={"url": "/pricing"})
    assert scorer.targets(view) == ()
    assert scorer.targets(dataclasses.replace(view, contact=JANE.email)) == (
        ("contact", JANE.email),)


def test_contacts_with_a_blank_account_share_no_account_intent(example_model: Model) -> None:
    # a blank account is no account (no account has a blank domain): two such contacts do
    # not pool their account-level surges (10 points each at strength >= 70, cap 20)
    ann = contact("ann@one.example")
    bob = contact("bob@two.example")
    ann, bob = dataclasses.replace(ann, account=""), dataclasses.replace(bob, account="")
    surges = [Event("s1", "intent_surge", T0, contact=ann.email, properties={"strength": 90}),
              Event("s2", "intent_surge", T0, contact=bob.email, properties={"strength": 90})]
    decisions = {d.contact: d for d in score(example_model, [ann, bob], [], surges, at=T0)}
    assert decisions[ann.email].intent == decisions[bob.email].intent == 0.0
