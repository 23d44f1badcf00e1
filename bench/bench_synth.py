"""Synthetic world generation speed (events/s) and peak memory.

The world is written by `mql.service.synth.write_world` in a child process, so its peak
resident memory (RSS) is measured alone. The baseline, in this process, writes the same
number of pre-built event rows with the same writer: the ratio (generation / baseline)
says how much of the writing speed is left once the world has to be generated too.

    python -m bench --only synth --synth-accounts 20000 --synth-months 12
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mql.ingest.formats import event_to_row
from mql.ingest.writers import open_writer
from mql.service.synth import TABLES
from mql.synthetic import World, WorldParameters

_CHILD = """
import json, sys
from pathlib import Path
from mql.service.synth import write_world
s = write_world(Path(sys.argv[1]), accounts=int(sys.argv[2]), months=int(sys.argv[3]),
                seed=int(sys.argv[4]), fmt=sys.argv[5])
print(json.dumps({"events": s.events, "seconds": s.seconds}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("synth")
    group.add_argument(
        "--synth-accounts",
        type=int,
        default=2000,
        help="accounts in the generated world (default 2000)",
    )
    group.add_argument(
        "--synth-months",
        type=int,
        default=12,
        help="months of history in the generated world (default 12)",
    )
    group.add_argument(
        "--synth-format",
        default="csv",
        choices=("csv", "parquet", "jsonl"),
        help="file format written (default csv)",
    )


def _generate(folder: Path, accounts: int, months: int, fmt: str) -> tuple[int, float, float]:
    """(events, seconds, peak RSS in MB) of one `write_world` in a child process."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder), str(accounts), str(months), "1", fmt],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout)
    # ru_maxrss is in KiB on Linux: the largest child waited for so far
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return int(result["events"]), float(result["seconds"]), peak


def _baseline(folder: Path, rows: int, fmt: str) -> float:
    """Rows/s of writing `rows` pre-built event rows with the same writer."""
    world = World(WorldParameters(accounts=200, months=3), random.Random(2))
    sample = [event_to_row(e) for piece in world.accounts() for e in piece.clean_events]
    began = time.perf_counter()
    with open_writer(folder / f"baseline.{fmt}", fmt, TABLES["events"]) as writer:
        writer.write_many(itertools.islice(itertools.cycle(sample), rows))
    return rows / (time.perf_counter() - began)


def _generate_only(accounts: int, months: int) -> float:
    """Events/s of generating (not writing) a world of this size, capped at 400 accounts."""
    world = World(WorldParameters(accounts=min(accounts, 400), months=months), random.Random(1))
    began = time.perf_counter()
    events = sum(len(piece.events) for piece in world.accounts())
    return events / (time.perf_counter() - began)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    accounts, months, fmt = args.synth_accounts, args.synth_months, args.synth_format
    size = {"accounts": accounts, "months": months, "format": fmt}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events, seconds, peak = _generate(folder / "world", accounts, months, fmt)
        speed = events / seconds
        baseline = _baseline(folder, events, fmt)
    generate_only = _generate_only(accounts, months)
    return [
        {
            "bench": "synth",
            "metric": "generate_and_write",
            "value": round(speed),
            "unit": "events/s",
            "baseline": round(baseline),
            "ratio": round(speed / baseline, 3),
            "events": events,
            **size,
        },
        {
            "bench": "synth",
            "metric": "generate_only",
            "value": round(generate_only),
            "unit": "events/s",
            "baseline": round(baseline),
            "ratio": round(generate_only / baseline, 3),
            **size,
        },
        {
            "bench": "synth",
            "metric": "peak_rss",
            "value": round(peak, 1),
            "unit": "MB",
            "events": events,
            **size,
        },
    ]
