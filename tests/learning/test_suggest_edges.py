"""The suggestion's words, its JSON and its rule, by hand from mql.learning.suggest's
docstrings (the fixtures of test_suggest.py: six rejected leads, eleven won contacts)."""

from __future__ import annotations

import json

from mql.learning.suggest import Candidate, exclusion_points, suggest, with_rule
from mql.model.conditions import Compare
from mql.model.parse import parse_model
from tests.learning.test_suggest import MODEL, REJECTED, WON, _lead

FIELDS = ["account.employees", "account.country"]
WORDS = ("wrong_fit (6 rejections): add fit rule sales_wrong_fit (-45 points) when "
         "account.employees < 39: excludes 5 of 6 rejected, 1 of 11 won")


def test_the_suggestion_as_json() -> None:
    s = suggest(MODEL, "wrong_fit", REJECTED, WON, FIELDS)
    assert s.to_json() == {
        "reason": "wrong_fit", "rejections": 6, "suggestion": WORDS, "rule": "sales_wrong_fit",
        "points": -45.0, "condition": {"field": "account.employees", "op": "lt", "value": 39},
        "excluded": 5, "won_lost": 1, "won": 11}
    # no field known for any rejected lead: nothing to say
    none = suggest(MODEL, "other", [{"account.employees": None}], WON, FIELDS)
    assert none.to_json() == {
        "reason": "other", "rejections": 1,
        "suggestion": "other (1 rejections): no fit rule tells these leads apart",
        "rule": None, "points": None, "condition": None, "excluded": None, "won_lost": None,
        "won": None}


def test_a_candidate_in_words() -> None:
    assert Candidate(Compare("account.employees", "gte", 2.5), 1, 2, 0, 4).words() == (
        "account.employees >= 2.5: excludes 1 of 2 rejected, 0 of 4 won")
    assert Candidate(Compare("contact.title", "eq", "Student"), 2, 3, 0, 2).words() == (
        "contact.title = Student: excludes 2 of 3 rejected, 0 of 2 won")
    # no won contacts: the gain is the share excluded
    assert Candidate(Compare("contact.title", "eq", "Student"), 2, 4, 0, 0).gain == 0.5


def test_few_won_contacts_say_the_evidence_is_thin() -> None:
    s = suggest(MODEL, "wrong_fit", REJECTED, WON[1:4], FIELDS)
    assert s.rule is not None
    assert s.words.endswith(" (only 3 won contacts to weigh it against: backtest it)")


def test_a_taken_name_gets_the_next_number() -> None:
    taken = parse_model("""
name: t
fit:
  rules:
    - {name: sales_wrong_fit, when: {field: account.employees, op: gte, value: 200}, points: 25}
    - {name: sales_wrong_fit_2, when: {field: contact.seniority, op: eq, value: vp}, points: 20}
intent:
  rules: [{name: demo, event: demo_request, points: 40}]
mql: {thresholds: {total: 45}}
""", source="t.yaml")
    s = suggest(taken, "wrong_fit", REJECTED, WON, FIELDS)
    assert s.rule is not None and s.rule.name == "sales_wrong_fit_3"
    candidate = with_rule(taken, s.rule)
    assert [r.name for r in candidate.fit.rules] == [
        "sales_wrong_fit", "sales_wrong_fit_2", "sales_wrong_fit_3"]
    assert candidate.scores["intent"] == taken.scores["intent"] and candidate.digest == ""


def test_exclusion_points_within_the_fits_max_and_tables() -> None:
    capped = parse_model("""
name: t
fit:
  max: 30
  rules:
    - {name: a, when: {field: contact.country, op: eq, value: US}, points: 25}
    - name: seniority
      points_by: {field: contact.seniority, table: {vp: 20, manager: 5, default: 0}}
intent:
  rules: [{name: demo, event: demo_request, points: 40}]
mql: {thresholds: {total: 45}}
""", source="t.yaml")
    assert exclusion_points(capped) == -30.0  # 25 + 20 over the fit's max of 30


def test_more_than_a_tenth_of_the_won_lost_is_no_rule() -> None:
    # < 39 costs 1 of 11 won; with two small wins of 11 it costs 2 (18%): no rule
    won = [_lead(10, "US", "vp"), _lead(11, "US"), *WON[2:]]
    s = suggest(MODEL, "wrong_fit", REJECTED, won, FIELDS)
    assert s.rule is None and s.best is not None


def test_the_rule_in_json_words_and_description() -> None:
    s = suggest(MODEL, "wrong_fit", REJECTED, WON, FIELDS)
    assert s.rule is not None
    # a whole number stays whole in the JSON (39, not 39.0)
    assert json.dumps(s.to_json()["condition"]) == (
        '{"field": "account.employees", "op": "lt", "value": 39}')
    assert s.rule.description == (
        "suggested by mql audit from the sales reason 'wrong_fit': account.employees < 39: "
        "excludes 5 of 6 rejected, 1 of 11 won")
    # an operator without a sign is written as it is
    assert Candidate(Compare("account.employees", "gt", 3), 1, 2, 0, 4).words() == (
        "account.employees gt 3: excludes 1 of 2 rejected, 0 of 4 won")


def test_the_first_free_name_is_numbered_two() -> None:
    taken = parse_model("""
name: t
fit:
  rules:
    - {name: sales_wrong_fit, when: {field: account.employees, op: gte, value: 200}, points: 25}
intent:
  rules: [{name: demo, event: demo_request, points: 40}]
mql: {thresholds: {total: 45}}
""", source="t.yaml")
    s = suggest(taken, "wrong_fit", REJECTED, WON, FIELDS)
    assert s.rule is not None and s.rule.name == "sales_wrong_fit_2"


def test_exactly_half_excluded_and_exactly_a_tenth_of_the_won_lost_is_a_rule() -> None:
    # two of four rejected are tiny (3, 4), the others as big as the won; no won is tiny
    rejected = [_lead(3, "US"), _lead(4, "US"), _lead(5000, "DE"), _lead(2000, "DE")]
    s = suggest(MODEL, "tiny", rejected, WON[1:], FIELDS)
    assert s.best is not None and (s.best.excluded, s.best.won_lost) == (2, 0)
    assert s.rule is not None
    # one of four: not enough
    titles = [{"contact.title": t} for t in ("Student", "CTO", "VP", "CFO")]
    s = suggest(MODEL, "students", titles, titles[1:], ["contact.title"])
    assert s.best is not None and s.best.excluded == 1 and s.rule is None
    # 1 of exactly 10 won lost (the 10-person win): a tenth, still a rule
    s = suggest(MODEL, "wrong_fit", REJECTED, WON[:10], FIELDS)
    assert s.best is not None and (s.best.won_lost, s.best.won) == (1, 10)
    assert s.rule is not None
