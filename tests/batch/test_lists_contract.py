"""External lists (docs/model.md, "lists"): `in_list` / `not_in_list` decide alike in the
streaming core and in every batch engine, on contact, account and event fields."""

from __future__ import annotations

from typing import Any

from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs
from mql.model.parse import parse_model
from tests.conftest import T0, account, contact, event

MODEL = parse_model("""\
name: listed
lists:
  tier_1: {file: abm.csv, column: domain, filter: {tier: 1}}
  free_mail: {values: [gmail.com, " Yahoo.com "]}
  partners: {values: [partner_x, partner_y]}
fit:
  rules:
    - {name: tier_1, when: {field: account.domain, op: in_list, value: tier_1}, points: 30}
    - {name: free_mail, when: {field: contact.email_domain, op: in_list, value: free_mail},
       points: -20}
    - {name: other_account, when: {field: account.domain, op: not_in_list, value: tier_1},
       points: 1}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: partner_referral, event: page_view,
       when: {field: utm_source, op: in_list, value: partners}, points: 7, cap: 14}
mql:
  thresholds: {total: 45}
  exclude:
    - {name: on_free_mail, when: {field: contact.email_domain, op: in_list, value: free_mail}}
""", source="listed.yaml", lists={"tier_1": ("acme.example", "initech.example")})


def _rows(engine: Engine) -> dict[str, dict[str, Any]]:
    contacts = [contact("jane@acme.example"), contact("g@globex.example"),
                contact("bob@yahoo.com", account=None), contact("x@nowhere.example")]
    accounts = [account("acme.example"), account("globex.example")]
    events = [event("demo_request", 0, event_id="d1"),
              event("page_view", 0, event_id="p1", utm_source="Partner_X"),
              event("page_view", 0, event_id="p2", utm_source="partner_y"),
              event("page_view", 0, event_id="p3", utm_source="partner_y"),
              event("page_view", 0, event_id="p4", utm_source="partner_z"),
              event("demo_request", 0, event_id="d2", contact="bob@yahoo.com")]
    table = engine.rescore(MODEL, Inputs(contacts, accounts, events), AsOf.at(T0))
    return {r["contact"]: r for r in table.to_pylist()}


def test_lists_decide_fit_intent_and_exclusions_alike_in_every_engine(engine: Engine
                                                                      ) -> None:
    rows = _rows(engine)
    # acme.example is tier 1 (30); three partner views are 21, capped at 14; demo 40
    assert (rows["jane@acme.example"]["fit"], rows["jane@acme.example"]["intent"]) == (30, 54)
    assert rows["jane@acme.example"]["mql"]
    # globex.example is an account, not on the list: not_in_list holds
    assert rows["g@globex.example"]["fit"] == 1
    # yahoo.com is on the list, whatever its case and blanks: -20, and never an MQL
    assert rows["bob@yahoo.com"]["fit"] == -20
    assert (rows["bob@yahoo.com"]["mql"], rows["bob@yahoo.com"]["excluded_by"]) == (
        False, "on_free_mail")
    # no account record: account.domain is missing, so neither in_list nor not_in_list holds
    assert rows["x@nowhere.example"]["fit"] == 0
