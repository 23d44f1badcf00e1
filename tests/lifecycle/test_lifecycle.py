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


# Every move with all its fields, by hand: who, from, to, when, cause, actor, version, why.
def _decision(mql: bool, intent: float, *, reasons=(), until=None, exit_at=None,
              disqualified=()):
    from mql.scoring.qualify import Decision

    return Decision(JANE.email, T0, {"fit": 60.0, "intent": intent, "total": 60.0 + intent},
                    "A2", mql, reasons, until, exit_at, disqualified_by=disqualified)


def test_sales_actions_are_whole_transitions() -> None:
    e, later = JANE.email, T0 + timedelta(hours=1)
    assert accept(e, Stage.MQL, later, "dana") == Transition(
        e, Stage.MQL, Stage.SAL, later, Cause.SALES_ACTION, "dana", None, "accepted")
    assert accept(e, Stage.PQL, later, "dana").source is Stage.PQL
    steps = [(Stage.SAL, Stage.SQL), (Stage.SQL, Stage.OPPORTUNITY),
             (Stage.OPPORTUNITY, Stage.CUSTOMER)]
    for source, target in steps:
        assert convert(e, source, later, "dana", "call went well") == Transition(
            e, source, target, later, Cause.SALES_ACTION, "dana", None, "call went well")
    for stage in (Stage.MQL, Stage.NURTURE, Stage.CUSTOMER):
        with pytest.raises(TransitionRefused, match=rf"^cannot convert a contact in "
                                                    rf"{stage.value}; accept it first \(SAL\)$"):
            convert(e, stage, later, "dana")


def test_rejections_recycle_or_disqualify_by_reason(example_model) -> None:
    e = JANE.email
    assert reject(example_model, e, Stage.MQL, T0, "dana", "no_budget") == Transition(
        e, Stage.MQL, Stage.RECYCLED, T0, Cause.SALES_ACTION, "dana", None, "no_budget")
    for reason in ("competitor", "student"):
        assert reject(example_model, e, Stage.SAL, T0, "dana", reason).target is (
            Stage.DISQUALIFIED)
    with pytest.raises(TransitionRefused) as info:
        reject(example_model, e, Stage.MQL, T0, "dana", "meh")
    assert info.value.reason == "unknown_reason"
    assert str(info.value) == ("unknown reject reason 'meh'; choose one of wrong_fit, "
                               "no_budget, bad_timing, duplicate, no_response, competitor, "
                               "student")


def test_the_models_moves_with_their_causes_and_reasons(example_model) -> None:
    from mql.scoring.qualify import Reason

    e = JANE.email
    demo = (Reason("fast_track", "demo_request", "demo at ..."),
            Reason("thresholds", "#1", "fit 60 >= 50"))
    entered = next_move(example_model, Stage.RECYCLED, T0, _decision(True, 40, reasons=demo),
                        model_version="v2")
    assert entered == Transition(e, Stage.RECYCLED, Stage.MQL, T0, Cause.FAST_TRACK, "mql",
                                 "v2", "demo_request")
    gone = next_move(example_model, Stage.MQL, T0, _decision(True, 14.9, reasons=demo))
    assert gone == Transition(e, Stage.MQL, Stage.NURTURE, T0, Cause.DECAY, "mql", None,
                              "intent < 15")
    assert next_move(example_model, Stage.MQL, T0, _decision(True, 15.0, reasons=demo)) is None
    # 14 days after entering MQL, not accepted: recycled at exactly that moment
    since = T0 - timedelta(days=14)
    assert next_move(example_model, Stage.MQL, since, _decision(True, 40, reasons=demo)) == (
        Transition(e, Stage.MQL, Stage.RECYCLED, T0, Cause.TIMEOUT, "mql", None,
                   "not accepted within 14 days"))
    just_before = since + timedelta(microseconds=1)
    assert next_move(example_model, Stage.MQL, just_before,
                     _decision(True, 40, reasons=demo)) is None
    out = next_move(example_model, Stage.MQL, T0,
                    _decision(True, 40, reasons=demo, disqualified=("gov", "edu")))
    assert out == Transition(e, Stage.MQL, Stage.DISQUALIFIED, T0, Cause.DISQUALIFICATION,
                             "mql", None, "gov, edu")
    assert next_move(example_model, Stage.SAL, T0,
                     _decision(False, 0, disqualified=("gov",))) is None  # sales owns it
    assert str(gone) == "2026-03-02 10:00 mql -> nurture by mql: decay (intent < 15)"
    assert str(Transition(e, Stage.MQL, Stage.SAL, T0, Cause.SALES_ACTION, "dana")) == (
        "2026-03-02 10:00 mql -> sal by dana: sales_action")


def test_an_mql_is_due_at_the_earlier_of_its_exit_and_its_timeout(example_model) -> None:
    since = T0 - timedelta(days=10)  # the timeout falls at T0 + 4 days
    soon, late = T0 + timedelta(days=1), T0 + timedelta(days=9)
    assert due_at(example_model, Stage.MQL, since, _decision(True, 40, exit_at=soon)) == soon
    assert due_at(example_model, Stage.MQL, since, _decision(True, 40, exit_at=late)) == (
        T0 + timedelta(days=4))
    # qualified_until only counts for models without an exit rule
    assert due_at(example_model, Stage.MQL, since,
                  _decision(True, 40, until=soon, exit_at=None)) == T0 + timedelta(days=4)
    for stage in (Stage.NURTURE, Stage.SAL):
        assert due_at(example_model, stage, since, _decision(True, 40, exit_at=soon)) is None
    with pytest.raises(TransitionRefused, match=r"^customer -> nurture is not allowed; from "
                                                r"customer a contact may go to nowhere "
                                                r"\(final stage\)$"):
        Transition(JANE.email, Stage.CUSTOMER, Stage.NURTURE, T0, Cause.SALES_ACTION)


def test_without_an_exit_rule_an_mql_leaves_when_it_stops_qualifying() -> None:
    from mql.model.parse import parse_model
    from tests.model.tiny import BASE

    tiny = parse_model(BASE, source="tiny.yaml")  # no exit rule, no acceptance timeout
    e, soon = JANE.email, T0 + timedelta(days=2)
    still = _decision(True, 40, until=soon, exit_at=T0 + timedelta(days=1))
    assert next_move(tiny, Stage.MQL, T0, still) is None
    assert due_at(tiny, Stage.MQL, T0, still) == soon  # qualified_until, not exit_at
    assert due_at(tiny, Stage.MQL, T0, _decision(True, 40)) is None  # never leaves
    assert next_move(tiny, Stage.MQL, T0, _decision(False, 0)) == Transition(
        e, Stage.MQL, Stage.NURTURE, T0, Cause.DECAY, "mql", None, "no longer qualifies")
    two = parse_model(BASE + "exit:\n  below: {intent: 15, total: 50}\n", source="two.yaml")
    assert next_move(two, Stage.MQL, T0, _decision(True, 10)).reason == (
        "intent < 15, total < 50")
    with pytest.raises(TransitionRefused) as info:
        convert(e, Stage.MQL, T0, "dana")
    assert info.value.reason == "not_accepted"
