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


def test_bands_at_their_edges() -> None:
    # a band may be a single share, start at 0 or end at 1
    assert (Band(0, 0), Band(0.2, 0.2), Band(1, 1)) == (Band(0.0, 0.0), Band(0.2, 0.2),
                                                        Band(1.0, 1.0))
    for low, high in ((-0.1, 0.2), (0.3, 0.2), (0.5, 1.1)):
        with pytest.raises(ValueError, match="band") as caught:
            Band(low, high)
        assert str(caught.value) == f"band {low}..{high}: expected 0 <= low <= high <= 1"
    edges = HealthBands(mql_to_sql=Band(0.2, 0.2), too_loose=0.2, too_strict=0.2)
    assert edges.mql_to_sql == Band(0.2, 0.2)
    with pytest.raises(ValueError, match="health: expected"):
        HealthBands(mql_to_sql=Band(0.2, 0.3), too_loose=0.1, too_strict=0.25)


def test_windows_of_zero_days_are_allowed_negative_ones_refused() -> None:
    assert ReportSettings(maturity_days=0, pipeline_within_days=0).maturity_days == 0
    for days in ({"maturity_days": -1}, {"pipeline_within_days": -1}):
        with pytest.raises(ValueError, match="reports:") as caught:
            ReportSettings(**days)  # type: ignore[arg-type]
        assert str(caught.value) == (
            "reports: maturity_days and pipeline_within_days must be >= 0")


def test_content_events_of_a_model_replace_the_defaults() -> None:
    text = BASE + "reports:\n  health:\n    content_events: [webinar_attended]\n"
    health = parse_model(text).reports.health
    assert health.content_events == ("webinar_attended",)
    assert health.high_intent_events == HealthBands().high_intent_events
