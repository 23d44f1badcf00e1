"""HubSpot deals and Salesforce opportunity exports through the built-in mappings, a
mapping file's opportunities section, and the `mql ingest` / `mql outcomes` commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import Engine

from mql.service import outcomes
from tests.outcomes.helpers import day, ingest, load_contacts, rows, write

DATA = Path(__file__).parent / "data"
# a HubSpot deals export and a Salesforce opportunity report, as the CRMs write them
HUBSPOT = (DATA / "hubspot-deals.csv").read_text()

SALESFORCE = (DATA / "salesforce-opportunities.csv").read_text()


def test_a_hubspot_deals_export_is_detected_and_mapped(store: Engine, tmp_path: Path) -> None:
    people = load_contacts(store, tmp_path, "ann@acme.example", "bob@beta.example")
    summary = ingest(store, write(tmp_path, "deals.csv", HUBSPOT), "opportunities")
    assert (summary.mapping, summary.loaded, summary.quarantined) == ("hubspot", 2, 0)
    won, open_ = rows(store, "opportunities", "external_id")
    assert (won["external_id"], won["stage"], won["status"], won["amount"]) == (
        "9001", "closed_won", "won", 12500.0)
    assert (won["opened_at"], won["closed_at"]) == (day(3, 1, 10), day(4, 10, 12))
    assert won["primary_contact_id"] == people["ann@acme.example"]
    assert won["attributes"] == {"pipeline": "default", "owner": "Sam"}
    # an open deal's close date is a forecast, not a close
    assert (open_["stage"], open_["status"], open_["closed_at"]) == (
        "presentation_scheduled", "open", None)
    assert open_["attributes"]["expected_close_at"] == "2025-06-30T00:00:00+00:00"
    assert open_["as_of"] == day(3, 20)


def test_a_salesforce_report_is_detected_and_its_won_and_closed_flags_decide(
        store: Engine, tmp_path: Path) -> None:
    summary = ingest(store, write(tmp_path, "opps.csv", SALESFORCE), "opportunities")
    assert (summary.mapping, summary.loaded) == ("salesforce", 2)
    lost, proposal = rows(store, "opportunities", "external_id")
    assert (lost["status"], lost["stage"], lost["closed_at"], lost["lead_source"]) == (
        "lost", "closed_lost", day(4, 30), "Web")
    assert (proposal["status"], proposal["stage"]) == ("open", "proposal_price_quote")
    assert proposal["attributes"]["company"] == "Beta Inc"


def test_a_mapping_file_can_name_the_columns_of_opportunities(store: Engine,
                                                              tmp_path: Path) -> None:
    mapping = write(tmp_path, "pipedrive.yaml", """
name: pipedrive
opportunities:
  columns:
    Deal - ID: opportunity_id
    Deal - Title: name
    Deal - Deal created: created_at
    Deal - Stage: stage
    Deal - Value: amount
  values:
    stage:
      Won: closed_won
""")
    path = write(tmp_path, "deals.csv", "Deal - ID,Deal - Title,Deal - Deal created,"
                 "Deal - Stage,Deal - Value\n17,Globex,2025-03-01,Won,900\n")
    ingest(store, path, "opportunities", mapping=str(mapping))
    [opp] = rows(store, "opportunities")
    assert (opp["external_id"], opp["name"], opp["stage"], opp["status"], opp["amount"]) == (
        "17", "Globex", "closed_won", "won", 900.0)


def _mql(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mql", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "NO_COLOR": "1"})


def test_the_commands_load_show_and_refuse_without_a_traceback(tmp_path: Path) -> None:
    assert _mql("init", ".", cwd=tmp_path).returncode == 0
    path = write(tmp_path, "deals.csv", HUBSPOT)
    done = _mql("ingest", "opportunities", "deals.csv", "--strict", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "opportunities from deals.csv (mapping hubspot)" in done.stdout
    shown = _mql("outcomes", "show", "9001", cwd=tmp_path)
    assert "9001 (Acme - platform): won (closed_won), 12,500" in shown.stdout
    missing = _mql("outcomes", "show", "nope", cwd=tmp_path)
    assert (missing.returncode, missing.stderr.strip()) == (
        2, "error: no opportunity 'nope' in the store")
    bad = write(tmp_path, "bad.csv", "opportunity_id,created_at\nx,never\n")
    strict = _mql("ingest", "opportunities", str(bad), "--strict", cwd=tmp_path)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    header = _mql("ingest", "costs", str(path), cwd=tmp_path)
    assert header.returncode == 2 and "none of the columns 'month', 'date'" in header.stderr
    assert "Traceback" not in header.stderr
    wrong = _mql("outcomes", "dispose", "ann@acme.example", "--status", "lost", cwd=tmp_path)
    assert wrong.returncode == 2 and "choose one of accepted" in wrong.stderr


def test_link_all_on_an_empty_store_links_nothing(store: Engine) -> None:
    assert outcomes.link_all(store, now=day(4, 1)) == 0
