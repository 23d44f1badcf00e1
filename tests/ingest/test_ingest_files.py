"""File ingest into the store, on SQLite and PostgreSQL: every event lands once, bad rows
wait in quarantine, states stay equal to a replay of the ledger."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.ingest.formats import EVENT_COLUMNS
from mql.service.ingest import ingest_file, retry_quarantined
from mql.service.scoring import Inputs, load_model_file, score_files
from mql.service.store import find_contact, quarantined
from mql.store.tables import events as events_table
from tests.store.oracle import event_count, mismatches

NOW = datetime(2026, 3, 10, tzinfo=UTC)
LATER = datetime(2026, 3, 25, tzinfo=UTC)
RULES = IdentityRules()


def _events(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EVENT_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in EVENT_COLUMNS})
    return path


def _ev(n: int, kind: str, day: int, email: str = "jane@acme.com", **kw: object
        ) -> dict[str, object]:
    return {"event_id": f"e{n}", "type": kind, "timestamp": f"2026-03-{day:02d}T10:00:00Z",
            "email": email, **kw}


def test_events_land_once_bad_rows_are_quarantined_and_good_rows_still_land(
    store: Engine, tmp_path: Path
) -> None:
    path = _events(tmp_path / "ev.csv", [
        _ev(1, "page_view", 2, properties='{"url": "/pricing"}'),
        _ev(2, "demo_request", 3),
        {"event_id": "e3", "type": "page_view", "timestamp": "yesterday", "email": "j@acme.com"},
        _ev(4, "page_view", 4, email="not-an-email"),
        _ev(1, "page_view", 2, properties='{"url": "/pricing"}'),  # resent in the same file
    ])
    summary = ingest_file(store, path, "events", rules=RULES, now=NOW)
    assert (summary.rows, summary.loaded, summary.duplicates, summary.quarantined) == (5, 2, 1, 2)
    held = quarantined(store)
    assert [(q.row, q.field) for q in held] == [(4, "timestamp"), (5, "email")]
    assert "ISO 8601" in held[0].reason and json.loads(held[0].raw)["timestamp"] == "yesterday"
    view = find_contact(store, "Jane@ACME.com", rules=RULES)
    assert view.scores is not None and view.scores["mql"] is True
    assert event_count(store) == (2, 2)
    assert mismatches(store) == []


def test_a_resent_file_in_another_format_adds_nothing(store: Engine, tmp_path: Path) -> None:
    rows = [_ev(n, "page_view", 1 + n % 20, properties='{"url": "/pricing"}')
            for n in range(30)]
    ingest_file(store, _events(tmp_path / "a.csv", rows), "events", rules=RULES, now=LATER)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = ingest_file(store, jsonl, "events", rules=RULES, now=LATER)
    parquet = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(
        [{c: str(r.get(c, "")) for c in EVENT_COLUMNS} for r in rows]), parquet)
    third = ingest_file(store, parquet, "events", rules=RULES, now=LATER)
    assert (again.loaded, again.duplicates) == (0, 30)
    assert (third.loaded, third.duplicates) == (0, 30)
    assert event_count(store) == (30, 30)


def test_late_and_out_of_order_events_give_the_same_scores_as_the_file_scorer(
    store: Engine, tmp_path: Path
) -> None:
    rows = [_ev(1, "page_view", 20, properties='{"url": "/pricing"}'),
            _ev(2, "webinar_attended", 5),
            _ev(3, "page_view", 1, properties='{"url": "/pricing"}'),
            _ev(4, "content_download", 12, email="bob@globex.com")]
    path = _events(tmp_path / "late.csv", rows)
    for start in range(len(rows)):  # one row per file, newest first: everything is late
        ingest_file(store, _events(tmp_path / f"part{start}.csv", [rows[start]]), "events",
                    rules=RULES, now=LATER)
    assert mismatches(store) == []
    model = load_model_file(Path(__file__).parents[2] / "src/mql/examples/models/b2b-saas.yaml")
    contacts = tmp_path / "c.csv"
    contacts.write_text("email\njane@acme.com\nbob@globex.com\n")
    expected = {d.contact: d for d in score_files(model, Inputs(contacts, None, path),
                                                  at=LATER).decisions}
    for email, decision in expected.items():
        view = find_contact(store, email, rules=RULES)
        assert view.scores is not None
        assert view.scores["intent"] == pytest.approx(decision.intent, rel=1e-9)
        assert view.scores["mql"] is decision.mql


def test_a_rerun_resumes_after_the_checkpoint(store: Engine, tmp_path: Path) -> None:
    rows = [_ev(n, "page_view", 1 + n % 20) for n in range(25)]
    path = _events(tmp_path / "big.csv", rows)

    class Abort(Exception):
        pass

    def stop_after_two_batches(consumed: int, *_: object) -> None:
        if consumed == 20:
            raise Abort  # the process dies here: rows 1-20 and their checkpoint are committed

    with pytest.raises(Abort):
        ingest_file(store, path, "events", rules=RULES, now=LATER, batch_size=10,
                    progress=stop_after_two_batches)
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events_table)).scalar() == 20
    second = ingest_file(store, path, "events", rules=RULES, now=LATER, batch_size=10)
    assert (second.resumed, second.loaded, second.duplicates, second.quarantined) == (
        20, 5, 0, 0)
    with store.connect() as conn:
        stored = {r[0] for r in conn.execute(sa.select(events_table.c.event_id))}
    assert stored == {str(r["event_id"]) for r in rows}
    third = ingest_file(store, path, "events", rules=RULES, now=LATER, batch_size=10)
    assert (third.resumed, third.loaded, third.duplicates) == (0, 0, 25)  # finished: all known


def test_retry_loads_a_quarantined_row_once_the_mapping_reads_it(
    store: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "hubspot.csv"
    path.write_text("Email,First Name,Company Name,Lifecycle Stage\n"
                    "jane@acme.com,Jane,Acme,Captured\n"
                    "bob@globex.com,Bob,Globex,Customer\n")
    summary = ingest_file(store, path, "contacts", rules=RULES, now=NOW, mapping="salesforce")
    assert summary.quarantined == 0 and summary.mapping == "salesforce"
    bad = tmp_path / "crm.jsonl"  # JSONL has no header: the row waits in quarantine
    bad.write_text('{"E-mail Address": "ann@initech.com", "Name": "Ann"}\n')
    assert ingest_file(store, bad, "contacts", rules=RULES, now=NOW).quarantined == 1
    [row] = quarantined(store)
    assert row.field == "email" and "every contact needs an email" in row.reason
    still = retry_quarantined(store, [row.id], rules=RULES, now=NOW)
    assert still.loaded == [] and len(still.failed) == 1
    fixed = tmp_path / "fixed.json"
    fixed.write_text("{}")
    # after a fix of the raw row's header (here: the mapping mql reads "email")
    from mql.store import quarantine as q_store
    from mql.store.tables import quarantine as q_table

    with store.begin() as conn:
        conn.execute(q_table.update().values(raw=json.dumps({"email": "ann@initech.com"})))
        assert q_store.count_open(conn) == 1
    done = retry_quarantined(store, None, rules=RULES, now=NOW)
    assert done.loaded == [row.id] and quarantined(store) == []
    assert find_contact(store, "ann@initech.com", rules=RULES).account == "initech.com"


def test_hubspot_exports_are_detected_and_external_ids_merge_duplicates(
    store: Engine, tmp_path: Path
) -> None:
    first = tmp_path / "hs1.csv"
    first.write_text("Record ID,Email,First Name,Company Name,Number of Employees,"
                     "Lifecycle Stage,Country/Region\n"
                     "101,jane@acme.com,Jane,Acme,250,Lead,US\n"
                     "102,jane.doe@personal-mail.net,Jane,Acme,,Lead,US\n")
    summary = ingest_file(store, first, "contacts", rules=RULES, now=NOW)
    assert summary.mapping == "hubspot" and summary.loaded == 2
    second = tmp_path / "hs2.csv"  # the CRM says 102 is the same person as jane@acme.com
    second.write_text("Record ID,Email\n102,jane@acme.com\n")
    again = ingest_file(store, second, "contacts", rules=RULES, now=NOW)
    assert again.merges == 1
    view = find_contact(store, "jane@acme.com", rules=RULES)
    # external ids come first in the priority: the record found by id 102 survives
    assert view.email == "jane.doe@personal-mail.net"
    assert {i["value"] for i in view.identities} >= {"101", "102", "jane@acme.com",
                                                     "jane.doe@personal-mail.net"}
    # a HubSpot "lead" is mapped to mql's stage, not stored raw
    assert view.attributes["lifecycle_stage"] == "captured" and view.merges


# Rows that parse but that the store cannot hold: an event id of 303 characters (the column
# holds 200) and a NUL character in a property. Each costs its own row, with the store's
# reason; every other row lands, on SQLite and PostgreSQL alike.
def test_rows_the_store_refuses_are_quarantined_and_the_others_land(
        store: Engine, tmp_path: Path) -> None:
    rows = [_ev(1, "page_view", 2), {**_ev(2, "page_view", 3), "event_id": "x" * 303},
            _ev(3, "page_view", 4),
            {**_ev(4, "page_view", 5), "properties": json.dumps({"url": "/a\u0000b"})},
            _ev(5, "demo_request", 6)]
    path = _events(tmp_path / "odd.csv", rows)
    summary = ingest_file(store, path, "events", rules=RULES, now=NOW, batch_size=10)
    with store.connect() as conn:
        stored = {r[0] for r in conn.execute(sa.select(events_table.c.event_id))}
    assert {"e1", "e3", "e5"} <= stored
    held = quarantined(store)
    assert summary.loaded + summary.quarantined == 5
    assert len(held) == summary.quarantined
    for row in held:
        assert row.source == str(path) and row.row in (3, 5) and row.reason, row


def test_events_of_types_no_rule_counts_land_and_are_named_in_a_note(
        store: Engine, tmp_path: Path) -> None:
    # a misspelt or unmapped type (the example model counts demo_request, not "demo_req")
    # is stored for a later model, and the summary says which types no rule counts
    path = _events(tmp_path / "ev.csv", [
        _ev(1, "demo_req", 2), _ev(2, "demo_req", 3), _ev(3, "webinar_watched", 4),
        _ev(4, "demo_request", 5)])
    summary = ingest_file(store, path, "events", rules=RULES, now=LATER)
    assert summary.loaded == 4
    assert summary.uncounted == {"demo_req": 2, "webinar_watched": 1}
    assert ("3 events of types no rule of the live model counts (stored, for a later "
            "model): demo_req (2), webinar_watched (1)") in summary.notes
