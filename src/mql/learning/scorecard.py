"""Readable points learned from outcomes: a weight-of-evidence scorecard.

Fit first, then intent. Each attribute field is binned (`binning`: monotone bins for
numbers, one group per frequent value for text) and replaced by its group's weight of
evidence; each kind of touch becomes its decayed count before the decision moment,
capped where more touches stop adding evidence: the half-life (`HALF_LIVES`) and the cap
(a percentile of the counts, `CAP_QUANTILES`) are chosen per kind by cross-validation,
the pair with the lowest out-of-fold log loss (`choose_decay`). One L2-regularised
logistic regression (scikit-learn) weighs them all together, so two fields that say the
same thing share the points instead of counting twice. Points are the regression's
log-odds times `SCALE` (10 points double the odds), rounded: a group's points are
`round(SCALE * beta * WoE)`, a touch's `SCALE * beta` per decayed touch up to its cap.

With fewer than `SMALL_DATA` leads with the outcome the points are shrunk towards the
hand model's (`prior`), and every group reports its interval rather than pretending.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from mql.errors import ConfigError
from mql.learning.binning import Binning, Group, bin_categorical, bin_numeric
from mql.learning.calibrate import Moment, isotonic
from mql.learning.dataset import LeadRow, decayed, is_numeric
from mql.model.spec import PointsPer
from mql.scoring.evaluate import as_number, is_missing

SCALE = 10 / math.log(2)  # points per unit of log-odds: 10 points double the odds
HALF_LIVES = (7.0, 14.0, 30.0, 60.0, 120.0)
MIN_INFORMATION = 0.02  # a field separating the outcome less than this is left out
SMALL_DATA = 100  # fewer leads with the outcome than this: shrink and say so
Z95 = 1.959964
FOLDS = 5  # folds of the out-of-fold totals the calibration map is fitted on
CAP_QUANTILES = (0.75, 0.9, 0.95, 0.99)  # a touch's cap: this percentile of its counts


def wilson(positives: int, count: int, z: float = Z95) -> tuple[float, float]:
    """The 95% Wilson interval of a rate (what the rate could be, given the count).

    >>> [round(x, 4) for x in wilson(10, 100)]
    [0.0552, 0.1744]
    """
    if count == 0:
        return 0.0, 1.0
    p = positives / count
    centre = (p + z * z / (2 * count)) / (1 + z * z / count)
    half = z * math.sqrt(p * (1 - p) / count + z * z / (4 * count * count)) / (1 + z * z / count)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the data says about one group of leads: how many, how many with the outcome,
    the lift (their rate over everyone's) and its 95% interval."""

    count: int
    positives: int
    base_rate: float

    @property
    def rate(self) -> float:
        return self.positives / self.count if self.count else 0.0

    @property
    def lift(self) -> float:
        return self.rate / self.base_rate if self.base_rate else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        low, high = wilson(self.positives, self.count)
        if not self.base_rate:
            return 0.0, 0.0
        return low / self.base_rate, high / self.base_rate

    def words(self, outcome: str) -> str:
        """`412 leads, 61 won (14.8%), lift 2.10 [1.65-2.62]`."""
        low, high = self.interval
        return (f"{self.count} leads, {self.positives} {outcome} ({self.rate:.1%}), "
                f"lift {self.lift:.2f} [{low:.2f}-{high:.2f}]")


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """Points read from one field: one value per group of its binning."""

    field: str
    binning: Binning
    points: tuple[int, ...]
    coefficient: float
    score: str = "fit"
    per: PointsPer | None = None  # points per unit, when the bins' points lie on a line

    def points_of(self, value: object) -> float:
        if self.per is not None:
            return self.per.value(None if is_missing(value) else as_number(value))
        group = self.binning.group_of(value)
        for g, p in zip(self.binning.groups, self.points, strict=True):
            if g is group:
                return p
        return 0


@dataclass(frozen=True, slots=True)
class TouchRule:
    """Points per touch of one kind (`event`, optionally pages whose URL contains
    `url`), decayed with `half_life_days`, at most `cap` points in all."""

    kind: str
    half_life_days: float
    per_touch: float
    cap: float
    evidence: Evidence
    coefficient: float
    chosen: str = ""  # how the half-life and cap were chosen, in words

    @property
    def event(self) -> str:
        return self.kind.partition(" ")[0].removeprefix("account:")

    @property
    def level(self) -> str:
        return "account" if self.kind.startswith("account:") else "contact"

    @property
    def url(self) -> str | None:
        return self.kind.partition(" ")[2] or None

    def points_of(self, ages: Sequence[float]) -> float:
        value = self.per_touch * decayed(ages, half_life_days=self.half_life_days)
        return max(-self.cap, min(self.cap, value))


@dataclass(frozen=True, slots=True)
class Calibration:
    """Total score -> probability of the outcome: a monotone step function read from
    score bands (`steps`: (lowest score of the band, probability))."""

    steps: tuple[tuple[float, float], ...]

    def probability(self, total: float) -> float:
        result = self.steps[0][1]
        for low, p in self.steps:
            if total >= low:
                result = p
        return result


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A learned points model with the evidence behind each rule."""

    outcome: str
    attributes: tuple[AttributeRule, ...]
    touches: tuple[TouchRule, ...]
    calibration: Calibration
    leads: int
    positives: int
    small_data: bool
    shrink: float  # weight of the learned points (1: no shrinking towards the prior)
    warnings: tuple[str, ...] = field(default=())

    @property
    def base_rate(self) -> float:
        return self.positives / self.leads if self.leads else 0.0

    def evidence(self, rule: AttributeRule, group: Group) -> Evidence:
        return Evidence(group.count, group.positives, self.base_rate)

    def total(self, row: LeadRow) -> float:
        """The row's total score under these points (what the written model computes)."""
        total = float(sum(r.points_of(row.attributes.get(r.field)) for r in self.attributes))
        by_kind = touches_by_kind(row)
        total += sum(t.points_of(by_kind.get(t.kind, ())) for t in self.touches)
        return total


def touches_by_kind(row: LeadRow) -> dict[str, list[float]]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, age in row.touches:
        by_kind[kind].append(age)
        if " " in kind:  # a page view with its URL section also counts as a page view
            by_kind[kind.partition(" ")[0]].append(age)
    return by_kind


Prior = Callable[[str, Sequence[LeadRow]], float]


def _logistic(x: np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(x, y)
    return model


def _log_loss(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3,
              test: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """The mean log loss of a one-feature logistic fit (a few Newton steps, which is all
    choosing a half-life needs; the model itself is fitted by scikit-learn), on the leads
    it was fitted to or on `test` (x, y) when given."""
    a = math.log((y.mean() + 1e-9) / (1 - y.mean() + 1e-9))
    b = 0.0
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-(a + b * x)))
        r = p * (1 - p)
        ga, gb = float((p - y).sum()), float(((p - y) * x).sum()) + ridge * b
        haa, hab, hbb = float(r.sum()), float((r * x).sum()), float((r * x * x).sum()) + ridge
        det = haa * hbb - hab * hab
        if det <= 1e-12:
            break
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-8:
            break
    if test is not None:
        x, y = test
    p = np.clip(1.0 / (1.0 + np.exp(-(a + b * x))), 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def learn(rows: Sequence[LeadRow], fields: Sequence[str], *, outcome: str = "won",
          score_of: Mapping[str, str] | None = None, prior: Prior | None = None,
          touch_kinds: Sequence[str] | None = None, min_count: int | None = None,
          regularisation: float = 1.0, warnings: Sequence[str] = (), folds: int = FOLDS,
          account_wide: bool = False) -> Scorecard:
    """Learn a scorecard from `rows` (see the module). `fields`: the attribute fields
    (`dataset.check_fields`); `score_of`: the score each field's rule goes in (default
    fit); `touch_kinds`: the kinds of touches to weigh (default: every kind at least
    `min_count` leads had). The calibration map is fitted on out-of-fold totals
    (`out_of_fold`, `folds` folds of whole accounts), not on the totals of the leads the
    points were fitted to, which would read too sure of itself. `account_wide`: the rows'
    `account:TYPE` touches hold every touch of the type at the account, the lead's own
    and its colleagues' too (`world.lead_rows(account_wide=True)`), so an account rule
    for a type people also do (page views) counts what was measured and may be learned."""
    y = np.array([int(r.label) for r in rows])
    positives = int(y.sum())
    if positives == 0 or positives == len(rows):
        raise ConfigError(f"{len(rows)} leads, {positives} with the outcome {outcome!r}: "
                          "learning needs leads with and without it")
    small = positives < SMALL_DATA
    min_count = min_count if min_count is not None else max(10, min(30, len(rows) // 50))
    notes = list(warnings)
    binnings: list[Binning] = []
    seen_columns: list[tuple[float, ...]] = []
    for name in fields:
        values = [r.attributes.get(name) for r in rows]
        if is_numeric(rows, name):
            binning = bin_numeric(values, y.tolist(), field=name, min_share=0.05)
        else:
            binning = bin_categorical(values, y.tolist(), field=name, min_count=min_count)
        if len(binning.groups) < 2 or binning.information_value < MIN_INFORMATION:
            notes.append(f"{name}: left out, its values do not separate the outcome "
                         f"(information value {binning.information_value:.3f})")
            continue
        grouping = tuple(binning.group_of(v).woe for v in values)
        twin = next((b.field for b, c in zip(binnings, seen_columns, strict=True)
                     if c == grouping), None)
        if twin is not None:
            notes.append(f"{name}: left out, it groups the leads exactly as {twin} does")
            continue
        binnings.append(binning)
        seen_columns.append(grouping)
    # touches: a decayed count per kind, its half-life and cap chosen on its own
    grouped = [touches_by_kind(r) for r in rows]
    if touch_kinds is None:
        seen: dict[str, int] = defaultdict(int)
        for g in grouped:
            for kind in g:
                seen[kind] += 1
        # an account rule counts every event of its type at the account, its people's
        # too: only types that never come from a person (intent surges) read as one
        personal = {k.partition(" ")[0] for k in seen if not k.startswith("account:")}
        touch_kinds = sorted(k for k, n in seen.items() if n >= min_count and not (
            not account_wide and k.startswith("account:")
            and k.removeprefix("account:") in personal))
    touch_columns: list[tuple[str, float, float, np.ndarray, str]] = []
    splits = _splits(y, _groups(rows), folds)
    for kind in touch_kinds:
        ages = [g.get(kind, ()) for g in grouped]
        choice = choose_decay(ages, y, splits)
        if choice is not None:
            touch_columns.append((kind, *choice))
    matrix = [np.array([b.group_of(r.attributes.get(b.field)).woe for r in rows])
              for b in binnings]
    columns = matrix + [c[3] for c in touch_columns]
    if not columns:
        raise ConfigError("no field or touch to learn from")
    c = regularisation * (0.3 if small else 1.0)
    x = np.column_stack(columns)
    model = _logistic(x, y, c)
    coef = model.coef_[0]
    # a weight of evidence weighed against itself would turn its points upside down:
    # drop such fields (they repeat another field) and weigh the rest again
    flipped = [i for i in range(len(binnings)) if coef[i] <= 0]
    if flipped:
        for i in flipped:
            notes.append(f"{binnings[i].field}: left out, it repeats what other fields say")
        keep = [i for i in range(len(columns)) if i not in flipped]
        binnings = [b for i, b in enumerate(binnings) if i not in flipped]
        x = x[:, keep]
        model = _logistic(x, y, c)
        coef = model.coef_[0]
    shrink = positives / (positives + SMALL_DATA) if small and prior is not None else 1.0
    score_of = score_of or {}
    attributes: list[AttributeRule] = []
    for i, binning in enumerate(binnings):
        points = []
        for group in binning.groups:
            learned = SCALE * coef[i] * group.woe
            if shrink < 1.0 and prior is not None:
                members = [r for r in rows if binning.group_of(r.attributes.get(binning.field))
                           is group]
                learned = shrink * learned + (1 - shrink) * prior(binning.field, members)
            points.append(round(learned))
        per = per_unit(binning, points, [r.attributes.get(binning.field) for r in rows])
        attributes.append(AttributeRule(binning.field, binning, tuple(points), float(coef[i]),
                                        score_of.get(binning.field, "fit"), per))
    touches: list[TouchRule] = []
    base = positives / len(rows)
    for j, (kind, h, cap_units, column, chosen) in enumerate(touch_columns):
        beta = float(coef[len(binnings) + j])
        per_touch = round(SCALE * beta, 1)
        if per_touch == 0:
            continue
        had = column > 0
        evidence = Evidence(int(had.sum()), int(y[had].sum()), base)
        touches.append(TouchRule(kind, h, per_touch, round(abs(per_touch) * cap_units, 1),
                                 evidence, beta, chosen))
    card = Scorecard(outcome, tuple(attributes), tuple(touches), Calibration(((0.0, base),)),
                     len(rows), positives, small, shrink, tuple(notes))
    totals = np.array([card.total(r) for r in rows])
    held_out = out_of_fold(x, y, c, model, totals, _groups(rows), folds=folds)
    calibration = calibrate(held_out.tolist(), y.tolist())
    return Scorecard(outcome, card.attributes, card.touches, calibration, len(rows),
                     positives, small, shrink, tuple(notes))


Splits = list[tuple[np.ndarray, np.ndarray]]


def _splits(y: np.ndarray, groups: Sequence[str], folds: int) -> Splits:
    """Folds of whole accounts with the outcome spread evenly (inside, outside), as the
    calibration map's out-of-fold totals use; none when there are too few leads."""
    positives = int(y.sum())
    k = min(folds, positives, len(y) - positives, len(set(groups)))
    if k < 2:
        return []
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=0)
    return [(a, b) for a, b in splitter.split(np.zeros(len(y)), y, groups=list(groups))
            if y[a].min() != y[a].max()]


def _capped(x: np.ndarray, q: float, fitted: np.ndarray | None = None
            ) -> tuple[np.ndarray, float]:
    """The decayed counts `x` capped at the `q` percentile of the counts of the leads
    who made the touch (among `fitted`, default all), and the cap."""
    filled = x[fitted] if fitted is not None else x
    filled = filled[filled > 0]
    cap = max(1.0, float(np.quantile(filled, q))) if filled.size else 1.0
    return np.minimum(x, cap), cap


def choose_decay(ages: Sequence[Sequence[float]], y: np.ndarray, splits: Splits
                 ) -> tuple[float, float, np.ndarray, str] | None:
    """The half-life and cap of one kind of touch chosen by cross-validation: for each
    pair of `HALF_LIVES` and `CAP_QUANTILES`, a one-feature logistic fit on each fold's
    inside (the cap taken there too) and its log loss on the outside; the pair with the
    lowest mean. Returns (half-life, cap in decayed touches, the capped column of every
    lead, the choice in words); None when no lead made the touch. Without folds (too
    few leads) the pair is chosen on the leads themselves, and the words say so."""
    if not any(ages):
        return None
    tried: list[tuple[float, float, float]] = []  # (loss, half-life, quantile)
    decays = {h: np.array([decayed(a, half_life_days=h) for a in ages]) for h in HALF_LIVES}
    for h, x in decays.items():
        for q in CAP_QUANTILES:
            if splits:
                losses = []
                for inside, outside in splits:
                    column, _ = _capped(x, q, inside)
                    losses.append(_log_loss(column[inside], y[inside],
                                            test=(column[outside], y[outside])))
                loss = float(np.mean(losses))
            else:
                loss = _log_loss(_capped(x, q)[0], y)
            tried.append((loss, h, q))
    loss, h, q = min(tried)
    column, cap = _capped(decays[h], q)
    worst = max(t[0] for t in tried)
    how = (f"{len(splits)}-fold out-of-fold log loss" if splits
           else "log loss on the leads themselves (too few for folds)")
    words = (f"half-life {h:g} days and cap at the {round(q * 100)}th percentile "
             f"({cap:.2f} decayed touches) chosen by {how} {loss:.4f}, the lowest of "
             f"{len(tried)} pairs (highest {worst:.4f})")
    return h, cap, column, words


def _groups(rows: Sequence[LeadRow]) -> list[str]:
    """The account of each lead (its domain), so that one company's people share a fold."""
    return [str(r.attributes.get("account.domain") or r.key) for r in rows]


def out_of_fold(x: np.ndarray, y: np.ndarray, c: float, model: LogisticRegression,
                totals: np.ndarray, groups: Sequence[str], *, folds: int = FOLDS
                ) -> np.ndarray:
    """Each lead's total as a model fitted without its fold would have given it: the
    written total (rounding, points per unit, caps and all) plus the difference the
    fold's weights make to its log-odds, in points. Folds hold whole accounts, with the
    outcome spread evenly (scikit-learn's StratifiedGroupKFold). Too few leads with or
    without the outcome for two folds: the totals themselves."""
    positives = int(y.sum())
    k = min(folds, positives, len(y) - positives, len(set(groups)))
    if k < 2:
        return totals
    held = totals.astype(float).copy()
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=0)
    for inside, outside in splitter.split(x, y, groups=list(groups)):
        if y[inside].min() == y[inside].max():
            continue
        fold = _logistic(x[inside], y[inside], c)
        shift = x[outside] @ (fold.coef_[0] - model.coef_[0]) + (
            fold.intercept_[0] - model.intercept_[0])
        held[outside] += SCALE * shift
    return held


LINEAR = 0.95  # R² of the bins' points on their median value to write points per unit


def per_unit(binning: Binning, points: Sequence[int], values: Sequence[object]
             ) -> PointsPer | None:
    """Points per unit for a number field whose bins' points lie on a line (R² at least
    `LINEAR`, three bins or more, no missing or negative values), possibly up to a cap
    (the points stop growing at one bin's median): `each` units earn one point (or
    `points` per unit when a unit is worth more), at most the line's value at the cap.
    The line's value at zero is the same for every lead and is dropped (ranks and the
    calibration map, fitted after, do not change). None when the bins read better.

    >>> b = Binning("m", True, tuple(Group(4, 0, 0.0, lo, hi) for lo, hi in
    ...     ((None, 4.0), (4.0, 8.0), (8.0, None))))
    >>> per_unit(b, [-4, 0, 4], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    PointsPer(field='m', each=1.0, points=1.0, cap=10.0)
    """
    groups = binning.groups
    if not binning.numeric or len(groups) < 3 or any(g.default for g in groups):
        return None
    numbers = [n for v in values if (n := as_number(v)) is not None and not is_missing(v)]
    if any(n < 0 for n in numbers):
        return None
    medians = []
    for g in groups:
        inside = sorted(n for n in numbers if (g.low is None or n >= g.low)
                        and (g.high is None or n < g.high))
        if not inside:
            return None
        medians.append(inside[len(inside) // 2])
    raw = np.array(medians, dtype=float)
    y = np.array(points, dtype=float)
    w = np.array([g.count for g in groups], dtype=float)
    my = np.average(y, weights=w)
    total = float((w * (y - my) ** 2).sum())
    if total == 0:
        return None
    best: tuple[float, float, float] | None = None  # (R², slope, knot)
    for knot in raw[1:]:  # a line up to a cap: points stop growing at the knot
        x = np.minimum(raw, knot)
        mx = np.average(x, weights=w)
        denominator = float((w * (x - mx) ** 2).sum())
        if denominator == 0:
            continue
        slope = float((w * (x - mx) * (y - my)).sum()) / denominator
        intercept = my - slope * mx  # the same for every lead: dropped (ranks stay)
        r2 = 1 - float((w * (y - intercept - slope * x) ** 2).sum()) / total
        if best is None or r2 > best[0] + 1e-9:
            best = (r2, slope, float(knot))
    if best is None or best[0] < LINEAR or best[1] == 0:
        return None
    _, slope, knot = best
    cap = float(round(abs(slope * knot)))
    if cap == 0:
        return None
    if abs(slope) >= 1:
        return PointsPer(binning.field, 1.0, float(round(slope)), cap=cap)
    return PointsPer(binning.field, float(round(1 / abs(slope))), math.copysign(1.0, slope),
                     cap=cap)


def calibrate(totals: Sequence[float], labels: Sequence[int], *, bands: int = 20
              ) -> Calibration:
    """The probability of the outcome per score band: bands at the quantiles of the
    total (at least 2% of the leads each; edges rounded down to a tenth of a point, since
    out-of-fold totals are not whole), their outcome rates made monotone with an
    isotonic fit (a higher score never means a lower probability).

    >>> calibrate([0, 0, 10, 10, 20, 20], [0, 0, 0, 1, 1, 1], bands=3).steps
    ((0.0, 0.0), (10.0, 0.5), (20.0, 1.0))
    """
    order = sorted(zip(totals, labels, strict=True))
    if not order:
        return Calibration(((0.0, 0.0),))
    n = len(order)
    edges: list[float] = []
    for k in range(bands):
        value = math.floor(float(order[min(n - 1, (k * n) // bands)][0]) * 10) / 10
        if not edges or value > edges[-1]:
            edges.append(float(value))
    # the bands' rates made monotone by the isotonic fit `mql calibrate` draws (one fit):
    # each lead stands at its band's lowest score, so a band's leads share one block
    moments = [Moment("", edges[bisect.bisect_right(edges, total) - 1], float(label))
               for total, label in order]
    steps: list[tuple[float, float]] = []
    for block in isotonic(moments):
        p = round(block.rate, 4)
        if not steps or p != steps[-1][1]:
            steps.append((block.low, p))
    return Calibration(tuple(steps))
