"""The consent gate: the verdicts of a batch of contacts (`mql.compliance.policy`) read
from the store once, and the audit lines of what the gate held or refused. The hand-off
(`mql.service.handoff`) and every notification about a lead pass through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.compliance.consent import statuses_at
from mql.compliance.policy import Suppression, Verdict, verdicts
from mql.model.consent import ConsentPolicy
from mql.records import Contact
from mql.store import consent as store
from mql.store import contacts as contact_store
from mql.store import handoff as handoff_store
from mql.store import merges as audit_store
from mql.store.tables import audit_log

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

    def load(self, conn: Connection, contact_ids: Iterable[int],
             contacts: Mapping[int, Contact] | None = None) -> Gate:
        """Read the batch's records; `contacts`: their contact records, when the caller
        has read them already (not read again)."""
        ids = [c for c in set(contact_ids) if c not in self.subjects]
        if not ids:
            return self
        if contacts is not None:
            records = {cid: contacts[cid] for cid in ids if cid in contacts}
        else:
            records = {cid: c.record for cid, c in
                       contact_store.load_contacts(conn, ids).items()}
        subjects = {cid: (r.attributes, r.email if r.has_email else None, r.account)
                    for cid, r in records.items()}
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


@dataclass(frozen=True, slots=True)
class LeadCompliance:
    """What a lead view says about consent as of a time: each recorded channel's status,
    and under a `consent:` policy the verdict (`may_contact` per channel, the
    jurisdiction) and the hold: `held` when the lead is an MQL without a seller because
    of the gate (consent, or a sector overlay: the reason audited at the hold);
    `hold_reason` also says why a lead that is not an MQL would be held."""

    consent: dict[str, str]
    may_contact: dict[str, bool] | None = None
    jurisdiction: str | None = None
    held: bool = False
    hold_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"consent": self.consent, "may_contact": self.may_contact,
                "jurisdiction": self.jurisdiction, "held": self.held,
                "hold_reason": self.hold_reason}


def lead_compliance(conn: Connection, policy: ConsentPolicy | None,
                    at: Mapping[int, datetime]) -> dict[int, LeadCompliance]:
    """The `LeadCompliance` of each contact at its moment (`at`: contact id -> time),
    from the gate's own verdict and the holds in the audit log."""
    ids = list(at)
    gate = Gate(policy).load(conn, ids) if policy is not None else None
    records = gate.records if gate is not None else store.records_of(conn, ids)
    rows = handoff_store.stages(conn, ids)
    routed = handoff_store.with_open_assignments(conn, ids)
    holds: dict[int, dict[str, Any]] = {}
    subjects = {f"contact:{c}": c for c in ids}
    for part in range(0, len(ids), 500):
        names = [f"contact:{c}" for c in ids[part:part + 500]]
        for subject, detail in conn.execute(
                sa.select(audit_log.c.subject, audit_log.c.detail)
                .where(audit_log.c.action == HOLD, audit_log.c.subject.in_(names))
                .order_by(audit_log.c.id)):
            holds[subjects[str(subject)]] = dict(detail)  # the newest wins
    out: dict[int, LeadCompliance] = {}
    for cid, t in at.items():
        statuses = statuses_at(records.get(cid, ()), t)
        verdict = gate.verdict(cid, t) if gate is not None else None
        row = rows.get(cid)
        waiting = row is not None and row.stage == "mql" and cid not in routed
        hold = holds.get(cid)
        in_stay = (waiting and hold is not None and row is not None
                   and (row.since is None or datetime.fromisoformat(str(hold["at"]))
                        >= row.since))
        reason = (verdict.reason if verdict is not None and verdict.held
                  else str(hold["reason"]) if in_stay and hold is not None else None)
        out[cid] = LeadCompliance(
            statuses, None if verdict is None else verdict.may_contact,
            None if verdict is None else verdict.jurisdiction,
            waiting and (in_stay or (verdict is not None and verdict.held)), reason)
    return out


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
