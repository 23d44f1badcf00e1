"""A small model whose every number was worked out by hand (half-life 10 days)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from mql.model.parse import parse_model
from mql.scoring.explain import explain
from mql.scoring.scorer import score
from tests.conftest import T0, account, contact, event

GOLDEN = """
name: golden
decay: {half_life_days: 10}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
    - {name: size, when: {field: account.employees, op: between, value: [200, 5000]}, points: 30}
    - name: personal
      when: {field: contact.email_domain, op: in, value: [gmail.com]}
      points: -20
intent:
  rules:
    - {name: demo, event: demo_request, points: 40, cap: 60}
    - name: pricing
      event: page_view
      when: {field: url, op: contains, value: /pricing}
      points: 10
      cap: 25
    - {name: browsing, event: page_view, min_count: 3, within_days: 7, points: 5}
mql:
  thresholds: {fit: 40, intent: 30}
  fast_track:
    - {name: demo, event: demo_request, within_days: 7}
grades:
  fit: {A: 50, B: 30, C: 10}
  intent: {"1": 40, "2": 20, "3": 5}
exit:
  below: {intent: 10}
"""

JANE = contact("jane@acme.example", country="US")
ACME = account("acme.example", employees=800)
EVENTS = [
    event("demo_request", 10),  # 40 * 2^-1 = 20
    event("page_view", 0, url="/pricing"),  # 10
    event("page_view", 10, url="/pricing"),  # 5
    event("page_view", 20, url="/pricing"),  # 2.5; only one view in 7 days: no browsing points
]


@pytest.fixture(scope="module")
def golden():
    return parse_model(GOLDEN, source="golden.yaml")


def test_hand_checked_scores_grade_and_verdict(golden) -> None:
    d = score(golden, [JANE], [ACME], EVENTS, at=T0)[0]
    assert d.fit == 50.0  # us 20 + size 30
    assert d.intent == pytest.approx(37.5, rel=1e-12)  # 20 + 17.5
    assert d.total == pytest.approx(87.5, rel=1e-12)
    assert d.grade == "A2"
    assert d.mql
    assert [str(r) for r in d.reasons] == [
        "thresholds #1: fit 50 >= 40 and intent 37.5 >= 30"
    ]
    assert repr(d) == ("Decision(mql=True, fit=50.0, intent=37.5, grade='A2', "
                       "as_of=2026-03-02T10:00Z)")


def test_qualified_until_and_exit_are_the_closed_form_crossings(golden) -> None:
    d = score(golden, [JANE], [ACME], EVENTS, at=T0)[0]
    # 37.5 * 2^(-x/10) = 30  ->  x = 10 * log2(1.25) days
    assert d.qualified_until is not None and d.exit_at is not None
    until = (d.qualified_until - T0).total_seconds() / 86400
    assert until == pytest.approx(10 * math.log2(37.5 / 30), abs=1 / 86400)
    # exit when intent < 10: x = 10 * log2(3.75) days
    exit_days = (d.exit_at - T0).total_seconds() / 86400
    assert exit_days == pytest.approx(10 * math.log2(3.75), abs=1 / 86400)
    later = score(golden, [JANE], [ACME], EVENTS, at=d.exit_at)[0]
    assert later.intent == pytest.approx(10.0, abs=1e-6)


def test_the_ledger_adds_up_to_each_score(golden) -> None:
    x = explain(golden, JANE, ACME, EVENTS, at=T0)
    lines = {(r.rule, r.events, round(r.decayed, 9), r.value) for r in x.rules}
    assert lines == {("demo", 1, 20.0, 20.0), ("pricing", 3, 17.5, 17.5),
                     ("browsing", 1, 0.0, 0.0)}
    factors = sorted(round(line.factor, 12) for line in x.ledger if line.rule == "pricing")
    assert factors == [0.25, 0.5, 1.0]
    assert x.score_total("intent") == pytest.approx(x.decision.intent, rel=1e-12)
    assert x.score_total("fit") == x.decision.fit


def test_a_cap_that_bites_is_shown_on_its_line(golden) -> None:
    views = [event("page_view", d, url="/pricing") for d in (0, 1, 2, 3)]
    x = explain(golden, JANE, ACME, views, at=T0)
    pricing = next(r for r in x.rules if r.rule == "pricing")
    assert pricing.value == 25.0 and pricing.note == "cap 25"
    assert pricing.decayed > 25.0
    browsing = next(r for r in x.rules if r.rule == "browsing")
    assert browsing.value == 5.0 and browsing.note == "4 in 7 days, needs 3"


def test_what_would_change_a_near_miss(golden) -> None:
    x = explain(golden, JANE, ACME, [event("page_view", 0, url="/pricing")], at=T0)
    assert not x.decision.mql
    assert x.changes[0] == ("thresholds #1 need intent +20 (10 -> 30); one demo_request "
                            "(demo, +40) would do")
    assert x.changes[1] == "a demo_request event would qualify at once (fast-track demo)"


def test_unknown_fit_fields_are_listed_for_enrichment(golden) -> None:
    x = explain(golden, JANE, account("acme.example"), EVENTS, at=T0)
    assert x.decision.unknown_fields == ("account.employees",)
    assert "account.employees is unknown; enriching it may change size (+30)" in x.changes


def test_fast_track_qualifies_at_once_and_expires_on_time(golden) -> None:
    nobody = contact("kim@gmail.com")
    demo = [event("demo_request", 0, contact="kim@gmail.com")]
    d = score(golden, [nobody], [], demo, at=T0)[0]
    assert d.mql and d.reasons[0].kind == "fast_track"
    assert d.qualified_until == T0 + timedelta(days=7)
    after = score(golden, [nobody], [], demo, at=T0 + timedelta(days=7))[0]
    assert not after.mql


def test_a_negated_score_line_still_bounds_how_long_a_criterion_holds() -> None:
    model = parse_model(GOLDEN.replace("""  thresholds: {fit: 40, intent: 30}""", """  criteria:
    - name: warm
      when: {not: {field: score.intent, op: lt, value: 5}}"""))
    d = score(model, [JANE], [ACME], [event("page_view", 0, url="/pricing")], at=T0)[0]
    assert d.mql and d.reasons[0].name == "warm"
    # intent 10 decays to 5 after one half-life (10 days): that is when the criterion ends
    assert d.qualified_until is not None
    assert (d.qualified_until - T0).total_seconds() == pytest.approx(10 * 86400, abs=1)


# Spec: with several exit lines, an MQL exits the first time ANY score falls under its
# line, i.e. at the earliest of the crossings.
SEVERAL_EXITS = """
name: exits
decay: {half_life_days: 10}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {total: 50}
exit:
  below: {intent: 10, total: 45}
"""


def test_with_several_exit_lines_the_first_crossing_is_the_exit() -> None:
    model = parse_model(SEVERAL_EXITS, source="exits.yaml")
    decision = score(model, [JANE], [ACME], [event("demo_request", 0)], at=T0)[0]
    assert decision.mql
    # total = 20 + 40 * 2^(-d/10) < 45 at d = 10 * log2(40/25) = 6.7807 days;
    # intent = 40 * 2^(-d/10) < 10 only at d = 20 days
    exit_days = 10 * math.log2(40 / 25)
    assert decision.exit_at is not None
    assert abs((decision.exit_at - T0).total_seconds() - exit_days * 86400) <= 1e-6
    assert decision.exit_at < T0 + timedelta(days=7)
