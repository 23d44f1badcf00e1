"""Markov-chain attribution, exact: the journeys are a chain from `start` through states
(the last `order` channels seen) to `conversion` or `null`; a channel's removal effect is
the share of conversions lost when every state with that channel leads to `null`
instead. The conversion probability is solved from the absorbing chain, (I - Q) x = r,
with sparse linear algebra over the observed transitions (no simulation).

The paths come as integer arrays (`PathArrays`): one row per path, channel codes padded
with -1, and the conversions, nulls and value of each row, so a million journeys are
counted with NumPy, not row by row.

The classic example (three journeys: c1 > c2 > c3 converts, c1 converts, c2 > c3 does
not): from `start` 2/3 of the way goes to c1, which converts at once half the time,
so P(conversion) = 2/3 * (1/2 + 1/2 * 1/2) + 1/3 * 1/2 = 2/3. Without c1 only 1/3 * 1/2
= 1/6 is left (removal effect 3/4); without c2 or c3, 2/3 * 1/2 = 1/3 (effect 1/2).

>>> from mql.attribution.journeys import Journey, Touch
>>> js = [Journey("1", (Touch("c1"), Touch("c2"), Touch("c3")), conversions=1),
...       Journey("2", (Touch("c1"),), conversions=1),
...       Journey("3", (Touch("c2"), Touch("c3")), nulls=1)]
>>> r = removal_effects(PathArrays.of(js))
>>> round(r.conversion_probability, 6), [round(e, 12) for e in r.effects]
(0.666667, [0.75, 0.5, 0.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.linalg import spsolve

from mql.attribution.journeys import Journey

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PathArrays:
    """Paths as arrays: `codes[i, :lengths[i]]` are path i's channels (indexes into
    `channels`), -1 after; `conversions`, `nulls`, `value` per path."""

    channels: tuple[str, ...]
    codes: IntArray
    lengths: IntArray
    conversions: FloatArray
    nulls: FloatArray
    value: FloatArray

    @staticmethod
    def of(journeys: Sequence[Journey]) -> PathArrays:
        """The journeys with at least one touch as arrays (channels sorted by name)."""
        kept = [j for j in journeys if j.touches]
        channels = tuple(sorted({t.channel for j in kept for t in j.touches}))
        index = {c: i for i, c in enumerate(channels)}
        width = max((len(j.touches) for j in kept), default=0)
        codes = np.full((len(kept), width), -1, dtype=np.int64)
        for row, j in enumerate(kept):
            codes[row, :len(j.touches)] = [index[t.channel] for t in j.touches]
        return PathArrays(channels, codes,
                          np.array([len(j.touches) for j in kept], dtype=np.int64),
                          np.array([j.conversions for j in kept], dtype=np.float64),
                          np.array([j.nulls for j in kept], dtype=np.float64),
                          np.array([j.value for j in kept], dtype=np.float64))

    def without_repeats(self) -> PathArrays:
        """The paths with a channel repeated in a row kept once."""
        codes = self.codes
        if codes.shape[1] == 0:
            return self
        keep = codes >= 0
        keep[:, 1:] &= codes[:, 1:] != codes[:, :-1]
        position = np.cumsum(keep, axis=1) - 1
        out = np.full_like(codes, -1)
        rows, cols = np.nonzero(keep)
        out[rows, position[rows, cols]] = codes[rows, cols]
        lengths = keep.sum(axis=1).astype(np.int64)
        width = int(lengths.max()) if len(lengths) else 0
        return PathArrays(self.channels, out[:, :width], lengths, self.conversions,
                          self.nulls, self.value)

    def channel_sets(self) -> IntArray:
        """Each path's channels as a bit mask (bit c: channel c is on the path)."""
        if len(self.channels) < 63:
            masks = np.zeros(len(self.lengths), dtype=np.int64)
            for col in range(self.codes.shape[1]):
                c = self.codes[:, col]
                on = c >= 0
                masks[on] |= np.left_shift(1, c[on])
            return masks
        # 63 channels or more do not fit in an int64: Python integers, path by path
        wide = np.zeros(len(self.lengths), dtype=object)
        for row, length in enumerate(self.lengths):
            m = 0
            for c in self.codes[row, :length]:
                m |= 1 << int(c)
            wide[row] = m
        return wide


@dataclass(frozen=True)
class RemovalEffects:
    """P(conversion) of the whole chain, and each channel's removal effect
    (1 - P(conversion without it) / P(conversion)), in the order of `channels`."""

    channels: tuple[str, ...]
    conversion_probability: float
    effects: tuple[float, ...]
    states: int


START, CONVERSION, NULL = 0, 1, 2


def _states(paths: PathArrays, order: int
            ) -> tuple[IntArray, npt.NDArray[np.bool_], int]:
    """Per path and step, the id of its state (the last `order` channels, shorter at the
    start of a path) as a base-(C+1) number of the channel codes + 1 (unique per tuple),
    whether the step is on the path, and the base."""
    base = len(paths.channels) + 1
    codes = paths.codes + 1  # 0 = no channel
    n, width = codes.shape
    valid = paths.codes >= 0
    if order == 1:
        return codes, valid, base
    ids = np.zeros((n, width), dtype=np.int64)
    for col in range(width):
        acc = np.zeros(n, dtype=np.int64)
        for back in range(min(order, col + 1) - 1, -1, -1):
            acc = acc * base + codes[:, col - back]
        ids[:, col] = acc
    return ids, valid, base


def transition_counts(paths: PathArrays, order: int = 1
                      ) -> tuple[sparse.csr_matrix, list[int], IntArray]:
    """The observed transitions as a sparse count matrix over states 0 = start,
    1 = conversion, 2 = null, 3... = the channel states; with the tuple id of each
    channel state and, per channel state, the bit mask of the channels it holds."""
    ids, valid, base = _states(paths, order)
    n, width = ids.shape
    present = ids[valid]
    # the channel states seen, numbered from 3 in the order of their tuple ids
    top = int(present.max()) + 1 if len(present) else 1
    if top <= 1 << 24:  # a lookup table: no sort of the millions of steps
        seen = np.zeros(top, dtype=bool)
        seen[present] = True
        tuples = np.flatnonzero(seen)
        lookup = np.cumsum(seen) + 2
        compact = np.where(valid, lookup[np.where(valid, ids, 0)], -1)
    else:
        tuples, inverse = np.unique(present, return_inverse=True)
        compact = np.full((n, width), -1, dtype=np.int64)
        compact[valid] = inverse + 3
    channel_tuples = [int(x) for x in tuples]
    size = 3 + len(channel_tuples)
    # every step of every path as one pair (state before, state after), all at once;
    # a step past a path's end goes to a spare cell that is dropped
    small = np.int32 if size * size < (1 << 31) - 1 else np.int64  # half the memory
    full = np.empty((n, width + 1), dtype=small)
    full[:, 0] = START
    full[:, 1:] = compact
    spare = size * size
    after = full[:, 1:]
    pairs = np.where(after >= 0, full[:, :-1] * size + after, spare).ravel()
    journeys = paths.conversions + paths.nulls
    steps = np.broadcast_to(journeys[:, None], after.shape).ravel()
    last = full[np.arange(n), paths.lengths]
    ends = [last * size + CONVERSION, last * size + NULL]
    has = paths.lengths > 0
    if size * size <= 1 << 25:  # count the pairs into a table: no sort of the pairs
        table = np.bincount(pairs, weights=steps, minlength=spare + 1)[:spare]
        for end, counts in zip(ends, (paths.conversions, paths.nulls), strict=True):
            table += np.bincount(end[has], weights=counts[has], minlength=spare)
        matrix = sparse.csr_matrix(table.reshape(size, size))
    else:
        keep = pairs < spare
        codes = np.concatenate([pairs[keep], ends[0][has], ends[1][has]])
        w = np.concatenate([steps[keep], paths.conversions[has], paths.nulls[has]])
        matrix = sparse.coo_matrix((w, (codes // size, codes % size)),
                                   shape=(size, size)).tocsr()
    # 63 channels or more do not fit in an int64: Python integers (object array)
    masks = np.zeros(len(channel_tuples), dtype=np.int64 if base <= 63 else object)
    b = base
    for i, x in enumerate(channel_tuples):
        m = 0
        while x:
            x, digit = divmod(x, b)
            if digit:
                m |= 1 << (digit - 1)
        masks[i] = m
    return matrix, channel_tuples, masks


def _conversion(counts: sparse.csr_matrix, keep: npt.NDArray[np.bool_]) -> float:
    """P(start reaches conversion) with only the transient states in `keep` (the others
    lead to null): x = (I - Q)^-1 r over the kept transient states."""
    totals = np.asarray(counts.sum(axis=1)).ravel()
    transient = np.flatnonzero(keep & (totals > 0))
    if START not in transient:
        return 0.0
    scale = sparse.diags(1.0 / totals[transient])
    sub = scale @ counts[transient][:, transient]
    r = scale @ counts[transient][:, [CONVERSION]].toarray().ravel()
    system = sparse.identity(len(transient), format="csc") - sub.tocsc()
    x = np.atleast_1d(spsolve(system, r))
    return float(x[int(np.searchsorted(transient, START))])


def removal_effects(paths: PathArrays, order: int = 1, *,
                    self_transitions: str = "keep") -> RemovalEffects:
    """The removal effect of every channel of `paths` under a chain of `order`
    (`self_transitions="drop"`: a channel repeated in a row counts once)."""
    if self_transitions == "drop":
        paths = paths.without_repeats()
    counts, _, masks = transition_counts(paths, order)
    return effects_of_counts(counts, masks, paths.channels)


def effects_of_counts(counts: sparse.csr_matrix, masks: IntArray, channels: tuple[str, ...]
                      ) -> RemovalEffects:
    """The removal effects of a chain given its transition counts (states as in
    `transition_counts`; `masks`: the channels each channel state holds), whoever counted
    them (`mql.batch.attribution` sums them in DuckDB)."""
    size = counts.shape[0]
    every = np.ones(size, dtype=bool)
    every[[CONVERSION, NULL]] = False
    base = _conversion(counts, every)
    effects = []
    for c in range(len(channels)):
        keep = every.copy()
        keep[3:] = (masks & (1 << c)) == 0
        p = _conversion(counts, keep)
        effects.append(0.0 if base == 0 else 1.0 - p / base)
    return RemovalEffects(channels, base, tuple(effects), size - 3)


def allocate(paths: PathArrays, effects: Sequence[float], allocation: str = "total"
             ) -> tuple[FloatArray, FloatArray]:
    """Conversions and value per channel from removal effects: `total` splits every
    conversion (and all the value) by the channels' shares of the effects; `journey`
    splits each converting path over its own channels by their effects (equally when
    they are all 0). Both add up to the conversions and value of `paths`."""
    e = np.clip(np.asarray(effects, dtype=np.float64), 0.0, None)
    n = len(paths.channels)
    total_conv = float(paths.conversions.sum())
    total_value = float(paths.value.sum())
    if allocation == "total":
        if e.sum() == 0:
            return np.zeros(n), np.zeros(n)
        share = e / e.sum()
        return share * total_conv, share * total_value
    if allocation != "journey":
        raise ValueError(f"allocation {allocation!r}: expected total or journey")
    masks = paths.channel_sets()
    converting = paths.conversions > 0
    unique, inverse = np.unique(masks[converting], return_inverse=True)
    conv = np.bincount(inverse, weights=paths.conversions[converting], minlength=len(unique))
    value = np.bincount(inverse, weights=paths.value[converting], minlength=len(unique))
    bits = ((unique[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float64)
    weights = bits * e[None, :]
    sums = weights.sum(axis=1)
    weights = np.where(sums[:, None] > 0, weights / np.where(sums > 0, sums, 1.0)[:, None],
                       bits / bits.sum(axis=1)[:, None])
    return weights.T @ conv, weights.T @ value
