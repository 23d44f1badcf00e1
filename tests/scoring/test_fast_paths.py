"""The applier's shortcuts give exactly what the plain computation gives: an intent score
read from the tracked rules only, fit kept while a contact's records stay the same, and
a decision that skips the exit time of a contact that does not qualify."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.spec import IntentRule, Model
from mql.records import Event
from mql.scoring.decay import DecayedSum, EventLog, Part, Term
from mql.scoring.intent import (
    IntentState,
    Program,
    intent_part,
    intent_value,
    log_rule,
    rule_decay,
    rule_key,
    rule_value,
    score_value,
)
from mql.scoring.qualify import Qualifier
from tests.conftest import T0, account, contact
from tests.scoring.test_scorer import ACME, JANE, histories


def _states(model: Model, events: list[Event]) -> tuple[IntentState, IntentState]:
    program = Program(model)
    mine, theirs = IntentState.empty(), IntentState.empty()
    for e in events:
        if e.contact is not None:
            mine = mine.add(e, program)
        else:
            theirs = theirs.add(e, program, "account")
    return mine, theirs


# an intent score is the capped sum of its rules' values in rule order; reading only the
# rules with tracked values must give that sum bit for bit
@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(0, 400))
def test_intent_value_is_the_sum_of_every_rule_bit_for_bit(example_model: Model,
                                                           events: list[Event],
                                                           hours_later: int) -> None:
    mine, theirs = _states(example_model, events)
    at = T0 + timedelta(hours=hours_later)
    for score in example_model.scores.values():
        if score.kind != "intent":
            continue
        plain = score_value(score, (
            rule_value(r, score, theirs if r.level == "account" else mine, at)
            for r in score.rules if isinstance(r, IntentRule)))
        assert intent_value(score, mine, theirs, at) == plain


def test_fit_is_computed_again_when_a_value_or_its_type_changes(example_model: Model) -> None:
    kept = Qualifier(example_model)
    first = kept.fits(JANE, ACME)
    assert first == Qualifier(example_model).fits(JANE, ACME)
    for changed_contact, changed_account in [
            (contact(JANE.email, title="Intern", department="marketing", country="US"), ACME),
            (JANE, account("acme.example", employees=5, industry="software", country="US")),
            (JANE, account("acme.example", employees=800.0, industry="software",
                           country="US")),
            (JANE, None)]:
        fresh = Qualifier(example_model).fits(changed_contact, changed_account)
        assert kept.fits(changed_contact, changed_account) == fresh
    # the caller changing its record afterwards does not change what was kept
    attributes = {"title": "VP Marketing", "department": "marketing", "country": "US"}
    record = dataclasses.replace(JANE, attributes=attributes)
    assert kept.fits(record, ACME) == first
    attributes["title"] = "Intern"
    assert kept.fits(record, ACME) == Qualifier(example_model).fits(record, ACME)


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 400))
def test_a_decision_without_the_exit_time_differs_only_there(example_model: Model,
                                                            events: list[Event],
                                                            hours_later: int) -> None:
    mine, theirs = _states(example_model, events)
    at = max([T0 + timedelta(hours=hours_later)] + [t for t in (mine.as_of, theirs.as_of)
                                                     if t is not None])
    qualifier = Qualifier(example_model)
    full = qualifier.decide(JANE, ACME, mine, theirs, at)
    short = qualifier.decide(JANE, ACME, mine, theirs, at, exit_needed=False)
    # a qualifying contact (it becomes or stays an MQL) still gets its exit time
    assert short == (full if full.mql else dataclasses.replace(full, exit_at=None))


def _part_rule_by_rule(score: Any, mine: IntentState, theirs: IntentState,
                       at: datetime) -> Part:
    """`intent_part` read the plain way: every rule in order, its decay and log rule
    worked out on the spot."""
    terms, steps = [], []
    for rule in score.rules:
        state = theirs if rule.level == "account" else mine
        key = rule_key(score.name, rule.name)
        if rule.windowed:
            if state.holds(key, at, rule.within_days):
                steps.append((rule.points, state.expiry(key, rule.within_days)))
            continue
        decay, log = rule_decay(rule, score), log_rule(rule, score)
        tracked = state.values.get(key)
        if isinstance(tracked, EventLog) and log is not None:
            terms.append(Term(tuple(tracked.pieces(at, log)), rule.cap,
                              decay.half_life_seconds))
        elif isinstance(tracked, DecayedSum):
            terms.append(Term(((tracked.value_at(at, decay), None),), rule.cap,
                              decay.half_life_seconds))
    return Part(1.0, tuple(terms), tuple(steps), score.max, score.floor)


# a score's rules are worked out once per score, and the rules with nothing tracked are
# skipped: the curve's parts must be the ones the rule-by-rule reading builds
@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(0, 400))
def test_an_intent_part_is_the_rule_by_rule_part(example_model: Model, events: list[Event],
                                                 hours_later: int) -> None:
    mine, theirs = _states(example_model, events)
    at = max([T0 + timedelta(hours=hours_later)] + [t for t in (mine.as_of, theirs.as_of)
                                                     if t is not None])
    for score in example_model.scores.values():
        if score.kind == "intent":
            assert intent_part(score, mine, theirs, at) == _part_rule_by_rule(
                score, mine, theirs, at)


# one decision shares each score's curve between `qualified_until` and the exit time: both
# must be what each computes alone, on a fresh qualifier
@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 400))
def test_a_decisions_end_and_exit_are_what_each_computes_alone(example_model: Model,
                                                               events: list[Event],
                                                               hours_later: int) -> None:
    mine, theirs = _states(example_model, events)
    at = max([T0 + timedelta(hours=hours_later)] + [t for t in (mine.as_of, theirs.as_of)
                                                     if t is not None])
    decision = Qualifier(example_model).decide(JANE, ACME, mine, theirs, at)
    alone = Qualifier(example_model)
    fits = alone.fits(JANE, ACME)
    until = alone.qualified_until(JANE, ACME, fits, mine, theirs, at) if decision.mql \
        else None
    assert decision.qualified_until == until
    assert decision.exit_at == alone.exit_time(example_model.exit_below, fits, mine, theirs,
                                               at)
