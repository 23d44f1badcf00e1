"""Store commands on a fresh Typer app: init, migrate, ingest, quarantine, contact, unmerge."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mql.cli.store import register
from mql.store.migrate import head

runner = CliRunner(env={"COLUMNS": "240"})


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MQL_DATABASE_URL", raising=False)
    result = runner.invoke(_app(), ["init"])
    assert result.exit_code == 0, result.output
    assert "active" in result.output
    return tmp_path


def test_init_creates_the_database_and_the_active_example_model(workspace: Path) -> None:
    assert (workspace / ".mql" / "mql.db").exists()
    assert (workspace / "model.yaml").read_text().startswith(("#", "name", "model"))
    again = runner.invoke(_app(), ["migrate"])
    assert again.exit_code == 0, again.output
    assert f"{head()} -> {head()}" in again.output


def test_ingest_prints_a_summary_and_contact_shows_scores(workspace: Path) -> None:
    sample = Path(__file__).parents[2] / "src/mql/examples/sample"
    for kind in ("accounts", "contacts", "events"):
        result = runner.invoke(_app(), ["ingest", kind, str(sample / f"{kind}.csv")])
        assert result.exit_code == 0, result.output
        assert "loaded" in result.output and "quarantined" in result.output
    again = runner.invoke(_app(), ["ingest", "events", str(sample / "events.csv")])
    assert "duplicates skipped" in again.output
    first = next(line.split(",")[0] for line in
                 (sample / "contacts.csv").read_text().splitlines()[1:])
    shown = runner.invoke(_app(), ["contact", first.upper()])
    assert shown.exit_code == 0, shown.output
    assert "fit / intent / total" in shown.output and "grade" in shown.output


def test_quarantine_list_show_and_retry(workspace: Path) -> None:
    bad = workspace / "contacts.csv"
    bad.write_text("email,title\nnot-an-email,CTO\nok@acme.com,CEO\n")
    result = runner.invoke(_app(), ["ingest", "contacts", str(bad)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(_app(), ["quarantine", "list"])
    assert "not an email address" in listed.output and "contacts.csv:2" in listed.output
    shown = runner.invoke(_app(), ["quarantine", "show", "1"])
    assert shown.exit_code == 0 and "not-an-email" in shown.output
    retried = runner.invoke(_app(), ["quarantine", "retry"])
    assert "0 loaded, 1 still quarantined" in retried.output
    missing = runner.invoke(_app(), ["quarantine", "show", "99"])
    assert missing.exit_code == 2 and "no quarantined row 99" in missing.output


def test_db_option_and_unknown_contacts_fail_with_a_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    empty = runner.invoke(_app(), ["contact", "a@b.com", "--db", url])
    assert empty.exit_code == 2 and "mql migrate" in empty.output
    assert runner.invoke(_app(), ["migrate", "--db", url]).exit_code == 0
    bad = runner.invoke(_app(), ["ingest", "events", str(tmp_path / "none.csv"), "--db", url])
    assert bad.exit_code == 2
    assert runner.invoke(_app(), ["unmerge", "5", "--db", url]).exit_code == 2


def test_scores_lists_contacts_as_of_a_time(workspace: Path) -> None:
    sample = Path(__file__).parents[2] / "src/mql/examples/sample"
    for kind in ("accounts", "contacts", "events"):
        assert runner.invoke(_app(), ["ingest", kind, str(sample / f"{kind}.csv")]).exit_code == 0
    result = runner.invoke(_app(), ["scores", "--at", "2026-03-01T00:00Z", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("contact,as_of,fit,intent")
    bad = runner.invoke(_app(), ["scores", "--at", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_strict_ingest_exits_1_when_rows_were_quarantined_and_dismiss_closes_them(
    workspace: Path,
) -> None:
    bad = workspace / "contacts.csv"
    bad.write_text("email\na@b@acme.example\nok@acme.com\n")
    plain = runner.invoke(_app(), ["ingest", "contacts", str(bad)])
    assert plain.exit_code == 0 and "1 rows quarantined" in plain.output
    strict = runner.invoke(_app(), ["ingest", "contacts", str(bad), "--strict"])
    assert strict.exit_code == 1, strict.output
    assert "1 (1 held already)" in strict.output  # stored once
    assert "ingesting" not in strict.output  # no progress bar outside a terminal
    no_reason = runner.invoke(_app(), ["quarantine", "dismiss", "1"])
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    done = runner.invoke(_app(), ["quarantine", "dismiss", "1", "--reason", "typo in CRM"])
    assert done.exit_code == 0 and "1 quarantined rows dismissed" in done.output
    assert "0 quarantined rows" in runner.invoke(_app(), ["quarantine", "list"]).output
    listed = runner.invoke(_app(), ["quarantine", "list", "--all"])
    assert "dismissed" in listed.output
    clean = workspace / "clean.csv"
    clean.write_text("email\nann@acme.com\n")
    assert runner.invoke(_app(), ["ingest", "contacts", str(clean), "--strict"]).exit_code == 0


def test_unusable_files_and_options_fail_with_a_message_not_a_traceback(
    workspace: Path,
) -> None:
    empty = workspace / "events.parquet"
    empty.write_bytes(b"")
    result = runner.invoke(_app(), ["ingest", "events", str(empty)])
    assert result.exit_code == 2 and "empty (0 bytes)" in result.output
    assert "Traceback" not in result.output
    odd = workspace / "events.csv"
    odd.write_text("event_id,type,timestamp,email\n")
    bad_encoding = runner.invoke(_app(), ["ingest", "events", str(odd), "--encoding", "klingon"])
    assert bad_encoding.exit_code == 2 and "unknown encoding 'klingon'" in bad_encoding.output
    folder = runner.invoke(_app(), ["ingest", "events", str(workspace)])
    assert folder.exit_code == 2 and "not a file" in folder.output
    latin = workspace / "latin.csv"
    latin.write_bytes("email,first_name\njane@acme.com,Jos\xe9\n".encode("latin-1"))
    read = runner.invoke(_app(), ["ingest", "contacts", str(latin), "--encoding", "latin-1"])
    assert read.exit_code == 0 and "quarantined" in read.output


def test_quarantine_show_prints_a_line_that_was_not_json(workspace: Path) -> None:
    path = workspace / "events.jsonl"
    path.write_text('{broken json\n{"event_id": "e1", "type": "page_view", '
                    '"timestamp": "2026-03-02T10:00Z", "email": "a@acme.com"}\n')
    assert runner.invoke(_app(), ["ingest", "events", str(path)]).exit_code == 0
    shown = runner.invoke(_app(), ["quarantine", "show", "1"])
    assert shown.exit_code == 0, shown.output
    assert "is not valid JSON" in shown.output and "{broken json" in shown.output
