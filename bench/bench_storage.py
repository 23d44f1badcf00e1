"""What a stored event costs, for the capacity model of docs/scaling.md: bytes per event
on disk (SQLite file, PostgreSQL database; growth over the empty schema) after ingest with
identity and scoring, the PostgreSQL WAL written per event (write amplification), and
events per second of this process's CPU; against the plain bulk insert of the same rows
(no identity, no scoring) in the same run as the baseline.

    python -m bench --only storage                       # ~40,000 events
    python -m bench --only storage --storage-accounts 1500 --storage-months 12
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.bench_ingest import NOW, _baseline, _postgres
from mql.identity.merge import IdentityRules
from mql.service.ingest import ingest_file
from mql.service.store import init_workspace
from mql.service.synth import write_world
from mql.store.db import connect
from mql.store.migrate import upgrade


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("storage")
    group.add_argument("--storage-accounts", type=int, default=500,
                       help="accounts in the synthetic world (default 500)")
    group.add_argument("--storage-months", type=int, default=6, help="months (default 6)")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _wal_lsn(url: str) -> int | None:
    if not url.startswith("postgresql"):
        return None
    engine = connect(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")).scalar_one())
    finally:
        engine.dispose()


def _size(url: str) -> int:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).stat().st_size
    engine = connect(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT pg_database_size(current_database())")).scalar_one())
    finally:
        engine.dispose()


def _ingest(url: str, world: Path, folder: Path) -> dict[str, float]:
    """The whole world ingested as `mql ingest` does (identity, scoring, lifecycle)."""
    init_workspace(folder, now=NOW, database_url=url)
    empty, wal = _size(url), _wal_lsn(url)
    engine = connect(url)
    cpu, began = _cpu(), time.perf_counter()
    rules = IdentityRules()
    for kind in ("accounts", "contacts"):
        ingest_file(engine, world / f"{kind}.csv", kind, rules=rules, now=NOW)  # type: ignore[arg-type]
    summary = ingest_file(engine, world / "events.csv", "events", rules=rules, now=NOW)
    seconds, cpu = time.perf_counter() - began, _cpu() - cpu
    engine.dispose()
    after = _wal_lsn(url)
    return {"events": summary.loaded, "seconds": seconds, "cpu": cpu,
            "bytes": _size(url) - empty,
            "wal": (after - wal) if after is not None and wal is not None else 0}


def _bulk(url: str, world: Path) -> dict[str, float]:
    engine = connect(url)
    upgrade(engine)  # the empty schema's size is not the events'
    engine.dispose()
    empty, wal = _size(url), _wal_lsn(url)
    events, seconds = _baseline(url, world / "events.csv")
    after = _wal_lsn(url)
    return {"events": events, "seconds": seconds, "bytes": _size(url) - empty,
            "wal": (after - wal) if after is not None and wal is not None else 0}


def _results(backend: str, ours: dict[str, float], base: dict[str, float], raw: float
             ) -> list[dict[str, Any]]:
    n, nb = ours["events"], base["events"]
    per, base_per = ours["bytes"] / n, base["bytes"] / nb

    def result(metric: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
        return {"bench": "storage", "metric": f"{metric}_{backend}", "value": round(value, 2),
                "unit": unit, "events": int(n), **extra}

    out = [
        result("bytes_per_event", per, "bytes", baseline="bulk insert of the events only",
               baseline_value=round(base_per, 1), ratio=round(per / base_per, 3),
               csv_bytes_per_event=round(raw, 1)),
        result("events_per_cpu_second", n / ours["cpu"], "events/s",
               wall_events_per_second=round(n / ours["seconds"]),
               note="this process's CPU (the database server's not counted)"),
    ]
    if ours["wal"]:
        out.append(result("wal_bytes_per_event", ours["wal"] / n, "bytes",
                          baseline="bulk insert of the events only",
                          baseline_value=round(base["wal"] / nb, 1),
                          ratio=round((ours["wal"] / n) / (base["wal"] / nb), 3),
                          write_amplification_vs_csv=round(ours["wal"] / n / raw, 2)))
    return out


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mql-bench-storage-") as tmp:
        root = Path(tmp)
        world = root / "world"
        write_world(world, accounts=args.storage_accounts, months=args.storage_months, seed=5)
        lines = max(1, len((world / "events.csv").read_text().splitlines()) - 1)
        raw = (world / "events.csv").stat().st_size / lines
        ours = _ingest(f"sqlite:///{root / 'ours.db'}", world, root / "ws-sqlite")
        base = _bulk(f"sqlite:///{root / 'base.db'}", world)
        results += _results("sqlite", ours, base, raw)
        new_url: Callable[[], str] | None
        with _postgres("auto") as new_url:
            if new_url is not None:
                ours = _ingest(new_url(), world, root / "ws-pg")
                base = _bulk(new_url(), world)
                results += _results("postgresql", ours, base, raw)
    return results
