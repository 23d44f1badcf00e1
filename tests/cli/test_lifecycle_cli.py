"""The hand-off commands on a real workspace: history, sales actions, worker, outbox."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mql.cli.main import app
from mql.service.lifecycle import outbox
from mql.service.scoring import sample_inputs
from mql.store.db import connect

runner = CliRunner()
_, SAMPLE = sample_inputs()


def _workspace(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'mql.db'}"
    assert runner.invoke(app, ["init", str(tmp_path), "--db", db]).exit_code == 0
    for kind, path in (("accounts", SAMPLE.accounts), ("contacts", SAMPLE.contacts),
                       ("events", SAMPLE.events)):
        result = runner.invoke(app, ["ingest", kind, str(path), "--db", db])
        assert result.exit_code == 0, result.output
    return db


def test_qualified_leads_have_a_history_and_sales_can_act(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    history = runner.invoke(app, ["history", "jane.doe@acme.example", "--db", db])
    assert history.exit_code == 0
    assert "captured" in history.stdout and "mql" in history.stdout
    accepted = runner.invoke(app, ["accept", "jane.doe@acme.example", "--by", "dana.ross",
                                   "--db", db])
    assert accepted.exit_code == 0
    assert "mql -> sal by dana.ross" in accepted.stdout
    again = runner.invoke(app, ["accept", "jane.doe@acme.example", "--db", db])
    assert again.exit_code == 2
    assert "sal -> sal is not allowed" in " ".join(again.stderr.split())
    refused = runner.invoke(app, ["reject", "olivia@globex.example", "--reason", "meh",
                                  "--db", db])
    assert refused.exit_code == 2
    assert "choose one of wrong_fit" in refused.stderr


def test_webhooks_queue_and_the_worker_reports(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'mql.db'}"
    assert runner.invoke(app, ["init", str(tmp_path), "--db", db]).exit_code == 0
    added = runner.invoke(app, ["webhooks", "add", "http://127.0.0.1:9/hook", "--secret", "s",
                                "--topics", "mql.qualified", "--db", db])
    assert added.exit_code == 0, added.output
    for kind, path in (("accounts", SAMPLE.accounts), ("contacts", SAMPLE.contacts),
                       ("events", SAMPLE.events)):
        runner.invoke(app, ["ingest", kind, str(path), "--db", db])
    assert runner.invoke(app, ["outbox", "list", "--db", db]).exit_code == 0
    rows = outbox(connect(db))
    assert rows
    assert {(r["topic"], r["status"]) for r in rows} == {("mql.qualified", "pending")}
    worked = runner.invoke(app, ["worker", "--once", "--db", db])
    assert worked.exit_code == 0
    assert "retrying" in worked.stdout
