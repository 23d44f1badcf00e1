"""Backtesting a candidate model against another on history (pure).

Each model's history is a `Replay` per contact: its MQL verdict and score at the start of
every day of the period (the batch engine's daily series: each day sees only the events
before it, so nothing a contact did later can change an earlier day). `Outcome` is what
happened to the contact (first SQL, first opportunity, won revenue), from the ledger.

A contact **qualifies** under a model when it is an MQL on some day of the period; it is
**credited** with an outcome when it qualified on or before the outcome's day. Precision
at the MQL line is credited qualifiers over qualifiers, recall is credited qualifiers over
contacts with the outcome in the period.

>>> from datetime import date
>>> r = [Replay("a", date(2026, 1, 1), (False, True), (0.0, 60.0)),
...      Replay("b", date(2026, 1, 1), (False, False), (0.0, 10.0))]
>>> o = {"a": Outcome(sql=date(2026, 1, 5)), "b": Outcome(sql=date(2026, 1, 3))}
>>> s = summarize(r, o, weeks=1.0)
>>> s.mqls, s.rates["sql"].credited, s.rates["sql"].recall
(1, 1, 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

OUTCOMES = ("sql", "opportunity", "won")
DECILES = 10


@dataclass(frozen=True, slots=True)
class Replay:
    """One contact under one model: `mql[k]` and `score[k]` at the start of day
    `first + k` (`k = 0` is the day before the period: a baseline, not an entry)."""

    contact: str
    first: date
    mql: Sequence[int]  # truthy: an MQL that day (a bytes or bool sequence)
    score: Sequence[float]  # a tuple, or an array of doubles for a large store
    team: str | None = None

    def entries(self) -> list[date]:
        """The days the contact became an MQL (was not the day before)."""
        return [self.first + timedelta(days=k) for k in range(1, len(self.mql))
                if self.mql[k] and not self.mql[k - 1]]

    def first_mql(self) -> date | None:
        """The first day of the period it was an MQL (an MQL on the baseline day counts
        from the period's first day)."""
        for k in range(1, len(self.mql)):
            if self.mql[k]:
                return self.first + timedelta(days=k)
        return None

    def peak_before(self, day: date | None) -> float:
        """Its highest score on the days up to `day` (None: the whole period)."""
        last = len(self.score) if day is None else (day - self.first).days + 1
        window = self.score[1:max(1, last)] or self.score[:1]
        return max(window) if window else 0.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """The first day of each outcome of a contact in the period, and won revenue."""

    sql: date | None = None
    opportunity: date | None = None
    won: date | None = None
    revenue: float = 0.0

    def day(self, kind: str) -> date | None:
        day: date | None = getattr(self, kind)
        return day


@dataclass(frozen=True, slots=True)
class Rate:
    """One outcome at the MQL line: qualifiers credited with it, its conversion rate
    (= precision), contacts with it, recall."""

    credited: int
    rate: float | None
    positives: int
    recall: float | None


@dataclass(frozen=True, slots=True)
class Decile:
    decile: int
    contacts: int
    converted: int
    rate: float | None
    lift: float | None


@dataclass(frozen=True, slots=True)
class Summary:
    """One model over the period."""

    contacts: int
    mqls: int
    entries: int
    mqls_per_week: float
    weekly: dict[str, int]
    rates: dict[str, Rate]
    revenue: float
    deciles: tuple[Decile, ...]
    teams: dict[str, float]  # MQL entries per week by routing team


@dataclass(frozen=True, slots=True)
class Person:
    """A contact one model qualifies and the other does not, with its outcomes."""

    contact: str
    first_mql: date
    sql: date | None
    opportunity: date | None
    won: date | None
    revenue: float


@dataclass(frozen=True, slots=True)
class Comparison:
    candidate: Summary
    baseline: Summary
    newly_qualified: tuple[Person, ...]
    dropped: tuple[Person, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def identical(self) -> bool:
        return not self.newly_qualified and not self.dropped and self.candidate == self.baseline


def _week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _on_or_before(a: date, b: date | None) -> bool:
    return b is not None and a <= b


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def deciles(replays: Sequence[Replay], outcomes: Mapping[str, Outcome], kind: str = "sql"
            ) -> tuple[Decile, ...]:
    """Contacts ranked by their highest score before their outcome (the end of the period
    without one) in ten groups of (nearly) equal size, best first: each group's rate of
    `kind` and its lift over the overall rate."""
    ranked = []
    for r in replays:
        day = outcomes.get(r.contact, Outcome()).day(kind)
        ranked.append((-r.peak_before(day), r.contact, day is not None))
    ranked.sort()
    n = len(ranked)
    overall = _ratio(sum(1 for *_, hit in ranked if hit), n)
    out = []
    for d in range(DECILES):
        part = ranked[d * n // DECILES:(d + 1) * n // DECILES]
        hits = sum(1 for *_, hit in part if hit)
        rate = _ratio(hits, len(part))
        out.append(Decile(d + 1, len(part), hits, rate,
                          None if rate is None or not overall else rate / overall))
    return tuple(out)


def summarize(replays: Sequence[Replay], outcomes: Mapping[str, Outcome], *, weeks: float
              ) -> Summary:
    """One model's MQL volume, conversions, revenue, lift per decile and team load."""
    firsts = {r.contact: r.first_mql() for r in replays}
    qualified = {c: d for c, d in firsts.items() if d is not None}
    weekly: dict[str, int] = {}
    if replays:  # every week of the period, those without a new MQL too
        r0 = replays[0]
        for k in range(1, len(r0.mql)):
            weekly.setdefault(_week(r0.first + timedelta(days=k)), 0)
    teams: dict[str, int] = {}
    entries = 0
    for r in replays:
        for day in r.entries():
            entries += 1
            weekly[_week(day)] = weekly.get(_week(day), 0) + 1
            team = r.team or "unrouted"
            teams[team] = teams.get(team, 0) + 1
    rates = {}
    for kind in OUTCOMES:
        positives = [c for c in firsts if outcomes.get(c, Outcome()).day(kind) is not None]
        credited = sum(1 for c in positives
                       if c in qualified and _on_or_before(qualified[c], outcomes[c].day(kind)))
        rates[kind] = Rate(credited, _ratio(credited, len(qualified)), len(positives),
                           _ratio(credited, len(positives)))
    revenue = sum(o.revenue for c, o in outcomes.items()
                  if o.won is not None and c in qualified and qualified[c] <= o.won)
    return Summary(len(replays), len(qualified), entries, entries / weeks if weeks else 0.0,
                   dict(sorted(weekly.items())), rates, revenue, deciles(replays, outcomes),
                   {t: n / weeks if weeks else 0.0 for t, n in sorted(teams.items())})


def _people(only: Mapping[str, date], outcomes: Mapping[str, Outcome]) -> tuple[Person, ...]:
    out = []
    for c in sorted(only):
        o = outcomes.get(c, Outcome())
        out.append(Person(c, only[c], o.sql, o.opportunity, o.won, o.revenue))
    return tuple(out)


def compare(candidate: Sequence[Replay], baseline: Sequence[Replay],
            outcomes: Mapping[str, Outcome], *, weeks: float) -> Comparison:
    """Both models' summaries and the people who qualify under one only."""
    new = {r.contact: r.first_mql() for r in candidate}
    old = {r.contact: r.first_mql() for r in baseline}
    newly = {c: d for c, d in new.items() if d is not None and old.get(c) is None}
    dropped = {c: d for c, d in old.items() if d is not None and new.get(c) is None}
    return Comparison(summarize(candidate, outcomes, weeks=weeks),
                      summarize(baseline, outcomes, weeks=weeks),
                      _people(newly, outcomes), _people(dropped, outcomes))
