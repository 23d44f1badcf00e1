"""The shared arithmetic of every report (docs/analytics.md): dimensions a report breaks
down by, cohort rates, segments, report window bounds. Values computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mql.analytics.definitions import (
    COST_DIMENSIONS,
    SLA_DIMENSIONS,
    Dimension,
    funnel_rates,
    parse_bound,
    per,
    rate,
    segment_of,
)
from mql.errors import ConfigError

CHOICES = ("month, week, source, channel, campaign, segment, region, product_line, grade, "
           "score_band, model_version, owner, team, trigger, total")


@pytest.mark.parametrize(("text", "dimension"), [
    ("month", Dimension.MONTH), ("  Channel ", Dimension.CHANNEL),
    ("score-band", Dimension.SCORE_BAND), ("Product-Line", Dimension.PRODUCT_LINE),
    ("MODEL_VERSION", Dimension.MODEL_VERSION),
])
def test_a_dimension_is_named_in_any_case_with_dashes_or_underscores(
        text: str, dimension: Dimension) -> None:
    assert Dimension.parse(text) is dimension


def test_an_unknown_dimension_lists_every_choice() -> None:
    with pytest.raises(ConfigError) as info:
        Dimension.parse("quarter")
    assert str(info.value) == f"--by 'quarter': choose one of {CHOICES}"


def test_several_dimensions_are_comma_separated() -> None:
    assert Dimension.parse_many("month,channel, Score-Band") == [
        Dimension.MONTH, Dimension.CHANNEL, Dimension.SCORE_BAND]
    with pytest.raises(ConfigError, match="--by ' day'"):
        Dimension.parse_many("month, day")


def test_the_sla_and_cost_reports_break_down_by_their_own_dimensions() -> None:
    # SLA counts assignments (team, owner, time, total); spend is known per month and channel
    assert [d.value for d in SLA_DIMENSIONS] == ["team", "owner", "month", "week", "total"]
    assert [d.value for d in COST_DIMENSIONS] == ["month", "channel", "total"]


def test_a_rate_is_none_when_there_is_nothing_to_divide() -> None:
    assert rate(3, 12) == 0.25
    assert rate(0, 5) == 0.0
    assert rate(0, 0) is None
    assert rate(4, 0) is None


def test_spend_per_unit_is_none_when_nothing_was_bought() -> None:
    assert per(1500.0, 6) == 250.0
    assert per(0.0, 3) == 0.0
    assert per(900.0, 0) is None


@pytest.mark.parametrize(("employees", "segment"), [
    (0, "small"), (1, "small"), (99, "small"), (100, "mid"), (999, "mid"),
    (1000, "enterprise"), (250_000, "enterprise"), (None, "unknown"),
])
def test_segments_by_employees_at_their_floors(employees: int | None, segment: str) -> None:
    assert segment_of(employees) == segment


@pytest.mark.parametrize(("text", "moment"), [
    ("2025-03", datetime(2025, 3, 1, tzinfo=UTC)),
    (" 2025-12 ", datetime(2025, 12, 1, tzinfo=UTC)),
    ("2025-03-14", datetime(2025, 3, 14, tzinfo=UTC)),
    ("2025-03-14T09:00Z", datetime(2025, 3, 14, 9, tzinfo=UTC)),
    ("2025-03-14T09:30", datetime(2025, 3, 14, 9, 30, tzinfo=UTC)),
    ("2025-03-14T09:00+02:00", datetime(2025, 3, 14, 7, tzinfo=UTC)),
    ("2025-03-01T00:30-01:00", datetime(2025, 3, 1, 1, 30, tzinfo=UTC)),
])
def test_a_report_bound_is_a_month_a_day_or_a_time_in_utc(text: str, moment: datetime) -> None:
    parsed = parse_bound(text, "--from")
    assert parsed == moment
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("text", ["soon", "2025-13", "2025/03/14", "", "14.03.2025"])
def test_a_bad_bound_names_the_option_and_the_accepted_forms(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_bound(text, "--to")
    assert str(info.value) == (f"--to {text!r}: expected a month (2025-03), a day "
                               "(2025-03-14) or a time (2025-03-14T09:00Z)")


ROW = {"mqls": 20, "sal": 15, "rejected": 4, "sql": 8, "opportunities": 5,
       "sql_opportunities": 4, "won": 2, "closed_opportunities": 4, "mature_mqls": 16,
       "mature_sql": 6, "recycled": 3, "requalified": 1}


def test_funnel_rates_each_on_its_own_cohort() -> None:
    assert funnel_rates(ROW) == {
        "mql_to_sal": 0.75,              # 15 / 20
        "rejection_rate": 0.2,           # 4 / 20
        "mql_to_sql": 0.4,               # 8 / 20
        "mature_mql_to_sql": 0.375,      # 6 / 16
        "sql_to_opportunity": 0.5,       # 4 / 8
        "mql_to_pipeline": 0.25,         # 5 / 20
        "opportunity_to_won": 0.4,       # 2 / 5
        "win_rate": 0.5,                 # 2 / 4
        "recycle_rate": 0.15,            # 3 / 20
        "requalification_rate": 0.05,    # 1 / 20
    }


def test_funnel_rates_without_lifecycle_counts_or_mqls() -> None:
    row = {k: v for k, v in ROW.items() if k not in ("recycled", "requalified")}
    rates = funnel_rates(row)
    assert rates["recycle_rate"] == 0.0 and rates["requalification_rate"] == 0.0
    empty = funnel_rates(dict.fromkeys(ROW, 0))
    assert set(empty.values()) == {None}


def test_a_bound_without_offset_is_utc_whatever_the_machine_zone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_bound("2025-03-14T09:30", "--from") == datetime(2025, 3, 14, 9, 30,
                                                                    tzinfo=UTC)
        assert parse_bound("2025-03-14", "--to") == datetime(2025, 3, 14, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()
