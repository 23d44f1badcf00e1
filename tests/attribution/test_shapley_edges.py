"""Shapley at its edges, worked out by hand from docs/attribution.md ("Shapley: what does
each channel add to the team?"): no channel, one, the exact limit and the documented
defaults, sampled estimates with their 95% intervals, journeys of one coalition."""

from __future__ import annotations

import math
import random
import re

import pytest

from mql.attribution.journeys import Journey, Touch
from mql.attribution.shapley import shapley


def journey(channels: str, conversions: float = 1, nulls: float = 0,
            value: float = 0) -> Journey:
    return Journey("j", tuple(Touch(c) for c in channels.split()), conversions=conversions,
                   nulls=nulls, value=value)


def test_no_channel_gives_an_empty_exact_result() -> None:
    r = shapley([Journey("none", (), nulls=1)])
    assert (r.channels, r.conversions, r.value, r.exact) == ((), (), (), True)
    assert (r.conversions_ci, r.value_ci, r.samples) == ((), (), 0)


def test_one_channel_takes_everything_and_untouched_journeys_are_skipped() -> None:
    r = shapley([Journey("none", ()), journey("a", 2, 1, 30.0)])
    assert (r.channels, r.conversions, r.value) == (("a",), (2.0,), (30.0,))


def test_an_unknown_value_is_refused() -> None:
    message = "shapley value 'share': expected conversions or rate"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        shapley([journey("a")], value="share")


def test_exact_up_to_its_limit_and_the_documented_defaults() -> None:
    three = [journey("a b c")]
    r = shapley(three, exact_up_to=3)  # 3 channels, limit 3: still exact
    assert r.exact and r.samples == 0
    # 16 channels are over the default 15: 2,000 random orders from seed 7
    sixteen = [journey(" ".join(f"c{i:02}" for i in range(16)), 16)]
    sampled = shapley(sixteen)
    assert not sampled.exact and sampled.samples == 2000
    assert sampled.conversions == shapley(sixteen, samples=2000, seed=7).conversions
    assert sum(sampled.conversions) == pytest.approx(16.0, abs=1e-9)


def test_a_sampled_estimate_and_its_interval_of_a_two_channel_journey() -> None:
    # a > b converts twice (value 100): a's contribution is 2 (100) when it joins second,
    # 0 when first. Over n random orders with a second in a share p of them, a's estimate
    # is 2p (100p), and the 95% interval half-width is 1.96 * 2 * sd / sqrt(n), with the
    # sample sd of a 0/1 draw sqrt(p (1 - p) n / (n - 1)) (100 instead of 2 for the value)
    n = 500
    r = shapley([journey("a b", 2, value=100.0)], exact_up_to=1, samples=n, seed=3)
    assert not r.exact and r.samples == n
    p = r.conversions[0] / 2
    assert 0.4 < p < 0.6
    sd = math.sqrt(p * (1 - p) * n / (n - 1))
    assert r.conversions[1] == pytest.approx(2 * (1 - p), abs=1e-12)
    assert r.value == pytest.approx((100 * p, 100 * (1 - p)), abs=1e-9)
    assert r.conversions_ci == pytest.approx((1.96 * 2 * sd / math.sqrt(n),) * 2, abs=1e-12)
    assert r.value_ci == pytest.approx((1.96 * 100 * sd / math.sqrt(n),) * 2, abs=1e-9)
    # the same seed, the same numbers
    again = shapley([journey("a b", 2, value=100.0)], exact_up_to=1, samples=n, seed=3)
    assert again.conversions == r.conversions


def test_a_sampled_rate_gives_a_channel_of_journeys_that_go_nowhere_negative_credit() -> None:
    # a converts (1 of 1), b goes nowhere: v(a) = 1, v(b) = 0, v(ab) = 1/2; b adds -1/2
    # when it joins after a and 0 before: its credit is negative, a's above the 1 conversion
    r = shapley([journey("a", 1), journey("b", 0, 1)], value="rate", exact_up_to=1,
                samples=400, seed=5)
    a, b = r.conversions
    assert b < 0 < 1 < a
    assert a + b == pytest.approx(1.0, abs=1e-12)


def test_a_sampled_estimate_does_not_depend_on_the_order_of_the_journeys() -> None:
    rng = random.Random(4)
    js = [Journey(f"j{i}", tuple(Touch(c) for c in rng.sample("abcdef", rng.randint(1, 3))),
                  conversions=rng.randint(0, 2), nulls=1) for i in range(30)]
    shuffled = list(reversed(js))
    one = shapley(js, value="rate", exact_up_to=2, samples=300, seed=9)
    two = shapley(shuffled, value="rate", exact_up_to=2, samples=300, seed=9)
    assert one.channels == two.channels
    assert one.conversions == pytest.approx(two.conversions, abs=1e-12)


def test_journeys_of_one_coalition_add_their_counts() -> None:
    # a > b (1 conversion, 1 null, 10) and b > a (0, 2) are the coalition {a, b}: 1 of 4;
    # with a alone (1 of 1): v(a) = 1, v(b) = 0, v(ab) = 2/5; phi = (7/10, -3/10),
    # scaled to the 2 conversions: (3.5, -1.5)
    js = [journey("a b", 1, 1, 10.0), journey("b a", 0, 2), journey("a", 1, 0, 20.0)]
    assert shapley(js, value="rate").conversions == pytest.approx((3.5, -1.5), abs=1e-12)
    # conversions game: a > b's 10 split evenly, a's 20 to a
    assert shapley(js).value == pytest.approx((25.0, 5.0), abs=1e-12)
