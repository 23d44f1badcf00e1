"""Suppression at import (issue 17): an address on the suppression list (an erasure
leaves one, as its SHA-256) is not re-created by a later import, from a file or a
Segment message, unless consent was given again after the entry.

The rule is `mql.compliance.policy.suppression_of`, the one the hand-off gate reads: an
email entry is lifted by a grant dated after it. A grant for an address that has no
contact (its person was erased) cannot be stored as a consent record (a record belongs
to a contact), so it lifts the entry itself: the entry is removed and the lifting
audited (`consent.lifted`, the address only as its hash); the next import creates the
contact. A grant that arrives with the creating message (Segment `context.consent` on
an identify) lets that message through.

A refused row is quarantined with its file, row and field, but without its values: the
person asked to be forgotten, so the quarantine keeps only the address's hash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from mql.compliance.consent import Record
from mql.compliance.policy import Suppression, email_hash, suppression_of
from mql.identity.merge import IdentityRules
from mql.identity.normalize import clean_email
from mql.service.resolve import find_by_email
from mql.store import consent as consent_store
from mql.store import merges as audit_store
from mql.store import quarantine as quarantine_store

LIFTED = "consent.lifted"  # the audit action of a suppression lifted by a new consent
LIFTED_NOTE = ("this consent lifted the address's suppression: ingest the contact, then "
               "load this consent again")


def _clean(email: str) -> str | None:
    try:
        return clean_email(email) if email and "@" in email else None
    except ValueError:
        return None


def _entries(conn: Connection, emails: Iterable[str]) -> dict[str, Suppression]:
    """The email entries of the suppression list that match `emails`, by hash."""
    return {s.value: s for s in consent_store.suppressions_for(conn, emails=emails)
            if s.kind == "email"}


def blocked(conn: Connection, emails: Iterable[str], *, rules: IdentityRules, now: datetime,
            grants: Callable[[Iterable[str]], Mapping[str, Sequence[datetime]]] | None = None
            ) -> dict[str, str]:
    """Of `emails` (as given), the ones an import may not create a contact for, with the
    reason: no live contact holds the address and an email entry of the suppression list
    matches it, not lifted by a grant after it (`grants`: given the suspect addresses as
    given, the times of grants that came with their rows; asked only when an entry
    matches). Without any email entry on the list nothing is read or hashed."""
    if not consent_store.has_suppressions(conn, "email"):
        return {}
    clean = {e: c for e in set(emails) if (c := _clean(e)) is not None}
    if not clean:
        return {}
    entries = _entries(conn, clean.values())
    if not entries:
        return {}
    suspects = {e: c for e, c in clean.items() if email_hash(c) in entries}
    if not suspects:
        return {}
    live = find_by_email(conn, sorted(set(suspects.values())), rules)
    granted = grants([e for e, a in suspects.items() if a not in live]) if grants else {}
    out: dict[str, str] = {}
    for given, address in suspects.items():
        if address in live:
            continue  # the contact exists: the hand-off gate decides, not the import
        records = [Record("email", "granted", t) for t in granted.get(given, ())]
        why = suppression_of(list(entries.values()), email=address, domain=None,
                             account=None, records=records, at=now)
        if why is not None:
            out[given] = (f"{why}; the address is not re-created by an import until "
                          "consent is given again (`mql ingest consent`, POST /v1/consent)")
    return out


def held_row(kind: str, source: str, row: int, field: str, email: str, reason: str,
             mapping: str) -> quarantine_store.Held:
    """The quarantine row of a refused record: where it was and why, and only the hash
    of the address (no values of a person who asked to be forgotten)."""
    raw = json.dumps({"email_sha256": email_hash(_clean(email) or email),
                      "refused": "suppressed address"}, sort_keys=True)
    return quarantine_store.Held(kind, source, row, raw, field, reason, mapping)


def lift(conn: Connection, grants: Iterable[tuple[str, datetime, str]], *,
         rules: IdentityRules, now: datetime, actor: str) -> set[str]:
    """Lift the email entries that grants (address, time, source) given after them
    lift, for addresses no live contact holds; the addresses lifted (as given)."""
    wanted = [(g, c, at, source) for g, at, source in grants
              if (c := _clean(g)) is not None]
    if not wanted:
        return set()
    entries = _entries(conn, [c for _, c, _, _ in wanted])
    if not entries:
        return set()
    live = find_by_email(conn, sorted({c for _, c, _, _ in wanted}), rules)
    out: set[str] = set()
    gone: set[str] = set()
    for given, address, at, source in wanted:
        key = email_hash(address)
        if key in gone:
            out.add(given)
            continue
        entry = entries.get(key)
        if entry is None or address in live or at <= entry.at:
            continue
        if consent_store.remove_suppression(conn, "email", entry.value):
            audit_store.audit(conn, actor, LIFTED, None, {
                "kind": "email", "value": entry.value, "since": entry.at.isoformat(),
                "consent_at": at.isoformat(), "source": source[:200]}, now=now)
        gone.add(key)
        out.add(given)
    return out
