"""Stages, lifecycle history, assignments, routing state, webhooks and the outbox.

Work is claimed with row locks where the database has them (PostgreSQL
`FOR UPDATE SKIP LOCKED`), so several workers can share one database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.compliance.consent import Record
from mql.store.accounts import among, chunks
from mql.store.consent import records_of
from mql.store.tables import (
    accounts,
    assignments,
    audit_log,
    contacts,
    delivery_attempts,
    events,
    identities,
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
                          contacts.c.owner, contacts.c.due_at).where(
                    among(conn, contacts.c.id, part))):
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


def set_owners(conn: Connection, owners: Mapping[int, str | None]) -> None:
    """`set_owner` for many contacts in one statement."""
    if owners:
        conn.execute(contacts.update().where(contacts.c.id == sa.bindparam("b_id")).values(
            owner=sa.bindparam("b_owner")), [{"b_id": i, "b_owner": o} for i, o in owners.items()])


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
        q = query if part is None else query.where(among(conn, intent_resets.c.contact_id, part))
        for cid, at in conn.execute(q):
            out.setdefault(int(cid), []).append(at)
    return out


def history_count(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(lifecycle_history))
               .scalar_one())


def due_contacts(conn: Connection, now: datetime, limit: int) -> list[int]:
    """Contacts whose next time-based move is due, claimed for this transaction."""
    query = (sa.select(contacts.c.id).where(contacts.c.due_at <= now)
             .order_by(contacts.c.due_at, contacts.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [int(i) for (i,) in conn.execute(query)]


def claim_due(conn: Connection, now: datetime, limit: int) -> dict[int, datetime]:
    """`due_contacts` with each one's due moment (earliest first; at a tie, the oldest
    contact first: many nurture exits fall due together), in one read."""
    query = (sa.select(contacts.c.id, contacts.c.due_at).where(contacts.c.due_at <= now)
             .order_by(contacts.c.due_at, contacts.c.id).limit(limit))
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
    statuses = UNTOUCHED + (("met", "late") if touched else ())
    row = conn.execute(assignments.select().where(
        assignments.c.contact_id == contact_id,
        assignments.c.status.in_(statuses)).order_by(assignments.c.id.desc()).limit(1)).first()
    return None if row is None else dict(row._mapping)


UNTOUCHED = ("open", "breached", "escalated")


def open_assignments(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The newest untouched assignment of each contact of `ids` (as `open_assignment`)."""
    out: dict[int, dict[str, Any]] = {}
    for part in chunks(dict.fromkeys(ids)):
        rows = conn.execute(assignments.select().where(
            among(conn, assignments.c.contact_id, part),
            assignments.c.status.in_(UNTOUCHED)).order_by(assignments.c.id))
        for row in rows:
            out[int(row.contact_id)] = dict(row._mapping)
    return out


def owned_or_assigned(conn: Connection, owner: str, team: str | None) -> list[int]:
    """Live contacts owned by `owner` or with an untouched assignment to `team`: the
    candidates a seller's scope may reach (the newest assignment decides; see
    `service.sales_actions.reachable`)."""
    owned = sa.select(contacts.c.id).where(contacts.c.merged_into.is_(None),
                                           contacts.c.owner == owner)
    found = {int(i) for (i,) in conn.execute(owned)}
    if team is not None:
        found.update(int(i) for (i,) in conn.execute(
            sa.select(assignments.c.contact_id).select_from(
                assignments.join(contacts, contacts.c.id == assignments.c.contact_id)).where(
                contacts.c.merged_into.is_(None), assignments.c.team == team,
                assignments.c.status.in_(UNTOUCHED))))
    return sorted(found)


def add_assignment(conn: Connection, **values: Any) -> int:
    result = conn.execute(assignments.insert().values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def add_assignments(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """`add_assignment` for many rows (all with the same columns) in one statement, inserted
    in the given order."""
    if rows:
        conn.execute(assignments.insert(), [dict(r) for r in rows])


def with_open_assignments(conn: Connection, contact_ids: Iterable[int]) -> set[int]:
    """The contacts of `contact_ids` that have an open assignment (what `close_assignments`
    would close)."""
    out: set[int] = set()
    for part in chunks(set(contact_ids)):
        out.update(int(c) for (c,) in conn.execute(
            sa.select(assignments.c.contact_id).distinct().where(
                among(conn, assignments.c.contact_id, part),
                assignments.c.status.in_(("open", "breached", "escalated")))))
    return out


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
            among(conn, assignments.c.contact_id, part),
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
    """A new subscription; `secret` as it is stored (sealed by the caller)."""
    result = conn.execute(webhooks.insert().values(url=url, secret=secret, topics=topics,
                                                   created_at=now, updated_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def active_webhooks(conn: Connection) -> list[dict[str, Any]]:
    """Subscriptions not removed (paused ones too: their rows wait for `resume`)."""
    return [dict(r._mapping) for r in conn.execute(
        webhooks.select().where(webhooks.c.active.is_(True)).order_by(webhooks.c.id))]


def webhook_rows(conn: Connection, *, removed: bool = False) -> list[dict[str, Any]]:
    """Every subscription (with `removed`, also removed ones), with its pending and dead
    deliveries counted."""
    query = webhooks.select().order_by(webhooks.c.id)
    if not removed:
        query = query.where(webhooks.c.active.is_(True))
    hooks = [dict(r._mapping) for r in conn.execute(query)]
    counts: dict[tuple[int, str], int] = {
        (int(h), str(s)): int(n) for h, s, n in conn.execute(
            sa.select(outbox.c.webhook_id, outbox.c.status, sa.func.count())
            .where(outbox.c.webhook_id.is_not(None))
            .group_by(outbox.c.webhook_id, outbox.c.status))}
    for hook in hooks:
        for status in ("pending", "delivered", "dead", "refused"):
            hook[status] = counts.get((hook["id"], status), 0)
    return hooks


def webhook(conn: Connection, webhook_id: int) -> dict[str, Any] | None:
    row = conn.execute(webhooks.select().where(webhooks.c.id == webhook_id)).first()
    return None if row is None else dict(row._mapping)


def update_webhook(conn: Connection, webhook_id: int, **values: Any) -> None:
    conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(**values))


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


def _sequences(conn: Connection, counts: Mapping[int, int]) -> dict[int, int]:
    """Reserve `counts[hook]` sequence numbers of each subscription; the first of each.
    The update locks the subscription's row until the caller commits, so numbers follow
    the order in which their causes are committed."""
    first: dict[int, int] = {}
    for hook_id, n in sorted(counts.items()):
        conn.execute(webhooks.update().where(webhooks.c.id == hook_id)
                     .values(next_sequence=webhooks.c.next_sequence + n))
        last = conn.execute(sa.select(webhooks.c.next_sequence)
                            .where(webhooks.c.id == hook_id)).scalar_one()
        first[hook_id] = int(last) - n + 1
    return first


# topics a "*" subscription does not cover: only subscriptions that name them get them
# (the nurture topics are meant for the email tool, one per lead that is not ready: a
# CRM subscribed to everything is not flooded with them)
NAMED_ONLY = frozenset({"mql.nurture.enrolled", "mql.nurture.unenrolled"})


def enqueue_many(conn: Connection, notes: Sequence[Note],
                 hooks: Sequence[Mapping[str, Any]] | None = None) -> int:
    """`enqueue` for many notifications: the active webhooks read once (or given as
    `hooks`), the rows inserted in one statement in the order of `notes`, each numbered
    in its subscription's sequence."""
    if not notes:
        return 0
    if hooks is None:
        hooks = active_webhooks(conn)
    pairs = [(n, hook) for n in notes for hook in hooks
             if n.topic in hook["topics"] or ("*" in hook["topics"]
                                              and n.topic not in NAMED_ONLY)]
    if not pairs:
        return 0
    counts: dict[int, int] = {}
    for _, hook in pairs:
        counts[hook["id"]] = counts.get(hook["id"], 0) + 1
    sequence = _sequences(conn, counts)
    rows = []
    for n, hook in pairs:
        seq = sequence[hook["id"]]
        sequence[hook["id"]] = seq + 1
        rows.append({"topic": n.topic, "subject": n.subject, "created_at": n.at,
                     "available_at": n.at, "delivery_id": uuid.uuid4().hex,
                     "status": "pending", "webhook_id": hook["id"], "sequence": seq,
                     "payload": {"webhook_id": hook["id"], "occurred_at": n.at.isoformat(),
                                 "data": dict(n.data)}})
    conn.execute(outbox.insert(), rows)
    return len(rows)


@dataclass(frozen=True, slots=True)
class Subject:
    """What a notification says about a lead: its record, account, CRM ids and consent."""

    contact_id: int
    email: str | None
    attributes: Mapping[str, Any]
    stage: str | None
    owner: str | None
    account_domain: str | None
    account_name: str | None
    crm_ids: Mapping[str, str]
    consent: Sequence[Record]  # every consent record, oldest first (each read as of a time)


def subjects(conn: Connection, ids: Iterable[int]) -> dict[int, Subject]:
    """The `Subject` of each contact in `ids` (a few statements per 500)."""
    out: dict[int, Subject] = {}
    for part in chunks(dict.fromkeys(ids)):
        crm: dict[int, dict[str, str]] = {}
        for cid, namespace, value, raw in conn.execute(
                sa.select(identities.c.contact_id, identities.c.namespace, identities.c.value,
                          identities.c.raw)
                .where(identities.c.contact_id.in_(part), identities.c.kind == "external")
                .order_by(identities.c.id)):
            crm.setdefault(int(cid), {}).setdefault(str(namespace or "crm"), str(raw or value))
        rows = records_of(conn, part)
        query = (sa.select(contacts.c.id, contacts.c.email, contacts.c.attributes,
                           contacts.c.lifecycle_stage, contacts.c.owner,
                           contacts.c.account_domain, accounts.c.domain, accounts.c.name,
                           accounts.c.attributes.label("account_attributes"))
                 .outerjoin(accounts, accounts.c.id == contacts.c.account_id)
                 .where(among(conn, contacts.c.id, part)))
        for r in conn.execute(query):
            cid = int(r.id)
            name = r.name or (r.account_attributes or {}).get("name")
            out[cid] = Subject(cid, r.email, dict(r.attributes or {}), r.lifecycle_stage,
                               r.owner, r.domain or r.account_domain,
                               None if name is None else str(name), crm.get(cid, {}),
                               rows.get(cid, []))
    return out


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
    # completes the held notes' data just before they are written (e.g. with `subjects`)
    complete: Callable[[Connection, list[Note]], list[Note]] | None = None

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
            if self.hooks and self.complete is not None:
                self.notes = self.complete(conn, self.notes)
            enqueue_many(conn, self.notes, self.hooks)
        self.history, self.stages, self.closed, self.notes = [], {}, [], []


def due_subscriptions(conn: Connection, now: datetime, busy: Iterable[int] = ()) -> list[int]:
    """Subscriptions (not paused, not removed, not in `busy`) with a delivery due at `now`
    that no worker holds."""
    query = (sa.select(outbox.c.webhook_id).distinct()
             .join(webhooks, webhooks.c.id == outbox.c.webhook_id)
             .where(outbox.c.status == "pending", outbox.c.available_at <= now,
                    sa.or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < now),
                    webhooks.c.active.is_(True), webhooks.c.paused.is_(False)))
    skip = list(busy)
    if skip:
        query = query.where(outbox.c.webhook_id.not_in(skip))
    return sorted(int(h) for (h,) in conn.execute(query))


def claim_deliveries(conn: Connection, now: datetime, limit: int, *, webhook_id: int,
                     until: datetime) -> list[dict[str, Any]]:
    """Up to `limit` due deliveries of one subscription, oldest first, held for this
    worker until `until` (a claim another worker skips; it lapses if this one dies)."""
    query = (outbox.select().where(
        outbox.c.webhook_id == webhook_id, outbox.c.status == "pending",
        outbox.c.available_at <= now,
        sa.or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < now))
        .order_by(outbox.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    if rows:
        conn.execute(outbox.update().where(outbox.c.id.in_([r["id"] for r in rows]))
                     .values(locked_until=until))
    return rows


def release_deliveries(conn: Connection, ids: Iterable[int]) -> None:
    """Give claimed deliveries back without an attempt (a worker stopping)."""
    for part in chunks(dict.fromkeys(ids)):
        conn.execute(outbox.update().where(outbox.c.id.in_(part)).values(locked_until=None))


def record_attempt(conn: Connection, row_id: int, *, status: str, attempts: int,
                   available_at: datetime | None, delivered_at: datetime | None,
                   error: str | None, at: datetime | None = None, outcome: str | None = None,
                   http_status: int | None = None, seconds: float | None = None) -> None:
    """The result of one attempt: the row's new state (its claim released) and, with
    `at`, a line in its attempt history."""
    values: dict[str, Any] = {"status": status, "attempts": attempts, "last_error": error,
                              "delivered_at": delivered_at, "locked_until": None}
    if available_at is not None:
        values["available_at"] = available_at
    conn.execute(outbox.update().where(outbox.c.id == row_id).values(**values))
    if at is not None:
        conn.execute(delivery_attempts.insert().values(
            outbox_id=row_id, attempt=attempts, at=at, outcome=outcome or status,
            http_status=http_status, error=error, seconds=seconds))


def attempts_of(conn: Connection, row_id: int) -> list[dict[str, Any]]:
    """Every attempt of one delivery (and each time it was put back in line), oldest first."""
    return [dict(r._mapping) for r in conn.execute(
        delivery_attempts.select().where(delivery_attempts.c.outbox_id == row_id)
        .order_by(delivery_attempts.c.id))]


def outbox_rows(conn: Connection, status: str | None = None, *, webhook_id: int | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
    """Outbox rows with their subscription's `paused` flag and `attempts_total` (every
    attempt ever made, across `retry`)."""
    totals = (sa.select(delivery_attempts.c.outbox_id, sa.func.count().label("n"))
              .where(delivery_attempts.c.outcome != "requeued")
              .group_by(delivery_attempts.c.outbox_id).subquery())
    query = (sa.select(outbox, webhooks.c.paused, webhooks.c.active.label("hook_active"),
                       sa.func.coalesce(totals.c.n, 0).label("attempts_total"))
             .outerjoin(webhooks, webhooks.c.id == outbox.c.webhook_id)
             .outerjoin(totals, totals.c.outbox_id == outbox.c.id).order_by(outbox.c.id))
    if status is not None:
        query = query.where(outbox.c.status == status)
    if webhook_id is not None:
        query = query.where(outbox.c.webhook_id == webhook_id)
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def retry_outbox(conn: Connection, ids: list[int] | None, now: datetime) -> int:
    """Dead or refused deliveries back to pending (all of them when `ids` is None), with a
    fresh budget of attempts; their attempt history is kept (a `requeued` line marks it)."""
    query = sa.select(outbox.c.id, outbox.c.attempts).where(
        outbox.c.status.in_(("dead", "refused")))
    if ids is not None:
        query = query.where(outbox.c.id.in_(ids))
    found = [(int(i), int(n)) for i, n in conn.execute(query)]
    if not found:
        return 0
    for part in chunks([i for i, _ in found]):
        conn.execute(outbox.update().where(outbox.c.id.in_(part)).values(
            status="pending", available_at=now, attempts=0, locked_until=None))
    conn.execute(delivery_attempts.insert(), [
        {"outbox_id": i, "attempt": n, "at": now, "outcome": "requeued", "http_status": None,
         "error": None, "seconds": None} for i, n in found])
    return len(found)


def bring_forward(conn: Connection, now: datetime) -> int:
    """Pending, never-attempted deliveries dated after `now` (a simulated run queued them
    at simulated moments) made due at `now`, so real time sends them."""
    return int(conn.execute(outbox.update().where(
        outbox.c.status == "pending", outbox.c.attempts == 0, outbox.c.available_at > now)
        .values(available_at=now)).rowcount)


def drop_pending(conn: Connection, webhook_id: int, now: datetime) -> int:
    """Pending deliveries of a removed subscription, refused with the reason."""
    return int(conn.execute(outbox.update().where(
        outbox.c.webhook_id == webhook_id, outbox.c.status == "pending").values(
        status="refused", last_error=f"the webhook was removed at {now.isoformat()}",
        locked_until=None)).rowcount)


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


def waiting_in(conn: Connection, stages: tuple[str, ...], statuses: tuple[str, ...]
               ) -> dict[int, tuple[str, str | None, str | None, datetime | None]]:
    """{contact id: (stage, owner, team, first-touch deadline)} of the contacts now in
    any of `stages`, with the team and deadline of their newest assignment in one of
    `statuses` (None when there is none): one query, what a queue ranks by."""
    rows = conn.execute(
        sa.select(contacts.c.id, contacts.c.lifecycle_stage, contacts.c.owner,
                  assignments.c.team, assignments.c.sla_due_at)
        .select_from(contacts.outerjoin(assignments, sa.and_(
            assignments.c.contact_id == contacts.c.id,
            assignments.c.status.in_(statuses))))
        .where(contacts.c.lifecycle_stage.in_(stages))
        .order_by(contacts.c.id, assignments.c.id))
    return {int(cid): (str(stage), owner, team, due) for cid, stage, owner, team, due in rows}


def in_stage(conn: Connection, *stages: str) -> list[int]:
    """Contacts now in any of `stages`."""
    return [int(i) for (i,) in conn.execute(
        sa.select(contacts.c.id).where(contacts.c.lifecycle_stage.in_(stages)))]


def untouched_assignments(conn: Connection, until: datetime) -> list[dict[str, Any]]:
    """Open assignments made by `until` that nobody has touched yet."""
    return [dict(r._mapping) for r in conn.execute(assignments.select().where(
        assignments.c.first_touch_at.is_(None), assignments.c.assigned_at <= until,
        assignments.c.status.in_(("open", "breached", "escalated"))))]


def engaged_accounts(conn: Connection, account_ids: Iterable[int], since: datetime,
                     at_least: int) -> list[int]:
    """The accounts among `account_ids` with at least `at_least` contacts that have an
    event at or after `since` (counted by the database), in id order."""
    out: list[int] = []
    for part in chunks(set(account_ids)):
        out += [int(aid) for (aid,) in conn.execute(
            sa.select(events.c.account_id)
            .where(among(conn, events.c.account_id, part), events.c.contact_id.is_not(None),
                   events.c.at >= since)
            .group_by(events.c.account_id)
            .having(sa.func.count(sa.distinct(events.c.contact_id)) >= at_least))]
    return sorted(out)


def account_domains(conn: Connection, account_ids: Iterable[int]
                    ) -> dict[int, tuple[str, Any, str | None]]:
    """{account id: (domain, owner attribute, name)}."""
    out: dict[int, tuple[str, Any, str | None]] = {}
    for part in chunks(set(account_ids)):
        rows = conn.execute(sa.select(accounts.c.id, accounts.c.domain, accounts.c.attributes,
                                      accounts.c.name).where(among(conn, accounts.c.id, part)))
        for i, d, a, n in rows:
            name = n or (a or {}).get("name")
            out[int(i)] = (str(d), (a or {}).get("owner"), None if name is None else str(name))
    return out


def last_alerts(conn: Connection, domains: Iterable[str]) -> dict[str, datetime]:
    """When each account's owner was last alerted about engagement."""
    out: dict[str, datetime] = {}
    for part in chunks(set(domains)):
        rows = conn.execute(sa.select(audit_log.c.subject, sa.func.max(audit_log.c.at))
                            .where(audit_log.c.action == "account.engaged",
                                   among(conn, audit_log.c.subject, part))
                            .group_by(audit_log.c.subject))
        out.update({str(s): t for s, t in rows})
    return out


def record_alert(conn: Connection, domain: str, detail: Mapping[str, Any], at: datetime) -> None:
    conn.execute(audit_log.insert().values(at=at, actor="mql", action="account.engaged",
                                           subject=domain, detail=dict(detail)))


@dataclass(frozen=True, slots=True)
class LeadFacts:
    stage: str | None
    since: datetime | None
    owner: str | None
    account: str | None


def contacts_with(conn: Connection, *, stage: str | None = None, owner: str | None = None,
                  account: str | None = None, mql_since: datetime | None = None
                  ) -> list[int]:
    """Live contacts whose stored lifecycle facts match: `stage` (a contact with none is
    "captured"), `owner`, `account` (domain) and, given `mql_since`, in the MQL stage
    since that time or later; `lead_facts` filtered in the database."""
    query = sa.select(contacts.c.id).where(contacts.c.merged_into.is_(None))
    if stage == "captured":
        query = query.where(sa.or_(contacts.c.lifecycle_stage.is_(None),
                                   contacts.c.lifecycle_stage == stage))
    elif stage is not None:
        query = query.where(contacts.c.lifecycle_stage == stage)
    if owner is not None:
        query = query.where(contacts.c.owner == owner)
    if account is not None:
        query = query.where(contacts.c.account_domain == account)
    if mql_since is None:
        return [int(i) for (i,) in conn.execute(query.order_by(contacts.c.id))]
    query = query.add_columns(contacts.c.stage_since).where(
        contacts.c.lifecycle_stage == "mql", contacts.c.stage_since.is_not(None))
    return [int(i) for i, since in conn.execute(query.order_by(contacts.c.id))
            if since >= mql_since]


def lead_facts(conn: Connection) -> dict[str, LeadFacts]:
    """Stage, since when, owner and account domain of every live contact, by email."""
    rows = conn.execute(sa.select(contacts.c.email, contacts.c.lifecycle_stage,
                                  contacts.c.stage_since, contacts.c.owner,
                                  contacts.c.account_domain)
                        .where(contacts.c.merged_into.is_(None)))
    return {str(e): LeadFacts(s, t, o, d) for e, s, t, o, d in rows}
