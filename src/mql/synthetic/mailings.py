"""Marketing email: a weekly send to every contact who may receive it, with opens, clicks
(which land on the site with UTM tags) and unsubscribes (which withdraw consent).

>>> OPEN_BASE < 1 and CLICK_BASE < 1
True
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from mql.synthetic.activity import STAGE_INTENSITY, Touch
from mql.synthetic.catalog import PAGE_TITLES, PAGES, Catalog, month_index
from mql.synthetic.consent import ConsentRecord, withdraw
from mql.synthetic.draws import chance, one_of
from mql.synthetic.journeys import Journey

SEND_SHARE = 0.85  # share of weeks with a send to a given contact
OPEN_BASE = 0.18  # open rate at intensity 1 and engagement 1 (capped at 0.7)
CLICK_BASE = 0.08  # click rate of an opened email at intensity 1 (capped at 0.5)
UNSUBSCRIBE_BASE = 0.002  # per send; 0.004 more when the account is not in market
_SEND_HOUR = {"NA": 14, "EMEA": 8, "APAC": 1, "LATAM": 13}
_LANDING = ("blog", "blog", "product", "customers", "pricing")


def send_times(start: datetime, weeks: int, region: str) -> list[datetime]:
    """When the weekly email goes out to a region: Tuesdays at the region's morning (UTC).

    >>> from datetime import UTC
    >>> send_times(datetime(2025, 1, 1, tzinfo=UTC), 1, "NA")[0].isoformat()
    '2025-01-07T14:00:00+00:00'
    """
    out = []
    for week in range(weeks):
        week_start = start + timedelta(weeks=week)
        send_at = week_start + timedelta(days=(1 - week_start.weekday()) % 7)
        out.append(send_at.replace(hour=_SEND_HOUR[region], minute=0, second=0, microsecond=0))
    return out


def mailings(
    rng: random.Random,
    *,
    n: int,
    engagement: float,
    allowed: list[tuple[datetime, datetime]],
    consent: ConsentRecord,
    journey: Journey,
    catalog: Catalog,
    start: datetime,
    end: datetime,
    sends: list[datetime],
) -> tuple[list[Touch], ConsentRecord | None]:
    """Email touches of person `n` while consent `allowed` them (list of [from, to) windows),
    and the withdrawal record if they unsubscribed; `sends` is `send_times(...)`."""
    out: list[Touch] = []
    weeks = len(journey.stages)
    if not allowed:
        return out, None
    for week in range(weeks):
        send_at = sends[week]
        if send_at >= end or not any(a <= send_at < b for a, b in allowed):
            continue
        if not chance(rng, SEND_SHARE):
            continue
        stage = journey.stages[min(week, weeks - 1)]
        intensity = max(STAGE_INTENSITY[stage], journey.fade[week] * STAGE_INTENSITY["evaluation"])
        campaign = catalog.campaign(rng, month_index(start, send_at), "email")
        tags = {
            "campaign": campaign.name,
            "channel": "email",
            "utm_source": campaign.utm_source,
            "utm_medium": campaign.utm_medium,
            "utm_campaign": campaign.name,
        }
        out.append(Touch(send_at, "email_send", n, dict(tags)))
        p_open = min(0.7, OPEN_BASE * (0.5 + 0.5 * intensity) * (0.5 + 0.5 * engagement))
        if not chance(rng, p_open):
            continue
        opened = send_at + timedelta(seconds=int(rng.expovariate(1 / 21600.0)))
        out.append(Touch(opened, "email_open", n, dict(tags)))
        unsubscribe = UNSUBSCRIBE_BASE + (0.004 if intensity < 0.1 else 0.0)
        if chance(rng, unsubscribe):
            at = opened + timedelta(seconds=30)
            out.append(Touch(at, "email_unsubscribe", n, dict(tags)))
            return [t for t in out if t.at < end], withdraw(consent, at) if at < end else None
        if chance(rng, min(0.5, CLICK_BASE * (0.5 + intensity))):
            clicked = opened + timedelta(seconds=10 + int(rng.random() * 590))
            category = one_of(rng, _LANDING)
            url = one_of(rng, PAGES[category])
            out.append(Touch(clicked, "email_click", n, {**tags, "url": url}, ties=True))
            out.append(
                Touch(
                    clicked + timedelta(seconds=3),
                    "page_view",
                    n,
                    {**tags, "url": url, "page_title": PAGE_TITLES[category]},
                    web=True,
                )
            )
    return [t for t in out if t.at < end], None
