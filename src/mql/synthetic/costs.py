"""What marketing spent, per channel and month: a fixed program budget that grows with
the size of the world plus a variable part per paid touch (clicks, badge scans).

>>> import random
>>> rows = costs(random.Random(0), months=["2025-01"], accounts=1000, touches={})
>>> sorted({r.channel for r in rows}) == sorted(MONTHLY_BUDGET)
True
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# monthly budget in USD per 1,000 accounts in the world
MONTHLY_BUDGET = {"paid_search": 4000.0, "paid_social": 3000.0, "events": 2500.0,
                  "email": 800.0, "partner": 1500.0, "organic": 2500.0}  # fmt: skip
# cost per touch in USD: paid clicks, booth scans, partner referrals
PER_TOUCH = {"paid_search": 8.0, "paid_social": 6.0, "events": 120.0, "partner": 25.0}


@dataclass(frozen=True, slots=True)
class CampaignCost:
    """Spend of one channel in one month (``YYYY-MM``), in USD, with the paid touches it
    bought (`touches`: ad clicks, badge scans or partner referrals)."""

    month: str
    channel: str
    spend: float
    touches: int
    currency: str = "USD"


def costs(
    rng: random.Random,
    *,
    months: Sequence[str],
    accounts: int,
    touches: Mapping[tuple[str, str], int],
) -> list[CampaignCost]:
    """Spend per channel and month; `touches` counts paid touches by (month, channel)."""
    out = []
    scale = accounts / 1000.0
    for month in months:
        for channel, budget in MONTHLY_BUDGET.items():
            count = touches.get((month, channel), 0)
            spend = budget * scale * rng.uniform(0.85, 1.15) + PER_TOUCH.get(channel, 0.0) * count
            out.append(CampaignCost(month, channel, round(spend, 2), count))
    return out
