"""Conditions evaluated on Python values, compiled once into small closures.

Semantics (the batch engine's SQL follows the same rules):

- a field that is absent, None or blank text is *missing*: `missing` is true, every
  other operator is false (so `ne` and `not_in` are false too; `not` makes them true);
- text compares case-insensitively unless `case_sensitive`; numbers compare as numbers,
  and text that reads as a number compares with a number operand;
- `contains`, `starts_with`, `ends_with` and `matches` (a regex search) work on text.

>>> from mql.model.conditions import Compare, Not
>>> is_big = compile_condition(Compare("account.employees", "gte", 200))
>>> is_big({"account.employees": "250"}.get), is_big({}.get)
(True, False)
>>> compile_condition(Not(Compare("contact.country", "eq", "us")))({"contact.country": "US"}.get)
False
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

from mql.model.conditions import Activity, All, AnyOf, Compare, Condition, Not

Getter = Callable[[Any], Any]
Predicate = Callable[[Getter], bool]


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float: infinite, as "1e400" reads
            return math.inf if value > 0 else -math.inf
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def as_number(value: Any) -> float | None:
    """`value` read as a number, as the numeric operators read it (None: not a number).

    >>> as_number(" 250 "), as_number("many"), as_number(True), as_number(-10**400)
    (250.0, None, None, -inf)
    """
    return _number(value)


def _text(value: Any, case_sensitive: bool) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if case_sensitive else text.casefold()


def _equals(expected: Any, case_sensitive: bool) -> Callable[[Any], bool]:
    """A test `actual == expected` with mql's number and case rules."""
    if isinstance(expected, bool):
        word = "true" if expected else "false"
        return lambda v: v is expected if isinstance(v, bool) else str(v).strip().lower() == word
    if isinstance(expected, int | float):
        number = float(expected)
        return lambda v: _number(v) == number
    text = _text(expected, case_sensitive)
    return lambda v: _text(v, case_sensitive) == text


def _leaf(cond: Compare) -> Callable[[Any], bool]:
    """The test of a present value for one comparison."""
    op, value, case = cond.op, cond.value, cond.case_sensitive
    if op == "exists":
        return lambda v: True
    if op in ("eq", "ne"):
        eq = _equals(value, case)
        return eq if op == "eq" else (lambda v: not eq(v))
    if op in ("in_list", "not_in_list"):  # a list of mql.model.lists: trimmed, lower case
        members = value.values
        if op == "in_list":
            return lambda v: _text(v, False).strip() in members
        return lambda v: _text(v, False).strip() not in members
    if op in ("in", "not_in") and all(isinstance(item, str) for item in value):
        texts = frozenset(_text(item, case) for item in value)  # one lookup, same answer
        if op == "in":
            return lambda v: _text(v, case) in texts
        return lambda v: _text(v, case) not in texts
    if op in ("in", "not_in"):
        tests = [_equals(item, case) for item in value]
        if op == "in":
            return lambda v: any(t(v) for t in tests)
        return lambda v: not any(t(v) for t in tests)
    if op in ("gt", "gte", "lt", "lte", "between"):
        return _numeric(op, value)
    if op == "matches":
        pattern = re.compile(value, 0 if case else re.IGNORECASE)
        return lambda v: pattern.search(v if isinstance(v, str) else str(v)) is not None
    text = _text(value, case)
    if op == "contains":
        return lambda v: text in _text(v, case)
    if op == "starts_with":
        return lambda v: _text(v, case).startswith(text)
    if op == "ends_with":
        return lambda v: _text(v, case).endswith(text)
    raise ValueError(f"unknown operator {op!r}")


def _numeric(op: str, operand: Any) -> Callable[[Any], bool]:
    value = 0.0 if op == "between" else float(operand)
    low, high = (float(operand[0]), float(operand[1])) if op == "between" else (0.0, 0.0)

    def test(v: Any) -> bool:
        n = _number(v)
        if n is None:
            return False
        if op == "gt":
            return n > value
        if op == "gte":
            return n >= value
        if op == "lt":
            return n < value
        if op == "lte":
            return n <= value
        return low <= n <= high

    return test


@functools.lru_cache(maxsize=4096)  # conditions are frozen values: compile each once
def compile_condition(cond: Condition) -> Predicate:
    """A predicate over a getter. The getter is given field names, and for `Activity`
    leaves (criteria) the leaf itself, answering whether that activity happened."""
    if isinstance(cond, Compare):
        field = cond.field
        if cond.op == "missing":
            return lambda get: is_missing(get(field))
        fast = _text_fast_path(cond)
        if fast is not None:
            return fast
        test = _leaf(cond)
        return lambda get: not is_missing(value := get(field)) and test(value)
    if isinstance(cond, All):
        items = tuple(compile_condition(c) for c in cond.items)

        def every(get: Getter) -> bool:
            for item in items:
                if not item(get):
                    return False
            return True

        return every
    if isinstance(cond, AnyOf):
        items = tuple(compile_condition(c) for c in cond.items)

        def some(get: Getter) -> bool:
            for item in items:
                if item(get):
                    return True
            return False

        return some
    if isinstance(cond, Not):
        inner = compile_condition(cond.item)
        return lambda get: not inner(get)
    leaf = cond
    return lambda get: bool(get(leaf))


def _text_fast_path(cond: Compare) -> Predicate | None:
    """One closure for the hot case of case-insensitive text tests (same semantics as
    `_leaf`, without the layers; intent rules run these on every event)."""
    if cond.case_sensitive or not isinstance(cond.value, str):
        return None
    field, text = cond.field, cond.value.casefold()
    test: Callable[[str], bool]
    if cond.op == "contains":
        test = lambda s: text in s  # noqa: E731
    elif cond.op == "starts_with":
        test = lambda s: s.startswith(text)  # noqa: E731
    elif cond.op == "ends_with":
        test = lambda s: s.endswith(text)  # noqa: E731
    elif cond.op == "eq":
        test = text.__eq__
    else:
        return None

    def predicate(get: Getter) -> bool:
        value = get(field)
        if value is None:
            return False
        if value.__class__ is not str:
            if isinstance(value, bool | int | float) and cond.op == "eq":
                return _equals(cond.value, False)(value)
            value = str(value)
        elif not value or value.isspace():
            return False
        return test(value.casefold())

    return predicate


def leaves(cond: Condition) -> list[Compare | Activity | Not]:
    """The leaves of `cond`, in order (for explanations of what matched or failed)."""
    if isinstance(cond, Compare | Activity):
        return [cond]
    if isinstance(cond, Not):
        if isinstance(cond.item, Compare | Activity):
            return [cond]  # keep the negation, so the leaf reads as it is tested
        return leaves(cond.item)
    return [leaf for item in cond.items for leaf in leaves(item)]
