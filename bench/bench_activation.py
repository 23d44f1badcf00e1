"""Model activation on a store holding a synthetic world: the dry run from the DuckDB batch
engine and the switch by one bulk re-derivation, against the previous implementation
(`method="replay"`: re-derive 1000 contacts at a time, decide, and roll back for a dry run)
in the same run. `ratio` is the speed-up: baseline seconds / new seconds.

The world is ingested once (SQLite workspace); each real activation runs on its own copy
of the database file, so both methods start from the same store.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mql.identity.merge import IdentityRules
from mql.service.activation import Activation, Method
from mql.service.ingest import ingest_file
from mql.service.store import activate_version, init_workspace
from mql.service.synth import write_world
from mql.store import models as model_store
from mql.store.db import connect
from mql.store.tables import contacts, events

START = datetime(2025, 1, 1, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("activation")
    group.add_argument("--activation-accounts", type=int, default=900,
                       help="accounts of the synthetic world (default 900: ~2,000 contacts)")
    group.add_argument("--activation-months", type=int, default=6,
                       help="months of events in the world (default 6: ~80,000 events)")


def _next_model(text: str) -> str:
    """A model change: looser thresholds, a stricter exit line, a stronger account surge."""
    return (text.replace("- {fit: 50, intent: 30}", "- {fit: 50, intent: 15}")
            .replace("  below: {intent: 15}", "  below: {intent: 25}")
            .replace("value: 70}\n      points: 10", "value: 70}\n      points: 25")
            .replace('version: "', 'version: "next-', 1))


def _timed(url: str, version: int, now: datetime, *, dry_run: bool, method: Method
           ) -> tuple[float, Activation]:
    engine = connect(url)
    try:
        began = time.perf_counter()
        done = activate_version(engine, version, now=now, dry_run=dry_run, method=method)
        return time.perf_counter() - began, done
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mql-bench-activation-") as tmp:
        root = Path(tmp)
        write_world(root / "world", accounts=args.activation_accounts,
                    months=args.activation_months, seed=7, start=START)
        now = START + timedelta(days=round(30.44 * args.activation_months) + 1)  # world's end
        ws = init_workspace(root / "ws", now=START)
        engine = connect(ws.database_url)
        for kind in ("accounts", "contacts", "events"):
            ingest_file(engine, root / "world" / f"{kind}.csv", kind, rules=IdentityRules(),
                        now=now)
        text = _next_model(ws.model_path.read_text())
        with engine.begin() as conn:
            version = model_store.save_version(conn, "b2b_saas", "next", text,
                                               source="next.yaml", now=now)
            people = conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar()
            ledger = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar()
        engine.dispose()
        size = {"contacts": people, "events": ledger}
        db = Path(ws.database_url.removeprefix("sqlite:///"))

        # dry runs change nothing: the same store, best of two runs each
        dry: dict[str, tuple[float, Activation]] = {}
        for method in ("batch", "replay"):
            runs = [_timed(ws.database_url, version, now, dry_run=True, method=method)
                    for _ in range(2)]
            dry[method] = (min(s for s, _ in runs), runs[0][1])
        assert dry["batch"][1] == dry["replay"][1], "the dry runs disagree"
        (new, done), (old, _) = dry["batch"], dry["replay"]
        results.append({"bench": "activation", "metric": "dry_run_seconds",
                        "value": round(new, 3), "unit": "s", "baseline": round(old, 3),
                        "ratio": round(old / new, 2), **size,
                        "transitions": done.transitions,
                        "newly_qualified": len(done.newly_qualified),
                        "no_longer_qualified": len(done.no_longer_qualified),
                        "baseline_is": "replay each chunk of contacts, decide, roll back",
                        "ratio_is": "speed-up (baseline s / new s)"})

        # real activations: each on its own copy of the store
        real: dict[str, tuple[float, Activation]] = {}
        for method in ("batch", "replay"):
            copy = root / f"{method}.db"
            shutil.copyfile(db, copy)
            real[method] = _timed(f"sqlite:///{copy}", version, now, dry_run=False,
                                  method=method)
        assert real["batch"][1] == real["replay"][1], "the activations disagree"
        (new, done), (old, _) = real["batch"], real["replay"]
        results.append({"bench": "activation", "metric": "activate_seconds",
                        "value": round(new, 3), "unit": "s", "baseline": round(old, 3),
                        "ratio": round(old / new, 2), **size,
                        "transitions": done.transitions,
                        "baseline_is": "replay each chunk of contacts (a query per chunk)",
                        "ratio_is": "speed-up (baseline s / new s)"})
    return results
