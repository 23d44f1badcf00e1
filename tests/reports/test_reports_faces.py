"""The faces of the reports: `GET /v1/reports/...` on a real server and `mql report` give
the service's numbers; machine formats are whole; SQLite and PostgreSQL give identical
reports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mql.analytics.definitions import Dimension, Report
from mql.api.app import create_app
from mql.cli.main import app
from mql.cli.report import ReportFormat, render_report
from mql.clock import FixedClock
from mql.service.reports import run_report
from mql.store.db import connect
from mql.store.migrate import upgrade
from mql.store.models import activate, save_version
from tests.api.conftest import make_keys, make_workspace, running, settings_for
from tests.postgres import T_INIT
from tests.reports.ledger import AS_OF, write_ledger

ALL = [(r, None) for r in Report] + [
    (Report.FUNNEL, d) for d in Dimension] + [(Report.SLA, Dimension.OWNER),
                                              (Report.COST, Dimension.CHANNEL)]


def _stored(url: str) -> None:
    from importlib.resources import files

    engine = connect(url)
    upgrade(engine)
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    with engine.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "1", text, source="b2b-saas.yaml",
                                    now=T_INIT), now=T_INIT)
    write_ledger(engine)
    engine.dispose()


def test_sqlite_and_postgresql_give_identical_reports(tmp_path: Path, pg_url: str) -> None:
    lite = f"sqlite:///{tmp_path / 'store.db'}"
    answers = []
    for url in (lite, pg_url):
        _stored(url)
        engine = connect(url)
        answers.append([run_report(engine, r, now=AS_OF, by=by).to_json() for r, by in ALL])
        engine.dispose()
    assert answers[0] == answers[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("reports-api")
    url = make_workspace(folder)
    engine = connect(url)
    write_ledger(engine)
    engine.dispose()
    keys = make_keys(url)
    with running(create_app(settings_for(url), clock=FixedClock(AS_OF))) as base:
        yield base, url, keys


def test_the_api_answers_the_numbers_of_the_cli_for_a_read_role(served) -> None:  # type: ignore[no-untyped-def]
    import httpx

    base, url, keys = served
    engine = connect(url)
    expected = run_report(engine, Report.FUNNEL, now=AS_OF, by=Dimension.CHANNEL).to_json()
    engine.dispose()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['sales']}"},
                      timeout=30) as client:
        answer = client.get("/v1/reports/funnel", params={"by": "channel"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected
        review = client.get("/v1/reports/review", params={"size": 3}).json()
        assert [r["outcome"] for r in review["rows"]] == ["won", "opportunity", "rejected"]
        bad = client.get("/v1/reports/funnel", params={"by": "colour"})
        assert bad.status_code == 400
        assert "choose one of month" in bad.json()["detail"]
        assert client.get("/v1/reports/funnel", params={"from": "soon"}).status_code == 400
        assert client.get("/v1/reports/nothing").status_code == 422
    with httpx.Client(base_url=base, timeout=30) as anonymous:
        assert anonymous.get("/v1/reports/funnel").status_code == 401


def test_cli_prints_json_csv_and_a_table_that_never_cuts_a_key(served) -> None:  # type: ignore[no-untyped-def]
    _, url, _ = served
    runner = CliRunner()
    at = ["--db", url, "--at", AS_OF.isoformat()]
    data = json.loads(runner.invoke(app, ["report", "funnel", "--by", "channel", "-f", "json",
                                          *at]).stdout)
    engine = connect(url)
    assert data == run_report(engine, Report.FUNNEL, now=AS_OF, by=Dimension.CHANNEL
                              ).to_json()
    engine.dispose()
    rows = list(csv.DictReader(io.StringIO(runner.invoke(
        app, ["report", "funnel", "-f", "csv", *at]).stdout)))
    assert [r["month"] for r in rows] == ["2025-01", "2025-02", "2025-03", "total"]
    assert rows[0]["median_days_to_mql"] == "4.5"
    assert rows[-1]["mql_to_sql"] == "0.4"  # whole values, the total last
    narrow = Console(width=50, record=True)
    engine = connect(url)
    for report, by in ((Report.REVIEW, None), (Report.FUNNEL, Dimension.MONTH),
                       (Report.SLA, Dimension.OWNER)):
        render_report(run_report(engine, report, now=AS_OF, by=by), ReportFormat.table,
                      narrow)
    engine.dispose()
    table = narrow.export_text()
    # on a 50-column terminal no key and no number is cut, folded or dropped
    for whole in ("ann@acme.example", "dan@tiny.example", "cat@tiny.example", "2025-01",
                  "2025-03", "maturing", "dana", "50.0%", "15.2", "27.1"):
        assert whole in table
    wrong = runner.invoke(app, ["report", "funnel", "--by", "colour", *at])
    assert wrong.exit_code == 2
    assert "choose one of month" in wrong.stderr
    assert "Traceback" not in wrong.stderr + wrong.stdout
    # a value that reads as console markup is printed as typed, not parsed (it crashed)
    for command in (["report", "funnel", "--by", "[/x]", *at],
                    ["report", "accounts", "--by", "[/x]", *at],
                    ["report", "nurture", "--db", url, "--at", "[/x]"],
                    ["nurture", "export", "any", "--db", url, "--at", "[/x]"]):
        tagged = runner.invoke(app, command)
        assert tagged.exit_code == 2, (command, tagged.output)
        assert "[/x]" in tagged.stderr, command
        assert "Traceback" not in tagged.output and "MarkupError" not in tagged.output


def test_a_ledger_export_reports_the_same_numbers_without_the_store(served, tmp_path: Path  # type: ignore[no-untyped-def]
                                                                    ) -> None:
    from importlib.resources import files

    from mql.service.reports import export_ledger, run_ledger_report

    _, url, _ = served
    engine = connect(url)
    written = export_ledger(engine, tmp_path / "ledger", now=AS_OF)
    assert len(written) == 12 and all(p.suffix == ".parquet" for p in written)
    model = tmp_path / "model.yaml"  # the store's model: its reports section applies
    model.write_text(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text())
    for report, by in ALL:
        if report is Report.REVIEW:
            continue
        stored = run_report(engine, report, now=AS_OF, by=by).to_json()
        exported = run_ledger_report(tmp_path / "ledger", report, now=AS_OF, by=by,
                                     model_path=model).to_json()
        assert exported == stored, (report, by)
    engine.dispose()
    runner = CliRunner()
    missing = runner.invoke(app, ["report", "funnel", "--ledger", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
