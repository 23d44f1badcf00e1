"""The hand-off part of a model: lifecycle policy, routing teams and rules, SLAs.

Frozen values built by `mql.model.build`; the lifecycle and routing cores compute with
them.

>>> from datetime import datetime, time, timezone
>>> hours = BusinessHours("America/New_York", frozenset({0, 1, 2, 3, 4}), time(9), time(17))
>>> hours.zone.key
'America/New_York'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from zoneinfo import ZoneInfo

from mql.model.conditions import Condition


@dataclass(frozen=True, slots=True)
class NamedRule:
    """A named condition over contact, account, scores and recent activity."""

    name: str
    when: Condition
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """How contacts move between stages beyond the MQL definition itself."""

    recycle_after_days: float | None = None
    requalify_fresh_intent: bool = True
    disqualify: tuple[NamedRule, ...] = ()
    reject_reasons: tuple[str, ...] = (
        "wrong_fit", "no_budget", "bad_timing", "duplicate", "no_response", "competitor",
        "student",
    )
    account_team_statuses: frozenset[str] = frozenset({"customer", "partner"})


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Working days (0 = Monday), opening and closing time, in `time_zone`, minus holidays."""

    time_zone: str
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, slots=True)
class Member:
    """A seller: round-robin `weight`, at most `capacity` open leads, away in `away`."""

    name: str
    weight: int = 1
    capacity: int | None = None
    away: tuple[tuple[date, date], ...] = ()
    attributes: frozenset[str] = frozenset()  # what sector overlays ask for (us_person)

    def is_away(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.away)


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    members: tuple[Member, ...]
    hours: BusinessHours
    manager: str | None = None
    attributes: frozenset[str] = frozenset()  # every member has them


@dataclass(frozen=True, slots=True)
class RoutingRule:
    name: str
    when: Condition
    team: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Alert an account's owner once when `min_contacts` contacts engage within
    `window_days`, then stay quiet for `quiet_days`."""

    min_contacts: int = 3
    window_days: float = 7.0
    quiet_days: float = 30.0


@dataclass(frozen=True, slots=True)
class Routing:
    """Account owner first (if set), then the first matching rule's team, else fallback."""

    teams: dict[str, Team] = field(default_factory=dict)
    rules: tuple[RoutingRule, ...] = ()
    fallback: str = ""
    account_owner_first: bool = True
    account_team: str | None = None
    alerts: AlertPolicy = AlertPolicy()


@dataclass(frozen=True, slots=True)
class SlaRule:
    """First touch within `first_touch_hours` business hours when `when` holds (None:
    always); escalated to the team manager after `escalate_after_breaches` breaches."""

    name: str
    first_touch_hours: float
    when: Condition | None = None
    escalate_after_breaches: int = 2
    description: str | None = None
