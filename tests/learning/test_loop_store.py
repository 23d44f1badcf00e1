"""Calibrate and backtest on a small store whose every number is worked out by hand, on
SQLite and PostgreSQL alike (the `store` fixture runs each test on both).

Six people, one page view = 10 points, a demo request = 50, no decay; sales reached each
on Jan 10 at noon, p3 to p6 became SQLs then:

| person | events                                   | score at the start of Jan 10 | SQL |
| p1     | page view Jan 2                          | 10                           | no  |
| p2     | page views Jan 2, 3                      | 20                           | no  |
| p3     | page views Jan 2, 3, 4                   | 30                           | yes |
| p4     | demo Jan 5                               | 50                           | yes |
| p5     | demo Jan 5, page view Jan 6              | 60                           | yes |
| p6     | page view Jan 2, demo Jan 10 at 15:00    | 10 (the demo came later)     | yes |
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.service import ingest as ingest_service
from mql.service import outcomes
from mql.service.backtest import run_backtest
from mql.service.calibration import run_calibration
from mql.store.db import connect
from mql.store.migrate import upgrade
from mql.store.models import activate, save_version

DATA = Path(__file__).parent / "data"
MODEL = DATA / "calib.yaml"
RULES = IdentityRules()
NOW = datetime(2026, 1, 20, tzinfo=UTC)
EVENTS = [("p1", "page_view", "2026-01-02T10:00:00Z"),
          ("p2", "page_view", "2026-01-02T10:00:00Z"), ("p2", "page_view", "2026-01-03T10:00:00Z"),
          ("p3", "page_view", "2026-01-02T10:00:00Z"), ("p3", "page_view", "2026-01-03T10:00:00Z"),
          ("p3", "page_view", "2026-01-04T10:00:00Z"),
          ("p4", "demo_request", "2026-01-05T10:00:00Z"),
          ("p5", "demo_request", "2026-01-05T10:00:00Z"),
          ("p5", "page_view", "2026-01-06T10:00:00Z"),
          ("p6", "page_view", "2026-01-02T10:00:00Z"),
          ("p6", "demo_request", "2026-01-10T15:00:00Z")]
PERIOD = {"start": date(2026, 1, 1), "end": date(2026, 1, 12)}


def _email(p: str) -> str:
    return f"{p}@acme{p[1]}.example"


def _events(folder: Path, rows: list[tuple[str, str, str]], name: str) -> Path:
    path = folder / f"{name}.csv"
    lines = ["event_id,email,type,timestamp"] + [f"{name}-{i},{_email(p)},{t},{at}"
                                            for i, (p, t, at) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def load_small(store: Engine, tmp_path: Path) -> Engine:
    """The six people of the table above, their events and dispositions, in `store`."""
    people = tmp_path / "contacts.csv"
    people.write_text("email\n" + "\n".join(_email(f"p{i}") for i in range(1, 7)) + "\n")
    ingest_service.ingest_file(store, people, "contacts", rules=RULES, now=NOW)
    ingest_service.ingest_file(store, _events(tmp_path, EVENTS, "e"), "events", rules=RULES,
                               now=NOW)
    dispositions = tmp_path / "dispositions.csv"
    dispositions.write_text("email,at,status\n" + "\n".join(
        f"{_email(f'p{i}')},2026-01-10T12:00:00Z,{'sql' if i >= 3 else 'rejected'}"
        for i in range(1, 7)) + "\n")
    outcomes.ingest_outcomes(store, dispositions, "dispositions", rules=RULES, now=NOW)
    return store


@pytest.fixture
def small(store: Engine, tmp_path: Path) -> Engine:
    return load_small(store, tmp_path)


def test_the_curve_and_the_recommendation_by_hand(small: Engine) -> None:
    run = run_calibration(small, now=NOW, model_path=MODEL, step=10, **PERIOD)  # type: ignore[arg-type]
    # the score each person had at the start of the outreach day
    assert sorted((m.contact[:2], m.score, m.converted) for m in run.moments) == [
        ("p1", 10.0, 0.0), ("p2", 20.0, 0.0), ("p3", 30.0, 1.0), ("p4", 50.0, 1.0),
        ("p5", 60.0, 1.0), ("p6", 10.0, 1.0)]
    points = {p.threshold: p for p in run.result.points}
    assert list(points) == [20.0, 30.0, 40.0, 50.0, 60.0]
    # at 30: p3, p4, p5 at or above, all SQLs; p1, p2, p6 below, one SQL
    p = points[30.0]
    assert (p.above, p.converted_above, p.below, p.converted_below) == (3, 3.0, 3, 1.0)
    # log-likelihood gains over one rate of 4/6: 20: 0.183, 30: 1.910, 40 and 50: 1.046,
    # 60: 0.454 -> 30
    assert run.result.recommended == 30.0
    # new MQLs at 30 over the 12 days: p3 (Jan 5), p4 (Jan 6), p5 (Jan 6), p6 (Jan 11)
    assert p.mqls == 4
    assert p.mqls_per_week == pytest.approx(4 / (12 / 7))
    data = run.to_json()
    assert data["recommended"] == 30.0 and len(data["curve"]) == 5


def test_an_event_after_the_moment_cannot_change_the_moment(small: Engine, tmp_path: Path
                                                           ) -> None:
    before = run_calibration(small, now=NOW, model_path=MODEL, step=10, **PERIOD)  # type: ignore[arg-type]
    # p1 asks for a demo in the evening of its outreach day
    ingest_service.ingest_file(small, _events(tmp_path, [("p1", "demo_request",
                                                          "2026-01-10T18:00:00Z")], "late"),
                               "events", rules=RULES, now=NOW)
    after = run_calibration(small, now=NOW, model_path=MODEL, step=10, **PERIOD)  # type: ignore[arg-type]
    assert set(after.moments) == set(before.moments)
    assert after.result.recommended == before.result.recommended
    # ... while the days after it see the demo: p1 is a new MQL at 30 on Jan 11
    at_30 = {p.threshold: p for p in after.result.points}[30.0]
    assert at_30.mqls == 5


def test_a_model_against_itself_shows_no_difference(small: Engine) -> None:
    run = run_backtest(small, MODEL, now=NOW, against=MODEL, **PERIOD)  # type: ignore[arg-type]
    assert run.comparison.identical
    assert run.to_json()["newly_qualified"] == [] and run.to_json()["dropped_out"] == []


def test_a_stricter_line_drops_people_with_their_outcomes(small: Engine, tmp_path: Path
                                                          ) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(MODEL.read_text().replace("{intent: 30}", "{intent: 55}"))
    run = run_backtest(small, strict, now=NOW, against=MODEL, **PERIOD)  # type: ignore[arg-type]
    c = run.comparison
    # at 30: p3 (Jan 5), p4 and p5 (Jan 6) before their SQL on Jan 10, p6 only on Jan 11
    base = c.baseline.rates["sql"]
    assert (c.baseline.mqls, base.credited, base.rate, base.recall) == (4, 3, 0.75, 0.75)
    # at 55: p5 (Jan 7, demo and page view) in time, p6 (Jan 11) late
    new = c.candidate.rates["sql"]
    assert (c.candidate.mqls, new.credited, new.rate, new.recall) == (2, 1, 0.5, 0.25)
    assert [(p.contact[:2], p.first_mql, p.sql) for p in c.dropped] == [
        ("p3", date(2026, 1, 5), date(2026, 1, 10)), ("p4", date(2026, 1, 6), date(2026, 1, 10))]
    assert c.newly_qualified == ()


def test_sqlite_and_postgresql_agree_on_every_number(pg_url: str, tmp_path: Path) -> None:
    answers = []
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'agree.db'}"), ("postgres", pg_url)):
        folder = tmp_path / name
        folder.mkdir()
        engine = connect(url)
        upgrade(engine)
        with engine.begin() as conn:
            activate(conn, save_version(conn, "calib", "1", MODEL.read_text(),
                                        source=str(MODEL), now=NOW), now=NOW)
        try:
            load_small(engine, folder)
            calibrated = run_calibration(engine, now=NOW, model_path=MODEL, step=5, **PERIOD)  # type: ignore[arg-type]
            strict = folder / "strict.yaml"
            strict.write_text(MODEL.read_text().replace("{intent: 30}", "{intent: 55}"))
            backtested = run_backtest(engine, strict, now=NOW, against=MODEL, **PERIOD)  # type: ignore[arg-type]
            answers.append((calibrated.to_json(), backtested.to_json()))
        finally:
            engine.dispose()
    assert answers[0] == answers[1]
    # every 5 points: 25 and 30 split the six alike (no score between 20 and 30); the
    # lowest line of the best split is recommended
    assert answers[0][0]["recommended"] == 25.0
