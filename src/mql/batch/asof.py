"""The times a batch run scores at: one instant, or a series of equally spaced instants.

>>> from datetime import date, datetime, timezone
>>> AsOf.at(datetime(2026, 3, 2, 10, tzinfo=timezone.utc)).times()[0].isoformat()
'2026-03-02T10:00:00+00:00'
>>> days = AsOf.daily(date(2026, 1, 1), date(2026, 1, 31))
>>> days.count, days.times()[-1].isoformat()
(31, '2026-01-31T00:00:00+00:00')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from mql.errors import ConfigError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(t: datetime) -> int:
    """Microseconds since 1970-01-01 UTC, exactly (the batch engines' clock).

    >>> micros(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC))
    1000005
    """
    if t.tzinfo is None:
        raise ConfigError(f"as-of time {t.isoformat()} must carry a time zone (UTC)")
    return (t - EPOCH) // MICROSECOND


@dataclass(frozen=True, slots=True)
class AsOf:
    """`count` instants `start`, `start + step`, ...; every event at or before an instant
    counts at that instant (the same rule as `mql.scoring.score(at=...)`)."""

    start: datetime
    step: timedelta = timedelta(days=1)
    count: int = 1

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ConfigError(f"as-of time {self.start.isoformat()} must carry a time zone")
        if self.count < 1:
            raise ConfigError(f"a series of as-of times needs at least one, got {self.count}")
        if self.step <= timedelta(0) or self.step % MICROSECOND:
            raise ConfigError(f"the as-of step must be a positive number of microseconds, "
                              f"got {self.step}")

    @classmethod
    def at(cls, t: datetime) -> AsOf:
        """The single instant `t`."""
        return cls(t)

    @classmethod
    def daily(cls, first: date, last: date) -> AsOf:
        """Midnight UTC of every day from `first` to `last` (inclusive): the score at the
        start of each day, after every event of the days before."""
        if last < first:
            raise ConfigError(f"--daily: {last} is before {first}")
        start = datetime.combine(first, time(0), tzinfo=UTC)
        return cls(start, timedelta(days=1), (last - first).days + 1)

    def times(self) -> list[datetime]:
        """Every instant, in order."""
        return [self.start + i * self.step for i in range(self.count)]

    @property
    def start_us(self) -> int:
        return micros(self.start)

    @property
    def step_us(self) -> int:
        return self.step // MICROSECOND

    @property
    def last_us(self) -> int:
        return self.start_us + (self.count - 1) * self.step_us
