"""`mql ingest dispositions|costs` and the sales actions' dispositions: one ledger of what
sales did, and marketing's spend per month and channel, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mql.errors import ConfigError, NotFound
from mql.ingest.outcomes import DispositionRow
from mql.service import lifecycle, outcomes
from mql.store import quarantine as quarantine_store
from tests.outcomes.helpers import NOW, RULES, day, ingest, load_contacts, qualify, rows, write

DISPOSITIONS = ("email,account,handed_at,trigger,status,reason,accepted,sql,disposed_at,"
                "sql_at,opportunity_id\n")


def test_the_synthetic_worlds_dispositions_land_once(store: Engine, tmp_path: Path) -> None:
    people = load_contacts(store, tmp_path, "ann@acme.example", "bob@acme.example")
    path = write(tmp_path, "dispositions.csv", DISPOSITIONS + (
        "ann@acme.example,acme.example,2025-01-22T08:00Z,engagement,recycled,bad_timing,true,"
        "false,2025-01-23T11:00Z,,\n"
        # an SQL with its time: accepted when disposed, sql later
        "bob@acme.example,acme.example,2025-01-31T07:00Z,demo_request,sql,,true,true,"
        "2025-02-02T07:00Z,2025-02-10T22:00Z,\n"
        "bob@acme.example,acme.example,2025-05-29T18:00Z,trial_signup,rejected,no_budget,"
        "false,false,2025-05-31T00:00Z,,\n"))
    summary = ingest(store, path, "dispositions")
    assert (summary.rows, summary.loaded, summary.duplicates, summary.quarantined) == (
        3, 3, 0, 0)
    ledger = [(d["contact_id"], d["at"], d["status"], d["reason"])
              for d in rows(store, "dispositions", "at")]
    ann, bob = people["ann@acme.example"], people["bob@acme.example"]
    assert ledger == [(ann, day(1, 23, 11), "recycled", "bad_timing"),
                      (bob, day(2, 2, 7), "accepted", None),
                      (bob, day(2, 10, 22), "sql", None),
                      (bob, day(5, 31), "rejected", "no_budget")]
    again = ingest(store, path, "dispositions")
    assert (again.loaded, again.duplicates) == (0, 3)
    assert len(rows(store, "dispositions")) == 4


def test_unknown_contacts_reasons_and_statuses_are_quarantined(store: Engine,
                                                               tmp_path: Path) -> None:
    load_contacts(store, tmp_path, "ann@acme.example")
    path = write(tmp_path, "d.csv", (
        "email,at,status,reason,opportunity_id\n"
        "ann@acme.example,2025-03-01,rejected,no_budget,\n"
        "zoe@nowhere.example,2025-03-01,rejected,no_budget,\n"
        "ann@acme.example,2025-03-02,rejected,too_expensive,\n"
        "ann@acme.example,2025-03-03,maybe,,\n"
        "ann@acme.example,2025-03-04,accepted,,opp-404\n"))
    summary = ingest(store, path, "dispositions")
    assert (summary.loaded, summary.quarantined, summary.fields_dropped) == (2, 3, 1)
    with store.connect() as conn:
        held = sorted(quarantine_store.listing(conn), key=lambda q: (q.row, q.field or ""))
    assert [(q.row, q.field) for q in held] == [
        (3, "email"), (4, "reason"), (5, "status"), (6, "opportunity_id")]
    assert "no contact 'zoe@nowhere.example' in the store" in held[0].reason
    assert "wrong_fit" in held[1].reason  # the model's list
    assert "the row was kept without this field" in held[3].reason
    assert [d["status"] for d in rows(store, "dispositions", "at")] == ["rejected", "accepted"]


def test_every_sales_action_writes_its_disposition(store: Engine, tmp_path: Path) -> None:
    people = load_contacts(store, tmp_path, "ann@acme.example", "bob@acme.example")
    for cid in people.values():
        qualify(store, cid, NOW.replace(day=1))
        with store.begin() as conn:
            conn.exec_driver_sql(f"update contacts set lifecycle_stage = 'mql' where id = {cid}")
    lifecycle.accept(store, "ann@acme.example", actor="sam", now=NOW)
    lifecycle.convert(store, "ann@acme.example", actor="sam", now=NOW.replace(hour=13),
                      reason="budget confirmed")
    lifecycle.reject(store, "bob@acme.example", reason="student", actor="sam",
                     now=NOW.replace(hour=14))
    ledger = [(d["contact_id"], d["status"], d["reason"], d["note"], d["actor"], d["source"])
              for d in rows(store, "dispositions", "at")]
    ann, bob = people["ann@acme.example"], people["bob@acme.example"]
    assert ledger == [(ann, "accepted", None, None, "sam", "sales_action"),
                      (ann, "sql", None, "budget confirmed", "sam", "sales_action"),
                      (bob, "rejected", "student", None, "sam", "sales_action")]


def test_a_disposition_from_the_api_names_its_contact_and_reason(store: Engine,
                                                                 tmp_path: Path) -> None:
    load_contacts(store, tmp_path, "ann@acme.example")
    row = DispositionRow("ann@acme.example", day(3, 1), "no_response", "no_response")
    assert outcomes.save_disposition(store, [row], rules=RULES, now=NOW, source="api") == 1
    assert outcomes.save_disposition(store, [row], rules=RULES, now=NOW, source="api") == 0
    with pytest.raises(NotFound, match=r"no contact 'zoe@x\.example'"):
        outcomes.save_disposition(store, [DispositionRow("zoe@x.example", day(3, 1),
                                                         "rejected")],
                                  rules=RULES, now=NOW, source="api")
    with pytest.raises(ConfigError, match="reason: 'meh' is not one of the model's reasons"):
        outcomes.save_disposition(store, [DispositionRow("ann@acme.example", day(3, 2),
                                                         "rejected", "meh")],
                                  rules=RULES, now=NOW, source="api")


COSTS = "month,channel,spend,touches,currency\n"


def test_costs_add_up_within_a_file_and_a_new_file_replaces_the_total(
        store: Engine, tmp_path: Path) -> None:
    first = write(tmp_path, "costs.csv", COSTS + (
        "2025-01,paid_search,479.6,26,USD\n"
        "2025-01,events,169.7,0,USD\n"
        # a second row of the same month and channel adds to it (daily exports)
        "2025-01-20,paid_search,20.4,4,USD\n"
        "2025-13,paid_search,1,1,USD\n"
        "2025-02,paid_search,-5,1,USD\n"
        "2025-02,paid_search,10,1,EURO\n"))
    summary = ingest(store, first, "costs")
    assert (summary.rows, summary.loaded, summary.quarantined) == (6, 3, 3)
    with store.connect() as conn:
        assert sorted((q.row, q.field) for q in quarantine_store.listing(conn)) == [
            (5, "month"), (6, "spend"), (7, "currency")]
    stored = [(c["month"], c["channel"], c["campaign"], c["amount"], c["touches"])
              for c in rows(store, "marketing_costs", "month", "channel")]
    assert stored == [("2025-01", "events", "", 169.7, 0),
                      ("2025-01", "paid_search", "", 500.0, 30)]
    again = ingest(store, first, "costs")
    assert (again.loaded, again.duplicates) == (0, 3)
    corrected = write(tmp_path, "costs-v2.csv", COSTS + "2025-01,paid_search,510,31,USD\n")
    assert ingest(store, corrected, "costs").loaded == 1
    assert [(c["channel"], c["amount"], c["touches"])
            for c in rows(store, "marketing_costs", "channel")] == [
        ("events", 169.7, 0), ("paid_search", 510.0, 31)]


def test_one_file_cannot_mix_currencies_for_one_total(store: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "month,channel,campaign,cost,currency\n"
                 "2025-01,paid_social,spring,100,EUR\n2025-01,paid_social,spring,50,USD\n"
                 "2025-01,paid_social,autumn,50,USD\n")
    summary = ingest(store, path, "costs")
    assert (summary.loaded, summary.quarantined) == (2, 1)
    assert [(c["campaign"], c["amount"], c["currency"])
            for c in rows(store, "marketing_costs", "campaign")] == [
        ("autumn", 50.0, "USD"), ("spring", 100.0, "EUR")]
