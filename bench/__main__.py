"""Run the benchmarks and print one JSON object per result line (machine readable).

Each benchmark module in this folder is named ``bench_<name>.py`` and exposes
``add_arguments(parser)`` and ``run(args) -> Iterable[dict]``. Every result dict holds at
least ``bench``, ``metric``, ``value`` and ``unit``; a result measured against a baseline
in the same run also holds ``baseline`` and ``ratio`` (machines are noisy: compare ratios).

Each result line is printed (and flushed) as soon as its benchmark has it, so a run that
fails or is stopped late keeps every line printed before. A benchmark that raises prints
one result line with ``"metric": "error"``, ``"ok": false`` and the error, and the run goes
on with the next benchmark. The last line is the summary (``"bench": "summary"``: how many
benchmarks ran, results, the failed benchmarks and the seconds each took); the exit
status is 1 when a benchmark failed.

    python -m bench                       # every benchmark, default sizes
    python -m bench --only scoring --events 500000
    python -m bench > results.jsonl       # the summary also goes to stderr, readable
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any


def _modules() -> dict[str, str]:
    here = Path(__file__).parent
    return {
        info.name.removeprefix("bench_"): f"bench.{info.name}"
        for info in pkgutil.iter_modules([str(here)])
        if info.name.startswith("bench_")
    }


def _emit(result: Mapping[str, Any]) -> None:
    print(json.dumps(result, sort_keys=True, default=str), flush=True)


def main(argv: list[str] | None = None,
         modules: Mapping[str, ModuleType] | None = None) -> int:
    """Run the chosen benchmarks (`modules`: name -> module, by default this folder's)."""
    if modules is None:
        modules = {name: importlib.import_module(path) for name, path in _modules().items()}
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=sorted(modules),
                        help="run only this benchmark (repeatable)")
    for module in modules.values():
        module.add_arguments(parser)
    args = parser.parse_args(argv)
    chosen = args.only or sorted(modules)
    failed: list[str] = []
    seconds: dict[str, float] = {}
    count = 0
    for name in chosen:
        started = time.perf_counter()
        try:
            for result in modules[name].run(args):
                _emit(result)
                count += 1
        except Exception as error:  # one benchmark's failure is its own line
            failed.append(name)
            last = traceback.extract_tb(error.__traceback__)[-1]
            _emit({"bench": name, "metric": "error", "value": None, "unit": None,
                   "ok": False, "error": f"{type(error).__name__}: {error}",
                   "where": f"{Path(last.filename).name}:{last.lineno}"})
        seconds[name] = round(time.perf_counter() - started, 3)
    summary = {"bench": "summary", "metric": "failed", "value": len(failed),
               "unit": "benchmarks", "ok": not failed, "benchmarks": len(chosen),
               "results": count, "failed": failed, "seconds": seconds}
    _emit(summary)
    print(f"bench: {len(chosen)} benchmarks, {count} results, "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}",
          file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
