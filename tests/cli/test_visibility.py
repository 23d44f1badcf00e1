"""What the command line shows is whole: no silent truncation, keys never cut, reasons in
words, a stored contact with its stage, owner, SLA and explanation, and score and rescore
writing the same columns."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mql.cli.main import app
from mql.service.scoring import sample_inputs

runner = CliRunner()
MODEL, SAMPLE = sample_inputs()
AT = "2026-11-19T08:24Z"
LONG = "margaret.hamilton-wellington@northwind-traders.example"  # 54 characters


def _files() -> list[str]:
    return ["--model", str(MODEL), "--contacts", str(SAMPLE.contacts),
            "--accounts", str(SAMPLE.accounts), "--events", str(SAMPLE.events)]


def mql(*args: str, columns: int | None = None, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    environment.update(env or {})
    if columns is not None:
        environment["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "mql", *args], capture_output=True, text=True,
                          timeout=180, cwd=cwd, env=environment, check=False)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with the sample plus 60 more contacts, one with a 54-character email."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MQL_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["init"]).exit_code == 0
    extra = tmp_path / "more.csv"
    extra.write_text("email,title,country\n" + f"{LONG},VP Sales,US\n" + "".join(
        f"person{i}@company{i}.example,Analyst,DE\n" for i in range(59)), encoding="utf-8")
    for kind, path in (("accounts", SAMPLE.accounts), ("contacts", SAMPLE.contacts),
                       ("events", SAMPLE.events), ("contacts", extra)):
        result = runner.invoke(app, ["ingest", kind, str(path)])
        assert result.exit_code == 0, result.output
    return tmp_path


def test_scores_as_csv_emits_every_row_and_the_table_says_what_it_left_out(
        workspace: Path) -> None:
    result = runner.invoke(app, ["scores", "--at", AT, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 22 + 60  # the old default stopped at 50
    assert LONG in {r["contact"] for r in rows}
    table = runner.invoke(app, ["scores", "--at", AT])
    assert "82 contacts" in table.stdout and "the first 50 shown" in table.stdout


def test_a_long_email_is_never_cut_and_numbers_never_elided(workspace: Path) -> None:
    wide = mql("scores", "--at", AT, "--limit", "100", columns=200, cwd=workspace)
    assert wide.returncode == 0, wide.stderr
    assert LONG in wide.stdout  # cut at 30 characters before
    narrow = mql("scores", "--at", AT, "--limit", "100", columns=60, cwd=workspace)
    assert narrow.returncode == 0, narrow.stderr
    assert "…" not in narrow.stdout
    # folded, every character is still there, in order: the first cell of the lines from
    # the one that starts the email on
    lines = narrow.stdout.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.split() and line.split()[0].startswith("margaret"))
    folded = ""
    for line in lines[start:]:
        folded += line.split()[0]
        if len(folded) >= len(LONG):
            break
    assert folded == LONG


def test_stderr_is_not_hard_wrapped_when_redirected() -> None:
    result = mql("score", *_files(), "--at", AT, columns=None)
    line = next(x for x in result.stderr.splitlines() if "events.csv:2 timestamp" in x)
    assert len(line) > 80 and line.endswith("give --date-format for another form)")


def test_the_sales_queue_says_why_in_words() -> None:
    result = runner.invoke(app, ["score", *_files(), "--at", AT, "--limit", "3"])
    text = " ".join(result.stdout.split())
    assert "fit 95 ≥ 50 and intent 100 ≥ 30" in text
    assert "demo request 21 hours ago" in text
    assert "thresholds #1 (+2)" not in text


def test_score_and_rescore_write_the_same_columns_booleans_and_precision(
        tmp_path: Path) -> None:
    scored = runner.invoke(app, ["score", *_files(), "--at", AT, "--format", "csv"])
    out = tmp_path / "scores.csv"
    rescored = runner.invoke(app, ["rescore", *_files(), "--as-of", AT, "--out", str(out)])
    assert scored.exit_code == 0 and rescored.exit_code == 0, rescored.output
    batch = list(csv.DictReader(io.StringIO(out.read_text())))
    stream = {r["contact"]: r for r in csv.DictReader(io.StringIO(scored.stdout))}
    columns = list(batch[0])
    assert list(next(iter(stream.values())))[:len(columns)] == columns
    for row in batch:
        mine = stream[row["contact"]]
        assert mine["mql"] == row["mql"] and mine["mql"] in ("true", "false")
        for name in ("fit", "intent", "security_intent", "total"):
            # not rounded to 6 places as before: equal to the last bits
            assert float(mine[name]) == pytest.approx(float(row[name]), rel=1e-12, abs=1e-12)
        assert set(mine["reasons"].split("; ")) == set(row["reasons"].split("; "))


def test_keys_create_says_what_to_pass(workspace: Path) -> None:
    env = {"MQL_SECRET_KEY": "0123456789abcdef0123456789abcdef"}
    token = runner.invoke(app, ["keys", "create", "x", "--kind", "token"], env=env)
    assert token.exit_code == 2
    text = " ".join(token.output.split())
    assert "role None" not in text
    assert "a token needs a role: one of admin, marketing, sales, read-only" in text
    write = runner.invoke(app, ["keys", "create", "y", "--role", "sales"], env=env)
    assert write.exit_code == 2
    assert "--kind token --role sales" in " ".join(write.output.split())
    listed = runner.invoke(app, ["keys", "list", "--json"], env=env)
    assert listed.stdout.strip() == ""  # no write key was made silently


def test_contact_shows_stage_owner_sla_and_why_a_qualifying_lead_is_not_an_mql(
        workspace: Path) -> None:
    shown = runner.invoke(app, ["contact", "jane.doe@acme.example"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.replace("│", " ").split())
    for row in ("stage mql", "owner dana.ross", "team", "SLA default: first touch due",
                "MQL yes: fit 95 ≥ 50", "score contributions", "events counted"):
        assert row in text, row
    rejected = runner.invoke(app, ["reject", "jane.doe@acme.example", "--reason", "bad_timing"])
    assert rejected.exit_code == 0, rejected.output
    again = runner.invoke(app, ["contact", "jane.doe@acme.example"]).stdout
    text = " ".join(again.replace("│", " ").split())
    assert "stage recycled" in text and "MQL yes" not in text
    # under `requalify: fresh_intent` the rejection resets intent: the scores no longer
    # qualify, and the card says why the lead sits where it is
    assert "MQL no — the lead is recycled since" in text and "bad_timing" in text


def test_score_warns_about_event_types_the_model_never_counts() -> None:
    result = runner.invoke(app, ["score", *_files(), "--at", AT])
    text = " ".join(result.stderr.split())
    assert "3 events of types no rule of the model counts: email_open (1)" in text


def test_a_world_scored_long_after_its_last_event_gets_a_hint_about_at() -> None:
    result = runner.invoke(app, ["score", *_files(), "--at", "2030-01-01T00:00Z"])
    text = " ".join(result.stderr.split())
    assert "0 MQL" in text
    assert "hint: 0 MQLs, and the newest event is" in text and "pass --at 2026-11-19" in text


def test_the_worker_says_what_it_does(workspace: Path) -> None:
    result = runner.invoke(app, ["worker", "--simulate-until", "2027-06-01T00:00Z",
                                 "--step-hours", "48"])
    assert result.exit_code == 0, result.output
    passes = [line for line in result.stderr.splitlines() if " UTC: " in line]
    assert passes, result.stderr  # the exit rule and the SLA fire in that time
    assert any("transitions" in line and "SLA breaches" in line for line in passes)
    assert "transitions" in result.stdout  # the total
