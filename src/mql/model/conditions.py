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
    business days; `mql.model.windows`) when it is set (counts only).

    `measure` counts something else than events in the window (distinct values, a sum,
    a maximum; see `Measure`); `after` makes it a sequence: only events with enough
    earlier events of another kind before them count (see `After`)."""

    events: tuple[str, ...]
    min_count: int = 1
    within_days: float = 30.0
    where: Condition | None = None
    measure: Measure | None = None
    after: After | None = None
    calendar: CalendarWindow | None = None

    def fields(self) -> Iterator[str]:
        yield from ()

    def __str__(self) -> str:
        kinds = "/".join(self.events)
        where = f" where {self.where}" if self.where is not None else ""
        span = (str(self.calendar) if self.calendar is not None
                else f"{self.within_days:g} days")
        after = f" {self.after}" if self.after is not None else ""
        if self.measure is not None and self.measure.kind == "distinct":
            return (f"{self.min_count}+ distinct {self.measure.field} of {kinds}{where}"
                    f"{after} in {span}")
        if self.measure is not None:
            m = self.measure
            return (f"{m.kind} of {m.field} of {kinds}{where}{after} >= {m.at_least:g} "
                    f"in {span}")
        return f"{self.min_count}+ {kinds}{where}{after} in {span}"


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


# -- aggregates and sequences in windows (model language v2) -------------------------------

CONTACT = "contact"  # `distinct: contact`: the event's contact (account-level rules)


@dataclass(frozen=True, slots=True)
class Measure:
    """What a window measures besides the number of events: `distinct` values of event
    property `field` (or of the event's contact, `field="contact"`: at least `min_count`
    of them), or the `sum`, `max` or `avg` (average) of a numeric property (at least
    `at_least`).

    >>> str(Activity(("page_view",), 3, 30.0, measure=Measure("distinct", "url")))
    '3+ distinct url of page_view in 30 days'
    >>> str(Activity(("page_view",), 1, 30.0, measure=Measure("sum", "seconds", 600)))
    'sum of seconds of page_view >= 600 in 30 days'
    """

    kind: Literal["distinct", "sum", "max", "avg"]
    field: str
    at_least: float = 0.0


@dataclass(frozen=True, slots=True)
class After:
    """The earlier events of a sequence: an event counts only when at least `min_count`
    events of `events` matching `where` happened strictly before it (within `within_days`
    before it, or at any time when None).

    >>> str(Activity(("page_view",), 1, 30.0, after=After(("webinar_attended",), within_days=7)))
    '1+ page_view after 1+ webinar_attended within 7 days before in 30 days'
    """

    events: tuple[str, ...]
    where: Condition | None = None
    min_count: int = 1
    within_days: float | None = None

    def __str__(self) -> str:
        where = f" where {self.where}" if self.where is not None else ""
        gap = "" if self.within_days is None else f" within {self.within_days:g} days before"
        return f"after {self.min_count}+ {'/'.join(self.events)}{where}{gap}"


def counted_where(leaf: Activity) -> Condition | None:
    """The condition an event must meet to count for `leaf` (its `where`, and for a
    `max` measure the value test: the maximum reaches the line when one event does).

    >>> str(counted_where(Activity(("page_view",), measure=Measure("max", "seconds", 60))))
    'seconds gte 60'
    """
    if leaf.measure is None or leaf.measure.kind != "max":
        return leaf.where
    test = Compare(leaf.measure.field, "gte", leaf.measure.at_least)
    return test if leaf.where is None else All((leaf.where, test))


def needs_window_state(leaf: Activity) -> bool:
    """True when `leaf` is not a plain count of recent events (a `max` is one: see
    `counted_where`)."""
    return leaf.after is not None or (leaf.measure is not None
                                      and leaf.measure.kind != "max")


def activities(cond: Condition | None) -> Iterator[Activity]:
    """Every `Activity` leaf in `cond`, depth first."""
    if isinstance(cond, Activity):
        yield cond
    elif isinstance(cond, All | AnyOf):
        for item in cond.items:
            yield from activities(item)
    elif isinstance(cond, Not):
        yield from activities(cond.item)
