"""Drift of a scoring model on the company's own data: population stability (PSI) of the
score and of each rule's firing rate, lift of each rule on won and lost deals before and
after a moment (when the model was made), and a verdict per rule in words.

Everything here is arithmetic on counts the service reads from the store (through the
batch engine); nothing reads a clock or a file.

PSI compares an expected distribution (shares per bin, before) with an actual one (after):
``sum((a - e) * ln(a / e))``; an empty bin counts as `EMPTY_SHARE` so the sum stays finite.
Under 0.1 a population is stable, 0.1-0.25 it moved, over 0.25 it drifted (the usual
credit-scoring reading). On small months PSI is noisy, so a month counts as drifted only
when the change is also larger than chance: for the score, its PSI passes `noise_bound`
(under no change, PSI times ``n_e * n_a / (n_e + n_a)`` is about chi-square with
``bins - 1`` degrees of freedom: PSI is the symmetric Kullback-Leibler divergence); for a
rule's firing rate, which is often a few percent, the two-proportion z statistic
(`rate_z`) passes `Bounds.z`. Both at a 1-in-10,000 level, as a month is tested for every
rule.

>>> round(psi([0.5, 0.5], [0.8, 0.2]), 4)
0.4159
>>> round(rate_psi(0.10, 0.40), 4)
0.5375
>>> Lift(fired=10, fired_won=6, total=40, won=12).value
2.0
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from scipy.stats import chi2

EMPTY_SHARE = 1e-4  # the share an empty bin counts as (PSI of an empty bin is infinite)
SCORE_BINS = 10


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """The population stability index of `actual` against `expected` (shares per bin, each
    summing to 1; same bins in the same order).

    >>> psi([0.25, 0.75], [0.25, 0.75])
    0.0
    """
    if len(expected) != len(actual):
        raise ValueError(f"psi: {len(expected)} expected bins, {len(actual)} actual")
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, EMPTY_SHARE), max(a, EMPTY_SHARE)
        total += (a - e) * math.log(a / e)
    return total


def noise_bound(bins: int, n_expected: int, n_actual: int, *, level: float = 0.9999) -> float:
    """The PSI that `bins` bins of `n_actual` values reach by chance (with probability
    1 - `level`) when nothing changed from a baseline of `n_expected` values.

    >>> round(noise_bound(10, 400, 100), 3)
    0.421
    """
    if n_expected <= 0 or n_actual <= 0:
        return math.inf
    return float(chi2.ppf(level, bins - 1)) * (1 / n_expected + 1 / n_actual)


def rate_z(n_expected: int, expected: float, n_actual: int, actual: float) -> float:
    """The two-proportion z statistic of a rate moving from `expected` (of `n_expected`)
    to `actual` (of `n_actual`), on the pooled rate; 0 when either side is empty or the
    pooled rate is 0 or 1.

    >>> round(rate_z(480, 0.05, 100, 0.02), 2)
    -1.32
    """
    if n_expected <= 0 or n_actual <= 0:
        return 0.0
    pooled = (expected * n_expected + actual * n_actual) / (n_expected + n_actual)
    if not 0 < pooled < 1:
        return 0.0
    return (actual - expected) / math.sqrt(pooled * (1 - pooled)
                                           * (1 / n_expected + 1 / n_actual))


def rate_psi(expected: float, actual: float) -> float:
    """PSI of a yes/no population (a rule fires or not): two bins, the rate and the rest."""
    return psi([expected, 1.0 - expected], [actual, 1.0 - actual])


def quantile_edges(values: Sequence[float], bins: int = SCORE_BINS) -> tuple[float, ...]:
    """The inner edges of up to `bins` bins holding about equal shares of `values` (the
    baseline's deciles); equal values never straddle an edge, so ties share a bin.

    >>> quantile_edges([0, 0, 0, 10, 20, 30, 40, 50, 60, 70], bins=5)
    (20, 40, 60)
    """
    ordered = sorted(values)
    if not ordered:
        return ()
    edges: list[float] = []
    for i in range(1, bins):
        edge = ordered[min(len(ordered) - 1, (i * len(ordered)) // bins)]
        if edge > ordered[0] and (not edges or edge > edges[-1]):
            edges.append(edge)
    return tuple(edges)


def shares(values: Sequence[float], edges: Sequence[float]) -> tuple[float, ...]:
    """The share of `values` in each bin: below the first edge, then ``[edge_i, edge_i+1)``.

    >>> shares([1, 5, 5, 12], [5, 10])
    (0.25, 0.5, 0.25)
    """
    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[bisect.bisect_right(edges, v)] += 1
    n = len(values)
    return tuple(c / n if n else 0.0 for c in counts)


@dataclass(frozen=True, slots=True)
class Lift:
    """A rule's lift on closed deals: the win rate of the contacts it fired for, over the
    win rate of all (`fired` of `total` contacts on won or lost deals; `fired_won` and
    `won` of them won). None when either rate is undefined."""

    fired: int
    fired_won: int
    total: int
    won: int

    @property
    def value(self) -> float | None:
        if not self.fired or not self.total or not self.won:
            return None
        return (self.fired_won / self.fired) / (self.won / self.total)


@dataclass(frozen=True, slots=True)
class Bounds:
    """When the audit calls a rule drifted: firing-rate PSI over `psi` in some month since
    the split, or a lift that fell by more than `lift_fall` (a share of the lift before),
    or a lift that was over `separates` and now sits within `1 / separates .. separates`
    (no longer separates won from lost). Lifts are judged only with `min_outcomes` closed
    deals' contacts on both sides; a firing rate moved only when its z statistic passes
    `z` too (`rate_z`)."""

    psi: float = 0.25
    lift_fall: float = 0.3
    separates: float = 1.2
    min_outcomes: int = 20
    z: float = 3.9  # two-sided 1 in 10,000

    def __post_init__(self) -> None:
        if not self.psi > 0 or not 0 < self.lift_fall < 1 or not self.separates > 1:
            raise ValueError(f"audit bounds: expected psi > 0, 0 < lift_fall < 1 and "
                             f"separates > 1, got {self.psi}, {self.lift_fall}, "
                             f"{self.separates}")


@dataclass(frozen=True, slots=True)
class RuleDrift:
    """One rule across the audit: its firing rate per month (share of the month's active
    contacts it fired for), the rate before the split, each month's PSI against it, and its
    lift before and since the split."""

    rule: str
    score: str
    months: tuple[date, ...]
    rates: tuple[float | None, ...]
    rate_before: float | None
    psis: tuple[float | None, ...]
    before: Lift
    after: Lift
    since: date
    active: tuple[int, ...] = ()  # the population of each month
    active_before: int = 0  # the population of the months before `since`, pooled

    @property
    def worst_psi(self) -> float | None:
        """The largest PSI of a month since the split."""
        after = [p for m, p in zip(self.months, self.psis, strict=True)
                 if m >= self.since and p is not None]
        return max(after, default=None)

    @property
    def rate_after(self) -> float | None:
        after = [r for m, r in zip(self.months, self.rates, strict=True)
                 if m >= self.since and r is not None]
        return sum(after) / len(after) if after else None

    def drifted_since(self, bounds: Bounds) -> date | None:
        """The first month since the split whose PSI passes the bound, by more than
        chance for its size (`rate_z`)."""
        def noisy(k: int, p: float) -> bool:
            rate, before = self.rates[k], self.rate_before
            if not self.active or rate is None or before is None:
                return False
            return abs(rate_z(self.active_before, before, self.active[k], rate)) <= bounds.z

        return next((m for k, (m, p) in enumerate(zip(self.months, self.psis, strict=True))
                     if m >= self.since and p is not None and p > bounds.psi
                     and not noisy(k, p)), None)

    def judge(self, bounds: Bounds) -> Verdict:
        """The verdict on this rule, in words."""
        return verdict(self, bounds)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the audit says of a rule: `status` is drifted, weaker, no_longer_separates,
    stable or too_few (outcomes); `words` says it for a marketer."""

    rule: str
    status: str
    words: str

    @property
    def flagged(self) -> bool:
        return self.status in ("drifted", "weaker", "no_longer_separates")


def month_words(month: date) -> str:
    """
    >>> month_words(date(2026, 5, 1))
    'May 2026'
    """
    return f"{month:%B %Y}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def verdict(rule: RuleDrift, bounds: Bounds) -> Verdict:
    """The verdict on `rule`: a fall of its lift first (what sales feels), then a moved
    firing rate, else stable (or too few outcomes to say).

    >>> r = RuleDrift("webinar_attended", "intent", (date(2026, 4, 1), date(2026, 5, 1)),
    ...               (0.1, 0.1), 0.1, (0.0, 0.0), Lift(30, 21, 100, 33),
    ...               Lift(30, 14, 100, 33), date(2026, 5, 1))
    >>> verdict(r, Bounds()).words
    'webinar_attended: lift fell from 2.1 to 1.4 since May 2026'
    """
    before, after = rule.before.value, rule.after.value
    since = month_words(rule.since)
    enough = min(rule.before.total, rule.after.total) >= bounds.min_outcomes
    if enough and before is not None and after is not None:
        if before > bounds.separates and 1 / bounds.separates <= after <= bounds.separates:
            return Verdict(rule.rule, "no_longer_separates",
                           f"{rule.rule}: lift fell from {_num(before)} to {_num(after)} "
                           f"since {since}; it no longer separates won from lost")
        if before > 1 and after < before * (1 - bounds.lift_fall):
            return Verdict(rule.rule, "weaker",
                           f"{rule.rule}: lift fell from {_num(before)} to {_num(after)} "
                           f"since {since}")
    moved = rule.drifted_since(bounds)
    if moved is not None:
        return Verdict(rule.rule, "drifted",
                       f"{rule.rule}: fires for {_pct(rule.rate_after)} of active contacts "
                       f"since {month_words(moved)}, {_pct(rule.rate_before)} before "
                       f"(PSI {rule.worst_psi:.2f})")
    if not enough:
        return Verdict(rule.rule, "too_few",
                       f"{rule.rule}: stable firing rate; too few closed deals to judge its "
                       f"lift ({rule.before.total} before {since}, {rule.after.total} since)")
    return Verdict(rule.rule, "stable",
                   f"{rule.rule}: stable (lift {_num(before)} before {since}, "
                   f"{_num(after)} since)")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def month_psis(rates: Sequence[float | None], expected: float | None
               ) -> tuple[float | None, ...]:
    """Each month's firing-rate PSI against the rate `expected` before the split.

    >>> [round(p, 3) for p in month_psis([0.1, 0.4], 0.1)]
    [0.0, 0.538]
    """
    return tuple(None if r is None or expected is None else rate_psi(expected, r)
                 for r in rates)
