"""`make mutate`: mutation testing of the core packages with mutmut, scored per package.

    python tools/mutate.py [PACKAGE[.MODULE] ...] [--children N] [--report-only] [--fresh]
                           [--survivors]

Each package runs on its own: mutmut mutates only that package and runs, for each mutant,
the fast tests of that package (MUTATE_TESTS: its unit tests and its doctests) that reach
the mutated function. Every package works in its own directory, .mutate/PACKAGE (links
to src, tests, docs, examples and a pyproject.toml whose [tool.mutmut] names the package
and its tests), so the results of one package survive a run of another and a second run
only tests what changed (--fresh starts over; --survivors tests only the mutants that
survived the last run, against the tests as they are now: the loop while killing them).
`PACKAGE.MODULE` (model.diff) runs and scores the mutants of one module only: a large
package worked through module by module. A package with no code yet (a new core
package) is reported as such and not scored.
Docstrings are never mutated (mutmut skips triple-quoted strings); messages are: what a
refusal says is behaviour a user reads.

The score of a package is killed / (killed + survived + reached by no test), without the
mutants listed in tools/equivalent_mutants.txt (each with the reason it cannot be killed:
it changes no behaviour). Surviving mutants are printed by name; `mutmut show NAME` in
.mutate/PACKAGE shows the change. Exit status 1 when a package scores under the target (90%).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

CORE = ["scoring", "lifecycle", "routing", "identity", "model", "analytics", "learning",
        "accounts", "compliance", "attribution", "nurture"]
TARGET = 0.90
ROOT = Path(__file__).resolve().parents[1]
ALLOW = ROOT / "tools" / "equivalent_mutants.txt"
WORK = ROOT / ".mutate"
LINKED = ["src", "tests", "docs", "examples", "README.md"]
# a mutant no test reaches is not killed: it counts against the score like a survivor
UNKILLED = ("survived", "no tests")

# the fast tests that judge each package's mutants: its own unit tests and doctests (a
# mutant of the model parser killed only by a worker test is not a model test's merit,
# and every test of the suite parses a model: running them all costs hours)
# (a new package's tests folder may not exist yet: its doctests alone then)
MUTATE_TESTS: dict[str, list[str]] = {
    package: [path for path in (f"tests/{package}", f"src/mql/{package}")
              if (ROOT / path).exists()] for package in CORE
}
# test files of a package's folder that are not its fast tests: they run the package
# through a store, the CLI or the API (a throwaway PostgreSQL, a server, the synthetic
# world's store), seconds to tens of seconds per mutant; the package's own tests judge
# its mutants, these are the faces' and services' tests
MUTATE_IGNORE: dict[str, list[str]] = {
    "accounts": ["tests/accounts/test_account_faces.py", "tests/accounts/test_mqa_faces.py"],
    "compliance": [f"tests/compliance/test_{name}.py" for name in (
        "erasure", "gates", "ingest_consent", "lead_views", "never_contacted", "overlays",
        "retention", "segment_consent")],
    "attribution": ["tests/attribution/test_ledger.py", "tests/attribution/test_bench.py",
                    # the synthetic world's recovery of its channel effects (a 1,500-account
                    # world, 20 s to build): a measurement, not a hand-computed test
                    "tests/attribution/test_recovery.py"],
    "learning": ["tests/learning/test_cli.py", "tests/learning/test_store.py",
                 "tests/learning/test_loop_store.py", "tests/learning/test_synthetic_loop.py"],
}

# single tests of a package's fast folders left out of its mutation runs: measurements
# over a large synthetic world (a minute of replays each time a mutant reaches them) whose
# numbers the hand-computed tests of the same functions pin first
MUTATE_DESELECT: dict[str, list[str]] = {
    "accounts": ["tests/accounts/test_motions_world.py::"
                 "test_most_won_accounts_reach_mqa_before_their_first_mql"],
    "attribution": ["tests/attribution/test_duckdb_counts.py::"
                    "test_the_synthetic_worlds_journeys_at_both_levels"],
}


def equivalent() -> dict[str, str]:
    """The allow-list: `mutant name  # reason` per line."""
    found: dict[str, str] = {}
    for line in ALLOW.read_text().splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            found[name.strip()] = reason.strip()
    return found


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def prepare(package: str) -> Path:
    """The working directory of one package: links to the project, its own mutmut config."""
    work = WORK / package
    work.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = work / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    base = tomllib.loads(text)["tool"]["mutmut"]
    # the project's [tool.mutmut] table, narrowed to one package and its tests
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    ignored = [f"--ignore={path}" for path in MUTATE_IGNORE.get(package, [])]
    ignored += [f"--deselect={test}" for test in MUTATE_DESELECT.get(package, [])]
    config = {**base, "only_mutate": [f"src/mql/{package}/*"],
              "pytest_add_cli_args": [*base["pytest_add_cli_args"], *ignored],
              "pytest_add_cli_args_test_selection": MUTATE_TESTS[package]}
    lines = ["[tool.mutmut]"]
    for key, value in config.items():
        if isinstance(value, list):
            lines.append(f"{key} = {_toml_list([str(v) for v in value])}")
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    generated = text.rstrip() + "\n\n" + "\n".join(lines) + "\n"
    target = work / "pyproject.toml"
    if not target.exists() or target.read_text(encoding="utf-8") != generated:
        target.write_text(generated, encoding="utf-8")
    return work


def results(package: str) -> dict[str, str]:
    """Every mutant of `package` and its status (killed, survived, timeout ...)."""
    from mutmut.stats import status_by_exit_code

    out: dict[str, str] = {}
    mutated = WORK / package / "mutants" / "src" / "mql" / package
    for meta in sorted(mutated.rglob("*.py.meta")):
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            out[key] = status_by_exit_code[code]
    return out


def _to_run(package: str, module: str, prefix: str, allow: dict[str, str], *,
            survivors: bool) -> list[str] | None:
    """The mutant names to give `mutmut run`; None when nothing is left to run. mutmut
    reruns every mutant a name matches, decided or not, so a pattern is given only where
    nothing is decided yet: the whole package runs with no names (mutmut itself skips
    the decided mutants and retests the functions that changed), one module with the
    names of its mutants not checked yet or reached by no test (after a change of its
    source: --fresh)."""
    known = {k: s for k, s in results(package).items() if k.startswith(prefix)}
    if survivors:
        return sorted(k for k, s in known.items() if s in UNKILLED and k not in allow) or None
    if not module:
        return []
    if not known:
        return [f"{prefix}*"]
    # not checked yet, or reached by no test when last run (a new test may reach it now)
    return sorted(k for k, s in known.items() if s in ("not checked", "no tests")) or None


def _has_code(package: str) -> bool:
    """Whether a package has anything to mutate (a new core package starts empty)."""
    for source in (ROOT / "src" / "mql" / package).rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        if re.search(r"(?m)^(def|class|async def) |^[A-Za-z_][A-Za-z0-9_]* *[:=]", text):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=CORE)
    parser.add_argument("--children", type=int, default=2, help="parallel mutant runs")
    parser.add_argument("--report-only", action="store_true", help="score the last run")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--survivors", action="store_true",
                        help="rerun only the mutants that survived the last run")
    args = parser.parse_args(argv)
    allow = equivalent()
    failed = False
    for chosen in args.packages:
        package, _, module = chosen.partition(".")
        if package not in CORE:
            parser.error(f"{package!r} is not a core package ({', '.join(CORE)})")
        if module and not (ROOT / "src" / "mql" / package / f"{module}.py").is_file():
            parser.error(f"{chosen!r}: mql.{package} has no module {module!r}")
        # the mutant names of the package, or of one module: mql.model.diff.x_name__mutmut_3
        prefix = f"mql.{chosen}."
        if not _has_code(package):
            print(f"mql.{package}: nothing to mutate yet (no code in src/mql/{package})",
                  flush=True)
            continue
        took = ""
        if not args.report_only:
            work = prepare(package)
            if args.fresh:
                shutil.rmtree(work / "mutants", ignore_errors=True)
            started = time.monotonic()
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            names = _to_run(package, module, prefix, allow, survivors=args.survivors)
            if names is not None:
                subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                                str(args.children), *names], cwd=work, check=False,
                               stdout=subprocess.DEVNULL, env=env)
            took = f" in {(time.monotonic() - started) / 60:.0f} min"
        status = {k: s for k, s in results(package).items() if k.startswith(prefix)}
        counted = {k: s for k, s in status.items() if k not in allow}
        count = Counter(counted.values())
        killed = count["killed"] + count["timeout"] + count["caught by type check"]
        unkilled = sum(count[s] for s in UNKILLED)
        scored = killed + unkilled
        score = killed / scored if scored else 0.0
        failed |= score < TARGET
        others = {s: n for s, n in count.items() if s not in (
            "killed", "timeout", "caught by type check", *UNKILLED)}
        print(f"mql.{chosen}: {score:.1%} of {scored} non-equivalent mutants killed "
              f"({killed} killed, {count['survived']} survived, "
              f"{count['no tests']} reached by no test, "
              f"{len(status) - len(counted)} equivalent{', ' if others else ''}"
              f"{', '.join(f'{n} {s}' for s, n in others.items())}){took}"
              f"{'' if score >= TARGET else f'  < target {TARGET:.0%}'}", flush=True)
        for key in sorted(k for k, s in counted.items() if s in UNKILLED):
            print(f"  {counted[key]} {key}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
