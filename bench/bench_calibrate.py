"""`mql calibrate` on a synthetic world loaded into SQLite the way a company loads its
exports: wall time and peak memory (the resident set's high-water mark of a fresh
process that runs only the calibration, and in a second run the Python heap's peak by
tracemalloc), with the contacts x days of the daily series.

    python -m bench --only calibrate --calibrate-accounts 150 --calibrate-months 6

Then, per world of `--calibrate-oracle-seeds` (`--calibrate-oracle-accounts` companies,
`--calibrate-oracle-months` months): the recommended threshold against the oracle of the
world's ground truth (`tests/learning/oracle.py`), how far off it is, whether it lands
within 5%, and the odds that calibration on that many outreaches lands within 5% at all
(the outcomes drawn again from the true chances: the estimator's sampling variance).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
import tracemalloc
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
    group.add_argument("--calibrate-oracle-accounts", type=int, default=400,
                       help="accounts of each world judged against its oracle (default 400)")
    group.add_argument("--calibrate-oracle-months", type=int, default=12)
    group.add_argument("--calibrate-oracle-seeds", default="1,2,3,4,5",
                       help="seeds of the worlds judged against their oracle ('' for none)")


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


def _calibrate(url: str, end: Any, answer: Any, traced: bool) -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    run = run_calibration(connect(url), now=end)
    seconds = time.perf_counter() - started
    heap = tracemalloc.get_traced_memory()[1] if traced else 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    answer.put({"seconds": seconds, "peak_mb": peak / 1024, "start_mb": base / 1024,
                "heap_mb": heap / 2**20, "outreaches": run.outreaches,
                "days": (run.period.last - run.period.first).days + 2})


def _oracle(accounts: int, months: int, seed: int) -> dict[str, Any]:
    from tests.learning.oracle import landing_odds, oracle_threshold

    with tempfile.TemporaryDirectory(prefix="mql-bench-oracle-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'store.db'}"
        world = Path(scratch) / "world"
        end = _load(url, world, accounts, months, seed)
        run = run_calibration(connect(url), now=end)
        moments = list(run.moments)
        oracle = oracle_threshold(moments, world)
        odds = landing_odds(moments, world)
    found = run.result.recommended
    off = (abs(found - oracle) / abs(oracle) if found is not None and oracle else None)
    return {"bench": "calibrate", "metric": "oracle", "accounts": accounts, "months": months,
            "seed": seed, "outreaches": run.outreaches,
            "conversions": sum(m.converted for m in moments), "recommended": found,
            "interval": None if run.result.interval is None else list(run.result.interval),
            "value": oracle, "unit": "points", "off_by": None if off is None else round(off, 3),
            "within_5pct": off is not None and off <= 0.05, "landing_odds": odds}


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    seeds = [int(s) for s in str(args.calibrate_oracle_seeds).split(",") if s.strip()]
    judged = [_oracle(args.calibrate_oracle_accounts, args.calibrate_oracle_months, seed)
              for seed in seeds]
    if judged:
        judged.append({"bench": "calibrate", "metric": "oracle_landed",
                       "value": sum(j["within_5pct"] for j in judged), "unit": "worlds",
                       "of": len(judged), "expected": round(sum(j["landing_odds"]
                                                                for j in judged), 2)})
    return judged + _size(args)


def _size(args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="mql-bench-calibrate-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'store.db'}"
        end = _load(url, Path(scratch) / "world", args.calibrate_accounts,
                    args.calibrate_months, args.calibrate_seed)
        with connect(url).connect() as conn:
            people = len(contact_store.live_contact_ids(conn))
        spawn = multiprocessing.get_context("spawn")  # a fresh process: its own peak
        answer = spawn.Queue()
        child = spawn.Process(target=_calibrate, args=(url, end, answer, False))
        child.start()
        got = answer.get()
        child.join()
        # again with tracemalloc (slower): the Python heap's peak, which the resident
        # set's peak holds next to DuckDB's and Arrow's own memory
        child = spawn.Process(target=_calibrate, args=(url, end, answer, True))
        child.start()
        heap = answer.get()["heap_mb"]
        child.join()
    size = {"accounts": args.calibrate_accounts, "months": args.calibrate_months,
            "contacts": people, "days": got["days"], "outreaches": got["outreaches"]}
    return [
        {"bench": "calibrate", "metric": "seconds", "value": round(got["seconds"], 2),
         "unit": "s", **size},
        {"bench": "calibrate", "metric": "peak_memory", "value": round(got["peak_mb"], 1),
         "unit": "MB", "process_start_mb": round(got["start_mb"], 1),
         "python_heap_peak_mb": round(heap, 1), **size},
    ]
