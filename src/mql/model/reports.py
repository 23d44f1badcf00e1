"""The model's `reports` section as frozen values: the health band the funnel is judged
against, the cohort maturity window, the pipeline window, and the table that maps a touch's
UTM tags to a marketing channel. Every value has a default (a team sets its own in the
model file, docs/analytics.md).

>>> settings = ReportSettings()
>>> settings.health.mql_to_sql
Band(low=0.13, high=0.27)
>>> settings.channels[0].channel, settings.channels[0].utm_medium
('paid_search', ('cpc', 'ppc', 'paid_search'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mql.model.document import ReportsDoc


@dataclass(frozen=True, slots=True)
class Band:
    """A healthy range of a conversion rate, as shares (0.13 is 13%)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high <= 1:
            raise ValueError(f"band {self.low}..{self.high}: expected 0 <= low <= high <= 1")


@dataclass(frozen=True, slots=True)
class HealthBands:
    """MQL->SQL for B2B SaaS sits in `mql_to_sql`; under `too_loose` the model generates
    noise, over `too_strict` the threshold leaves pipeline in the queue. High-intent
    triggers (trial, demo: `high_intent_events`) convert in `high_intent`, content
    downloads (`content_events`) in `content`."""

    mql_to_sql: Band = Band(0.13, 0.27)
    too_loose: float = 0.10
    too_strict: float = 0.35
    high_intent: Band = Band(0.40, 0.60)
    content: Band = Band(0.05, 0.15)
    high_intent_events: tuple[str, ...] = ("demo_request", "trial_signup", "trial_started",
                                           "contact_sales", "pricing_request")
    content_events: tuple[str, ...] = ("content_download", "webinar_attended",
                                       "webinar_registered", "whitepaper_download")

    def __post_init__(self) -> None:
        if not self.too_loose <= self.mql_to_sql.low <= self.mql_to_sql.high <= self.too_strict:
            raise ValueError("health: expected too_loose <= mql_to_sql low <= high "
                             f"<= too_strict, got {self.too_loose}, {self.mql_to_sql.low}, "
                             f"{self.mql_to_sql.high}, {self.too_strict}")


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """A touch belongs to `channel` when its `channel` property is one of `names`, or its
    utm_medium is one of `utm_medium`, or its utm_source one of `utm_source` (compared in
    lower case). The first rule that matches wins; no match is `other_channel`."""

    channel: str
    utm_medium: tuple[str, ...] = ()
    utm_source: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


DEFAULT_CHANNELS = (
    ChannelRule("paid_search", ("cpc", "ppc", "paid_search"), ("google", "bing", "adwords"),
                ("paid_search",)),
    ChannelRule("paid_social", ("paid_social", "social_paid", "paidsocial"),
                ("linkedin", "facebook", "twitter"), ("paid_social",)),
    ChannelRule("email", ("email", "newsletter"), ("newsletter", "nurture", "hubspot",
                                                   "marketo"), ("email",)),
    ChannelRule("events", ("event", "events", "tradeshow"), ("tradeshow",), ("events",)),
    ChannelRule("partner", ("referral", "partner"), ("g2", "partner-newsletter", "capterra"),
                ("partner",)),
    ChannelRule("organic", ("organic", "seo"), (), ("organic",)),
    ChannelRule("direct", (), (), ("direct",)),
)


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """`maturity_days`: a cohort of MQLs is judged once this many days have passed since
    its period ended (before that it is "maturing"); `pipeline_within_days`: an
    opportunity counts as pipeline of an MQL when it opens within this many days after it.
    """

    maturity_days: int = 90
    pipeline_within_days: int = 90
    health: HealthBands = field(default_factory=HealthBands)
    channels: tuple[ChannelRule, ...] = DEFAULT_CHANNELS
    other_channel: str = "other"

    def __post_init__(self) -> None:
        if self.maturity_days < 0 or self.pipeline_within_days < 0:
            raise ValueError("reports: maturity_days and pipeline_within_days must be >= 0")


def reports_from_doc(doc: ReportsDoc) -> ReportSettings:
    """The frozen settings of a checked `reports` section (defaults where it says nothing);
    raises `ValueError` when the bands contradict each other."""
    h = doc.health
    defaults = HealthBands()
    health = HealthBands(
        mql_to_sql=Band(*h.mql_to_sql), too_loose=h.too_loose, too_strict=h.too_strict,
        high_intent=Band(*h.high_intent), content=Band(*h.content),
        high_intent_events=tuple(h.high_intent_events or defaults.high_intent_events),
        content_events=tuple(h.content_events or defaults.content_events))
    channels = DEFAULT_CHANNELS if doc.channels is None else tuple(
        ChannelRule(c.channel, _lower(c.utm_medium), _lower(c.utm_source), _lower(c.names))
        for c in doc.channels)
    return ReportSettings(doc.maturity_days, doc.pipeline_within_days, health, channels,
                          doc.other_channel)


def _lower(items: list[str]) -> tuple[str, ...]:
    return tuple(i.strip().lower() for i in items)


def reports_data(settings: ReportSettings) -> dict[str, Any]:
    """The `reports` section of the model file for `settings` (`reports_from_doc` reads it
    back to equal settings)."""
    h = settings.health
    return {
        "maturity_days": settings.maturity_days,
        "pipeline_within_days": settings.pipeline_within_days,
        "health": {"mql_to_sql": [h.mql_to_sql.low, h.mql_to_sql.high],
                   "too_loose": h.too_loose, "too_strict": h.too_strict,
                   "high_intent": [h.high_intent.low, h.high_intent.high],
                   "content": [h.content.low, h.content.high],
                   "high_intent_events": list(h.high_intent_events),
                   "content_events": list(h.content_events)},
        "channels": [{"channel": c.channel, "utm_medium": list(c.utm_medium),
                      "utm_source": list(c.utm_source), "names": list(c.names)}
                     for c in settings.channels],
        "other_channel": settings.other_channel,
    }
