"""The synthetic world's outcome files load whole, once, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import random
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


def test_the_worlds_records_load_as_rows_the_same_as_its_files(store: Engine,
                                                               tmp_path: Path) -> None:
    """`load_rows` (what an in-process demo uses) reads records as the files' rows."""
    from mql.service import outcomes
    from mql.service.synth import record_row
    from mql.synthetic import DEFAULT_START, World, WorldParameters

    world = World(WorldParameters(accounts=60, months=6, start=DEFAULT_START),
                  random.Random(0))
    pieces = list(world.accounts())
    world_dir = tmp_path / "files"
    write_world(world_dir, accounts=60, months=6, seed=0)
    for kind in ("accounts", "contacts"):
        ingest_service.ingest_file(store, world_dir / f"{kind}.csv", kind, rules=RULES, now=NOW)
    opportunities = [record_row(o) for p in pieces for o in p.opportunities]
    summary = outcomes.load_rows(store, "opportunities", opportunities, rules=RULES, now=NOW,
                                 source="world")
    assert (summary.loaded, summary.quarantined) == (len(opportunities), 0)
    again = ingest(store, world_dir / "opportunities.csv", "opportunities")
    assert (again.loaded, again.duplicates) == (0, len(opportunities))
    bad = outcomes.load_rows(store, "costs", [{"month": "2025-1", "channel": "x", "spend": 1}],
                             rules=RULES, now=NOW, source="world")
    [held] = [q for q in rows(store, "quarantine") if q["kind"] == "costs"]
    assert (bad.quarantined, held["source"], held["row"], held["field"]) == (
        1, "world", 1, "month")
