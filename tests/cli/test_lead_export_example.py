"""The second example model scores an aggregated lead export (one row per lead with
activity totals, no event log) directly: `mql score` with the example mapping gives the
scores worked out by hand (the batch engines agree: tests/parity/test_points_parity.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from importlib.resources import as_file, files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mql.cli.main import app

runner = CliRunner()
AT = "2026-12-01T00:00Z"

# fit = seniority table + company size bins + industry table (+ personal email -20);
# engagement = minutes / 2 (cap 30) + 3 per visit (cap 15) + pages bins + 5 per download
# (cap 15) + 10 per webinar (cap 20) + recency bins, floored at 0
BY_HAND = {
    # vp 25 + 1,200 employees 25 + software 20; 47.5 / 2 = 23 + min(15, 27) + 31 pages 10
    # + 2 x 5 + 1 x 10 + 2 days 10
    "maria.lopez@northwind.example": (70.0, 23 + 15 + 10 + 10 + 10 + 10),
    # c_level 30 + 8 employees -10 + software 20; min(30, 45) + min(15, 36) + 10
    # + min(15, 15) + 0 + 10
    "li.chen@tinyapp.example": (40.0, 30 + 15 + 10 + 15 + 0 + 10),
    # director 20 + "3,400" employees 25 + banking 10; 9 + 12 + 5 + 5 + 20 + 10
    "anna.berg@fjord.example": (55.0, 9 + 12 + 5 + 5 + 20 + 10),
    # individual contributor 3 + 25 + 20; 3 + 6 + 0 + 0 + 0 - 10 = -1, floored at 0
    "tom.baker@northwind.example": (48.0, 0.0),
    # manager 10 + 15,000 employees 15 + government -10; 1 + 3 - 25 < 0 -> 0
    "kim.park@stateagency.example": (15.0, 0.0),
    # student -20 + personal email -20 (no company); 6 + 9 + 5 + 5 + 0 + 0
    "sam.jones@gmail.com": (-40.0, 25.0),
}


@pytest.fixture(scope="module")
def example() -> Iterator[dict[str, Path]]:
    root = files("mql").joinpath("examples")
    with as_file(root) as folder:
        yield {"model": folder / "models" / "lead-export.yaml",
               "contacts": folder / "sample" / "lead-export.csv",
               "mapping": folder / "mappings" / "lead-export.yaml"}


def test_mql_score_reads_the_export_with_its_mapping(example: dict[str, Path]) -> None:
    result = runner.invoke(app, ["score", "--model", str(example["model"]), "--contacts",
                                 str(example["contacts"]), "--mapping",
                                 str(example["mapping"]), "--at", AT, "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = {r["contact"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert {email: (float(r["fit"]), float(r["engagement"])) for email, r in rows.items()} \
        == BY_HAND
    # total = fit + engagement (the model's weights); MQL by either threshold set
    assert float(rows["li.chen@tinyapp.example"]["total"]) == 120.0
    assert [e for e, r in rows.items() if r["mql"] == "true"] == [
        "maria.lopez@northwind.example", "li.chen@tinyapp.example", "anna.berg@fjord.example"]
    assert rows["maria.lopez@northwind.example"]["grade"] == "A1"


def test_the_export_ingested_into_the_store_gets_the_same_scores(
        example: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MQL_DATABASE_URL", raising=False)
    steps = [["init"], ["model", "activate", str(example["model"])],
             ["ingest", "contacts", str(example["contacts"]), "--mapping",
              str(example["mapping"])]]
    for step in steps:
        result = runner.invoke(app, step)
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["scores", "--at", AT, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["contact"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert {email: (float(r["fit"]), float(r["engagement"])) for email, r in rows.items()} \
        == BY_HAND


def test_explain_shows_how_each_field_was_read_and_how_total_adds_up(
        example: dict[str, Path]) -> None:
    result = runner.invoke(app, ["explain", "maria.lopez@northwind.example", "--model",
                                 str(example["model"]), "--contacts", str(example["contacts"]),
                                 "--mapping", str(example["mapping"]), "--at", AT],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    for line in ("fit: seniority vp: 25", "fit: employees [200, 5000): 25",
                 "fit: minutes_on_site 47.5: 23 x 1", "fit: visits 9: 9 x 3, cap 15",
                 "fit: days_since_last_visit < 7: 10",
                 "total = 1 x fit 70 + 1 x engagement 78 = 148"):
        assert line in text, line
