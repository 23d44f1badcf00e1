"""The verdict: may we reach this contact on each channel at time t, and why not.

In order, for every channel:

1. a suppression (the email, its domain or its account on a suppression list) forbids
   every channel; an email suppression is lifted by a consent granted after it;
2. the channel's consent state as of t (`mql.compliance.consent.state_at`): denied,
   withdrawn or expired forbid;
3. granted permits when the jurisdiction's rule accepts its basis for the channel;
4. no record permits only on the channels the jurisdiction's rule lists under
   `without_record` (opt-out).

A lead is *held for compliance* when none of the policy's hand-off channels is
permitted: it is still scored and may be an MQL, but no seller gets it and nothing about
it leaves mql.

>>> from datetime import UTC, datetime
>>> from mql.compliance.consent import Record
>>> from mql.model.consent import DEFAULT_POLICY
>>> at = datetime(2025, 6, 1, tzinfo=UTC)
>>> v = evaluate(DEFAULT_POLICY, [Record("email", "withdrawn", datetime(2025, 5, 1,
...              tzinfo=UTC))], country="DE", at=at)
>>> v.jurisdiction, v.may_contact["email"], v.may_contact["phone"], v.held
('gdpr', False, False, True)
>>> for part in v.reason.split("; "): print(part)
no hand-off channel is permitted: email: consent withdrawn on 2025-05-01
phone: no phone consent on record (gdpr needs consent or legitimate_interest)
>>> evaluate(DEFAULT_POLICY, [], country="US", at=at).may_contact["email"]
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from mql.compliance import jurisdictions
from mql.compliance.consent import EXPIRED, ChannelState, Record, changes_after, state_at
from mql.model.consent import CHANNELS, ConsentPolicy

SUPPRESSION_KINDS = ("email", "domain", "account")


def email_hash(email: str) -> str:
    """The key of an email on a suppression list: SHA-256 of the trimmed, lower-cased
    address (an erased person's address is kept only this way).

    >>> email_hash(" Ann@Acme.example ")[:12]  # sha256sum of "ann@acme.example"
    'b759382850d6'
    """
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Suppression:
    """An entry of a suppression list: kind (email: `value` is `email_hash`; domain;
    account: the account's domain), since when, why."""

    kind: str
    value: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Permission:
    """One channel's verdict: permitted or not, in words, and the consent state read."""

    channel: str
    allowed: bool
    reason: str
    state: ChannelState


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every channel's verdict for one contact at `at`, under `jurisdiction`."""

    at: datetime
    jurisdiction: str
    permissions: tuple[Permission, ...]
    handoff_channels: tuple[str, ...]
    suppressed: str | None = None
    next_change: datetime | None = None  # when a granted consent lapses next

    @property
    def may_contact(self) -> dict[str, bool]:
        return {p.channel: p.allowed for p in self.permissions}

    @property
    def held(self) -> bool:
        """No hand-off channel is permitted: the lead goes to compliance hold."""
        allowed = self.may_contact
        return not any(allowed.get(c, False) for c in self.handoff_channels)

    @property
    def reason(self) -> str | None:
        """Why the lead is held, in words (None when it is not)."""
        if not self.held:
            return None
        if self.suppressed is not None:
            return self.suppressed
        why = {p.channel: p.reason for p in self.permissions}
        return "no hand-off channel is permitted: " + "; ".join(
            f"{c}: {why.get(c, 'not a channel')}" for c in self.handoff_channels)

    def as_dict(self) -> dict[str, object]:
        """The verdict as data (the lead API, the explain view, exports)."""
        return {"at": self.at.isoformat(), "jurisdiction": self.jurisdiction,
                "may_contact": self.may_contact, "held": self.held, "reason": self.reason,
                "suppressed": self.suppressed,
                "next_change": None if self.next_change is None else
                self.next_change.isoformat(),
                "channels": {p.channel: {"allowed": p.allowed, "status": p.state.status,
                                         "basis": p.state.basis, "why": p.reason}
                             for p in self.permissions}}


def _day(t: datetime) -> str:
    return t.date().isoformat()


def suppression_of(entries: Iterable[Suppression], *, email: str | None, domain: str | None,
                   account: str | None, records: Iterable[Record], at: datetime
                   ) -> str | None:
    """Why the contact is suppressed at `at`, in words (None: it is not). An email entry
    is lifted by a consent granted after it; domain and account entries always win."""
    grants = [r.at for r in records if r.status == "granted" and r.at <= at]
    key = email_hash(email) if email else None
    for s in sorted(entries, key=lambda s: (s.at, s.kind, s.value)):
        if s.at > at:
            continue
        hit = ((s.kind == "email" and s.value == key)
               or (s.kind == "domain" and domain is not None and s.value == domain)
               or (s.kind == "account" and account is not None and s.value == account))
        if not hit:
            continue
        if s.kind == "email" and any(g > s.at for g in grants):
            continue  # consent was given again after the suppression
        because = f" ({s.reason})" if s.reason else ""
        return f"suppressed: {s.kind} on the suppression list since {_day(s.at)}{because}"
    return None


def _permission(policy: ConsentPolicy, jurisdiction: str, state: ChannelState
                ) -> Permission:
    rule = policy.rule(jurisdiction)
    channel, record = state.channel, state.record
    accepted = rule.allow.get(channel, ())
    needs = " or ".join(accepted) if accepted else "a basis it does not accept on this channel"
    if state.status in ("denied", "withdrawn"):
        assert record is not None
        scope = "" if record.channel == channel else " (every channel)"
        return Permission(channel, False, f"consent {state.status}{scope} on "
                          f"{_day(record.at)}", state)
    if state.status == EXPIRED:
        assert record is not None and state.expires_at is not None
        return Permission(channel, False, f"{record.basis} consent of {_day(record.at)} "
                          f"lapsed on {_day(state.expires_at)} ({rule.name})", state)
    if state.status == "granted":
        assert record is not None
        if record.basis in accepted or channel in rule.without_record:
            # under opt-out any grant permits (no record would)
            return Permission(channel, True, f"granted on {record.basis} since "
                              f"{_day(record.at)}", state)
        return Permission(channel, False, f"{channel} rests on {record.basis}, which "
                          f"{rule.name} does not accept (needs {needs})", state)
    if channel in rule.without_record:
        return Permission(channel, True, f"no record needed under {rule.name} (opt-out)",
                          state)
    return Permission(channel, False, f"no {channel} consent on record ({rule.name} needs "
                      f"{needs})", state)


def evaluate(policy: ConsentPolicy, records: Iterable[Record], *, country: object,
             at: datetime, region: object = None, email: str | None = None,
             domain: str | None = None, account: str | None = None,
             suppressions: Iterable[Suppression] = ()) -> Verdict:
    """The verdict for a contact with these consent `records` in `country` at `at`."""
    kept = list(records)
    where = jurisdictions.of(country, region, overrides=policy.countries)
    rule = policy.rule(where)
    suppressed = suppression_of(suppressions, email=email, domain=domain, account=account,
                                records=kept, at=at)
    permissions = []
    for channel in CHANNELS:
        state = state_at(kept, channel, at, rule.expiry)
        if suppressed is not None:
            permissions.append(Permission(channel, False, suppressed, state))
        else:
            permissions.append(_permission(policy, where, state))
    return Verdict(at, where, tuple(permissions), policy.handoff_channels, suppressed,
                   changes_after(kept, at, rule.expiry))


def verdicts(policy: ConsentPolicy, subjects: Mapping[int, tuple[Mapping[str, object],
                                                                 str | None, str | None]],
             records: Mapping[int, list[Record]], suppressions: Iterable[Suppression],
             at: Mapping[int, datetime]) -> dict[int, Verdict]:
    """The verdict of many contacts: `subjects` maps a contact id to (its attributes,
    email, account domain), `at` to the moment of its decision."""
    entries = list(suppressions)
    out = {}
    for cid, (attributes, email, account) in subjects.items():
        domain = email.rsplit("@", 1)[1] if email and "@" in email else None
        out[cid] = evaluate(policy, records.get(cid, ()), country=attributes.get("country"),
                            region=attributes.get("region") or attributes.get("state"),
                            at=at[cid], email=email, domain=domain, account=account,
                            suppressions=entries)
    return out


def jurisdiction_of(policy: ConsentPolicy, attributes: Mapping[str, object]) -> str:
    """The jurisdiction of a contact with these attributes (country, and region or
    state), under the policy's country table: what `verdicts` reads."""
    return jurisdictions.of(attributes.get("country"),
                            attributes.get("region") or attributes.get("state"),
                            overrides=policy.countries)


def retention_bound(policy: ConsentPolicy, jurisdiction: str, now: datetime
                    ) -> datetime | None:
    """The moment before which a contact's raw events in `jurisdiction` are deleted
    (`consent.retention`); None when they are kept (a jurisdiction not named)."""
    days = policy.retention.get(jurisdiction)
    return None if days is None else now - timedelta(days=days)
