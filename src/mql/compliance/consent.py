"""Consent records and the consent state of one channel as of a time.

A record says that at `at` a person's consent for a channel (and purpose) became
`status` (granted, denied, withdrawn) on a legal `basis`. Every change is kept; the
state as of t is read from the records at or before t, so the past does not change when
later records arrive:

- the newest record for the channel wins; two at the same moment: the stricter;
- a record on channel ``all`` (a global do-not-contact) that denies or withdraws wins
  over every channel's own records until an ``all`` record grants again;
- records of merged contacts keep their origin (the contact they were given by): the
  state of a merged person is the stricter of the states of its origins that have a
  record for the channel, so consent never flows from one record to another
  (`mql.identity.merge.stricter_consent`);
- a granted consent with an expiry (the record's own, or the policy's months for its
  basis: CASL's implied consent) lapses at that exact moment: status ``expired``.

>>> from datetime import UTC, datetime
>>> jan, mar = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)
>>> rs = [Record("email", "granted", jan, "consent"), Record("email", "withdrawn", mar)]
>>> state_at(rs, "email", datetime(2025, 2, 1, tzinfo=UTC)).status
'granted'
>>> state_at(rs, "email", mar).status, state_at(rs, "phone", mar).status
('withdrawn', 'unknown')
>>> add_months(datetime(2025, 8, 31, tzinfo=UTC), 6).date()
datetime.date(2026, 2, 28)
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from mql.identity.merge import stricter_consent
from mql.model.consent import ALL, BASES, CHANNELS, STATUSES

# words other systems (and the synthetic world) use for a basis, in mql's words
BASIS_ALIASES: Mapping[str, str] = MappingProxyType({
    "express_consent": "consent", "express": "consent", "opt_in": "consent",
    "explicit_consent": "consent", "double_opt_in": "consent",
    "opt_out_default": "legitimate_interest", "li": "legitimate_interest",
    "legitimate_interests": "legitimate_interest",
    "implied": "implied_inquiry", "inquiry": "implied_inquiry",
    "implied_purchase": "implied_purchase", "purchase": "implied_purchase",
    "ebr": "existing_business_relationship", "customer": "existing_business_relationship",
    "no_consent": "none", "unsubscribe": "none", "opt_out": "none", "": "none"})
STATUS_ALIASES: Mapping[str, str] = MappingProxyType({
    "opted_in": "granted", "opt_in": "granted", "subscribed": "granted", "yes": "granted",
    "true": "granted", "opted_out": "withdrawn", "opt_out": "withdrawn",
    "unsubscribed": "withdrawn", "revoked": "withdrawn", "no": "denied", "false": "denied",
    "declined": "denied", "refused": "denied"})
EXPIRED = "expired"


def basis_of(text: str | None) -> str | None:
    """mql's word for a legal basis, or None when `text` is not one.

    >>> basis_of("Express Consent"), basis_of("opt_out_default"), basis_of("gut feeling")
    ('consent', 'legitimate_interest', None)
    """
    key = "_".join((text or "").strip().lower().replace("-", " ").split())
    key = BASIS_ALIASES.get(key, key)
    return key if key in BASES else None


def status_of(text: str | None) -> str | None:
    """mql's word for a consent status, or None.

    >>> status_of("Unsubscribed"), status_of("granted"), status_of("maybe")
    ('withdrawn', 'granted', None)
    """
    key = "_".join((text or "").strip().lower().replace("-", " ").split())
    key = STATUS_ALIASES.get(key, key)
    return key if key in STATUSES else None


def channel_of(text: str | None) -> str | None:
    """mql's word for an outreach channel (``all`` for a global do-not-contact), or None.

    >>> channel_of("E-mail"), channel_of("Phone"), channel_of("fax")
    ('email', 'phone', None)
    """
    key = "_".join((text or "").strip().lower().replace("-", "").split())
    key = {"mail": "email", "call": "phone", "telephone": "phone", "text": "sms",
           "advertising": "ads", "sales_outreach": "sales", "any": ALL}.get(key, key)
    return key if key in (*CHANNELS, ALL) else None


@dataclass(frozen=True, slots=True)
class Record:
    """One consent change: channel, status, when, on which basis; `origin` is the
    contact it was given by (kept across merges), `expires_at` the record's own expiry."""

    channel: str
    status: str
    at: datetime
    basis: str = "none"
    purpose: str = "marketing"
    source: str | None = None
    expires_at: datetime | None = None
    origin: int | None = None
    evidence: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class ChannelState:
    """The consent of one channel as of a time: status (granted, denied, withdrawn,
    unknown: no record, expired: a granted consent that lapsed), the record that decided
    it, and when a granted consent lapses (None: it does not)."""

    channel: str
    status: str
    record: Record | None = None
    expires_at: datetime | None = None

    @property
    def basis(self) -> str | None:
        return None if self.record is None else self.record.basis


def add_months(t: datetime, months: int) -> datetime:
    """`t` moved by whole calendar months (the last day of a shorter month when the day
    does not exist in it), same time of day."""
    index = t.month - 1 + months
    year, month = t.year + index // 12, index % 12 + 1
    return t.replace(year=year, month=month,
                     day=min(t.day, calendar.monthrange(year, month)[1]))


def _tie(r: Record) -> tuple[str, float]:
    """Of two records of one status at one moment, the larger of this wins: the larger
    basis, then the own expiry that comes first (a grant that lapses is the stricter)."""
    return r.basis, -(r.expires_at.timestamp() if r.expires_at is not None else math.inf)


def _newest(records: Iterable[Record], at: datetime) -> Record | None:
    """The newest record at or before `at`; at one moment, the stricter status (then the
    larger basis, then the sooner own expiry, so the outcome does not depend on the order
    records arrive in)."""
    best: Record | None = None
    for r in records:
        if r.at > at:
            continue
        if best is None or r.at > best.at:
            best = r
        elif r.at == best.at:
            strict = stricter_consent(best.status, r.status)
            if strict != best.status or (r.status == best.status and _tie(r) > _tie(best)):
                best = r
    return best


def expiry_of(record: Record, expiry_months: Mapping[str, int]) -> datetime | None:
    """When a granted `record` lapses: its own expiry, or the policy's months for its
    basis after it was given, whichever is sooner; None when neither applies."""
    if record.status != "granted":
        return None
    months = expiry_months.get(record.basis)
    ends = [t for t in (record.expires_at,
                        add_months(record.at, months) if months is not None else None)
            if t is not None]
    return min(ends) if ends else None


def _one_origin(records: list[Record], channel: str, at: datetime,
                expiry_months: Mapping[str, int]) -> ChannelState:
    own = _newest((r for r in records if r.channel == channel), at)
    overall = _newest((r for r in records if r.channel == ALL), at)
    if overall is not None and overall.status in ("denied", "withdrawn") and (
            own is None or stricter_consent(own.status, overall.status) == overall.status):
        return ChannelState(channel, overall.status, overall)
    if own is None:
        return ChannelState(channel, "unknown")
    ends = expiry_of(own, expiry_months)
    if ends is not None and ends <= at:
        return ChannelState(channel, EXPIRED, own, ends)
    return ChannelState(channel, own.status, own, ends)


_STRICT = {"granted": 0, "unknown": 1, EXPIRED: 1, "denied": 2, "withdrawn": 3}


def state_at(records: Iterable[Record], channel: str, at: datetime,
             expiry_months: Mapping[str, int] | None = None) -> ChannelState:
    """The consent of `channel` as of `at` from every record of a person (of every
    origin, when merged: the stricter origin's state wins)."""
    months = expiry_months or {}
    by_origin: dict[int | None, list[Record]] = {}
    for r in records:
        by_origin.setdefault(r.origin, []).append(r)
    states = [s for _, rs in sorted(by_origin.items(), key=lambda kv: (kv[0] is None,
                                                                         kv[0] or 0))
              if (s := _one_origin(rs, channel, at, months)).status != "unknown"]
    if not states:
        return ChannelState(channel, "unknown")
    # the stricter state (an origin without a record for the channel decides nothing);
    # between two grants, the one that lapses first
    return max(states, key=lambda s: (_STRICT[s.status], -(s.expires_at.timestamp()
                                                           if s.expires_at else math.inf)))


def statuses_at(records: Iterable[Record], at: datetime) -> dict[str, str]:
    """Each recorded channel's consent status as of `at` (`state_at`; records after `at`
    are not read): what a notification or a lead view says per channel.

    >>> from datetime import UTC
    >>> jan, mar = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)
    >>> rs = [Record("email", "withdrawn", jan), Record("email", "granted", mar)]
    >>> statuses_at(rs, jan), statuses_at(rs, mar), statuses_at(rs, jan.replace(year=2024))
    ({'email': 'withdrawn'}, {'email': 'granted'}, {})
    """
    known = [r for r in records if r.at <= at]
    return {channel: state_at(known, channel, at).status
            for channel in dict.fromkeys(r.channel for r in known)}


def changes_after(records: Iterable[Record], at: datetime,
                  expiry_months: Mapping[str, int] | None = None) -> datetime | None:
    """The next moment after `at` when a channel's state can change by itself (a granted
    consent lapsing): what a scheduler wakes up for, as it does for score decay."""
    months = expiry_months or {}
    ends = [e for r in records if (e := expiry_of(r, months)) is not None and e > at]
    return min(ends) if ends else None
