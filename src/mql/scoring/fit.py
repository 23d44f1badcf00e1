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
from mql.scoring.evaluate import Getter, compile_condition, is_missing


@dataclass(frozen=True, slots=True)
class FitLine:
    """One fit rule and whether it matched; `unknown` lists the fields it lacked."""

    rule: str
    points: float
    matched: bool
    unknown: tuple[str, ...] = ()


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
        for rule in score.rules:
            assert isinstance(rule, FitRule)
            fields = tuple(dict.fromkeys(rule.when.fields()))
            self._rules.append((rule, compile_condition(rule.when), fields))

    def __call__(self, contact: Contact | None, account: Account | None) -> FitResult:
        get = record_getter(contact, account)
        lines = []
        total = 0.0
        for rule, predicate, fields in self._rules:
            matched = predicate(get)
            unknown = () if matched else tuple(f for f in fields if is_missing(get(f)))
            lines.append(FitLine(rule.name, rule.points, matched, unknown))
            if matched:
                total += rule.points
        if self.score.max is not None:
            total = min(self.score.max, total)
        unknown_fields = tuple(dict.fromkeys(f for line in lines for f in line.unknown))
        return FitResult(total, tuple(lines), unknown_fields)


def fit(score: Score, contact: Contact | None, account: Account | None) -> FitResult:
    """The fit score of `contact` and `account` under `score` (see `FitScorer`)."""
    return FitScorer(score)(contact, account)
