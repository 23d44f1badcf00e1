"""Consent from Segment (SQLite and PostgreSQL): the consent-management shape
`context.consent.categoryPreferences` and identify traits become consent records at the
message's time, once, before the message's events are scored."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.service import consent as consent_service
from mql.service import lifecycle
from mql.service.ingest import ingest_messages
from mql.store.tables import assignments, consent
from tests.compliance.helpers import NOW, RULES, load, person, with_consent

IDENTIFY = {
    "type": "identify", "messageId": "m-1", "userId": "u-1",
    "timestamp": "2026-03-02T10:00:00Z",
    "traits": {"email": "hans@acme.example", "country": "DE"},
    "context": {"consent": {"categoryPreferences": {
        "Advertising": True, "Analytics": False, "Email": False}}}}


def _records(store: Engine) -> list[tuple[str, str, str]]:
    with store.connect() as conn:
        return sorted((r.channel, r.status, r.basis) for r in conn.execute(
            sa.select(consent.c.channel, consent.c.status, consent.c.basis)))


def test_category_preferences_become_consent_records_once(store: Engine, tmp_path: Path
                                                          ) -> None:
    with_consent(store, tmp_path)
    ingest_messages(store, [IDENTIFY], rules=RULES, now=NOW)
    # analytics is not an outreach channel; true grants, false denies
    assert _records(store) == [("ads", "granted", "consent"), ("email", "denied", "none")]
    ingest_messages(store, [IDENTIFY], rules=RULES, now=NOW)  # the same message again
    assert len(_records(store)) == 2
    view = consent_service.lead_consent(store, "hans@acme.example", rules=RULES, at=NOW)
    assert view["jurisdiction"] == "gdpr" and view["may_contact"]["email"] is False
    assert view["channels"]["email"]["why"] == "consent denied on 2026-03-02"


def test_an_unsubscribed_trait_withdraws_email_before_the_demo_request_is_scored(
        store: Engine, tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    load(store, person("jane@acme.example", "US"))
    ingest_messages(store, [
        {"type": "identify", "messageId": "m-2", "userId": "u-2",
         "timestamp": "2026-03-03T14:00:00Z",
         "traits": {"email": "jane@acme.example", "unsubscribed": True,
                    "consent_phone": False}},
        {"type": "track", "messageId": "m-3", "userId": "u-2", "event": "Demo Requested",
         "timestamp": "2026-03-03T14:30:00Z",
         "properties": {"email": "jane@acme.example"}}], rules=RULES, now=NOW)
    assert _records(store) == [("email", "withdrawn", "none"), ("phone", "withdrawn", "none")]
    # she qualifies (scores do not read consent) but no seller gets her
    assert [h.target for h in lifecycle.history(store, "jane@acme.example")] == ["mql"]
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(assignments)
                            ).scalar_one() == 0
