"""The command line as a user meets it: exit codes, errors on stderr, outputs on stdout."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from mql.cli.main import app
from mql.service.scoring import sample_inputs

runner = CliRunner()
MODEL, SAMPLE = sample_inputs()
AT = "2026-11-19T08:24Z"


def _files() -> list[str]:
    return ["--model", str(MODEL), "--contacts", str(SAMPLE.contacts),
            "--accounts", str(SAMPLE.accounts), "--events", str(SAMPLE.events), "--at", AT]


def test_validate_accepts_the_example_model() -> None:
    result = runner.invoke(app, ["validate", str(MODEL)])
    assert result.exit_code == 0
    assert "ok" in result.stdout and "26 rules" in result.stdout.replace("\n", " ")


def test_validate_reports_every_problem_with_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "model.yaml"
    bad.write_text(MODEL.read_text().replace("event: demo_request\n      points: 40",
                                             "event: demo_requestt\n      points: 40")
                   .replace("field: account.industry", "field: account.industy", 1))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert 'intent.rules[0].event: unknown event "demo_requestt" (did you mean "demo_request"?)' \
        in text
    assert 'unknown account field "industy" (did you mean "industry"?)' in text
    assert text.endswith("2 errors")


def test_validate_names_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "no such model file" in result.stderr


def test_score_as_csv_lists_mqls_first_with_their_reasons() -> None:
    result = runner.invoke(app, ["score", *_files(), "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 22
    assert rows[0]["contact"] == "jane.doe@acme.example"
    assert rows[0]["mql"] == "true" and rows[0]["grade"] == "A1"
    mqls = [r["mql"] == "true" for r in rows]
    assert mqls == sorted(mqls, reverse=True)
    spy = next(r for r in rows if r["contact"] == "spy@rivalsoft.example")
    assert spy["mql"] == "false"


def test_bad_rows_are_reported_by_file_and_row_and_the_rest_is_scored() -> None:
    result = runner.invoke(app, ["score", *_files()])
    assert result.exit_code == 0
    err = " ".join(result.stderr.split())
    assert "events.csv:2 timestamp: cannot read '18 Nov 10:00' as a time" in err
    assert "events.csv:88 email: 'not-an-email' is not an email address" in err
    assert "22 contacts scored, 10 MQL" in err


def test_score_as_jsonl_carries_every_score_and_the_exit_time() -> None:
    result = runner.invoke(app, ["score", *_files(), "--format", "jsonl", "--mql-only"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 10
    assert all(r["mql"] for r in rows)
    assert set(rows[0]) >= {"fit", "intent", "security_intent", "total", "exit_at", "reasons"}


def test_explain_prints_the_ledger_and_what_would_change() -> None:
    result = runner.invoke(app, ["explain", "Jane.Doe@acme.example", *_files()])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "grade A1" in out
    assert "pricing_page" in out and "cap 30" in out
    assert "what would change it" in out


def test_explain_an_unknown_contact_is_a_clear_error() -> None:
    result = runner.invoke(app, ["explain", "nobody@nowhere.example", *_files()])
    assert result.exit_code == 2
    assert "no contact 'nobody@nowhere.example'" in result.stderr


def test_demo_runs_on_the_bundled_sample() -> None:
    result = runner.invoke(app, ["demo", "--sample", "--top", "3"])
    assert result.exit_code == 0
    assert "jane.doe@acme.example" in result.stdout
    assert "what would change it" in result.stdout


def test_the_end_to_end_demo_reports_the_whole_hand_off(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--accounts", "40", "--months", "2", "--out",
                                 str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for part in ("transitions per month", "routing split", "Sales queue", "sla by team",
                 "funnel by month", "health by segment", "cost by channel", "cost per mql"):
        assert part in text
    # it ends with the funnel against the health band and the cost per MQL
    assert text.index("funnel by month") < text.index("health by segment") < text.index(
        "cost by channel")
    assert (tmp_path / "ws" / ".mql" / "mql.db").exists()
