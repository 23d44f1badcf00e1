"""The applier's shortcuts give exactly what the plain computation gives: an intent score
read from the tracked rules only, fit kept while a contact's records stay the same, and
a decision that skips the exit time of a contact that does not qualify."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.spec import IntentRule, Model
from mql.records import Event
from mql.scoring.intent import IntentState, Program, intent_value, rule_value, score_value
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
