"""`mql diff OLD NEW`: the rule changes in words, and who changes state on a data set."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mql.cli import lifecycle as lifecycle_cli
from mql.cli import modeltest as modeltest_cli
from mql.cli.main import app
from mql.clock import FixedClock
from mql.service.scoring import sample_inputs

runner = CliRunner(env={"COLUMNS": "240"})
MODEL, SAMPLE = sample_inputs()
AT = "2026-11-19T08:24Z"

OLD = """\
name: tiny
version: "1"
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
    - {name: big, when: {field: account.employees, op: gte, value: 200}, points: 20}
intent:
  decay: {half_life_days: 30}
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: pricing, event: page_view, when: {field: url, op: contains, value: /pricing},
       points: 10, cap: 30}
mql:
  thresholds: {total: 45}
  fast_track:
    - {name: demo, event: demo_request, within_days: 30}
grades:
  fit: {A: 20, B: 10}
  intent: {"1": 40}
exit:
  below: {intent: 10}
"""

NEW = """\
name: tiny
version: "2"
fit:
  rules:
    - {name: us, when: {field: contact.country, op: in, value: [US, CA]}, points: 10}
intent:
  decay: {half_life_days: 20}
  rules:
    - {name: demo, event: demo_request, points: 50}
    - {name: pricing, event: page_view, when: {field: url, op: contains, value: /pricing},
       points: 10, cap: 40}
    - {name: webinar, event: webinar_attended, points: 15}
mql:
  thresholds:
    - {total: 40}
    - {fit: 10, intent: 30}
  fast_track:
    - {name: demo, event: demo_request, within_days: 14}
grades:
  fit: {A: 25, B: 10}
  intent: {"1": 40}
exit:
  below: {intent: 5}
"""


def _pair(tmp_path: Path, old: str, new: str) -> tuple[str, str]:
    (tmp_path / "old.yaml").write_text(old)
    (tmp_path / "new.yaml").write_text(new)
    return str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")


def test_every_rule_change_is_said_in_words(tmp_path: Path) -> None:
    result = runner.invoke(app, ["diff", *_pair(tmp_path, OLD, NEW)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "tiny 1 → tiny 2",
        "  fit rule big removed",
        "  fit rule us changed: condition contact.country eq 'US' → contact.country in "
        "['US', 'CA']",
        "  intent score: decay half-life 30 days → half-life 20 days",
        "  intent rule demo changed: points 40 → 50",
        "  intent rule pricing changed: cap 30 → 40",
        "  intent rule webinar added: event types [webinar_attended]; points 15",
        "  mql threshold #1 changed: total 45 → 40",
        "  mql threshold #2 added: fit ≥ 10 and intent ≥ 30",
        "  mql fast track demo changed: window (days) 30 → 14",
        "  grades: fit bands [[A, 20], [B, 10]] → [[A, 25], [B, 10]]",
        "  exit below [intent 10] → [intent 5]",
    ]


def test_a_model_compared_with_itself_changes_nothing(tmp_path: Path) -> None:
    same = OLD.replace('version: "1"', 'version: "1b"')
    result = runner.invoke(app, ["diff", *_pair(tmp_path, OLD, same)])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["tiny 1 → tiny 1b",
                                          "  no rule changed: both models decide alike"]


def test_an_invalid_model_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    old, new = _pair(tmp_path, OLD, NEW.replace("points: 50", "points: fifty"))
    result = runner.invoke(app, ["diff", old, new])
    assert result.exit_code == 2
    assert f"{new}:9:49 intent.rules[0].points: expected a number" in \
        " ".join(result.stderr.split())


def _looser(tmp_path: Path) -> str:
    path = tmp_path / "looser.yaml"
    path.write_text(MODEL.read_text().replace("- {fit: 50, intent: 30}",
                                              "- {fit: 50, intent: 15}"))
    return str(path)


def _mqls(model: str) -> set[str]:
    result = runner.invoke(app, ["score", "--model", model, "--contacts", str(SAMPLE.contacts),
                                 "--accounts", str(SAMPLE.accounts), "--events",
                                 str(SAMPLE.events), "--at", AT, "--format", "jsonl"])
    return {row["contact"] for line in result.stdout.splitlines()
            if (row := json.loads(line))["mql"]}


def _files() -> list[str]:
    return ["--contacts", str(SAMPLE.contacts), "--accounts", str(SAMPLE.accounts),
            "--events", str(SAMPLE.events), "--at", AT]


def test_on_files_who_changes_state_is_what_mql_score_says(tmp_path: Path) -> None:
    looser = _looser(tmp_path)
    result = runner.invoke(app, ["diff", str(MODEL), looser, *_files()])
    assert result.exit_code == 0, result.output
    gained = _mqls(looser) - _mqls(str(MODEL))
    assert gained == {"bruce@wayne.example", "gavin@hooli.example"}
    lines = result.stdout.splitlines()
    assert "  mql threshold #1 changed: intent 30 → 15" in lines
    assert "2 of 22 contacts change state as of 2026-11-19T08:24Z: 2 newly qualified, 0 no " \
        "longer qualified, 0 change grade" in lines
    # bruce: fit 55 and intent 15.5 meet the new line (15) but not the old one (30)
    assert "  + bruce@wayne.example  B3 → B3  fit 55 ≥ 50 and intent 15.5 ≥ 15" in lines
    assert any(line.startswith("  + gavin@hooli.example  A3 → A3") for line in lines)


def test_on_a_store_it_is_the_activation_dry_run(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # both faces decide as of "now": pinned, so the sample's people still qualify whatever
    # day the suite runs (on 2 Dec 2026 their intent had decayed below the looser line)
    now = FixedClock(datetime.fromisoformat(AT))
    monkeypatch.setattr(modeltest_cli, "CLOCK", now)
    monkeypatch.setattr(lifecycle_cli, "CLOCK", now)
    db = f"sqlite:///{tmp_path / 'mql.db'}"
    assert runner.invoke(app, ["init", str(tmp_path / "ws"), "--db", db]).exit_code == 0
    for kind in ("accounts", "contacts", "events"):
        done = runner.invoke(app, ["ingest", kind, str(getattr(SAMPLE, kind)), "--db", db])
        assert done.exit_code == 0, done.output
    looser = _looser(tmp_path)
    result = runner.invoke(app, ["diff", str(MODEL), looser, "--db", db])
    assert result.exit_code == 0, result.output
    dry = runner.invoke(app, ["model", "activate", looser, "--dry-run", "--db", db])
    assert dry.exit_code == 0, dry.output
    plus = sorted(line for line in result.stdout.splitlines() if line.startswith("  + "))
    assert plus and plus == sorted(line for line in dry.stdout.splitlines()
                                   if line.startswith("  + "))
    assert "would cause" in result.stdout
    # and nothing was written: the store still has one model version
    listed = runner.invoke(app, ["model", "list", "--db", db])
    assert listed.stdout.count("b2b_saas") == 1
