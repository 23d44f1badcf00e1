"""Erasure (GDPR Art. 17) on a real store (SQLite and PostgreSQL): after `erase`, no
table holds the person's address or contact ids; the audit log keeps one pseudonymised
line; erasing again changes nothing; and every table of the schema has an erasure rule."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.compliance.policy import email_hash
from mql.errors import NotFound
from mql.ingest.consent import ConsentRow
from mql.ingest.outcomes import DispositionRow
from mql.records import Event
from mql.service import consent as consent_service
from mql.service import lifecycle, privacy
from mql.service.ingest import ingest_file, ingest_records
from mql.service.outcomes import save_disposition
from mql.store import privacy as privacy_store
from mql.store import tables
from mql.store.inbox import inbox, open_inbox, put
from tests.compliance.helpers import NOW, RULES, demo, load, person, with_consent

JANE = "jane@acme.example"
OTHER = "omar@acme.example"


def _everything(store: Engine) -> dict[str, list[str]]:
    """Every row of every table, as lower-case JSON text, per table."""
    out: dict[str, list[str]] = {}
    with store.connect() as conn:
        for table in tables.metadata.sorted_tables:
            out[table.name] = [json.dumps(dict(r._mapping), default=str).lower()
                               for r in conn.execute(sa.select(table))]
    return out


def _world(store: Engine, tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"], now=NOW)
    jane, omar = person(JANE, "US"), person(OTHER, "US")
    load(store, jane)
    load(store, omar)
    # a second address of Jane, merged by a shared CRM id
    a = tmp_path / "a.csv"
    a.write_text(f"email,hubspot_id\n{JANE},77\nj.doe@acme.example,\n")
    ingest_file(store, a, "contacts", rules=RULES, now=NOW)
    b = tmp_path / "b.csv"
    b.write_text("email,hubspot_id\nj.doe@acme.example,77\n")
    assert ingest_file(store, b, "contacts", rules=RULES, now=NOW).merges == 1
    consent_service.record_consent(store, [
        ConsentRow(JANE, "email", "granted", "consent", NOW - timedelta(days=2))],
        rules=RULES, now=NOW, actor="test")
    ingest_records(store, "events", [
        Event("pv-1", "page_view", NOW - timedelta(hours=2), contact=JANE,
              anonymous_id="anon-jane-123", properties={"url": "/pricing"})],
        rules=RULES, now=NOW, source="test")
    load(store, jane, demo(JANE))
    load(store, omar, demo(OTHER))
    bad = tmp_path / "e.csv"  # a quarantined row that names Jane
    bad.write_text(f"event_id,type,timestamp,email\nx-1,,2026-03-01,{JANE}\n")
    assert ingest_file(store, bad, "events", rules=RULES, now=NOW).quarantined == 1
    save_disposition(store, [DispositionRow(JANE, NOW + timedelta(hours=1), "accepted")],
                     rules=RULES, now=NOW, source="test")
    with open_inbox(store).begin() as conn:
        put(conn, "web", [json.dumps({"type": "track", "userId": JANE})], now=NOW)


def test_nothing_of_an_erased_person_remains_in_any_table(store: Engine,
                                                          tmp_path: Path) -> None:
    _world(store, tmp_path)
    before = _everything(store)
    assert any(JANE in row for rows in before.values() for row in rows)
    with store.connect() as conn:
        ids = set(conn.execute(sa.select(tables.contacts.c.id).where(
            tables.contacts.c.email.in_([JANE, "j.doe@acme.example"]))).scalars())
    assert len(ids) == 2
    done = privacy.erase(store, "Jane@Acme.example", rules=RULES, now=NOW, actor="dpo")
    assert done["erased"] and done["contacts"] == 2
    after = _everything(store)
    for name, rows in after.items():
        for row in rows:
            assert JANE not in row and "j.doe@acme.example" not in row, name
            assert "anon-jane-123" not in row, name
    for table in tables.metadata.sorted_tables:
        for column in table.columns:
            if column.name in ("contact_id", "primary_contact_id", "survivor_id",
                               "merged_id", "origin_id"):
                with store.connect() as conn:
                    left = set(conn.execute(sa.select(column)).scalars()) & ids
                assert not left, f"{table.name}.{column.name}"
    with open_inbox(store).connect() as conn:
        assert all(JANE not in p.lower() for p in conn.execute(sa.select(inbox.c.payload))
                   .scalars())
    # the other person is untouched; the audit log says an erasure happened, no address
    assert any(OTHER in row for row in after["contacts"])
    with store.connect() as conn:
        (line,) = conn.execute(sa.select(tables.audit_log.c.detail).where(
            tables.audit_log.c.action == "privacy.erase")).scalars()
    assert line["subject_sha256"] == sorted(
        [email_hash(JANE), email_hash("j.doe@acme.example")]) or set(
        line["subject_sha256"]) == {email_hash(JANE), email_hash("j.doe@acme.example")}
    # idempotent: a second erasure finds nothing and writes nothing
    again = privacy.erase(store, JANE, rules=RULES, now=NOW, actor="dpo")
    assert again["erased"] is False
    assert _everything(store) == after


def _contact_emails(store: Engine) -> set[str]:
    with store.connect() as conn:
        return set(conn.execute(sa.select(tables.contacts.c.email)).scalars())


def _quarantined(store: Engine) -> list[dict]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(tables.quarantine).where(tables.quarantine.c.resolved_at.is_(None))
            .order_by(tables.quarantine.c.id))]


def test_an_erased_person_is_not_re_created_by_an_import_until_consent_is_given_again(
        store: Engine, tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    load(store, person(OTHER, "US"))
    people = tmp_path / "people.csv"
    people.write_text(f"email,country,title\n{OTHER},US,CTO\n{JANE},US,VP Marketing\n")
    ingest_file(store, people, "contacts", rules=RULES, now=NOW)
    assert JANE in _contact_emails(store)
    privacy.erase(store, JANE, rules=RULES, now=NOW)
    later = NOW + timedelta(days=1)
    # the same CSV again: Jane's row is refused (file, row, field, why), Omar's lands
    again = ingest_file(store, people, "contacts", rules=RULES, now=later)
    assert (again.loaded, again.quarantined, again.refused_suppressed) == (1, 1, 1)
    assert JANE not in _contact_emails(store) and OTHER in _contact_emails(store)
    (held,) = _quarantined(store)
    assert (held["kind"], held["row"], held["field"]) == ("contacts", 3, "email")
    assert held["source"].endswith("people.csv")
    assert held["reason"].startswith("suppressed: email on the suppression list since "
                                     "2026-03-03 (erased); the address is not re-created")
    assert JANE not in held["raw"]  # the quarantine keeps only the address's hash
    assert json.loads(held["raw"])["email_sha256"] == email_hash(JANE)
    # an events file naming her creates nobody either
    events = tmp_path / "events.csv"
    events.write_text(f"event_id,type,timestamp,email\nd-1,demo_request,"
                      f"2026-03-04T10:00:00Z,{JANE}\n")
    assert ingest_file(store, events, "events", rules=RULES, now=later).quarantined == 1
    assert JANE not in _contact_emails(store)
    # consent given again (after the erasure) lifts the suppression; the next import
    # creates her, and her consent, loaded again, lands on the new contact
    consent = [ConsentRow(JANE, "email", "granted", "consent", later)]
    assert consent_service.record_consent(store, consent, rules=RULES, now=later,
                                          actor="test") == 0
    with store.connect() as conn:
        assert conn.execute(sa.select(tables.suppressions)).all() == []
        (lifted,) = conn.execute(sa.select(tables.audit_log.c.detail).where(
            tables.audit_log.c.action == "consent.lifted")).scalars()
    assert lifted["value"] == email_hash(JANE) and JANE not in json.dumps(lifted)
    ingest_file(store, people, "contacts", rules=RULES, now=later)
    assert JANE in _contact_emails(store)
    assert consent_service.record_consent(store, consent, rules=RULES, now=later,
                                          actor="test") == 1
    assert consent_service.lead_consent(store, JANE, rules=RULES, at=later)["held"] is False


def test_a_grant_older_than_the_erasure_does_not_lift_it(store: Engine,
                                                          tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    load(store, person(JANE, "US"))
    privacy.erase(store, JANE, rules=RULES, now=NOW)
    with pytest.raises(NotFound, match="no contact"):
        consent_service.record_consent(store, [
            ConsentRow(JANE, "email", "granted", "consent", NOW - timedelta(days=3))],
            rules=RULES, now=NOW, actor="test")
    ingest_records(store, "contacts", [person(JANE, "US")], rules=RULES, now=NOW,
                   source="test")
    assert JANE not in _contact_emails(store)


def test_an_identify_re_creates_an_erased_person_only_with_consent_in_it(
        store: Engine, tmp_path: Path) -> None:
    from mql.service.ingest import ingest_messages

    with_consent(store, tmp_path)
    load(store, person(JANE, "US"))
    privacy.erase(store, JANE, rules=RULES, now=NOW)
    later = NOW + timedelta(days=1)
    identify = {"type": "identify", "userId": "u-jane", "messageId": "m-1",
                "timestamp": later.isoformat(), "traits": {"email": JANE, "country": "US"}}
    summary = ingest_messages(store, [identify], rules=RULES, now=later)
    assert (summary.loaded, summary.quarantined) == (0, 1)
    assert JANE not in _contact_emails(store)
    (held,) = _quarantined(store)
    assert (held["kind"], held["field"]) == ("segment", "email") and JANE not in held["raw"]
    granting = {**identify, "messageId": "m-2", "context": {"consent": {
        "categoryPreferences": {"Email": True}}}}
    assert ingest_messages(store, [granting], rules=RULES, now=later).loaded == 1
    assert JANE in _contact_emails(store)
    view = consent_service.lead_consent(store, JANE, rules=RULES, at=later)
    assert view["held"] is False and view["may_contact"]["email"] is True


def test_export_holds_everything_about_the_person_and_erasing_an_unknown_one_fails(
        store: Engine, tmp_path: Path) -> None:
    _world(store, tmp_path)
    data = privacy.export(store, JANE, rules=RULES, now=NOW)
    assert len(data["contacts"]) == 2
    text = json.dumps(data)
    assert "anon-jane-123" in text and OTHER not in text
    assert {"contacts", "identities", "events", "consent", "lifecycle_history",
            "contact_scores", "dispositions"} <= set(data["tables"])
    with pytest.raises(NotFound):
        privacy.export(store, "nobody@acme.example", rules=RULES, now=NOW)


def test_every_table_has_an_erasure_rule_and_no_rule_less_table_names_a_person() -> None:
    assert set(tables.metadata.tables) == set(privacy_store.RULES)
    personal = ("email", "contact", "subject", "anonymous", "person", "name", "raw",
                "payload", "detail")
    for name, rule in privacy_store.RULES.items():
        if rule.how != "none":
            continue
        columns = {c.name for c in tables.metadata.tables[name].columns}
        allowed = {"accounts": {"name"}, "model_versions": {"name"},
                   "auth_keys": {"name"}, "opportunity_history": set(),
                   "suppressions": set()}.get(name, set())
        suspicious = {c for c in columns - allowed if any(p in c for p in personal)}
        assert not suspicious, f"{name} has {suspicious} but no erasure rule"
