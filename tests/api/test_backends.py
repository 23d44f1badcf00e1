"""Collection and reads through a real server on both stores (SQLite and PostgreSQL): a
batch lands once however often it is sent, bad messages are quarantined, the lead reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from mql.api.app import create_app
from mql.service.store import init_workspace, undo_merge
from mql.store.db import connect
from mql.store.tables import contacts, events, identities, merges
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


def _contact_ids(url: str) -> dict[str, tuple[int, int | None]]:
    """Each contact's (id, merged into) by email."""
    engine = connect(url)
    try:
        with engine.connect() as conn:
            return {str(e): (int(i), m) for i, e, m in conn.execute(
                sa.select(contacts.c.id, contacts.c.email, contacts.c.merged_into))}
    finally:
        engine.dispose()


def _owner(url: str, event_id: str) -> int | None:
    engine = connect(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(events.c.contact_id).where(
                events.c.event_id == event_id)).scalar_one()  # type: ignore[no-any-return]
    finally:
        engine.dispose()


# Segment's alias(previousId, userId): previousId is an id the user was known by before.
# When it names a person (an email of a contact, a userId a contact holds), the two
# contacts are one: the previous one is merged into the user's (merge record, undo).
def test_an_alias_naming_a_known_person_merges_the_two_contacts_on_each_store(
        store_url: str, tmp_path: Path) -> None:
    url = init_workspace(tmp_path, now=T0, database_url=store_url).database_url
    keys = make_keys(url)
    now = datetime.now(UTC).isoformat()

    def message(**fields: object) -> dict[str, object]:
        return {"messageId": str(uuid.uuid4()), "timestamp": now, **fields}

    demo = message(type="track", userId="jo@acme.example", event="Demo Requested")
    pricing = message(type="track", userId="crm-42", event="Pricing Viewed")
    people = {"batch": [
        message(type="identify", userId="jo@acme.example", traits={"email": "jo@acme.example"}),
        demo,
        message(type="identify", userId="jo.doe@acme.example",
                traits={"email": "jo.doe@acme.example", "title": "CTO"}),
        message(type="identify", userId="crm-42", traits={"email": "pat@beta.example"}),
        pricing,
        message(type="identify", userId="pat.smith@beta.example",
                traits={"email": "pat.smith@beta.example"}),
    ]}
    by_email = message(type="alias", previousId="jo@acme.example", userId="jo.doe@acme.example")
    by_user = message(type="alias", previousId="crm-42", userId="pat.smith@beta.example")
    new_user = message(type="alias", previousId="pat.smith@beta.example", userId="u-99")
    later = message(type="track", userId="u-99", event="Pricing Viewed")
    with running(create_app(settings_for(url))) as base, httpx.Client(
            base_url=base, auth=(keys["writer"], "")) as writer:
        assert writer.post("/v1/batch", json=people).status_code == 200
        wait_applied(base, keys["read-only"])
        before = _contact_ids(url)
        for alias in (by_email, by_user, by_email):  # the resent alias changes nothing
            assert writer.post("/v1/alias", json=alias).status_code == 200
        wait_applied(base, keys["read-only"])
        assert writer.post("/v1/alias", json=new_user).status_code == 200
        wait_applied(base, keys["read-only"])
        assert writer.post("/v1/track", json=later).status_code == 200
        wait_applied(base, keys["read-only"])
    jo, jo_doe = before["jo@acme.example"][0], before["jo.doe@acme.example"][0]
    pat, pat_smith = before["pat@beta.example"][0], before["pat.smith@beta.example"][0]
    after = _contact_ids(url)
    assert after["jo@acme.example"] == (jo, jo_doe)  # merged into the user's contact
    assert after["pat@beta.example"] == (pat, pat_smith)
    assert after["jo.doe@acme.example"] == (jo_doe, None)
    assert _owner(url, demo["messageId"]) == jo_doe  # the earlier history is theirs now
    assert _owner(url, pricing["messageId"]) == pat_smith
    # a userId mql did not know yet becomes one of the previous person's ids
    assert _owner(url, later["messageId"]) == pat_smith
    engine = connect(url)
    try:
        with engine.connect() as conn:
            done = list(conn.execute(sa.select(merges.c.id, merges.c.survivor_id,
                                               merges.c.merged_id, merges.c.reason)
                                     .order_by(merges.c.id)))
            cookies = conn.execute(sa.select(sa.func.count()).select_from(identities).where(
                identities.c.kind == "anonymous_id")).scalar_one()
        assert [(s, m, r) for _, s, m, r in done] == [
            (jo_doe, jo, "alias: jo@acme.example is jo.doe@acme.example"),
            (pat_smith, pat, "alias: crm-42 is pat.smith@beta.example")]
        assert cookies == 0  # a userId named by previousId is no cookie
        undo_merge(engine, done[0][0], now=datetime.now(UTC))  # `mql unmerge`
    finally:
        engine.dispose()
    assert _contact_ids(url)["jo@acme.example"] == (jo, None)
    assert _owner(url, demo["messageId"]) == jo
