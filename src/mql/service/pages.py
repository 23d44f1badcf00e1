"""What the web pages show, as values: the sales queue, a lead and an account, the
operations overview. Each joins the service functions the CLI and the API use (the
decision, its reasons in words, the explanation, the lifecycle history, the SLA words, the
account score) and adds only what a page needs to list them together; the visibility of a
lead is `sales_actions.reaches`, the rule the API's sales actions enforce.

The queue holds the MQLs to accept or reject and the accepted leads (SAL) to convert. Its
order (its priority): MQLs before accepted leads; then the nearest first-touch deadline
first (overdue ones at the top), then leads without a deadline; within the same deadline
the higher total score first. A page shows the first 50 (`QUEUE_SIZE`) and how many more
wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mql.accounts.score import AccountScore
from mql.identity.merge import IdentityRules
from mql.model.diff import describe_changes
from mql.model.parse import parse_model
from mql.model.spec import TOTAL
from mql.routing.calendar import business_hours_between
from mql.scoring.explain import Explanation
from mql.scoring.qualify import Decision
from mql.service import state as states
from mql.service.accounts import AccountView, account_scores, show_account_mqa
from mql.service.api_reads import lead_score_history, read_account
from mql.service.consent_gate import lead_compliance
from mql.service.keys import Scope, audit_lines
from mql.service.lead_words import LeadCard, lead_card, sla_words
from mql.service.lifecycle import TransitionView, history
from mql.service.sales_actions import reaches
from mql.service.scores import Ledgers
from mql.service.store import ContactView, find_contact
from mql.store import account_stages
from mql.store import accounts as account_store
from mql.store import handoff as handoff_store
from mql.store import models as model_store
from mql.store.db import translate_errors


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One lead of a seller's queue: its decision now, why in words, its SLA and account."""

    decision: Decision
    because: str
    stage: str
    owner: str | None
    team: str | None
    sla: str
    sla_due_at: datetime | None
    hours_left: float | None  # business hours to the first-touch deadline (< 0: overdue)
    account: str | None
    coverage: str | None  # the account's committee coverage in words
    consent: str  # "email granted, phone denied" or "no consent recorded"
    held: str | None = None  # why the lead is held for compliance (no seller gets it)

    @property
    def email(self) -> str:
        return self.decision.contact


def consent_words(statuses: dict[str, str]) -> str:
    """Consent by channel in words.

    >>> consent_words({"phone": "denied", "email": "granted"}), consent_words({})
    ('email granted, phone denied', 'no consent recorded')
    """
    if not statuses:
        return "no consent recorded"
    return ", ".join(f"{channel} {status}" for channel, status in sorted(statuses.items()))


def coverage_words(score: AccountScore) -> str:
    """An account's committee coverage: "2 of 3 roles engaged (missing: economic buyer)".

    The roles to cover are the engaged, silent and missing ones together."""
    c = score.coverage
    wanted = len(c.engaged) + len(c.silent) + len(c.missing)
    gaps = [f"silent: {', '.join(c.silent)}"] if c.silent else []
    gaps += [f"missing: {', '.join(c.missing)}"] if c.missing else []
    tail = f" ({'; '.join(gaps)})" if gaps else ""
    return f"{len(c.engaged)} of {wanted} roles engaged{tail}"


def _hours_left(due: datetime | None, team: str | None, now: datetime,
                live: states.LiveModel) -> float | None:
    teams = live.model.routing.teams if live.model.routing is not None else {}
    calendar = teams.get(team) if team is not None else None
    if due is None or calendar is None:
        return None
    if due >= now:
        return business_hours_between(now, due, calendar.hours)
    return -business_hours_between(due, now, calendar.hours)


@dataclass(frozen=True, slots=True)
class Queue:
    """The first `QUEUE_SIZE` leads of a queue by priority, and how many more there are."""

    items: list[QueueItem]
    more: int


QUEUE_SIZE = 50


def _rank(stage: str, due: datetime | None) -> tuple[bool, bool, float]:
    return (stage != "mql", due is None, due.timestamp() if due is not None else 0.0)


def sales_queue(engine: Engine, *, at: datetime, scope: Scope | None,
                size: int = QUEUE_SIZE) -> Queue:
    """The MQLs and accepted leads (lifecycle stage mql or sal) `scope` reaches, by
    priority (see the module): the first `size` by stage and deadline are decided (the
    scores, reasons and account coverage of a lead cost a replay of its state), then
    ordered with the total score breaking ties of the same deadline."""
    with translate_errors("reading the sales queue"), engine.connect() as conn:
        live = states.live_model(conn)
        # stage, owner, team and deadline of every lead waiting, in one query: the
        # reach and the rank; then the rows of the first `size` only
        waiting = handoff_store.waiting_in(conn, ("mql", "sal"), handoff_store.UNTOUCHED)
        ids = [cid for cid, (_, owner, team, _) in waiting.items()
               if reaches(scope, owner, team)]
        ids.sort(key=lambda cid: _rank(waiting[cid][0], waiting[cid][3]))
        more = max(0, len(ids) - size)
        ids = ids[:size]
        rows = handoff_store.stages(conn, ids)
        open_ = handoff_store.open_assignments(conn, ids)
        ledgers = Ledgers(conn, live, ids)
        ledgers.prefetch(at)
        # the queue shows no times (qualified until, exit): their solves are left out
        decisions = {cid: ledgers.decision(cid, at, times=False) for cid in ids
                     if cid in ledgers.contacts}
        # consent as of now and why a held lead is held: the gate's own verdict
        compliance = lead_compliance(conn, live.model.consent, {cid: at for cid in ids})
        account_ids = sorted({c.account_id for cid in decisions
                              if (c := ledgers.contacts[cid]).account_id is not None})
        domains = {aid: r.domain for aid, r in
                   account_store.load_accounts(conn, account_ids).items()}
    coverage = _coverages(engine, sorted(set(domains.values())), at)
    items = []
    for cid, d in decisions.items():
        assignment = open_.get(cid)
        team = assignment.get("team") if assignment else None
        due = assignment.get("sla_due_at") if assignment else None
        aid = ledgers.contacts[cid].account_id
        domain = domains.get(aid) if aid is not None else None
        row = rows.get(cid)
        items.append(QueueItem(
            d, d.because(), (row.stage if row else None) or "mql", row.owner if row else None, team,
            sla_words(assignment, at), due, _hours_left(due, team, at, live), domain,
            coverage.get(domain) if domain else None, consent_words(compliance[cid].consent),
            compliance[cid].hold_reason if compliance[cid].held else None))
    items.sort(key=lambda i: (i.stage != "mql", i.sla_due_at is None,
                              i.sla_due_at.timestamp() if i.sla_due_at else 0.0,
                              -i.decision.total, i.email))
    return Queue(items, more)


def _coverages(engine: Engine, domains: list[str], at: datetime) -> dict[str, str]:
    return {s.domain: coverage_words(s) for s in account_scores(engine, domains, at=at)}


@dataclass(frozen=True, slots=True)
class Contribution:
    """One line of a lead's contribution ledger: what `rule` counts towards `score`."""

    score: str
    rule: str
    kind: str  # fit, intent (a rule over events) or cap (the score's maximum or floor)
    events: int | None
    points: float | None
    decayed: float | None
    counted: float
    note: str


def contributions(x: Explanation) -> list[Contribution]:
    """Every line that adds to a score, and a cap line where a score's maximum (or
    floor) cut the sum: the lines of a score add up to that score exactly."""
    out: list[Contribution] = []
    scores = [n for n in x.decision.scores if n != TOTAL]
    for name in scores:
        mine: list[Contribution] = []
        if name in x.fit:
            mine += [Contribution(name, line.rule, "fit", None, line.points, None,
                                  line.points, line.note) for line in x.fit[name]
                     if line.matched]
        else:
            mine += [Contribution(name, r.rule, "intent", r.events, r.points, r.decayed,
                                  r.value, r.note) for r in x.rules if r.score == name]
        summed = 0.0
        for line in mine:
            summed += line.counted
        shown = x.decision.scores[name]
        if not math.isclose(summed, shown, abs_tol=1e-9):
            mine.append(Contribution(name, "cap", "cap", None, None, None, shown - summed,
                                     f"the lines add up to {summed:.1f}; {name} is capped "
                                     f"at {shown:.1f}"))
        out += mine
    return out


@dataclass(frozen=True, slots=True)
class LeadPageView:
    """A lead's page: the card (stage, owner, team, SLA, verdict in words), the
    explanation, its contribution ledger, its score history, its lifecycle moves and
    its identity (identifiers, merges, consent)."""

    card: LeadCard
    contributions: list[Contribution]
    points: list[Decision]
    moves: list[TransitionView]
    contact: ContactView

    @property
    def explanation(self) -> Explanation:
        return self.card.lead.explanation


def lead_view(engine: Engine, lead: str, *, at: datetime, rules: IdentityRules,
              scope: Scope | None, days: int = 30) -> LeadPageView:
    """The page of the lead with this email (or contact id); `Forbidden` when `scope`
    does not reach it (the API's rule for sales actions), `NotFound` when there is none."""
    card = lead_card(engine, lead, at=at, rules=rules, scope=scope)
    email = card.lead.email
    return LeadPageView(card, contributions(card.lead.explanation),
                        lead_score_history(engine, email, at=at, days=days, rules=rules),
                        history(engine, email, identity=rules),
                        find_contact(engine, email, rules=rules))


@dataclass(frozen=True, slots=True)
class AccountPageView:
    """An account's page: its score, ledger, coverage and MQA decision with its history,
    and its contacts' decisions (only those `scope` reaches)."""

    view: AccountView
    contacts: list[Decision]
    hidden: int  # contacts the seller's scope does not reach
    opportunities: list[tuple[datetime, datetime | None, str]]


def account_view(engine: Engine, domain: str, *, at: datetime, scope: Scope | None
                 ) -> AccountPageView:
    """The page of the account with this domain; `NotFound` when there is none."""
    found = read_account(engine, domain, at=at, scope=scope)
    view = show_account_mqa(engine, domain, at=at)
    with translate_errors("reading the account"), engine.connect() as conn:
        opportunities = _opportunities(conn, found.id)
    return AccountPageView(view, found.contacts, found.hidden, opportunities)


def _opportunities(conn: Connection, account_id: int
                   ) -> list[tuple[datetime, datetime | None, str]]:
    return sorted(account_stages.opportunities_of(conn, account_id), key=lambda o: o[0])



def reject_reasons(engine: Engine) -> tuple[str, ...]:
    """The reasons a seller may reject a lead with: the live model's list."""
    with translate_errors("reading the model"), engine.connect() as conn:
        return states.live_model(conn).model.lifecycle.reject_reasons


@dataclass(frozen=True, slots=True)
class VersionRow:
    """A stored model version and, unless it is the live one, the rule changes from the
    live version to it in words (`mql diff`'s wording)."""

    version: model_store.ModelVersion
    changes: list[str]


def model_page(engine: Engine) -> list[VersionRow]:
    """Every stored version, newest first, each with its changes against the live one."""
    with translate_errors("reading model versions"), engine.connect() as conn:
        versions = model_store.versions(conn)
        live = next((v for v in versions if v.active), None)
    base = None if live is None else parse_model(live.text, source=live.source or "live")
    rows = []
    for v in reversed(versions):
        changes: list[str] = []
        if base is not None and not v.active:
            changes = describe_changes(base, parse_model(v.text, source=v.source or "stored"))
        rows.append(VersionRow(v, changes))
    return rows


@dataclass(frozen=True, slots=True)
class MqaItem:
    """An account handed off as an MQA within its open buying motion (`reopen_days`),
    as the hand-off recorded it: reason, recipient, deadline, coverage and its MQLs."""

    domain: str
    at: datetime
    reason: str
    route: str | None
    owner: str | None
    due: datetime | None
    next_action: str
    mqls: list[str]


def mqa_queue(engine: Engine, *, at: datetime, scope: Scope | None) -> list[MqaItem]:
    """The accounts whose MQA hand-off is still in its open motion at `at`, newest
    first; a seller's are those routed to their team or owned by them (an MQA goes to a
    team, not to one lead's owner). None when the live model defines no `accounts.mqa`."""
    with translate_errors("reading the model"), engine.connect() as conn:
        spec = states.live_model(conn).model.accounts
    if spec is None or spec.mqa is None:
        return []
    since = at - timedelta(days=spec.mqa.reopen_days)
    latest: dict[str, dict[str, Any]] = {}
    for line in audit_lines(engine, account_stages.MQA):
        if since <= line["at"] <= at and line["subject"]:
            latest[str(line["subject"])] = line
    items = []
    for domain, line in latest.items():
        detail = dict(line["detail"] or {})
        route, owner = detail.get("route"), detail.get("owner")
        if scope is not None and not (owner == scope.name or
                                      (scope.team is not None and route == scope.team)):
            continue
        due = detail.get("sla_due_at")
        items.append(MqaItem(domain, line["at"], str(detail.get("reason") or ""), route, owner,
                             datetime.fromisoformat(due) if isinstance(due, str) else None,
                             str((detail.get("coverage") or {}).get("next_action") or ""),
                             list(detail.get("mqls") or [])))
    items.sort(key=lambda i: (i.at, i.domain), reverse=True)
    return items
