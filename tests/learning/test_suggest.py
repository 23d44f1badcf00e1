"""Rejection reasons as fit-rule suggestions, on hand fixtures."""

from __future__ import annotations

from mql.learning.suggest import best_condition, exclusion_points, suggest, with_rule
from mql.model.conditions import Compare
from mql.model.dump import dump_model
from mql.model.parse import parse_model

MODEL = parse_model("""
name: t
fit:
  rules:
    - {name: icp, when: {field: account.employees, op: gte, value: 200}, points: 25}
    - {name: senior, when: {field: contact.seniority, op: eq, value: vp}, points: 20}
intent:
  rules: [{name: demo, event: demo_request, points: 40}]
mql: {thresholds: {total: 45}}
""", source="t.yaml")


def _lead(employees: int | None, country: str, seniority: str = "manager") -> dict[str, object]:
    return {"account.employees": employees, "account.country": country,
            "contact.seniority": seniority}


# "wrong fit: company too small": six rejected leads, five at companies under 20 people
REJECTED = [_lead(5, "US"), _lead(8, "DE"), _lead(12, "US"), _lead(15, "FR"), _lead(18, "US"),
            _lead(400, "US")]
WON = [_lead(10, "US", "vp"), _lead(250, "US"), _lead(900, "DE"), _lead(1200, "US"),
       _lead(60, "FR"), _lead(300, "US"), _lead(450, "GB"), _lead(700, "US"),
       _lead(2000, "US"), _lead(5000, "DE"), _lead(150, "US")]


def test_the_suggestion_excludes_most_rejected_with_least_won_loss() -> None:
    # by hand, gain = share of rejected excluded - share of won excluded:
    #   employees < 39 (halfway 18 -> 60): 5/6 rejected, 1/11 won (the 10-person win): 0.742
    #   employees < 9 (halfway 8 -> 10):   2/6, 0/11: 0.333
    #   employees < 14 (halfway 12 -> 15): 3/6, 1/11: 0.409
    #   country = US: 3/6 rejected, 6/11 won: -0.045
    best = best_condition(REJECTED, WON, ["account.employees", "account.country"])
    assert best is not None
    assert best.condition == Compare("account.employees", "lt", 39)
    assert (best.excluded, best.rejected, best.won_lost, best.won) == (5, 6, 1, 11)
    assert best.gain == 5 / 6 - 1 / 11


def test_a_text_field_gives_an_equality() -> None:
    rejected = [{"contact.title": "Student"}, {"contact.title": "Student"},
                {"contact.title": "CTO"}]
    won = [{"contact.title": "CTO"}, {"contact.title": "VP Sales"}]
    best = best_condition(rejected, won, ["contact.title"])
    assert best is not None and best.condition == Compare("contact.title", "eq", "Student")
    assert (best.excluded, best.won_lost) == (2, 0)


def test_the_rule_keeps_a_matching_leads_fit_at_zero_and_dumps_as_a_model() -> None:
    s = suggest(MODEL, "wrong_fit", REJECTED, WON, ["account.employees", "account.country"])
    assert s.rule is not None
    assert exclusion_points(MODEL) == -45.0  # 25 + 20
    assert (s.rule.name, s.rule.points) == ("sales_wrong_fit", -45.0)
    assert s.words == ("wrong_fit (6 rejections): add fit rule sales_wrong_fit (-45 points) "
                       "when account.employees < 39: excludes 5 of 6 rejected, 1 of 11 won")
    candidate = with_rule(MODEL, s.rule)
    again = parse_model(dump_model(candidate), source="candidate.yaml")
    assert [r.name for r in again.fit.rules] == ["icp", "senior", "sales_wrong_fit"]


def test_no_suggestion_when_the_reason_is_not_about_fit() -> None:
    # "no_response" leads look like the won ones: any condition costs as many won as it
    # excludes rejected
    rejected = [_lead(300, "US"), _lead(900, "DE"), _lead(250, "US"), _lead(60, "FR")]
    s = suggest(MODEL, "no_response", rejected, WON, ["account.employees", "account.country"])
    assert s.rule is None
    assert s.words == "no_response (4 rejections): no fit rule tells these leads apart"
