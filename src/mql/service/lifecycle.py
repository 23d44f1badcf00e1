"""Lifecycle use cases: sales actions, history, and the worker's time-based work.

Each function is one transaction. The worker moves contacts exactly when due (the exit
crossing or acceptance timeout stored as `due_at`), breaches SLAs, and delivers the
outbox; every part claims its rows, so several workers can share one PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mql.errors import NotFound, TransitionRefused
from mql.identity.merge import IdentityRules
from mql.identity.normalize import clean_email
from mql.lifecycle import rules
from mql.lifecycle.stages import Stage, Transition
from mql.routing.calendar import add_business_hours
from mql.routing.overlays import qualifies, requirement
from mql.routing.round_robin import RoundRobin
from mql.service import state as states
from mql.service import webhooks
from mql.service.audit_schedule import AuditSchedule, run_scheduled
from mql.service.handoff import (
    CONTACT_ID,
    complete_notes,
    iso,
    model_data,
    notify_lead,
    record,
    stage_of,
    transition_data,
)
from mql.service.resolve import find_by_email
from mql.settings import EXAMPLE_SECRET
from mql.store import handoff as store
from mql.store import merges as merge_store
from mql.store import outcomes as outcome_store
from mql.store.db import translate_errors


@dataclass(frozen=True, slots=True)
class TransitionView:
    """One stored transition, as people read it."""

    email: str
    source: str | None
    target: str
    at: datetime
    cause: str
    actor: str
    reason: str | None

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (f"{self.at:%Y-%m-%d %H:%M} {self.source or '-'} -> {self.target} by "
                f"{self.actor}: {self.cause}{why}")


def _contact_id(conn: Connection, email: str, rules_: IdentityRules) -> int:
    try:
        clean = clean_email(email)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    found = find_by_email(conn, [clean], rules_)
    if not found:
        raise NotFound(f"no contact {email!r} in the store")
    return found[clean]


def _view(email: str, move: Transition) -> TransitionView:
    return TransitionView(email, move.source.value, move.target.value, move.at,
                          move.cause.value, move.actor, move.reason)


def _assignment_data(a: dict[str, Any]) -> dict[str, Any]:
    """An assignment row as a notification shows it."""
    return {"id": a["id"], "team": a["team"], "owner": a["owner"], "rule": a["rule"],
            "sla": a["sla"], "sla_due_at": iso(a["sla_due_at"]), "status": a["status"]}


def _audit(conn: Connection, action: str, email: str, view: Any, now: datetime) -> None:
    """The sales action's line in the audit log, in the action's own transaction."""
    detail = {k: (v.isoformat() if isinstance(v, datetime) else v)
              for k, v in dataclasses.asdict(view).items()}
    merge_store.audit(conn, str(detail["actor"]), action, email, detail, now=now)


def _sales_action(engine: Engine, email: str, rules_: IdentityRules, now: datetime,
                  action: str, make: Callable[[Stage], Transition]) -> TransitionView:
    with translate_errors("recording a sales action"), engine.begin() as conn:
        cid = _contact_id(conn, email, rules_)
        live = states.live_model(conn)
        # a move that fell due before now (the worker has not run yet) happened first
        states.settle_due(conn, live, [cid], now)
        row = store.stages(conn, [cid]).get(cid)
        move = make(stage_of(row.stage if row else None))
        record(conn, cid, move, live.version_id)
        store.set_due(conn, {cid: None})
        assignment = store.open_assignment(conn, cid)
        if assignment is not None and assignment["first_touch_at"] is None:
            # any sales action on the lead is its first touch: it settles the SLA
            met = assignment["sla_due_at"] is None or now <= assignment["sla_due_at"]
            store.update_assignment(conn, assignment["id"], first_touch_at=now,
                                    status="met" if met else "late")
        topic = ("lead.recycled" if move.target in (Stage.RECYCLED, Stage.DISQUALIFIED)
                 else "lead.accepted" if move.target is Stage.SAL else "lead.converted")
        held = store.open_assignment(conn, cid, touched=True)  # as it is now
        notify_lead(conn, topic, cid, email, {
            "transition": transition_data(move),
            "assignment": None if held is None else _assignment_data(held)},
            now, live.version_id, live.model)
        if move.target in (Stage.RECYCLED, Stage.DISQUALIFIED) and \
                live.model.lifecycle.requalify_fresh_intent:
            # from now on only fresh activity counts (stored, so every re-derivation
            # and every question about a later time knows it)
            store.add_resets(conn, [(cid, move.at, "sales_action")])
            states.score_contacts(conn, live, states.rederive_contacts(conn, live, [cid]),
                                  now=now)
        view = _view(email, move)
        _audit(conn, action, email, view, now)
        # the one ledger of what sales did (docs/outcomes.md, "Dispositions")
        outcome_store.record_disposition(
            conn, cid, at=move.at, status=_DISPOSITION.get(move.target, move.target.value),
            reason=move.reason if action == "lead.reject" else None,
            note=move.reason if action == "lead.convert" else None, actor=move.actor,
            now=now)
        return view


# the disposition a sales action's move stands for (convert: the stage reached)
_DISPOSITION = {Stage.SAL: "accepted", Stage.RECYCLED: "rejected",
                Stage.DISQUALIFIED: "rejected"}


def accept(engine: Engine, email: str, *, actor: str, now: datetime,
           identity: IdentityRules | None = None) -> TransitionView:
    """Sales accepts the lead (MQL/PQL -> SAL); the first touch stops its SLA clock."""
    return _sales_action(engine, email, identity or IdentityRules(), now, "lead.accept",
                         lambda stage: rules.accept(email, stage, now, actor))


def reject(engine: Engine, email: str, *, reason: str, actor: str, now: datetime,
           identity: IdentityRules | None = None) -> TransitionView:
    """Sales rejects the lead with one of the model's reasons (recycled or disqualified)."""
    with engine.connect() as conn:
        model = states.live_model(conn).model
    return _sales_action(engine, email, identity or IdentityRules(), now, "lead.reject",
                         lambda stage: rules.reject(model, email, stage, now, actor, reason))


def convert(engine: Engine, email: str, *, actor: str, now: datetime, reason: str | None = None,
            identity: IdentityRules | None = None) -> TransitionView:
    """Sales moves the lead one step: SAL -> SQL -> opportunity -> customer."""
    return _sales_action(engine, email, identity or IdentityRules(), now, "lead.convert",
                         lambda stage: rules.convert(email, stage, now, actor, reason))


@dataclass(frozen=True, slots=True)
class AssignmentView:
    email: str
    team: str | None
    owner: str | None
    rule: str
    sla: str | None
    sla_due_at: datetime | None
    status: str


def reassign(engine: Engine, email: str, *, owner: str, actor: str, now: datetime,
             identity: IdentityRules | None = None) -> AssignmentView:
    """Give the lead to `owner` (kept on the open assignment, with who did it)."""
    with translate_errors("reassigning a lead"), engine.begin() as conn:
        cid = _contact_id(conn, email, identity or IdentityRules())
        current = store.open_assignment(conn, cid, touched=True)
        if current is None:
            raise TransitionRefused(f"{email} has no assignment to reassign",
                                    reason="not_assigned")
        store.update_assignment(conn, current["id"], owner=owner,
                                reason=f"reassigned by {actor} at {now.isoformat()}")
        store.set_owner(conn, cid, owner)
        view = AssignmentView(email, current["team"], owner, current["rule"], current["sla"],
                              current["sla_due_at"], current["status"])
        merge_store.audit(conn, actor, "lead.reassign", email,
                          {"owner": owner, "team": current["team"]}, now=now)
        live = states.live_model(conn)
        notify_lead(conn, "lead.owner_changed", cid, email, {
            "change": {"from": current["owner"], "to": owner, "team": current["team"],
                       "cause": "reassign", "actor": actor, "at": iso(now)},
            "assignment": _assignment_data({**current, "owner": owner})},
            now, live.version_id, live.model)
        return view


def history(engine: Engine, email: str, *, identity: IdentityRules | None = None
            ) -> list[TransitionView]:
    """Every transition of the contact, oldest first."""
    with translate_errors("reading lifecycle history"), engine.connect() as conn:
        cid = _contact_id(conn, email, identity or IdentityRules())
        return [TransitionView(email, r["from_stage"], r["to_stage"], r["at"], r["cause"] or "",
                               r["actor"] or "", r["reason"]) for r in store.history(conn, cid)]


def add_webhook(engine: Engine, url: str, *, secret: str, topics: list[str],
                now: datetime, server_secret: str = EXAMPLE_SECRET) -> int:
    """Subscribe `url` to `topics` (`*`: all); returns the webhook id
    (`service.webhooks.add_webhook`, which checks URL, topics and secret)."""
    return webhooks.add_webhook(engine, url, secret=secret, topics=topics, now=now,
                                server_secret=server_secret)


def outbox(engine: Engine, status: str | None = None, *, webhook_id: int | None = None
           ) -> list[dict[str, Any]]:
    with translate_errors("reading the outbox"), engine.connect() as conn:
        return store.outbox_rows(conn, status, webhook_id=webhook_id)


def retry_outbox(engine: Engine, ids: list[int] | None, *, now: datetime) -> int:
    """Dead-lettered or refused deliveries back in line (their attempt history kept);
    returns how many."""
    with translate_errors("retrying deliveries"), engine.begin() as conn:
        return store.retry_outbox(conn, ids, now)


# -- the worker --------------------------------------------------------------------------

@dataclass
class WorkerReport:
    transitions: int = 0
    breaches: int = 0
    escalations: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    drift_alerts: int = 0
    retained: int = 0  # raw events deleted by the retention per jurisdiction
    notes: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.transitions or self.breaches or self.delivered or self.retried)


def run_due(engine: Engine, *, now: datetime, batch: int = 500) -> int:
    """Re-decide every contact whose time-based move is due, at the moment it is due."""
    with translate_errors("running due transitions"), engine.begin() as conn:
        due = store.claim_due(conn, now, batch)
        if not due:
            return 0
        ids = list(due)
        live = states.live_model(conn)
        before = store.stages(conn, ids)
        current = states.contact_states(conn, live, ids)
        # each at its own due moment, so a demotion is stamped on time
        states.score_contacts(conn, live, current, now=now, times=due)
        after = store.stages(conn, ids)
        return sum(before[i].stage != after[i].stage for i in ids if i in before and i in after)


def _overlay_need(conn: Connection, model: Any, cid: int) -> frozenset[str] | None:
    """The attributes the sector overlays the lead matches require of its seller (None:
    no overlay applies), read from its record and account as at routing."""
    overlays = model.consent.overlays if model.consent is not None else ()
    if not overlays:
        return None
    from mql.scoring.fit import record_getter
    from mql.store import accounts as account_store
    from mql.store import contacts as contact_store

    stored = contact_store.load_contacts(conn, [cid]).get(cid)
    if stored is None:
        return None
    account = None
    if stored.account_id is not None:
        account = account_store.load_accounts(conn, {stored.account_id}).get(
            stored.account_id)
    need = requirement(overlays, record_getter(stored.record, account))
    return None if need is None else need.attributes


def run_sla(engine: Engine, *, now: datetime, batch: int = 500) -> tuple[int, int]:
    """Breach SLAs past their deadline; after `escalate_after_breaches` breaches the lead
    is re-routed to another member of the team. Returns (breaches, escalations).

    The assignment updates and outbox rows of the batch are written together at the end;
    only an escalation writes the changes before it first, as it counts open leads."""
    breaches = escalations = 0
    with translate_errors("checking SLAs"), engine.begin() as conn:
        live = states.live_model(conn)
        routing = live.model.routing
        by_name = {s.name: s for s in live.model.sla}
        changes: list[dict[str, Any]] = []
        notes: list[store.Note] = []
        for a in store.breached_assignments(conn, now, batch):
            rule = by_name.get(a["sla"] or "")
            team = routing.teams.get(a["team"] or "") if routing else None
            count = a["breaches"] + 1
            breaches += 1
            values: dict[str, Any] = {"breaches": count, "status": "breached"}
            if rule is not None and team is not None:
                values["sla_due_at"] = add_business_hours(a["sla_due_at"],
                                                          rule.first_touch_hours, team.hours)
            else:
                values["sla_due_at"] = None
            data = {CONTACT_ID: a["contact_id"], "assignment": {
                **_assignment_data(a), "breaches": count,
                "next_due_at": iso(values["sla_due_at"])},
                "manager": team.manager if team else None, "breached_at": iso(now)}
            if rule is not None and team is not None and count >= rule.escalate_after_breaches:
                store.update_assignments(conn, changes)  # the loads count the owners so far
                changes = []
                others = tuple(m for m in team.members if m.name != a["owner"]) or team.members
                need = _overlay_need(conn, live.model, int(a["contact_id"]))
                if need is not None:  # a sector overlay: only sellers who qualify
                    others = tuple(m for m in others if qualifies(m, team, need))
                credit = store.robin_credit(conn)
                owner, robin = RoundRobin(credit.get(team.name, {})).pick(
                    others, store.open_loads(conn), now.date())
                store.save_robin_credit(conn, {team.name: dict(robin.credit)}, now)
                values.update(status="escalated", owner=owner)
                data["rerouted_to"] = owner
                escalations += 1
                store.set_owner(conn, a["contact_id"], owner)
                notes.append(store.Note("lead.owner_changed", "", {
                    CONTACT_ID: a["contact_id"],
                    "change": {"from": a["owner"], "to": owner, "team": a["team"],
                               "cause": "escalation", "actor": "mql", "at": iso(now)},
                    "assignment": {**_assignment_data(a), "owner": owner}}, now))
            changes.append({"id": a["id"], **values})
            notes.insert(len(notes) - (1 if "rerouted_to" in data else 0),
                         store.Note("sla.breached", "", data, now))
        store.update_assignments(conn, changes)
        if notes:
            hooks = store.active_webhooks(conn)
            if hooks:
                notes = complete_notes(model_data(live.version_id, live.model),
                                       live.model.consent)(conn, notes)
                notes = [store.Note(n.topic, n.data["contact"]["email"], n.data, n.at)
                         for n in notes]
            store.enqueue_many(conn, notes, hooks)
    return breaches, escalations


def run_deliveries(engine: Engine, *, clock: Callable[[], datetime],
                   options: webhooks.DeliveryOptions | None = None) -> tuple[int, int, int]:
    """Send the webhook deliveries due now (real time, from `clock`); returns (delivered,
    retried, failed for good). See `service.webhooks` for the isolation."""
    counts = webhooks.run_deliveries(engine, clock=clock, options=options)
    return counts.delivered, counts.retried, counts.failed


def run_once(engine: Engine, *, now: datetime, clock: Callable[[], datetime] | None = None,
             options: webhooks.DeliveryOptions | None = None, deliver: bool = True,
             audit: AuditSchedule | None = None) -> WorkerReport:
    """One pass of every kind of due work: lifecycle moves and SLA breaches at `now`, the
    scheduled drift audit when its period has not been audited (`audit`), the retention
    of raw events per jurisdiction (`consent.retention`, hourly), then (unless `deliver`
    is False) the deliveries due by `clock` (real time; default `now`)."""
    report = WorkerReport()
    report.transitions = run_due(engine, now=now)
    report.breaches, report.escalations = run_sla(engine, now=now)
    if audit is not None:
        report.drift_alerts = run_scheduled(engine, now=now, schedule=audit)
    from mql.service import retention  # it reads the live model (the scoring state)

    if retention.due(engine, now=now):  # `consent.retention`: at most once an hour
        report.retained = retention.retain(engine, now=now, actor="worker").events
    if deliver:
        report.delivered, report.retried, report.failed = run_deliveries(
            engine, clock=clock or (lambda: now), options=options)
    return report


def next_wake(engine: Engine, *, now: datetime, poll: timedelta) -> datetime:
    """When the worker should look again: the next due moment, or after `poll` (new
    events and deliveries arrive at any time)."""
    with translate_errors("reading the schedule"), engine.connect() as conn:
        due = store.next_due(conn)
    return min(due, now + poll) if due is not None and due > now else now + poll
