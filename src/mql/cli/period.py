"""The period, database and format options of the loop's commands (`mql learn`,
`mql calibrate`, `mql backtest`, `mql audit`) and the one parser of their periods: a
bound is a month (2025-03, its first moment), a day (2025-03-14) or an ISO 8601 time, UTC
when no offset (`analytics.definitions.parse_bound`, the one `mql report` reads too).

>>> bound("2025-03", "--from").isoformat(), day("2025-03-14", "--to")
('2025-03-01T00:00:00+00:00', datetime.date(2025, 3, 14))
>>> bound(None, "--from") is None
True
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from mql.analytics.definitions import parse_bound
from mql.errors import ConfigError


class OutputFormat(str, Enum):
    """What the loop's commands print: a table on a terminal, CSV or JSON."""

    table = "table"
    csv = "csv"
    json = "json"




def bound(text: str | None, option: str) -> datetime | None:
    """The moment `text` names (None when the option was not given); a one-line
    `ConfigError` naming `option` otherwise."""
    return None if text is None else parse_bound(text, option)


def day(text: str | None, option: str) -> date | None:
    """The day `text` names, for the inclusive days of `mql calibrate` and `mql backtest`
    (a time counts for its UTC day; a month is refused: 2025-03 as a last day is unclear)."""
    if text is None:
        return None
    try:
        value = bound(text, option) if len(text.strip()) >= 10 else None
    except ConfigError:
        value = None
    if value is None:
        raise ConfigError(f"{option} {text!r}: expected a day like 2025-03-01") from None
    return value.date()


def month(text: str | None, option: str) -> date | None:
    """The first day of the month (or the day) `text` names, for `mql audit`'s months."""
    value = bound(text, option)
    return None if value is None else value.date()
