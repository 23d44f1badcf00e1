"""CRM exports through the bad-input reader (issue 11, "Ingest" and "CRM exports" together):
a mapped export is read with its encoding and delimiter, its header is checked after the
mapping (a lead file keyed by a CRM id has no email column), and the optional fields it
drops are held in quarantine once, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from mql.cli.main import app
from mql.errors import ConfigError
from mql.identity.merge import IdentityRules
from mql.ingest.files import ReadOptions
from mql.service.ingest import ingest_file
from mql.service.scoring import Inputs, load_model_file, score_files
from mql.service.store import find_contact, quarantined

NOW = datetime(2025, 3, 20, tzinfo=UTC)
RULES = IdentityRules()
MODEL = Path(__file__).parents[2] / "src/mql/examples/models/b2b-saas.yaml"
MAPPING = """\
name: mycrm
contacts:
  columns:
    Lead Number: external_id
    Mail: email
    Land: country
    Firma: account.name
    Mitarbeiter: account.employees
    Angelegt: created_at
"""
runner = CliRunner()


def _leads(tmp_path: Path) -> tuple[Path, Path]:
    """A semicolon-separated Latin-1 lead export keyed by lead number (row 3 has no email,
    row 4 an unreadable country and head count, row 5 a bad email and a byte that is
    not Latin-1 text under UTF-8)."""
    mapping = tmp_path / "mycrm.yaml"
    mapping.write_text(MAPPING)
    path = tmp_path / "leads.csv"
    path.write_bytes(
        "Lead Number;Mail;Land;Firma;Mitarbeiter;Angelegt\n"
        "L1;jane@acme.example;Germany;Acme GmbH;5000+;14.03.2025 09:12\n"
        "L2;;Austria;Beta;1,001-5,000;15.03.2025 10:00\n"
        "L3;bob@beta.example;Atlantis;Bêta;lots;16.03.2025 11:00\n"
        "L4;bad@@x.example;Germany;X;1;17.03.2025 12:00\n".encode("latin-1"))
    return path, mapping


def test_a_mapped_latin1_export_lands_with_its_encoding_delimiter_and_crm_ids(
    store: Engine, tmp_path: Path
) -> None:
    path, mapping = _leads(tmp_path)
    summary = ingest_file(store, path, "contacts", rules=RULES, now=NOW, mapping=mapping,
                          options=ReadOptions(encoding="latin-1"))
    # L1, L2 (by its lead number) and L3 (without its country and head count) land
    assert (summary.rows, summary.loaded, summary.quarantined, summary.fields_dropped) == (
        4, 3, 1, 2)
    assert summary.notes == ["read with the delimiter ';'"]
    assert find_contact(store, "crm:L2", rules=RULES).email == "crm:L2"
    held = {(q.row, q.field): q for q in quarantined(store)}
    assert sorted(held) == [(4, "account.employees"), (4, "country"), (5, "email")]
    assert "the row was kept" in held[(4, "country")].reason
    assert "the row was kept" not in held[(5, "email")].reason
    assert held[(4, "country")].subject == "bob@beta.example"


def test_dropped_fields_are_held_once_and_resolved_by_a_corrected_row(
    store: Engine, tmp_path: Path
) -> None:
    path, mapping = _leads(tmp_path)
    options = ReadOptions(encoding="latin-1")
    ingest_file(store, path, "contacts", rules=RULES, now=NOW, mapping=mapping, options=options)
    again = ingest_file(store, path, "contacts", rules=RULES, now=NOW, mapping=mapping,
                        options=options)
    assert (again.fields_dropped, again.quarantined_before, again.resolved) == (2, 1, 0)
    assert len(quarantined(store)) == 3  # nothing added, the kept rows still open
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("Lead Number;Mail;Land;Firma;Mitarbeiter;Angelegt\n"
                     "L3;bob@beta.example;Austria;Beta;120;16.03.2025 11:00\n")
    done = ingest_file(store, fixed, "contacts", rules=RULES, now=NOW, mapping=mapping)
    assert (done.fields_dropped, done.resolved) == (0, 2)
    assert [(q.row, q.field) for q in quarantined(store)] == [(5, "email")]


def test_the_header_is_checked_after_the_mapping_file(tmp_path: Path) -> None:
    _, mapping = _leads(tmp_path)
    path = tmp_path / "no-key.csv"
    path.write_text("Firma;Land\nAcme;Germany\n")
    with pytest.raises(ConfigError) as caught:  # no Mail, no Lead Number: refused, no row
        score_files(load_model_file(MODEL), Inputs(path, None, None, mapping=mapping), at=NOW)
    message = str(caught.value)
    assert "'email'" in message and "'external_id'" in message and "'Firma'" in message


def test_cli_score_reads_a_mapped_latin1_export(tmp_path: Path) -> None:
    path, mapping = _leads(tmp_path)
    result = runner.invoke(app, ["score", "--model", str(MODEL), "--contacts", str(path),
                                 "--mapping", str(mapping), "--encoding", "latin-1",
                                 "--at", "2025-03-20T00:00Z", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert {line.split(",")[0] for line in lines[1:]} == {
        "jane@acme.example", "crm:L2", "bob@beta.example"}
    wrong = runner.invoke(app, ["score", "--model", str(MODEL), "--contacts", str(path),
                                "--mapping", str(mapping), "--at", "2025-03-20T00:00Z"])
    assert wrong.exit_code == 0  # as UTF-8, the row with the byte is reported, not a crash
    assert "0xea" in wrong.stderr and "Traceback" not in wrong.output
