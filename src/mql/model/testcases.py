"""The tests a model file carries: given contacts, accounts and events, expect scores,
grades, MQL verdicts and reasons at a time.

Tests sit under `tests:` in the model file or in `MODEL.tests.yaml` beside it (a mapping
with a `tests:` list). This module only reads them (text in, frozen values out, every
mistake located by file:line:column); `mql.service.model_tests` runs them through the
same scoring as `mql score`.

>>> from mql.model.yaml_marks import load
>>> text = '''
... tests:
...   - name: demo_fast_tracks
...     at: 2026-03-02T10:00:00Z
...     contacts: [{email: jane@acme.example}]
...     events: [{type: demo_request, timestamp: 2026-03-02T09:00:00Z, email: jane@acme.example}]
...     expect:
...       - {contact: jane@acme.example, mql: true, intent: 40}
... '''
>>> [t] = parse_tests(load(text), source="m.tests.yaml", scores=("fit", "intent", "total"))
>>> t.name, t.at.isoformat(), [(e.field, e.value) for e in t.expect[0].checks]
('demo_fast_tracks', '2026-03-02T10:00:00+00:00', [('mql', True), ('intent', 40)])
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from mql.errors import ModelError, Problem
from mql.model.yaml_marks import Located, Mark, Path

# what an expectation may check besides the scores of the model (fit, intent, total ...)
VERDICT_FIELDS = ("mql", "grade", "reasons", "because", "excluded_by", "disqualified_by",
                  "exits")
_TEST_KEYS = ("name", "description", "at", "accounts", "contacts", "events", "expect")
_EXPECT_KEYS = ("contact", "at", "tolerance")
DEFAULT_TOLERANCE = 0.05  # scores are shown with one decimal; write them as shown
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Row:
    """One given record (a row as a contacts, accounts or events file would hold it)."""

    data: dict[str, Any]
    mark: Mark  # where the row starts in the tests file
    fields: tuple[tuple[str, Mark], ...] = ()  # where each of its fields starts

    def field_mark(self, name: str | None) -> Mark:
        return next((m for f, m in self.fields if f == name), self.mark)


@dataclass(frozen=True, slots=True)
class Check:
    """One expected value: `field` (a score name, mql, grade, reasons ...) is `value`."""

    field: str
    value: Any
    mark: Mark


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one contact's decision at `at` must show."""

    contact: str
    at: datetime
    checks: tuple[Check, ...]
    tolerance: float
    mark: Mark


@dataclass(frozen=True, slots=True)
class ModelTest:
    """One named test: the given records and what the decisions must be."""

    name: str
    at: datetime
    accounts: tuple[Row, ...]
    contacts: tuple[Row, ...]
    events: tuple[Row, ...]
    expect: tuple[Expectation, ...]
    mark: Mark
    description: str | None = None


def parse_tests(located: Located, *, source: str, scores: Sequence[str],
                base: Path = ()) -> list[ModelTest]:
    """The tests at `base` + ("tests",) in `located`; `ModelError` lists every problem.

    `scores` are the score names the model defines (and "total"), which expectations may
    check.
    """
    reader = _Reader(located, source, tuple(scores))
    tests = reader.tests(base)
    if reader.problems:
        raise ModelError(sorted(reader.problems, key=lambda p: (p.line, p.column)))
    return tests


def _time(value: Any) -> datetime | None:
    """A YAML time (read as datetime or date, or ISO text) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _time(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def plain_row(data: dict[str, Any]) -> dict[str, Any]:
    """A row with YAML times written back as ISO text, as a file would hold them."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        when = _time(value) if isinstance(value, datetime | date) else None
        out[str(key)] = when.isoformat() if when is not None else value
    return out


class _Reader:
    def __init__(self, located: Located, source: str, scores: tuple[str, ...]) -> None:
        self.located = located
        self.source = source
        self.scores = scores
        self.problems: list[Problem] = []

    def problem(self, path: Path, message: str, *, key: bool = False) -> None:
        mark = self.located.mark(path, key=key)
        dotted = ""
        for part in path:
            dotted += f"[{part}]" if isinstance(part, int) else ("." if dotted else "") + part
        self.problems.append(Problem(self.source, mark.line, mark.column, dotted, message))

    def unknown_keys(self, raw: dict[Any, Any], allowed: Sequence[str], path: Path) -> None:
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.7)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                self.problem((*path, str(key)), f"unknown key{hint}; expected one of: "
                             f"{', '.join(allowed)}", key=True)

    def tests(self, base: Path) -> list[ModelTest]:
        node: Any = self.located.data
        for part in base:
            node = node.get(part) if isinstance(node, dict) else None
        path = (*base, "tests")
        raw = node.get("tests") if isinstance(node, dict) else None
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(path, "expected a list of tests (- name: ..., at: ..., expect: ...)")
            return []
        out = [t for i, item in enumerate(raw) if (t := self.test(item, (*path, i)))]
        seen: set[str] = set()
        for i, t in enumerate(out):
            if t.name in seen:
                self.problem((*path, i, "name"), f'another test is already named "{t.name}"')
            seen.add(t.name)
        return out

    def test(self, raw: Any, path: Path) -> ModelTest | None:
        if not isinstance(raw, dict):
            self.problem(path, "expected a test: a mapping with name, at, contacts, events "
                         "and expect")
            return None
        self.unknown_keys(raw, _TEST_KEYS, path)
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(path if "name" not in raw else (*path, "name"),
                         "name is required (what the test shows, in words)")
            name = f"test {path[-1]}"
        at = self.time(raw, "at", path)
        rows = {kind: self.rows(raw, kind, path) for kind in ("accounts", "contacts", "events")}
        if not rows["contacts"] and "contacts" not in raw:
            self.problem(path, "contacts is required (the people the test scores)")
        expect = raw.get("expect")
        checks: list[Expectation] = []
        if not isinstance(expect, list) or not expect:
            self.problem((*path, "expect") if "expect" in raw else path,
                         "expect is required: a list of {contact: EMAIL, mql: ..., fit: ...}")
        else:
            for i, item in enumerate(expect):
                found = self.expectation(item, (*path, "expect", i), at)
                if found is not None:
                    checks.append(found)
        description = raw.get("description")
        return ModelTest(name, at or _EPOCH, rows["accounts"],
                         rows["contacts"], rows["events"], tuple(checks),
                         self.located.mark(path),
                         description if isinstance(description, str) else None)

    def time(self, raw: dict[str, Any], key: str, path: Path,
             default: datetime | None = None) -> datetime | None:
        if key not in raw:
            if default is None:
                self.problem(path, f"{key} is required (the time of the decision, ISO 8601 "
                             "such as 2026-03-02T10:00:00Z)")
            return default
        found = _time(raw[key])
        if found is None:
            self.problem((*path, key), f"expected a time (ISO 8601 such as "
                         f"2026-03-02T10:00:00Z), got {raw[key]!r}")
            return default or _EPOCH  # reported once, here
        return found

    def rows(self, raw: dict[str, Any], kind: str, path: Path) -> tuple[Row, ...]:
        items = raw.get(kind)
        if items is None:
            return ()
        if not isinstance(items, list):
            self.problem((*path, kind), f"expected a list of {kind} (one mapping per row)")
            return ()
        out: list[Row] = []
        for i, item in enumerate(items):
            where = (*path, kind, i)
            if not isinstance(item, dict):
                self.problem(where, "expected a mapping of column: value, as a row of the "
                             f"{kind} file")
                continue
            marks = tuple((str(k), self.located.mark((*where, k), key=True)) for k in item)
            out.append(Row(plain_row(item), self.located.mark(where), marks))
        return tuple(out)

    def expectation(self, raw: Any, path: Path, at: datetime | None) -> Expectation | None:
        if not isinstance(raw, dict):
            self.problem(path, "expected {contact: EMAIL, then what to check: mql, grade, "
                         "fit, intent ...}")
            return None
        allowed = (*_EXPECT_KEYS, *self.scores, *VERDICT_FIELDS)
        self.unknown_keys(raw, allowed, path)
        contact = raw.get("contact")
        if not isinstance(contact, str) or not contact.strip():
            self.problem(path if "contact" not in raw else (*path, "contact"),
                         "contact is required (the email of a contact of the test)")
            contact = "?"
        when = self.time(raw, "at", path, default=at) or at
        tolerance = raw.get("tolerance", DEFAULT_TOLERANCE)
        if not _is_number(tolerance) or tolerance < 0:
            self.problem((*path, "tolerance"), f"expected a number >= 0, got {tolerance!r}")
            tolerance = DEFAULT_TOLERANCE
        checks: list[Check] = []
        for key, value in raw.items():
            if key in _EXPECT_KEYS or key not in allowed:
                continue
            where = (*path, key)
            if self.valid(key, value, where):
                if key in ("reasons", "excluded_by", "disqualified_by", "exits") and isinstance(
                        value, str):
                    value = [value]
                checks.append(Check(key, value, self.located.mark(where)))
        if not checks:
            self.problem(path, "nothing to check: give mql, grade, reasons or a score "
                         f"({', '.join(self.scores)})")
        return Expectation(contact.strip().lower(), when or _EPOCH,
                           tuple(checks), float(tolerance), self.located.mark(path))

    def valid(self, key: str, value: Any, path: Path) -> bool:
        if key == "mql":
            ok = isinstance(value, bool)
            wanted = "true or false"
        elif key in ("grade", "because"):
            ok = isinstance(value, str)
            wanted = "text"
        elif key in ("reasons", "excluded_by", "disqualified_by", "exits"):
            ok = isinstance(value, str) or (isinstance(value, list) and all(
                isinstance(v, str) for v in value))
            wanted = "a list of names"
        else:
            ok = _is_number(value)
            wanted = "a number"
        if not ok:
            self.problem(path, f"expected {wanted}, got {value!r}")
        return ok


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
