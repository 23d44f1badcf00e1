"""`mql ingest consent FILE` on a real store (SQLite and PostgreSQL): every good row
lands once (loading again stores nothing), a bad value costs its own row only,
quarantined with file, row and field; the synthetic world's consent.csv loads whole."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from mql.cli.main import app
from mql.service.consent import ingest_consent
from mql.service.ingest import ingest_file
from mql.service.synth import write_world
from mql.store import quarantine as quarantine_store
from mql.store.tables import audit_log, consent
from tests.compliance.helpers import NOW, RULES, load, person

GOOD_AND_BAD = """email,channel,status,basis,at,form_id,ip
jane@acme.example,email,granted,express_consent,2026-03-01T09:00:00Z,webinar-7,203.0.113.9
jane@acme.example,phone,maybe,consent,2026-03-01T09:00:00Z,,
jane@acme.example,email,withdrawn,,not a date,,
nobody@acme.example,email,granted,consent,2026-03-01T09:00:00Z,,
jane@acme.example,fax,granted,consent,2026-03-01T09:00:00Z,,
jane@acme.example,Phone,Unsubscribed,,2026-03-02,,
"""


def _rows(store: Engine) -> list[tuple]:
    with store.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(
            consent.c.channel, consent.c.status, consent.c.basis, consent.c.evidence)
            .order_by(consent.c.id))]


def test_good_rows_land_once_and_each_bad_row_is_quarantined_with_its_field(
        store: Engine, tmp_path: Path) -> None:
    load(store, person("jane@acme.example", "US"))
    path = tmp_path / "consent.csv"
    path.write_text(GOOD_AND_BAD)
    summary = ingest_consent(store, path, rules=RULES, now=NOW)
    assert (summary.rows, summary.loaded, summary.quarantined) == (6, 2, 4)
    assert _rows(store) == [
        ("email", "granted", "consent", {"form_id": "webinar-7", "ip": "203.0.113.9"}),
        ("phone", "withdrawn", "none", None)]
    with store.connect() as conn:
        held = quarantine_store.listing(conn)
    found = sorted((q.row, q.field) for q in held)
    assert found == [(3, "status"), (4, "at"), (5, "email"), (6, "channel")]
    assert all(q.source == str(path) for q in held)
    again = ingest_consent(store, path, rules=RULES, now=NOW)
    assert (again.loaded, again.duplicates, again.quarantined_before) == (0, 2, 4)
    assert len(_rows(store)) == 2
    with store.connect() as conn:
        changes = conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == "consent.change")).scalar_one()
    assert changes == 2  # every change audited once


def test_the_synthetic_world_s_consent_file_loads_whole(store: Engine, tmp_path: Path
                                                        ) -> None:
    world = write_world(tmp_path / "w", accounts=8, months=2, seed=5)
    rows = world.rows["consent.csv"]
    assert rows > 0
    for kind in ("accounts", "contacts"):
        ingest_file(store, tmp_path / "w" / f"{kind}.csv", kind, rules=RULES, now=NOW)
    summary = ingest_consent(store, tmp_path / "w" / "consent.csv", rules=RULES, now=NOW)
    # the contacts file may merge duplicate people, whose records then share a contact;
    # every record of the world lands (none quarantined)
    assert summary.quarantined == 0
    assert summary.loaded + summary.duplicates == rows
    assert len(_rows(store)) == summary.loaded


def test_the_cli_ingests_consent_and_shows_a_lead(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'w.db'}"
    assert runner.invoke(app, ["init", str(tmp_path), "--db", db]).exit_code == 0
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("email,country\njane@acme.example,DE\n")
    assert runner.invoke(app, ["ingest", "contacts", str(contacts), "--db", db]).exit_code == 0
    path = tmp_path / "consent.csv"
    path.write_text(GOOD_AND_BAD)
    result = runner.invoke(app, ["ingest", "consent", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    assert "quarantined" in result.output
    shown = runner.invoke(app, ["consent", "show", "jane@acme.example", "--db", db,
                                "--at", "2026-03-05"])
    assert shown.exit_code == 0, shown.output
    assert "(gdpr)" in shown.output and "may be handed off" in shown.output
    bad = runner.invoke(app, ["consent", "show", "nobody@acme.example", "--db", db])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
