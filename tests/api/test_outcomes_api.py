"""POST /v1/opportunities, /v1/costs, /v1/dispositions and the reads, on a real server:
the same rows as the files, the same rules, by role."""

from __future__ import annotations

from pathlib import Path

import pytest

from mql.identity.merge import IdentityRules
from mql.service import ingest as ingest_service
from mql.store.db import connect
from tests.api.conftest import T0, Server


@pytest.fixture(scope="module")
def people(server: Server, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("people") / "people.csv"
    path.write_text("email\nann@acme.example\n")
    engine = connect(server.database_url)
    ingest_service.ingest_file(engine, Path(path), "contacts", rules=IdentityRules(), now=T0)
    engine.dispose()


def test_an_opportunity_posted_twice_is_stored_once_and_read_back_with_history(
        server: Server, people: None) -> None:
    body = {"opportunity_id": "api-1", "created_at": "2025-03-01T00:00:00Z",
            "stage": "discovery", "amount": 1000, "primary_contact": "ann@acme.example"}
    with server.client("marketing") as c:
        first = c.post("/v1/opportunities", json=body)
        assert first.status_code == 200, first.text
        assert c.post("/v1/opportunities", json=body).json() == first.json()
        later = c.post("/v1/opportunities", json={**body, "stage": "Closed Won",
                                                  "updated_at": "2025-03-20T00:00:00Z"})
        assert later.json()["status"] == "won"
    with server.client("read-only") as c:
        found = c.get("/v1/opportunities/api-1").json()
        assert [(h["stage"], h["status"]) for h in found["history"]] == [
            ("discovery", "open"), ("closed_won", "won")]
        assert found["contacts"][0]["email"] == "ann@acme.example"
        assert found["contacts"][0]["is_primary"] is True
        assert c.get("/v1/opportunities/nope").status_code == 404


def test_a_bad_value_is_a_422_naming_the_field_and_roles_are_checked(server: Server) -> None:
    with server.client("marketing") as c:
        bad = c.post("/v1/opportunities", json={"opportunity_id": "x", "created_at": "soon"})
        assert bad.status_code == 422 and "created_at" in bad.text
    with server.client("read-only") as c:
        denied = c.post("/v1/opportunities", json={"opportunity_id": "x",
                                                    "created_at": "2025-03-01"})
        assert denied.status_code == 403
    with server.client("writer") as c:  # a write key sends events only
        assert c.post("/v1/costs", json=[]).status_code in (401, 403)


def test_costs_are_totals_and_posting_them_again_changes_nothing(server: Server) -> None:
    rows = [{"month": "2025-01", "channel": "paid_search", "spend": 100},
            {"month": "2025-01", "channel": "paid_search", "spend": 50},
            {"month": "2025-01", "channel": "events", "spend": 70}]
    with server.client("admin") as c:
        assert c.post("/v1/costs", json=rows).json() == {"changed": 2, "unchanged": 0}
        assert c.post("/v1/costs", json=rows).json() == {"changed": 0, "unchanged": 2}
        bad = c.post("/v1/costs", json=[*rows, {"month": "2025-01", "channel": "x"}])
        assert bad.status_code == 422 and "body:4" in bad.text


def test_a_disposition_with_a_reason_lands_in_the_ledger(server: Server, people: None) -> None:
    with server.client("sales") as c:
        done = c.post("/v1/dispositions", json={"email": "ann@acme.example",
                                                "status": "no_response",
                                                "reason": "no_response",
                                                "at": "2025-04-01T00:00:00Z"})
        assert done.status_code == 200, done.text
        assert done.json()["stored"] == 1
        wrong = c.post("/v1/dispositions", json={"email": "ann@acme.example",
                                                 "status": "rejected", "reason": "meh"})
        assert wrong.status_code == 400 and "wrong_fit" in wrong.text
        unknown = c.post("/v1/dispositions", json={"email": "zoe@x.example",
                                                   "status": "rejected"})
        assert unknown.status_code == 404
    with server.client("read-only") as c:
        ledger = c.get("/v1/dispositions", params={"email": "ann@acme.example"}).json()
        assert [(d["status"], d["reason"]) for d in ledger] == [("no_response", "no_response")]
