"""Sales rejection reasons as fit-rule suggestions: when sales rejects leads for the same
reason again and again ("wrong_fit": the company is too small), the one-field condition
that holds for most of those leads and for the fewest contacts of won deals, written as a
negative fit rule a reviewer can diff and backtest.

Candidates, for each field the leads carry: ``field < t`` and ``field >= t`` at each
number a rejected lead has (numbers), ``field eq v`` for each value one has (text). A
candidate is scored by the share of the reason's leads it excludes minus the share of won
contacts it would exclude; the best wins (ties: fewer won lost, then the field's name).
Conditions are tested with the evaluator that scores (`mql.scoring.evaluate`), so the
suggestion holds for exactly the leads it counts.

>>> rejected = [{"account.employees": n} for n in (5, 8, 12, 30)]
>>> won = [{"account.employees": n} for n in (10, 250, 900)]
>>> best = best_condition(rejected, won, ["account.employees"])
>>> best.words()
'account.employees < 140: excludes 4 of 4 rejected, 1 of 3 won'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mql.model.conditions import Compare
from mql.model.spec import FitRule, Model
from mql.scoring.evaluate import as_number, compile_condition, is_missing

MIN_EXCLUDED_SHARE = 0.5  # a suggestion excludes at least half of the reason's leads
MAX_WON_SHARE = 0.1  # ... and at most a tenth of the won contacts
FEW_WON = 10  # under this many won contacts, the suggestion says its evidence is thin


@dataclass(frozen=True, slots=True)
class Candidate:
    """A condition and what it would have excluded: `excluded` of `rejected` leads given
    the reason, `won_lost` of `won` contacts on won deals."""

    condition: Compare
    excluded: int
    rejected: int
    won_lost: int
    won: int

    @property
    def gain(self) -> float:
        lost = self.won_lost / self.won if self.won else 0.0
        return self.excluded / self.rejected - lost

    def words(self) -> str:
        c = self.condition
        op = {"lt": "<", "gte": ">=", "eq": "="}.get(c.op, c.op)
        return (f"{c.field} {op} {_value(c.value)}: excludes {self.excluded} of "
                f"{self.rejected} rejected, {self.won_lost} of {self.won} won")


def _value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _number(n: float) -> float | int:
    return int(n) if float(n).is_integer() else n


def _conditions(field: str, values: Sequence[Any], others: Sequence[Any]) -> list[Compare]:
    present = [v for v in values if not is_missing(v)]
    numbers = sorted({n for v in present if (n := as_number(v)) is not None})
    if numbers and all(as_number(v) is not None for v in present):
        seen = sorted({n for v in (*values, *others) if (n := as_number(v)) is not None})
        out: list[Compare] = [Compare(field, "gte", _number(n)) for n in numbers]
        # `< t` halfway to the next number seen above each rejected one: it excludes that
        # one and below, with a margin on both sides
        for n in numbers:
            above = [m for m in seen if m > n]
            t = (n + above[0]) / 2 if above else n + 1
            out.append(Compare(field, "lt", _number(-(-t // 1) if float(n).is_integer()
                                                    and (not above
                                                         or float(above[0]).is_integer())
                                                    else t)))
        return out
    texts = sorted({str(v) for v in values if not is_missing(v)})
    return [Compare(field, "eq", t) for t in texts]


def _count(cond: Compare, people: Sequence[Mapping[str, Any]]) -> int:
    test = compile_condition(cond)
    return sum(1 for p in people if test(p.get))


def best_condition(rejected: Sequence[Mapping[str, Any]], won: Sequence[Mapping[str, Any]],
                   fields: Sequence[str]) -> Candidate | None:
    """The candidate with the largest gain over `fields`, or None when no field is known
    for any rejected lead."""
    best: Candidate | None = None
    for field in sorted(fields):
        values = [p.get(field) for p in rejected]
        for cond in _conditions(field, values, [p.get(field) for p in won]):
            c = Candidate(cond, _count(cond, rejected), len(rejected), _count(cond, won),
                          len(won))
            if c.excluded == 0:
                continue
            if best is None or (c.gain, -c.won_lost) > (best.gain, -best.won_lost):
                best = c
    return best


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A reason sales gave `count` times and the rule that answers it (None when no
    candidate excludes enough of its leads without losing won deals)."""

    reason: str
    count: int
    best: Candidate | None
    rule: FitRule | None

    @property
    def words(self) -> str:
        if self.best is None or self.rule is None:
            return f"{self.reason} ({self.count} rejections): no fit rule tells these leads apart"
        few = (f" (only {self.best.won} won contacts to weigh it against: backtest it)"
               if self.best.won < FEW_WON else "")
        return (f"{self.reason} ({self.count} rejections): add fit rule {self.rule.name} "
                f"({_value(self.rule.points)} points) when {self.best.words()}{few}")

    def to_json(self) -> dict[str, Any]:
        c = self.best
        return {"reason": self.reason, "rejections": self.count, "suggestion": self.words,
                "rule": None if self.rule is None else self.rule.name,
                "points": None if self.rule is None else self.rule.points,
                "condition": None if c is None else {"field": c.condition.field,
                                                     "op": c.condition.op,
                                                     "value": c.condition.value},
                "excluded": None if c is None else c.excluded,
                "won_lost": None if c is None else c.won_lost,
                "won": None if c is None else c.won}


def exclusion_points(model: Model) -> float:
    """Points that keep a matching lead's fit at or under zero: minus the most the fit
    rules can give together.

    >>> from mql.model.parse import parse_model
    >>> exclusion_points(parse_model('''
    ... name: t
    ... fit:
    ...   rules:
    ...     - {name: a, when: {field: contact.country, op: eq, value: US}, points: 30}
    ...     - {name: b, when: {field: account.employees, op: gte, value: 50}, points: 20}
    ...     - {name: c, when: {field: contact.title, op: eq, value: intern}, points: -40}
    ... intent:
    ...   rules: [{name: demo, event: demo_request, points: 40}]
    ... mql: {thresholds: {total: 45}}
    ... ''', source="t.yaml"))
    -50.0
    """
    most = 0.0
    for rule in model.fit.rules:
        assert isinstance(rule, FitRule)
        best = rule.points_by.best if rule.points_by is not None else rule.points
        most += max(0.0, best)
    if model.fit.max is not None:
        most = min(most, model.fit.max)
    return -most


def suggest(model: Model, reason: str, rejected: Sequence[Mapping[str, Any]],
            won: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> Suggestion:
    """The suggestion for `reason` given its `rejected` leads and the `won` contacts."""
    best = best_condition(rejected, won, fields)
    if best is None or best.excluded < MIN_EXCLUDED_SHARE * best.rejected or (
            best.won and best.won_lost > MAX_WON_SHARE * best.won):
        return Suggestion(reason, len(rejected), best, None)
    name = _rule_name(model, f"sales_{reason}")
    rule = FitRule(name, best.condition, exclusion_points(model),
                   description=f"suggested by mql audit from the sales reason {reason!r}: "
                               f"{best.words()}")
    return Suggestion(reason, len(rejected), best, rule)


def _rule_name(model: Model, base: str) -> str:
    taken = {r.name for r in model.fit.rules}
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def with_rule(model: Model, rule: FitRule) -> Model:
    """`model` with `rule` added to its fit rules (last)."""
    fit = dataclasses.replace(model.fit, rules=(*model.fit.rules, rule))
    return dataclasses.replace(model, scores={**model.scores, "fit": fit}, digest="")
