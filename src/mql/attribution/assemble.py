"""Journeys from the ledger: the touches of a person (contact level) or of every member of
an account's buying committee (account level) in the lookback window before each
opportunity was created, and the journeys that did not lead to one.

Inputs are plain rows (the store reads them); the channel, campaign or content a touch is
credited to is decided here, by the model's channel table (the one the cost report uses).

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> touches = [LedgerTouch(1, 10, t0, "events", None, None, None, None),
...            LedgerTouch(2, 10, t0 + timedelta(days=2), None, "cpc", "google", None, None)]
>>> opps = [LedgerOpportunity("opp-1", 10, 2, 5000.0, "won", t0 + timedelta(days=3))]
>>> built = assemble(touches, opps, {}, {}, AttributionSettings(), ReportSettings(),
...                  level="account")
>>> [t.channel for t in built.created[0].touches], built.won[0].value
(['events', 'paid_search'], 5000.0)
>>> [t.channel for t in assemble(touches, opps, {}, {}, AttributionSettings(),
...  ReportSettings()).created[0].touches]  # contact level: the primary contact's
['paid_search']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mql.analytics.channels import channel_of
from mql.attribution.journeys import Journey, Touch
from mql.model.attribution import AttributionSettings
from mql.model.reports import ReportSettings

LEVELS = ("contact", "account")
KEYS = ("channel", "campaign", "content")
NONE = "(none)"


@dataclass(frozen=True, slots=True)
class LedgerTouch:
    contact_id: int | None
    account_id: int | None
    at: datetime
    channel: str | None
    utm_medium: str | None
    utm_source: str | None
    campaign: str | None
    content: str | None


@dataclass(frozen=True, slots=True)
class LedgerOpportunity:
    key: str
    account_id: int | None
    contact_id: int | None  # the primary contact (else the first contact role)
    amount: float | None
    status: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class Person:
    account_id: int | None
    role: str | None
    mql_at: datetime | None


@dataclass(frozen=True)
class Assembled:
    """`created`: one journey per opportunity created (value: its amount) and one per
    person or account without an opportunity (nulls); `won`: the same journeys with
    only won opportunities converting (value: the won amount)."""

    created: list[Journey]
    won: list[Journey]
    notes: list[str] = field(default_factory=list)


def credited_key(t: LedgerTouch, by: str, reports: ReportSettings) -> str:
    """What a touch credits: its channel (by the channel table), campaign or content."""
    if by == "channel":
        return channel_of(t.channel, t.utm_medium, t.utm_source, reports)
    value = t.campaign if by == "campaign" else t.content
    return value.strip() if value and value.strip() else NONE


def assemble(touches: Sequence[LedgerTouch], opportunities: Sequence[LedgerOpportunity],
             people: Mapping[int, Person], roles: Mapping[tuple[str, int], str],
             settings: AttributionSettings, reports: ReportSettings, *,
             level: str = "contact", by: str = "channel", start: datetime | None = None,
             end: datetime | None = None) -> Assembled:
    """The journeys of the opportunities created in [start, end) and of the people (or
    accounts) without one whose last touch is in it. At the account level a touch weighs
    its member's role weight (the role on the opportunity, else the person's
    `committee_role`)."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r}: expected contact or account")
    if by not in KEYS:
        raise ValueError(f"by {by!r}: expected channel, campaign or content")
    lookback = timedelta(days=settings.lookback_days)
    keys: dict[tuple[str | None, ...], str] = {}

    def key_of(t: LedgerTouch) -> str:
        tags = (t.channel, t.utm_medium, t.utm_source, t.campaign, t.content)
        found = keys.get(tags)
        if found is None:
            found = keys[tags] = credited_key(t, by, reports)
        return found

    groups: dict[int, list[LedgerTouch]] = defaultdict(list)
    for t in touches:
        key = t.contact_id if level == "contact" else t.account_id
        if key is not None:
            groups[key].append(t)
    for g in groups.values():
        g.sort(key=lambda t: t.at)
    mql_by_account: dict[int, list[datetime]] = defaultdict(list)
    for p in people.values():
        if p.account_id is not None and p.mql_at is not None:
            mql_by_account[p.account_id].append(p.mql_at)

    def inside(at: datetime) -> bool:
        return (start is None or at >= start) and (end is None or at < end)

    created: list[Journey] = []
    won: list[Journey] = []
    converted_keys: set[int] = set()
    unlinked = 0
    for o in opportunities:
        key = o.contact_id if level == "contact" else o.account_id
        if key is None:
            unlinked += 1
            continue
        converted_keys.add(key)
        if not inside(o.opened_at):
            continue
        chosen = [t for t in groups.get(key, ()) if o.opened_at - lookback <= t.at
                  <= o.opened_at]
        built = []
        for t in chosen:
            weight = 1.0
            if level == "account" and (settings.roles or settings.default_role_weight != 1):
                person = people.get(t.contact_id) if t.contact_id is not None else None
                role = roles.get((o.key, t.contact_id)) if t.contact_id is not None else None
                weight = settings.role_weight(role or (person.role if person else None))
            built.append(Touch(key_of(t), t.at, weight))
        if level == "contact":
            person = people.get(key)
            leads = [person.mql_at] if person is not None and person.mql_at else []
        else:
            leads = mql_by_account.get(key, [])
        before = [m for m in leads if m <= o.opened_at]
        lead_at = min(before) if before else None
        amount = float(o.amount or 0.0)
        created.append(Journey(o.key, tuple(built), conversions=1.0, value=amount,
                               converted_at=o.opened_at, lead_at=lead_at,
                               opportunity_at=o.opened_at))
        is_won = o.status == "won"
        won.append(Journey(o.key, tuple(built), conversions=1.0 if is_won else 0.0,
                           nulls=0.0 if is_won else 1.0, value=amount if is_won else 0.0,
                           converted_at=o.opened_at, lead_at=lead_at,
                           opportunity_at=o.opened_at))
    for key, g in sorted(groups.items()):
        if key in converted_keys or not inside(g[-1].at):
            continue
        last = g[-1].at
        path = tuple(Touch(key_of(t), t.at) for t in g
                     if t.at >= last - lookback)
        null = Journey(f"{level} {key}", path, nulls=1.0)
        created.append(null)
        won.append(null)
    notes = []
    if unlinked:
        notes.append(f"{unlinked} opportunities without a {level} are not attributed")
    return Assembled(created, won, notes)
