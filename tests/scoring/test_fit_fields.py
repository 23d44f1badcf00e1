"""Fit reads `contact.*` and `account.*` fields; only rules that fail on a missing field
list it as worth enriching (docs/model.md, "Missing values")."""

from __future__ import annotations

from mql.model.conditions import Compare, Not
from mql.model.spec import FitRule, Score
from mql.records import Account, Contact
from mql.scoring.fit import fit, record_getter


def test_a_contact_known_by_a_crm_id_has_no_email() -> None:
    crm = Contact("salesforce:00Q5e00001AbCdE", None, {"country": "US"})
    get = record_getter(crm, None)
    assert get("contact.email") is None
    assert get("contact.email_domain") is None
    assert get("contact.country") == "US"
    jane = Contact("jane@acme.example", "acme.example")
    get = record_getter(jane, Account("acme.example"))
    assert get("contact.email") == "jane@acme.example"
    assert get("contact.email_domain") == "acme.example"
    assert get("account.domain") == "acme.example"


def test_a_rule_that_holds_lists_no_field_to_enrich() -> None:
    # not a competitor: true while the status is unknown (20 points), and nothing to enrich;
    # the size rule fails on the missing employees, which are listed
    score = Score("fit", "fit", (
        FitRule("not_competitor", Not(Compare("account.status", "eq", "competitor")), 20),
        FitRule("big", Compare("account.employees", "gte", 200), 10)))
    result = fit(score, Contact("jo@acme.example", "acme.example"), Account("acme.example"))
    assert result.value == 20.0
    assert [(line.rule, line.matched, line.unknown) for line in result.lines] == [
        ("not_competitor", True, ()), ("big", False, ("account.employees",))]
    assert result.unknown == ("account.employees",)
