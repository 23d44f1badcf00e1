"""`mql synth` on a fresh Typer app: files, summary table, help and refusals."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from mql.cli.synth import register

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


def test_synth_writes_the_world_and_prints_a_summary(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["synth", "--accounts", "12", "--months", "2", "--seed", "3",
                                    "--out", str(tmp_path), "--format", "parquet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "events.parquet").exists() and (tmp_path / "truth/accounts.parquet").exists()
    assert "events.parquet" in result.stdout and "events/s" in result.stdout


def test_synth_help_names_every_option() -> None:
    result = runner.invoke(_app(), ["synth", "--help"])
    assert result.exit_code == 0
    for option in ("--accounts", "--months", "--seed", "--out", "--format", "--dirty", "--start"):
        assert option in result.stdout


def test_a_bad_start_is_refused_with_the_fix(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["synth", "--out", str(tmp_path), "--start", "last tuesday"])
    assert result.exit_code == 2
    assert "ISO 8601" in result.output


def test_dirty_beyond_half_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["synth", "--out", str(tmp_path), "--dirty", "0.9"])
    assert result.exit_code == 2
