"""Where the time comes from: the faces and the worker read it; the core is given it.

>>> from datetime import datetime, timezone
>>> FixedClock(datetime(2026, 3, 2, tzinfo=timezone.utc)).now().isoformat()
'2026-03-02T00:00:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FixedClock:
    """A clock that always says `at` (tests and reproducible runs)."""

    at: datetime

    def now(self) -> datetime:
        return self.at
