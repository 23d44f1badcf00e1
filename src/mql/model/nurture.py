"""The `nurture:` section of a model: named tracks for the leads that are not ready, and
the re-engagement track (issue 21).

A track has entry conditions in the model's condition grammar (`contact.*`,
`account.*`, `score.*` and the lead's own `lead.*` facts: stage, recycle or rejection
reason, grade, fit grade, segment), a priority (1 first, then file order), a planned
length (``6 touches over 3w``), the channel its touches use and its exits. The values
are frozen; `build_nurture` turns the checked document into them, with problems located
by file, line and column. Which track a contact is on, and when it leaves, is computed
by `mql.nurture`.

>>> parse_length("6 touches over 3w")
Length(touches=6, days=21.0)
>>> parse_days("14d"), parse_days("2w"), parse_days("soon")
(14.0, 14.0, None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mql.model.conditions import All, Condition
from mql.model.document import NurtureDoc, ReengageDoc, TrackDoc

if TYPE_CHECKING:
    from mql.model.build import Builder

# the lead's facts a track's `when` may read beside contact.*, account.* and score.*
LEAD_FIELDS: frozenset[str] = frozenset({
    "stage",  # the lifecycle stage (captured, nurture, recycled, closed_lost ...)
    "reason",  # the reason of the last move back (a rejection, a recycle, an exit)
    "grade",  # the fit x intent grade, e.g. B3
    "fit_grade",  # its letter, e.g. B
    "segment",  # the account's segment (its `segment` attribute, else by employees)
})
# the exits a track may name; `no_engagement: 14d` is the one with a value
QUALIFIED = ("mql", "pql", "mqa")
EXITS: tuple[str, ...] = (*QUALIFIED, "disqualified", "unsubscribed", "completed",
                          "no_engagement")
DEFAULT_EXITS: frozenset[str] = frozenset(EXITS) - {"no_engagement"}
_LENGTH = re.compile(r"^\s*(\d+)\s+touch(?:es)?\s+over\s+(\d+(?:\.\d+)?)\s*"
                     r"(d|days?|w|weeks?)\s*$")
_DAYS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|days?|w|weeks?)\s*$")


@dataclass(frozen=True, slots=True)
class Length:
    """The planned length of a track: `touches` over `days`."""

    touches: int
    days: float


@dataclass(frozen=True, slots=True)
class Track:
    """One nurture track. `exits` are the exit kinds that end it (`unsubscribed` always
    does: consent is never optional); `no_engagement_days` ends it that long after the
    later of the entry and the last engagement."""

    name: str
    when: Condition
    priority: int
    length: Length
    channel: str = "email"
    exits: frozenset[str] = DEFAULT_EXITS
    no_engagement_days: float | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Reengage:
    """The re-engagement track: entered `for_days` after the contact's intent fell under
    `intent_below`, by a contact in no track."""

    track: Track
    intent_below: float
    for_days: float


@dataclass(frozen=True, slots=True)
class Nurture:
    tracks: tuple[Track, ...]
    reengage: Reengage | None = None
    description: str | None = None

    def track(self, name: str) -> Track | None:
        """The track called `name` (the re-engagement track included)."""
        every = (*self.tracks, *([self.reengage.track] if self.reengage else []))
        return next((t for t in every if t.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tracks) + (
            (self.reengage.track.name,) if self.reengage else ())


def parse_days(value: object) -> float | None:
    """Days of a duration such as ``14d`` or ``2w`` (None: not one)."""
    found = _DAYS.match(str(value)) if isinstance(value, str) else None
    if found is None:
        return None
    number = float(found.group(1))
    days = number * (7 if found.group(2).startswith("w") else 1)
    return days if days > 0 else None


def parse_length(value: str) -> Length | None:
    """``N touches over D`` (days ``d`` or weeks ``w``); None when it is not one."""
    found = _LENGTH.match(value)
    if found is None:
        return None
    touches, number = int(found.group(1)), float(found.group(2))
    days = number * (7 if found.group(3).startswith("w") else 1)
    return Length(touches, days) if touches >= 1 and days > 0 else None


def build_nurture(b: Builder, doc: NurtureDoc | None) -> Nurture | None:
    """The checked `nurture:` section (None when the model has none)."""
    if doc is None:
        return None
    b.unique([t.name for t in doc.tracks] + ([doc.reengage.name] if doc.reengage else []),
             ("nurture", "tracks"), "track")
    tracks = tuple(_track(b, t, ("nurture", "tracks", i)) for i, t in enumerate(doc.tracks))
    reengage = None
    if doc.reengage is not None:
        r = doc.reengage
        path = ("nurture", "reengage")
        days = parse_days(r.for_)
        if days is None:
            b.problem((*path, "for"), f"expected a duration such as 30d or 4w, got {r.for_!r}")
            days = 30.0
        reengage = Reengage(_track(b, r, path), r.intent_below, days)
    tracks = tuple(sorted(tracks, key=lambda t: t.priority))  # stable: file order at a tie
    return Nurture(tracks, reengage, doc.description)


def _track(b: Builder, t: TrackDoc | ReengageDoc, path: tuple[Any, ...]) -> Track:
    length = parse_length(t.length)
    if length is None:
        b.problem((*path, "length"), 'expected "N touches over D" with D in days or weeks '
                  f'(e.g. "6 touches over 3w"), got {t.length!r}')
        length = Length(1, 1.0)
    from mql.model.consent import CHANNELS

    if t.channel not in CHANNELS:
        b.problem((*path, "channel"), f'unknown channel "{t.channel}"; channels are '
                  f'{", ".join(CHANNELS)}')
    exits: set[str] = set()
    quiet = None
    for i, item in enumerate(t.exits if t.exits is not None else sorted(DEFAULT_EXITS)):
        where = (*path, "exits", i)
        if isinstance(item, dict) and list(item) == ["no_engagement"]:
            quiet = parse_days(item["no_engagement"])
            if quiet is None:
                b.problem((*where, "no_engagement"), "expected a duration such as 14d or "
                          f"2w, got {item['no_engagement']!r}")
            exits.add("no_engagement")
        elif isinstance(item, str) and item in EXITS and item != "no_engagement":
            exits.add(item)
        else:
            b.problem(where, f"unknown exit {item!r}; exits are "
                      f"{', '.join(e for e in EXITS if e != 'no_engagement')} or "
                      "{no_engagement: 14d}")
    exits.add("unsubscribed")  # never nurture a contact its consent does not allow
    when: Condition = All(())
    if isinstance(t, TrackDoc):
        if t.when is None:
            b.problem(path, "when is required (who enters the track)")
        else:
            when = b.condition(t.when, (*path, "when"), "nurture")
    priority = t.priority if isinstance(t, TrackDoc) else 0
    return Track(t.name, when, priority, length, t.channel, frozenset(exits), quiet,
                 t.description)


def nurture_data(spec: Nurture, condition_data: Any) -> dict[str, Any]:
    """The section as model-file data (`mql.model.dump`): reads back as the same value."""

    def common(t: Track) -> dict[str, Any]:
        exits: list[Any] = sorted(t.exits - {"no_engagement"})
        if t.no_engagement_days is not None:
            exits.append({"no_engagement": f"{t.no_engagement_days:g}d"})
        out: dict[str, Any] = {"name": t.name}
        if t.description is not None:
            out["description"] = t.description
        out["length"] = f"{t.length.touches} touches over {t.length.days:g}d"
        out["channel"] = t.channel
        out["exits"] = exits
        return out

    data: dict[str, Any] = {}
    if spec.description is not None:
        data["description"] = spec.description
    data["tracks"] = [{**common(t), "when": condition_data(t.when), "priority": t.priority}
                      for t in spec.tracks]
    if spec.reengage is not None:
        r = spec.reengage
        data["reengage"] = {**common(r.track), "intent_below": r.intent_below,
                            "for": f"{r.for_days:g}d"}
    return data
