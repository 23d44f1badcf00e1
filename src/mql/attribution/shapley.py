"""Shapley values: each channel's average marginal contribution to the value of a
coalition of channels, over every order in which the channels could join.

The characteristic function v(S) of a coalition S (a set of channels) is read from the
journeys, grouped by the set of channels each one touched (order and repeats ignored:
unordered coalitions):

- `conversions`: v(S) = the conversions (or value) of the journeys whose channels all lie
  in S. The credits add up to v(all channels) = every conversion. This game is a sum of
  one "unanimity game" per journey, so its Shapley value is also each journey split
  evenly over its distinct channels (a check the tests make);
- `rate`: v(S) = the conversion rate of the journeys whose channels all lie in S (0 when
  there are none); the credits are then scaled so that they add up to the conversions.

With `ordered=True` the coalitions are ordered: a journey counts for S only when its
channels, in the order they first appeared, are a sequence S can form, i.e. the players
are (channel, position of first appearance) pairs; credits are summed back to channels.

Exact: every coalition is enumerated (2^n values, a subset-sum transform), up to
`exact_up_to` players. Beyond that, `samples` random orders of the players give an
unbiased estimate with a 95% confidence interval per channel; each order's marginal
contributions add up to v(all) exactly, so the estimates do too.

>>> from mql.attribution.journeys import Journey, Touch
>>> js = [Journey("1", (Touch("a"), Touch("b")), conversions=2),
...       Journey("2", (Touch("a"),), conversions=1), Journey("3", (Touch("c"),), nulls=1)]
>>> r = shapley(js)
>>> r.channels, [round(x, 12) for x in r.conversions]
(('a', 'b', 'c'), [2.0, 1.0, 0.0])
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mql.attribution.journeys import Journey

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ShapleyResult:
    """Credit per channel (conversions and value), whether it was exact, and for a sampled
    estimate the half-width of each channel's 95% confidence interval (0 when exact)."""

    channels: tuple[str, ...]
    conversions: tuple[float, ...]
    value: tuple[float, ...]
    exact: bool
    conversions_ci: tuple[float, ...]
    value_ci: tuple[float, ...]
    samples: int = 0


def _players(journeys: Sequence[Journey], ordered: bool
             ) -> tuple[list[tuple[str, int]], dict[int, list[float]]]:
    """The players and, per coalition mask, the journeys' (conversions, nulls, value)."""
    players: dict[tuple[str, int], int] = {}
    groups: dict[int, list[float]] = {}
    for j in journeys:
        if not j.touches:
            continue
        seen: list[str] = []
        for t in j.touches:
            if t.channel not in seen:
                seen.append(t.channel)
        keys = [(c, i if ordered else 0) for i, c in enumerate(seen)]
        mask = 0
        for k in keys:
            mask |= 1 << players.setdefault(k, len(players))
        g = groups.setdefault(mask, [0.0, 0.0, 0.0])
        g[0] += j.conversions
        g[1] += j.nulls
        g[2] += j.value
    return list(players), groups


def _sorted_players(players: list[tuple[str, int]], groups: dict[int, list[float]]
                    ) -> tuple[list[tuple[str, int]], dict[int, list[float]]]:
    """Players in a canonical order (so the input order of the journeys never matters)."""
    order = sorted(range(len(players)), key=lambda i: players[i])
    new_bit = {old: new for new, old in enumerate(order)}
    regrouped: dict[int, list[float]] = {}
    for mask, g in groups.items():
        m = 0
        for old, new in new_bit.items():
            if mask >> old & 1:
                m |= 1 << new
        regrouped[m] = g
    return [players[i] for i in order], regrouped


def _game(n: int, groups: dict[int, list[float]], kind: str, which: int) -> FloatArray:
    """v over every mask of `n` players (which: 0 conversions, 2 value)."""
    size = 1 << n
    masks = np.fromiter(groups, dtype=np.int64, count=len(groups))
    v: FloatArray = np.bincount(masks, weights=[g[which] for g in groups.values()],
                                minlength=size).astype(np.float64)
    seen: FloatArray = np.zeros(size)
    if kind == "rate":
        seen = np.bincount(masks, weights=[g[0] + g[1] for g in groups.values()],
                           minlength=size).astype(np.float64)
        for i in range(n):  # subset sums of the journeys too
            bit = 1 << i
            idx = np.arange(size)[(np.arange(size) & bit) != 0]
            seen[idx] += seen[idx ^ bit]
    for i in range(n):  # subset sums: v(S) = sum over T within S
        bit = 1 << i
        idx = np.arange(size)[(np.arange(size) & bit) != 0]
        v[idx] += v[idx ^ bit]
    if kind == "rate":
        v = np.divide(v, seen, out=np.zeros_like(v), where=seen > 0)
    return v


def _exact(n: int, v: FloatArray) -> FloatArray:
    size = 1 << n
    everyone = np.arange(size)
    popcount = np.array([bin(m).count("1") for m in range(size)], dtype=np.int64)
    weight = np.array([math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                       for k in range(n)])
    phi = np.zeros(n)
    for i in range(n):
        bit = 1 << i
        without = everyone[(everyone & bit) == 0]
        phi[i] = float(np.sum(weight[popcount[without]] * (v[without | bit] - v[without])))
    return phi


def _value_of(masks: npt.NDArray[np.int64], amounts: FloatArray, seen: FloatArray | None,
              coalition: int) -> float:
    inside = (masks & ~coalition) == 0
    total = float(amounts[inside].sum())
    if seen is None:
        return total
    journeys = float(seen[inside].sum())
    return total / journeys if journeys > 0 else 0.0


def _sampled(n: int, groups: dict[int, list[float]], kind: str, which: int, samples: int,
             rng: random.Random) -> tuple[FloatArray, FloatArray]:
    masks = np.fromiter(groups, dtype=np.int64, count=len(groups))
    amounts = np.array([g[which] for g in groups.values()], dtype=np.float64)
    seen = (np.array([g[0] + g[1] for g in groups.values()], dtype=np.float64)
            if kind == "rate" else None)
    draws = np.zeros((samples, n))
    for s in range(samples):
        order = list(range(n))
        rng.shuffle(order)
        coalition, before = 0, _value_of(masks, amounts, seen, 0)
        for p in order:
            coalition |= 1 << p
            after = _value_of(masks, amounts, seen, coalition)
            draws[s, p] = after - before
            before = after
    mean = draws.mean(axis=0)
    half = 1.96 * draws.std(axis=0, ddof=1) / math.sqrt(samples)
    return mean, half


def shapley(journeys: Sequence[Journey], *, value: str = "conversions",
            ordered: bool = False, exact_up_to: int = 15, samples: int = 2000,
            seed: int = 7) -> ShapleyResult:
    """Shapley credit of every channel for the conversions and the value of `journeys`
    (see the module for the characteristic functions)."""
    if value not in ("conversions", "rate"):
        raise ValueError(f"shapley value {value!r}: expected conversions or rate")
    players, groups = _sorted_players(*_players(journeys, ordered))
    n = len(players)
    channels = tuple(sorted({c for c, _ in players}))
    if n == 0:
        return ShapleyResult(channels, (), (), True, (), ())
    exact = n <= exact_up_to
    results: list[tuple[FloatArray, FloatArray]] = []
    for which in (0, 2):
        if exact:
            phi = _exact(n, _game(n, groups, value, which))
            half = np.zeros(n)
        else:
            phi, half = _sampled(n, groups, value, which, samples, random.Random(seed))
        if value == "rate":
            total = math.fsum(g[which] for g in groups.values())
            scale = total / phi.sum() if phi.sum() != 0 else 0.0
            phi, half = phi * scale, half * abs(scale)
        results.append((phi, half))
    index = {c: i for i, c in enumerate(channels)}

    def by_channel(per_player: FloatArray, squares: bool = False) -> tuple[float, ...]:
        out = [0.0] * len(channels)
        for (c, _), x in zip(players, per_player, strict=True):
            out[index[c]] += float(x) ** 2 if squares else float(x)
        return tuple(math.sqrt(x) for x in out) if squares else tuple(out)

    (conv, conv_ci), (val, val_ci) = results
    return ShapleyResult(channels, by_channel(conv), by_channel(val), exact,
                         by_channel(conv_ci, True), by_channel(val_ci, True),
                         0 if exact else samples)
