"""Decayed sums, recent-event windows and the exact time a score falls under a line.

An event of `p` points at `t_e` is worth `p * 2**(-(t - t_e)/h)` at `t`. Decay is linear
in the points, so a state can be carried forward in O(1) per event and a late event is
added exactly as if it had arrived on time.

>>> from datetime import datetime, timezone, timedelta
>>> from mql.model.spec import Decay
>>> t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
>>> week = Decay(7.0)
>>> s = DecayedSum.start(10.0, t0).add(10.0, t0 + timedelta(days=7), week)
>>> s.value_at(t0 + timedelta(days=14), week)
7.5
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mql.model.spec import Decay


@dataclass(frozen=True, slots=True)
class DecayedSum:
    """Points decayed to `as_of`; add() and merge() give the same result in any order."""

    value: float
    as_of: datetime

    @classmethod
    def start(cls, points: float, at: datetime) -> DecayedSum:
        return cls(points, at)

    def add(self, points: float, at: datetime, decay: Decay) -> DecayedSum:
        """This sum with `points` earned at `at` (earlier or later than `as_of`)."""
        if at >= self.as_of:
            age = (at - self.as_of).total_seconds()
            return DecayedSum(self.value * decay.factor(age) + points, at)
        # decay is linear in the points, so a late event adds p * 2**(-age/h) exactly
        return DecayedSum(self.value + points * decay.factor((self.as_of - at).total_seconds()),
                          self.as_of)

    def value_at(self, t: datetime, decay: Decay) -> float:
        """The decayed value at `t` (not before `as_of`: the sum keeps no history)."""
        if t < self.as_of:
            raise ValueError(f"a decayed sum as of {self.as_of.isoformat()} cannot be read "
                             f"at the earlier time {t.isoformat()}")
        return self.value * decay.factor((t - self.as_of).total_seconds())

    def merge(self, other: DecayedSum, decay: Decay) -> DecayedSum:
        """The sum of both, as one state (for merged contacts)."""
        late, early = (self, other) if self.as_of >= other.as_of else (other, self)
        return late.add(early.value, early.as_of, decay)


@dataclass(frozen=True, slots=True)
class RecentTimes:
    """The `keep` latest event times, ascending: enough to know whether at least `keep`
    events fell in a window ending at any time after the latest event."""

    times: tuple[datetime, ...]
    keep: int

    @classmethod
    def start(cls, at: datetime, keep: int) -> RecentTimes:
        return cls((at,), keep)

    def add(self, at: datetime) -> RecentTimes:
        if len(self.times) == self.keep and at <= self.times[0]:
            return self  # older than every kept time: it can never change a window
        times = list(self.times)
        bisect.insort(times, at)
        return RecentTimes(tuple(times[-self.keep :]), self.keep)

    def merge(self, other: RecentTimes) -> RecentTimes:
        return RecentTimes(tuple(sorted(self.times + other.times)[-self.keep :]), self.keep)

    @property
    def as_of(self) -> datetime:
        return self.times[-1]

    def holds_at(self, t: datetime, within: timedelta) -> bool:
        """True when `keep` events fall in the window (t - within, t]."""
        return len(self.times) == self.keep and t - self.times[0] < within

    def expires_at(self, within: timedelta) -> datetime | None:
        """The moment the window stops holding (None if it does not hold now)."""
        return self.times[0] + within if len(self.times) == self.keep else None


def clamp(value: float, cap: float | None) -> float:
    """`value` limited to `cap` in magnitude (negative rules are capped at `-cap`).

    >>> clamp(42.0, 30.0), clamp(-42.0, 30.0), clamp(5.0, None)
    (30.0, -30.0, 5.0)
    """
    if cap is None:
        return value
    return min(cap, value) if value >= 0 else max(-cap, value)


_LONGEST = 1e11  # seconds, about 3,000 years
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Curve:
    """A score from `now` on, with no new events:

    ``base + min(max, sum(clamp(a_i * 2**(-(t - now)/h), cap_i)) + sum(p_j while t < until_j))``

    `terms` are (a_i, cap_i) at `now`; `steps` are window rules (p_j, until_j).
    `exact`, when given, is how the caller computes the same score at a time (e.g. from
    the state, as a decision does): the closed form finds a crossing, and `exact` settles
    it to the microsecond, so a decision at the crossing sees the score on the new side.
    """

    now: datetime
    decay: Decay
    base: float
    terms: Sequence[tuple[float, float | None]]
    steps: Sequence[tuple[float, datetime]]
    max: float | None = None
    exact: Callable[[datetime], float] | None = field(default=None, compare=False, repr=False)

    def value(self, t: datetime) -> float:
        if self.exact is not None:
            return self.exact(t)
        f = self.decay.factor((t - self.now).total_seconds())
        total = sum(clamp(a * f, cap) for a, cap in self.terms)
        total += sum(p for p, until in self.steps if t < until)
        return self.base + (total if self.max is None else min(self.max, total))

    def first_below(self, threshold: float) -> datetime | None:
        """The first time >= now at which the score is under `threshold`; None if never.

        The answer is the first microsecond under the line: ``value(t) < threshold`` and,
        after `now`, ``value(t - 1 µs) >= threshold`` (a decision made at it moves).

        Between breakpoints (a cap stops binding, a window closes) the score is
        ``C + B * 2**(-x/h)``, so the crossing is solved in closed form:
        ``x = h * log2(B / (threshold - C))``.
        """
        if self.value(self.now) < threshold:
            return self.now
        flips = self.crossings(threshold, first=True)
        return flips[0] if flips else None

    def crossings(self, threshold: float, *, first: bool = False) -> list[datetime]:
        """Every moment after now at which `score >= threshold` changes truth, in order
        (`first`: only the first one, the search stops there).

        Without negative rules the score only falls, so there is at most one; a fading
        negative signal can make it rise back over the line.
        """
        # the cap on the whole score only matters if the line is above it
        line = threshold - self.base
        if self.max is not None and line > self.max:
            return []
        h = self.decay.half_life_seconds
        releases = [self._release(a, cap, h) for a, cap in self.terms]
        edges = sorted({until for _, until in self.steps if until > self.now}
                       | {r for r in releases if r is not None})
        flips: list[datetime] = []
        above = self.value(self.now) >= threshold
        start = self.now
        for end in [*edges, None]:
            found = self._crossing_in(start, end, line, h, releases)
            if found is not None and found[1] != above:  # (moment, above the line after it)
                settled = self._settle(found[0], start, end, threshold, found[1])
                if settled is not None:
                    flips.append(settled)
                    above = found[1]
            if end is None or (first and flips):
                break
            now_above = self.value(end) >= threshold
            if now_above != above:  # a window closed: the score jumped across the line
                flips.append(end)
                above = now_above
            start = end
        return flips[:1] if first else flips

    def _settle(self, at: datetime, start: datetime, end: datetime | None, threshold: float,
                above: bool) -> datetime | None:
        """The first microsecond in [start, end) on the new side of the line (`above` it
        or under it), near the closed-form `at`; None when the segment has none.

        The closed form is exact in real numbers; in floating point the score at the
        rounded moment can still be on the old side by a few ulps (a decision there would
        not move). The score is monotone within a segment, so a short gallop finds a
        moment on each side and a bisection on whole microseconds settles it.
        """
        us = timedelta(microseconds=1)

        def new_side(t: datetime) -> bool:
            return (self.value(t) >= threshold) == above

        step = us
        hi = at
        while not new_side(hi):
            hi = at + step
            if step > timedelta(days=36500) or (end is not None and hi >= end):
                return None
            step *= 2
        lo, step = hi - us, 2 * us
        while lo > start and new_side(lo):
            lo = max(start, hi - step)
            step *= 2
        if new_side(lo):
            return lo  # at the segment's start: nothing earlier is on the new side
        while hi - lo > us:
            mid = lo + (hi - lo) // 2  # timedelta // int stays on whole microseconds
            if new_side(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def _release(self, a: float, cap: float | None, h: float) -> datetime | None:
        """When a capped term starts to decay below its cap (None if it never binds)."""
        if cap is None or cap <= 0 or abs(a) <= cap or not math.isfinite(h):
            return None
        return self.now + timedelta(seconds=h * math.log2(abs(a) / cap))

    def _crossing_in(
        self,
        start: datetime,
        end: datetime | None,
        threshold: float,
        h: float,
        releases: list[datetime | None],
    ) -> tuple[datetime, bool] | None:
        """Where ``C + B * 2**(-x/h)`` meets the line in this segment, and whether the
        score is above the line after it (it rises when B < 0)."""
        if not math.isfinite(h):
            return None  # no decay: the score changes only when a window closes
        x0 = (start - self.now).total_seconds()
        f0 = self.decay.factor(x0)
        constant, coefficient = 0.0, 0.0
        for (a, cap), release in zip(self.terms, releases, strict=True):
            if cap is not None and ((release is not None and release > start) or cap == 0):
                constant += math.copysign(cap, a)  # still capped over this segment
            else:
                coefficient += a * f0  # B at `start`
        constant += sum(p for p, until in self.steps if start < until)
        gap = threshold - constant
        ratio = coefficient / gap if gap != 0 else 0.0
        if coefficient == 0 or ratio <= 0 or not math.isfinite(ratio):
            return None  # flat, moving away from the line, or too small to ever reach it
        x = h * math.log2(ratio)
        if x < 0 or x > _LONGEST:
            return None  # behind us, or further away than any calendar date
        # round up to the microsecond, so the answer is not before the crossing
        try:
            at = start + timedelta(microseconds=math.ceil(x * 1e6))
        except OverflowError:
            return None  # after the year 9999: never
        if end is not None and at >= end:
            return None
        return at, coefficient < 0


# -- scores of mixed half-lives, lifespans, floors and weights (issue 13) -----------------

_LN2 = math.log(2.0)


@dataclass(frozen=True, slots=True)
class Term:
    """One rule from `now` on: the decayed values at `now` of its pieces, each counting
    until its `until` (None: for good; a lifespan ends a piece), summed, then capped."""

    pieces: tuple[tuple[float, datetime | None], ...]
    cap: float | None
    half_life_s: float  # math.inf: no decay

    def coefficient(self, at: datetime) -> float:
        """The uncapped sum at `now` of the pieces still counting just after `at`."""
        return sum(a for a, until in self.pieces if until is None or until > at)


@dataclass(frozen=True, slots=True)
class Part:
    """One score in a weighted sum: `weight * bounded(sum(terms) + steps)`, where
    `bounded` limits to `max` and raises to `floor` (`mql.model.spec.Score.bounded`)."""

    weight: float
    terms: tuple[Term, ...]
    steps: tuple[tuple[float, datetime], ...] = ()
    max: float | None = None
    floor: float | None = None


@dataclass(frozen=True, slots=True)
class MixedCurve:
    """`base + sum(weight * bounded(score))` from `now` on with no new events, for scores
    whose rules decay at different half-lives, end after a lifespan, or are floored and
    weighted (the weighted `total`). `crossings` finds every moment the value crosses a
    line exactly, segment by segment: between breakpoints (lifespans, windows, caps that
    stop binding, a `max` or `floor` that starts or stops binding) the value is
    ``C + sum(B_i * 2**(-x/h_i))``, whose roots are isolated by the roots of its derivative
    (an exponential sum with one term less), then settled to the microsecond by `exact`.
    """

    now: datetime
    base: float
    parts: tuple[Part, ...]
    exact: Callable[[datetime], float] | None = field(default=None, compare=False, repr=False)

    def value(self, t: datetime) -> float:
        if self.exact is not None:
            return self.exact(t)
        return self.model_value(t)

    def model_value(self, t: datetime) -> float:
        x = (t - self.now).total_seconds()
        total = self.base
        for part in self.parts:
            s = 0.0
            for term in part.terms:
                f = 2.0 ** (-x / term.half_life_s) if math.isfinite(term.half_life_s) else 1.0
                s += clamp(sum(a for a, until in term.pieces if until is None or t < until) * f,
                           term.cap)
            s += sum(p for p, until in part.steps if t < until)
            total += part.weight * _bounded(s, part.max, part.floor)
        return total

    def first_below(self, threshold: float) -> datetime | None:
        """The first time >= now at which the value is under `threshold` (None: never)."""
        if self.value(self.now) < threshold:
            return self.now
        flips = self.crossings(threshold, first=True)
        return flips[0] if flips else None

    def crossings(self, threshold: float, *, first: bool = False) -> list[datetime]:
        """Every moment after now at which `value >= threshold` changes truth, in order
        (`first`: only the first one, the search stops there)."""
        if not any(part.terms or part.steps for part in self.parts):
            return []  # nothing decays, ends or closes: the value is the same ever after
        structural = sorted({u for part in self.parts for _, u in part.steps if u > self.now}
                            | {u for part in self.parts for term in part.terms
                               for _, u in term.pieces if u is not None and u > self.now})
        flips: list[datetime] = []
        above = self.value(self.now) >= threshold
        if (self.value(self.now + _MICROSECOND) >= threshold) != above:
            # exactly on the line now and leaving it at once: the root at 0 is no sign
            # change the root finder sees
            flips.append(self.now + _MICROSECOND)
            above = not above
            if first:
                return flips
        start = self.now
        for end in [*structural, None]:
            for lo, hi in self._pieces(start, end):
                for x, after in self._roots_in(lo, hi, threshold):
                    if after == above:
                        continue
                    at = self._at(x)
                    if at is None:
                        continue
                    settled = Curve._settle(self, max(at, start), start, end,  # type: ignore[arg-type]
                                            threshold, after)
                    if settled is not None:
                        flips.append(settled)
                        above = after
                        if first:
                            return flips
            if end is None or (first and flips):
                break
            now_above = self.value(end) >= threshold
            if now_above != above:  # a lifespan or window ended: a jump across the line
                flips.append(end)
                above = now_above
            start = end
        return flips[:1] if first else flips

    # -- the segments and their exponential sums --------------------------------------

    def _x(self, t: datetime | None) -> float:
        return _LONGEST if t is None else min(_LONGEST, (t - self.now).total_seconds())

    def _at(self, x: float) -> datetime | None:
        try:
            return self.now + timedelta(microseconds=math.ceil(x * 1e6))
        except OverflowError:
            return None

    def _pieces(self, start: datetime, end: datetime | None) -> list[tuple[float, float]]:
        """[lo, hi) in seconds from now, within one structural segment, where every cap
        and every max / floor binds or not throughout."""
        lo, hi = self._x(start), self._x(end)
        cuts = {lo, hi}
        for part in self.parts:
            for term in part.terms:
                a = term.coefficient(start)
                cap, h = term.cap, term.half_life_s
                if cap is not None and cap > 0 and abs(a) > cap and math.isfinite(h):
                    x = h * math.log2(abs(a) / cap)
                    if lo < x < hi:
                        cuts.add(x)
        knots = sorted(cuts)
        for part in self.parts:  # where the score's max or floor starts or stops binding
            for bound in (part.max, part.floor):
                if bound is None:
                    continue
                for a, b in itertools.pairwise(list(knots)):
                    c, terms = self._form(start, part, (a + b) / 2, bounded=False)
                    cuts.update(r for r in _exp_roots(c - bound, terms, a, b) if a < r < b)
        knots = sorted(cuts)
        return list(itertools.pairwise(knots))

    def _form(self, start: datetime, part: Part, x_mid: float, *, bounded: bool = True
              ) -> tuple[float, list[tuple[float, float]]]:
        """The part (unweighted) as C + sum(B * 2**(-x/h)) around `x_mid`."""
        constant, terms = 0.0, []
        for term in part.terms:
            a, h = term.coefficient(start), term.half_life_s
            f = 2.0 ** (-x_mid / h) if math.isfinite(h) else 1.0
            if term.cap is not None and abs(a * f) >= term.cap:
                constant += math.copysign(term.cap, a) if a != 0 else 0.0
            elif math.isfinite(h):
                terms.append((a, h))
            else:
                constant += a
        at = self.now + timedelta(seconds=x_mid)
        constant += sum(p for p, until in part.steps if at < until)
        if bounded:
            s = constant + sum(b * 2.0 ** (-x_mid / h) for b, h in terms)
            if part.max is not None and s >= part.max:
                return part.max, []
            if part.floor is not None and s <= part.floor:
                return part.floor, []
        return constant, terms

    def _roots_in(self, lo: float, hi: float, threshold: float) -> list[tuple[float, bool]]:
        """Where the value meets the line in [lo, hi), and whether it is above after."""
        start = self.now + timedelta(seconds=lo)
        mid = (lo + hi) / 2
        constant, terms = self.base - threshold, []
        for part in self.parts:
            c, ts = self._form(start, part, mid)
            constant += part.weight * c
            terms += [(part.weight * b, h) for b, h in ts]
        out = []
        for r in _exp_roots(constant, terms, lo, hi):
            after = _exp_value(constant, terms, min(hi, r + max(1e-6, abs(r) * 1e-12))) >= 0
            out.append((r, after))
        return out


def _bounded(total: float, most: float | None, floor: float | None) -> float:
    if most is not None:
        total = min(most, total)
    return total if floor is None else max(floor, total)


def _exp_value(c: float, terms: Sequence[tuple[float, float]], x: float) -> float:
    return c + sum(b * float(2.0 ** (-x / h)) for b, h in terms)


def _exp_roots(c: float, terms: Sequence[tuple[float, float]], lo: float, hi: float
               ) -> list[float]:
    """The points in [lo, hi] where ``c + sum(b * 2**(-x/h))`` changes sign.

    A sum of n exponentials has at most n - 1 extrema: they are the roots of its
    derivative, which times ``2**(x/h_slowest)`` is a constant plus n - 1 exponentials;
    between two extrema the sum is monotone and a bisection finds its root.

    >>> [round(r, 6) for r in _exp_roots(-5.0, [(10.0, 1.0)], 0.0, 100.0)]
    [1.0]
    >>> dip = [(30.0, 1.0), (-20.0, 3.0)]  # 11 at 0, -5.25 at 3, back to 1: two roots
    >>> roots = _exp_roots(1.0, dip, 0.0, 100.0)
    >>> len(roots), all(abs(_exp_value(1.0, dip, r)) < 1e-9 for r in roots)
    (2, True)
    """
    merged: dict[float, float] = {}
    for b, h in terms:
        merged[h] = merged.get(h, 0.0) + b
    items = sorted(((b, h) for h, b in merged.items() if b != 0), key=lambda t: -t[1])
    if not items:
        return []
    if len(items) == 1:
        (b, h), = items
        ratio = -c / b
        if ratio <= 0:
            return []
        x = h * math.log2(b / -c)
        return [x] if lo <= x <= hi else []
    (b1, h1), rest = items[0], items[1:]
    l1 = _LN2 / h1
    derived = [(-(_LN2 / h) * b, _LN2 / (_LN2 / h - l1)) for b, h in rest]
    critical = [x for x in _exp_roots(-l1 * b1, derived, lo, hi) if lo < x < hi]
    knots = [lo, *sorted(critical), hi]
    roots = []
    for a, b in itertools.pairwise(knots):
        fa, fb = _exp_value(c, items, a), _exp_value(c, items, b)
        if fa == 0 and a == lo:
            continue
        if (fa < 0) == (fb < 0):
            continue
        for _ in range(200):
            m = (a + b) / 2
            if m in (a, b):
                break
            if (_exp_value(c, items, m) < 0) == (fa < 0):
                a = m
            else:
                b = m
        roots.append(b)
    return roots


# -- rules that need their events' times: lifespans, once per, repeats (issue 13) ---------

SESSION = timedelta(minutes=30)  # a session ends after 30 minutes without a matching event
_PERIODS = {"hour": 3_600_000_000, "day": 86_400_000_000}  # microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SMALLEST_REPEAT = 1e-12  # a repeat worth less than this share of the points counts nothing


def repeats_kept(ratio: float) -> int:
    """How many events a diminishing series counts: the n-th earns ``ratio**(n-1)`` of the
    points, and the series stops before a repeat would be worth less than `SMALLEST_REPEAT`.

    >>> repeats_kept(0.5), repeats_kept(0.0), repeats_kept(0.9)
    (40, 1, 263)
    """
    if ratio <= 0:
        return 1
    return math.floor(math.log(SMALLEST_REPEAT) / math.log(ratio)) + 1


def bucket_of(at: datetime, period: str) -> int:
    """The UTC hour or day `at` falls in (its index since 1970)."""
    return ((at - _EPOCH) // timedelta(microseconds=1)) // _PERIODS[period]


@dataclass(frozen=True, slots=True)
class LogRule:
    """How a logged rule counts its events: `decay`, a lifespan (`lifespan_s`: an event
    counts while younger), `once_per` (only the first event of each UTC hour or day, or of
    each session), and `each_repeat` (the n-th counted event earns ``r**(n-1)`` of the
    points, for the first `repeats_kept(r)` counted events)."""

    points: float
    decay: Decay
    lifespan_s: float | None = None
    once_per: str | None = None
    each_repeat: float | None = None

    @property
    def keep(self) -> int | None:
        return None if self.each_repeat is None else repeats_kept(self.each_repeat)


@dataclass(frozen=True, slots=True)
class EventLog:
    """The times of a rule's matching events, as much of them as can still matter.

    `runs` are (first, last) times, ascending: single events (first == last), or, for
    `once_per: session`, the sessions (a run of events each less than `SESSION` after the
    previous). Only a run's first time counts; the state keeps one run per counted event
    (one per hour or day with `once_per`), the first `keep` with `each_repeat`, and, for a
    plain lifespan, those still alive at `as_of`. Any order of adding gives the same
    state and the same values."""

    runs: tuple[tuple[datetime, datetime], ...]
    as_of: datetime

    @classmethod
    def start(cls, at: datetime) -> EventLog:
        return cls(((at, at),), at)

    def add(self, at: datetime, rule: LogRule) -> EventLog:
        runs = list(self.runs)
        if rule.once_per == "session":
            runs.append((at, at))
            runs.sort()
            merged: list[tuple[datetime, datetime]] = []
            for first, last in runs:
                if merged and first - merged[-1][1] < SESSION:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], last))
                else:
                    merged.append((first, last))
            runs = merged
        elif rule.once_per is not None:
            bucket = bucket_of(at, rule.once_per)
            same = [r for r in runs if bucket_of(r[0], rule.once_per) == bucket]
            if same and same[0][0] <= at:
                return EventLog(self.runs, max(self.as_of, at))
            runs = sorted([r for r in runs if r not in same] + [(at, at)])
        else:
            bisect.insort(runs, (at, at))
        as_of = max(self.as_of, at)
        return EventLog(tuple(self._pruned(runs, as_of, rule)), as_of)

    @staticmethod
    def _pruned(runs: list[tuple[datetime, datetime]], as_of: datetime, rule: LogRule
                ) -> list[tuple[datetime, datetime]]:
        keep = rule.keep
        if keep is not None and rule.once_per != "session":
            runs = runs[:keep]  # later events earn nothing and change nothing before them
        if (rule.lifespan_s is not None and rule.once_per is None and rule.each_repeat is None):
            life = timedelta(seconds=rule.lifespan_s)
            runs = [r for r in runs if as_of - r[0] < life]  # dead for good
        return runs

    def merge(self, other: EventLog, rule: LogRule) -> EventLog:
        merged = self
        for first, last in other.runs:
            merged = merged.add(first, rule)
            if last != first:
                merged = merged.add(last, rule)
        return EventLog(merged.runs, max(self.as_of, other.as_of))

    def counted(self, rule: LogRule) -> list[tuple[datetime, float]]:
        """(time, share of the points) of each counted event, ascending."""
        starts = [first for first, _ in self.runs]
        keep = rule.keep
        if keep is not None:
            assert rule.each_repeat is not None
            return [(t, rule.each_repeat ** i) for i, t in enumerate(starts[:keep])]
        return [(t, 1.0) for t in starts]

    def pieces(self, t: datetime, rule: LogRule) -> list[tuple[float, datetime | None]]:
        """Each counted event's value at `t` and the moment it stops counting."""
        if t < self.as_of:
            raise ValueError(f"an event log as of {self.as_of.isoformat()} cannot be read "
                             f"at the earlier time {t.isoformat()}")
        life = None if rule.lifespan_s is None else timedelta(seconds=rule.lifespan_s)
        out: list[tuple[float, datetime | None]] = []
        for at, share in self.counted(rule):
            if life is not None and t - at >= life:
                continue
            value = rule.points * share * rule.decay.factor((t - at).total_seconds())
            out.append((value, None if life is None else at + life))
        return out

    def value_at(self, t: datetime, rule: LogRule) -> float:
        """The rule's uncapped value at `t`: its counted events, decayed, while alive."""
        total = 0.0
        for value, _ in self.pieces(t, rule):
            total += value
        return total
