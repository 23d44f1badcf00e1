"""Lifecycle: the transition table refuses with reasons, the model moves contacts on time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mql.errors import TransitionRefused
from mql.lifecycle.rules import accept, convert, due_at, next_move, reject
from mql.lifecycle.stages import Cause, Stage, Transition, allowed
from mql.records import Event
from mql.scoring.scorer import score
from tests.conftest import T0, account, contact

JANE = contact("jane@acme.example", title="VP Marketing", department="marketing", country="US")
ACME = account("acme.example", employees=800, industry="software", country="US", region="NA")


def decide(model, events, at=T0, who=JANE, where=ACME):
    return score(model, [who], [where], events, at=at)[0]


def test_every_stage_has_a_row_and_customers_are_final() -> None:
    assert all(not allowed(Stage.CUSTOMER, s) for s in Stage)
    assert allowed(Stage.RECYCLED, Stage.MQL)


def test_a_move_outside_the_table_is_refused_with_the_options() -> None:
    with pytest.raises(TransitionRefused) as info:
        Transition("jane@acme.example", Stage.NURTURE, Stage.OPPORTUNITY, T0, Cause.MODEL_CHANGE)
    assert info.value.reason == "not_allowed"
    assert "from nurture a contact may go to mql, pql, disqualified, customer" in str(info.value)


def test_qualifying_contact_moves_to_mql_with_the_path_that_qualified_it(example_model) -> None:
    d = decide(example_model, [Event("d", "demo_request", T0, contact=JANE.email)])
    move = next_move(example_model, Stage.NURTURE, T0, d, model_version="v1")
    assert move is not None
    assert (move.target, move.model_version) == (Stage.MQL, "v1")
    assert move.cause in (Cause.THRESHOLD, Cause.FAST_TRACK)


def test_an_mql_falls_back_to_nurture_at_the_exit_crossing(example_model) -> None:
    events = [Event("d", "demo_request", T0, contact=JANE.email)]
    d = decide(example_model, events)
    due = due_at(example_model, Stage.MQL, T0, d)
    assert due is not None
    # the exit crossing (intent < 15) comes before the 14-day acceptance timeout? compare both
    timeout = T0 + timedelta(days=14)
    assert due == min(d.exit_at, timeout)
    later = decide(example_model, events, at=due + timedelta(seconds=1))
    move = next_move(example_model, Stage.MQL, T0, later)
    assert move is not None
    assert move.target in (Stage.NURTURE, Stage.RECYCLED)
    just_before = decide(example_model, events, at=due - timedelta(seconds=1))
    assert next_move(example_model, Stage.MQL, T0, just_before) is None


def test_an_unaccepted_mql_is_recycled_after_the_timeout(example_model) -> None:
    views = [Event(f"p{i}", "page_view", T0 - timedelta(days=i), contact=JANE.email,
                   properties={"url": "/pricing"}) for i in range(3)]
    views += [Event("d", "demo_request", T0, contact=JANE.email),
              Event("t", "trial_signup", T0, contact=JANE.email)]
    at = T0 + timedelta(days=14)
    d = decide(example_model, views, at=at)
    assert d.scores["intent"] >= 15  # still above the exit line
    move = next_move(example_model, Stage.MQL, T0, d)
    assert move is not None
    assert (move.target, move.cause) == (Stage.RECYCLED, Cause.TIMEOUT)
    assert move.reason == "not accepted within 14 days"


def test_disqualified_industry_is_disqualified_not_qualified(example_model) -> None:
    agency = account("agency.example", industry="government", employees=900)
    who = contact("gov@agency.example", title="CIO", department="it")
    d = decide(example_model, [Event("d", "demo_request", T0, contact=who.email)], who=who,
               where=agency)
    move = next_move(example_model, Stage.NURTURE, T0, d)
    assert move is not None
    assert (move.target, move.reason) == (Stage.DISQUALIFIED, "disqualified_industry")


def test_sales_owns_accepted_leads_the_model_never_moves_them(example_model) -> None:
    d = decide(example_model, [])
    for stage in (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER):
        assert next_move(example_model, stage, T0, d) is None


def test_rejected_lead_returns_to_nurture_as_recycled_with_its_reason(example_model) -> None:
    move = reject(example_model, JANE.email, Stage.MQL, T0, "dana.ross", "bad_timing")
    assert (move.target, move.reason, move.actor) == (Stage.RECYCLED, "bad_timing", "dana.ross")
    assert reject(example_model, JANE.email, Stage.MQL, T0, "dana", "student").target is (
        Stage.DISQUALIFIED)


def test_an_unknown_reject_reason_is_refused_with_the_list(example_model) -> None:
    with pytest.raises(TransitionRefused, match="choose one of wrong_fit, no_budget"):
        reject(example_model, JANE.email, Stage.MQL, T0, "dana", "meh")


def test_accept_then_convert_walks_the_funnel() -> None:
    sal = accept(JANE.email, Stage.MQL, T0, "dana")
    sql = convert(JANE.email, sal.target, T0, "dana")
    opp = convert(JANE.email, sql.target, T0, "dana")
    assert [sal.target, sql.target, opp.target] == [Stage.SAL, Stage.SQL, Stage.OPPORTUNITY]
    with pytest.raises(TransitionRefused, match="accept it first"):
        convert(JANE.email, Stage.MQL, T0, "dana")
    with pytest.raises(TransitionRefused):
        accept(JANE.email, Stage.NURTURE, T0, "dana")
