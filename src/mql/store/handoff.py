"""Stages, lifecycle history, assignments, routing state, webhooks and the outbox.

Work is claimed with row locks where the database has them (PostgreSQL
`FOR UPDATE SKIP LOCKED`), so several workers can share one database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store.accounts import chunks
from mql.store.tables import (
    accounts,
    assignments,
    audit_log,
    contacts,
    events,
    intent_resets,
    lifecycle_history,
    outbox,
    routing_state,
    webhooks,
)


@dataclass(frozen=True, slots=True)
class StageRow:
    contact_id: int
    stage: str | None
    since: datetime | None
    owner: str | None
    due: datetime | None = None  # the next time-based move (contacts.due_at)


def stages(conn: Connection, ids: Iterable[int]) -> dict[int, StageRow]:
    """The lifecycle stage, since when, and owner of each contact in `ids`."""
    wanted = list(set(ids))
    out: dict[int, StageRow] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        for cid, stage, since, owner, due in conn.execute(
                sa.select(contacts.c.id, contacts.c.lifecycle_stage, contacts.c.stage_since,
                          contacts.c.owner, contacts.c.due_at).where(contacts.c.id.in_(part))):
            out[int(cid)] = StageRow(int(cid), stage, since, owner, due)
    return out


def set_stage(conn: Connection, contact_id: int, stage: str, since: datetime) -> None:
    conn.execute(contacts.update().where(contacts.c.id == contact_id).values(
        lifecycle_stage=stage, stage_since=since, updated_at=since))


def set_stages(conn: Connection, moves: Mapping[int, tuple[str, datetime]]) -> None:
    """`set_stage` for many contacts in one statement: {contact id: (stage, since)}."""
    if moves:
        conn.execute(contacts.update().where(contacts.c.id == sa.bindparam("b_id")).values(
            lifecycle_stage=sa.bindparam("b_stage"), stage_since=sa.bindparam("b_since"),
            updated_at=sa.bindparam("b_since")),
            [{"b_id": i, "b_stage": stage, "b_since": since}
             for i, (stage, since) in moves.items()])


def set_due(conn: Connection, due: Mapping[int, datetime | None]) -> None:
    """When each contact's next time-based move is due (None: nothing scheduled)."""
    if due:
        conn.execute(contacts.update().where(contacts.c.id == sa.bindparam("b_id")).values(
            due_at=sa.bindparam("b_due")), [{"b_id": i, "b_due": t} for i, t in due.items()])


def set_owner(conn: Connection, contact_id: int, owner: str | None) -> None:
    conn.execute(contacts.update().where(contacts.c.id == contact_id).values(owner=owner))


def add_history(conn: Connection, contact_id: int, source: str | None, target: str,
                at: datetime, cause: str, actor: str, model_version_id: int | None,
                reason: str | None) -> None:
    conn.execute(lifecycle_history.insert().values(
        contact_id=contact_id, from_stage=source, to_stage=target, at=at, cause=cause,
        actor=actor, model_version_id=model_version_id, reason=reason))


def add_history_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """`add_history` for many transitions in one statement, inserted in the given order:
    rows of contact_id, from_stage, to_stage, at, cause, actor, model_version_id, reason."""
    if rows:
        conn.execute(lifecycle_history.insert(), [dict(r) for r in rows])


def history(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    """Every transition of the contact, oldest first."""
    rows = conn.execute(lifecycle_history.select().where(
        lifecycle_history.c.contact_id == contact_id).order_by(
        lifecycle_history.c.at, lifecycle_history.c.id))
    return [dict(r._mapping) for r in rows]


def add_resets(conn: Connection, rows: Iterable[tuple[int, datetime, str]]) -> None:
    """Store (contact id, moment, cause) intent resets: from each moment on, only the
    contact's fresh activity counts (`requalify: fresh_intent`)."""
    values = [{"contact_id": c, "at": at, "cause": cause} for c, at, cause in rows]
    if values:
        conn.execute(intent_resets.insert(), values)


def resets_of(conn: Connection, ids: Iterable[int] | None = None) -> dict[int, list[datetime]]:
    """Each contact's intent resets, oldest first (contacts without any are left out;
    `ids` None: every contact)."""
    out: dict[int, list[datetime]] = {}
    query = sa.select(intent_resets.c.contact_id, intent_resets.c.at).order_by(
        intent_resets.c.contact_id, intent_resets.c.at)
    parts = [None] if ids is None else list(chunks(set(ids)))
    for part in parts:
        q = query if part is None else query.where(intent_resets.c.contact_id.in_(part))
        for cid, at in conn.execute(q):
            out.setdefault(int(cid), []).append(at)
    return out


def history_count(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(lifecycle_history))
               .scalar_one())


def due_contacts(conn: Connection, now: datetime, limit: int) -> list[int]:
    """Contacts whose next time-based move is due, claimed for this transaction."""
    query = (sa.select(contacts.c.id).where(contacts.c.due_at <= now)
             .order_by(contacts.c.due_at).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [int(i) for (i,) in conn.execute(query)]


def claim_due(conn: Connection, now: datetime, limit: int) -> dict[int, datetime]:
    """`due_contacts` with each one's due moment (earliest first), in one read."""
    query = (sa.select(contacts.c.id, contacts.c.due_at).where(contacts.c.due_at <= now)
             .order_by(contacts.c.due_at).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return {int(i): t for i, t in conn.execute(query)}


def mqls_due_by(conn: Connection, at: datetime) -> list[int]:
    """The MQLs whose time-based move is due at or before `at`."""
    return [int(i) for (i,) in conn.execute(sa.select(contacts.c.id).where(
        contacts.c.due_at <= at, contacts.c.lifecycle_stage == "mql"))]


def due_times(conn: Connection, ids: list[int]) -> dict[int, datetime | None]:
    rows = conn.execute(sa.select(contacts.c.id, contacts.c.due_at).where(contacts.c.id.in_(ids)))
    return {int(i): t for i, t in rows}


def next_due(conn: Connection) -> datetime | None:
    """The earliest scheduled lifecycle move or SLA deadline (the worker sleeps until it)."""
    a = conn.execute(sa.select(sa.func.min(contacts.c.due_at))).scalar()
    b = conn.execute(sa.select(sa.func.min(assignments.c.sla_due_at)).where(
        assignments.c.status.in_(("open", "breached")))).scalar()
    found = [t for t in (a, b) if t is not None]
    return min(found) if found else None


# -- assignments and routing ---------------------------------------------------------------

def open_assignment(conn: Connection, contact_id: int, *, touched: bool = False
                    ) -> dict[str, Any] | None:
    """The contact's newest untouched assignment (with `touched`: also met or late ones,
    i.e. any that is not closed)."""
    statuses = ("open", "breached", "escalated") + (("met", "late") if touched else ())
    row = conn.execute(assignments.select().where(
        assignments.c.contact_id == contact_id,
        assignments.c.status.in_(statuses)).order_by(assignments.c.id.desc()).limit(1)).first()
    return None if row is None else dict(row._mapping)


def add_assignment(conn: Connection, **values: Any) -> int:
    result = conn.execute(assignments.insert().values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_assignment(conn: Connection, assignment_id: int, **values: Any) -> None:
    conn.execute(assignments.update().where(assignments.c.id == assignment_id).values(**values))


def close_assignments(conn: Connection, contact_id: int, status: str = "closed") -> int:
    """Close the contact's open assignments; returns how many there were."""
    return int(conn.execute(assignments.update().where(
        assignments.c.contact_id == contact_id,
        assignments.c.status.in_(("open", "breached", "escalated"))).values(status=status))
        .rowcount)


def close_assignments_of(conn: Connection, contact_ids: Iterable[int],
                         status: str = "closed") -> None:
    """`close_assignments` for many contacts, one statement per 500."""
    for part in chunks(dict.fromkeys(contact_ids)):
        conn.execute(assignments.update().where(
            assignments.c.contact_id.in_(part),
            assignments.c.status.in_(("open", "breached", "escalated"))).values(status=status))


def update_assignments(conn: Connection, changes: Sequence[Mapping[str, Any]]) -> None:
    """`update_assignment` for many rows: each change holds `id` and the new values. Rows
    that set the same columns go in one statement."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        columns = tuple(sorted(k for k in change if k != "id"))
        groups.setdefault(columns, []).append(
            {"b_id": change["id"], **{f"b_{k}": change[k] for k in columns}})
    for columns, rows in groups.items():
        conn.execute(assignments.update().where(assignments.c.id == sa.bindparam("b_id"))
                     .values({k: sa.bindparam(f"b_{k}") for k in columns}), rows)


def breached_assignments(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Open assignments past their SLA deadline without a first touch, claimed."""
    query = (assignments.select().where(
        assignments.c.status.in_(("open", "breached")), assignments.c.first_touch_at.is_(None),
        assignments.c.sla_due_at <= now).order_by(assignments.c.sla_due_at).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [dict(r._mapping) for r in conn.execute(query)]


def open_loads(conn: Connection) -> dict[str, int]:
    """Open leads per owner (for capacity limits)."""
    rows = conn.execute(sa.select(assignments.c.owner, sa.func.count()).where(
        assignments.c.status.in_(("open", "breached", "escalated")),
        assignments.c.owner.is_not(None)).group_by(assignments.c.owner))
    return {str(owner): int(n) for owner, n in rows}


def robin_credit(conn: Connection) -> dict[str, dict[str, int]]:
    query = sa.select(routing_state.c.team, routing_state.c.credit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {str(team): dict(credit) for team, credit in conn.execute(query)}


def save_robin_credit(conn: Connection, credit: Mapping[str, Mapping[str, int]],
                      now: datetime) -> None:
    for team, values in credit.items():
        updated = conn.execute(routing_state.update().where(routing_state.c.team == team)
                               .values(credit=dict(values), updated_at=now))
        if updated.rowcount == 0:
            conn.execute(routing_state.insert().values(team=team, credit=dict(values),
                                                       updated_at=now))


# -- webhooks and the outbox ----------------------------------------------------------------

def add_webhook(conn: Connection, url: str, secret: str, topics: list[str],
                now: datetime) -> int:
    result = conn.execute(webhooks.insert().values(url=url, secret=secret, topics=topics,
                                                   created_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def active_webhooks(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(
        webhooks.select().where(webhooks.c.active.is_(True)).order_by(webhooks.c.id))]


def enqueue(conn: Connection, topic: str, subject: str, data: Mapping[str, Any],
            now: datetime) -> int:
    """One outbox row per active webhook subscribed to `topic` (in the caller's
    transaction, so a notification exists exactly when its cause was committed)."""
    return enqueue_many(conn, [Note(topic, subject, data, now)])


@dataclass(frozen=True, slots=True)
class Note:
    """A notification to queue: topic, subject, the data, and when it happened."""

    topic: str
    subject: str
    data: Mapping[str, Any]
    at: datetime


def enqueue_many(conn: Connection, notes: Sequence[Note],
                 hooks: Sequence[Mapping[str, Any]] | None = None) -> int:
    """`enqueue` for many notifications: the active webhooks read once (or given as
    `hooks`), the rows inserted in one statement in the order of `notes`."""
    if not notes:
        return 0
    if hooks is None:
        hooks = active_webhooks(conn)
    rows = [{"topic": n.topic, "subject": n.subject, "created_at": n.at, "available_at": n.at,
             "delivery_id": uuid.uuid4().hex, "status": "pending",
             "payload": {"webhook_id": hook["id"], "occurred_at": n.at.isoformat(),
                         "data": dict(n.data)}}
            for n in notes for hook in hooks
            if n.topic in hook["topics"] or "*" in hook["topics"]]
    if rows:
        conn.execute(outbox.insert(), rows)
    return len(rows)


@dataclass
class Moves:
    """The writes of many contacts' lifecycle moves, held and sent together by `flush`
    (a few statements instead of several per move). Each kind of row keeps the order it
    was added in, so the stored rows and their ids are those of writing one by one."""

    history: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    closed: list[int] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    hooks: list[dict[str, Any]] | None = None  # the active webhooks, read at the first flush

    def move(self, contact_id: int, source: str | None, target: str, at: datetime, cause: str,
             actor: str, model_version_id: int | None, reason: str | None) -> None:
        """`add_history` and `set_stage`."""
        self.history.append({"contact_id": contact_id, "from_stage": source, "to_stage": target,
                             "at": at, "cause": cause, "actor": actor,
                             "model_version_id": model_version_id, "reason": reason})
        self.stages.pop(contact_id, None)  # a later move lands last, as one by one
        self.stages[contact_id] = (target, at)

    def close(self, contact_id: int) -> None:
        """`close_assignments`."""
        self.closed.append(contact_id)

    def notify(self, topic: str, subject: str, data: Mapping[str, Any], at: datetime) -> None:
        """`enqueue`."""
        self.notes.append(Note(topic, subject, data, at))

    def flush(self, conn: Connection) -> None:
        """Write everything held, and forget it."""
        add_history_rows(conn, self.history)
        set_stages(conn, self.stages)
        close_assignments_of(conn, self.closed)
        if self.notes:
            if self.hooks is None:
                self.hooks = active_webhooks(conn)
            enqueue_many(conn, self.notes, self.hooks)
        self.history, self.stages, self.closed, self.notes = [], {}, [], []


def claim_deliveries(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    query = (outbox.select().where(outbox.c.status == "pending", outbox.c.available_at <= now)
             .order_by(outbox.c.available_at, outbox.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [dict(r._mapping) for r in conn.execute(query)]


def webhook(conn: Connection, webhook_id: int) -> dict[str, Any] | None:
    row = conn.execute(webhooks.select().where(webhooks.c.id == webhook_id)).first()
    return None if row is None else dict(row._mapping)


def record_attempt(conn: Connection, row_id: int, *, status: str, attempts: int,
                   available_at: datetime | None, delivered_at: datetime | None,
                   error: str | None) -> None:
    values: dict[str, Any] = {"status": status, "attempts": attempts, "last_error": error,
                              "delivered_at": delivered_at}
    if available_at is not None:
        values["available_at"] = available_at
    conn.execute(outbox.update().where(outbox.c.id == row_id).values(**values))


def outbox_rows(conn: Connection, status: str | None = None) -> list[dict[str, Any]]:
    query = outbox.select().order_by(outbox.c.id)
    if status is not None:
        query = query.where(outbox.c.status == status)
    return [dict(r._mapping) for r in conn.execute(query)]


def retry_outbox(conn: Connection, ids: list[int] | None, now: datetime) -> int:
    """Dead or refused deliveries back to pending (all of them when `ids` is None)."""
    query = outbox.update().where(outbox.c.status.in_(("dead", "refused")))
    if ids is not None:
        query = query.where(outbox.c.id.in_(ids))
    return int(conn.execute(query.values(status="pending", available_at=now, attempts=0))
               .rowcount)


# -- reports ---------------------------------------------------------------------------------

def transitions_by_month(conn: Connection) -> dict[str, dict[str, int]]:
    """{month: {stage: contacts that entered it that month}} from the lifecycle history."""
    out: dict[str, dict[str, int]] = {}
    for at, target in conn.execute(sa.select(lifecycle_history.c.at,
                                             lifecycle_history.c.to_stage)):
        month = out.setdefault(at.strftime("%Y-%m"), {})
        month[target] = month.get(target, 0) + 1
    return dict(sorted(out.items()))


def funnel(conn: Connection) -> dict[str, int]:
    """How many distinct contacts ever reached each stage."""
    rows = conn.execute(sa.select(lifecycle_history.c.to_stage,
                                  sa.func.count(sa.distinct(lifecycle_history.c.contact_id)))
                        .group_by(lifecycle_history.c.to_stage))
    return {str(stage): int(n) for stage, n in rows}


def assignment_summary(conn: Connection) -> tuple[dict[str, int], dict[str, int]]:
    """(assignments by status, assignments by team)."""
    by_status = {str(s): int(n) for s, n in conn.execute(
        sa.select(assignments.c.status, sa.func.count()).group_by(assignments.c.status))}
    by_team = {str(t or "-"): int(n) for t, n in conn.execute(
        sa.select(assignments.c.team, sa.func.count()).group_by(assignments.c.team))}
    return by_status, by_team


def in_stage(conn: Connection, *stages: str) -> list[int]:
    """Contacts now in any of `stages`."""
    return [int(i) for (i,) in conn.execute(
        sa.select(contacts.c.id).where(contacts.c.lifecycle_stage.in_(stages)))]


def untouched_assignments(conn: Connection, until: datetime) -> list[dict[str, Any]]:
    """Open assignments made by `until` that nobody has touched yet."""
    return [dict(r._mapping) for r in conn.execute(assignments.select().where(
        assignments.c.first_touch_at.is_(None), assignments.c.assigned_at <= until,
        assignments.c.status.in_(("open", "breached", "escalated"))))]


def engaged_contacts(conn: Connection, account_ids: Iterable[int], since: datetime
                     ) -> dict[int, dict[str, datetime]]:
    """{account id: {contact id: last event time}} for events at or after `since`."""
    out: dict[int, dict[str, datetime]] = {}
    wanted = list(set(account_ids))
    for start in range(0, len(wanted), 500):
        rows = conn.execute(sa.select(events.c.account_id, events.c.contact_id,
                                      sa.func.max(events.c.at))
                            .where(events.c.account_id.in_(wanted[start:start + 500]),
                                   events.c.contact_id.is_not(None), events.c.at >= since)
                            .group_by(events.c.account_id, events.c.contact_id))
        for aid, cid, last in rows:
            out.setdefault(int(aid), {})[str(cid)] = last
    return out


def account_domains(conn: Connection, account_ids: Iterable[int]) -> dict[int, tuple[str, Any]]:
    """{account id: (domain, owner attribute)}."""
    rows = conn.execute(sa.select(accounts.c.id, accounts.c.domain, accounts.c.attributes)
                        .where(accounts.c.id.in_(list(set(account_ids)))))
    return {int(i): (str(d), (a or {}).get("owner")) for i, d, a in rows}


def last_alerts(conn: Connection, domains: Iterable[str]) -> dict[str, datetime]:
    """When each account's owner was last alerted about engagement."""
    rows = conn.execute(sa.select(audit_log.c.subject, sa.func.max(audit_log.c.at))
                        .where(audit_log.c.action == "account.engaged",
                               audit_log.c.subject.in_(list(set(domains))))
                        .group_by(audit_log.c.subject))
    return {str(s): t for s, t in rows}


def record_alert(conn: Connection, domain: str, detail: Mapping[str, Any], at: datetime) -> None:
    conn.execute(audit_log.insert().values(at=at, actor="mql", action="account.engaged",
                                           subject=domain, detail=dict(detail)))


@dataclass(frozen=True, slots=True)
class LeadFacts:
    stage: str | None
    since: datetime | None
    owner: str | None
    account: str | None


def lead_facts(conn: Connection) -> dict[str, LeadFacts]:
    """Stage, since when, owner and account domain of every live contact, by email."""
    rows = conn.execute(sa.select(contacts.c.email, contacts.c.lifecycle_stage,
                                  contacts.c.stage_since, contacts.c.owner,
                                  contacts.c.account_domain)
                        .where(contacts.c.merged_into.is_(None)))
    return {str(e): LeadFacts(s, t, o, d) for e, s, t, o, d in rows}
