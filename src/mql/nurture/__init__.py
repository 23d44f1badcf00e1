"""Nurture tracks, pure (issue 21): which track a contact belongs on at a time, and the
exact moment it leaves.

`advance` is the one computation: from a contact's membership and its `Facts` at a
moment, the entry and exit facts that happen by then, each stamped with the moment its
condition first held (an exit for no engagement at the later of the entry and the last
engagement plus the track's days; completion at the entry plus its length; re-engagement
entry when intent has been under the line for the track's days). `due` is when the next
of those moments falls, so a worker schedules it instead of polling. No I/O, no clock.

>>> from datetime import UTC, datetime, timedelta
>>> from mql.model.conditions import All
>>> from mql.model.nurture import Length, Nurture, Track
>>> t0 = datetime(2026, 3, 2, tzinfo=UTC)
>>> spec = Nurture((Track("warm", All(()), 1, Length(6, 21.0), no_engagement_days=14.0,
...                       exits=frozenset({"mql", "unsubscribed", "completed",
...                                        "no_engagement"})),))
>>> facts = Facts(t0, "nurture", {}.get, last_engagement=t0)
>>> [str(f) for f in advance(spec, None, facts)]
['2026-03-02 00:00 enrolled warm (matches warm)']
>>> member = Member("warm", t0)
>>> due(spec, member, facts) == t0 + timedelta(days=14)
True
>>> later = Facts(t0 + timedelta(days=20), "nurture", {}.get, last_engagement=t0)
>>> [str(f) for f in advance(spec, member, later)][0]
'2026-03-16 00:00 unenrolled warm (no_engagement)'
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from mql.model.conditions import Condition
from mql.model.nurture import Nurture, Track
from mql.scoring.evaluate import compile_condition

# the stages a track may take a contact in: not ready, and not in sales' hands
OPEN = frozenset({"captured", "nurture", "recycled", "closed_lost"})
# the stages that count as qualified (the exit for mql / pql; sales' stages follow one)
_QUALIFIED = {"mql": "mql", "pql": "pql", "sal": "mql", "sql": "mql",
              "opportunity": "mql", "customer": "mql"}
Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Member:
    """A contact's current enrollment: the track and since when."""

    track: str
    since: datetime


@dataclass(frozen=True, slots=True)
class Facts:
    """What the tracks read of one contact at `at`.

    `get` answers the conditions' fields (contact.*, account.*, score.*, lead.*);
    `last_engagement` is the contact's latest event the model counts; `quiet_since` the
    moment its intent fell under the re-engagement line without an event since (None:
    it is above the line); `channels` what its consent permits now (None: no policy, all
    open); `suppressed` a suppression list holds it; `mqa` its account is an MQA;
    `channel_change` when a granted consent lapses next (an exit then)."""

    at: datetime
    stage: str
    get: Getter
    last_engagement: datetime | None = None
    quiet_since: datetime | None = None
    channels: Mapping[str, bool] | None = None
    suppressed: bool = False
    mqa: bool = False
    left: Mapping[str, datetime] = field(default_factory=dict)  # each track's last exit
    channel_change: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """One entry or exit: kind, track, moment, reason (the exit kind, or why it entered)."""

    kind: Literal["enrolled", "unenrolled"]
    track: str
    at: datetime
    reason: str

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.track} ({self.reason})"


def permitted(track: Track, facts: Facts) -> bool:
    """Whether the contact may be sent this track's touches now: not suppressed, and its
    consent permits the track's channel."""
    if facts.suppressed:
        return False
    return facts.channels is None or bool(facts.channels.get(track.channel, False))


@functools.lru_cache(maxsize=256)
def _predicate(when: Condition) -> Any:
    return compile_condition(when)


def _holds(track: Track, get: Getter) -> bool:
    return bool(_predicate(track.when)(get))


def _may_enter(track: Track, facts: Facts) -> bool:
    """A contact re-enters a track it left only after a newer engagement."""
    left = facts.left.get(track.name)
    if left is None:
        return True
    return facts.last_engagement is not None and facts.last_engagement > left


def choose(spec: Nurture, facts: Facts) -> tuple[Track, datetime, str] | None:
    """The track a contact in no track enters now, when, and why (None: none): the first
    by priority whose `when` holds, else re-engagement once its intent has been under the
    line for the track's days. Never where consent forbids the channel."""
    if facts.stage not in OPEN:
        return None
    for track in spec.tracks:
        if _holds(track, facts.get) and permitted(track, facts) and _may_enter(track, facts):
            return track, facts.at, f"matches {track.name}"
    r = spec.reengage
    if r is not None and facts.quiet_since is not None:
        starts = facts.quiet_since + timedelta(days=r.for_days)
        if facts.left:
            starts = max(starts, *facts.left.values())
        if starts <= facts.at and permitted(r.track, facts) and _may_enter(r.track, facts):
            return r.track, starts, (f"intent under {r.intent_below:g} for "
                                     f"{r.for_days:g} days")
    return None


def exit_of(track: Track, member: Member, facts: Facts) -> tuple[str, datetime] | None:
    """The exit that holds at `facts.at` and the moment it first held (None: it stays).

    Consent and state changes are known at `facts.at` (the moment they happened);
    completion and no engagement are computed: the first to fall due wins."""
    at = facts.at
    if not permitted(track, facts):
        return "unsubscribed", at
    kind = _QUALIFIED.get(facts.stage)
    if kind is not None and kind in track.exits:
        return kind, at
    if facts.mqa and "mqa" in track.exits:
        return "mqa", at
    if facts.stage == "disqualified" and "disqualified" in track.exits:
        return "disqualified", at
    timed = [(t, kind) for kind, t in _timed(track, member, facts) if t <= at]
    if timed:
        t, kind = min(timed)
        return kind, t
    return None


def _timed(track: Track, member: Member, facts: Facts) -> list[tuple[str, datetime]]:
    """The computed exits of a member: completion, no engagement, a consent lapse."""
    out = []
    if "completed" in track.exits:
        out.append(("completed", member.since + timedelta(days=track.length.days)))
    if track.no_engagement_days is not None:
        last = max(member.since, facts.last_engagement or member.since)
        out.append(("no_engagement", last + timedelta(days=track.no_engagement_days)))
    if facts.channel_change is not None and facts.channel_change > member.since:
        out.append(("unsubscribed", facts.channel_change))
    return out


def advance(spec: Nurture, member: Member | None, facts: Facts) -> list[Fact]:
    """The entry and exit facts of one contact up to `facts.at`, in order: an exit (at
    the moment it first held), then the track it enters next, if any. A contact is on at
    most one track at a time."""
    out: list[Fact] = []
    left = facts.left
    if member is not None:
        track = spec.track(member.track)
        found = ("removed", facts.at) if track is None else exit_of(track, member, facts)
        if found is None:
            return out
        reason, at = found
        out.append(Fact("unenrolled", member.track, at, reason))
        left = {**left, member.track: at}
        if at < facts.at:
            # a time-based exit (completion, no engagement, a consent lapse) decided
            # late: the next entry is decided at that moment (the others hold now)
            facts = replace(facts, at=at)
    entry = choose(spec, replace(facts, left=left))
    if entry is not None:
        track, at, why = entry
        out.append(Fact("enrolled", track.name, at, why))
    return out


def due(spec: Nurture, member: Member | None, facts: Facts) -> datetime | None:
    """When the contact's next time-based nurture fact falls due with no new events (None:
    none): a member's completion, no-engagement exit or consent lapse; a non-member's
    re-engagement entry."""
    if member is not None:
        track = spec.track(member.track)
        if track is None:
            return None
        times = [t for _, t in _timed(track, member, facts) if t > facts.at]
        return min(times) if times else None
    r = spec.reengage
    if r is None or facts.quiet_since is None or facts.stage not in OPEN:
        return None
    starts = facts.quiet_since + timedelta(days=r.for_days)
    return starts if starts > facts.at else None
