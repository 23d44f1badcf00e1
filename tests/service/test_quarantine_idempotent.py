"""A crash between the store's commit and the inbox's delete repeats an apply: the
quarantined messages of the repeated group are held once, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.ingest.segment import refused
from mql.service.collect import apply_inbox
from mql.service.ingest import retry_quarantined
from mql.store import inbox as inbox_store
from mql.store.tables import events, quarantine

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BAD = [
    {"type": "track", "messageId": "no-user", "event": "X", "timestamp": "2026-03-02"},
    {"type": "track", "anonymousId": "a", "event": "X", "timestamp": "yesterday"},  # no id
    refused({"type": "track", "messageId": "big", "anonymousId": "a", "event": "X",
             "timestamp": "2026-03-02"}, None, "the message is 40,000 bytes"),
]


def _held(store: Engine) -> int:
    with store.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(quarantine))
                   .scalar_one())


def test_a_repeated_apply_holds_each_bad_message_once(store: Engine) -> None:
    inbox = inbox_store.open_inbox(store)
    for _ in range(2):  # the second time: what a crash before the delete leaves
        with inbox.begin() as conn:
            inbox_store.put(conn, "website", [json.dumps(m) for m in BAD], now=NOW)
        assert apply_inbox(store, inbox, rules=IdentityRules(), now=NOW) == 3
    assert _held(store) == 3
    with store.connect() as conn:
        reasons = dict(conn.execute(sa.select(quarantine.c.field, quarantine.c.reason)).all())
    assert "40,000 bytes" in reasons[None] and "timestamp" in reasons
    # the message held for its size loads when retried (an admin's decision), once
    with store.connect() as conn:
        big = conn.execute(sa.select(quarantine.c.id).where(
            quarantine.c.message_id == "big")).scalar_one()
    assert retry_quarantined(store, [big], rules=IdentityRules(), now=NOW).loaded == [big]
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events).where(
            events.c.event_id == "big")).scalar_one() == 1
    if inbox is not store:
        inbox.dispose()
