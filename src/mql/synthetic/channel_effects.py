"""Known channel effects (the opt-in `channel_effects` world): each account is exposed to
some web channels, its sessions come only through those, and sales open an opportunity
when the account reaches evaluation with chance 1 - prod(1 - effect) over its exposed
channels (each exposed channel independently "works", a noisy-OR). An attribution model
recovers the truth when its shares come close to `true_shares`.

The true credit of an opportunity is split among its account's exposed channels by the
Shapley value of v(S) = 1 - prod_{c in S}(1 - effect_c), normalised to sum to 1; the
world's true share of a channel is the mean of those splits over its opportunities.
Email and events have no effect (true share 0): they follow the hidden buying stage.

>>> import random
>>> sorted(exposure(random.Random(1)))[0]
'direct'
>>> round(sum(split(("direct", "partner")).values()), 12)
1.0
>>> s = split(("direct", "partner"))  # 0.10 and 0.35: v = 1 - 0.9 x 0.65 = 0.415
>>> round(s["partner"], 6)  # (0.35 + (0.415 - 0.10)) / 2 / 0.415
0.801205
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mql.synthetic.draws import chance

# channel: (effect on the chance of an opportunity, share of accounts exposed)
CHANNEL_EFFECTS: dict[str, tuple[float, float]] = {
    "direct": (0.10, 1.0),
    "organic": (0.05, 0.8),
    "paid_search": (0.20, 0.5),
    "paid_social": (0.05, 0.4),
    "partner": (0.35, 0.25),
}


@dataclass(frozen=True, slots=True)
class ChannelEffect:
    """One row of truth/channel_effects: a channel's effect, its exposure rate, and its
    true share of the world's opportunities (`true_share`, 0-1)."""

    channel: str
    effect: float
    exposure: float
    opportunities: float
    true_share: float


def exposure(rng: random.Random) -> tuple[str, ...]:
    """The channels an account is exposed to (direct always)."""
    return tuple(c for c, (_, rate) in CHANNEL_EFFECTS.items() if chance(rng, rate))


def accept_chance(channels: Iterable[str]) -> float:
    """The chance sales open an opportunity: 1 - prod(1 - effect) over `channels`.

    >>> round(accept_chance(("direct", "partner")), 6)
    0.415
    """
    return 1.0 - math.prod(1.0 - CHANNEL_EFFECTS[c][0] for c in channels)


def split(channels: Sequence[str]) -> dict[str, float]:
    """Shapley shares (sum 1) of `channels` in the noisy-OR game, by enumeration."""
    n = len(channels)
    effects = [CHANNEL_EFFECTS[c][0] for c in channels]

    def v(members: Iterable[int]) -> float:
        return 1.0 - math.prod(1.0 - effects[i] for i in members)

    total = v(range(n))
    out: dict[str, float] = {}
    for i, c in enumerate(channels):
        others = [j for j in range(n) if j != i]
        phi = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for s in itertools.combinations(others, size):
                phi += weight * (v((*s, i)) - v(s))
        out[c] = phi / total if total else 0.0
    return out


def true_shares(exposures: Iterable[Sequence[str]]) -> list[ChannelEffect]:
    """The truth table over the exposure sets of the world's opportunities (one per
    opportunity)."""
    credit = dict.fromkeys(CHANNEL_EFFECTS, 0.0)
    count = 0
    for channels in exposures:
        count += 1
        for c, s in split(channels).items():
            credit[c] += s
    return [ChannelEffect(c, e, rate, round(credit[c], 6),
                          round(credit[c] / count, 6) if count else 0.0)
            for c, (e, rate) in CHANNEL_EFFECTS.items()]
