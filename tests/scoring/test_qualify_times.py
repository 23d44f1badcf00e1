"""`Qualifier`'s times read on their own, as the services call them (the nurture worker
asks `first_below` with no curves of a decision), values by hand (GOLDEN: half-life 10
days, fit 50, intent 20 + 17.5 = 37.5 at T0)."""

from __future__ import annotations

import math

import pytest

from mql.model.parse import parse_model
from mql.model.spec import TOTAL, Model
from mql.records import Event
from mql.scoring.intent import IntentState, Program
from mql.scoring.qualify import Qualifier
from tests.conftest import T0
from tests.scoring.test_golden import ACME, EVENTS, GOLDEN, JANE

DAY = 86400.0


def _states(model: Model, events: list[Event]) -> tuple[IntentState, IntentState]:
    program = Program(model)
    mine, theirs = IntentState.empty(), IntentState.empty()
    for e in events:
        mine = mine.add(e, program) if e.contact is not None else theirs.add(
            e, program, "account")
    return mine, theirs


@pytest.fixture(scope="module")
def golden() -> Model:
    return parse_model(GOLDEN)


def _days(t: object) -> float:
    assert t is not None
    return (t - T0).total_seconds() / DAY  # type: ignore[operator]


def test_first_below_with_no_curves_of_a_decision(golden: Model) -> None:
    q = Qualifier(golden)
    mine, theirs = _states(golden, EVENTS)
    fits = q.fits(JANE, ACME)
    # total 50 + 37.5 * 2^(-d/10) < 80 once intent < 30: d = 10 log2(1.25)
    below = q.first_below(TOTAL, 80.0, fits, mine, theirs, T0)
    assert _days(below) == pytest.approx(10 * math.log2(1.25), abs=1 / DAY)
    # intent alone under 10: d = 10 log2(3.75)
    below = q.first_below("intent", 10.0, fits, mine, theirs, T0)
    assert _days(below) == pytest.approx(10 * math.log2(3.75), abs=1 / DAY)
    # fit is constant: under a line above it at once, under one at or below it never
    assert q.first_below("fit", 51.0, fits, mine, theirs, T0) == T0
    assert q.first_below("fit", 50.0, fits, mine, theirs, T0) is None
