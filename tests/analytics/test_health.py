"""The health verdicts and channel attribution the reports print (docs/analytics.md), with
the default bands: MQL->SQL healthy in 13%-27%, too loose under 10%, too strict over 35%;
high-intent MQLs 40%-60%, content MQLs 5%-15%; read with care under 50 mature MQLs."""

from __future__ import annotations

import pytest

from mql.analytics.channels import channel_of
from mql.analytics.health import health_row, judge_mql_to_sql, judge_trigger, pct
from mql.model.reports import Band, ChannelRule, HealthBands, ReportSettings

BANDS = HealthBands()
CARE = " (only {} mature MQLs: read with care)"


@pytest.mark.parametrize(("share", "text"), [
    (0.125, "12%"), (0.135, "14%"), (0.004, "0.4%"), (0.0095, "0.9%"), (0.01, "1%"),
    (0.0, "0%"), (1.0, "100%"), (0.2, "20%"),
])
def test_a_share_is_a_whole_percent_or_one_decimal_under_one_percent(
        share: float, text: str) -> None:
    assert pct(share) == text


@pytest.mark.parametrize(("rate", "position", "words"), [
    (0.08, "too_loose", "too loose: 8% of MQLs become SQLs, under 10%; the model qualifies "
     "noise (raise the threshold or tighten the criteria)"),
    (0.10, "below", "below the band: 10% of MQLs become SQLs, under 13%-27%; watch the MQL "
     "definition for noise"),
    (0.12, "below", "below the band: 12% of MQLs become SQLs, under 13%-27%; watch the MQL "
     "definition for noise"),
    (0.13, "healthy", "healthy: 13% of MQLs become SQLs, within 13%-27%"),
    (0.27, "healthy", "healthy: 27% of MQLs become SQLs, within 13%-27%"),
    (0.30, "above", "above the band: 30% of MQLs become SQLs, over 13%-27%; the threshold "
     "may hold back leads sales would take"),
    (0.35, "above", "above the band: 35% of MQLs become SQLs, over 13%-27%; the threshold "
     "may hold back leads sales would take"),
    (0.36, "too_strict", "too strict: 36% of MQLs become SQLs, over 35%; the threshold leaves "
     "pipeline in the queue (lower it or add criteria)"),
])
def test_mql_to_sql_verdicts_at_the_band_edges(rate: float, position: str, words: str) -> None:
    verdict = judge_mql_to_sql(rate, 50, BANDS)
    assert (verdict.position, verdict.words, verdict.rate) == (position, words, rate)
    assert verdict.band == Band(0.13, 0.27)
    assert str(verdict) == words


def test_a_small_sample_is_flagged_under_fifty_mature_mqls() -> None:
    assert judge_mql_to_sql(0.2, 49, BANDS).words == (
        "healthy: 20% of MQLs become SQLs, within 13%-27%" + CARE.format(49))
    assert judge_mql_to_sql(0.2, 50, BANDS).words.endswith("within 13%-27%")
    assert judge_mql_to_sql(0.2, 1, BANDS).words.endswith(CARE.format(1))


def test_no_mature_mqls_is_no_data() -> None:
    for rate, mature in ((None, 0), (None, 12), (0.2, 0)):
        verdict = judge_mql_to_sql(rate, mature, BANDS)
        assert (verdict.position, verdict.words, verdict.rate) == (
            "no_data", "no mature MQLs yet: the cohorts are still open", None)
        assert verdict.band == BANDS.mql_to_sql


def test_a_team_sets_its_own_band() -> None:
    bands = HealthBands(mql_to_sql=Band(0.2, 0.3), too_loose=0.15, too_strict=0.4)
    assert judge_mql_to_sql(0.16, 80, bands).words == (
        "below the band: 16% of MQLs become SQLs, under 20%-30%; watch the MQL definition "
        "for noise")
    assert judge_mql_to_sql(0.14, 80, bands).position == "too_loose"
    assert judge_mql_to_sql(0.39, 80, bands).position == "above"
    assert judge_mql_to_sql(0.41, 80, bands).words.startswith("too strict: 41% of MQLs "
                                                              "become SQLs, over 40%;")


@pytest.mark.parametrize(("kind", "rate", "position", "words"), [
    ("high_intent", 0.39, "below", "high-intent MQLs convert at 39%, under 40%-60%"),
    ("high_intent", 0.40, "healthy", "high-intent MQLs convert at 40%, within 40%-60%"),
    ("high_intent", 0.60, "healthy", "high-intent MQLs convert at 60%, within 40%-60%"),
    ("high_intent", 0.61, "above", "high-intent MQLs convert at 61%, over 40%-60%"),
    ("content", 0.04, "below", "content MQLs convert at 4%, under 5%-15%"),
    ("content", 0.05, "healthy", "content MQLs convert at 5%, within 5%-15%"),
    ("content", 0.15, "healthy", "content MQLs convert at 15%, within 5%-15%"),
    ("content", 0.16, "above", "content MQLs convert at 16%, over 5%-15%"),
])
def test_trigger_verdicts_against_their_own_bands(kind: str, rate: float, position: str,
                                                  words: str) -> None:
    verdict = judge_trigger(kind, rate, 60, BANDS)
    assert (verdict.position, verdict.words, verdict.rate) == (position, words, rate)
    assert verdict.band == (Band(0.40, 0.60) if kind == "high_intent" else Band(0.05, 0.15))
    assert judge_trigger(kind, rate, 7, BANDS).words == words + CARE.format(7)


def test_a_trigger_without_mature_mqls_is_no_data() -> None:
    for kind, name, band in (("high_intent", "high-intent", BANDS.high_intent),
                             ("content", "content", BANDS.content)):
        for rate, mature in ((None, 0), (0.5, 0), (None, 3)):
            verdict = judge_trigger(kind, rate, mature, BANDS)
            assert (verdict.position, verdict.words, verdict.rate, verdict.band) == (
                "no_data", f"no mature {name} MQLs", None, band)


def test_the_health_of_a_segment_from_its_trigger_counts() -> None:
    # kind -> (mature MQLs, of them SQLs, all MQLs)
    row = health_row({"high_intent": (20, 9, 25), "content": (40, 4, 50),
                      "other": (10, 2, 25)}, BANDS)
    assert row == {
        "mqls": 100, "mature_mqls": 70, "mature_sql": 15,
        "mql_to_sql": 15 / 70, "position": "healthy",
        "verdict": "healthy: 21% of MQLs become SQLs, within 13%-27%",
        "high_intent_share": 0.25, "content_share": 0.5, "other_share": 0.25,
        "high_intent_mql_to_sql": 0.45,
        "high_intent_verdict": "high-intent MQLs convert at 45%, within 40%-60%"
                               + CARE.format(20),
        "content_mql_to_sql": 0.1,
        "content_verdict": "content MQLs convert at 10%, within 5%-15%" + CARE.format(40),
    }


def test_the_health_of_a_segment_with_missing_trigger_kinds() -> None:
    row = health_row({"content": (60, 6, 80)}, BANDS)
    assert (row["high_intent_share"], row["content_share"], row["other_share"]) == (
        0.0, 1.0, 0.0)
    assert row["high_intent_mql_to_sql"] is None
    assert row["high_intent_verdict"] == "no mature high-intent MQLs"
    assert row["content_verdict"] == "content MQLs convert at 10%, within 5%-15%"
    assert (row["mql_to_sql"], row["position"]) == (0.1, "below")
    empty = health_row({}, BANDS)
    assert empty == {
        "mqls": 0, "mature_mqls": 0, "mature_sql": 0, "mql_to_sql": None,
        "position": "no_data", "verdict": "no mature MQLs yet: the cohorts are still open",
        "high_intent_share": None, "content_share": None, "other_share": None,
        "high_intent_mql_to_sql": None, "high_intent_verdict": "no mature high-intent MQLs",
        "content_mql_to_sql": None, "content_verdict": "no mature content MQLs"}


def test_mqls_still_maturing_have_shares_but_no_rates() -> None:
    row = health_row({"high_intent": (0, 0, 4), "content": (0, 0, 12)}, BANDS)
    assert (row["mqls"], row["mature_mqls"], row["mql_to_sql"]) == (16, 0, None)
    assert (row["high_intent_share"], row["content_share"], row["other_share"]) == (
        0.25, 0.75, 0.0)
    assert row["high_intent_mql_to_sql"] is None and row["content_mql_to_sql"] is None


SETTINGS = ReportSettings()


@pytest.mark.parametrize(("channel", "medium", "source", "expected"), [
    (None, "cpc", None, "paid_search"), (None, " CPC ", None, "paid_search"),
    (None, None, "LinkedIn", "paid_social"), (None, "newsletter", None, "email"),
    (None, None, "marketo", "email"), (None, "tradeshow", None, "events"),
    (None, "referral", "g2", "partner"), (None, "seo", None, "organic"),
    ("direct", None, None, "direct"), ("Events", None, None, "events"),
    # an explicit channel wins over the tags, even over a rule that comes first
    ("direct", "cpc", "google", "direct"), ("email", "cpc", None, "email"),
    # an unknown channel property falls back to the tags
    ("webinar", "email", None, "email"), ("  ", "cpc", None, "paid_search"),
    # the first rule that matches a tag wins: google (paid_search) before newsletter (email)
    (None, "newsletter", "google", "paid_search"),
    (None, None, None, "other"), ("webinar", "banner", "acme", "other"),
    (None, "", "", "other"),
])
def test_the_channel_of_a_touch(channel: str | None, medium: str | None, source: str | None,
                                expected: str) -> None:
    assert channel_of(channel, medium, source, SETTINGS) == expected


def test_a_model_sets_its_own_channel_table_and_fallback() -> None:
    settings = ReportSettings(channels=(ChannelRule("podcast", (), ("spotify",), ("audio",)),
                                        ChannelRule("paid", ("cpc",), (), ())),
                              other_channel="unattributed")
    assert channel_of("Audio", None, None, settings) == "podcast"
    assert channel_of(None, "cpc", "spotify", settings) == "podcast"
    assert channel_of(None, "cpc", "google", settings) == "paid"
    assert channel_of("email", None, None, settings) == "unattributed"
