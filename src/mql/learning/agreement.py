"""How well learned points recover the drivers a synthetic world knows it has.

For attributes: the Spearman rank correlation between the true strength of each driver
(`mql.synthetic.truth.true_drivers`) and how strongly the learned model separates on it
(the information value of its learned rule, or of the strongest rule on one of its
proxies, such as the country for the region; 0 when it learned none). For touches: the
share of the world's buying touches that earned positive points, and of its non-buying
touches that earned negative or no points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import spearmanr

from mql.learning.scorecard import Scorecard
from mql.synthetic.truth import Driver


@dataclass(frozen=True, slots=True)
class Agreement:
    attributes: float  # Spearman rank correlation, -1 to 1
    touches: float  # share of touch drivers whose learned sign is right, 0 to 1
    learned: tuple[tuple[str, float, float], ...]  # (driver, true strength, learned)


def agreement(card: Scorecard, drivers: Sequence[Driver]) -> Agreement:
    """The rank agreement of `card` with `drivers` (see the module)."""
    learned = {r.field: r.binning.information_value for r in card.attributes}
    points = {t.kind: t.per_touch for t in card.touches}
    pairs = [(d.name, d.strength, max(learned.get(n, 0.0) for n in (
        d.name, *filter(None, d.proxies.split(";"))))) for d in drivers if d.kind == "attribute"]
    rho = float(spearmanr([p[1] for p in pairs], [p[2] for p in pairs]).statistic) \
        if len(pairs) > 2 else 0.0
    touches = [d for d in drivers if d.kind == "touch"]
    right = sum((points.get(d.name, 0.0) > 0) if d.strength > 0 else
                (points.get(d.name, 0.0) <= 0) for d in touches)
    touch_pairs = [(d.name, d.strength, points.get(d.name, 0.0)) for d in touches]
    return Agreement(rho, right / len(touches) if touches else 0.0,
                     tuple(pairs + touch_pairs))
