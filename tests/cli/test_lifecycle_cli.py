"""The hand-off commands on a real workspace: history, sales actions, worker, outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from mql.cli.main import app
from mql.service.lifecycle import outbox
from mql.service.scoring import sample_inputs
from mql.store import handoff
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


def test_webhooks_are_managed_from_the_cli_with_an_audit_log(tmp_path: Path) -> None:
    from mql.notify.webhooks import verify
    from mql.service.keys import audit_lines
    from tests.notify.receivers import Receiver

    db = f"sqlite:///{tmp_path / 'mql.db'}"
    assert runner.invoke(app, ["init", str(tmp_path), "--db", db]).exit_code == 0
    r = Receiver()
    try:
        added = runner.invoke(app, ["webhooks", "add", r.url, "--secret", "old", "--topics",
                                    "mql.qualified", "--by", "ops", "--db", db])
        assert added.exit_code == 0, added.output
        assert added.stdout.startswith("webhook 1: ")
        table = runner.invoke(app, ["webhooks", "list", "--db", db])
        assert table.exit_code == 0 and "webhooks" in table.stdout

        def listed(*more: str) -> list[dict]:
            out = runner.invoke(app, ["webhooks", "list", "--format", "jsonl", *more,
                                      "--db", db])
            assert out.exit_code == 0, out.output
            return [json.loads(line) for line in out.stdout.splitlines()]

        (hook,) = listed()
        assert (hook["url"], hook["topics"], hook["paused"]) == (r.url, ["mql.qualified"],
                                                                 False)
        assert "secret" not in hook
        updated = runner.invoke(app, ["webhooks", "update", "1", "--topics",
                                      "mql.qualified,lead.assigned", "--db", db])
        assert "mql.qualified, lead.assigned" in updated.stdout
        typo = runner.invoke(app, ["webhooks", "update", "1", "--topics", "lead.asigned",
                                   "--db", db])
        assert typo.exit_code == 2 and "did you mean 'lead.assigned'" in typo.stderr
        assert "paused" in runner.invoke(app, ["webhooks", "pause", "1", "--db", db]).stdout
        assert listed()[0]["paused"] is True
        assert "active" in runner.invoke(app, ["webhooks", "resume", "1", "--db", db]).stdout
        rotated = runner.invoke(app, ["webhooks", "rotate-secret", "1", "--secret", "new",
                                      "--grace-hours", "2", "--db", db])
        assert rotated.exit_code == 0 and "old secret signs too until" in rotated.stdout
        tested = runner.invoke(app, ["webhooks", "test", "1", "--db", db])
        assert tested.exit_code == 0, tested.output
        assert "delivered (200" in tested.stdout
        missing = runner.invoke(app, ["webhooks", "test", "7", "--db", db])
        assert missing.exit_code == 2 and "no webhook 7" in missing.stderr
        removed = runner.invoke(app, ["webhooks", "remove", "1", "--db", db])
        assert removed.exit_code == 0 and "removed" in removed.stdout
        assert listed() == []
        assert listed("--removed")[0]["removed"] is True
    finally:
        r.close()
    (_, headers, body), = r.log
    header = headers["X-MQL-Signature"]
    t = int(header.split(",")[0].removeprefix("t="))
    assert verify("new", header, body, now=t) and verify("old", header, body, now=t)
    assert [a["action"] for a in audit_lines(connect(db)) if a["action"].startswith("webhook")
            ] == ["webhook.add", "webhook.update", "webhook.pause", "webhook.resume",
                  "webhook.rotate_secret", "webhook.test", "webhook.remove"]


def test_outbox_retry_keeps_the_attempt_history(tmp_path: Path) -> None:
    from tests.notify.receivers import closed_port

    db = _workspace(tmp_path)
    url = f"http://127.0.0.1:{closed_port()}/down"
    assert runner.invoke(app, ["webhooks", "add", url, "--secret", "s", "--topics",
                               "account.engaged", "--db", db]).exit_code == 0
    queued_at = datetime.now(UTC)
    with connect(db).begin() as conn:
        handoff.enqueue(conn, "account.engaged", "acme.example", {"contacts": 3}, queued_at)
    env = {"MQL_WEBHOOK_MAX_ATTEMPTS": "1", "MQL_WEBHOOK_DEADLINE_SECONDS": "1"}
    worked = runner.invoke(app, ["worker", "--once", "--db", db], env=env)
    assert worked.exit_code == 0, worked.output
    assert "failed 1" in worked.stdout
    (row,) = outbox(connect(db), "dead")
    assert row["created_at"] == queued_at
    shown = runner.invoke(app, ["outbox", "show", str(row["id"]), "--db", db])
    assert "dead" in shown.stdout and "cannot" in shown.stdout

    def listed(status: str) -> list[dict]:
        out = runner.invoke(app, ["outbox", "list", "--status", status, "-f", "jsonl",
                                  "--db", db])
        return [json.loads(line) for line in out.stdout.splitlines()]

    assert [(d["attempts"], d["next"]) for d in listed("dead")] == [(1, "- (mql outbox retry)")]
    assert "1 deliveries back in line" in runner.invoke(
        app, ["outbox", "retry", str(row["id"]), "--db", db]).stdout
    again = runner.invoke(app, ["outbox", "show", str(row["id"]), "--db", db])
    assert "dead" in again.stdout and "requeued" in again.stdout
    (again_row,) = listed("pending")
    assert (again_row["attempts"], again_row["attempts_total"], again_row["next"]) == (0, 1,
                                                                                     "now")


def test_simulated_runs_deliver_on_real_time_and_refuse_a_past_target(tmp_path: Path) -> None:
    import time
    from datetime import timedelta

    from mql.notify.webhooks import verify
    from tests.notify.receivers import Receiver

    db = f"sqlite:///{tmp_path / 'mql.db'}"
    assert runner.invoke(app, ["init", str(tmp_path), "--db", db]).exit_code == 0
    r = Receiver()
    try:
        assert runner.invoke(app, ["webhooks", "add", r.url, "--secret", "s", "--db", db]
                             ).exit_code == 0
        for kind, path in (("accounts", SAMPLE.accounts), ("contacts", SAMPLE.contacts),
                           ("events", SAMPLE.events)):
            runner.invoke(app, ["ingest", kind, str(path), "--db", db])
        past = runner.invoke(app, ["worker", "--simulate-until", "2020-01-01T00:00:00Z",
                                   "--db", db])
        assert past.exit_code == 2
        assert "is in the past" in " ".join(past.stderr.split())
        until = (datetime.now(UTC) + timedelta(days=60)).isoformat()
        held = runner.invoke(app, ["worker", "--simulate-until", until, "--step-hours", "24",
                                   "--hold-deliveries", "--db", db])
        assert held.exit_code == 0, held.output
        assert r.log == []  # held for a real worker
        queued = outbox(connect(db), "pending")
        assert queued
        assert all(row["available_at"] <= datetime.now(UTC) for row in queued)
        worked = runner.invoke(app, ["worker", "--once", "--db", db])
        assert worked.exit_code == 0, worked.output
        real = int(time.time())
    finally:
        r.close()
    assert len(r.log) == len(queued)
    for _, headers, body in r.log:  # signed with real time, not the simulated one
        assert verify("s", headers["X-MQL-Signature"], body, now=real)
