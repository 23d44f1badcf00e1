"""Lifecycle: the transition table refuses with reasons, the model moves contacts on time."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- exits that happen, and happen once -----------------------------------------------------

US_LEAD = contact("sam@mid.example", title="Analyst", country="US")
MIDMARKET = account("mid.example", employees=200, industry="retail", country="US")


def walk(model, events, *, until, who=US_LEAD, where=MIDMARKET):
    """The stage machine driven as the store drives it: a decision at every event, and the
    worker's re-decision at every due moment before the next event (and up to `until`).
    Returns the moves, oldest first."""
    stage, since, moves = Stage.NURTURE, events[0].at, []
    seen: list[Event] = []
    stops = [e.at for e in events[1:]] + [until]
    for e, next_at in zip(events, stops, strict=True):
        seen.append(e)
        at = e.at
        for _ in range(10):  # the event's decision, then each due moment before the next
            d = score(model, [who], [where], seen, at=at)[0]
            move = next_move(model, stage, since, d)
            if move is not None:
                moves.append(move)
                stage, since = move.target, move.at
                d = score(model, [who], [where], seen, at=at)[0]
            due = due_at(model, stage, since, d)
            if due is None or due >= next_at or (due <= at and move is None):
                break
            at = due
    return moves


def test_a_criteria_mql_under_the_exit_line_is_not_sent_straight_back(example_model) -> None:
    # 3 page views in 30 days qualify a US mid-market lead by criteria with intent 10,
    # under the exit line (15). It used to go MQL -> nurture -> MQL at every later event,
    # with a new owner and three webhooks each time. Now it stays MQL while the criteria
    # hold, and leaves once: when the 30-day window closes (intent is under 15 by then).
    views = [Event(f"v{i}", "page_view", T0 + timedelta(days=i), contact=US_LEAD.email,
                   properties={"url": "/blog"}) for i in range(6)]
    moves = walk(example_model, views, until=T0 + timedelta(days=60))
    assert [(m.source, m.target, m.cause) for m in moves] == [
        (Stage.NURTURE, Stage.MQL, Cause.CRITERIA),
        (Stage.MQL, Stage.RECYCLED, Cause.TIMEOUT)]
    # qualified at the third view (day 2); not accepted within 14 days: recycled at day 16
    assert [m.at for m in moves] == [T0 + timedelta(days=2), T0 + timedelta(days=16)]


def test_without_a_timeout_the_criteria_mql_leaves_when_its_window_closes(example_model) -> None:
    model = dataclasses.replace(example_model, lifecycle=dataclasses.replace(
        example_model.lifecycle, recycle_after_days=None))
    views = [Event(f"v{i}", "page_view", T0 + timedelta(days=i), contact=US_LEAD.email,
                   properties={"url": "/blog"}) for i in range(4)]
    moves = walk(model, views, until=T0 + timedelta(days=60))
    assert [(m.target, m.cause, m.at) for m in moves] == [
        (Stage.MQL, Cause.CRITERIA, T0 + timedelta(days=2)),
        # the 3 latest views are days 1-3: the window "3 in 30 days" closes at day 31
        (Stage.NURTURE, Cause.DECAY, T0 + timedelta(days=31))]


kinds = st.sampled_from([
    ("page_view", {"url": "/blog"}), ("page_view", {"url": "/pricing"}),
    ("webinar_attended", {}), ("demo_request", {}), ("email_click", {}),
    ("content_download", {"asset_type": "whitepaper"}), ("email_unsubscribe", {}),
    ("page_view", {"url": "/careers"})])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(kinds, st.floats(min_value=0, max_value=20)), min_size=1,
                max_size=8), st.booleans())
def test_a_lead_never_flaps_between_mql_and_nurture(example_model, drawn, timeout) -> None:
    model = example_model if timeout else dataclasses.replace(
        example_model, lifecycle=dataclasses.replace(example_model.lifecycle,
                                                     recycle_after_days=None))
    at, events = T0, []
    for i, ((kind, props), gap) in enumerate(drawn):
        at += timedelta(days=gap)
        events.append(Event(f"e{i}", kind, at, contact=US_LEAD.email, properties=props))
    moves = walk(model, events, until=at + timedelta(days=90))
    event_times = [e.at for e in events]
    for m in moves:
        if m.source is Stage.MQL and m.cause is Cause.DECAY:
            # an exit never happens while a path still qualifies the lead
            d = score(model, [US_LEAD], [MIDMARKET], [e for e in events if e.at <= m.at],
                      at=m.at)[0]
            assert not d.mql
    for left, entered in itertools.pairwise(moves):
        if left.source is Stage.MQL and entered.target is Stage.MQL:
            # back to MQL only on an event after the exit, never at the exit's own moment
            assert entered.at > left.at
            assert entered.at in event_times
    assert sum(m.target is Stage.MQL for m in moves) <= len(events)


def test_a_decision_at_the_exit_time_is_under_the_exit_line(example_model) -> None:
    # found by a random search: the closed-form crossing, rounded up to the microsecond,
    # read back through the state gave intent == 15.0 exactly, so the worker's re-decision
    # at the due moment moved nothing and scheduled the same moment again, forever
    de = contact("lu@big.example", country="DE")
    big = account("big.example", employees=1000)
    events = [Event("c", "content_download", T0 - timedelta(days=26.96773115586788),
                    contact=de.email, properties={"asset_type": "comparison"}),
              Event("w", "webinar_attended", T0 - timedelta(days=1.6864054447313936),
                    contact=de.email)]
    since = T0 - timedelta(days=1)  # qualified yesterday (acceptance timeout: day 13)
    d = score(example_model, [de], [big], events, at=T0)[0]
    assert d.exit_at is not None and d.exit_at > T0
    assert due_at(example_model, Stage.MQL, since, d) == since + timedelta(days=14)
    due = d.exit_at
    at_due = score(example_model, [de], [big], events, at=due)[0]
    assert at_due.intent < 15.0
    assert score(example_model, [de], [big], events,
                 at=due - timedelta(microseconds=1))[0].intent >= 15.0
    move = next_move(example_model, Stage.MQL, due - timedelta(days=1), at_due)
    assert move is not None and (move.target, move.at) == (Stage.NURTURE, due)


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
    # the exit line is hysteresis: a lead whose fast track still qualifies it stays, even
    # under the line; once no path qualifies it, it leaves when a score is under the line
    assert next_move(example_model, Stage.MQL, T0, _decision(True, 14.9, reasons=demo)) is None
    gone = next_move(example_model, Stage.MQL, T0, _decision(False, 14.9))
    assert gone == Transition(e, Stage.MQL, Stage.NURTURE, T0, Cause.DECAY, "mql", None,
                              "intent < 15")
    assert next_move(example_model, Stage.MQL, T0, _decision(False, 15.0)) is None
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
    # the exit is the later of the moment no path qualifies (qualified_until) and the exit
    # crossing; the due moment is the earlier of that exit and the timeout
    assert due_at(example_model, Stage.MQL, since,
                  _decision(True, 40, until=T0, exit_at=soon)) == soon
    assert due_at(example_model, Stage.MQL, since,
                  _decision(True, 40, until=T0 + timedelta(days=2), exit_at=soon)) == (
        T0 + timedelta(days=2))
    assert due_at(example_model, Stage.MQL, since,
                  _decision(True, 40, until=T0, exit_at=late)) == T0 + timedelta(days=4)
    # qualifying for good (no qualified_until): only the timeout can end it
    assert due_at(example_model, Stage.MQL, since, _decision(True, 40, exit_at=soon)) == (
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
    assert next_move(two, Stage.MQL, T0, _decision(True, 10)) is None  # still qualifies
    gone = next_move(two, Stage.MQL, T0, _decision(False, 10))
    assert gone is not None and gone.reason == "intent < 15, total < 50"
    with pytest.raises(TransitionRefused) as info:
        convert(e, Stage.MQL, T0, "dana")
    assert info.value.reason == "not_accepted"
