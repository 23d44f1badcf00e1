"""The nurture report and export through their faces: `mql report nurture`, `GET
/v1/reports/nurture` (a real server on 127.0.0.1) and `mql nurture export` answer from
the one service computation; a user's mistake is a message, never a traceback."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from mql.cli.main import app
from mql.identity.merge import IdentityRules
from mql.records import Account, Contact
from mql.service import lifecycle
from mql.service.ingest import ingest_records
from mql.service.nurture import nurture_report
from mql.store.db import connect
from tests.api.conftest import T0, Server

ACME = Account("acme.example", {"employees": 300, "industry": "software", "country": "US",
                                "region": "NA"})
PEOPLE = [Contact(f"p{i}@acme.example", "acme.example",
                  {"title": "VP Marketing", "seniority": "vp", "country": "US",
                   "first_name": f"P{i}"}) for i in range(3)]


@pytest.fixture(scope="module")
def loaded(server: Server) -> Server:
    engine = connect(server.database_url)
    rules = IdentityRules()
    try:
        ingest_records(engine, "accounts", [ACME], rules=rules, now=T0, source="test")
        ingest_records(engine, "contacts", PEOPLE, rules=rules, now=T0, source="test")
        lifecycle.run_due(engine, now=T0 + timedelta(days=30))  # the worker, on time
    finally:
        engine.dispose()
    return server


def test_the_cli_and_the_api_show_the_same_report(loaded: Server) -> None:
    server = loaded
    engine = connect(server.database_url)
    at = T0 + timedelta(days=30)
    try:
        expected = nurture_report(engine, at=at).to_json()
    finally:
        engine.dispose()
    warm = next(r for r in expected["rows"] if r["track"] == "good_fit_warming")
    # three good fits entered at T0, none touched: out 14 days later, no engagement
    assert (warm["enrolled"], warm["active"], warm["exit_no_engagement"],
            warm["median_days"]) == (3, 0, 3, 14.0)
    with server.client("read-only") as c:
        answer = c.get("/v1/reports/nurture", params={"at": at.isoformat()})
        bad = c.get("/v1/reports/nurture", params={"at": "soon"})
        huge = c.get("/v1/reports/nurture", params={"within": "1.7976931348623157e+308"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected
    assert bad.status_code == 400 and "at" in bad.json()["detail"]
    # a window past ten years is refused, never a 500 (timedelta overflowed)
    assert huge.status_code == 422 and huge.json()["code"] == "invalid_request", huge.text
    runner = CliRunner()
    shown = runner.invoke(app, ["report", "nurture", "--db", server.database_url, "--at",
                                at.isoformat(), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == expected
    table = runner.invoke(app, ["report", "nurture", "--db", server.database_url, "--at",
                                at.isoformat()])
    assert "good_fit_warming" in table.output and "14.0" in table.output
    long = runner.invoke(app, ["report", "nurture", "--db", server.database_url,
                               "--within", "1e308"])
    assert long.exit_code == 2 and "at most 3650" in long.stderr, long.output


def test_the_export_lists_a_tracks_contacts_as_of_a_moment(loaded: Server) -> None:
    server = loaded
    runner = CliRunner()
    url = server.database_url
    on = runner.invoke(app, ["nurture", "export", "good_fit_warming", "--db", url, "--at",
                             (T0 + timedelta(days=1)).isoformat()])
    assert on.exit_code == 0, on.output
    rows = list(csv.DictReader(io.StringIO(on.output)))
    assert [r["email"] for r in rows] == [p.email for p in PEOPLE]
    assert rows[0]["reason"] == "matches good_fit_warming"
    assert "email" in rows[0]["permitted_channels"].split(";")
    gone = runner.invoke(app, ["nurture", "export", "good_fit_warming", "--db", url, "--at",
                               (T0 + timedelta(days=20)).isoformat(), "--format", "json"])
    assert json.loads(gone.output) == []
    unknown = runner.invoke(app, ["nurture", "export", "silver", "--db", url])
    assert unknown.exit_code == 2
    assert "no nurture track 'silver'; tracks are recycled_followup" in unknown.output
    assert "Traceback" not in unknown.output
