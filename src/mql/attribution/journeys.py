"""Journeys: the touches of a person (or of an account's buying committee) before one
conversion, in time order, with what the conversion was worth; a journey that did not
convert carries nulls instead. Paths in the aggregated format of the ChannelAttribution
package (`"a > b > c"`, conversions, nulls, value) are journeys without times.

>>> parse_path("events > email >  paid_search")
('events', 'email', 'paid_search')
>>> j = Journey("x", (Touch("a"), Touch("a"), Touch("b")), conversions=1)
>>> j.channels, j.without_repeats().channels
(('a', 'a', 'b'), ('a', 'b'))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

PATH_SEPARATOR = ">"


@dataclass(frozen=True, slots=True)
class Touch:
    """One touch: its channel (or campaign, content: whatever is credited), its time when
    known, and its weight (a committee member's role weight at the account level)."""

    channel: str
    at: datetime | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.channel:
            raise ValueError("a touch needs a channel")
        if not self.weight >= 0:
            raise ValueError(f"touch weight must be >= 0, got {self.weight}")


@dataclass(frozen=True, slots=True)
class Journey:
    """Touches in time order before a conversion. `conversions` and `nulls` count the
    journeys that did and did not convert along this path (1 and 0 for one person's
    conversion; any counts for an aggregated path); `value` is what the conversions were
    worth (pipeline or revenue). `converted_at` is the conversion's time (time decay),
    `lead_at` and `opportunity_at` the W and Z anchors (the contact's qualification, the
    opportunity's creation)."""

    key: str
    touches: tuple[Touch, ...]
    conversions: float = 0.0
    nulls: float = 0.0
    value: float = 0.0
    converted_at: datetime | None = None
    lead_at: datetime | None = None
    opportunity_at: datetime | None = None

    def __post_init__(self) -> None:
        if min(self.conversions, self.nulls) < 0:
            raise ValueError(f"journey {self.key}: conversions and nulls must be >= 0")
        if self.value and not self.conversions:
            raise ValueError(f"journey {self.key}: a value needs conversions")

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(t.channel for t in self.touches)

    def without_repeats(self) -> Journey:
        """The journey with a channel repeated in a row kept once (its first touch)."""
        kept = [t for i, t in enumerate(self.touches)
                if i == 0 or t.channel != self.touches[i - 1].channel]
        return replace(self, touches=tuple(kept))

    def within(self, lookback: timedelta) -> Journey:
        """Only the touches at most `lookback` before the conversion (all of them without
        a conversion time)."""
        if self.converted_at is None:
            return self
        start = self.converted_at - lookback
        return replace(self, touches=tuple(t for t in self.touches
                                           if t.at is None or start <= t.at <= self.converted_at))


def parse_path(text: str) -> tuple[str, ...]:
    """`"a > b > c"` as channels (spaces around the separator ignored); raises
    `ValueError` on an empty step."""
    steps = tuple(s.strip() for s in text.split(PATH_SEPARATOR))
    if any(not s for s in steps):
        raise ValueError(f"path {text!r}: an empty step (expected \"a > b > c\")")
    return steps


def from_paths(rows: Iterable[tuple[str, float, float, float]]) -> list[Journey]:
    """Journeys of aggregated paths: `(path, conversions, nulls, value)` per row."""
    return [Journey(f"path {i + 1}", tuple(Touch(c) for c in parse_path(path)),
                    conversions=conv, nulls=null, value=value)
            for i, (path, conv, null, value) in enumerate(rows)]


def to_paths(journeys: Sequence[Journey]) -> list[tuple[str, float, float, float]]:
    """The journeys aggregated by path (what ChannelAttribution reads), sorted by path."""
    totals: dict[tuple[str, ...], list[float]] = {}
    for j in journeys:
        if not j.touches:
            continue
        t = totals.setdefault(j.channels, [0.0, 0.0, 0.0])
        t[0] += j.conversions
        t[1] += j.nulls
        t[2] += j.value
    return [(f" {PATH_SEPARATOR} ".join(p), c, n, v) for p, (c, n, v) in sorted(totals.items())]
