"""The model's `reports` section (docs/analytics.md): its defaults, a team's own values read
in lower case, contradictory bands refused at their place, and the section written back
(`mql model dump`) as the values it was read from."""

from __future__ import annotations

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model
from mql.model.reports import (
    Band,
    ChannelRule,
    HealthBands,
    ReportSettings,
    reports_data,
)
from tests.model.tiny import BASE

DEFAULTS = {
    "maturity_days": 90, "pipeline_within_days": 90,
    "health": {"mql_to_sql": [0.13, 0.27], "too_loose": 0.10, "too_strict": 0.35,
               "high_intent": [0.40, 0.60], "content": [0.05, 0.15],
               "high_intent_events": ["demo_request", "trial_signup", "trial_started",
                                      "contact_sales", "pricing_request"],
               "content_events": ["content_download", "webinar_attended",
                                  "webinar_registered", "whitepaper_download"]},
    "channels": [
        {"channel": "paid_search", "utm_medium": ["cpc", "ppc", "paid_search"],
         "utm_source": ["google", "bing", "adwords"], "names": ["paid_search"]},
        {"channel": "paid_social", "utm_medium": ["paid_social", "social_paid", "paidsocial"],
         "utm_source": ["linkedin", "facebook", "twitter"], "names": ["paid_social"]},
        {"channel": "email", "utm_medium": ["email", "newsletter"],
         "utm_source": ["newsletter", "nurture", "hubspot", "marketo"], "names": ["email"]},
        {"channel": "events", "utm_medium": ["event", "events", "tradeshow"],
         "utm_source": ["tradeshow"], "names": ["events"]},
        {"channel": "partner", "utm_medium": ["referral", "partner"],
         "utm_source": ["g2", "partner-newsletter", "capterra"], "names": ["partner"]},
        {"channel": "organic", "utm_medium": ["organic", "seo"], "utm_source": [],
         "names": ["organic"]},
        {"channel": "direct", "utm_medium": [], "utm_source": [], "names": ["direct"]},
    ],
    "other_channel": "other",
}

OWN = """\
reports:
  maturity_days: 60
  pipeline_within_days: 120
  health:
    mql_to_sql: [0.2, 0.3]
    too_loose: 0.15
    too_strict: 0.4
    high_intent: [0.3, 0.5]
    content: [0.02, 0.1]
    high_intent_events: [demo_request]
  channels:
    - {channel: podcast, utm_medium: [Audio], utm_source: [" Spotify "], names: [POD]}
  other_channel: unattributed
"""


def test_a_model_without_a_reports_section_has_the_defaults() -> None:
    settings = parse_model(BASE).reports
    assert settings == ReportSettings()
    assert reports_data(settings) == DEFAULTS


def test_a_team_sets_its_own_reports_section() -> None:
    settings = parse_model(BASE + OWN).reports
    assert (settings.maturity_days, settings.pipeline_within_days) == (60, 120)
    assert settings.health == HealthBands(
        Band(0.2, 0.3), 0.15, 0.4, Band(0.3, 0.5), Band(0.02, 0.1), ("demo_request",),
        HealthBands().content_events)  # events not named keep the defaults
    assert settings.channels == (ChannelRule("podcast", ("audio",), ("spotify",), ("pod",)),)
    assert settings.other_channel == "unattributed"
    data = reports_data(settings)
    assert data["health"] == {
        "mql_to_sql": [0.2, 0.3], "too_loose": 0.15, "too_strict": 0.4,
        "high_intent": [0.3, 0.5], "content": [0.02, 0.1],
        "high_intent_events": ["demo_request"], "content_events": DEFAULTS["health"][
            "content_events"]}  # type: ignore[index]
    assert data["channels"] == [{"channel": "podcast", "utm_medium": ["audio"],
                                 "utm_source": ["spotify"], "names": ["pod"]}]
    assert (data["maturity_days"], data["pipeline_within_days"], data["other_channel"]) == (
        60, 120, "unattributed")


def test_contradictory_bands_are_refused_at_the_section() -> None:
    with pytest.raises(ModelError) as caught:
        parse_model(BASE + OWN.replace("too_loose: 0.15", "too_loose: 0.25"), source="m.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "m.yaml:15:3 reports: health: expected too_loose <= mql_to_sql low <= high <= "
        "too_strict, got 0.25, 0.2, 0.3, 0.4"]
