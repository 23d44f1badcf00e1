"""What the vendor runs during the world: its web pages, content assets, campaigns with
UTM tags, webinars and trade-show events. Built once per world from its random stream.

>>> import random
>>> from mql.synthetic.params import WorldParameters
>>> cat = catalog(random.Random(1), WorldParameters(accounts=5, months=2))
>>> len(cat.webinars) == 2 * WEBINARS_PER_MONTH
True
>>> PAGES["pricing"][0]
'https://www.vendor.example/pricing'
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from mql.synthetic.draws import one_of
from mql.synthetic.params import WorldParameters, add_months

SITE = "https://www.vendor.example"
PAGES: dict[str, tuple[str, ...]] = {
    "home": (f"{SITE}/",),
    "blog": tuple(f"{SITE}/blog/{s}" for s in (
        "what-is-lead-scoring", "abm-playbook-2025", "data-governance-checklist",
        "revops-metrics-that-matter", "zero-trust-basics", "cloud-cost-control",
        "attribution-models-explained", "dashboards-people-use", "soc2-in-plain-english",
        "hiring-your-first-data-engineer", "intent-data-101", "migration-war-stories")),
    "product": tuple(f"{SITE}/product/{s}" for s in (
        "platform", "platform/features", "analytics", "analytics/dashboards", "governance",
        "governance/policies", "integrations", "integrations/salesforce",
        "integrations/snowflake")),
    "pricing": (f"{SITE}/pricing", f"{SITE}/pricing/enterprise", f"{SITE}/pricing/faq"),
    "security": (f"{SITE}/security", f"{SITE}/trust", f"{SITE}/security/soc2",
                 f"{SITE}/security/gdpr"),
    "docs": tuple(f"{SITE}/docs/{s}" for s in (
        "quickstart", "api", "sso", "data-sources", "permissions", "deployment", "sdk/python")),
    "careers": (f"{SITE}/careers", f"{SITE}/careers/software-engineer",
                f"{SITE}/careers/account-executive", f"{SITE}/careers/intern"),
    "comparison": tuple(f"{SITE}/compare/{s}" for s in (
        "vendor-vs-legacysuite", "vendor-vs-spreadsheetco", "vendor-vs-bigcloud-analytics")),
    "customers": tuple(f"{SITE}/customers/{s}" for s in (
        "northwind", "contoso", "fabrikam", "globex")),
}  # fmt: skip
PAGE_TITLES = {"home": "Vendor | Home", "blog": "Blog", "product": "Product", "pricing": "Pricing",
               "security": "Security & Trust", "docs": "Docs", "careers": "Careers",
               "comparison": "Compare", "customers": "Customer stories"}  # fmt: skip
ASSETS: dict[str, tuple[str, ...]] = {
    "whitepaper": ("state-of-revops-2025", "data-governance-framework", "zero-trust-architecture"),
    "ebook": ("abm-for-beginners", "the-analytics-handbook", "cloud-migration-guide"),
    "comparison": ("buyers-guide-platforms", "vendor-vs-legacysuite-matrix"),
    "case_study": ("northwind-case-study", "contoso-case-study", "globex-case-study"),
    "datasheet": ("platform-datasheet", "analytics-datasheet", "governance-datasheet"),
    "report": ("analyst-wave-2025", "benchmark-report-2025"),
}
INTENT_TOPICS = {
    "platform": ("cloud platform", "data integration", "developer platform"),
    "analytics": ("marketing analytics", "revenue operations", "business intelligence"),
    "governance": ("data governance", "compliance automation", "access management"),
}
MILESTONES_TRIAL = ("workspace_created", "invited_teammate", "connected_data_source",
                    "first_dashboard", "api_key_created")  # fmt: skip
MILESTONES_CUSTOMER = ("weekly_active", "new_workspace", "seat_limit_reached", "sso_enabled")
CHANNELS = ("paid_search", "paid_social", "organic", "email", "events", "partner", "direct")
WEBINARS_PER_MONTH = 2
_PAID = {
    "paid_search": (("google", "cpc"), ("bing", "cpc")),
    "paid_social": (("linkedin", "paid_social"), ("facebook", "paid_social")),
    "partner": (("partner-newsletter", "referral"), ("g2", "referral")),
    "events": (("tradeshow", "event"),),
    "email": (("newsletter", "email"), ("nurture", "email")),
}
_THEMES = ("brand", "pricing", "governance", "analytics", "platform", "competitor", "retarget")
_CONFERENCES = ("SaaStr Annual", "Dreamforce", "RSA Conference", "Web Summit", "Gartner Summit",
                "AWS re:Invent", "Big Data London", "Money20/20")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign of one channel in one month, with the UTM tags its links carry."""

    name: str
    channel: str
    month: int
    utm_source: str
    utm_medium: str


@dataclass(frozen=True, slots=True)
class Webinar:
    """A webinar: its name, when it airs and the product line it is about."""

    name: str
    at: datetime
    product: str


@dataclass(frozen=True, slots=True)
class Conference:
    """A trade show where the vendor has a booth; `region` is where it takes place."""

    name: str
    at: datetime
    region: str


@dataclass(frozen=True)
class Catalog:
    """Everything the vendor runs, by month: campaigns per channel, webinars, conferences."""

    campaigns: tuple[tuple[Campaign, ...], ...]  # [month] -> campaigns of that month
    webinars: tuple[Webinar, ...]
    conferences: tuple[Conference, ...]

    def campaign(self, rng: random.Random, month: int, channel: str) -> Campaign:
        """One campaign of `channel` running in `month` (months past the end use the last)."""
        return one_of(rng, self._by_channel[min(month, len(self.campaigns) - 1)][channel])

    @cached_property
    def _by_channel(self) -> list[dict[str, list[Campaign]]]:
        index: list[dict[str, list[Campaign]]] = []
        for campaigns in self.campaigns:
            month: dict[str, list[Campaign]] = {}
            for c in campaigns:
                month.setdefault(c.channel, []).append(c)
            index.append(month)
        return index

    def weekly(self, start: datetime, weeks: int) -> list[tuple[list[Webinar], list[Conference]]]:
        """For each week from `start`: the webinars airing one to two weeks later (time to
        register) and the conferences taking place that week."""
        out = []
        for week in range(weeks):
            week_start = start + timedelta(weeks=week)
            out.append(
                (
                    [
                        w
                        for w in self.webinars
                        if timedelta(days=7) <= w.at - week_start < timedelta(days=14)
                    ],
                    [
                        c
                        for c in self.conferences
                        if timedelta(0) <= c.at - week_start < timedelta(days=7)
                    ],
                )
            )
        return out


def calendar_months(params: WorldParameters) -> list[str]:
    """Every calendar month (``YYYY-MM``) the world touches, partial months included.

    >>> from datetime import UTC
    >>> late = datetime(2025, 1, 29, tzinfo=UTC)
    >>> calendar_months(WorldParameters(accounts=1, months=2, start=late))
    ['2025-01', '2025-02', '2025-03']
    """
    first = params.start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = params.end - timedelta(microseconds=1)
    return [add_months(first, m).strftime("%Y-%m") for m in range(month_index(first, last) + 1)]


def month_index(start: datetime, at: datetime) -> int:
    """Whole calendar months from the month of `start` to the month of `at`.

    >>> from datetime import UTC
    >>> month_index(datetime(2025, 1, 20, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))
    2
    """
    return (at.year - start.year) * 12 + at.month - start.month


def _business_time(rng: random.Random, day: datetime, hour: int) -> datetime:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=hour, minute=int(rng.random() * 4) * 15)


def catalog(rng: random.Random, params: WorldParameters) -> Catalog:
    """The vendor's campaigns, webinars and conferences over the world's months."""
    months = []
    webinars = []
    conferences = []
    for m, stamp in enumerate(calendar_months(params)):
        first = datetime.strptime(stamp, "%Y-%m").replace(tzinfo=params.start.tzinfo)
        campaigns = []
        for channel, sources in _PAID.items():
            for source, medium in sources:
                for theme in rng.sample(_THEMES, 2):
                    name = f"{stamp}-{channel.replace('_', '-')}-{theme}"
                    campaigns.append(Campaign(f"{name}-{source}", channel, m, source, medium))
        months.append(tuple(campaigns))
        for w in range(WEBINARS_PER_MONTH):
            product = one_of(rng, ("platform", "analytics", "governance"))
            day = first + timedelta(days=7 + 12 * w + int(rng.random() * 5))
            webinars.append(
                Webinar(f"{stamp}-webinar-{product}-{w + 1}", _business_time(rng, day, 16), product)
            )
        if m % 3 == 1:
            day = first + timedelta(days=int(rng.random() * 20))
            region = one_of(rng, ("NA", "NA", "EMEA", "APAC"))
            conferences.append(
                Conference(
                    f"{one_of(rng, _CONFERENCES)} {first.year}",
                    _business_time(rng, day, 15),
                    region,
                )
            )
    return Catalog(tuple(months), tuple(webinars), tuple(conferences))
