"""Collection and reads through a real server on both stores (SQLite and PostgreSQL): a
batch lands once however often it is sent, bad messages are quarantined, the lead reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from mql.api.app import create_app
from mql.service.store import init_workspace
from mql.store.db import connect
from mql.store.tables import events
from tests.api.conftest import T0, make_keys, running, settings_for, wait_applied


def test_batches_land_once_and_leads_read_on_each_store(store_url: str, tmp_path: Path) -> None:
    url = init_workspace(tmp_path, now=T0, database_url=store_url).database_url
    keys = make_keys(url)
    now = datetime.now(UTC).isoformat()
    batch = {"batch": [
        {"type": "identify", "messageId": str(uuid.uuid4()), "userId": "pat@acme.example",
         "traits": {"email": "pat@acme.example", "title": "CTO"}, "timestamp": now},
        {"type": "track", "messageId": str(uuid.uuid4()), "userId": "pat@acme.example",
         "event": "Demo Request", "timestamp": now},
        {"type": "track", "messageId": str(uuid.uuid4()), "event": "x", "timestamp": now},
    ]}
    with running(create_app(settings_for(url))) as base:
        with httpx.Client(base_url=base, auth=(keys["writer"], "")) as writer:
            first = writer.post("/v1/batch", json=batch)
            again = writer.post("/v1/batch", json=batch)
        wait_applied(base, keys["read-only"])
        with httpx.Client(base_url=base, headers={
                "Authorization": f"Bearer {keys['read-only']}"}) as reader:
            lead = reader.get("/v1/leads/pat@acme.example")
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["accepted"] == 2 and first.json()["rejected"][0]["index"] == 2
    assert lead.status_code == 200 and lead.json()["attributes"]["title"] == "CTO"
    engine = connect(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(events)
                                  .where(events.c.email == "pat@acme.example")).scalar_one()
    finally:
        engine.dispose()
    assert stored == 2
