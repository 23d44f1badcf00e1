"""Weight of evidence and monotone, regularised bins (the credit-risk scorecard way).

The weight of evidence (WoE) of a group of leads says how much more common the outcome
is in it than overall, on the log-odds scale, with half a lead added to every count so an
empty cell never gives an infinite value:

    WoE = ln( ((pos + 0.5) / (P + 0.5 k)) / ((neg + 0.5) / (N + 0.5 k)) )

for a group with `pos` leads with the outcome and `neg` without, out of P and N overall,
and k groups. A number field is cut into bins whose outcome rate only rises (or only
falls) with the value, each holding at least `min_share` of the leads: the points cannot
zigzag with noise. A text field keeps one group per value seen at least `min_count`
times; rarer values and missing ones share the default group.

>>> round(woe(30, 70, 100, 900, 2), 4)        # ln((30.5/101) / (70.5/901))
1.3505
>>> bins = bin_numeric([1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 1, 0, 1, 1, 1], min_share=0.25)
>>> [(b.low, b.high, b.count, b.positives) for b in bins.groups]
[(None, 4.0, 3, 0), (4.0, 6.0, 2, 1), (6.0, None, 3, 3)]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mql.scoring.evaluate import as_number, is_missing

SMOOTHING = 0.5


def woe(pos: int, neg: int, total_pos: int, total_neg: int, groups: int) -> float:
    """The weight of evidence of a group (see the module)."""
    a = SMOOTHING
    return math.log(((pos + a) / (total_pos + a * groups))
                    / ((neg + a) / (total_neg + a * groups)))


@dataclass(frozen=True, slots=True)
class Group:
    """A bin [low, high) of a number field (None: open), or the values of a text field;
    `default` marks the group of missing (and, for text, rare) values."""

    count: int
    positives: int
    woe: float
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()
    default: bool = False

    @property
    def rate(self) -> float:
        return self.positives / self.count if self.count else 0.0


@dataclass(frozen=True, slots=True)
class Binning:
    """The groups of one field and how to find a value's group."""

    field: str
    numeric: bool
    groups: tuple[Group, ...]

    def group_of(self, value: Any) -> Group:
        """The group `value` falls in (the default group when missing or unseen)."""
        default = next((g for g in self.groups if g.default), None)
        if not is_missing(value):
            if self.numeric:
                number = as_number(value)
                if number is not None:
                    for g in self.groups:
                        if g.default:
                            continue
                        if (g.low is None or number >= g.low) and (
                                g.high is None or number < g.high):
                            return g
            else:
                text = str(value).strip().lower()
                for g in self.groups:
                    if any(text == v.lower() for v in g.values):
                        return g
        if default is None:
            return Group(0, 0, 0.0, default=True)
        return default

    @property
    def information_value(self) -> float:
        """How well the groups separate the outcome (> 0.1: useful, > 0.3: strong)."""
        pos = sum(g.positives for g in self.groups)
        neg = sum(g.count - g.positives for g in self.groups)
        if not pos or not neg:
            return 0.0
        return sum(((g.positives + SMOOTHING) / (pos + SMOOTHING * len(self.groups))
                    - (g.count - g.positives + SMOOTHING)
                    / (neg + SMOOTHING * len(self.groups))) * g.woe for g in self.groups)


def _with_woe(cells: list[tuple[int, int, dict[str, Any]]], field: str, numeric: bool
              ) -> Binning:
    total_pos = sum(p for _, p, _ in cells)
    total_neg = sum(c - p for c, p, _ in cells)
    k = len(cells)
    return Binning(field, numeric, tuple(
        Group(c, p, woe(p, c - p, total_pos, total_neg, k), **extra) for c, p, extra in cells))


def bin_numeric(values: Sequence[Any], labels: Sequence[int | bool], *, field: str = "",
                max_bins: int = 6, min_share: float = 0.05, prebins: int = 20) -> Binning:
    """Monotone bins of a number field (see the module).

    Quantile pre-bins are merged, pool-adjacent-violators style, until the outcome rate
    is monotone in the direction of the overall trend, every bin holds `min_share` of
    the leads, and at most `max_bins` remain (the closest neighbours merge first).
    """
    known = [(n, int(y)) for v, y in zip(values, labels, strict=True)
             if not is_missing(v) and (n := as_number(v)) is not None]
    missing = [int(y) for v, y in zip(values, labels, strict=True)
               if is_missing(v) or as_number(v) is None]
    known.sort()
    # pre-bins at quantiles, cut only between distinct values
    cuts: list[float] = []
    distinct = sorted({n for n, _ in known})
    if len(distinct) > 1:
        step = max(1, len(known) // prebins)
        for i in range(step, len(known), step):
            edge = known[i][0]
            if edge > known[0][0] and (not cuts or edge > cuts[-1]):
                cuts.append(edge)
    edges: list[float | None] = [None, *cuts, None]
    cells: list[list[int]] = []  # [count, positives] per pre-bin
    index = 0
    for i in range(len(edges) - 1):
        high = edges[i + 1]
        count = pos = 0
        while index < len(known) and (high is None or known[index][0] < high):
            count += 1
            pos += known[index][1]
            index += 1
        cells.append([count, pos])
    bounds = list(edges)
    # drop empty pre-bins
    i = 0
    while i < len(cells):
        if cells[i][0] == 0 and len(cells) > 1:
            del cells[i]
            del bounds[i + 1 if i + 1 < len(bounds) - 1 else i]
        else:
            i += 1
    n = len(known)
    rising = _trend(known) >= 0

    def rate(c: list[int]) -> float:
        return c[1] / c[0] if c[0] else 0.0

    def merge(j: int) -> None:  # merge cell j with cell j + 1
        cells[j] = [cells[j][0] + cells[j + 1][0], cells[j][1] + cells[j + 1][1]]
        del cells[j + 1]
        del bounds[j + 1]

    changed = True
    while changed and len(cells) > 1:
        changed = False
        for j in range(len(cells) - 1):
            a, b = rate(cells[j]), rate(cells[j + 1])
            if (rising and a >= b) or (not rising and a <= b):
                merge(j)
                changed = True
                break
    while len(cells) > 1:
        small = [j for j, c in enumerate(cells) if c[0] < min_share * n]
        if not small and len(cells) <= max_bins:
            break
        if small:
            j = small[0]
            if j == len(cells) - 1:
                merge(j - 1)
            elif j == 0:
                merge(0)
            else:
                left = abs(rate(cells[j - 1]) - rate(cells[j]))
                right = abs(rate(cells[j + 1]) - rate(cells[j]))
                merge(j - 1 if left <= right else j)
        else:
            gaps = [abs(rate(cells[j + 1]) - rate(cells[j])) for j in range(len(cells) - 1)]
            merge(gaps.index(min(gaps)))
    groups: list[tuple[int, int, dict[str, Any]]] = [
        (c[0], c[1], {"low": bounds[j], "high": bounds[j + 1]}) for j, c in enumerate(cells)
        if c[0]]
    if missing:
        groups.append((len(missing), sum(missing), {"default": True}))
    return _with_woe(groups, field, True)


def _trend(known: Sequence[tuple[float, int]]) -> float:
    """The sign of the covariance of the value's rank and the outcome (which way the rate
    should go); ranks, so that a few huge values (400,000 employees) cannot decide it.
    `known` is sorted by value."""
    if len(known) < 2:
        return 0.0
    mx = (len(known) - 1) / 2
    my = sum(y for _, y in known) / len(known)
    return sum((i - mx) * (y - my) for i, (_, y) in enumerate(known))


def bin_categorical(values: Sequence[Any], labels: Sequence[int | bool], *, field: str = "",
                    min_count: int = 20) -> Binning:
    """One group per text value seen at least `min_count` times; rarer and missing
    values share the default group (see the module). Values compare case-insensitively.

    >>> b = bin_categorical(["VP", "vp", "VP", "ic", None], [1, 1, 0, 0, 0], min_count=2)
    >>> [(g.values, g.count, g.positives, g.default) for g in b.groups]
    [(('VP',), 3, 2, False), ((), 2, 0, True)]
    """
    raw = [None if is_missing(v) else str(v).strip() for v in values]
    texts = [None if r is None else r.lower() for r in raw]
    counts = Counter(t for t in texts if t is not None)
    spelled = Counter(r for r in raw if r is not None)
    kept = sorted(v for v, c in counts.items() if c >= min_count)
    cells: list[tuple[int, int, dict[str, Any]]] = []
    for value in kept:
        ys = [int(y) for t, y in zip(texts, labels, strict=True) if t == value]
        shown = max((r for r in spelled if r.lower() == value), key=lambda r: spelled[r])
        cells.append((len(ys), sum(ys), {"values": (shown,)}))
    rest = [int(y) for t, y in zip(texts, labels, strict=True) if t is None or t not in kept]
    if rest:
        cells.append((len(rest), sum(rest), {"default": True}))
    return _with_woe(cells, field, False)
