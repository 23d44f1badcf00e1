"""The synthetic world's outcome files load whole, once, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy.engine import Engine

from mql.service import ingest as ingest_service
from mql.service.synth import write_world
from tests.outcomes.helpers import NOW, RULES, ingest, rows


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_worlds_opportunities_costs_and_dispositions_land_once(store: Engine,
                                                                 tmp_path: Path) -> None:
    world = tmp_path / "world"
    write_world(world, accounts=60, months=6, seed=0)
    for kind in ("accounts", "contacts"):
        ingest_service.ingest_file(store, world / f"{kind}.csv", kind, rules=RULES, now=NOW)
    opportunities = _read(world / "opportunities.csv")
    costs = _read(world / "costs.csv")
    dispositions = _read(world / "dispositions.csv")
    assert opportunities and costs and dispositions

    summary = ingest(store, world / "opportunities.csv", "opportunities")
    assert (summary.loaded, summary.quarantined) == (len(opportunities), 0)
    stored = {o["external_id"]: o for o in rows(store, "opportunities")}
    assert set(stored) == {o["opportunity_id"] for o in opportunities}
    for o in opportunities:
        got = stored[o["opportunity_id"]]
        assert (got["status"], got["stage"], got["amount"]) == (
            o["status"], o["stage"], float(o["amount"]))
        assert got["primary_contact_id"] is not None  # every primary contact is a contact
    # one history entry per listed stage change
    changes = sum(len(json.loads(o["stage_history"])) for o in opportunities)
    assert len(rows(store, "opportunity_history")) == changes

    summary = ingest(store, world / "costs.csv", "costs")
    assert (summary.loaded, summary.quarantined) == (len(costs), 0)
    assert round(sum(c["amount"] for c in rows(store, "marketing_costs")), 2) == round(
        sum(float(c["spend"]) for c in costs), 2)

    summary = ingest(store, world / "dispositions.csv", "dispositions")
    assert (summary.loaded, summary.quarantined) == (len(dispositions), 0)
    # an SQL with its time is two dispositions (accepted, then sql)
    two = sum(1 for d in dispositions if d["status"] == "sql" and d["sql_at"])
    assert len(rows(store, "dispositions")) == len(dispositions) + two
    named = sum(1 for d in dispositions if d["opportunity_id"])
    assert sum(1 for d in rows(store, "dispositions") if d["opportunity_id"]) >= named

    for kind in ("opportunities", "costs", "dispositions"):
        again = ingest(store, world / f"{kind}.csv", kind)
        assert (again.loaded, again.quarantined) == (0, 0), kind
