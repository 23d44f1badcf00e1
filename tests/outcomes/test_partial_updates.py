"""Opportunities updated over time by partial rows (a stage change, a contact role) on
SQLite and PostgreSQL: the fields a row leaves empty keep their stored values, history is
kept, loading again changes nothing, and an older state cannot overwrite a newer one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mql.errors import NotFound
from mql.ingest.outcomes import opportunity_from_row
from mql.service import outcomes
from mql.store import quarantine as quarantine_store
from tests.outcomes.helpers import NOW, RULES, day, ingest, rows, write

FULL = ("opportunity_id,account,name,product,amount,currency,created_at,status,stage,"
        "lost_reason,updated_at\n"
        "o-1,acme.example,Acme platform,platform,10000,USD,2025-03-01,open,discovery,,"
        "2025-03-01\n")


def _one(store: Engine) -> dict:
    [opp] = rows(store, "opportunities")
    return opp


def test_a_stage_change_keeps_every_other_field(store: Engine, tmp_path: Path) -> None:
    assert ingest(store, write(tmp_path, "full.csv", FULL), "opportunities").loaded == 1
    change = write(tmp_path, "stage.csv", "opportunity_id,stage,updated_at\n"
                   "o-1,proposal,2025-03-10\n")
    summary = ingest(store, change, "opportunities")
    assert (summary.loaded, summary.quarantined) == (1, 0)
    opp = _one(store)
    assert (opp["stage"], opp["status"], opp["as_of"]) == ("proposal", "open", day(3, 10))
    # the row said nothing of these: they are as the full export left them
    assert (opp["name"], opp["amount"], opp["currency"], opp["product_line"]) == (
        "Acme platform", 10000.0, "USD", "platform")
    assert (opp["opened_at"], opp["account_domain"]) == (day(3, 1), "acme.example")
    assert [(h["at"], h["stage"]) for h in rows(store, "opportunity_history", "at")] == [
        (day(3, 1), "discovery"), (day(3, 10), "proposal")]
    # idempotent by id and time: the same change again changes nothing
    again = ingest(store, change, "opportunities")
    assert (again.loaded, again.duplicates) == (0, 1)
    assert len(rows(store, "opportunity_history")) == 2


def test_an_older_update_arriving_late_does_not_overwrite_but_is_kept_in_history(
        store: Engine, tmp_path: Path) -> None:
    ingest(store, write(tmp_path, "full.csv", FULL), "opportunities")
    ingest(store, write(tmp_path, "won.csv", "opportunity_id,stage,amount,updated_at\n"
                        "o-1,closed_won,12000,2025-04-01\n"), "opportunities")
    late = write(tmp_path, "late.csv", "opportunity_id,stage,amount,lost_reason,updated_at\n"
                 "o-1,negotiation,11000,,2025-03-20\n")
    assert ingest(store, late, "opportunities").loaded == 1  # its history entry is new
    opp = _one(store)
    assert (opp["stage"], opp["status"], opp["amount"]) == ("closed_won", "won", 12000.0)
    assert opp["closed_at"] == day(4, 1) and opp["as_of"] == day(4, 1)
    history = rows(store, "opportunity_history", "at")
    assert [(h["at"], h["stage"], h["amount"]) for h in history] == [
        (day(3, 1), "discovery", 10000.0), (day(3, 20), "negotiation", 11000.0),
        (day(4, 1), "closed_won", 12000.0)]


def test_the_order_of_partial_rows_does_not_matter(store: Engine, tmp_path: Path) -> None:
    # a field's value is the newest state that knows it, whatever order rows arrive in
    lines = ["o-1,,,2025-03-05,5000", "o-1,proposal,,2025-03-09,", "o-1,,Sam,2025-03-07,"]
    header = "opportunity_id,stage,owner,updated_at,amount\n"
    ingest(store, write(tmp_path, "full.csv", FULL), "opportunities")
    ingest(store, write(tmp_path, "a.csv", header + "\n".join(reversed(lines)) + "\n"),
           "opportunities")
    opp = _one(store)
    assert (opp["stage"], opp["amount"], opp["attributes"]["owner"]) == (
        "proposal", 5000.0, "Sam")
    assert opp["name"] == "Acme platform" and opp["as_of"] == day(3, 9)


def test_a_partial_row_about_an_unknown_opportunity_is_quarantined(
        store: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "stage.csv", "opportunity_id,stage,updated_at\n"
                 "o-9,proposal,2025-03-10\n")
    summary = ingest(store, path, "opportunities")
    assert (summary.loaded, summary.quarantined) == (0, 1)
    with store.connect() as conn:
        [held] = quarantine_store.listing(conn)
    assert held.field == "created_at" and "o-9" in held.reason
    assert rows(store, "opportunities") == []


def test_the_api_applies_a_partial_update_and_refuses_one_for_an_unknown_id(
        store: Engine, tmp_path: Path) -> None:
    ingest(store, write(tmp_path, "full.csv", FULL), "opportunities")
    row = opportunity_from_row({"opportunity_id": "o-1", "amount": "15000",
                                "updated_at": "2025-03-12"}, source="body", row=1)
    found = outcomes.save_opportunity(store, row, rules=RULES, now=NOW, source="api")
    assert (found["amount"], found["stage"], found["name"]) == (15000.0, "discovery",
                                                                "Acme platform")
    unknown = opportunity_from_row({"opportunity_id": "o-2", "stage": "demo",
                                    "updated_at": "2025-03-12"}, source="body", row=1)
    with pytest.raises(NotFound, match="o-2"):
        outcomes.save_opportunity(store, unknown, rules=RULES, now=NOW, source="api")


ROLES = ("Id,OpportunityId,ContactId,Role,IsPrimary,CreatedDate,LastModifiedDate,IsDeleted\n"
         "00K1,006A,003ANN,Decision Maker,true,2025-03-02T10:00:00.000Z,"
         "2025-03-02T10:00:00.000Z,false\n"
         "00K2,006A,003BOB,Technical Buyer,false,2025-03-03T10:00:00.000Z,"
         "2025-03-03T10:00:00.000Z,false\n"
         "00K3,006A,003NOBODY,Champion,false,2025-03-03T10:00:00.000Z,"
         "2025-03-03T10:00:00.000Z,false\n"
         "00K4,006Z,003ANN,Champion,false,2025-03-03T10:00:00.000Z,"
         "2025-03-03T10:00:00.000Z,false\n")


def test_a_salesforce_contact_role_export_alone_joins_the_loaded_opportunities(
        store: Engine, tmp_path: Path) -> None:
    people = write(tmp_path, "Contact.csv", "Id,Email,Last Name\n"
                   "003ANN,ann@acme.example,Ann\n003BOB,bob@acme.example,Bob\n")
    from mql.service import ingest as ingest_service
    ingest_service.ingest_file(store, people, "contacts", rules=RULES, now=NOW,
                               mapping="salesforce")
    ids = {r["email"]: r["id"] for r in rows(store, "contacts")}
    opps = write(tmp_path, "Opportunity.csv", "Id,Name,StageName,Amount,CreatedDate,"
                 "LastModifiedDate,Website\n006A,Acme deal,Closed Won,9000,"
                 "2025-03-01T09:00:00.000Z,2025-04-01T09:00:00.000Z,acme.example\n")
    assert ingest(store, opps, "opportunities").mapping == "salesforce"
    summary = ingest(store, write(tmp_path, "OpportunityContactRole.csv", ROLES),
                     "opportunities")
    assert summary.mapping == "salesforce_contact_roles"
    # 006Z is not loaded: that row is quarantined; the role of a contact not in the store
    # is kept on the opportunity (for `mql outcomes link` once the contact arrives)
    assert (summary.rows, summary.loaded, summary.quarantined) == (4, 3, 1)
    opp = _one(store)
    # the opportunity is as Opportunity.csv said: the roles' dates are not its own
    assert (opp["stage"], opp["status"], opp["amount"], opp["name"]) == (
        "closed_won", "won", 9000.0, "Acme deal")
    assert opp["opened_at"].date().isoformat() == "2025-03-01"
    assert opp["primary_contact_id"] == ids["ann@acme.example"]
    assert not {"Id", "role_id", "IsDeleted"} & set(opp["attributes"])
    roles = {r["contact_id"]: (r["role"], r["is_primary"])
             for r in rows(store, "opportunity_contacts")}
    assert roles == {ids["ann@acme.example"]: ("decision_maker", True),
                     ids["bob@acme.example"]: ("technical_buyer", False)}
    again = ingest(store, write(tmp_path, "OpportunityContactRole.csv", ROLES),
                   "opportunities")
    assert again.loaded == 0
    # the missing contact arrives later: linking again gives the opportunity its role
    more = write(tmp_path, "Contact2.csv", "Id,Email,Last Name\n003NOBODY,cy@acme.example,Cy\n")
    ingest_service.ingest_file(store, more, "contacts", rules=RULES, now=NOW,
                               mapping="salesforce")
    outcomes.link_all(store, now=NOW, rules=RULES)
    cy = next(r["id"] for r in rows(store, "contacts") if r["email"] == "cy@acme.example")
    roles = {r["contact_id"]: r["role"] for r in rows(store, "opportunity_contacts")}
    assert roles[cy] == "champion"
