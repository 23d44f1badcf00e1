"""Retention of raw events per jurisdiction (issue 17): the model's
`consent.retention` (``{gdpr: 730d}``) says how long the raw events of a contact in a
jurisdiction are kept; `retain` deletes the older ones, with the collection inbox's and
the quarantine's payloads about them, and keeps what was derived from them (scores,
lifecycle transitions, assignments). Run by `mql privacy retain [--dry-run]` and by the
worker (at most once an hour); each run that is not a dry run writes one audit line
with the counts (`privacy.retain`).

What this costs, said plainly (docs/compliance.md): the stored scores and transitions
stay as they were, but an answer computed again from the ledger about a moment before
the bound (`mql explain --at`, a score history, a backtest, or a state re-derived after
a merge or a model change) no longer sees the deleted events and may differ. mql keeps
no copy of them: a snapshot of what they contributed would itself be the behavioural
data the retention is for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mql.compliance.policy import jurisdiction_of, retention_bound
from mql.model.consent import ConsentPolicy
from mql.store import merges as audit_store
from mql.store import privacy as store
from mql.store.db import translate_errors
from mql.store.inbox import inbox, open_inbox
from mql.store.migrate import check
from mql.store.tables import audit_log

RETAIN = "privacy.retain"
EVERY = timedelta(hours=1)  # how often the worker applies it
_CHUNK = 500
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(slots=True)
class Retained:
    """Per jurisdiction: the bound's days, the contacts under it, and the rows older
    than it (deleted, or with a dry run: that would be)."""

    days: int
    before: datetime
    contacts: int = 0
    events: int = 0
    quarantine: int = 0
    inbox: int = 0


@dataclass(slots=True)
class RetentionReport:
    at: datetime
    dry_run: bool
    by_jurisdiction: dict[str, Retained] = field(default_factory=dict)
    configured: bool = True  # the live model has a `consent.retention`

    @property
    def events(self) -> int:
        return sum(r.events for r in self.by_jurisdiction.values())

    def as_dict(self) -> dict[str, object]:
        return {name: {"days": r.days, "before": r.before.isoformat(),
                       "contacts": r.contacts, "events": r.events,
                       "quarantine": r.quarantine, "inbox": r.inbox}
                for name, r in sorted(self.by_jurisdiction.items())}


def _policy(conn: Connection) -> ConsentPolicy | None:
    from mql.service import state as states  # the scoring state imports services

    return states.live_model(conn).model.consent


def _apply(conn: Connection, policy: ConsentPolicy, now: datetime, dry_run: bool,
           report: RetentionReport) -> dict[str, tuple[datetime, str]]:
    """Delete (or count) the old events and quarantined rows; the bound and the
    jurisdiction of each address (for the inbox)."""
    emails: dict[str, tuple[datetime, str]] = {}
    subjects: dict[str, tuple[datetime, str]] = {}  # deleted event ids
    after = 0
    while True:
        rows = store.contact_places(conn, after, _CHUNK)
        if not rows:
            break
        after = rows[-1][0]
        groups: dict[str, list[tuple[int, str | None]]] = {}
        for cid, email, attributes in rows:
            groups.setdefault(jurisdiction_of(policy, attributes), []).append((cid, email))
        for name, members in groups.items():
            before = retention_bound(policy, name, now)
            if before is None:
                continue
            r = report.by_jurisdiction.setdefault(
                name, Retained(policy.retention[name], before))
            r.contacts += len(members)
            ids = [cid for cid, _ in members]
            addresses = sorted({e.lower() for _, e in members if e and "@" in e})
            emails.update({e: (before, name) for e in addresses})
            events = store.old_event_ids(conn, ids, before)
            subjects.update({e: (before, name) for e in events})
            r.events += len(events) if dry_run else store.delete_events(conn, ids, before)
    if emails or subjects:  # the quarantine's rows about them (by address or event id)
        latest = max(before for before, _ in (*emails.values(), *subjects.values()))
        gone: list[int] = []
        for qid, subject, raw, created in store.quarantine_before(conn, latest):
            hit = _about(f"{subject} {raw}", _aware(created), emails, subjects.get(subject))
            if hit is not None:
                gone.append(qid)
                report.by_jurisdiction[hit].quarantine += 1
        if gone and not dry_run:
            store.delete_quarantine(conn, gone)
    return emails


def _about(text: str, when: datetime, emails: dict[str, tuple[datetime, str]],
           subject: tuple[datetime, str] | None) -> str | None:
    """The jurisdiction whose bound a held row or message older than it falls under:
    by an address it names, or (`subject`) the event it is about."""
    if subject is not None and when < subject[0]:
        return subject[1]
    return next((emails[e][1] for e in _ADDRESS.findall(text.lower())
                 if e in emails and when < emails[e][0]), None)


def _inbox(engine: Engine, emails: dict[str, tuple[datetime, str]],
           report: RetentionReport, dry_run: bool) -> None:
    """The collection inbox's messages about the addresses, received before their
    bound (a message is about an address it names in its email, userId or traits)."""
    if not emails:
        return
    latest = max(before for before, _ in emails.values())
    box = open_inbox(engine)
    with box.begin() as conn:
        old = conn.execute(sa.select(inbox.c.id, inbox.c.payload, inbox.c.received_at)
                           .where(inbox.c.received_at < latest)).all()
        gone: list[int] = []
        for mid, payload, received in old:
            hit = _about(str(payload), _aware(received), emails, None)
            if hit is not None:
                gone.append(int(mid))
                report.by_jurisdiction[hit].inbox += 1
        if gone and not dry_run:
            for i in range(0, len(gone), _CHUNK):
                conn.execute(inbox.delete().where(inbox.c.id.in_(gone[i:i + _CHUNK])))


def retain(engine: Engine, *, now: datetime, dry_run: bool = False, actor: str = "cli"
           ) -> RetentionReport:
    """Apply the live model's `consent.retention` at `now` (see the module)."""
    check(engine)
    report = RetentionReport(now, dry_run)
    with translate_errors("applying the retention of raw events"), engine.begin() as conn:
        policy = _policy(conn)
        if policy is None or not policy.retention:
            report.configured = False
            return report
        emails = _apply(conn, policy, now, dry_run, report)
    with translate_errors("applying the retention to the inbox"):
        _inbox(engine, emails, report, dry_run)
    if not dry_run:
        with translate_errors("auditing the retention"), engine.begin() as conn:
            audit_store.audit(conn, actor, RETAIN, None, {
                "at": now.isoformat(), "jurisdictions": report.as_dict()}, now=now)
    return report


def due(engine: Engine, *, now: datetime, every: timedelta = EVERY) -> bool:
    """Whether the worker should apply the retention now: the live model has one and
    the last run is `every` ago (or none ran)."""
    with translate_errors("reading the retention schedule"), engine.connect() as conn:
        policy = _policy(conn)
        if policy is None or not policy.retention:
            return False
        last = conn.execute(sa.select(sa.func.max(audit_log.c.at)).where(
            audit_log.c.action == RETAIN)).scalar_one()
    return last is None or _aware(last) <= now - every


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)

