"""What people and accounts do each week, given the account's hidden stage: web sessions
(page views, ad clicks with UTM tags), content downloads, webinars, demo requests, trials
and product milestones, badge scans at trade shows, and account-level intent surges.

The result is a list of `Touch` values: events before ids and identities are settled.
Marketing emails come later (`mailings`), because they depend on who has become a
contact and on consent.

>>> STAGE_INTENSITY["evaluation"] > STAGE_INTENSITY["consideration"] > STAGE_INTENSITY["none"]
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mql.synthetic.catalog import (
    ASSETS,
    INTENT_TOPICS,
    MILESTONES_CUSTOMER,
    MILESTONES_TRIAL,
    PAGE_TITLES,
    PAGES,
    Catalog,
    Conference,
    Webinar,
    month_index,
)
from mql.synthetic.draws import chance, one_of, pick, poisson
from mql.synthetic.firmographics import Company
from mql.synthetic.journeys import Journey
from mql.synthetic.params import Drift
from mql.synthetic.people import Person

# how intensely a committee engages in each hidden stage (multiplies every weekly rate)
STAGE_INTENSITY = {"none": 0.06, "awareness": 0.4, "consideration": 1.0, "evaluation": 2.2,
                   "decision": 1.5, "customer": 0.5, "partner": 0.5, "competitor": 1.2}  # fmt: skip
SESSION_RATE = 0.8  # web sessions per person-week at intensity 1
CONTENT_RATE = 0.10  # gated content downloads per person-week at intensity 1
WEBINAR_REGISTER = 0.03  # chance to register for a coming webinar, at intensity 1
WEBINAR_ATTEND = 0.45
RESOLVED_SHARE = 0.6  # anonymous sessions whose company is known (reverse IP)
DEMO_RATE = {"none": 0.0004, "awareness": 0.002, "consideration": 0.01, "evaluation": 0.07,
             "decision": 0.03, "customer": 0.002, "partner": 0.001,
             "competitor": 0.003}  # fmt: skip
TRIAL_RATE = {"none": 0.0005, "awareness": 0.001, "consideration": 0.01, "evaluation": 0.04,
              "decision": 0.01, "customer": 0.0, "partner": 0.002,
              "competitor": 0.004}  # fmt: skip
SCAN_RATE = 0.06  # badge scans per person at a conference in the account's region
INTENT_COVERAGE = 0.7  # share of accounts (50+ employees) the intent-data provider sees
SURGE_RATE = {"none": 0.02, "awareness": 0.12, "consideration": 0.25, "evaluation": 0.4,
              "decision": 0.3, "customer": 0.05, "partner": 0.03, "competitor": 0.1}  # fmt: skip
SESSION_CHANNELS = {"organic": 0.45, "direct": 0.2, "paid_search": 0.15, "paid_social": 0.1,
                    "partner": 0.1}  # fmt: skip
PAGE_MIX: dict[str, dict[str, float]] = {
    "none": {"blog": 0.55, "home": 0.2, "product": 0.1, "careers": 0.1, "customers": 0.05},
    "awareness": {"blog": 0.5, "home": 0.15, "product": 0.2, "customers": 0.1, "comparison": 0.05},
    "consideration": {
        "blog": 0.25,
        "product": 0.3,
        "customers": 0.1,
        "comparison": 0.15,
        "pricing": 0.1,
        "docs": 0.1,
    },
    "evaluation": {
        "product": 0.2,
        "pricing": 0.25,
        "security": 0.15,
        "docs": 0.2,
        "comparison": 0.15,
        "customers": 0.05,
    },
    "decision": {"pricing": 0.3, "security": 0.3, "docs": 0.2, "product": 0.1, "customers": 0.1},
    "customer": {"docs": 0.6, "product": 0.2, "blog": 0.15, "pricing": 0.05},
    "partner": {"docs": 0.4, "product": 0.3, "blog": 0.3},
    "competitor": {
        "pricing": 0.3,
        "product": 0.3,
        "comparison": 0.2,
        "docs": 0.1,
        "customers": 0.1,
    },
    "student": {"blog": 0.6, "docs": 0.2, "careers": 0.2},
    "job_seeker": {"careers": 0.8, "home": 0.1, "blog": 0.1},
}
ASSET_MIX = {
    "none": {"ebook": 0.5, "whitepaper": 0.3, "report": 0.2},
    "awareness": {"ebook": 0.4, "whitepaper": 0.4, "report": 0.2},
    "consideration": {"comparison": 0.3, "case_study": 0.3, "whitepaper": 0.2, "report": 0.2},
    "evaluation": {"datasheet": 0.4, "comparison": 0.3, "case_study": 0.3},
}
# UTC business-hour windows by region (start hour, length in hours)
_HOURS = {"NA": (13, 10), "EMEA": (7, 10), "APAC": (0, 9), "LATAM": (12, 10)}
_CUSTOMER_MILESTONES = dict.fromkeys(MILESTONES_CUSTOMER, 1.0) | {"weekly_active": 6.0}
_KIND_FACTOR = {"committee": 1.0, "student": 0.6, "job_seeker": 1.0, "bystander": 0.3}


@dataclass(slots=True)
class Touch:
    """An event before its id and identity are settled.

    `person` indexes the account's people (-1: account level). `web`: it comes from the
    browser and carries the person's cookie; `ties`: it ties the cookie to the email (a
    form submit or a tracked email click); `captures`: the contact source if it makes
    the person a contact; `resolved`: the company is known while the person is anonymous.
    """

    at: datetime
    type: str
    person: int
    properties: dict[str, Any] = field(default_factory=dict)
    web: bool = False
    ties: bool = False
    captures: str | None = None
    resolved: bool = True


def work_time(rng: random.Random, week_start: datetime, region: str) -> datetime:
    """A moment in the given week, on a weekday (90%) during business hours (80%)."""
    day = int(rng.random() * 5) if rng.random() < 0.9 else 5 + int(rng.random() * 2)
    first_hour, hours = _HOURS[region]
    if rng.random() < 0.8:
        seconds = (first_hour + rng.random() * hours) * 3600.0
    else:
        seconds = rng.random() * 86400.0
    return week_start + timedelta(days=day, seconds=int(seconds))


def _page(rng: random.Random, category: str, props: dict[str, Any]) -> dict[str, Any]:
    props["url"] = one_of(rng, PAGES[category])
    props["page_title"] = PAGE_TITLES[category]
    return props


def _session(
    rng: random.Random,
    out: list[Touch],
    n: int,
    at: datetime,
    mix: dict[str, float],
    catalog: Catalog,
    month: int,
    channels: dict[str, float] = SESSION_CHANNELS,
) -> None:
    channel = pick(rng, channels)
    resolved = chance(rng, RESOLVED_SHARE)
    tags: dict[str, Any] = {"channel": channel}
    if channel in ("paid_search", "paid_social", "partner"):
        campaign = catalog.campaign(rng, month, channel)
        tags.update(
            campaign=campaign.name,
            utm_source=campaign.utm_source,
            utm_medium=campaign.utm_medium,
            utm_campaign=campaign.name,
        )
        if channel == "partner":
            tags["referrer"] = "https://www.g2.com/"
        else:
            first = _page(rng, pick(rng, mix), {**tags})
            out.append(Touch(at, "ad_click", n, first, web=True, resolved=resolved))
            at += timedelta(seconds=2)
            out.append(Touch(at, "page_view", n, dict(first), web=True, resolved=resolved))
    elif channel == "organic":
        tags["referrer"] = one_of(rng, ("https://www.google.com/", "https://www.bing.com/",
                                        "https://duckduckgo.com/"))  # fmt: skip
    pages = 1
    while pages < 8 and rng.random() < 0.55:
        pages += 1
    for _ in range(pages):
        out.append(
            Touch(
                at,
                "page_view",
                n,
                _page(rng, pick(rng, mix), {**tags}),
                web=True,
                resolved=resolved,
            )
        )
        at += timedelta(seconds=20 + int(rng.random() * 220))


def _form(at: datetime, n: int, form: str, tags: dict[str, Any]) -> Touch:
    return Touch(at, "form_submit", n, {"form": form, **tags}, web=True, ties=True, captures="web")


def activity(
    rng: random.Random,
    company: Company,
    people: list[Person],
    journey: Journey,
    catalog: Catalog,
    start: datetime,
    end: datetime,
    weekly: list[tuple[list[Webinar], list[Conference]]] | None = None,
    drift: tuple[Drift, ...] = (),
    exposed: tuple[str, ...] | None = None,
) -> list[Touch]:
    """Every non-email touch of one account over the world's weeks, in no particular order.

    `weekly` is `catalog.weekly(start, weeks)`, computed once per world by the caller.
    A `drift` changes a driver's rate from its date on (`Drift`). `exposed`, when given,
    are the only web channels its sessions come through (the channel-effects world).
    """
    channels = (SESSION_CHANNELS if exposed is None
                else {c: w for c, w in SESSION_CHANNELS.items() if c in exposed})
    if weekly is None:
        weekly = catalog.weekly(start, len(journey.stages))
    out: list[Touch] = []
    region = company.region
    covered = company.employees >= 50 and chance(rng, INTENT_COVERAGE)
    demo_done = [False] * len(people)
    trial_done = [False] * len(people)
    for week, stage in enumerate(journey.stages):
        week_start = start + timedelta(weeks=week)
        intensity = max(STAGE_INTENSITY[stage], journey.fade[week] * STAGE_INTENSITY["evaluation"])
        mix_stage = stage if journey.fade[week] < 0.3 else "evaluation"
        if covered and chance(rng, SURGE_RATE[stage] + 0.3 * journey.fade[week]):
            in_market = stage in ("consideration", "evaluation", "decision")
            topics = (
                INTENT_TOPICS[company.product]
                if in_market
                else one_of(rng, list(INTENT_TOPICS.values()))
            )
            strength = rng.gauss(75, 12) if in_market else rng.gauss(45, 12)
            out.append(
                Touch(
                    week_start + timedelta(days=int(rng.random() * 7)),
                    "intent_surge",
                    -1,
                    {"topic": one_of(rng, topics), "strength": max(5, min(100, round(strength)))},
                )
            )
        webinars, conferences = weekly[week]
        # a drifted driver: the stage no longer sets its rate (the draws stay the same)
        flat = STAGE_INTENSITY["evaluation"]
        drifted = {d.driver for d in drift if d.since <= week_start}
        for n, person in enumerate(people):
            rate = intensity * person.engagement * _KIND_FACTOR[person.kind]
            flat_rate = flat * person.engagement * _KIND_FACTOR[person.kind]
            content_rate = flat_rate if "content_download" in drifted else rate
            webinar_rate = flat_rate if "webinar_attended" in drifted else rate
            if person.kind == "job_seeker":
                # job seekers look at careers pages in one burst of a few weeks, whatever the stage
                rate = 0.6 * person.engagement if (week + n * 7) % 26 < 3 else 0.0
            mix = PAGE_MIX.get(person.kind, PAGE_MIX[mix_stage])
            for _ in range(poisson(rng, SESSION_RATE * rate)):
                at = work_time(rng, week_start, region)
                _session(rng, out, n, at, mix, catalog, month_index(start, at), channels)
            if person.kind not in ("committee", "student"):
                continue
            for _ in range(poisson(rng, CONTENT_RATE * content_rate)):
                kind = pick(rng, ASSET_MIX.get(mix_stage, ASSET_MIX["none"]))
                asset = one_of(rng, ASSETS[kind])
                at = work_time(rng, week_start, region)
                out.append(_form(at, n, f"download-{kind}", {"asset": asset}))
                out.append(
                    Touch(
                        at + timedelta(seconds=3),
                        "content_download",
                        n,
                        {"asset": asset, "asset_type": kind},
                        web=True,
                    )
                )
            for webinar in webinars:
                boost = 2.0 if webinar.product == company.product else 1.0
                if chance(rng, min(0.6, WEBINAR_REGISTER * webinar_rate * boost)):
                    at = work_time(rng, week_start, region)
                    out.append(_form(at, n, "webinar-registration", {"webinar": webinar.name}))
                    out.append(
                        Touch(
                            at + timedelta(seconds=2),
                            "webinar_registered",
                            n,
                            {"webinar": webinar.name},
                        )
                    )
                    if chance(rng, WEBINAR_ATTEND):
                        joined = webinar.at + timedelta(seconds=int(rng.random() * 600))
                        out.append(Touch(joined, "webinar_attended", n, {"webinar": webinar.name}))
            demo_p = DEMO_RATE[stage] * person.engagement * (0.1 if demo_done[n] else 1.0)
            if person.kind == "committee" and chance(rng, min(0.5, demo_p)):
                demo_done[n] = True
                at = work_time(rng, week_start, region)
                out.append(_form(at, n, "demo-request", {"product": company.product}))
                out.append(
                    Touch(
                        at + timedelta(seconds=1),
                        "demo_request",
                        n,
                        {"product": company.product},
                        web=True,
                    )
                )
            trial_p = TRIAL_RATE[stage] * (0.3 if person.kind == "student" else person.engagement)
            if not trial_done[n] and company.product != "governance" and chance(rng, trial_p):
                trial_done[n] = True
                at = work_time(rng, week_start, region)
                out.append(_form(at, n, "trial-signup", {"product": company.product}))
                out.append(
                    Touch(
                        at + timedelta(seconds=1),
                        "trial_signup",
                        n,
                        {"product": company.product},
                        web=True,
                    )
                )
                strong = 1.5 if stage in ("evaluation", "decision") else 0.6
                for k, milestone in enumerate(MILESTONES_TRIAL):
                    if not chance(rng, min(0.95, strong * 0.7 ** (k + 1))):
                        break
                    at += timedelta(hours=2 + rng.random() * 24 * 4)
                    out.append(
                        Touch(
                            at,
                            "product_milestone",
                            n,
                            {"milestone": milestone, "product": company.product},
                        )
                    )
            if stage == "customer" and chance(rng, 0.3 * person.engagement):
                milestone = pick(rng, _CUSTOMER_MILESTONES)
                at = work_time(rng, week_start, region)
                props = {"milestone": milestone, "product": company.product}
                # product telemetry knows the user's email: a first sign-in makes a contact
                out.append(Touch(at, "product_milestone", n, props, captures="product"))
            for conference in conferences:
                nearby = 1.0 if conference.region == region else 0.3
                if chance(rng, SCAN_RATE * nearby * (0.5 + intensity) * person.engagement):
                    out.append(
                        Touch(
                            conference.at + timedelta(minutes=int(rng.random() * 480)),
                            "event_scan",
                            n,
                            {"campaign": conference.name, "channel": "events"},
                            captures="event",
                        )
                    )
    return [t for t in out if t.at < end]
