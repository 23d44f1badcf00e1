"""`mql calibrate` on a synthetic world loaded into SQLite the way a company loads its
exports: wall time and peak memory (the resident set's high-water mark of a fresh
process that runs only the calibration), with the contacts x days of the daily series.

    python -m bench --only calibrate --calibrate-accounts 150 --calibrate-months 6
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from mql.identity.merge import IdentityRules
from mql.service import ingest as ingest_service
from mql.service import outcomes
from mql.service.calibration import run_calibration
from mql.service.synth import write_world
from mql.store import contacts as contact_store
from mql.store.db import connect
from mql.store.migrate import upgrade
from mql.store.models import activate, save_version
from mql.synthetic.params import DEFAULT_START


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("calibrate")
    group.add_argument("--calibrate-accounts", type=int, default=150,
                       help="accounts of the world calibrated on (default 150)")
    group.add_argument("--calibrate-months", type=int, default=6)
    group.add_argument("--calibrate-seed", type=int, default=5)


def _load(url: str, folder: Path, accounts: int, months: int, seed: int) -> Any:
    engine = connect(url)
    upgrade(engine)
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    with engine.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "1", text, source="b2b-saas.yaml",
                                    now=DEFAULT_START), now=DEFAULT_START)
    write_world(folder, accounts=accounts, months=months, seed=seed)
    end = DEFAULT_START + timedelta(days=31 * months + 1)
    rules = IdentityRules()
    for kind in ("accounts", "contacts", "events"):
        ingest_service.ingest_file(engine, folder / f"{kind}.csv", kind, rules=rules, now=end)
    for kind in ("opportunities", "dispositions"):
        outcomes.ingest_outcomes(engine, folder / f"{kind}.csv", kind,  # type: ignore[arg-type]
                                 rules=rules, now=end)
    engine.dispose()
    return end


def _calibrate(url: str, end: Any, answer: Any) -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    run = run_calibration(connect(url), now=end)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    answer.put({"seconds": seconds, "peak_mb": peak / 1024, "start_mb": base / 1024,
                "outreaches": run.outreaches,
                "days": (run.period.last - run.period.first).days + 2})


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="mql-bench-calibrate-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'store.db'}"
        end = _load(url, Path(scratch) / "world", args.calibrate_accounts,
                    args.calibrate_months, args.calibrate_seed)
        with connect(url).connect() as conn:
            people = len(contact_store.live_contact_ids(conn))
        spawn = multiprocessing.get_context("spawn")  # a fresh process: its own peak
        answer = spawn.Queue()
        child = spawn.Process(target=_calibrate, args=(url, end, answer))
        child.start()
        got = answer.get()
        child.join()
    size = {"accounts": args.calibrate_accounts, "months": args.calibrate_months,
            "contacts": people, "days": got["days"], "outreaches": got["outreaches"]}
    return [
        {"bench": "calibrate", "metric": "seconds", "value": round(got["seconds"], 2),
         "unit": "s", **size},
        {"bench": "calibrate", "metric": "peak_memory", "value": round(got["peak_mb"], 1),
         "unit": "MB", "process_start_mb": round(got["start_mb"], 1), **size},
    ]
