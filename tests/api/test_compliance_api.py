"""POST /v1/consent, GET /v1/leads/{lead}/consent, DELETE /v1/contacts/{id} and the
export, on a real server: the same rules as the CLI, by role."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mql.identity.merge import IdentityRules
from mql.service import ingest as ingest_service
from mql.store.db import connect
from mql.store.tables import contacts
from tests.api.conftest import T0, Server


@pytest.fixture(scope="module")
def cara(server: Server, tmp_path_factory: pytest.TempPathFactory) -> int:
    path = tmp_path_factory.mktemp("cara") / "people.csv"
    path.write_text("email,country\ncara@initech.example,FR\n")
    engine = connect(server.database_url)
    ingest_service.ingest_file(engine, Path(path), "contacts", rules=IdentityRules(), now=T0)
    with engine.connect() as conn:
        cid = conn.execute(sa.select(contacts.c.id).where(
            contacts.c.email == "cara@initech.example")).scalar_one()
    engine.dispose()
    return int(cid)


def test_consent_posted_twice_is_stored_once_and_the_lead_says_why_not(
        server: Server, cara: int) -> None:
    change = {"email": "cara@initech.example", "status": "granted", "channel": "phone",
              "basis": "legitimate_interest", "at": "2025-03-01T00:00:00Z",
              "evidence": {"form_id": "f-1"}}
    with server.client("marketing") as c:
        first = c.post("/v1/consent", json={"changes": [change]})
        assert first.status_code == 200, first.text
        assert first.json() == {"stored": 1}
        assert c.post("/v1/consent", json={"changes": [change]}).json() == {"stored": 0}
        bad = c.post("/v1/consent", json={"changes": [{**change, "channel": "fax"}]})
        assert bad.status_code == 422 and "channel" in bad.text
        unknown = c.post("/v1/consent", json={"changes": [{**change, "email": "x@y.example"}]})
        assert unknown.status_code == 404
    with server.client("read-only") as c:
        view = c.get("/v1/leads/cara@initech.example/consent").json()
        assert view["jurisdiction"] == "gdpr"
        assert view["may_contact"]["phone"] is True and view["may_contact"]["email"] is False
        assert view["channels"]["email"]["why"] == ("no email consent on record (gdpr needs "
                                                    "consent)")
        assert view["records"][0]["evidence"] == {"form_id": "f-1"}
        assert c.post("/v1/consent", json={"changes": [change]}).status_code == 403


def test_only_an_admin_erases_and_exports_and_erasing_twice_changes_nothing(
        server: Server, cara: int) -> None:
    with server.client("marketing") as c:
        assert c.delete(f"/v1/contacts/{cara}").status_code == 403
    with server.client("admin") as c:
        exported = c.get(f"/v1/contacts/{cara}/export")
        assert exported.status_code == 200
        assert exported.json()["tables"]["contacts"][0]["email"] == "cara@initech.example"
        done = c.delete(f"/v1/contacts/{cara}")
        assert done.status_code == 200 and done.json()["erased"] is True
        assert c.delete(f"/v1/contacts/{cara}").status_code == 404  # no such contact now
        assert c.get(f"/v1/contacts/{cara}/export").status_code == 404


def test_a_lead_says_may_contact_per_channel_and_why_it_would_be_held(
        server: Server, tmp_path: Path) -> None:
    path = tmp_path / "dora.csv"
    path.write_text("email,country\ndora@initech.example,FR\n")
    engine = connect(server.database_url)
    ingest_service.ingest_file(engine, path, "contacts", rules=IdentityRules(), now=T0)
    with engine.connect() as conn:
        cid = conn.execute(sa.select(contacts.c.id).where(
            contacts.c.email == "dora@initech.example")).scalar_one()
    engine.dispose()
    with server.client("read-only") as c:
        lead = c.get(f"/v1/leads/{cid}")
        assert lead.status_code == 200, lead.text
        compliance = lead.json()["compliance"]
    # the same verdict GET /v1/leads/{lead}/consent gives (one gate, two faces)
    assert compliance == {
        "consent": {}, "jurisdiction": "gdpr", "held": False,
        "may_contact": {"email": False, "phone": False, "sms": False, "ads": False,
                        "sales": False},
        "hold_reason": "no hand-off channel is permitted: email: no email consent on "
                       "record (gdpr needs consent); phone: no phone consent on record "
                       "(gdpr needs consent or legitimate_interest)"}
