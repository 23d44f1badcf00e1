"""Opportunities/s of `mql ingest opportunities` (identity resolution of the primary
contact and the contact roles, stage history, hand-off links) against plain event ingest
(`mql ingest events`, identity and scoring) in the same run, on SQLite.

The store holds contacts at companies, their touches (the event ingest measured) and MQL
moves for a share of them; then one file of opportunities (each with a primary contact,
a second contact role and a stage history), then a second file of partial stage changes
(id, stage, updated_at) for half of them, as a weekly CRM export brings them.

    python -m bench --only outcomes --outcomes-opportunities 20000
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mql.identity.merge import IdentityRules
from mql.service.ingest import ingest_file
from mql.service.outcomes import ingest_outcomes
from mql.service.store import init_workspace
from mql.store import tables as t
from mql.store.db import connect

START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
RULES = IdentityRules()
STAGES = ["discovery", "demo", "proposal", "negotiation"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("outcomes")
    group.add_argument("--outcomes-opportunities", type=int, default=5000,
                       help="opportunities in the file (default 5,000; 4 contacts and "
                       "~8 events each)")


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rng = random.Random(14)
    n = args.outcomes_opportunities
    contacts = 4 * n
    with tempfile.TemporaryDirectory(prefix="mql-bench-outcomes-") as tmp:
        folder = Path(tmp)
        events = []
        for i in range(contacts):
            at = START + timedelta(days=rng.random() * 300)
            for k in range(2):
                events.append([f"e{i}-{k}", "page_view" if k == 0 else "content_download",
                               f"p{i}@c{i // 4}.example",
                               (at + timedelta(hours=k)).isoformat()])
        events_file = _write(folder / "events.csv", ["event_id", "type", "email", "timestamp"],
                             events)
        deals, changes = [], []
        for i in range(n):
            opened = START + timedelta(days=rng.random() * 300)
            history = [{"stage": s, "at": (opened + timedelta(days=3 * k)).isoformat()}
                       for k, s in enumerate(STAGES[:rng.randint(1, 4)])]
            deals.append([f"o{i}", f"c{i}.example", f"Deal {i}", "platform",
                          round(rng.uniform(5000, 90000), 2), opened.isoformat(),
                          history[-1]["stage"], f"p{4 * i}@c{i}.example",
                          json.dumps([{"email": f"p{4 * i + 1}@c{i}.example",
                                       "role": "champion"}]), json.dumps(history)])
            if i % 2 == 0:
                changes.append([f"o{i}", rng.choice(["closed_won", "closed_lost"]),
                                (opened + timedelta(days=40)).isoformat()])
        deals_file = _write(folder / "opportunities.csv", [
            "opportunity_id", "account", "name", "product", "amount", "created_at", "stage",
            "primary_contact", "contacts", "stage_history"], deals)
        changes_file = _write(folder / "changes.csv", ["opportunity_id", "stage",
                                                       "updated_at"], changes)
        ws = init_workspace(folder / "ws", now=START)
        engine = connect(ws.database_url)
        try:
            began = time.perf_counter()
            ev = ingest_file(engine, events_file, "events", rules=RULES, now=NOW)
            events_seconds = time.perf_counter() - began
            with engine.begin() as conn:  # a quarter of the contacts became MQLs
                version = conn.execute(sa.select(t.model_versions.c.id).where(
                    t.model_versions.c.active)).scalar_one()
                ids = conn.execute(sa.select(t.contacts.c.id, t.contacts.c.created_at)
                                   ).all()
                conn.execute(t.lifecycle_history.insert(), [
                    {"contact_id": cid, "from_stage": "captured", "to_stage": "mql",
                     "at": START + timedelta(days=rng.random() * 300), "cause": "threshold",
                     "model_version_id": version, "actor": "bench"}
                    for cid, _ in ids if rng.random() < 0.25])
            began = time.perf_counter()
            opp = ingest_outcomes(engine, deals_file, "opportunities", rules=RULES, now=NOW)
            opp_seconds = time.perf_counter() - began
            began = time.perf_counter()
            upd = ingest_outcomes(engine, changes_file, "opportunities", rules=RULES, now=NOW)
            upd_seconds = time.perf_counter() - began
            with engine.connect() as conn:
                links = conn.execute(sa.select(sa.func.count()).select_from(
                    t.opportunity_links)).scalar_one()
        finally:
            engine.dispose()
    if (opp.loaded, opp.quarantined, upd.loaded) != (n, 0, len(changes)):
        raise AssertionError(f"opportunities did not all land: {opp} {upd}")
    events_rate = ev.rows / events_seconds
    size = {"opportunities": n, "contacts": contacts, "events": ev.rows, "links": links}
    return [
        {"bench": "outcomes", "metric": "opportunities_per_second", "value": n / opp_seconds,
         "unit": "rows/s", "baseline": events_rate, "ratio": n / opp_seconds / events_rate,
         "baseline_is": "events/s of `mql ingest events` into the same store", **size},
        {"bench": "outcomes", "metric": "stage_changes_per_second",
         "value": len(changes) / upd_seconds, "unit": "rows/s", "baseline": events_rate,
         "ratio": len(changes) / upd_seconds / events_rate,
         "baseline_is": "events/s of `mql ingest events` into the same store", **size},
    ]
