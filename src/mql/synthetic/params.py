"""The options of a synthetic world, validated when built, and its calendar.

>>> from datetime import datetime, timezone
>>> p = WorldParameters(accounts=10, months=3, start=datetime(2025, 1, 1, tzinfo=timezone.utc))
>>> p.end.isoformat()
'2025-04-01T00:00:00+00:00'
>>> WorldParameters(accounts=0, months=3)
Traceback (most recent call last):
...
mql.errors.ConfigError: accounts must be at least 1, got 0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from mql.errors import ConfigError

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
MAX_MONTHS = 120
MAX_DIRTY = 0.5


def add_months(start: datetime, months: int) -> datetime:
    """`start` moved by whole calendar months (the day is clamped to the month's length).

    >>> add_months(datetime(2025, 1, 31, tzinfo=UTC), 1).date().isoformat()
    '2025-02-28'
    """
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return start.replace(year=year, month=month, day=min(start.day, days))


DRIFT_DRIVERS = ("webinar_attended", "content_download")


@dataclass(frozen=True, slots=True)
class Drift:
    """From `since` on, the behaviour `driver` stops following the account's hidden buying
    stage: every contact does it as often as one at an account in evaluation (a new
    programme draws everyone), so it no longer tells buyers from the rest. A world with a
    drift tests that `mql audit` notices.

    >>> Drift.parse("webinar_attended:2025-05-01").since.isoformat()
    '2025-05-01T00:00:00+00:00'
    """

    driver: str
    since: datetime

    def __post_init__(self) -> None:
        if self.driver not in DRIFT_DRIVERS:
            raise ConfigError(f"--drift: unknown driver {self.driver!r}; choose one of "
                              f"{', '.join(DRIFT_DRIVERS)}")
        if self.since.tzinfo is None:
            raise ConfigError(f"--drift: {self.since.isoformat()} must carry a time zone")

    @classmethod
    def parse(cls, text: str) -> Drift:
        """``DRIVER:DATE`` (the date in ISO 8601, midnight UTC unless a time is given)."""
        driver, sep, when = text.partition(":")
        if not sep or not when.strip():
            raise ConfigError(f"--drift {text!r}: expected DRIVER:DATE, e.g. "
                              f"webinar_attended:2025-05-01")
        try:
            since = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--drift {text!r}: {when.strip()!r} is not a date "
                              f"(YYYY-MM-DD)") from None
        return cls(driver.strip(), since if since.tzinfo else since.replace(tzinfo=UTC))

    def applies(self, driver: str, at: datetime) -> bool:
        return driver == self.driver and at >= self.since


@dataclass(frozen=True, slots=True)
class WorldParameters:
    """How big and how messy a world is, and when it starts.

    `accounts`: companies to generate; `months`: length of the event history;
    `start`: the first instant (UTC-aware; default 2025-01-01T00:00Z, never today);
    `dirty`: the rate of messiness in [0, 0.5] (0 gives a clean world); `drift`: drivers
    that change from a date on (`Drift`); `usage`: add product-usage telemetry after
    each trial signup (`mql.synthetic.usage`; every other row stays as without it);
    `channel_effects`: sessions come through the
    channels each account is exposed to, and those channels set the chance of an
    opportunity (`mql.synthetic.channel_effects`; off by default, leaving every draw of
    a default world as it was).
    """

    accounts: int
    months: int
    start: datetime = field(default=DEFAULT_START)
    dirty: float = 0.0
    drift: tuple[Drift, ...] = ()
    usage: bool = False
    channel_effects: bool = False

    def __post_init__(self) -> None:
        if self.accounts < 1:
            raise ConfigError(f"accounts must be at least 1, got {self.accounts}")
        if not 1 <= self.months <= MAX_MONTHS:
            raise ConfigError(f"months must be between 1 and {MAX_MONTHS}, got {self.months}")
        if self.start.tzinfo is None:
            raise ConfigError(f"start must carry a time zone (UTC), got {self.start.isoformat()}")
        if not 0.0 <= self.dirty <= MAX_DIRTY:
            raise ConfigError(f"dirty must be between 0 and {MAX_DIRTY}, got {self.dirty}")

    @property
    def end(self) -> datetime:
        """The instant just after the last event: `start` plus `months` calendar months."""
        return add_months(self.start.astimezone(UTC), self.months)
