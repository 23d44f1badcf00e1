"""The report families, the dimensions a report breaks down by, and small cohort
arithmetic. Each KPI's SQL-level meaning is in docs/analytics.md.

>>> Dimension.parse("Channel")
<Dimension.CHANNEL: 'channel'>
>>> rate(3, 12), rate(0, 0)
(0.25, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mql.errors import ConfigError


class Report(StrEnum):
    FUNNEL = "funnel"
    SLA = "sla"
    COST = "cost"
    REASONS = "reasons"
    HEALTH = "health"
    REVIEW = "review"


class Dimension(StrEnum):
    """What a report's rows are. Time dimensions group MQLs by the period they qualified
    in (their cohort); the others by a property of the MQL."""

    MONTH = "month"
    WEEK = "week"
    SOURCE = "source"
    CHANNEL = "channel"
    CAMPAIGN = "campaign"
    SEGMENT = "segment"
    REGION = "region"
    PRODUCT_LINE = "product_line"
    GRADE = "grade"
    SCORE_BAND = "score_band"
    MODEL_VERSION = "model_version"
    OWNER = "owner"
    TEAM = "team"
    TRIGGER = "trigger"
    TOTAL = "total"

    @classmethod
    def parse_many(cls, text: str) -> list[Dimension]:
        """Comma-separated dimensions: `month,channel` is a row per month and channel.

        >>> Dimension.parse_many("month, channel")
        [<Dimension.MONTH: 'month'>, <Dimension.CHANNEL: 'channel'>]
        """
        return [cls.parse(part) for part in text.split(",")]

    @classmethod
    def parse(cls, text: str) -> Dimension:
        """The dimension named `text`; `ConfigError` listing the choices otherwise."""
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            raise ConfigError(f"--by {text!r}: choose one of {', '.join(d.value for d in cls)}"
                              ) from None


# the dimensions the SLA report may break down by (it counts assignments, not MQLs)
SLA_DIMENSIONS = (Dimension.TEAM, Dimension.OWNER, Dimension.MONTH, Dimension.WEEK,
                  Dimension.TOTAL)
# and the cost report (spend is known per month and channel only)
COST_DIMENSIONS = (Dimension.MONTH, Dimension.CHANNEL, Dimension.TOTAL)

# the width of a score band (`score_band` dimension): 0-25, 25-50 ...
SCORE_BAND_WIDTH = 25
# segment bands by account employees, when the account has no `segment` attribute
SEGMENTS = ((1000, "enterprise"), (100, "mid"), (0, "small"))  # as the synthetic world


def rate(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, None when there is nothing to divide."""
    return None if denominator == 0 else numerator / denominator


def segment_of(employees: int | None) -> str:
    """The segment of an account by employees, as the reports' SQL computes it.

    >>> segment_of(50), segment_of(200), segment_of(5000), segment_of(None)
    ('small', 'mid', 'enterprise', 'unknown')
    """
    if employees is None:
        return "unknown"
    return next(name for floor, name in SEGMENTS if employees >= floor)


def parse_bound(text: str, name: str) -> datetime:
    """A report window bound: a month (2025-03, its first moment), a day (2025-03-14) or
    an ISO 8601 time (UTC when no offset); `ConfigError` naming `name` otherwise.

    >>> parse_bound("2025-03", "--from"), parse_bound("2025-03-14", "--to").day
    (datetime.datetime(2025, 3, 1, 0, 0, tzinfo=datetime.timezone.utc), 14)
    """
    value = text.strip()
    try:
        if len(value) == 7:
            parsed = datetime.strptime(value + "+0000", "%Y-%m%z")
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{name} {text!r}: expected a month (2025-03), a day (2025-03-14) "
                          "or a time (2025-03-14T09:00Z)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def funnel_rates(row: Mapping[str, Any]) -> dict[str, float | None]:
    """The conversion rates of a funnel row's counts, each on its own cohort: the
    numerator's MQLs are among the denominator's.

    >>> funnel_rates({"mqls": 10, "sal": 6, "rejected": 3, "sql": 2, "opportunities": 2,
    ...               "sql_opportunities": 1, "won": 1, "closed_opportunities": 2,
    ...               "mature_mqls": 8, "mature_sql": 2})["mature_mql_to_sql"]
    0.25
    """
    return {
        "mql_to_sal": rate(row["sal"], row["mqls"]),
        "rejection_rate": rate(row["rejected"], row["mqls"]),
        "mql_to_sql": rate(row["sql"], row["mqls"]),
        "mature_mql_to_sql": rate(row["mature_sql"], row["mature_mqls"]),
        "sql_to_opportunity": rate(row["sql_opportunities"], row["sql"]),
        "mql_to_pipeline": rate(row["opportunities"], row["mqls"]),
        "opportunity_to_won": rate(row["won"], row["opportunities"]),
        "win_rate": rate(row["won"], row["closed_opportunities"]),
        "recycle_rate": rate(row.get("recycled", 0), row["mqls"]),
        "requalification_rate": rate(row.get("requalified", 0), row["mqls"]),
    }


def per(amount: float, count: int) -> float | None:
    """Spend per unit (cost per MQL ...), None when nothing was bought."""
    return None if count == 0 else amount / count
