"""The Spark plan reads the events once: the per-event matrix that the contact and the
account sums both read is computed once (a checkpointed view), not once per reference."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from mql.batch.asof import AsOf
from mql.batch.compile import compile_model
from mql.batch.engines import Inputs, connect
from mql.model.spec import Model
from mql.records import Account, Contact

pytestmark = pytest.mark.spark


def test_an_account_level_model_scans_the_events_file_once(
        spark_session: Any, example_model: Model, tmp_path: Path) -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    compiled = compile_model(example_model, AsOf.at(at), "spark", unique_ids=True)
    reads = Counter(t.name for t in compiled.find_all(exp.Table))
    assert reads["m"] == 2  # as compiled, the matrix is read by the contact and account sums
    events = tmp_path / "events.parquet"
    pq.write_table(pa.table({
        "event_id": ["e1", "e2"], "type": ["demo_request", "page_view"],
        "timestamp": ["2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"],
        "email": ["jane@acme.example", "jane@acme.example"], "anonymous_id": [None, None],
        "account": ["acme.example", "acme.example"], "properties": ["{}", "{}"]}), events)
    engine = connect("spark", session=spark_session)
    inputs = Inputs([Contact("jane@acme.example", "acme.example")], [Account("acme.example")],
                    events)
    engine._load(example_model, inputs)  # type: ignore[attr-defined]
    query = engine._query(example_model, AsOf.at(at))  # type: ignore[attr-defined]
    try:
        plan = query._jdf.queryExecution().executedPlan().toString()
        # the events were scanned once, into the matrix, before the query; the query reads
        # that result twice (it scanned and windowed the events file twice before)
        scans = plan.count("FileScan parquet")
        assert scans == 0 and plan.count("Scan ExistingRDD") == 2, plan
        rows = query.collect()
    finally:
        engine._release()  # type: ignore[attr-defined]
    assert [r["contact"] for r in rows] == ["jane@acme.example"]
    assert rows[0]["intent"] > 0  # the demo request counts
