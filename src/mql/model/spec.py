"""The frozen, validated model the core computes with (built by `parse.py`).

>>> Decay.from_loss_per_quarter(0.5).half_life_days
91.3125
>>> Decay.none().factor(1e9)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from mql.model.attribution import AttributionSettings
from mql.model.conditions import Activity, After, All, Compare, Condition, Measure
from mql.model.handoff import Lifecycle, Routing, SlaRule
from mql.model.lists import NamedList
from mql.model.reports import ReportSettings

if TYPE_CHECKING:
    from mql.model.accounts import AccountScoring
    from mql.model.consent import ConsentPolicy
    from mql.model.nurture import Nurture

QUARTER_DAYS = 365.25 / 4  # a quarter is a fourth of the mean Gregorian year
SECONDS_PER_DAY = 86_400.0
TOTAL = "total"  # the pseudo score fit + intent that thresholds and exits may name


@dataclass(frozen=True, slots=True)
class Decay:
    """Exponential decay by half-life in days; `half_life_days=None` means no decay."""

    half_life_days: float | None

    def __post_init__(self) -> None:
        if self.half_life_days is not None and not self.half_life_days > 0:
            raise ValueError(f"half-life must be > 0 days, got {self.half_life_days}")

    @classmethod
    def none(cls) -> Decay:
        return cls(None)

    @classmethod
    def from_loss_per_quarter(cls, loss: float) -> Decay:
        """The decay that loses `loss` (0 < loss < 1) of the points every quarter.

        2**(-q/h) = 1 - loss, so h = q * ln 2 / -ln(1 - loss).

        >>> round(Decay.from_loss_per_quarter(0.25).half_life_days, 3)
        220.01
        """
        if not 0 < loss < 1:
            raise ValueError(f"loss_per_quarter must be between 0 and 1, got {loss}")
        return cls(QUARTER_DAYS * math.log(2) / -math.log1p(-loss))

    @property
    def half_life_seconds(self) -> float:
        return math.inf if self.half_life_days is None else self.half_life_days * SECONDS_PER_DAY

    def factor(self, age_seconds: float) -> float:
        """The share of points left after `age_seconds`: 2 ** (-age / half-life)."""
        if self.half_life_days is None:
            return 1.0
        return 2.0 ** (-age_seconds / (self.half_life_days * SECONDS_PER_DAY))  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class FitRule:
    """`points` when `when` holds for the contact and its account; with `points_by` or
    `points_per`, the points read from a field instead (see `PointsBy`, `PointsPer`)."""

    name: str
    when: Condition
    points: float
    description: str | None = None
    points_by: PointsBy | None = None
    points_per: PointsPer | None = None

    def fields(self) -> tuple[str, ...]:
        """Every field the rule reads: its condition's, then the field its points read."""
        extra = [v.field for v in (self.points_by, self.points_per) if v is not None]
        return (*self.when.fields(), *extra)


@dataclass(frozen=True, slots=True)
class IntentRule:
    """Points for each matching event, decayed and capped; or, when `min_count` is set,
    `points` while at least `min_count` matching events fall in the last `within_days`."""

    name: str
    events: tuple[str, ...]
    points: float
    where: Condition | None = None
    cap: float | None = None
    min_count: int | None = None
    within_days: float | None = None
    level: Literal["contact", "account"] = "contact"
    description: str | None = None
    measure: Measure | None = None  # windowed: distinct values, a sum or a maximum
    after: After | None = None  # windowed: a sequence (earlier events required)
    # issue 13: the rule's own decay, a hard lifespan, de-duplication, diminishing returns
    decay: Decay | None = None
    expires_after_days: float | None = None
    once_per: Literal["hour", "day", "session"] | None = None
    each_repeat: float | None = None
    points_per: PointsPer | None = None  # each event's points read from a property

    @property
    def windowed(self) -> bool:
        return self.min_count is not None

    @property
    def window(self) -> Activity:
        """A windowed rule's condition as an `Activity` leaf (what it counts)."""
        assert self.min_count is not None and self.within_days is not None
        return Activity(self.events, self.min_count, self.within_days, self.where,
                        self.measure, self.after)

    def decay_in(self, score: Score) -> Decay:
        """The decay of this rule's points: its own, else its score's."""
        return score.decay if self.decay is None else self.decay

    @property
    def logged(self) -> bool:
        """Whether the rule needs its events' times (lifespan, once per, repeats), not
        only their decayed sum."""
        return (self.expires_after_days is not None or self.once_per is not None
                or self.each_repeat is not None)


@dataclass(frozen=True, slots=True)
class Score:
    """A named score: fit (attributes, no decay) or intent (events, decayed)."""

    name: str
    kind: Literal["fit", "intent"]
    rules: tuple[FitRule, ...] | tuple[IntentRule, ...]
    max: float | None = None
    decay: Decay = Decay(None)
    description: str | None = None
    floor: float | None = None  # the score is max(floor, min(max, sum of rules))

    def bounded(self, total: float) -> float:
        """The sum of the rules' values limited to `max`, then raised to `floor`.

        >>> Score("intent", "intent", (), max=100, floor=-20).bounded(-35.5)
        -20
        """
        if self.max is not None:
            total = min(self.max, total)
        return total if self.floor is None else max(self.floor, total)


@dataclass(frozen=True, slots=True)
class Criterion:
    """A named rule that qualifies a contact on its own (contact, account, scores,
    activity)."""

    name: str
    when: Condition
    description: str | None = None


@dataclass(frozen=True, slots=True)
class FastTrack:
    """A matching event within `within_days` qualifies at once (demo request, trial)."""

    name: str
    events: tuple[str, ...]
    where: Condition | None = None
    within_days: float = 30.0
    description: str | None = None


Minimums = tuple[tuple[str, float], ...]
DEFAULT_TOTAL: Minimums = (("fit", 1.0), ("intent", 1.0))


def weighted_total(weights: Minimums, values: Mapping[str, float]) -> float:
    """`total`: the weighted sum of named scores, added left to right from 0.0 (as the
    batch engines add it). The default weights give fit + intent.

    >>> weighted_total((("fit", 1.0), ("intent", 1.0), ("product", 0.5)),
    ...                {"fit": 40.0, "intent": 25.0, "product": 30.0})
    80.0
    """
    total = 0.0
    for name, weight in weights:
        total += weight * values[name]
    return total


@dataclass(frozen=True, slots=True)
class MqlDefinition:
    """Qualified when every minimum of one threshold set holds, or one criterion matches,
    or one fast-track event happened recently; never when an `exclude` rule matches."""

    thresholds: tuple[Minimums, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    fast_track: tuple[FastTrack, ...] = ()
    exclude: tuple[Criterion, ...] = ()


@dataclass(frozen=True, slots=True)
class ExitRule:
    """An MQL leaves for `to` as soon as `when` holds (and cannot qualify while it holds),
    with `reason` in the words a seller reads: "unsubscribed from our emails"."""

    name: str
    when: Condition
    reason: str
    to: Literal["nurture", "recycled", "disqualified"] = "nurture"
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Grades:
    """Fit letters (A best) and intent digits (1 best) from score bands; the lowest band
    (D, 4) is everything below the last minimum."""

    fit_score: str
    fit_bands: tuple[tuple[str, float], ...]
    intent_score: str
    intent_bands: tuple[tuple[str, float], ...]
    fit_floor: str = "D"
    intent_floor: str = "4"

    def grade(self, fit: float, intent: float) -> str:
        """The grade such as "A2" for these two scores.

        >>> Grades("fit", (("A", 70), ("B", 50), ("C", 30)),
        ...        "intent", (("1", 60), ("2", 35), ("3", 15))).grade(72, 40)
        'A2'
        """
        letter = next((b for b, low in self.fit_bands if fit >= low), self.fit_floor)
        digit = next((b for b, low in self.intent_bands if intent >= low), self.intent_floor)
        return letter + digit


@dataclass(frozen=True, slots=True)
class Outcomes:
    """How opportunities are credited to the hand-offs before them: a contact's MQL at most
    `sourced_within_days` before the opportunity opened sourced it; one at most
    `influenced_within_days` before (or while it was open) influenced it."""

    sourced_within_days: float = 90.0
    influenced_within_days: float = 180.0


@dataclass(frozen=True, slots=True)
class Model:
    """A whole scoring model. `scores` is ordered: fit, intent, then the named scores."""

    name: str
    scores: Mapping[str, Score]
    mql: MqlDefinition
    version: str | None = None
    description: str | None = None
    grades: Grades | None = None
    exit_below: Minimums = ()
    contact_fields: frozenset[str] = frozenset()
    account_fields: frozenset[str] = frozenset()
    event_types: frozenset[str] = frozenset()
    lifecycle: Lifecycle = Lifecycle()  # noqa: RUF009 - a frozen value
    routing: Routing | None = None
    sla: tuple[SlaRule, ...] = ()
    outcomes: Outcomes = Outcomes()
    reports: ReportSettings = ReportSettings()  # noqa: RUF009 - a frozen value
    lists: tuple[NamedList, ...] = ()  # the external lists the conditions test
    exit_when: tuple[ExitRule, ...] = ()  # exits on conditions, beside exit_below
    digest: str = field(default="", compare=False)
    total: Minimums = DEFAULT_TOTAL  # (score, weight): total = sum of weight * score
    accounts: AccountScoring | None = None  # issue 16: the `accounts:` section
    attribution: AttributionSettings = AttributionSettings()  # noqa: RUF009 - issue 18
    consent: ConsentPolicy | None = None  # issue 17: the `consent:` section (None: no gates)
    nurture: Nurture | None = None  # issue 21: the `nurture:` section (None: no tracks)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", MappingProxyType(dict(self.scores)))

    @property
    def fit(self) -> Score:
        return self.scores["fit"]

    @property
    def intent(self) -> Score:
        return self.scores["intent"]

    def __repr__(self) -> str:
        rules = sum(len(s.rules) for s in self.scores.values())
        return (f"Model({self.name!r}, version={self.version!r}, scores={list(self.scores)}, "
                f"rules={rules})")


# -- points read from a field: value tables, bins, points per unit (issue 13) -----------

ALWAYS: Condition = All(())  # the `when` of a rule that gives none: always holds


def clamp_points(value: float, cap: float | None) -> float:
    """`value` limited to `cap` in magnitude (as rule caps are).

    >>> clamp_points(36.0, 20.0), clamp_points(-36.0, 20.0), clamp_points(5.0, None)
    (20.0, -20.0, 5.0)
    """
    if cap is None:
        return value
    return min(cap, value) if value >= 0 else max(-cap, value)


@dataclass(frozen=True, slots=True)
class PointsBy:
    """Points from a field's value: the first `table` key it equals (compared as `eq`
    compares), or the first of `bins` `[low, high)` its number falls in; else `default`
    (also when the field is missing)."""

    field: str
    table: tuple[tuple[Any, float], ...] = ()
    bins: tuple[tuple[float, float, float], ...] = ()
    default: float = 0.0

    def cases(self) -> tuple[tuple[str, Condition, float], ...]:
        """(label, condition, points) in order: the first that holds gives the points.

        >>> PointsBy("account.employees", bins=((0, 50, -5), (50, 200, 5))).cases()[1][0]
        '[50, 200)'
        """
        if self.table:
            return tuple((str(key), Compare(self.field, "eq", key), points)
                         for key, points in self.table)
        cases: list[tuple[str, Condition, float]] = []
        for low, high, points in self.bins:  # an infinite end is no limit (null in the file)
            tests = ([Compare(self.field, "gte", low)] if math.isfinite(low) else []) + (
                [Compare(self.field, "lt", high)] if math.isfinite(high) else [])
            label = (f"[{_num(low)}, {_num(high)})" if len(tests) == 2 else
                     f"< {_num(high)}" if math.isfinite(high) else f">= {_num(low)}")
            cases.append((label, All(tuple(tests)), points))
        return tuple(cases)

    @property
    def best(self) -> float:
        """The most points the rule can give (what enriching the field may be worth)."""
        return max([self.default, *(p for _, _, p in self.cases())], key=abs)


@dataclass(frozen=True, slots=True)
class PointsPer:
    """`points` for each whole `each` units of a number: `floor(n / each) * points`,
    limited to `cap` in magnitude. A value that is missing, not a number, negative or
    not finite earns nothing."""

    field: str
    each: float
    points: float
    cap: float | None = None

    def value(self, number: float | None) -> float:
        """The points for `number`.

        >>> PointsPer("minutes", 1, 2, cap=20).value(7.9), PointsPer("m", 5, 3).value(-4)
        (14.0, 0.0)
        """
        if number is None or not math.isfinite(number) or number < 0:
            return 0.0
        return clamp_points(float(math.floor(number / self.each) * self.points), self.cap)

    def units(self, number: float | None) -> int:
        if number is None or not math.isfinite(number) or number < 0:
            return 0
        return math.floor(number / self.each)


def _num(value: float) -> str:
    return f"{value:g}"
