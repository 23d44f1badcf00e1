"""Markov at its edges, worked out by hand from docs/attribution.md ("Markov: what would we
lose without this channel?"): chains too large for the lookup tables, allocation by
journey and its ties, no conversion, certain conversion, padded paths."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mql.attribution.journeys import Journey, Touch
from mql.attribution.markov import PathArrays, allocate, removal_effects, transition_counts


def journey(channels: list[str] | str, conversions: float = 1, nulls: float = 0,
            value: float = 0) -> Journey:
    names = channels.split() if isinstance(channels, str) else channels
    return Journey("j", tuple(Touch(c) for c in names), conversions=conversions, nulls=nulls,
                   value=value)


def test_order_three_over_three_hundred_channels() -> None:
    # the classic journeys plus one that goes nowhere through 297 other channels: its
    # last states' ids (base 301, three deep) pass 2^24, beyond the lookup table.
    # Order 3 remembers c1 > c2 > c3 converts: from c1, 1/2 at once and 1/2 through c2 >
    # c3, which always converts, so P = 2/4 * 1 = 1/2; without c2 (or c3) from c1 only
    # 1/2: P = 1/4 (effect 1/2); without c1 nothing (effect 1); the others change nothing
    others = [f"z{i:03}" for i in range(297)]
    js = [journey("c1 c2 c3"), journey("c1"), journey("c2 c3", 0, 1), journey(others, 0, 1)]
    r = removal_effects(PathArrays.of(js), 3)
    assert r.conversion_probability == pytest.approx(0.5, abs=1e-12)
    assert r.effects[:3] == pytest.approx((1.0, 0.5, 0.5), abs=1e-12)
    assert max(abs(e) for e in r.effects[3:]) < 1e-12


def test_the_counts_of_a_chain_of_more_than_five_thousand_states() -> None:
    # 5,800 channels in one journey that goes nowhere, and the classic journeys: 5,806
    # states with start, conversion and null, a table of 5,806^2 > 2^25 cells, so the
    # pairs are counted sparsely. States: 0 start, 1 conversion, 2 null, then the
    # channels in order of name: c1 3, c2 4, c3 5, z0000 6 ...
    others = [f"z{i:04}" for i in range(5800)]
    js = [journey("c1 c2 c3"), journey("c1"), journey("c2 c3", 0, 1), journey(others, 0, 1)]
    counts, tuples, masks = transition_counts(PathArrays.of(js))
    assert counts.shape == (5806, 5806)
    m = counts.tocsr()
    assert (m[0, 3], m[0, 4], m[0, 6]) == (2.0, 1.0, 1.0)  # start -> c1, c2, z0000
    assert (m[3, 4], m[3, 1]) == (1.0, 1.0)  # c1 -> c2, c1 -> conversion
    assert (m[4, 5], m[5, 1], m[5, 2]) == (2.0, 1.0, 1.0)  # c2 -> c3, c3 -> conv / null
    assert (m[6, 7], m[5805, 2]) == (1.0, 1.0)  # z0000 -> z0001, z5799 -> null
    assert m.sum() == 4 + 2 + 3 + 5801  # every step and every end, once
    assert tuples[:3] == [1, 2, 3] and list(masks[:3]) == [1, 2, 4]


def test_allocation_by_journey_shares_each_journey_by_its_effects() -> None:
    # a > b converts twice (value 10) with effects 0.2 and 0.6: a 1/4, b 3/4
    paths = PathArrays.of([journey("a b", 2, value=10.0)])
    conv, value = allocate(paths, [0.2, 0.6], "journey")
    assert list(conv) == pytest.approx([0.5, 1.5], abs=1e-12)
    assert list(value) == pytest.approx([2.5, 7.5], abs=1e-12)
    # channels of no effect share their journey equally; a negative effect counts as 0
    conv, _ = allocate(paths, [0.0, 0.0], "journey")
    assert list(conv) == pytest.approx([1.0, 1.0], abs=1e-12)
    conv, value = allocate(paths, [-0.5, 1.0], "total")
    assert (list(conv), list(value)) == ([0.0, 2.0], [0.0, 10.0])


def test_allocation_in_total_of_effects_that_add_up_to_one_or_to_nothing() -> None:
    paths = PathArrays.of([journey("a b", 2, value=10.0)])
    conv, value = allocate(paths, [0.5, 0.5], "total")
    assert (list(conv), list(value)) == ([1.0, 1.0], [5.0, 5.0])
    conv, value = allocate(paths, [0.0, 0.0], "total")  # nothing to share by
    assert (list(conv), list(value)) == ([0.0, 0.0], [0.0, 0.0])
    message = "allocation 'half': expected total or journey"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        allocate(paths, [0.5, 0.5], "half")


def test_no_conversion_and_certain_conversion() -> None:
    nothing = removal_effects(PathArrays.of([journey("a b", 0, 2)]))
    assert (nothing.conversion_probability, nothing.effects) == (0.0, (0.0, 0.0))
    # every journey converts: P = 1; without a nothing is left, without b the half of
    # the journeys that go on from a to b are lost
    sure = removal_effects(PathArrays.of([journey("a"), journey("a b")]))
    assert sure.conversion_probability == pytest.approx(1.0, abs=1e-12)
    assert sure.effects == pytest.approx((1.0, 0.5), abs=1e-12)
    # journeys that count for nothing (no conversion, no null): no chain
    weightless = removal_effects(PathArrays.of([journey("a", 0, 0)]))
    assert weightless.conversion_probability == 0.0
    empty = removal_effects(PathArrays.of([]))
    assert (empty.channels, empty.conversion_probability, empty.effects) == ((), 0.0, ())


def test_dropping_repeats_pads_with_minus_one_and_merges_the_states() -> None:
    assert PathArrays.of([journey("a"), journey("a b")]).codes.tolist() == [[0, -1], [0, 1]]
    dropped = PathArrays.of([journey("a a"), journey("a b")]).without_repeats()
    assert dropped.codes.tolist() == [[0, -1], [0, 1]]
    assert dropped.lengths.tolist() == [1, 2]
    shorter = PathArrays.of([journey("a"), journey("a b")]).without_repeats()
    assert (shorter.codes.tolist(), shorter.lengths.tolist()) == ([[0, -1], [0, 1]], [1, 2])
    js = [journey("a a b"), journey("a b b", 0, 1)]
    # order 2: kept (a), (a, a), (a, b), (b, b); dropped, both are a > b: (a), (a, b)
    assert removal_effects(PathArrays.of(js), 2).states == 4
    assert removal_effects(PathArrays.of(js), 2, self_transitions="drop").states == 2
    assert np.array_equal(PathArrays.of(js).channel_sets(), [3, 3])


def test_seventy_channels_fit_in_the_masks() -> None:
    # (a real bug found by the mutants: 63 channels or more overflowed the int64 bit
    # masks, e.g. `--by campaign` over 70 campaigns) one journey through 70 channels
    # converts: without any of them nothing converts, every effect is 1, each gets 1/70
    names = [f"k{i:02}" for i in range(70)]
    paths = PathArrays.of([journey(names, 1, value=70.0), journey("k00 k01", 0, 1)])
    r = removal_effects(paths)
    assert r.effects == pytest.approx((1.0,) * 70, abs=1e-12)
    for how in ("total", "journey"):
        conv, value = allocate(paths, r.effects, how)
        assert list(conv) == pytest.approx([1 / 70] * 70, abs=1e-12)
        assert list(value) == pytest.approx([1.0] * 70, abs=1e-12)


def test_the_defaults_are_order_one_and_allocation_in_total() -> None:
    # a > b converts, c > b does not: at order 1 b converts half the time whoever came
    # first (effects 1/2, 1, 1/2); shared in total, 1/4, 1/2, 1/4 of the conversion
    paths = PathArrays.of([journey("a b"), journey("c b", 0, 1)])
    r = removal_effects(paths)
    assert r.effects == pytest.approx((0.5, 1.0, 0.5), abs=1e-12)
    conv, _ = allocate(paths, r.effects)
    assert list(conv) == pytest.approx([0.25, 0.5, 0.25], abs=1e-12)
