"""`mql rescore` and `mql compile` through typer's runner, on a small synthetic world."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from mql.cli.rescore import register
from mql.service.synth import write_world

MODEL = Path(__file__).parents[2] / "examples" / "models" / "b2b-saas.yaml"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    write_world(out, accounts=20, months=2, seed=5, fmt="csv")
    return out


def _args(world: Path, out: Path, *extra: str) -> list[str]:
    return ["rescore", "--model", str(MODEL), "--events", str(world / "events.csv"),
            "--contacts", str(world / "contacts.csv"), "--accounts",
            str(world / "accounts.csv"), "--out", str(out), *extra]


def test_rescore_writes_one_row_per_contact_and_prints_a_summary(
        app: typer.Typer, world: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(app, _args(world, out, "--as-of", "2025-02-20T00:00Z"))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    contacts = len((world / "contacts.csv").read_text().splitlines()) - 1
    assert table.num_rows == contacts
    assert {"contact", "fit", "intent", "total", "grade", "mql", "reasons"} <= set(
        table.column_names)
    assert "events/s" in result.output and "duckdb" in result.output


def test_rescore_daily_writes_a_history_as_csv(app: typer.Typer, world: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "history.csv"
    result = CliRunner().invoke(app, _args(world, out, "--daily", "2025-02-01", "2025-02-07",
                                           "--format", "csv"))
    assert result.exit_code == 0, result.output
    table = pyarrow.csv.read_csv(out)
    assert len(set(table.column("as_of").to_pylist())) == 7


def test_as_of_and_daily_together_are_refused(app: typer.Typer, world: Path,
                                              tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _args(world, tmp_path / "x.parquet", "--as-of",
                                           "2025-02-01", "--daily", "2025-02-01",
                                           "2025-02-02"))
    assert result.exit_code == 2
    assert "not both" in result.output


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_compile_prints_the_sql_of_each_dialect_without_starting_an_engine(
        app: typer.Typer, engine: str) -> None:
    result = CliRunner().invoke(app, ["compile", "--model", str(MODEL), "--engine", engine,
                                      "--as-of", "2026-03-02T00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("WITH")
    assert ("UNIX_MICROS" if engine == "spark" else "EPOCH_US") in result.output
