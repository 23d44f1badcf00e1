"""Re-running `mql init` and dry-running an activation leave a live workspace as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mql.cli.main import app
from mql.service.scoring import sample_inputs
from mql.service.store import model_versions
from mql.store import handoff as handoff_store
from mql.store.db import connect

runner = CliRunner(env={"COLUMNS": "240"})
_, SAMPLE = sample_inputs()


def _ingest(db: str) -> None:
    for kind, path in (("accounts", SAMPLE.accounts), ("contacts", SAMPLE.contacts),
                       ("events", SAMPLE.events)):
        result = runner.invoke(app, ["ingest", kind, str(path), "--db", db])
        assert result.exit_code == 0, result.output


def _counts(db: str) -> tuple[int, int]:
    """(stored model versions, stored transitions)."""
    engine = connect(db)
    try:
        with engine.connect() as conn:
            return len(model_versions(engine)), handoff_store.history_count(conn)
    finally:
        engine.dispose()


def test_init_again_on_a_live_workspace_changes_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'mql.db'}"
    assert runner.invoke(app, ["init", str(tmp_path), "--db", db]).exit_code == 0
    _ingest(db)
    before = _counts(db)
    assert before[0] == 1 and before[1] > 0
    # a model.yaml that differs (here only by its version label) is not made live silently
    model = tmp_path / "model.yaml"
    model.write_text(model.read_text().replace('version: "2026.11.1"', 'version: "2026.12"'))
    again = runner.invoke(app, ["init", str(tmp_path), "--db", db])
    assert again.exit_code == 0, again.output
    assert "already has a live model (version 1); nothing was changed" in again.output
    assert "mql model activate" in again.output
    assert _counts(db) == before
    forced = runner.invoke(app, ["init", str(tmp_path), "--db", db, "--activate"])
    assert forced.exit_code == 0, forced.output
    assert "(version 2, active)" in forced.output
    assert _counts(db)[0] == 2


def test_init_honours_mql_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    folder = tmp_path / "ws"
    monkeypatch.setenv("MQL_DATABASE_URL", f"sqlite:///{elsewhere}")
    result = runner.invoke(app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    assert elsewhere.exists()
    assert not (folder / ".mql").exists()
    assert _counts(f"sqlite:///{elsewhere}")[0] == 1


def test_a_dry_run_activation_stores_no_model_version(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'mql.db'}"
    assert runner.invoke(app, ["init", str(tmp_path), "--db", db]).exit_code == 0
    _ingest(db)
    before = _counts(db)
    other = tmp_path / "other.yaml"
    other.write_text((tmp_path / "model.yaml").read_text().replace(
        "- {fit: 50, intent: 30}", "- {fit: 50, intent: 20}"))
    dry = runner.invoke(app, ["model", "activate", str(other), "--dry-run", "--db", db])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing was changed" in dry.output
    assert _counts(db) == before
    listed = runner.invoke(app, ["model", "list", "--db", db])
    assert listed.output.count("b2b_saas") == 1
