"""What `--engine spark` writes: one folder per day of the scores (date=YYYY-MM-DD), with
the rows DuckDB writes, so a cluster job's history is read a day at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from mql.batch.asof import AsOf
from mql.batch.engines import Inputs, connect
from mql.model.spec import Model
from mql.records import Account, Contact, Event

pytestmark = pytest.mark.spark


def _rows(path: Path) -> list[tuple[Any, ...]]:
    table = pq.read_table(path, columns=["contact", "as_of", "intent", "total", "mql"])
    return sorted((r["contact"], r["as_of"].replace(tzinfo=None), round(r["intent"], 9),
                   round(r["total"], 9), r["mql"]) for r in table.to_pylist())


def test_a_daily_history_is_written_in_one_folder_per_day(
        spark_session: Any, example_model: Model, tmp_path: Path) -> None:
    jane = Contact("jane@acme.example", "acme.example", {"department": "marketing"})
    bob = Contact("bob@beta.example", "beta.example")
    # jane's demo request on March 1st at 10:00 counts from the history's second day on
    demo = Event("e1", "demo_request", datetime(2026, 3, 1, 10, tzinfo=UTC),
                 contact="jane@acme.example")
    inputs = Inputs([jane, bob], [Account("acme.example"), Account("beta.example")], [demo])
    days = AsOf.daily(date(2026, 3, 1), date(2026, 3, 3))
    spark = connect("spark", session=spark_session)
    summary = spark.export(example_model, inputs, days, tmp_path / "history.parquet")
    duck = connect("duckdb")
    duck.export(example_model, inputs, days, tmp_path / "duckdb.parquet")
    duck.close()

    assert (summary.rows, summary.contacts) == (6, 2)
    folders = sorted(p.name for p in (tmp_path / "history.parquet").iterdir() if p.is_dir())
    assert folders == ["date=2026-03-01", "date=2026-03-02", "date=2026-03-03"]
    one_day = _rows(tmp_path / "history.parquet" / "date=2026-03-02")
    assert [(r[0], r[1]) for r in one_day] == [
        ("bob@beta.example", datetime(2026, 3, 2)), ("jane@acme.example", datetime(2026, 3, 2))]
    rows = _rows(tmp_path / "history.parquet")
    assert rows == _rows(tmp_path / "duckdb.parquet")
    jane_intent = [r[2] for r in rows if r[0] == "jane@acme.example"]
    assert jane_intent[0] == 0.0 and jane_intent[1] > 0  # not yet, then the demo counts
