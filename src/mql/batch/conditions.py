"""The condition AST compiled to SQL expressions: one function per node, one dialect-neutral
tree (SQLGlot) that `compile.py` renders for DuckDB or Spark.

The SQL follows `mql.scoring.evaluate` exactly: a missing value (NULL or blank text) makes
every operator false except `missing`; text compares case-insensitively unless
`case_sensitive`; numeric operators read text as a number (`TRY_CAST`); `matches` is a
regular-expression search. Every compiled condition is TRUE or FALSE, never NULL, so `not`
means what it means in Python.

>>> from mql.model.conditions import Compare, Not
>>> scope = Scope({"contact.country": sql.col("country")})
>>> to_sql(Not(Compare("contact.country", "eq", "US")), scope).sql("duckdb")
"NOT COALESCE((NOT country IS NULL AND TRIM(country) <> '') AND LOWER(country) = 'us', FALSE)"
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import singledispatch
from typing import Any

from sqlglot import exp

from mql.batch import sql
from mql.model.conditions import Activity, All, AnyOf, Compare, Condition, Not


class EngineUnsupported(NotImplementedError):
    """A model construct the batch engines cannot compute exactly; the message says which."""


@dataclass(frozen=True, slots=True)
class Forms:
    """What the comparisons of a text field read besides the text itself, each computed
    once (as columns, see `forms`) instead of once per comparison: `present` (neither
    NULL nor blank), `lower` (for case-insensitive tests), `number` (NULL unless the text
    reads as one)."""

    present: sql.Node
    lower: sql.Node
    number: sql.Node


def forms(value: sql.Node) -> Forms:
    """The forms of text `value`, as the comparisons define them.

    >>> forms(sql.col("url")).lower.sql("duckdb")
    'LOWER(url)'
    """
    return Forms(exp.and_(value.is_(exp.null()).not_(),
                          exp.NEQ(this=exp.Trim(this=value), expression=sql.text(""))),
                 exp.Lower(this=value), sql.try_cast(exp.Trim(this=value), "double"))


@dataclass(frozen=True, slots=True)
class Scope:
    """Where each field's value lives in SQL: `text` fields hold text (NULL when unknown),
    `numbers` hold doubles (scores); `activity` answers an `Activity` leaf. `forms` holds,
    for some text fields, their `Forms` computed once elsewhere (otherwise each comparison
    computes them)."""

    text: Mapping[str, sql.Node]
    numbers: Mapping[str, sql.Node] = field(default_factory=dict)
    activity: Callable[[Activity], sql.Node] | None = None
    forms: Mapping[str, Forms] = field(default_factory=dict)


def _and(left: sql.Node, right: sql.Node) -> sql.Node:
    # copy=False: SQLGlot's `and_` copies both sides by default, which made a reduce over
    # n items copy O(n^2) nodes (most of the time compiling a model took)
    return exp.and_(left, right, copy=False)


def _or(left: sql.Node, right: sql.Node) -> sql.Node:
    return exp.or_(left, right, copy=False)


@singledispatch
def to_sql(cond: Condition, scope: Scope) -> sql.Node:
    """`cond` as a boolean SQL expression over the fields of `scope`."""
    raise EngineUnsupported(f"no SQL for condition {cond!r}")


@to_sql.register
def _all(cond: All, scope: Scope) -> sql.Node:
    if not cond.items:
        return exp.true()
    return exp.paren(functools.reduce(_and, (to_sql(c, scope) for c in cond.items)), copy=False)


@to_sql.register
def _any(cond: AnyOf, scope: Scope) -> sql.Node:
    if not cond.items:
        return exp.false()
    return exp.paren(functools.reduce(_or, (to_sql(c, scope) for c in cond.items)), copy=False)


@to_sql.register
def _not(cond: Not, scope: Scope) -> sql.Node:
    return exp.not_(to_sql(cond.item, scope))


@to_sql.register
def _activity(cond: Activity, scope: Scope) -> sql.Node:
    if scope.activity is None:
        raise EngineUnsupported(f"activity condition {cond} outside mql criteria")
    return scope.activity(cond)


@to_sql.register
def _compare(cond: Compare, scope: Scope) -> sql.Node:
    if cond.field in scope.numbers:
        value = scope.numbers[cond.field]
        present: sql.Node = value.is_(exp.null()).not_()
        number: sql.Node = value
        text: sql.Node = exp.cast(value, "varchar")
        lower: sql.Node = exp.Lower(this=text)
    elif cond.field in scope.text:
        text = scope.text[cond.field]
        given = scope.forms.get(cond.field) or forms(text)
        present, lower, number = given.present, given.lower, given.number
    else:  # a field no table holds is always missing
        return exp.true() if cond.op == "missing" else exp.false()
    if cond.op == "missing":
        return exp.not_(exp.paren(present, copy=False))
    if cond.op == "exists":
        return exp.paren(present, copy=False)
    test = _test(cond, text, lower, number)
    return sql.fn("coalesce", exp.and_(present, test), exp.false())


def _test(cond: Compare, text: sql.Node, lower: sql.Node, number: sql.Node) -> sql.Node:
    """The test of a present value (NULL counts as false); `lower` is `text` in lower
    case."""
    op, value, case = cond.op, cond.value, cond.case_sensitive
    if op in ("eq", "ne"):
        eq = _equals(value, text, lower, number, case)
        return eq if op == "eq" else exp.not_(exp.paren(eq, copy=False))
    if op in ("in_list", "not_in_list"):  # the list's values are trimmed and lower case
        if not value.values:
            return exp.false() if op == "in_list" else exp.true()
        member = exp.In(this=exp.Trim(this=lower),
                        expressions=[sql.text(v) for v in sorted(value.values)])
        return member if op == "in_list" else exp.not_(exp.paren(member, copy=False))
    if op in ("in", "not_in"):
        tests = [_equals(v, text, lower, number, case) for v in value]
        some = exp.paren(functools.reduce(_or, tests), copy=False)
        return some if op == "in" else exp.not_(some)
    if op == "between":
        low, high = value
        return exp.and_(exp.GTE(this=number, expression=sql.double(low)),
                        exp.LTE(this=number, expression=sql.double(high)))
    if op in _NUMERIC:
        return _NUMERIC[op](this=number, expression=sql.double(value))
    if op == "matches":
        pattern = str(value) if case else "(?i)" + str(value)
        return exp.RegexpLike(this=text, expression=sql.text(pattern))
    needle = sql.text(str(value) if case else str(value).casefold())
    hay = text if case else lower
    if op == "contains":
        return exp.GT(this=sql.fn("strpos", hay, needle), expression=exp.Literal.number(0))
    if op == "starts_with":
        return sql.fn("starts_with", hay, needle)
    if op == "ends_with":
        return sql.fn("ends_with", hay, needle)
    raise EngineUnsupported(f"unknown operator {op!r}")


_NUMERIC: dict[str, type[exp.Binary]] = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT,
                                         "lte": exp.LTE}


def _equals(expected: Any, text: sql.Node, lower: sql.Node, number: sql.Node,
            case: bool) -> sql.Node:
    """`actual == expected` with mql's rules: booleans as true/false words, numbers as
    numbers, text case-insensitively unless `case`."""
    if isinstance(expected, bool):
        word = "true" if expected else "false"
        return exp.EQ(this=exp.Lower(this=exp.Trim(this=text)), expression=sql.text(word))
    if isinstance(expected, int | float):
        return exp.EQ(this=number, expression=sql.double(expected))
    if case:
        return exp.EQ(this=text, expression=sql.text(str(expected)))
    return exp.EQ(this=lower, expression=sql.text(str(expected).casefold()))
