"""`mql test MODEL`: run the tests a model file carries, through the scoring of `mql score`.

The given rows are read by the same row parser as a contacts, accounts or events file
(mql's own column layout), fed to the same `Scorer`, and decided by the same `Qualifier`:
a test passes exactly when `mql score` on those rows would print what it expects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mql.errors import InputError, ModelError, Problem
from mql.ingest import mapping as mappings
from mql.ingest.files import read_text
from mql.model.spec import TOTAL, Model
from mql.model.testcases import Check, Expectation, ModelTest, Row, parse_tests
from mql.model.yaml_marks import YamlSyntaxError, load
from mql.scoring.qualify import Decision
from mql.service.scoring import model_from_text, scorer_of


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One checked field whose actual value differs from the expected one."""

    field: str
    expected: Any
    actual: Any
    line: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """One expectation of a test, with what was found (no mismatches: it passed)."""

    expectation: Expectation
    mismatches: tuple[Mismatch, ...]
    because: str = ""

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True, slots=True)
class ModelTestResult:
    """One test: its outcomes, one per expectation."""

    test: ModelTest
    source: str
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class ModelTestRun:
    """Every test of a model (in the model file, then in its `.tests.yaml`)."""

    model: Model
    sources: tuple[str, ...]
    results: tuple[ModelTestResult, ...] = field(default=())

    @property
    def failed(self) -> list[ModelTestResult]:
        return [r for r in self.results if not r.passed]


def companion_tests_file(model_path: Path) -> Path:
    """The tests file beside a model: `b2b-saas.yaml` -> `b2b-saas.tests.yaml`."""
    return model_path.with_name(f"{model_path.stem}.tests{model_path.suffix or '.yaml'}")


def _located(text: str, source: str) -> Any:
    try:
        return load(text)
    except YamlSyntaxError as exc:
        raise ModelError([Problem(source, exc.mark.line, exc.mark.column, "",
                                  f"not valid YAML: {exc}")]) from None


def load_tests(model_path: Path) -> tuple[Model, list[tuple[str, ModelTest]]]:
    """The model in `model_path` and its tests, each with the file it is written in.

    `ModelError` (file:line:column) when the model, or a test, is invalid; no tests at all
    is an error too (a model file that tests itself has at least one).
    """
    text = read_text(model_path, "model")
    model = model_from_text(text, model_path)
    scores = (*model.scores, TOTAL)
    found: list[tuple[str, ModelTest]] = []
    source = str(model_path)
    found += [(source, t) for t in parse_tests(_located(text, source), source=source,
                                               scores=scores)]
    beside = companion_tests_file(model_path)
    if beside.is_file():
        other = str(beside)
        located = _located(read_text(beside, "tests"), other)
        if not isinstance(located.data, dict) or "tests" not in located.data:
            raise ModelError([Problem(other, 1, 1, "", "expected a mapping with a tests: list")])
        unknown = [k for k in located.data if k != "tests"]
        if unknown:
            mark = located.mark((str(unknown[0]),), key=True)
            raise ModelError([Problem(other, mark.line, mark.column, str(unknown[0]),
                                      "unknown key; a tests file holds only tests:")])
        found += [(other, t) for t in parse_tests(located, source=other, scores=scores)]
    names: dict[str, str] = {}
    for where, test in found:
        if test.name in names:
            raise ModelError([Problem(where, test.mark.line, test.mark.column, "",
                                      f'another test is already named "{test.name}" '
                                      f"(in {names[test.name]})")])
        names[test.name] = where
    if not found:
        raise ModelError([Problem(source, 1, 1, "", f"no tests: add a tests: list to the model "
                                  f"file or write {beside.name} beside it (docs/model.md, "
                                  "\"A model file that tests itself\")")])
    return model, found


def run_tests(model_path: Path) -> ModelTestRun:
    """Run every test of the model in `model_path`; `ModelError` when a file is invalid
    (a given row that `mql score` would refuse is an error of the tests file)."""
    model, found = load_tests(model_path)
    results = [run_test(model, test, source) for source, test in found]
    sources = tuple(dict.fromkeys(s for s, _ in found))
    return ModelTestRun(model, sources, tuple(results))


def _parsed(rows: Iterable[Row], kind: str, source: str, test: ModelTest,
            problems: list[Problem]) -> list[mappings.Parsed]:
    layout = mappings.builtin("mql")
    out: list[mappings.Parsed] = []
    for i, row in enumerate(rows):
        data = dict(row.data)
        if kind == "events" and data.get("event_id") in (None, ""):
            data["event_id"] = f"{test.name}#{i + 1}"  # ids only need to be unique
        try:
            out.append(mappings.parse(data, kind, layout, source=source, number=row.mark.line))
        except InputError as exc:
            mark = row.field_mark(exc.field)
            problems.append(Problem(source, mark.line, mark.column, f"{test.name}.{kind}[{i}]"
                                    + (f".{exc.field}" if exc.field else ""), exc.reason))
    return out


def run_test(model: Model, test: ModelTest, source: str) -> ModelTestResult:
    """The outcomes of one test (each expectation decided at its own time)."""
    problems: list[Problem] = []
    accounts = _parsed(test.accounts, "accounts", source, test, problems)
    contacts = _parsed(test.contacts, "contacts", source, test, problems)
    events = _parsed(test.events, "events", source, test, problems)
    known = {p.record.email for p in contacts if hasattr(p.record, "email")}
    for e in test.expect:
        if e.contact not in known:
            problems.append(Problem(source, e.mark.line, e.mark.column, f"{test.name}.expect",
                                    f'no contact "{e.contact}" among the test\'s contacts'))
    if problems:
        raise ModelError(problems)
    decisions: dict[datetime, dict[str, Decision]] = {}
    outcomes: list[Outcome] = []
    for expectation in test.expect:
        if expectation.at not in decisions:
            decisions[expectation.at] = decide_all(model, accounts, contacts, events,
                                                   expectation.at)
        decision = decisions[expectation.at][expectation.contact]
        outcomes.append(Outcome(expectation, compare(expectation, decision),
                                decision.because()))
    return ModelTestResult(test, source, tuple(outcomes))


def decide_all(model: Model, accounts: list[mappings.Parsed], contacts: list[mappings.Parsed],
               events: list[mappings.Parsed], at: datetime) -> dict[str, Decision]:
    """Every contact's decision at `at`, from the events up to `at` (as `mql score`)."""
    scorer, records = scorer_of(model, accounts, contacts, events)
    for event in records:
        scorer.add(event, until=at)
    return {email: scorer.decide(email, at) for email in scorer.contacts}


def _names(values: Iterable[str]) -> list[str]:
    return sorted(dict.fromkeys(values))


def actual_value(check: Check, decision: Decision) -> Any:
    """The decision's value of the field `check` names, in the form it is written."""
    name = check.field
    if name == "mql":
        return decision.mql
    if name == "grade":
        return decision.grade
    if name == "because":
        return decision.because()
    if name == "reasons":
        return _names(r.short for r in decision.reasons)
    if name == "excluded_by":
        return _names(decision.excluded_by)
    if name == "disqualified_by":
        return _names(decision.disqualified_by)
    if name == "exits":
        return _names(getattr(decision, "exits", ()))
    return decision.scores[name]


def _matches(check: Check, actual: Any, decision: Decision, tolerance: float) -> bool:
    if check.field == "reasons":  # a reason may be written as its name or its words too
        words = {r.short: {r.short, r.name, r.words(decision.as_of)} for r in decision.reasons}
        wanted = set(check.value)
        covered = {s for s, aliases in words.items() if aliases & wanted}
        explained = {w for w in wanted if any(w in a for a in words.values())}
        return covered == set(words) and explained == wanted
    if isinstance(actual, list):
        return actual == _names(check.value)
    if isinstance(check.value, bool) or not isinstance(check.value, int | float):
        return bool(actual == check.value)
    return abs(float(actual) - float(check.value)) <= tolerance


def compare(expectation: Expectation, decision: Decision) -> tuple[Mismatch, ...]:
    """The checks of `expectation` that `decision` does not meet."""
    out: list[Mismatch] = []
    for check in expectation.checks:
        actual = actual_value(check, decision)
        if not _matches(check, actual, decision, expectation.tolerance):
            out.append(Mismatch(check.field, check.value, actual, check.mark.line))
    return tuple(out)
