"""`mql calibrate` and `mql backtest` from the real script: JSON a program can read, and a
user error in one line (exit 2, no traceback)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mql.service.store import init_workspace
from tests.cli.test_user_errors import mql, refused

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    init_workspace(tmp_path, now=T0)
    return tmp_path


def test_calibrate_json_without_outcomes_says_there_is_nothing(workspace: Path) -> None:
    done = mql("calibrate", "--from", "2025-12-01", "--to", "2025-12-31", "--format", "json",
               cwd=workspace)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["from"], data["to"], data["outcome"]) == ("2025-12-01", "2025-12-31", "sql")
    assert data["recommended"] is None and data["outreaches"] == 0
    assert any("nothing to calibrate" in n for n in data["notes"])
    curve = mql("calibrate", "--from", "2025-12-01", "--to", "2025-12-31", "--format", "csv",
                cwd=workspace)
    assert curve.returncode == 0, curve.stderr
    assert curve.stdout.splitlines() == ["threshold,above,converted_above,rate_above,below,"
                                         "converted_below,rate_below,lift,fitted,mqls,"
                                         "mqls_per_week"]


def test_backtest_of_the_live_model_against_itself(workspace: Path) -> None:
    model = next(workspace.glob("*.yaml"))
    done = mql("backtest", str(model), "--from", "2025-12-01", "--to", "2025-12-31",
               cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert "the two models decide every day alike" in done.stdout


@pytest.mark.parametrize(("args", "words"), [
    (("calibrate", "--outcome", "revenue"), ("--outcome revenue", "sql, opportunity, won")),
    (("calibrate", "--from", "March"), ("--from 'March'", "2025-03-01")),
    (("calibrate", "--from", "2025-03-02", "--to", "2025-03-01"), ("before --from",)),
    (("calibrate", "--score", "karma"), ("--score karma", "total")),
    (("calibrate", "--step", "0"), ("--step",)),
    (("backtest", "nowhere.yaml"), ("nowhere.yaml",)),
    (("backtest", "model.yaml", "--format", "csv"), ("--format csv",)),
])
def test_a_user_error_is_one_line(workspace: Path, args: tuple[str, ...],
                                  words: tuple[str, ...]) -> None:
    if "model.yaml" in args:
        args = tuple(str(next(workspace.glob("*.yaml"))) if a == "model.yaml" else a
                     for a in args)
    refused(mql(*args, cwd=workspace), *words)


def test_activate_shows_the_backtest_before_the_switch(workspace: Path) -> None:
    model = next(workspace.glob("*.yaml"))
    looser = workspace / "looser.yaml"
    looser.write_text(model.read_text().replace("{fit: 50, intent: 30}", "{fit: 40, intent: 20}"))
    done = mql("model", "activate", str(looser), "--backtest", "--dry-run", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert "backtest of b2b_saas against live" in done.stdout
    assert done.stdout.index("backtest of") < done.stdout.index("model version")
