"""The account faces on a real store (SQLite and PostgreSQL): `mql accounts list|show`,
`GET /v1/accounts` and `/v1/accounts/{domain}` answer the same numbers as the streaming
`AccountBook` over the same records and events, filter by tier, coverage and score, and a
bad request costs an error message, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from mql.accounts.score import score_accounts
from mql.api.app import create_app
from mql.cli.main import app
from mql.clock import FixedClock
from mql.errors import ConfigError, NotFound
from mql.identity.merge import IdentityRules
from mql.model.parse import parse_model
from mql.records import Account
from mql.service import accounts as service
from mql.service.ingest import ingest_records
from mql.service.keys import create_key
from mql.service.store import activate_model
from tests.accounts.test_account_score import MODEL, T0, events, people
from tests.api.conftest import SECRET, running, settings_for

ACME = Account("acme.example", {"employees": 1500, "owner": "rep@vendor.example",
                                "abm_tier": "1:few"})
SMALL = Account("small.example", {"employees": 20, "abm_tier": "1:many"})


@pytest.fixture
def loaded(store: Engine, tmp_path: Path) -> Engine:
    model = tmp_path / "acct.yaml"
    model.write_text(MODEL)
    activate_model(store, model, now=T0)
    rules = IdentityRules()
    ingest_records(store, "accounts", [ACME, SMALL], rules=rules, now=T0, source="test")
    ingest_records(store, "contacts", people(), rules=rules, now=T0, source="test")
    ingest_records(store, "events", events(), rules=rules, now=T0, source="test")
    return store


def test_the_store_answers_what_streaming_answers(loaded: Engine) -> None:
    model = parse_model(MODEL, source="acct.yaml")
    later = T0.replace(day=9)
    for at in (T0, later):
        want = score_accounts(model, people(), [ACME, SMALL], events(), at=at)["acme.example"]
        got = service.show_account(loaded, "ACME.example", at=at)
        assert got.total == pytest.approx(want.total, rel=1e-12)
        assert [(x.contact, x.role) for x in got.ledger] == [
            (x.contact, x.role) for x in want.ledger]
        assert [x.counted for x in got.ledger] == pytest.approx(
            [x.counted for x in want.ledger], rel=1e-12)
        assert got.below_at == want.below_at and got.coverage == want.coverage
    # the list: acme first (tier 1:1 from the target list beats its abm_tier field)
    listed = service.list_accounts(loaded, at=T0)
    assert [s.domain for s in listed] == ["acme.example", "small.example"]
    assert listed[0].tier == "1:1" and listed[1].tier == "1:many"
    assert [s.domain for s in service.list_accounts(loaded, at=T0, tier="1:many")] == [
        "small.example"]
    assert service.list_accounts(loaded, at=T0, min_score=1000) == []
    assert [s.domain for s in service.list_accounts(loaded, at=T0, coverage="incomplete")
            ] == ["acme.example", "small.example"]
    assert service.list_accounts(loaded, at=T0, coverage="complete") == []
    with pytest.raises(NotFound, match="web domain"):
        service.show_account(loaded, "nowhere.example", at=T0)
    with pytest.raises(ConfigError, match="coverage must be one of"):
        service.list_accounts(loaded, at=T0, coverage="full")


def test_cli_and_api_show_the_ledger_coverage_and_missing_roles(loaded: Engine,
                                                                 store_url: str) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["accounts", "show", "acme.example", "--db", store_url,
                                "--at", T0.isoformat()])
    assert shown.exit_code == 0, shown.output
    assert "acme.example: total 124 (line 50) = fit 20 + intent 104, tier 1:1, owner " \
        "rep@vendor.example" in shown.output
    assert "next: no economic buyer engaged (CFO is known but silent)" in shown.output
    listed = runner.invoke(app, ["accounts", "list", "--db", store_url, "--at",
                                 T0.isoformat(), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["domain"] for r in rows] == ["acme.example", "small.example"]
    bad = runner.invoke(app, ["accounts", "show", "nowhere.example", "--db", store_url])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    token = create_key(loaded, kind="token", name="reader", role="read-only", team=None,
                       server_secret=SECRET, actor="test", now=T0).secret

    api = create_app(settings_for(store_url), clock=FixedClock(T0))
    with running(api) as base, httpx.Client(base_url=base, headers={
            "Authorization": f"Bearer {token}"}) as c:
        one = c.get("/v1/accounts/acme.example")
        page = c.get("/v1/accounts", params={"tier": "1:1", "coverage": "incomplete"})
        wrong = c.get("/v1/accounts", params={"coverage": "full"})
        missing = c.get("/v1/accounts/nowhere.example")
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["score"]["domain"] == "acme.example" and body["score"]["tier"] == "1:1"
    assert body["score"]["coverage"]["missing"] == []
    assert {x["role"] for x in body["score"]["ledger"] if x["contact"]} >= {
        "decision_maker", "champion", "economic_buyer", "technical_evaluator", "user"}
    assert [s["domain"] for s in page.json()["items"]] == ["acme.example"]
    assert wrong.status_code == 422 and missing.status_code == 404
