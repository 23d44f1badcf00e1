"""`make mutate`: mutation testing of the core packages with mutmut, scored per package.

    python tools/mutate.py [PACKAGE ...] [--children N] [--report-only]

For each package (default: every core package) mutmut mutates it and runs, for each mutant,
the fast tests that reach the mutated function (configured in pyproject.toml,
[tool.mutmut]). The score of a package is killed / (killed + survived), without the
mutants listed in tools/equivalent_mutants.txt (each with the reason it cannot be killed:
it changes no behaviour). Surviving mutants are printed by name; `mutmut show NAME` shows
the change. The results stay in mutants/ (not committed), so a second run only tests
what changed. Exit status 1 when a package scores under the target (90%).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

CORE = ["scoring", "lifecycle", "routing", "identity", "model"]
TARGET = 0.90
ROOT = Path(__file__).resolve().parents[1]
ALLOW = ROOT / "tools" / "equivalent_mutants.txt"


def equivalent() -> dict[str, str]:
    """The allow-list: `mutant name  # reason` per line."""
    found: dict[str, str] = {}
    for line in ALLOW.read_text().splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            found[name.strip()] = reason.strip()
    return found


def results(package: str) -> dict[str, str]:
    """Every mutant of `package` and its status (killed, survived, timeout ...)."""
    from mutmut.stats import status_by_exit_code

    out: dict[str, str] = {}
    for meta in sorted((ROOT / "mutants" / "src" / "mql" / package).rglob("*.py.meta")):
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            out[key] = status_by_exit_code[code]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=CORE)
    parser.add_argument("--children", type=int, default=2, help="parallel mutant runs")
    parser.add_argument("--report-only", action="store_true", help="score the last run")
    args = parser.parse_args(argv)
    allow = equivalent()
    failed = False
    for package in args.packages:
        if package not in CORE:
            parser.error(f"{package!r} is not a core package ({', '.join(CORE)})")
        if not args.report_only:
            subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                            str(args.children), f"mql.{package}*"], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL)
        status = results(package)
        counted = {k: s for k, s in status.items() if k not in allow}
        count = Counter(counted.values())
        killed = count["killed"] + count["timeout"] + count["caught by type check"]
        scored = killed + count["survived"]
        score = killed / scored if scored else 0.0
        failed |= score < TARGET
        others = {s: n for s, n in count.items()
                  if s not in ("killed", "survived", "timeout", "caught by type check")}
        print(f"mql.{package}: {score:.1%} of {scored} non-equivalent mutants killed "
              f"({killed} killed, {count['survived']} survived, "
              f"{len(status) - len(counted)} equivalent{', ' if others else ''}"
              f"{', '.join(f'{n} {s}' for s, n in others.items())})"
              f"{'' if score >= TARGET else f'  < target {TARGET:.0%}'}")
        for key in sorted(k for k, s in counted.items() if s == "survived"):
            print(f"  survived {key}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
