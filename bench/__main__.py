"""Run the benchmarks and print one JSON object per result line (machine readable).

Each benchmark module in this folder is named ``bench_<name>.py`` and exposes
``add_arguments(parser)`` and ``run(args) -> list[dict]``. Every result dict holds at
least ``bench``, ``metric``, ``value`` and ``unit``; a result measured against a baseline
in the same run also holds ``baseline`` and ``ratio`` (machines are noisy: compare ratios).

    python -m bench                       # every benchmark, default sizes
    python -m bench --only scoring --events 500000
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path


def _modules() -> dict[str, str]:
    here = Path(__file__).parent
    return {
        info.name.removeprefix("bench_"): f"bench.{info.name}"
        for info in pkgutil.iter_modules([str(here)])
        if info.name.startswith("bench_")
    }


def main(argv: list[str] | None = None) -> int:
    modules = {name: importlib.import_module(path) for name, path in _modules().items()}
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=sorted(modules),
                        help="run only this benchmark (repeatable)")
    for module in modules.values():
        module.add_arguments(parser)
    args = parser.parse_args(argv)
    for name in args.only or sorted(modules):
        for result in modules[name].run(args):
            print(json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
