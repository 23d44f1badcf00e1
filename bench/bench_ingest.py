"""Events/s of file ingest with identity resolution and scoring, into SQLite and PostgreSQL,
against a plain bulk insert of the same rows into the same kind of database (no identity,
no scoring) in the same run; plus identity precision/recall on a dirty world.

PostgreSQL runs when `--ingest-pg URL` is given, or (`auto`, the default) when the server
binaries are installed: then a throwaway cluster is started as for the tests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mql.identity.merge import IdentityRules
from mql.ingest.mapping import read_records
from mql.records import Event
from mql.service.ingest import ingest_file
from mql.service.store import init_workspace
from mql.service.synth import write_world
from mql.store.db import connect
from mql.store.events import StoredEvent, insert_events
from mql.store.migrate import upgrade

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ingest")
    group.add_argument("--ingest-accounts", type=int, default=1000,
                       help="accounts in the synthetic world (default 1000)")
    group.add_argument("--ingest-months", type=int, default=6, help="months (default 6)")
    group.add_argument("--ingest-pg", default="auto",
                       help="PostgreSQL URL, 'auto' (throwaway cluster if installed) or 'off'")


def _baseline(url: str, events_file: Path) -> tuple[int, float]:
    """Parse the file and bulk insert its rows, 1,000 per transaction, nothing else."""
    engine = connect(url)
    upgrade(engine)
    started = time.perf_counter()
    batch: list[StoredEvent] = []
    seen: set[str] = set()
    count = 0
    for _, item in read_records(events_file, "events"):
        if not isinstance(item, Event) or item.event_id in seen:
            continue
        seen.add(item.event_id)
        batch.append(StoredEvent(item, None, None, "bench"))
        if len(batch) == 1000:
            with engine.begin() as conn:
                insert_events(conn, batch, now=NOW)
            count += len(batch)
            batch = []
    with engine.begin() as conn:
        insert_events(conn, batch, now=NOW)
    count += len(batch)
    seconds = time.perf_counter() - started
    engine.dispose()
    return count, seconds


def _ours(url: str, world: Path, folder: Path) -> tuple[int, float]:
    init_workspace(folder, now=NOW, database_url=url)
    engine = connect(url)
    rules = IdentityRules()
    for kind in ("accounts", "contacts"):
        ingest_file(engine, world / f"{kind}.csv", kind, rules=rules, now=NOW)  # type: ignore[arg-type]
    summary = ingest_file(engine, world / "events.csv", "events", rules=rules, now=NOW)
    engine.dispose()
    return summary.loaded, summary.seconds


@contextmanager
def _postgres(option: str) -> Iterator[Any]:
    if option == "off":
        yield None
        return
    if option != "auto":
        yield lambda: option
        return
    from tests.postgres import Cluster, _binary

    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        yield None
        return
    cluster = Cluster(initdb, pg_ctl)
    try:
        yield cluster.new_database
    finally:
        cluster.stop()


def _result(backend: str, loaded: int, seconds: float, base: tuple[int, float]
            ) -> dict[str, Any]:
    rate, base_rate = loaded / seconds, base[0] / base[1]
    return {"bench": "ingest", "metric": f"events_per_second_{backend}", "value": round(rate),
            "unit": "events/s", "baseline": round(base_rate), "ratio": round(rate / base_rate, 3),
            "events": loaded, "baseline_what": "parse + bulk insert, no identity or scoring"}


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mql-bench-") as tmp:
        root = Path(tmp)
        world = root / "world"
        write_world(world, accounts=args.ingest_accounts, months=args.ingest_months, seed=5)
        base = _baseline(f"sqlite:///{root / 'base.db'}", world / "events.csv")
        ours = _ours(f"sqlite:///{root / 'ours.db'}", world, root / "ws-sqlite")
        results.append(_result("sqlite", *ours, base))
        with _postgres(args.ingest_pg) as new_url:
            if new_url is not None:
                base = _baseline(new_url(), world / "events.csv")
                ours = _ours(new_url(), world, root / "ws-pg")
                results.append(_result("postgresql", *ours, base))
        dirty = root / "dirty"
        write_world(dirty, accounts=300, months=4, seed=11, dirty=0.1)
        from tests.identity.quality import account_quality, duplicate_quality

        dup = duplicate_quality(dirty, root / "ws-dirty", IdentityRules())
        acc = account_quality(dirty)
        for name, q in (("duplicate_merging", dup), ("lead_to_account", acc)):
            results.append({"bench": "ingest", "metric": f"{name}_precision",
                            "value": round(q.precision, 4), "unit": "ratio"})
            results.append({"bench": "ingest", "metric": f"{name}_recall",
                            "value": round(q.recall, 4), "unit": "ratio"})
    return results
