"""Fit: points from the contact's and its account's attributes (no decay).

>>> from mql.model.conditions import Compare
>>> from mql.model.spec import FitRule, Score
>>> from mql.records import Account, Contact
>>> score = Score("fit", "fit", (FitRule("big", Compare("account.employees", "gte", 200), 20),
...                              FitRule("us", Compare("contact.country", "eq", "US"), 10)))
>>> result = fit(score, Contact("jo@acme.example", "acme.example", {"country": "us"}),
...              Account("acme.example", {}))
>>> result.value, result.unknown
(10.0, ('account.employees',))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mql.model.spec import FitRule, Score
from mql.records import Account, Contact
from mql.scoring.evaluate import Getter, as_number, compile_condition, is_missing


@dataclass(frozen=True, slots=True)
class FitLine:
    """One fit rule and whether it matched; `unknown` lists the fields it lacked. A rule
    that reads its points from a field says how in `note` ("seniority vp: 20")."""

    rule: str
    points: float
    matched: bool
    unknown: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class FitResult:
    """A fit score with its lines; `unknown` are fields worth enriching."""

    value: float
    lines: tuple[FitLine, ...]
    unknown: tuple[str, ...]


def record_getter(contact: Contact | None, account: Account | None) -> Getter:
    """A field getter over `contact.*` and `account.*` names."""
    contact_attrs = contact.attributes if contact is not None else {}
    account_attrs = account.attributes if account is not None else {}

    def get(field: str) -> Any:
        table, _, name = field.partition(".")
        if table == "contact":
            if name == "email" and contact is not None:
                return contact.email if contact.has_email else None  # a CRM id is no email
            if name == "email_domain" and contact is not None:
                return contact.email_domain or None
            return contact_attrs.get(name)
        if table == "account":
            if name == "domain" and account is not None:
                return account.domain
            return account_attrs.get(name)
        return None

    return get


class FitScorer:
    """A fit score compiled once, applied to many contacts."""

    def __init__(self, score: Score) -> None:
        self.score = score
        self._rules: list[tuple[FitRule, Callable[[Getter], bool], tuple[str, ...]]] = []
        self._valued: dict[str, FieldPoints] = {}
        for rule in score.rules:
            assert isinstance(rule, FitRule)
            fields = tuple(dict.fromkeys(rule.when.fields()))
            self._rules.append((rule, compile_condition(rule.when), fields))
            if rule.points_by is not None or rule.points_per is not None:
                self._valued[rule.name] = FieldPoints(rule)

    def __call__(self, contact: Contact | None, account: Account | None) -> FitResult:
        get = record_getter(contact, account)
        lines = []
        total = 0.0
        for rule, predicate, fields in self._rules:
            matched = predicate(get)
            unknown = () if matched else tuple(f for f in fields if is_missing(get(f)))
            valued = self._valued.get(rule.name)
            if valued is not None:
                line = valued.line(get, matched, unknown)
                lines.append(line)
                if matched:
                    total += line.points
                continue
            lines.append(FitLine(rule.name, rule.points, matched, unknown))
            if matched:
                total += rule.points
        total = self.score.bounded(total)
        unknown_fields = tuple(dict.fromkeys(f for line in lines for f in line.unknown))
        return FitResult(total, tuple(lines), unknown_fields)


def fit(score: Score, contact: Contact | None, account: Account | None) -> FitResult:
    """The fit score of `contact` and `account` under `score` (see `FitScorer`)."""
    return FitScorer(score)(contact, account)


# -- points read from a field (issue 13): value tables, bins, points per unit -----------

class FieldPoints:
    """The points of a `points_by` or `points_per` rule, read from its field (the batch
    engine compiles the same cases: `mql.batch.compile`)."""

    def __init__(self, rule: FitRule) -> None:
        self.rule = rule
        self.by = rule.points_by
        self.per = rule.points_per
        self.cases = () if self.by is None else tuple(
            (label, compile_condition(cond), points) for label, cond, points in self.by.cases())

    @property
    def field(self) -> str:
        assert self.by is not None or self.per is not None
        return self.by.field if self.by is not None else self.per.field  # type: ignore[union-attr]

    def line(self, get: Getter, matched: bool, unknown: tuple[str, ...]) -> FitLine:
        """The rule's line: its points when `matched`, and how they were read."""
        name, field = self.rule.name, self.field
        value = get(field)
        if is_missing(value):
            unknown = tuple(dict.fromkeys((*unknown, field)))
        short = field.partition(".")[2] or field
        if self.by is not None:
            for label, predicate, points in self.cases:
                if predicate(get):
                    return FitLine(name, points, matched, unknown, f"{short} {label}: "
                                   f"{_fmt(points)}")
            return FitLine(name, self.by.default, matched, unknown,
                           f"{short} {'unknown' if is_missing(value) else 'other'}: default "
                           f"{_fmt(self.by.default)}")
        assert self.per is not None
        number = None if is_missing(value) else as_number(value)
        points = self.per.value(number)
        units = self.per.units(number)
        capped = self.per.cap is not None and abs(units * self.per.points) > self.per.cap
        if number is None:
            note = f"{short} {'unknown' if is_missing(value) else 'not a number'}: 0"
        else:
            note = f"{short} {_fmt(number)}: {units} x {_fmt(self.per.points)}"
            if capped:
                note += f", cap {_fmt(self.per.cap)}"
        return FitLine(name, points, matched, unknown, note)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")
