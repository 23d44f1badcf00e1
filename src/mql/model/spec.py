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
from typing import Literal

from mql.model.conditions import Activity, After, Condition, Measure
from mql.model.handoff import Lifecycle, Routing, SlaRule
from mql.model.lists import NamedList
from mql.model.reports import ReportSettings

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
    """`points` when `when` holds for the contact and its account."""

    name: str
    when: Condition
    points: float
    description: str | None = None


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

    @property
    def windowed(self) -> bool:
        return self.min_count is not None

    @property
    def window(self) -> Activity:
        """A windowed rule's condition as an `Activity` leaf (what it counts)."""
        assert self.min_count is not None and self.within_days is not None
        return Activity(self.events, self.min_count, self.within_days, self.where,
                        self.measure, self.after)


@dataclass(frozen=True, slots=True)
class Score:
    """A named score: fit (attributes, no decay) or intent (events, decayed)."""

    name: str
    kind: Literal["fit", "intent"]
    rules: tuple[FitRule, ...] | tuple[IntentRule, ...]
    max: float | None = None
    decay: Decay = Decay(None)
    description: str | None = None


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
