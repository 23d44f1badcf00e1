"""A qualifier reuses a contact's last fits only while its records are the same: every
change of an attribute, its type, a nested value or the account gives the new fit."""

from __future__ import annotations

from mql.model.parse import parse_model
from mql.records import Account, Contact
from mql.scoring.qualify import Qualifier

MODEL = parse_model("""
name: memo
fields: {contact: [opted_in, tags, profile]}
fit:
  rules:
    - {name: big, when: {field: account.employees, op: gte, value: 200}, points: 20}
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
    - {name: opted, when: {field: contact.opted_in, op: eq, value: true}, points: 5}
    - {name: tagged, when: {field: contact.tags, op: contains, value: "b"}, points: 3}
    - {name: senior, when: {field: contact.profile, op: contains, value: "vp"}, points: 2}
intent: {rules: []}
mql: {thresholds: {fit: 100}}
""", source="memo.yaml")
EMAIL = "jane@acme.example"


def fit(q: Qualifier, attributes: dict[str, object], account: Account | None) -> float:
    return q.fits(Contact(EMAIL, "acme.example", attributes), account)["fit"].value


def test_the_fit_follows_every_change_of_the_records() -> None:
    q = Qualifier(MODEL)
    big = Account("acme.example", {"employees": 500})
    assert fit(q, {"country": "US"}, big) == 30.0  # 20 + 10
    assert fit(q, {"country": "US"}, big) == 30.0  # the same records again
    assert fit(q, {"country": "DE"}, big) == 20.0
    assert fit(q, {"country": "DE"}, Account("acme.example", {"employees": 50})) == 0.0
    assert fit(q, {"country": "DE"}, None) == 0.0
    assert fit(q, {"country": "DE"}, Account("other.example", {"employees": 500})) == 20.0
    assert fit(q, {"country": "DE"}, big) == 20.0
    # true and 1 are not the same value: only true is "opted in"
    assert fit(q, {"opted_in": True}, None) == 5.0
    assert fit(q, {"opted_in": 1}, None) == 0.0
    assert fit(q, {"opted_in": True}, None) == 5.0
    # nested values: a longer list, a changed item, a changed key of a mapping
    assert fit(q, {"tags": ["a"]}, None) == 0.0
    assert fit(q, {"tags": ["a", "b"]}, None) == 3.0
    assert fit(q, {"tags": ["a", "c"]}, None) == 0.0
    assert fit(q, {"tags": ("a", "b")}, None) == 3.0
    assert fit(q, {"profile": {"title": "vp"}}, None) == 2.0
    assert fit(q, {"profile": {"role": "ic"}}, None) == 0.0
    assert fit(q, {"profile": {"title": "vp", "role": "ic"}}, None) == 2.0
    assert fit(q, {"profile": {"title": "ic", "role": "ic"}}, None) == 0.0


def test_a_record_changed_in_place_after_scoring_is_scored_anew() -> None:
    q = Qualifier(MODEL)
    tags = ["a"]
    jane = Contact(EMAIL, "acme.example", {"tags": tags})
    assert q.fits(jane, None)["fit"].value == 0.0
    tags.append("b")
    assert q.fits(jane, None)["fit"].value == 3.0
    profile = {"title": "ic"}
    kim = Contact(EMAIL, "acme.example", {"profile": profile})
    assert q.fits(kim, None)["fit"].value == 0.0
    profile["title"] = "vp"
    assert q.fits(kim, None)["fit"].value == 2.0


def test_a_value_that_became_empty_or_filled_in_is_a_change() -> None:
    q = Qualifier(MODEL)
    # a nested item that became null, or a null that was filled in
    assert fit(q, {"profile": {"title": "vp"}}, None) == 2.0
    assert fit(q, {"profile": {"title": None}}, None) == 0.0
    assert fit(q, {"profile": {"title": "vp"}}, None) == 2.0
    assert fit(q, {"tags": ["b"]}, None) == 3.0
    assert fit(q, {"tags": [None]}, None) == 0.0
    assert fit(q, {"tags": ["b"]}, None) == 3.0
    assert fit(q, {"opted_in": None}, None) == 0.0
    assert fit(q, {"opted_in": True}, None) == 5.0
    # a whole mapping that became null
    assert fit(q, {"profile": {"title": "vp"}}, None) == 2.0
    assert fit(q, {"profile": None}, None) == 0.0


def test_an_account_of_another_domain_with_the_same_attributes_is_another_account() -> None:
    model = parse_model("""
name: domains
fit:
  rules:
    - {name: public_sector, when: {field: account.domain, op: ends_with, value: .gov}, points: 15}
intent: {rules: []}
mql: {thresholds: {fit: 100}}
""", source="domains.yaml")
    q = Qualifier(model)
    jane = Contact(EMAIL, "acme.example", {})
    assert q.fits(jane, Account("acme.example", {"employees": 10}))["fit"].value == 0.0
    assert q.fits(jane, Account("city.gov", {"employees": 10}))["fit"].value == 15.0
