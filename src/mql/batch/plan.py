"""What a model asks of the data, laid out for set-based queries: trackers, fields, columns.

A tracker is one thing counted over events, exactly as `mql.scoring.intent.Program` counts
it: a decayed sum of points (an intent rule), or a count of recent events (a windowed
rule, an `Activity` leaf of the criteria, a fast-track event).

>>> from importlib.resources import files
>>> from mql.model.parse import parse_model
>>> plan = Plan(parse_model(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()))
>>> len(plan.trackers), sorted(plan.properties)[:3]
(22, ['asset', 'asset_type', 'strength'])
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mql.batch.asof import AsOf, micros
from mql.model.conditions import (
    CONTACT,
    Activity,
    After,
    Condition,
    Measure,
    activities,
    counted_where,
    needs_window_state,
)
from mql.model.spec import (
    SECONDS_PER_DAY,
    TOTAL,
    Criterion,
    ExitRule,
    IntentRule,
    Model,
    PointsPer,
    Score,
)
from mql.model.windows import CalendarWindow
from mql.scoring.intent import rule_key

Level = Literal["contact", "account"]
_MICROSECOND = timedelta(microseconds=1)


def window_micros(days: float) -> int:
    """A window of `days` in microseconds, rounded as `timedelta(days=...)` rounds."""
    return timedelta(days=days) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class Tracker:
    """One counted thing. `column` names it in SQL (`t0`, `t1` ...). A decayed tracker has
    `window_us=None` and `half_life_s` (None: no decay); a window tracker counts the
    events in the last `window_us` microseconds."""

    column: str
    key: str
    level: Level
    events: tuple[str, ...]
    where: Condition | None
    half_life_s: float | None = None
    window_us: int | None = None
    # windows beyond counting events (see `window_tracker`): the line the window's value
    # must reach, a distinct count or sum (`measure`), a sequence (`after`, `then`)
    line: float = 1.0
    measure: Measure | None = None
    after: After | None = None
    then: tuple[str, ...] = ()
    then_where: Condition | None = None
    # issue 13: a lifespan, de-duplication and diminishing repeats (`mql.batch.events`)
    lifespan_us: int | None = None
    once_per: str | None = None
    each_repeat: float | None = None
    per: PointsPer | None = None  # each event's points read from a property
    # a calendar window (this quarter, the last N business days): its start moves with
    # each time of a series (`mql.batch.series`); `window_us` is then unused
    calendar: CalendarWindow | None = None

    @property
    def windowed(self) -> bool:
        return self.window_us is not None

    @property
    def aggregate(self) -> bool:
        """True for a distinct count or a sum (not a count of flagged events)."""
        return self.measure is not None

    @property
    def weighted(self) -> bool:
        """Whether each event carries its share of the points (column ``w<column>``)."""
        return self.each_repeat is not None or self.per is not None

    def measured_fields(self) -> list[str]:
        """The event properties the tracker reads besides `where`."""
        fields = [self.measure.field] if self.measure and self.measure.field != CONTACT else []
        for cond in (self.then_where, self.after.where if self.after else None):
            fields += list(cond.fields()) if cond is not None else []
        return fields


def window_tracker(column: str, key: str, level: Level, leaf: Activity,
                   window_us: int | None = None) -> Tracker:
    """A windowed rule's or activity leaf's tracker, as `mql.scoring.intent.window_tracker`
    keeps it: a count of matching events in the window (a `max` counts the events that
    reach its line), distinct values or a sum (`measure`), or a sequence: a count of the
    events of `then` that have the earlier events of `after` before them."""
    window = window_micros(leaf.within_days) if window_us is None else window_us
    if not needs_window_state(leaf):
        return Tracker(column, key, level, leaf.events, counted_where(leaf), window_us=window,
                       line=float(leaf.min_count), calendar=leaf.calendar)
    if leaf.after is not None:
        kinds = tuple(dict.fromkeys((*leaf.events, *leaf.after.events)))
        return Tracker(column, key, level, kinds, None, window_us=window, after=leaf.after,
                       then=leaf.events, then_where=leaf.where)
    assert leaf.measure is not None
    line = float(leaf.min_count) if leaf.measure.kind == "distinct" else leaf.measure.at_least
    return Tracker(column, key, level, leaf.events, leaf.where, window_us=window, line=line,
                   measure=leaf.measure)


class Plan:
    """A model's trackers, and the columns the compiled query reads.

    `contact_fields`, `account_fields` and `properties` map a field name to its column
    in the contacts table, the accounts table and the extracted event properties.
    """

    def __init__(self, model: Model, as_of: AsOf | None = None) -> None:
        self.model = model
        self.as_of = as_of  # the scoring times: calendar windows are laid out for them
        trackers: list[Tracker] = []
        self.rule_trackers: dict[str, Tracker] = {}
        for score in model.scores.values():
            if score.kind != "intent":
                continue
            for rule in score.rules:
                assert isinstance(rule, IntentRule)
                t = self._rule(score, rule, f"t{len(trackers)}")
                self.rule_trackers[t.key] = t
                trackers.append(t)
        self.activity_trackers: dict[Activity, Tracker] = {}
        decisive: tuple[Criterion | ExitRule, ...] = (*model.mql.criteria, *model.mql.exclude,
                                                       *model.exit_when)
        for criterion in decisive:
            for leaf in activities(criterion.when):
                if leaf not in self.activity_trackers:
                    t = window_tracker(f"t{len(trackers)}",
                                       f"activity.{len(self.activity_trackers)}", "contact", leaf,
                                       self.activity_window_us(leaf))
                    self.activity_trackers[leaf] = t
                    trackers.append(t)
        self.fast_track_trackers: dict[str, Tracker] = {}
        for fast in model.mql.fast_track:
            t = Tracker(f"t{len(trackers)}", f"fast_track.{fast.name}", "contact", fast.events,
                        fast.where, window_us=window_micros(fast.within_days))
            self.fast_track_trackers[fast.name] = t
            trackers.append(t)
        self.trackers = tuple(trackers)
        self.event_types = tuple(sorted({e for t in trackers for e in t.events}))
        self.properties = _columns(
            [*(f for t in trackers if t.where is not None for f in t.where.fields()),
             *(f for t in trackers for f in t.measured_fields()),
             *(t.per.field for t in trackers if t.per is not None)], "p")
        record_fields = [f for s in model.scores.values() if s.kind == "fit"
                         for r in s.rules for f in r.fields()]  # type: ignore[union-attr]
        record_fields += [f for c in decisive for f in c.when.fields()]
        self.contact_fields = _columns(
            (f for f in record_fields if f.startswith("contact.")), "c")
        self.account_fields = _columns(
            (f for f in record_fields if f.startswith("account.")), "a")
        self.score_names = (*model.scores, TOTAL)

    @staticmethod
    def _rule(score: Score, rule: IntentRule, column: str) -> Tracker:
        key = rule_key(score.name, rule.name)
        if rule.windowed:
            return window_tracker(column, key, rule.level, rule.window)
        half_life = rule.decay_in(score).half_life_days
        life = rule.expires_after_days
        return Tracker(column, key, rule.level, rule.events, rule.where,
                       half_life_s=None if half_life is None else half_life * SECONDS_PER_DAY,
                       lifespan_us=None if life is None else window_micros(life),
                       once_per=rule.once_per, each_repeat=rule.each_repeat,
                       per=rule.points_per)

    def level(self, level: Level) -> tuple[Tracker, ...]:
        return tuple(t for t in self.trackers if t.level == level)

    @property
    def longest_window_us(self) -> int:
        return max((t.window_us for t in self.trackers if t.window_us is not None), default=0)

    def activity_window_us(self, leaf: Activity) -> int:
        """The window of an activity leaf: its days, or its calendar window at the one
        scoring time (`_calendar_window_us`)."""
        if leaf.calendar is not None:
            if self.as_of is None or self.as_of.count == 1:
                return 1 if self.as_of is None else calendar_window_us(
                    leaf.calendar, self.as_of.start)
            return 0  # a series: per time, from the tracker's `calendar`
        return window_micros(leaf.within_days)


def _columns(fields: object, prefix: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for name in fields:  # type: ignore[attr-defined]
        if name not in names:
            names[name] = f"{prefix}{len(names)}"
    return names


def calendar_window_us(calendar: CalendarWindow, at: datetime) -> int:
    """The calendar window at `at` as a window ending then: (at - w, at] with
    w = at - start + 1 microsecond holds exactly [start, at]."""
    return micros(at) - micros(calendar.start(at)) + 1


def calendar_ends(calendar: CalendarWindow, as_of: AsOf) -> list[tuple[int, int]]:
    """Where the window's start moves along the series `as_of`: (start in microseconds,
    the index of the first time with that start), ascending. An event at `ts` counts
    from its first time up to (not including) the first index whose start is after `ts`.

    >>> from datetime import UTC, date
    >>> from mql.model.windows import CalendarWindow
    >>> days = AsOf.daily(date(2026, 3, 30), date(2026, 4, 2))
    >>> [(datetime.fromtimestamp(s / 1e6, UTC).date().isoformat(), k)
    ...  for s, k in calendar_ends(CalendarWindow("quarter"), days)]
    [('2026-01-01', 0), ('2026-04-01', 2)]
    """
    out: list[tuple[int, int]] = []
    for k, t in enumerate(as_of.times()):
        start = micros(calendar.start(t))
        if not out or start != out[-1][0]:
            out.append((start, k))
    return out
