"""Window states beyond counting events: distinct values, sums, sequences (model v2).

Each state answers, like `RecentTimes`, whether its condition holds at any time `t` at or
after the latest event it has seen (`holds_at`) and the exact moment it stops holding
without new events (`expires_at`: the condition becomes false when events age out of the
window `(t - within, t]`). Each is exact whatever order the events arrive in, and
bounded: it keeps only what can still change an answer at or after its latest event.

>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
>>> day, month = timedelta(days=1), timedelta(days=30)
>>> s = DistinctTimes.start("/a", t0, 2).add("/b", t0 + day).add("/a", t0 + 2 * day)
>>> s.holds_at(t0 + 2 * day, month), s.expires_at(month) == t0 + day + month
(True, True)
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mql.model.conditions import CONTACT, Activity
from mql.records import Event
from mql.scoring.evaluate import Predicate, compile_condition, is_missing


def distinct_key(value: Any) -> str | None:
    """The text a distinct count compares (None: missing, not counted). Text as written
    (case and spaces count), other JSON values as JSON writes them (true, 3, 2.5): the
    text the batch engines read from the event's JSON properties.

    >>> distinct_key("/Pricing"), distinct_key(True), distinct_key(3), distinct_key(" ")
    ('/Pricing', 'true', '3', None)
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def summand(value: Any) -> float:
    """What one event adds to a sum: its value as a number, 0 when missing, not a number
    or not positive (seconds, minutes, amounts: a negative value is a data error).

    >>> summand("90"), summand(-5), summand("n/a"), summand(None), summand(True), summand(10**400)
    (90.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    """
    if isinstance(value, bool) or is_missing(value):
        return 0.0
    try:
        number = float(value if isinstance(value, int | float) else str(value).strip())
    except (ValueError, OverflowError):  # OverflowError: an integer beyond any float
        return 0.0
    return number if number > 0 and math.isfinite(number) else 0.0


@dataclass(frozen=True, slots=True)
class DistinctTimes:
    """The latest time of each distinct value, for the `keep` values seen most recently
    (ascending by time): `keep` distinct values fall in the window while the oldest of
    them does."""

    latest: tuple[tuple[datetime, str], ...]
    keep: int

    @classmethod
    def start(cls, value: str, at: datetime, keep: int) -> DistinctTimes:
        return cls(((at, value),), keep)

    def add(self, value: str, at: datetime) -> DistinctTimes:
        seen = {v: t for t, v in self.latest}
        if value in seen and seen[value] >= at:
            return self
        if value not in seen and len(self.latest) == self.keep and (at, value) <= self.latest[0]:
            return self  # older than every kept value: it can never change a window
        seen[value] = at
        kept = sorted((t, v) for v, t in seen.items())[-self.keep:]
        return DistinctTimes(tuple(kept), self.keep)

    def merge(self, other: DistinctTimes) -> DistinctTimes:
        out = self
        for t, v in other.latest:
            out = out.add(v, t)
        return out

    @property
    def as_of(self) -> datetime:
        return self.latest[-1][0]

    def holds_at(self, t: datetime, within: timedelta) -> bool:
        return len(self.latest) == self.keep and t - self.latest[0][0] < within

    def expires_at(self, within: timedelta) -> datetime | None:
        return self.latest[0][0] + within if len(self.latest) == self.keep else None


@dataclass(frozen=True, slots=True)
class WindowSum:
    """Per event time (ascending), the sum of the values then: the newest times whose
    sum reaches `line` (all of them, in the window before `as_of`, while it does not).
    Values are never negative, so the sum in the window reaches the line exactly while
    every kept time is in it."""

    sums: tuple[tuple[datetime, float], ...]
    line: float
    as_of: datetime

    @classmethod
    def start(cls, value: float, at: datetime, line: float, within: timedelta) -> WindowSum:
        return cls((), line, at).add(value, at, within)

    def add(self, value: float, at: datetime, within: timedelta) -> WindowSum:
        latest = max(self.as_of, at)
        sums = dict(self.sums)
        if value > 0:
            sums[at] = sums.get(at, 0.0) + value
        kept: list[tuple[datetime, float]] = []
        total = 0.0
        for t in sorted(sums, reverse=True):
            if latest - t >= within or total >= self.line:
                break  # out of every window from now on, or not needed to reach the line
            kept.append((t, sums[t]))
            total += sums[t]
        return WindowSum(tuple(reversed(kept)), self.line, latest)

    def merge(self, other: WindowSum, within: timedelta) -> WindowSum:
        out = WindowSum(self.sums, self.line, max(self.as_of, other.as_of))
        for t, v in other.sums:
            out = out.add(v, t, within)
        return out.add(0.0, out.as_of, within)

    @property
    def total(self) -> float:
        return math.fsum(v for _, v in self.sums)

    def holds_at(self, t: datetime, within: timedelta) -> bool:
        return bool(self.sums) and self.total >= self.line and t - self.sums[0][0] < within

    def expires_at(self, within: timedelta) -> datetime | None:
        if not self.sums or self.total < self.line:
            return None
        return self.sums[0][0] + within


@dataclass(frozen=True, slots=True)
class SequenceTimes:
    """A sequence: `best` is the latest event that had `need` earlier events before it
    (within `gap`, or at any time), None once it has left the window at `as_of` (it
    answers nothing at or after it: one record of all events and merged records agree);
    `pending` the later ones still waiting for them (a late earlier event may complete
    them); `priors` the earlier events that may still complete one (with no gap: the
    `need` first ones)."""

    best: datetime | None
    pending: tuple[datetime, ...]
    priors: tuple[datetime, ...]
    as_of: datetime

    @classmethod
    def empty(cls, at: datetime) -> SequenceTimes:
        return cls(None, (), (), at)

    def add(self, at: datetime, prior: bool, then: bool, need: int, gap: timedelta | None,
            within: timedelta) -> SequenceTimes:
        priors = list(self.priors)
        pending = list(self.pending)
        if prior:
            bisect.insort(priors, at)
        if then:
            bisect.insort(pending, at)
        return SequenceTimes(self.best, tuple(pending), tuple(priors),
                             max(self.as_of, at)).settled(need, gap, within)

    def settled(self, need: int, gap: timedelta | None, within: timedelta) -> SequenceTimes:
        """Pending events that now have their earlier events promoted to `best`, and
        what can no longer change an answer at or after `as_of` dropped."""
        best = self.best
        for b in self.pending:
            start = 0 if gap is None else bisect.bisect_right(self.priors, b - gap)
            if bisect.bisect_left(self.priors, b) - start >= need and (best is None or b > best):
                best = b
        if best is not None and not self.as_of - best < within:  # ended: answers nothing
            best = None
        floor = self.as_of - within if best is None else max(best, self.as_of - within)
        pending = tuple(b for b in self.pending if b > floor)
        if gap is None:
            priors = self.priors[:need]
        else:
            priors = tuple(a for a in self.priors if a > floor - gap)
        return SequenceTimes(best, pending, priors, self.as_of)

    def merge(self, other: SequenceTimes, need: int, gap: timedelta | None,
              within: timedelta) -> SequenceTimes:
        best = max((b for b in (self.best, other.best) if b is not None), default=None)
        return SequenceTimes(best, tuple(sorted(self.pending + other.pending)),
                             tuple(sorted(self.priors + other.priors)),
                             max(self.as_of, other.as_of)).settled(need, gap, within)

    def holds_at(self, t: datetime, within: timedelta) -> bool:
        return self.best is not None and t - self.best < within

    def expires_at(self, within: timedelta) -> datetime | None:
        return None if self.best is None else self.best + within


def averaged(value: Any) -> float | None:
    """What one event brings to an average: its value as a number (a negative one as 0,
    as in a sum); None when missing or not a number (left out of the average).

    >>> averaged("90"), averaged(-5), averaged("n/a"), averaged(None), averaged(-10**400)
    (90.0, 0.0, None, None, None)
    """
    if isinstance(value, bool) or is_missing(value):
        return None
    try:
        number = float(value if isinstance(value, int | float) else str(value).strip())
    except (ValueError, OverflowError):  # OverflowError: an integer beyond any float
        return None
    return max(number, 0.0) if math.isfinite(number) else None


@dataclass(frozen=True, slots=True)
class WindowAvg:
    """Per event time (ascending), the sum of `value - line` and the number of values
    then, for every event that can still be in a window at or after `as_of`: the average
    reaches the line while the events still in the window have a sum >= 0 (and one is).
    Unlike a count or a sum it can stop and start again as events age out (a low value
    leaving raises the average), so `flips` lists every change."""

    points: tuple[tuple[datetime, float, int], ...]
    line: float
    as_of: datetime

    def add(self, value: float | None, at: datetime, within: timedelta) -> WindowAvg:
        latest = max(self.as_of, at)
        points = {t: (s, n) for t, s, n in self.points}
        if value is not None:
            s, n = points.get(at, (0.0, 0))
            points[at] = (s + (value - self.line), n + 1)
        kept = tuple((t, s, n) for t, (s, n) in sorted(points.items()) if latest - t < within)
        return WindowAvg(kept, self.line, latest)

    def merge(self, other: WindowAvg, within: timedelta) -> WindowAvg:
        points = {t: (s, n) for t, s, n in self.points}
        for t, s, n in other.points:
            old_s, old_n = points.get(t, (0.0, 0))
            points[t] = (old_s + s, old_n + n)
        merged = tuple((t, s, n) for t, (s, n) in sorted(points.items()))
        return WindowAvg(merged, self.line, max(self.as_of, other.as_of)).add(
            None, max(self.as_of, other.as_of), within)

    def holds_at(self, t: datetime, within: timedelta) -> bool:
        inside = [(s, n) for e, s, n in self.points if t - e < within]
        return sum(n for _, n in inside) > 0 and math.fsum(s for s, _ in inside) >= 0

    def flips(self, now: datetime, within: timedelta) -> list[datetime]:
        """Every moment after `now` at which `holds_at` changes, without new events."""
        out: list[datetime] = []
        held = self.holds_at(now, within)
        for e, _, _ in self.points:
            leaves = e + within
            if leaves > now and self.holds_at(leaves, within) != held:
                held = not held
                out.append(leaves)
        return out

    def expires_at(self, within: timedelta) -> datetime | None:
        """The first moment after `as_of` at which it stops holding (None: it does not
        hold at `as_of`)."""
        if not self.holds_at(self.as_of, within):
            return None
        return self.flips(self.as_of, within)[0]


WindowState = DistinctTimes | WindowSum | SequenceTimes | WindowAvg
# (the tracker's stored state, None or of another kind when the model changed; the event)
# -> its new state (None: nothing to keep)
Fold = Callable[[Any, Event], Any]


def window_fold(leaf: Activity) -> tuple[Fold, Predicate | None]:
    """How a tracker folds an event into its `WindowState` for `leaf` (a measure other
    than max, or a sequence), and the test an event must pass to be folded at all."""
    within = timedelta(days=leaf.within_days)
    where = None if leaf.where is None else compile_condition(leaf.where)
    kinds = frozenset(leaf.events)
    if leaf.after is not None:
        after = leaf.after
        earlier = None if after.where is None else compile_condition(after.where)
        earlier_kinds = frozenset(after.events)
        gap = None if after.within_days is None else timedelta(days=after.within_days)
        need = after.min_count

        def sequence(old: SequenceTimes | None, event: Event) -> SequenceTimes | None:
            get = event.properties.get
            then = event.type in kinds and (where is None or where(get))
            prior = event.type in earlier_kinds and (earlier is None or earlier(get))
            if not (then or prior):
                return old
            state = old if isinstance(old, SequenceTimes) else SequenceTimes.empty(event.at)
            return state.add(event.at, prior, then, need, gap, within)

        either = None if where is None or earlier is None else (
            lambda get: where(get) or earlier(get))
        return sequence, either
    measure = leaf.measure
    assert measure is not None
    if measure.kind == "distinct":
        field, keep = measure.field, leaf.min_count

        def distinct(old: DistinctTimes | None, event: Event) -> DistinctTimes | None:
            value = distinct_key(event.contact if field == CONTACT
                                 else event.properties.get(field))
            if value is None:
                return old
            return (old.add(value, event.at) if isinstance(old, DistinctTimes)
                    else DistinctTimes.start(value, event.at, keep))

        return distinct, where
    field, line = measure.field, measure.at_least
    if measure.kind == "avg":

        def average(old: WindowAvg | None, event: Event) -> WindowAvg:
            value = averaged(event.properties.get(field))
            base = old if isinstance(old, WindowAvg) else WindowAvg((), line, event.at)
            return base.add(value, event.at, within)

        return average, where

    def summed(old: WindowSum | None, event: Event) -> WindowSum:
        value = summand(event.properties.get(field))
        return (old.add(value, event.at, within) if isinstance(old, WindowSum)
                else WindowSum.start(value, event.at, line, within))

    return summed, where


def merge_windows(ours: WindowState, theirs: WindowState, leaf: Activity) -> WindowState:
    """Two states of the same window tracker as one (merged contacts)."""
    within = timedelta(days=leaf.within_days)
    if isinstance(ours, DistinctTimes) and isinstance(theirs, DistinctTimes):
        return ours.merge(theirs)
    if isinstance(ours, WindowSum) and isinstance(theirs, WindowSum):
        return ours.merge(theirs, within)
    if isinstance(ours, WindowAvg) and isinstance(theirs, WindowAvg):
        return ours.merge(theirs, within)
    assert isinstance(ours, SequenceTimes) and isinstance(theirs, SequenceTimes)
    assert leaf.after is not None
    gap = None if leaf.after.within_days is None else timedelta(days=leaf.after.within_days)
    return ours.merge(theirs, leaf.after.min_count, gap, within)


def describe_window(leaf: Activity, events: Sequence[Event], at: datetime
                    ) -> tuple[list[Event], str]:
    """For `explain`: the events that count for `leaf` at `at` (in its window; for a
    sequence, those with their earlier events before them), and what they add up to.

    >>> from datetime import datetime, timezone
    >>> from mql.model.conditions import Measure
    >>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> seen = [Event("1", "page_view", t, properties={"seconds": 400}),
    ...         Event("2", "page_view", t, properties={"seconds": "250"})]
    >>> describe_window(Activity(("page_view",), 1, 30, measure=Measure("sum", "seconds", 600)),
    ...                 seen, t)[1]
    'sum of seconds 650 in 30 days, needs 600'
    """
    within = timedelta(days=leaf.within_days)
    where = None if leaf.where is None else compile_condition(leaf.where)

    def then(e: Event) -> bool:
        return e.type in leaf.events and (where is None or where(e.properties.get))

    recent = [e for e in events if then(e) and timedelta(0) <= at - e.at < within]
    days = f"{leaf.within_days:g} days"
    if leaf.after is not None:
        after = leaf.after
        earlier = None if after.where is None else compile_condition(after.where)
        gap = None if after.within_days is None else timedelta(days=after.within_days)
        priors = [e.at for e in events if e.type in after.events
                  and (earlier is None or earlier(e.properties.get))]
        done = [e for e in recent if sum(1 for a in priors if a < e.at and (
            gap is None or e.at - a < gap)) >= after.min_count]
        latest = max((e.at for e in done), default=None)
        when = "" if latest is None else f", the latest {latest.strftime('%Y-%m-%d %H:%M')}"
        return done, (f"{len(done)} of {len(recent)} {'/'.join(leaf.events)} in {days} "
                      f"{after}{when}, needs 1")
    measure = leaf.measure
    assert measure is not None
    if measure.kind == "distinct":
        values = sorted({v for e in recent if (v := distinct_key(
            e.contact if measure.field == CONTACT else e.properties.get(measure.field)))
            is not None})
        shown = ", ".join(values[:5]) + (", ..." if len(values) > 5 else "")
        return recent, (f"{len(values)} distinct {measure.field} in {days}"
                        f"{f' ({shown})' if values else ''}, needs {leaf.min_count}")
    if measure.kind == "avg":
        given = [n for e in recent if (n := averaged(e.properties.get(measure.field)))
                 is not None]
        mean = math.fsum(given) / len(given) if given else 0.0
        return recent, (f"avg of {measure.field} {mean:g} over {len(given)} in {days}, "
                        f"needs {measure.at_least:g}")
    numbers = [summand(e.properties.get(measure.field)) for e in recent]
    value = math.fsum(numbers) if measure.kind == "sum" else max(numbers, default=0.0)
    return recent, (f"{measure.kind} of {measure.field} {value:g} in {days}, needs "
                    f"{measure.at_least:g}")


# -- the stored form (contact_scores.state): a "window" key marks these states ----------------

def window_to_dict(state: WindowState) -> dict[str, object]:
    """A JSON-ready form of `state`; `window_from_dict` reads it back.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> s = SequenceTimes(t, (), (t,), t)
    >>> window_from_dict(window_to_dict(s)) == s
    True
    """
    if isinstance(state, DistinctTimes):
        return {"window": "distinct", "keep": state.keep,
                "latest": [[t.isoformat(), v] for t, v in state.latest]}
    if isinstance(state, WindowAvg):
        return {"window": "avg", "line": state.line, "as_of": state.as_of.isoformat(),
                "points": [[t.isoformat(), s, n] for t, s, n in state.points]}
    if isinstance(state, WindowSum):
        return {"window": "sum", "line": state.line, "as_of": state.as_of.isoformat(),
                "sums": [[t.isoformat(), v] for t, v in state.sums]}
    return {"window": "sequence", "as_of": state.as_of.isoformat(),
            "best": None if state.best is None else state.best.isoformat(),
            "pending": [t.isoformat() for t in state.pending],
            "priors": [t.isoformat() for t in state.priors]}


def window_from_dict(item: Mapping[str, Any]) -> WindowState:
    """The state written by `window_to_dict`."""
    when = datetime.fromisoformat
    if item["window"] == "distinct":
        return DistinctTimes(tuple((when(t), str(v)) for t, v in item["latest"]),
                             int(item["keep"]))
    if item["window"] == "avg":
        return WindowAvg(tuple((when(t), float(s), int(n)) for t, s, n in item["points"]),
                         float(item["line"]), when(item["as_of"]))
    if item["window"] == "sum":
        return WindowSum(tuple((when(t), float(v)) for t, v in item["sums"]),
                         float(item["line"]), when(item["as_of"]))
    best = item.get("best")
    return SequenceTimes(None if best is None else when(best),
                         tuple(map(when, item["pending"])), tuple(map(when, item["priors"])),
                         when(item["as_of"]))


__all__ = [
    "DistinctTimes",
    "SequenceTimes",
    "WindowAvg",
    "WindowState",
    "WindowSum",
    "averaged",
    "describe_window",
    "distinct_key",
    "merge_windows",
    "summand",
    "window_fold",
    "window_from_dict",
    "window_to_dict",
]
