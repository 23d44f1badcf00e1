"""From decisions to action: lifecycle transitions, routing, SLA clocks and notifications.

`apply_decisions` runs inside the scoring transaction (`service.state.score_contacts`),
so a contact's new score, its stage change, its assignment and the outbox rows that tell
the world are committed together or not at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from mql.compliance.consent import statuses_at
from mql.identity.jobs import JOB_CHANGE
from mql.lifecycle.rules import due_at, next_move
from mql.lifecycle.stages import Cause, Stage, Transition
from mql.model.conditions import activities
from mql.model.consent import ConsentPolicy, Overlay
from mql.model.handoff import Routing, SlaRule
from mql.model.spec import Model
from mql.records import Account, Contact
from mql.routing.calendar import add_business_hours
from mql.routing.overlays import requirement
from mql.routing.round_robin import RoundRobin
from mql.routing.rules import Assignment, route
from mql.routing.sla import sla_for
from mql.scoring.explain import exit_words
from mql.scoring.intent import IntentState
from mql.scoring.qualify import Decision, Qualifier, Reason
from mql.service import consent_gate as consent_service
from mql.store import account_stages
from mql.store import events as event_store
from mql.store import handoff as store
from mql.store import merges as audit_store


def stage_of(value: str | None) -> Stage:
    """A stored stage; CRM words mql does not use ("lead", "subscriber") mean captured."""
    try:
        return Stage(value) if value else Stage.CAPTURED
    except ValueError:
        return Stage.CAPTURED


# -- what notifications say (one place: every topic's payload is built here) -------------

def reason_text(model: Model, reason: Reason) -> str:
    """A qualifying reason in words a seller reads: the rule's own description when the
    model gives one, else its values ("fit 60 ≥ 50 and intent 96.8 ≥ 30").

    (The explain work builds a shared seller-readable reason function; until then this is
    the one place that words reasons for notifications.)"""
    if reason.kind == "criteria":
        found = next((c for c in model.mql.criteria if c.name == reason.name), None)
        if found is not None and found.description:
            return found.description
        return f"meets the {reason.name.replace('_', ' ')} criteria"
    if reason.kind == "fast_track":
        fast = next((f for f in model.mql.fast_track if f.name == reason.name), None)
        events = " or ".join(e.replace("_", " ") for e in (fast.events if fast else ()))
        what = (fast.description if fast is not None and fast.description else
                f"{events or reason.name.replace('_', ' ')} (fast track)")
        when = reason.detail.rpartition(" at ")[2]
        return f"{what}, at {when.replace('T', ' ').replace('Z', ' UTC')}"
    return reason.detail.replace(">=", "≥")


def iso(t: datetime | None) -> str | None:
    """A time as ISO 8601 with seconds and zone (UTC): 2026-03-03T15:00:00+00:00."""
    return None if t is None else t.astimezone(UTC).isoformat(timespec="seconds")


def decision_data(model: Model, d: Decision) -> dict[str, Any]:
    """What a webhook says about a decision: scores, grade and why, in words."""
    return {
        "scores": {k: round(v, 6) for k, v in d.scores.items()}, "grade": d.grade,
        "mql": d.mql,
        "reasons": [{"kind": r.kind, "name": r.name, "text": reason_text(model, r)}
                    for r in d.reasons],
        "qualified_until": iso(d.qualified_until), "exit_at": iso(d.exit_at),
    }


def transition_data(move: Transition) -> dict[str, Any]:
    """A transition as fields: from, to, at, cause, actor, reason."""
    return {"from": move.source.value, "to": move.target.value, "at": iso(move.at),
            "cause": move.cause.value, "actor": move.actor, "reason": move.reason}


def model_data(version_id: int | None, model: Model | None) -> dict[str, Any]:
    return {"version_id": version_id, "name": None if model is None else model.name,
            "version": None if model is None else model.version}


CONTACT_ID = "_contact_id"  # in a held note's data: whose subject `complete_notes` adds


def subject_data(subject: store.Subject | None, email: str, at: datetime
                 ) -> dict[str, Any]:
    """The lead a notification is about: contact (email, name, title, CRM ids, consent
    per channel as of `at`, the notification's moment) and account (domain, name). Its
    stage and owner are in each topic's `transition` and `assignment` (as of the
    notification, not of when it is read)."""
    if subject is None:
        return {"contact": {"email": email}, "account": None}
    a = subject.attributes
    first, last = a.get("first_name"), a.get("last_name")
    name = " ".join(str(p) for p in (first, last) if p) or a.get("name")
    # each channel's consent as of the notification (`mql.compliance.consent.state_at`:
    # the newest record then, the stricter across merged contacts); a record dated
    # after it is not read, so a notification sent late says what held at its moment
    consent = statuses_at(subject.consent, at)
    return {
        "contact": {"id": subject.contact_id, "email": subject.email or email,
                    "first_name": first, "last_name": last, "name": name,
                    "title": a.get("title"), "crm_ids": dict(subject.crm_ids),
                    "consent": consent},
        "account": None if subject.account_domain is None else {
            "domain": subject.account_domain, "name": subject.account_name},
    }


def complete_notes(model: dict[str, Any], policy: ConsentPolicy | None = None,
                   gate: consent_service.Gate | None = None) -> Any:
    """A `Moves.complete`: each held note's data gets its lead's subject and the model.

    With a consent `policy` (the model's `consent:` section) this is the gate of every
    notification about a lead: the contact's verdict as of the note's moment is read, a
    note about a lead that may not be contacted on any hand-off channel is dropped (and
    the refusal audited), and the others say `may_contact` per channel."""
    def complete(conn: Connection, notes: list[store.Note]) -> list[store.Note]:
        ids = [int(n.data[CONTACT_ID]) for n in notes if CONTACT_ID in n.data]
        found = store.subjects(conn, ids)
        checks = None
        if policy is not None:
            checks = (gate or consent_service.Gate(policy)).load(conn, ids)
        out = []
        for n in notes:
            data = dict(n.data)
            cid = data.pop(CONTACT_ID, None)
            if cid is not None:
                data = {**subject_data(found.get(int(cid)), n.subject, n.at), "model": model,
                        **data}
                verdict = None if checks is None else checks.verdict(int(cid), n.at)
                if verdict is not None:
                    if verdict.held:
                        consent_service.record_refusal(conn, int(cid), n.topic, verdict, n.at)
                        continue
                    data["contact"] = {**data["contact"], "may_contact": verdict.may_contact}
            out.append(store.Note(n.topic, n.subject, data, n.at))
        return out
    return complete


def notify_lead(conn: Connection, topic: str, cid: int, email: str, data: dict[str, Any],
                at: datetime, version_id: int | None, model: Model | None) -> None:
    """Queue one notification about a lead, with its subject and the model, now."""
    hooks = store.active_webhooks(conn)
    if hooks:  # nobody listens: nothing to read
        store.enqueue_many(conn, complete_notes(
            model_data(version_id, model), None if model is None else model.consent)(
            conn, [store.Note(topic, email, {CONTACT_ID: cid, **data}, at)]), hooks)


def record(conn: Connection, cid: int, move: Transition, version_id: int | None) -> None:
    """Store one transition and the contact's new stage."""
    store.add_history(conn, cid, move.source.value, move.target.value, move.at,
                      move.cause.value, move.actor, version_id, move.reason)
    store.set_stage(conn, cid, move.target.value, move.at)


@dataclass
class Router:
    """What routing reads, read once per batch of new MQLs and kept current in memory:
    the round-robin credit of every team and the open leads per owner (`None`: read it
    again). The credit is saved once, by `save`, as one save per assignment would leave it.

    The new assignments and owners are held and written together by `flush` (before
    anything reads them again, and by `save`), in the order they were made, so the rows
    and their ids are those of writing one by one. `scope` are the contacts this router
    may assign (a batch's decisions): which of them have an open assignment to close is
    read once, at the first assignment."""

    credit: dict[str, dict[str, int]] | None = None
    loads: dict[str, int] | None = None
    last: datetime | None = None  # when the last lead was assigned
    sla: tuple[str | None, datetime | None] = (None, None)  # of the last assignment
    scope: frozenset[int] = frozenset()
    open_of: set[int] | None = None  # the contacts of `scope` with an open assignment
    pending: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    owners: dict[int, str | None] = dataclasses.field(default_factory=dict)

    def flush(self, conn: Connection) -> None:
        """Write the held assignments and owners."""
        store.add_assignments(conn, self.pending)
        store.set_owners(conn, self.owners)
        self.pending, self.owners = [], {}

    def save(self, conn: Connection) -> None:
        self.flush(conn)
        if self.credit is not None and self.last is not None:
            store.save_robin_credit(conn, self.credit, self.last)


def assign(conn: Connection, routing: Routing, sla_rules: tuple[SlaRule, ...], cid: int,
           contact: Contact, account: Account | None, get: Any, at: datetime,
           router: Router | None = None, overlays: tuple[Overlay, ...] = ()) -> Assignment:
    """Route a new MQL, start its SLA clock, and store both (the round-robin credit only
    when `router` is None; with a router, by `router.save` after the batch). The SLA and
    its deadline are kept in `router.sla`.

    Under the sector `overlays` the lead matches (the model's `consent.overlays`), only a
    seller with the required attributes gets it; when the routing reaches none, nothing
    is stored, the hold is audited (`consent.hold`) and the returned assignment is
    `held`: the caller sends no `lead.assigned`."""
    requires = requirement(overlays, get) if overlays else None
    shared = router is not None
    router = router or Router(scope=frozenset((cid,)))
    if router.credit is None:
        router.credit = store.robin_credit(conn)
    if router.loads is None:
        router.flush(conn)  # the held assignments count
        router.loads = store.open_loads(conn)
    robins = {team: RoundRobin(c) for team, c in router.credit.items()}
    assignment, robins = route(routing, account, get, robins, router.loads, at,
                               requires=requires)
    if assignment.held and requires is not None:
        consent_service.record_overlay_hold(conn, cid, at, assignment.reason,
                                            requires.overlays)
        router.sla = (None, None)
        return assignment
    router.credit, router.last = {t: dict(r.credit) for t, r in robins.items()}, at
    if requires is not None:  # the gate held: who got it and under which overlays
        audit_store.audit(conn, "mql", "routing.overlay", f"contact:{cid}", {
            "contact_id": cid, "at": at.isoformat(), "overlays": list(requires.overlays),
            "requires": sorted(requires.attributes), "team": assignment.team,
            "owner": assignment.owner}, now=at)
    if not shared:
        router.save(conn)
    rule = sla_for(sla_rules, get)
    due = None
    if rule is not None:
        team = routing.teams.get(assignment.team or routing.fallback)
        calendar = team.hours if team is not None else routing.teams[routing.fallback].hours
        due = add_business_hours(at, rule.first_touch_hours, calendar)
    if router.open_of is None:
        router.open_of = store.with_open_assignments(conn, router.scope | {cid})
    if (cid in router.open_of or cid not in router.scope) and store.close_assignments(conn, cid):
        router.loads = None  # an open lead of this contact was closed: count again
    router.pending.append(dict(contact_id=cid, team=assignment.team, owner=assignment.owner,
                               rule=assignment.rule, reason=assignment.reason, assigned_at=at,
                               sla=None if rule is None else rule.name, sla_due_at=due,
                               status="open"))
    if router.loads is not None and assignment.owner is not None:
        router.loads[assignment.owner] = router.loads.get(assignment.owner, 0) + 1
    router.owners.pop(cid, None)  # a later owner lands last, as one by one
    router.owners[cid] = assignment.owner
    if not shared:
        router.flush(conn)
    router.sla = (None if rule is None else rule.name, due)
    return assignment


def open_motion(conn: Connection, model: Model, account: Account | None, at: datetime
                ) -> tuple[str, datetime, dict[str, Any]] | None:
    """With `accounts.mqa.handoff: account`, the open buying motion of the account (its
    MQA handed off less than `reopen_days` before `at`): (domain, handed off at, detail).
    An MQL inside it is attached to it, never routed as a second hand-off."""
    if not account_handoff(model) or account is None:
        return None
    assert model.accounts is not None and model.accounts.mqa is not None
    spec = model.accounts.mqa
    found = account_stages.open_mqa(conn, account.domain, at,
                                    at - timedelta(days=spec.reopen_days))
    return None if found is None else (account.domain, *found)


def attach(conn: Connection, router: Router, cid: int,
           motion: tuple[str, datetime, dict[str, Any]], at: datetime) -> Assignment:
    """Give a new MQL inside an open MQA motion to the motion's recipient (the account's
    owner or the tier's team, as the MQA was handed off): no routing rule, no
    round-robin turn and no SLA clock of its own (the MQA's runs)."""
    domain, handed, detail = motion
    route = detail.get("route")
    team = route.removeprefix("team:") if isinstance(route, str) and \
        route.startswith("team:") else None
    owner = None if team is not None or not isinstance(route, str) else route
    assignment = Assignment(team, owner, "account_mqa",
                            f"attached to the MQA of {domain} handed off "
                            f"{handed.isoformat()}")
    if router.open_of is None:
        router.open_of = store.with_open_assignments(conn, router.scope | {cid})
    if (cid in router.open_of or cid not in router.scope) and store.close_assignments(conn, cid):
        router.loads = None
    router.pending.append(dict(contact_id=cid, team=team, owner=owner, rule="account_mqa",
                               reason=assignment.reason, assigned_at=at, sla=None,
                               sla_due_at=None, status="open"))
    if router.loads is not None and owner is not None:
        router.loads[owner] = router.loads.get(owner, 0) + 1
    router.owners.pop(cid, None)
    router.owners[cid] = owner
    router.sla = (None, None)
    return assignment


def account_handoff(model: Model) -> bool:
    """Whether the model hands a buying motion to the account (`accounts.mqa.handoff:
    account`), its MQLs attached."""
    spec = model.accounts.mqa if model.accounts is not None else None
    return spec is not None and spec.handoff == "account"


@dataclass(frozen=True, slots=True)
class NewMql:
    """A contact that just became an MQL, to route: its records, decision, intent state,
    the move's time and the data of its notifications."""

    cid: int
    contact: Contact
    account: Account | None
    decision: Decision
    state: IntentState
    at: datetime
    data: dict[str, Any]


def _route(conn: Connection, qualifier: Qualifier, router: Router, moves: store.Moves,
           new: NewMql, motion: tuple[str, datetime, dict[str, Any]] | None) -> None:
    """Assign a new MQL (attached to the open MQA `motion`, else by the routing rules)
    and queue its `lead.assigned` notification."""
    model = qualifier.model
    assert model.routing is not None
    if motion is not None:
        a = attach(conn, router, new.cid, motion, new.at)
    else:
        d = new.decision
        get = qualifier.criteria_getter(new.contact, new.account, d.scores, new.state,
                                        d.as_of)
        a = assign(conn, model.routing, model.sla, new.cid, new.contact, new.account, get,
                   new.at, router, model.consent.overlays if model.consent else ())
    if a.held:  # a sector overlay no reachable seller meets
        return
    sla, sla_due = router.sla
    moves.notify("lead.assigned", new.contact.email, {
        **new.data, "assignment": {
            "team": a.team, "owner": a.owner, "rule": a.rule, "reason": a.reason,
            "sla": sla, "sla_due_at": iso(sla_due)}}, new.at)


def route_deferred(conn: Connection, qualifier: Qualifier, version_id: int,
                   deferred: list[NewMql]) -> None:
    """Route the MQLs `apply_decisions` deferred, once the batch's MQAs are handed off:
    one whose account the batch made an MQA is attached to it (no routing rule,
    round-robin turn or SLA clock of its own), the others are routed as usual, in the
    order they qualified."""
    if not deferred:
        return
    model = qualifier.model
    gate = None if model.consent is None else consent_service.Gate(model.consent)
    moves = store.Moves(complete=complete_notes(model_data(version_id, model), model.consent,
                                                gate))
    router = Router(scope=frozenset(new.cid for new in deferred))
    for new in deferred:
        _route(conn, qualifier, router, moves, new,
               open_motion(conn, model, new.account, new.at))
    router.flush(conn)
    moves.flush(conn)
    router.save(conn)
    deferred.clear()


def exit_reason(conn: Connection, model: Model, contact_id: int, decision: Decision,
                move: Transition) -> str | None:
    """The reason of an exit on a condition, as a seller reads it: the rule's reason, and
    when the rule reads job changes (`mql.identity.jobs`), the latest change before the
    move ("changed job: title Director of IT -> Student, since 2026-05-03")."""
    rule = next((r for r in model.exit_when if r.name in decision.exits[:1]), None)
    if rule is None or not any(JOB_CHANGE in leaf.events for leaf in activities(rule.when)):
        return move.reason
    event = event_store.latest_of_type(conn, contact_id, JOB_CHANGE, move.at)
    return exit_words(rule, [event] if event is not None else [], move.at)


def apply_decisions(
    conn: Connection,
    qualifier: Qualifier,
    version_id: int,
    contacts: Mapping[int, Contact],
    accounts: Mapping[int, Account | None],
    decisions: Mapping[int, Decision],
    states: Mapping[int, IntentState],
    cause: Cause | None = None,
    *,
    hold: frozenset[int] = frozenset(),
    stages: Mapping[int, store.StageRow] | None = None,
    defer: list[NewMql] | None = None,
) -> dict[int, datetime]:
    """Move every decided contact as the model says; returns the contacts recycled with
    `requalify: fresh_intent` and when, whose intent the caller resets. `cause` overrides
    the cause of every transition (e.g. a model change). The contacts in `hold` are not
    moved: their stage was just imported from a CRM (cause ``import``); an imported MQL
    leaves by the acceptance timeout, counted from the import, or by later activity.
    `stages`: the contacts' stage rows, when the caller has read them already. `defer`
    (with `accounts.mqa.handoff: account`): the new MQLs of an account with no open MQA
    motion are added to it, not routed; the caller hands off the batch's MQAs, then
    routes them with `route_deferred` (attached to an MQA the batch opened)."""
    model = qualifier.model
    rows = stages if stages is not None else store.stages(conn, decisions)
    due: dict[int, datetime | None] = {}
    reset: dict[int, datetime] = {}
    # the history, stages, closed assignments and outbox rows of every move are written
    # together at the end (a few statements, not several per move)
    gate = None if model.consent is None else consent_service.Gate(model.consent)
    moves = store.Moves(complete=complete_notes(model_data(version_id, model), model.consent,
                                                gate))
    router = Router(scope=frozenset(decisions))
    planned = {}  # each contact's stage, since when, and move (the stage machine is pure)
    for cid, d in decisions.items():
        row = rows.get(cid)
        stage = stage_of(row.stage if row else None)
        since = (row.since if row and row.since else None) or d.as_of
        planned[cid] = (stage, since, None if cid in hold else next_move(
            model, stage, since, d, model_version=str(version_id)))
    if gate is not None:  # the verdicts of every move into or out of MQL, read at once
        gate.load(conn, [cid for cid, (_, _, m) in planned.items()
                         if m is not None and Stage.MQL in (m.source, m.target)])
    for cid, d in decisions.items():
        stage, since, move = planned[cid]
        if move is not None and cause is not None:
            move = dataclasses.replace(move, cause=cause)
        if move is not None and move.cause is Cause.EXIT_CONDITION:
            move = dataclasses.replace(move, reason=exit_reason(conn, model, cid, d, move))
        if move is not None:
            moves.move(cid, move.source.value, move.target.value, move.at, move.cause.value,
                       move.actor, version_id, move.reason)
            stage, since = move.target, move.at
            contact = contacts[cid]
            data = {CONTACT_ID: cid, **decision_data(model, d),
                    "transition": transition_data(move)}
            verdict = None
            if gate is not None and Stage.MQL in (move.source, move.target):
                verdict = gate.load(conn, [cid]).verdict(cid, move.at)
            if move.target is Stage.MQL and verdict is not None and verdict.held:
                # scored and an MQL, but no seller gets it and nothing about it leaves mql
                consent_service.record_hold(conn, cid, verdict, move.at)
            elif move.target is Stage.MQL:
                moves.notify("mql.qualified", contact.email, data, move.at)
                if model.routing is not None:
                    if moves.closed:  # routing counts open assignments: close those first
                        router.flush(conn)
                        moves.flush(conn)
                        router.loads = None
                    new = NewMql(cid, contact, accounts.get(cid), d,
                                 states.get(cid, IntentState.empty()), move.at, data)
                    motion = open_motion(conn, model, new.account, move.at)
                    if motion is None and defer is not None and new.account is not None \
                            and account_handoff(model):
                        defer.append(new)  # the batch's MQA, if any, comes first
                    else:
                        _route(conn, qualifier, router, moves, new, motion)
            elif move.source is Stage.MQL:
                moves.close(cid)
                moves.notify("lead.recycled", contact.email, data, move.at)
                if move.target is Stage.RECYCLED and model.lifecycle.requalify_fresh_intent:
                    reset[cid] = move.at
        due[cid] = due_at(model, stage, since, dataclasses.replace(d, exit_at=None)
                          if cid in hold else d)
    router.flush(conn)
    moves.flush(conn)
    router.save(conn)
    # only the due times that change are written (most contacts keep theirs)
    store.set_due(conn, {cid: t for cid, t in due.items()
                         if (row := rows.get(cid)) is None or row.due != t})
    return reset
