"""`mql ingest opportunities`: states over time, stage history, idempotency, quarantine,
identity, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.engine import Engine

from mql.service import outcomes
from mql.store import quarantine as quarantine_store
from tests.outcomes.helpers import day, ingest, load_contacts, rows, write

HEADER = ("opportunity_id,account,name,product,amount,created_at,closed_at,status,stage,"
          "lost_reason,primary_contact,source,stage_history\n")


def _history(*pairs: tuple[str, str]) -> str:
    return '"' + json.dumps([{"stage": s, "at": a} for s, a in pairs]).replace('"', '""') + '"'


def test_the_synthetic_worlds_file_lands_with_its_stage_history(store: Engine,
                                                                tmp_path: Path) -> None:
    people = load_contacts(store, tmp_path, "ann@acme.example")
    path = write(tmp_path, "opportunities.csv", HEADER + (
        "o-1,acme.example,Acme - platform (1),platform,21900.0,2025-04-18T00:10:09Z,"
        "2025-05-31T04:43:36Z,won,closed_won,,ann@acme.example,marketing,"
        + _history(("discovery", "2025-04-18T00:10:09Z"), ("demo", "2025-04-30T21:20:31Z"),
                   ("closed_won", "2025-05-31T04:43:36Z")) + "\n"))
    summary = ingest(store, path, "opportunities")
    assert (summary.rows, summary.loaded, summary.quarantined) == (1, 1, 0)
    [opp] = rows(store, "opportunities")
    assert (opp["external_id"], opp["status"], opp["stage"], opp["amount"]) == (
        "o-1", "won", "closed_won", 21900.0)
    assert opp["product_line"] == "platform" and opp["lead_source"] == "marketing"
    assert opp["opened_at"] == day(4, 18).replace(minute=10, second=9)
    # as of the newest time the row holds: its close
    assert opp["as_of"] == opp["closed_at"] == day(5, 31, 4).replace(minute=43, second=36)
    # identity: the primary contact by email, the account by domain
    assert opp["primary_contact_id"] == people["ann@acme.example"]
    assert opp["account_id"] is not None
    history = rows(store, "opportunity_history", "at")
    assert [(h["stage"], h["status"]) for h in history] == [
        ("discovery", "open"), ("demo", "open"), ("closed_won", "won")]
    # the row's own state is the last entry: with the amount
    assert history[-1]["amount"] == 21900.0 and history[0]["amount"] is None
    [role] = rows(store, "opportunity_contacts")
    assert (role["contact_id"], role["is_primary"]) == (people["ann@acme.example"], True)


def test_loading_again_changes_nothing_and_a_later_export_moves_the_stage(
        store: Engine, tmp_path: Path) -> None:
    first = write(tmp_path, "week1.csv", HEADER + (
        "o-1,acme.example,Acme,platform,10000,2025-03-01,,open,discovery,,,,\n"))
    assert ingest(store, first, "opportunities").loaded == 1
    again = ingest(store, first, "opportunities")
    assert (again.loaded, again.duplicates) == (0, 1)
    assert len(rows(store, "opportunity_history")) == 1
    later = write(tmp_path, "week3.csv", HEADER.replace("stage_history", "updated_at") + (
        "o-1,acme.example,Acme,platform,12000,2025-03-01,,open,proposal,,,,2025-03-15\n"))
    assert ingest(store, later, "opportunities").loaded == 1
    [opp] = rows(store, "opportunities")
    assert (opp["stage"], opp["amount"], opp["as_of"]) == ("proposal", 12000.0, day(3, 15))
    history = rows(store, "opportunity_history", "at")
    assert [(h["at"], h["stage"], h["amount"]) for h in history] == [
        (day(3, 1), "discovery", 10000.0), (day(3, 15), "proposal", 12000.0)]
    # the older export read once more: the newer state stays, nothing is added
    late = ingest(store, first, "opportunities")
    assert (late.loaded, late.duplicates) == (0, 1)
    assert rows(store, "opportunities")[0]["stage"] == "proposal"
    assert len(rows(store, "opportunity_history")) == 2


def test_an_older_export_read_after_a_newer_one_adds_history_not_state(
        store: Engine, tmp_path: Path) -> None:
    header = HEADER.replace("stage_history", "updated_at")
    new = write(tmp_path, "new.csv", header + (
        "o-1,,,,900,2025-03-01,2025-04-01,lost,closed_lost,no_budget,,,2025-04-01\n"))
    old = write(tmp_path, "old.csv", header + "o-1,,,,1000,2025-03-01,,open,demo,,,,2025-03-10\n")
    ingest(store, new, "opportunities")
    assert ingest(store, old, "opportunities").loaded == 1  # its history entry is new
    [opp] = rows(store, "opportunities")
    assert (opp["status"], opp["lost_reason"], opp["amount"]) == ("lost", "no_budget", 900.0)
    assert [(h["stage"], h["status"]) for h in rows(store, "opportunity_history", "at")] == [
        ("demo", "open"), ("closed_lost", "lost")]


def test_bad_rows_are_quarantined_with_file_row_and_field_and_the_rest_lands(
        store: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "opps.csv", HEADER + (
        "o-1,acme.example,,,1000,2025-03-01,,open,demo,,,,\n"
        "o-2,acme.example,,,lots,2025-03-01,,open,demo,,,,\n"
        "o-3,acme.example,,,1000,someday,,open,demo,,,,\n"
        "o-4,acme.example,,,1000,2025-03-01,,maybe,demo,,,,\n"
        ",acme.example,,,1000,2025-03-01,,open,demo,,,,\n"
        'o-6,acme.example,,,1000,2025-03-01,,open,demo,,,,"[{""stage"": ""x""}]"\n'
        "o-7,acme.example,,,1000,2025-03-05,2025-03-01,lost,closed_lost,,,,\n"
        "o-8,acme.example,,,1000,2025-03-01,,open,demo,,not-an-email,,\n"))
    summary = ingest(store, path, "opportunities")
    assert (summary.rows, summary.loaded, summary.quarantined) == (8, 1, 7)
    assert [o["external_id"] for o in rows(store, "opportunities")] == ["o-1"]
    with store.connect() as conn:
        held = sorted(quarantine_store.listing(conn), key=lambda q: q.row)
    assert [(q.kind, q.source, q.row, q.field) for q in held] == [
        ("opportunities", str(path), 3, "amount"), ("opportunities", str(path), 4, "created_at"),
        ("opportunities", str(path), 5, "status"),
        ("opportunities", str(path), 6, "opportunity_id"),
        ("opportunities", str(path), 7, "stage_history"),
        ("opportunities", str(path), 8, "closed_at"),
        ("opportunities", str(path), 9, "primary_contact")]
    assert "lots" in held[0].reason and "open, won or lost" in held[2].reason
    # read again: held once, nothing new lands
    again = ingest(store, path, "opportunities")
    assert (again.quarantined, again.quarantined_before, again.loaded) == (7, 7, 0)


def test_jsonl_and_parquet_give_the_same_opportunity(store: Engine, tmp_path: Path) -> None:
    record = {"opportunity_id": "o-1", "created_at": "2025-03-01T00:00:00Z",
              "stage": "demo", "amount": 5000.0, "contacts": [
                  {"email": "ann@acme.example", "role": "Decision Maker"}]}
    jsonl = write(tmp_path, "o.jsonl", json.dumps(record) + "\n")
    parquet = tmp_path / "o.parquet"
    pq.write_table(pa.Table.from_pylist([{**record, "opportunity_id": "o-2",
                                          "contacts": json.dumps(record["contacts"])}]),
                   parquet)
    people = load_contacts(store, tmp_path, "ann@acme.example")
    assert ingest(store, jsonl, "opportunities").loaded == 1
    assert ingest(store, parquet, "opportunities").loaded == 1
    opps = rows(store, "opportunities")
    assert [(o["stage"], o["status"], o["amount"]) for o in opps] == [("demo", "open", 5000.0)] * 2
    roles = rows(store, "opportunity_contacts")
    assert [(r["contact_id"], r["role"], r["is_primary"]) for r in roles] == [
        (people["ann@acme.example"], "decision_maker", False)] * 2


def test_a_header_without_the_id_is_refused_before_any_row(store: Engine,
                                                            tmp_path: Path) -> None:
    from mql.errors import ConfigError

    path = write(tmp_path, "o.csv", "name,created_at\nAcme,2025-03-01\n")
    with pytest.raises(ConfigError, match="no column 'opportunity_id'"):
        ingest(store, path, "opportunities")


def test_one_opportunity_with_its_history_is_read_back(store: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "o.csv", HEADER + (
        "o-1,,,,,2025-03-01,,open,demo,,,,"
        + _history(("discovery", "2025-03-01"), ("demo", "2025-03-04")) + "\n"))
    ingest(store, path, "opportunities")
    found = outcomes.read_opportunity(store, "o-1")
    assert [(h["stage"], h["at"]) for h in found["history"]] == [
        ("discovery", day(3, 1)), ("demo", day(3, 4))]
    from mql.errors import NotFound

    with pytest.raises(NotFound, match="no opportunity 'o-9'"):
        outcomes.read_opportunity(store, "o-9")


def test_a_fixed_file_resolves_its_quarantined_row(store: Engine, tmp_path: Path) -> None:
    bad = write(tmp_path, "o.csv", HEADER + "o-1,,,,lots,2025-03-01,,open,demo,,,,\n")
    assert ingest(store, bad, "opportunities").quarantined == 1
    fixed = write(tmp_path, "o-fixed.csv", HEADER + "o-1,,,,1000,2025-03-01,,open,demo,,,,\n")
    assert ingest(store, fixed, "opportunities").resolved == 1
    with store.connect() as conn:
        assert quarantine_store.listing(conn) == []
    # a retry points at the file: outcome rows are loaded again from it
    from mql.identity.merge import IdentityRules
    from mql.service.ingest import retry_quarantined

    other = write(tmp_path, "o2.csv", HEADER + "o-2,,,,lots,2025-03-01,,open,demo,,,,\n")
    again = ingest(store, other, "opportunities")
    [held] = [q for q in rows(store, "quarantine") if q["status"] == "open"]
    assert again.quarantined == 1
    result = retry_quarantined(store, [held["id"]], rules=IdentityRules(), now=day(4, 1))
    assert result.loaded == [] and "run `mql ingest opportunities`" in result.failed[0][1]


def test_a_nul_in_an_extra_column_costs_its_row_on_every_backend(store: Engine,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps({"opportunity_id": "o-1", "created_at": "2025-03-01",
                                "notes": "Sam\u0000"}) + "\n"
                    + json.dumps({"opportunity_id": "o-2", "created_at": "2025-03-01",
                                  "notes": "Sam"}) + "\n")
    summary = ingest(store, path, "opportunities")
    assert (summary.loaded, summary.quarantined) == (1, 1)
    [opp] = rows(store, "opportunities")
    assert (opp["external_id"], opp["attributes"]) == ("o-2", {"notes": "Sam"})
    with store.connect() as conn:
        [held] = quarantine_store.listing(conn)
    assert (held.row, held.field) == (1, "notes") and "NUL" in held.reason
