"""Ingest use cases end to end, on SQLite and PostgreSQL: identify, merges, Segment."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.ingest.formats import EVENT_COLUMNS
from mql.service.ingest import ingest_file, ingest_messages, retry_quarantined
from mql.service.store import find_contact, undo_merge
from mql.store import tables
from tests.store.oracle import event_count, mismatches

NOW = datetime(2026, 3, 30, tzinfo=UTC)
RULES = IdentityRules()


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows({c: r.get(c, "") for c in EVENT_COLUMNS} for r in rows)
    return path


def _pricing(n: int, day: int, **kw: str) -> dict[str, str]:
    return {"event_id": f"p{n}", "type": "page_view", "timestamp": f"2026-03-{day:02d}T09:00Z",
            "properties": '{"url": "/pricing"}', **kw}


def test_identify_gives_the_contact_its_earlier_anonymous_events(store: Engine,
                                                                 tmp_path: Path) -> None:
    anonymous = [_pricing(n, 1 + n, anonymous_id="cookie-1") for n in range(4)]
    ingest_file(store, _write(tmp_path / "a.csv", anonymous), "events", rules=RULES, now=NOW)
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.events)
                            .where(tables.events.c.contact_id.is_(None))).scalar_one() == 4
    form = [{"event_id": "f1", "type": "form_submit", "timestamp": "2026-03-10T09:00Z",
             "email": "jane@acme.com", "anonymous_id": "cookie-1"}]
    ingest_file(store, _write(tmp_path / "b.csv", form), "events", rules=RULES, now=NOW)
    view = find_contact(store, "jane@acme.com", rules=RULES)
    assert view.scores is not None and view.scores["intent"] > 0
    assert {i["kind"] for i in view.identities} == {"email", "anonymous_id"}
    with store.connect() as conn:
        owners = set(conn.execute(sa.select(tables.events.c.contact_id)).scalars())
    assert owners == {view.id}
    assert mismatches(store) == []


def test_a_shared_cookie_never_merges_two_people(store: Engine, tmp_path: Path) -> None:
    rows = [{"event_id": f"s{n}", "type": "page_view", "timestamp": f"2026-03-{n + 1:02d}T09:00Z",
             "email": f"person{n}@acme.com", "anonymous_id": "office-cookie"} for n in range(5)]
    ingest_file(store, _write(tmp_path / "s.csv", rows), "events", rules=RULES, now=NOW)
    views = [find_contact(store, f"person{n}@acme.com", rules=RULES) for n in range(5)]
    assert len({v.id for v in views}) == 5
    assert sum(any(i["kind"] == "anonymous_id" for i in v.identities) for v in views) == 1


def test_blocked_identifiers_identify_nobody(store: Engine, tmp_path: Path) -> None:
    rows = [{"event_id": f"b{n}", "type": "page_view", "timestamp": "2026-03-02T09:00Z",
             "email": f"p{n}@acme.com", "anonymous_id": "null"} for n in range(3)]
    rows.append({"event_id": "b9", "type": "page_view", "timestamp": "2026-03-02T09:00Z",
                 "email": "test@test.com"})
    ingest_file(store, _write(tmp_path / "b.csv", rows), "events", rules=RULES, now=NOW)
    for n in range(3):
        view = find_contact(store, f"p{n}@acme.com", rules=RULES)
        assert {i["kind"] for i in view.identities} == {"email"}
    assert event_count(store) == (4, 4)


def test_a_merge_rederives_the_score_from_the_ledger_and_can_be_undone(
    store: Engine, tmp_path: Path
) -> None:
    contacts = tmp_path / "c.csv"
    contacts.write_text("email,salesforce_id\njane@acme.com,003A\njd@personal.example,\n")
    ingest_file(store, contacts, "contacts", rules=RULES, now=NOW)
    events = [_pricing(1, 3, email="jane@acme.com"), _pricing(2, 4, email="jd@personal.example"),
              {"event_id": "d1", "type": "demo_request", "timestamp": "2026-03-05T09:00Z",
               "email": "jd@personal.example"}]
    ingest_file(store, _write(tmp_path / "e.csv", events), "events", rules=RULES, now=NOW)
    before = {e: find_contact(store, e, rules=RULES) for e in ("jane@acme.com",
                                                               "jd@personal.example")}
    link = tmp_path / "link.csv"
    link.write_text("email,salesforce_id\njd@personal.example,003A\n")
    summary = ingest_file(store, link, "contacts", rules=RULES, now=NOW)
    assert summary.merges == 1
    merged = find_contact(store, "jd@personal.example", rules=RULES)
    assert merged.id == before["jane@acme.com"].id
    assert merged.scores is not None and merged.scores["mql"] is True
    assert mismatches(store) == []
    [merge] = merged.merges
    assert "salesforce 003A" in merge["reason"]
    undo_merge(store, merge["id"], now=NOW)
    after = {e: find_contact(store, e, rules=RULES) for e in before}
    for email, view in after.items():
        assert view.id == before[email].id
        assert view.scores is not None and before[email].scores is not None
        assert view.scores["total"] == before[email].scores["total"]
    assert mismatches(store) == []


def test_segment_messages_and_files_share_idempotency_and_correct_clock_skew(
    store: Engine, tmp_path: Path
) -> None:
    messages = [
        {"type": "page", "messageId": "m1", "anonymousId": "a-9", "name": "Pricing",
         "properties": {"url": "/pricing"}, "timestamp": "2026-03-02T10:00:00Z",
         "sentAt": "2026-03-02T10:05:00Z", "receivedAt": "2026-03-02T10:00:00Z"},
        {"type": "identify", "messageId": "m2", "anonymousId": "a-9", "userId": "u-42",
         "traits": {"email": "Ann@Initech.com", "title": "CTO", "company": "Initech"},
         "timestamp": "2026-03-03T10:00:00Z"},
        {"type": "track", "messageId": "m3", "userId": "u-42", "event": "Demo Request",
         "timestamp": "2026-03-04T10:00:00Z"},
        {"type": "track", "messageId": "m4", "event": "nameless"},
    ]
    summary = ingest_messages(store, messages, rules=RULES, now=NOW, source="http")
    assert (summary.loaded, summary.quarantined) == (3, 1)
    view = find_contact(store, "ann@initech.com", rules=RULES)
    assert view.attributes["title"] == "CTO"
    assert view.scores is not None and view.scores["mql"] is True
    assert {(i["namespace"], i["value"]) for i in view.identities} >= {("segment", "u-42"),
                                                                     ("", "a-9")}
    with store.connect() as conn:
        at = conn.execute(sa.select(tables.events.c.at)
                          .where(tables.events.c.event_id == "m1")).scalar_one()
    assert at == datetime(2026, 3, 2, 9, 55, tzinfo=UTC)
    again = _write(tmp_path / "m.csv", [{"event_id": "m3", "type": "demo_request",
                                          "timestamp": "2026-03-04T10:00Z",
                                          "email": "ann@initech.com"}])
    assert ingest_file(store, again, "events", rules=RULES, now=NOW).duplicates == 1
    assert retry_quarantined(store, None, rules=RULES, now=NOW).failed
    assert mismatches(store) == []


def test_merged_consent_keeps_both_records_and_the_stricter_wins(store: Engine,
                                                                 tmp_path: Path) -> None:
    contacts = tmp_path / "c.csv"
    contacts.write_text("email,hubspot_id\nann@initech.com,9\nann.b@initech.example,\n")
    ingest_file(store, contacts, "contacts", rules=RULES, now=NOW)
    a = find_contact(store, "ann@initech.com", rules=RULES).id
    b = find_contact(store, "ann.b@initech.example", rules=RULES).id
    with store.begin() as conn:
        conn.execute(tables.consent.insert(), [
            {"contact_id": a, "channel": "email", "status": "granted", "at": NOW},
            {"contact_id": b, "channel": "email", "status": "withdrawn", "at": NOW},
            {"contact_id": b, "channel": "phone", "status": "granted", "at": NOW}])
    link = tmp_path / "link.csv"
    link.write_text("email,hubspot_id\nann.b@initech.example,9\n")
    assert ingest_file(store, link, "contacts", rules=RULES, now=NOW).merges == 1
    view = find_contact(store, "ann.b@initech.example", rules=RULES)
    assert view.consent == {"email": "withdrawn", "phone": "granted"}
    with store.connect() as conn:
        owners = set(conn.execute(sa.select(tables.consent.c.contact_id)).scalars())
    assert owners == {view.id}


def test_a_merge_over_a_guardrail_is_refused_and_audited(store: Engine, tmp_path: Path) -> None:
    strict = IdentityRules(max_per_kind={"email": 1, "anonymous_id": 20, "external": 3})
    contacts = tmp_path / "c.csv"
    contacts.write_text("email,salesforce_id\nx@acme.com,00Q1\ny@globex.com,\n")
    ingest_file(store, contacts, "contacts", rules=strict, now=NOW)
    link = tmp_path / "link.csv"
    link.write_text("email,salesforce_id\ny@globex.com,00Q1\n")
    summary = ingest_file(store, link, "contacts", rules=strict, now=NOW)
    assert (summary.merges, summary.merges_refused) == (0, 1)
    assert find_contact(store, "x@acme.com", rules=strict).id != find_contact(
        store, "y@globex.com", rules=strict).id
    with store.connect() as conn:
        [line] = conn.execute(sa.select(tables.audit_log.c.detail)
                              .where(tables.audit_log.c.action == "merge_refused")).scalars()
    assert "at most 1 per contact" in line["reason"]
