"""Calibrating the MQL threshold on the company's own outcomes (pure).

The inputs are what the service read from the ledger: each outreach `Moment` (who, when,
the score the contact had at that moment, and whether it converted afterwards) and each
contact's daily score (`Daily`), from which the MQL volume at every threshold follows.

The recommendation is the **change point** of the conversion curve: the threshold that
splits the outreaches into "below" and "above" with the largest gain in Bernoulli
log-likelihood over one common rate, among the thresholds where conversion above is
higher than below and each side keeps at least `min_share` of the outreaches. The
**isotonic fit** (pool-adjacent-violators) is the conversion rate as a non-decreasing
function of the score: the curve a person reads, without the noise of small buckets.

>>> ms = [Moment("a", 10.0, 0.0), Moment("b", 20.0, 0.0), Moment("c", 30.0, 1.0),
...       Moment("d", 40.0, 1.0)]
>>> change_point(ms, [15.0, 25.0, 35.0], min_share=0.25)
25.0
>>> [round(b.rate, 2) for b in isotonic([Moment("a", 1.0, 1.0), Moment("b", 2.0, 0.0),
...                                      Moment("c", 3.0, 1.0)])]
[0.5, 1.0]
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from mql.analytics.health import Verdict, judge_mql_to_sql
from mql.model.reports import HealthBands

MIN_SHARE = 0.05  # each side of a recommended threshold keeps this share of outreaches
CANDIDATES = 50  # about this many thresholds on the curve
RESAMPLES = 200  # bootstrap draws for the recommendation's interval
FEW = 40  # under this many conversions a recommendation is a guess (docs/learning.md)


@dataclass(frozen=True, slots=True)
class Moment:
    """One outreach: the contact, the score it had at the moment (events before it only),
    and its outcome: 1.0 converted, 0.0 not (the oracle passes a probability)."""

    contact: str
    score: float
    converted: float


@dataclass(frozen=True, slots=True)
class Daily:
    """A contact's score at the start of each day (`days[0]` is the day before the
    period: its value is the baseline, not a crossing), and its routing team."""

    contact: str
    first: date
    scores: Sequence[float]
    team: str | None = None


@dataclass(frozen=True, slots=True)
class Team:
    """A routing team's sellers and their summed capacity (open leads; None: unlimited)."""

    name: str
    sellers: int
    capacity: int | None


@dataclass(frozen=True, slots=True)
class TeamLoad:
    team: str
    mqls_per_week: float
    per_seller_per_week: float
    capacity_per_seller: float | None
    over_capacity: bool


@dataclass(frozen=True, slots=True)
class Point:
    """The curve at one threshold: outreaches and conversions at or above it and below
    it, the isotonic rate at it, the MQLs per week it would have made, and team loads."""

    threshold: float
    above: int
    converted_above: float
    below: int
    converted_below: float
    fitted: float | None
    mqls: int
    mqls_per_week: float
    loads: tuple[TeamLoad, ...] = ()

    @property
    def rate_above(self) -> float | None:
        return self.converted_above / self.above if self.above else None

    @property
    def rate_below(self) -> float | None:
        return self.converted_below / self.below if self.below else None

    @property
    def lift(self) -> float | None:
        """Conversion above over conversion below (None when either is empty or zero)."""
        a, b = self.rate_above, self.rate_below
        return a / b if a is not None and b else None


@dataclass(frozen=True, slots=True)
class Block:
    """One step of the isotonic fit: scores `low..high` convert at `rate` (`n` moments)."""

    low: float
    high: float
    n: int
    rate: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """The trade-off curve, the isotonic steps, the recommended threshold with its point
    on the curve and its health verdict, and what it would have produced in the last
    quarter of the period (`last_quarter`: a point computed over those 13 weeks)."""

    points: tuple[Point, ...]
    blocks: tuple[Block, ...]
    recommended: float | None
    chosen: Point | None
    health: Verdict | None
    last_quarter: Point | None
    weeks: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    interval: tuple[float, float] | None = None  # 10th-90th percentile of the bootstrap


def nice_step(low: float, high: float, count: int = CANDIDATES) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `count` thresholds.

    >>> nice_step(0, 200)
    5.0
    >>> nice_step(0, 0)
    1.0
    """
    span = high - low
    if span <= 0:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return float(m * power)
    return float(10 * power)  # pragma: no cover


def candidates(scores: Iterable[float], step: float | None = None) -> list[float]:
    """Thresholds from just above the lowest score to the highest, every `step` (None: a
    round step, `nice_step`).

    >>> candidates([3.0, 12.0, 18.0], step=5)
    [5.0, 10.0, 15.0]
    """
    values = list(scores)
    if not values:
        return []
    low, high = min(values), max(values)
    step = step or nice_step(low, high)
    first = math.floor(low / step) * step + step
    out, k = [], 0
    while first + k * step <= high + 1e-9:
        out.append(float(round(first + k * step, 10)))
        k += 1
    return out


def isotonic(moments: Sequence[Moment]) -> list[Block]:
    """The non-decreasing conversion rate by score that fits the outcomes best (least
    squares, pool-adjacent-violators); moments with equal scores share a block."""
    groups: dict[float, list[float]] = {}
    for m in moments:
        groups.setdefault(m.score, []).append(m.converted)
    blocks: list[list[float]] = []  # [low, high, n, sum]
    for score in sorted(groups):
        ys = groups[score]
        blocks.append([score, score, len(ys), sum(ys)])
        while len(blocks) > 1 and blocks[-2][3] / blocks[-2][2] >= blocks[-1][3] / blocks[-1][2]:
            last = blocks.pop()
            prev = blocks[-1]
            prev[1], prev[2], prev[3] = last[1], prev[2] + last[2], prev[3] + last[3]
    return [Block(b[0], b[1], int(b[2]), b[3] / b[2]) for b in blocks]


def fitted_at(blocks: Sequence[Block], score: float) -> float | None:
    """The isotonic rate of a contact with `score` (the block at or below it)."""
    lows = [b.low for b in blocks]
    i = bisect.bisect_right(lows, score) - 1
    return blocks[i].rate if i >= 0 else (blocks[0].rate if blocks else None)


def _loglik(converted: float, n: int) -> float:
    if n == 0:
        return 0.0
    p = converted / n
    out = 0.0
    if p > 0:
        out += converted * math.log(p)
    if p < 1:
        out += (n - converted) * math.log(1 - p)
    return out


def split_gain(moments: Sequence[Moment], threshold: float) -> float:
    """How much better two conversion rates (below `threshold`, at or above it) explain
    the outcomes than one: the gain in Bernoulli log-likelihood (0 when a side is empty).

    >>> ms = [Moment("a", 1.0, 0.0), Moment("b", 2.0, 1.0)]
    >>> round(split_gain(ms, 2.0), 4)  # 2 ln 2: from two coin flips to certainty
    1.3863
    """
    below = [m.converted for m in moments if m.score < threshold]
    above = [m.converted for m in moments if m.score >= threshold]
    return (_loglik(sum(below), len(below)) + _loglik(sum(above), len(above))
            - _loglik(sum(below) + sum(above), len(moments)))


def change_point(moments: Sequence[Moment], thresholds: Sequence[float], *,
                 min_share: float = MIN_SHARE) -> float | None:
    """The threshold where conversion increases most clearly: the largest log-likelihood
    gain of two rates (below, at-or-above) over one (`split_gain`), with conversion higher
    above and at least `min_share` of the moments on each side; the lowest of equally good
    thresholds (None: no such threshold). Searched on the curve's round grid: a finer
    search (between every two scores) follows the noise of small samples."""
    ordered = sorted(moments, key=lambda m: m.score)
    scores = [m.score for m in ordered]
    prefix = [0.0]
    for m in ordered:
        prefix.append(prefix[-1] + m.converted)
    n, total = len(ordered), prefix[-1]
    floor = max(1, math.ceil(min_share * n))
    best: tuple[float, float] | None = None
    for t in thresholds:
        k = bisect.bisect_left(scores, t)  # moments below t
        if k < floor or n - k < floor:
            continue
        below, above = prefix[k], total - prefix[k]
        if above / (n - k) <= below / k:
            continue
        gain = _loglik(below, k) + _loglik(above, n - k) - _loglik(total, n)
        if best is None or gain > best[0] + 1e-12:
            best = (gain, t)
    return None if best is None else best[1]


def bootstrap(moments: Sequence[Moment], thresholds: Sequence[float], rng: random.Random,
              *, resamples: int = RESAMPLES, min_share: float = MIN_SHARE
              ) -> tuple[float, float] | None:
    """How far the change point moves when the outreaches are drawn again (with
    replacement, `resamples` times): its 10th and 90th percentile, an 80% interval for
    the recommendation (None without a change point in most draws)."""
    found = []
    for _ in range(resamples):
        sample = [moments[rng.randrange(len(moments))] for _ in moments]
        t = change_point(sample, thresholds, min_share=min_share)
        if t is not None:
            found.append(t)
    if len(found) < resamples / 2:
        return None
    found.sort()  # nearest rank: both ends are thresholds of the curve
    return found[round(0.1 * (len(found) - 1))], found[round(0.9 * (len(found) - 1))]


def crossings(daily: Iterable[Daily], thresholds: Sequence[float], since: date | None = None
              ) -> tuple[list[int], dict[str, list[int]]]:
    """Per threshold: how many times a contact's daily score rose to it or above from
    below (a new MQL at that line), overall and per team; only days from `since`."""
    total = [0] * len(thresholds)
    teams: dict[str, list[int]] = {}
    for d in daily:
        counts = teams.setdefault(d.team or "unrouted", [0] * len(thresholds))
        for k in range(1, len(d.scores)):
            if since is not None and d.first + timedelta(days=k) < since:
                continue
            a, b = d.scores[k - 1], d.scores[k]
            if b <= a:
                continue
            # thresholds t with a < t <= b
            lo, hi = bisect.bisect_right(thresholds, a), bisect.bisect_right(thresholds, b)
            for i in range(lo, hi):
                total[i] += 1
                counts[i] += 1
    return total, {t: c for t, c in teams.items() if any(c)}


def team_load(name: str, per_week: float, teams: Mapping[str, Team]) -> TeamLoad:
    """A team's new MQLs a week as the load per seller, against its capacity per seller.
    A seller cannot hold more open leads than their capacity: more new leads in a week
    than that is over capacity whatever the time each lead stays open."""
    team = teams.get(name)
    sellers = team.sellers if team is not None and team.sellers else 1
    per_seller = per_week / sellers
    capacity = (team.capacity / sellers if team is not None and team.capacity is not None
                else None)
    return TeamLoad(name, per_week, per_seller, capacity,
                    capacity is not None and per_seller > capacity)


def _loads(per_team: Mapping[str, list[int]], i: int, weeks: float,
           teams: Mapping[str, Team]) -> tuple[TeamLoad, ...]:
    return tuple(team_load(name, per_team[name][i] / weeks if weeks else 0.0, teams)
                 for name in sorted(per_team))


def curve(moments: Sequence[Moment], daily: Sequence[Daily], thresholds: Sequence[float], *,
          weeks: float, teams: Mapping[str, Team] | None = None, since: date | None = None
          ) -> list[Point]:
    """The trade-off curve: one `Point` per threshold."""
    ordered = sorted(moments, key=lambda m: m.score)
    scores = [m.score for m in ordered]
    prefix = [0.0]
    for m in ordered:
        prefix.append(prefix[-1] + m.converted)
    blocks = isotonic(ordered)
    made, per_team = crossings(daily, thresholds, since)
    out = []
    for i, t in enumerate(thresholds):
        k = bisect.bisect_left(scores, t)
        out.append(Point(t, len(ordered) - k, prefix[-1] - prefix[k], k, prefix[k],
                         fitted_at(blocks, t), made[i], made[i] / weeks if weeks else 0.0,
                         _loads(per_team, i, weeks, teams or {})))
    return out


def calibrate(moments: Sequence[Moment], daily: Sequence[Daily], *, weeks: float,
              last_quarter_from: date | None = None, teams: Mapping[str, Team] | None = None,
              bands: HealthBands | None = None, step: float | None = None,
              min_share: float = MIN_SHARE, quarter_moments: Sequence[Moment] = (),
              rng: random.Random | None = None) -> Calibration:
    """The curve, the recommendation and its checks (see the module's words).

    `quarter_moments` are the outreaches of the last quarter (from `last_quarter_from`),
    on which the recommended threshold is evaluated again; with `rng`, the
    recommendation's bootstrap interval (`bootstrap`)."""
    bands = bands or HealthBands()
    thresholds = candidates([m.score for m in moments], step)
    points = curve(moments, daily, thresholds, weeks=weeks, teams=teams)
    notes: list[str] = []
    if not moments:
        notes.append("no outreach with an outcome in the period: nothing to calibrate on")
    chosen_t = change_point(moments, thresholds, min_share=min_share)
    chosen = next((p for p in points if p.threshold == chosen_t), None)
    health = None
    if chosen is not None:
        health = judge_mql_to_sql(chosen.rate_above, chosen.above, bands)
    elif moments:
        notes.append("conversion does not increase with the score anywhere: no threshold "
                     "to recommend (the score does not predict this outcome)")
    quarter = None
    if chosen_t is not None and last_quarter_from is not None:
        q_weeks = min(weeks, 13.0)
        quarter = curve(quarter_moments, daily, [chosen_t], weeks=q_weeks, teams=teams,
                        since=last_quarter_from)[0]
    positives = sum(m.converted for m in moments)
    if moments and positives < FEW:
        notes.append(f"only {positives:g} conversions: the recommendation is a guess; "
                     "read the interval and the isotonic rate")
    elif moments and positives < 100:
        notes.append(f"only {positives:g} conversions: the curve is noisy and a few "
                     "outcomes move the recommendation (on the synthetic world it lands "
                     "within 5% of the truth one time in three at 40 to 80); read the "
                     "interval and the isotonic rate rather than single points")
    interval = (bootstrap(moments, thresholds, rng, min_share=min_share)
                if rng is not None and chosen_t is not None else None)
    return Calibration(tuple(points), tuple(isotonic(moments)), chosen_t, chosen, health,
                       quarter, weeks, tuple(notes), interval)
