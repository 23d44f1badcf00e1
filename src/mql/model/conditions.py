"""The condition grammar as plain data: one frozen AST for Python and SQL alike.

A condition is a leaf `Compare(field, op, value)`, an `Activity` count over a contact's
recent events, or a combination `All`, `Any`, `Not`. Nothing here evaluates anything:
`mql.scoring.evaluate` runs conditions on Python values and the batch engine compiles the
same tree to SQL.

>>> c = All((Compare("contact.country", "in", ("US", "CA")),
...          Not(Compare("account.status", "eq", "competitor"))))
>>> str(c)
"(contact.country in ['US', 'CA'] and not account.status eq 'competitor')"
>>> sorted(c.fields())
['account.status', 'contact.country']
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mql.model.windows import CalendarWindow

Op = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "exists",
    "missing",
    "in_list",
    "not_in_list",
]
OPS: tuple[str, ...] = typing.get_args(Op)
NUMERIC_OPS = frozenset({"gt", "gte", "lt", "lte", "between"})
TEXT_OPS = frozenset({"contains", "starts_with", "ends_with", "matches"})
LIST_OPS = frozenset({"in", "not_in"})
PRESENCE_OPS = frozenset({"exists", "missing"})
NAMED_LIST_OPS = frozenset({"in_list", "not_in_list"})  # value: a list of mql.model.lists


@dataclass(frozen=True, slots=True)
class Compare:
    """`field op value`: true when the field's value satisfies the operator.

    A missing field makes every operator false except `missing` (and `not` turns that
    false into true). Text compares case-insensitively unless `case_sensitive`.
    """

    field: str
    op: str
    value: Any = None
    case_sensitive: bool = False

    def fields(self) -> Iterator[str]:
        yield self.field

    def __str__(self) -> str:
        if self.op in PRESENCE_OPS:
            return f"{self.field} {self.op}"
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.field} {self.op} {value!r}"


@dataclass(frozen=True, slots=True)
class Activity:
    """At least `min_count` of the contact's events of `events` types, matching `where`,
    in the last `within_days` days, or in the `calendar` window (this quarter, the last N
    business days; `mql.model.windows`) when it is set."""

    events: tuple[str, ...]
    min_count: int = 1
    within_days: float = 30.0
    where: Condition | None = None
    calendar: CalendarWindow | None = None

    def fields(self) -> Iterator[str]:
        yield from ()

    def __str__(self) -> str:
        kinds = "/".join(self.events)
        where = f" where {self.where}" if self.where is not None else ""
        if self.calendar is not None:
            return f"{self.min_count}+ {kinds}{where} in {self.calendar}"
        return f"{self.min_count}+ {kinds}{where} in {self.within_days:g} days"


@dataclass(frozen=True, slots=True)
class All:
    """True when every item is true (an empty `All` is true)."""

    items: tuple[Condition, ...]

    def fields(self) -> Iterator[str]:
        for item in self.items:
            yield from item.fields()

    def __str__(self) -> str:
        return "(" + " and ".join(str(i) for i in self.items) + ")"


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when at least one item is true (an empty `Any` is false)."""

    items: tuple[Condition, ...]

    def fields(self) -> Iterator[str]:
        for item in self.items:
            yield from item.fields()

    def __str__(self) -> str:
        return "(" + " or ".join(str(i) for i in self.items) + ")"


@dataclass(frozen=True, slots=True)
class Not:
    """True when `item` is false."""

    item: Condition

    def fields(self) -> Iterator[str]:
        yield from self.item.fields()

    def __str__(self) -> str:
        return f"not {self.item}"


Condition = Compare | Activity | All | AnyOf | Not


def activities(cond: Condition | None) -> Iterator[Activity]:
    """Every `Activity` leaf in `cond`, depth first."""
    if isinstance(cond, Activity):
        yield cond
    elif isinstance(cond, All | AnyOf):
        for item in cond.items:
            yield from activities(item)
    elif isinstance(cond, Not):
        yield from activities(cond.item)
