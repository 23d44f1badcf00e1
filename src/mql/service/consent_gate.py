"""The consent gate: the verdicts of a batch of contacts (`mql.compliance.policy`) read
from the store once, and the audit lines of what the gate held or refused. The hand-off
(`mql.service.handoff`) and every notification about a lead pass through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from mql.compliance.policy import Suppression, Verdict, verdicts
from mql.model.consent import ConsentPolicy
from mql.store import consent as store
from mql.store import contacts as contact_store
from mql.store import merges as audit_store

HOLD = "consent.hold"  # the audit action of a lead held for compliance
REFUSED = "consent.refused"  # a notification about a held lead that was not sent


class Gate:
    """The verdicts of a batch of contacts: their records, addresses and the suppression
    entries that can match them are read once (`load`), each verdict computed in memory
    at the moment asked (the past does not change: records after it are not read)."""

    def __init__(self, policy: ConsentPolicy) -> None:
        self.policy = policy
        self.subjects: dict[int, tuple[Mapping[str, Any], str | None, str | None]] = {}
        self.records: dict[int, list[Any]] = {}
        self.entries: list[Suppression] = []

    def load(self, conn: Connection, contact_ids: Iterable[int]) -> Gate:
        ids = [c for c in set(contact_ids) if c not in self.subjects]
        if not ids:
            return self
        stored = contact_store.load_contacts(conn, ids)
        subjects = {cid: (c.record.attributes, c.record.email if c.record.has_email
                          else None, c.record.account) for cid, c in stored.items()}
        emails = [e for _, e, _ in subjects.values() if e]
        domains = ({e.rsplit("@", 1)[1] for e in emails}
                   | {a for _, _, a in subjects.values() if a})
        known = {(e.kind, e.value) for e in self.entries}
        self.entries += [e for e in store.suppressions_for(conn, emails=emails,
                                                           domains=domains)
                         if (e.kind, e.value) not in known]
        self.records.update(store.records_of(conn, subjects))
        self.subjects.update(subjects)
        return self

    def verdict(self, cid: int, at: datetime) -> Verdict | None:
        """The verdict of a loaded contact at `at` (None: not a loaded contact)."""
        if cid not in self.subjects:
            return None
        return verdicts(self.policy, {cid: self.subjects[cid]}, self.records,
                        self.entries, {cid: at})[cid]


def verdicts_of(conn: Connection, policy: ConsentPolicy, at: Mapping[int, datetime]
                ) -> dict[int, Verdict]:
    """The verdict of each contact at its moment (`at`: contact id -> time)."""
    gate = Gate(policy).load(conn, at)
    return {cid: v for cid, t in at.items() if (v := gate.verdict(cid, t)) is not None}


def record_hold(conn: Connection, cid: int, verdict: Verdict, now: datetime) -> None:
    """A lead held for compliance, in the audit log (no address: the contact's id)."""
    audit_store.audit(conn, "mql", HOLD, f"contact:{cid}", {
        "contact_id": cid, "at": verdict.at.isoformat(), "jurisdiction": verdict.jurisdiction,
        "reason": verdict.reason, "may_contact": verdict.may_contact}, now=now)


def record_overlay_hold(conn: Connection, cid: int, at: datetime, reason: str,
                        overlays: Iterable[str]) -> None:
    """A lead held because no seller the routing reaches meets a sector overlay (the
    routing gate, `mql.routing.overlays`), in the audit log like a consent hold; its
    "jurisdiction" is the overlays' names."""
    names = list(overlays)
    audit_store.audit(conn, "mql", HOLD, f"contact:{cid}", {
        "contact_id": cid, "at": at.isoformat(), "jurisdiction": ", ".join(names),
        "overlays": names, "reason": f"sector overlay: {reason}"}, now=at)


def record_refusal(conn: Connection, cid: int, topic: str, verdict: Verdict,
                   now: datetime) -> None:
    """A notification about a held lead that was not sent, in the audit log."""
    audit_store.audit(conn, "mql", REFUSED, f"contact:{cid}", {
        "contact_id": cid, "topic": topic, "at": verdict.at.isoformat(),
        "reason": verdict.reason}, now=now)
