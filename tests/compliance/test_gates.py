"""The hard gates on a real store (SQLite and PostgreSQL): a lead that may not be
contacted on any hand-off channel is still scored and an MQL, but gets no seller, and no
notification about it leaves mql; the hold and its reason are in the audit log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.ingest.consent import ConsentRow
from mql.service import consent as consent_service
from mql.service import lifecycle
from mql.service.scores import list_scores
from mql.store.tables import assignments, audit_log, outbox
from tests.compliance.helpers import NOW, RULES, demo, load, person, with_consent


def _assignments(store: Engine) -> list[dict]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(assignments.select())]


def _topics(store: Engine) -> list[str]:
    with store.connect() as conn:
        return sorted(conn.execute(sa.select(outbox.c.topic)).scalars())


def test_a_withdrawn_us_contact_is_an_mql_but_held_with_the_reason(store: Engine,
                                                                    tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"], now=NOW)
    jane = person("jane@acme.example", "US")
    load(store, jane)
    day = NOW - timedelta(days=1)
    consent_service.record_consent(store, [
        ConsentRow(jane.email, "all", "withdrawn", "none", day)], rules=RULES, now=day,
        actor="test")
    load(store, jane, demo(jane.email))
    history = lifecycle.history(store, jane.email)
    assert [(h.source, h.target) for h in history] == [("captured", "mql")]
    assert _assignments(store) == []
    assert _topics(store) == []
    with store.connect() as conn:
        (hold,) = conn.execute(sa.select(audit_log.c.detail).where(
            audit_log.c.action == "consent.hold")).scalars()
    assert hold["reason"] == ("no hand-off channel is permitted: email: consent withdrawn "
                              "(every channel) on 2026-03-02; phone: consent withdrawn "
                              "(every channel) on 2026-03-02")
    assert hold["jurisdiction"] == "can_spam"
    # scoring is unchanged: the held lead is scored and an MQL like any other
    (row,) = [d for d in list_scores(store, at=NOW, mql_only=True)]
    assert row.contact == jane.email
    held = consent_service.holds(store)
    assert [(h["email"], h["jurisdiction"]) for h in held] == [(jane.email, "can_spam")]


def test_a_us_contact_without_records_is_handed_off_with_may_contact(store: Engine,
                                                                      tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"], now=NOW)
    jane = person("jane@acme.example", "US")
    load(store, jane, demo(jane.email))
    assert len(_assignments(store)) == 1
    with store.connect() as conn:
        payloads = list(conn.execute(sa.select(outbox.c.topic, outbox.c.payload)))
    assert sorted(t for t, _ in payloads) == ["lead.assigned", "mql.qualified"]
    for _, p in payloads:
        assert p["data"]["contact"]["may_contact"] == {
            "email": True, "phone": True, "sms": True, "ads": True, "sales": True}


def test_an_eu_contact_needs_consent_on_record_and_phone_alone_carries_it(
        store: Engine, tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"], now=NOW)
    hans = person("hans@acme.example", "DE")
    greta = person("greta@acme.example", "DE")
    load(store, hans)
    load(store, greta)
    consent_service.record_consent(store, [
        ConsentRow(greta.email, "email", "withdrawn", "none", NOW - timedelta(days=3)),
        ConsentRow(greta.email, "phone", "granted", "legitimate_interest",
                   NOW - timedelta(days=2))], rules=RULES, now=NOW, actor="test")
    load(store, hans, demo(hans.email))
    load(store, greta, demo(greta.email))
    # Hans: no record, GDPR needs one on either channel: held; Greta: phone is permitted
    owners = {a["contact_id"] for a in _assignments(store)}
    assert len(owners) == 1
    view = consent_service.lead_consent(store, greta.email, rules=RULES, at=NOW)
    assert view["may_contact"]["email"] is False and view["may_contact"]["phone"] is True
    assert view["held"] is False
    hans_view = consent_service.lead_consent(store, hans.email, rules=RULES, at=NOW)
    assert hans_view["held"] is True
    assert hans_view["channels"]["email"]["why"] == ("no email consent on record (gdpr "
                                                     "needs consent)")
    with store.connect() as conn:
        subjects = set(conn.execute(sa.select(outbox.c.subject)).scalars())
    assert subjects == {greta.email}


def test_the_past_does_not_change_a_later_withdrawal_leaves_the_earlier_hand_off(
        store: Engine, tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    jane = person("jane@acme.example", "US")
    load(store, jane, demo(jane.email))
    before = consent_service.lead_consent(store, jane.email, rules=RULES, at=NOW)
    consent_service.record_consent(store, [
        ConsentRow(jane.email, "email", "withdrawn", "none", NOW + timedelta(days=1))],
        rules=RULES, now=NOW + timedelta(days=1), actor="test")
    again = consent_service.lead_consent(store, jane.email, rules=RULES, at=NOW)
    assert before["may_contact"] == again["may_contact"]
    later = consent_service.lead_consent(store, jane.email, rules=RULES,
                                         at=NOW + timedelta(days=2))
    assert later["may_contact"]["email"] is False
    assert len(_assignments(store)) == 1


def test_a_suppressed_domain_always_wins_over_consent(store: Engine, tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    jane = person("jane@acme.example", "US")
    load(store, jane)
    consent_service.record_consent(store, [
        ConsentRow(jane.email, "email", "granted", "consent", NOW - timedelta(days=5))],
        rules=RULES, now=NOW, actor="test")
    assert consent_service.suppress(store, "domain", ["acme.example"], reason="competitor",
                                    now=NOW - timedelta(days=1)) == 1
    load(store, jane, demo(jane.email))
    assert _assignments(store) == []
    view = consent_service.lead_consent(store, jane.email, rules=RULES, at=NOW)
    assert view["reason"] == ("suppressed: domain on the suppression list since 2026-03-02 "
                              "(competitor)")


def test_a_held_lead_goes_to_its_seller_when_consent_arrives(store: Engine,
                                                             tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"], now=NOW)
    hans = person("hans@acme.example", "DE")
    load(store, hans, demo(hans.email))
    assert _assignments(store) == [] and _topics(store) == []  # GDPR: no record, held
    later = NOW + timedelta(hours=2)
    consent_service.record_consent(store, [
        ConsentRow(hans.email, "email", "granted", "consent", later)], rules=RULES,
        now=later, actor="test")
    (a,) = _assignments(store)
    assert a["assigned_at"] == later and a["status"] == "open"
    with store.connect() as conn:
        ((topic, payload),) = conn.execute(sa.select(outbox.c.topic, outbox.c.payload))
    assert topic == "lead.assigned"
    assert payload["data"]["transition"]["to"] == "mql"
    assert payload["data"]["contact"]["may_contact"]["email"] is True
    assert payload["data"]["assignment"]["owner"] == a["owner"]
    # a second grant releases nothing more
    consent_service.record_consent(store, [
        ConsentRow(hans.email, "phone", "granted", "consent", later)], rules=RULES,
        now=later, actor="test")
    assert len(_assignments(store)) == 1


def test_a_notification_s_consent_is_as_of_its_moment_not_of_its_sending(
        store: Engine, tmp_path: Path) -> None:
    # issue 17: `contact.consent` read every record ever stored (the strictest of them):
    # a consent withdrawn and given again said "withdrawn", and a withdrawal dated after
    # the notification (a scheduled unsubscription) counted already, while `may_contact`
    # (read as of the notification's moment) said email was permitted
    with_consent(store, tmp_path)
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"], now=NOW)
    jane = person("jane@acme.example", "US")
    load(store, jane)
    consent_service.record_consent(store, [
        ConsentRow(jane.email, "email", "withdrawn", "none", NOW - timedelta(days=10)),
        ConsentRow(jane.email, "phone", "denied", "none", NOW - timedelta(days=9)),
        ConsentRow(jane.email, "email", "granted", "consent", NOW - timedelta(days=5)),
        ConsentRow(jane.email, "sms", "granted", "consent", NOW - timedelta(days=5)),
        ConsentRow(jane.email, "sms", "withdrawn", "none", NOW + timedelta(days=1))],
        rules=RULES, now=NOW, actor="test")
    load(store, jane, demo(jane.email))
    with store.connect() as conn:
        payloads = dict(conn.execute(sa.select(outbox.c.topic, outbox.c.payload)).all())
    contact = payloads["mql.qualified"]["data"]["contact"]
    assert contact["consent"] == {"email": "granted", "phone": "denied", "sms": "granted"}
    assert contact["may_contact"] == {"email": True, "phone": False, "sms": True,
                                      "ads": True, "sales": True}
