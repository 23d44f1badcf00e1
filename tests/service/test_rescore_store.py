"""The batch engine reading the store agrees with the store's streaming scores."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mql.batch.asof import AsOf
from mql.identity.merge import IdentityRules
from mql.service.ingest import ingest_file
from mql.service.rescore import rescore_store
from mql.service.scores import list_scores
from mql.service.scoring import sample_inputs

AT = datetime(2026, 11, 20, tzinfo=UTC)


def test_rescore_from_the_store_equals_the_streaming_scores(store: Engine, store_url: str,
                                                            tmp_path: Path) -> None:
    _, sample = sample_inputs()
    for kind, path in (("accounts", sample.accounts), ("contacts", sample.contacts),
                       ("events", sample.events)):
        assert path is not None
        ingest_file(store, path, kind, rules=IdentityRules(), now=AT)
    streaming = {d.contact: d for d in list_scores(store, at=AT)}
    out = tmp_path / "scores.csv"
    run = rescore_store(store_url, out=out, as_of=AsOf.at(AT), fmt="csv")
    with out.open() as handle:
        rows = {r["contact"]: r for r in csv.DictReader(handle)}
    assert run.summary.contacts == len(streaming) == len(rows)
    for email, d in streaming.items():
        row = rows[email]
        assert float(row["total"]) == pytest.approx(d.total, rel=1e-9, abs=1e-9)
        assert (row["mql"] == "true") == d.mql
        assert row["grade"] == d.grade
