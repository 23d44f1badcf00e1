"""`mql test MODEL`: a model file that tests itself, with make-style exit codes."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mql.cli.main import app
from mql.service import model_tests, scoring

runner = CliRunner()
MODELS = Path(str(files("mql").joinpath("examples/models")))
EXAMPLES = sorted(p for p in MODELS.glob("*.yaml") if not p.name.endswith(".tests.yaml"))
B2B = MODELS / "b2b-saas.yaml"

TINY = """\
name: tiny
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  decay: {half_life_days: 10}
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {total: 45}
"""

TINY_TESTS = """\
tests:
  - name: demo_from_the_us
    at: 2026-03-11T00:00:00Z
    contacts: [{email: jane@acme.example, country: US}]
    events: [{type: demo_request, timestamp: 2026-03-01T00:00:00Z, email: jane@acme.example}]
    expect:
      - {contact: jane@acme.example, fit: 10, intent: 20, total: 30, mql: false}
      - {contact: jane@acme.example, at: 2026-03-01T00:00:00Z, intent: 40, mql: true,
         reasons: [thresholds #1]}
"""


@pytest.mark.parametrize("model", EXAMPLES, ids=lambda p: p.name)
def test_every_example_model_passes_its_own_tests(model: Path) -> None:
    result = runner.invoke(app, ["test", str(model)])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert ", 0 failed" in result.stdout  # and a model without tests exits 2: none here


@pytest.mark.parametrize("model", EXAMPLES, ids=lambda p: p.name)
def test_the_mql_script_exits_0_on_every_example_model(model: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mql", "test", str(model)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 0 failed" in done.stdout


def _write(tmp_path: Path, model: str, tests: str | None) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(model)
    if tests is not None:
        (tmp_path / "tiny.tests.yaml").write_text(tests)
    return path


def test_hand_computed_decay_passes_at_two_times(tmp_path: Path) -> None:
    # 40 points, half-life 10 days: 40 at the event, 20 ten days later (fit 10, total 30)
    tests = TINY_TESTS.replace("thresholds #1", '"thresholds #1"')
    result = runner.invoke(app, ["test", str(_write(tmp_path, TINY, tests)), "-v"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "PASS  demo_from_the_us" in result.stdout
    assert "1 test: 1 passed, 0 failed" in result.stdout


def test_a_wrong_expectation_fails_with_expected_and_actual_per_field(tmp_path: Path) -> None:
    tests = TINY_TESTS.replace("intent: 20, total: 30", "intent: 25, total: 30") \
        .replace("thresholds #1", '"thresholds #1"')
    result = runner.invoke(app, ["test", str(_write(tmp_path, TINY, tests))])
    assert result.exit_code == 1
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert f"FAIL demo_from_the_us ({tmp_path / 'tiny.tests.yaml'}:2:5)" in lines
    assert "jane@acme.example at 2026-03-11T00:00:00Z" in lines
    assert "field expected actual" in lines
    assert "intent 25 20 (line 7)" in lines  # only the field that differs
    assert not any(line.startswith("total") for line in lines)
    assert "verdict: not an MQL" in lines
    assert "1 test: 0 passed, 1 failed" in " ".join(lines)


def test_mql_and_reasons_mismatches_are_shown(tmp_path: Path) -> None:
    tests = TINY_TESTS.replace("intent: 40, mql: true", "intent: 40, mql: false") \
        .replace("thresholds #1", "criteria nope")
    result = runner.invoke(app, ["test", str(_write(tmp_path, TINY, tests))])
    assert result.exit_code == 1
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "mql false true (line 8)" in lines
    assert "reasons [criteria nope] [thresholds #1] (line 9)" in lines


def test_a_reason_may_be_written_in_the_words_a_seller_reads(tmp_path: Path) -> None:
    tests = TINY_TESTS.replace("[thresholds #1]", '["total 50 ≥ 45"]')
    result = runner.invoke(app, ["test", str(_write(tmp_path, TINY, tests))])
    assert result.exit_code == 0, result.stdout


def test_tests_may_live_in_the_model_file_itself(tmp_path: Path) -> None:
    tests = TINY_TESTS.replace("thresholds #1", '"thresholds #1"')
    path = _write(tmp_path, TINY + tests, None)
    result = runner.invoke(app, ["test", str(path), "-v"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "PASS  demo_from_the_us" in result.stdout
    # and the model still scores: the tests section is not a scoring rule
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0


def test_an_invalid_tests_file_exits_2_naming_file_line_and_column(tmp_path: Path) -> None:
    tests = TINY_TESTS.replace("at: 2026-03-11T00:00:00Z", "at: soon") \
        .replace("fit: 10,", "fitt: 10,").replace("thresholds #1", '"thresholds #1"')
    result = runner.invoke(app, ["test", str(_write(tmp_path, TINY, tests))])
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    source = tmp_path / "tiny.tests.yaml"
    assert f"{source}:3:9 tests[0].at: expected a time" in text
    assert f'{source}:7:38 tests[0].expect[0].fitt: unknown key (did you mean "fit"?)' in text
    assert "Traceback" not in result.stdout + result.stderr


def test_a_row_mql_score_would_refuse_is_an_error_of_the_tests_file(tmp_path: Path) -> None:
    tests = TINY_TESTS.replace("[{email: jane@acme.example, country: US}]",
                               "[{email: jane@acme.example, country: US}, {email: nobody}]") \
        .replace("thresholds #1", '"thresholds #1"')
    result = runner.invoke(app, ["test", str(_write(tmp_path, TINY, tests))])
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert f"{tmp_path / 'tiny.tests.yaml'}:4:58 demo_from_the_us.contacts[1].email: " \
        "'nobody' is not an email address" in text


def test_a_model_without_tests_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["test", str(_write(tmp_path, TINY, None))])
    assert result.exit_code == 2
    assert "no tests: add a tests: list" in " ".join(result.stderr.split())


def test_an_invalid_model_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["test", str(_write(tmp_path, TINY.replace("points: 40",
                                                                         "points: ten"),
                                                    TINY_TESTS))])
    assert result.exit_code == 2
    assert "intent.rules[0].points: expected a number" in " ".join(result.stderr.split())


def _as_files(test: model_tests.ModelTest, folder: Path) -> scoring.Inputs:
    """The test's rows written as the CSV files `mql score` reads."""
    paths = {}
    for kind in ("contacts", "accounts", "events"):
        rows = [dict(r.data) for r in getattr(test, kind)]
        for i, row in enumerate(rows):
            if kind == "events":
                row.setdefault("event_id", f"{test.name}#{i + 1}")
                row["properties"] = json.dumps(row.get("properties") or {})
        path = folder / f"{kind}.csv"
        headers = list(dict.fromkeys(k for r in rows for k in r)) or ["domain"]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, headers)
            writer.writeheader()
            writer.writerows(rows)
        paths[kind] = path
    return scoring.Inputs(paths["contacts"], paths["accounts"], paths["events"], mapping="mql")


def test_mql_test_decides_exactly_as_mql_score_on_the_same_rows(tmp_path: Path) -> None:
    model, found = model_tests.load_tests(B2B)
    assert len(found) >= 7
    for _, test in found:
        folder = tmp_path / test.name
        folder.mkdir()
        inputs = _as_files(test, folder)
        for expectation in test.expect:
            run = scoring.score_files(model, inputs, at=expectation.at)
            by_file = {d.contact: d for d in run.decisions}
            result = model_tests.run_test(model, test, "t.yaml")
            assert result.passed
            accounts, contacts, events = (
                model_tests._parsed(getattr(test, k), k, "t", test, [])
                for k in ("accounts", "contacts", "events"))
            by_test = model_tests.decide_all(model, accounts, contacts, events,
                                             expectation.at)
            assert by_test == by_file


DOC = Path(__file__).resolve().parents[2] / "docs" / "model.md"


def _doc_models_with_tests() -> list[str]:
    blocks = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)
    return [b for b in blocks if re.search(r"^name:", b, re.M) and re.search(r"^tests:", b, re.M)]


def test_the_documented_model_tests_pass_and_its_failure_reads_as_shown(tmp_path: Path
                                                                        ) -> None:
    (block,) = _doc_models_with_tests()
    path = tmp_path / "tiny.yaml"
    path.write_text(block)
    result = runner.invoke(app, ["test", str(path)])
    assert result.exit_code == 0, result.stdout + result.stderr
    path.write_text(block.replace("intent: 20, mql: false", "intent: 25, mql: false"))
    result = runner.invoke(app, ["test", str(path)])
    assert result.exit_code == 1
    shown = re.search(r"^```text\n(FAIL .*?)^```", DOC.read_text(), flags=re.S | re.M)
    assert shown is not None
    printed = result.stdout.replace(str(path), "tiny.yaml")
    assert [" ".join(line.split()) for line in printed.strip().splitlines()] == \
        [" ".join(line.split()) for line in shown.group(1).strip().splitlines()]


def test_an_expectation_may_check_the_exit_rules_that_hold(tmp_path: Path) -> None:
    model = TINY + """\
exit:
  when:
    - {name: unsubscribed, reason: unsubscribed from our emails,
       when: {activity: email_unsubscribe, within_days: 365}}
"""
    tests = """\
tests:
  - name: unsubscribed_after_the_demo
    at: 2026-03-01T00:00:00Z
    contacts: [{email: jane@acme.example, country: US}]
    events:
      - {type: demo_request, timestamp: 2026-03-01T00:00:00Z, email: jane@acme.example}
      - {type: email_unsubscribe, timestamp: 2026-03-01T00:00:00Z, email: jane@acme.example}
    expect:
      - {contact: jane@acme.example, total: 50, mql: false, exits: [unsubscribed],
         because: "exits: unsubscribed"}
"""
    result = runner.invoke(app, ["test", str(_write(tmp_path, model, tests))])
    assert result.exit_code == 0, result.stdout + result.stderr
