"""How well each model recovers the known channel effects of the synthetic world: the
data-driven models come closer to the true shares than single-touch rules, at both levels."""

from __future__ import annotations

import math

import pytest

from mql.service.attribution_recovery import Recovery, recover
from mql.synthetic.channel_effects import ChannelEffect

Recovered = tuple[list[ChannelEffect], list[Recovery]]


@pytest.fixture(scope="module")
def recovered() -> Recovered:
    return recover(accounts=1500, months=12, seed=0)


def test_true_shares_sum_to_one(recovered: Recovered) -> None:
    truth, rows = recovered
    assert math.fsum(r.true_share for r in truth) == pytest.approx(1.0, abs=1e-5)
    for r in rows:
        assert math.fsum(r.shares.values()) == pytest.approx(1.0)
        assert 0.0 <= r.distance <= 1.0 and 0.0 <= r.web_distance <= 1.0


@pytest.mark.parametrize("level", ["contact", "account"])
def test_data_driven_models_recover_the_web_channels_better_than_single_touch(
        recovered: Recovered, level: str) -> None:
    _, rows = recovered
    d = {r.model: r.web_distance for r in rows if r.level == level}
    assert len(d) == 12
    for model in ("shapley", "markov"):
        for rule in ("first", "last", "last_non_direct"):
            assert d[model] < d[rule], (model, rule, d)
