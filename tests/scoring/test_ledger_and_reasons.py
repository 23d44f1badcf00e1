"""The ledger and rule lines of an explanation, the reasons of a decision and the changes
that would move it, field by field with values by hand (GOLDEN: half-life 10 days)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mql.model.parse import parse_model
from mql.scoring.explain import LedgerLine, RuleLine, explain
from mql.scoring.qualify import Reason
from mql.scoring.scorer import score
from tests.conftest import T0, account, contact, event
from tests.scoring.test_golden import ACME, GOLDEN, JANE


@pytest.fixture(scope="module")
def golden():
    return parse_model(GOLDEN)


def test_each_event_is_a_ledger_line_and_each_rule_a_rule_line(golden) -> None:
    demo = event("demo_request", 10, event_id="d1")
    views = [event("page_view", d, url="/pricing", event_id=f"v{d}") for d in (0, 1, 7)]
    x = explain(golden, JANE, ACME, [demo, *views], at=T0)
    half = 0.5
    assert [line for line in x.ledger if line.rule == "demo"] == [
        LedgerLine("intent", "demo", "d1", "demo_request", T0 - timedelta(days=10), 40.0,
                   half, 20.0)]
    assert x.rules[0] == RuleLine("intent", "demo", 1, 40.0, 20.0, 20.0, "")
    # three pricing views, 30 points before decay; 10 + 10 * 2^-0.1 + 10 * 2^-0.7 ~ 25.5,
    # capped at 25
    pricing = x.rules[1]
    assert (pricing.rule, pricing.events, pricing.points, pricing.value, pricing.note) == (
        "pricing", 3, 30.0, 25.0, "cap 25")
    assert pricing.decayed == pytest.approx(10 + 10 * 2 ** -0.1 + 10 * 2 ** -0.7, rel=1e-12)
    # the window rule counts views strictly inside its 7 days: the one 7 days ago is out
    assert x.rules[2] == RuleLine("intent", "browsing", 2, 5.0, 0.0, 0.0,
                                  "2 in 7 days, needs 3")


def test_the_reasons_of_each_path_carry_their_values(golden) -> None:
    # fit 50 (us 20 + size 30), intent exactly 30: on the line qualifies ("at or over")
    d = score(golden, [JANE], [ACME], [event("demo_request", 10),
                                       event("page_view", 0, url="/pricing")], at=T0)[0]
    # 40 * 2^-1 + 10 = 30
    assert d.intent == pytest.approx(30.0, abs=1e-9)
    assert d.mql and d.reasons[0].kind == "thresholds"
    assert [(n, low) for n, _, low in d.reasons[0].values] == [("fit", 40.0), ("intent", 30.0)]
    track = score(golden, [JANE], [ACME], [event("demo_request", 1)], at=T0)[0]
    assert track.reasons[-1] == Reason("fast_track", "demo", "demo_request at 2026-03-01T10:00Z",
                                       at=T0 - timedelta(days=1))


def test_changes_for_a_lasting_mql_a_score_on_its_line_and_a_negative_unknown() -> None:
    lasting = parse_model(GOLDEN.replace("  thresholds: {fit: 40, intent: 30}",
                                         "  thresholds: [{fit: 40, intent: 30}, {fit: 50}]"))
    x = explain(lasting, JANE, ACME, [], at=T0)
    # fit 50 never decays: the lead never stops qualifying, so the exit rule (intent 0 is
    # under its 10) never returns it to nurture: hysteresis, never a reason to drop a lead
    # that still qualifies (docs/model.md, `exit`)
    assert x.changes == ("keeps qualifying without new activity (fit and non-decaying paths)",)
    # fit 50 is on its line 40: no gap for fit, only intent's
    y = explain(parse_model(GOLDEN), JANE, ACME, [], at=T0)
    assert y.changes[0] == ("thresholds #1 need intent +30 (0 -> 30); one demo_request "
                            "(demo, +40) would do")
    # a negative rule at stake on an unknown field shows its minus sign
    neg = GOLDEN.replace("field: contact.email_domain, op: in, value: [gmail.com]",
                         "field: contact.source, op: eq, value: list")
    z = explain(parse_model(neg), contact("jane@acme.example", country="US"), ACME, [], at=T0)
    assert "contact.source is unknown; enriching it may change personal (-20)" in z.changes


def test_an_excluded_lead_is_told_it_never_qualifies_while_excluded() -> None:
    model = parse_model(GOLDEN.replace("grades:", """\
  exclude:
    - {name: competitor, when: {field: account.status, op: eq, value: competitor}}
    - {name: student, when: {field: contact.title, op: contains, value: student}}
grades:"""))
    who = contact("jane@acme.example", country="US", title="Student")
    x = explain(model, who, account("acme.example", employees=800, status="competitor"),
                [event("demo_request", 0)], at=T0)
    assert x.changes == ("never qualifies while excluded by competitor, student",)


def test_the_exit_rule_lists_every_line() -> None:
    model = parse_model(GOLDEN.replace("  below: {intent: 10}", "  below: {intent: 10, fit: 45}"))
    x = explain(model, JANE, ACME, [event("demo_request", 0)], at=T0)
    assert any(c.startswith("the exit rule (intent < 10, fit < 45) returns") for c in x.changes)


def test_the_exit_moment_is_the_later_of_stopping_and_the_crossing() -> None:
    # a fast-track MQL (7 days) with a demo of 40 points, exit under intent 30: the
    # crossing comes after 10 log2(4/3) = 4.15 days, the fast track ends after 7 days,
    # the lead returns to nurture after 7 days (the later)
    model = parse_model(GOLDEN.replace("  below: {intent: 10}", "  below: {intent: 30}"))
    kim = contact("kim@gmail.com")
    x = explain(model, kim, None, [event("demo_request", 0, contact="kim@gmail.com")], at=T0)
    assert x.changes[:2] == (
        "stops qualifying without new activity on 2026-03-09 10:00 UTC (in 7 days)",
        "the exit rule (intent < 30) returns an unaccepted MQL to nurture on "
        "2026-03-09 10:00 UTC (in 7 days)")


@pytest.mark.parametrize(("line", "exit_at"), [(50, None), (51, T0)])
def test_a_fit_exit_line_is_crossed_at_once_or_never(line: int, exit_at: object) -> None:
    # fit 50 never decays: under a line of 51 it is below from the start; on a line of 50
    # it is not below (50 < 50 is false), and never will be
    model = parse_model(GOLDEN.replace("  below: {intent: 10}", f"  below: {{fit: {line}}}"))
    d = score(model, [JANE], [ACME], [event("demo_request", 0)], at=T0)[0]
    assert d.exit_at == exit_at
