"""Read use cases of the HTTP API: one lead with its stage and explanation, pages of leads,
an account with its contacts, webhook deliveries.

Pages are cut by an opaque cursor: the time the first page was scored at and the sort key of
the last lead of the previous page. Every page of a walk is scored at that same time, so
decay between two requests cannot make a lead repeat or vanish.

>>> from datetime import UTC
>>> at = datetime(2026, 3, 2, tzinfo=UTC)
>>> decode_cursor(encode_cursor(at, (False, -12.5, "a@b.example")))
(datetime.datetime(2026, 3, 2, 0, 0, tzinfo=datetime.timezone.utc), (False, -12.5, 'a@b.example'))
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from mql.errors import ConfigError, NotFound
from mql.identity.merge import IdentityRules
from mql.scoring.explain import Explanation
from mql.scoring.qualify import Decision
from mql.scoring.scorer import score
from mql.service import lifecycle
from mql.service import state as states
from mql.service.consent_gate import LeadCompliance, lead_compliance
from mql.service.keys import Scope
from mql.service.sales_actions import check_reach, check_scope, reachable
from mql.service.scores import (
    Ledgers,
    decisions_of,
    explain_contact,
    list_scores,
    ranked_scores,
)
from mql.service.store import find_contact
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import handoff as handoff_store
from mql.store.db import translate_errors

SortKey = tuple[bool, float, str]


@dataclass(frozen=True, slots=True)
class Lead:
    """A lead: its stored record, lifecycle stage, the live model's name and its
    explanation at a time."""

    id: int
    email: str
    account: str | None
    attributes: dict[str, Any]
    model: str | None
    stage: str | None
    stage_since: datetime | None
    owner: str | None
    assignment: dict[str, Any] | None  # the open one: team, rule, sla, sla_due_at, status
    explanation: Explanation
    compliance: LeadCompliance | None = None  # consent as of the time, may_contact, hold


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account: its firmographics and its contacts' decisions (MQLs first)."""

    id: int
    domain: str
    attributes: dict[str, Any]
    contacts: list[Decision]
    hidden: int = 0  # its live contacts a seller's scope does not reach (not in contacts)

    @property
    def open_mqls(self) -> int:
        """How many of its contacts qualify now."""
        return sum(1 for d in self.contacts if d.mql)

    @property
    def engagement(self) -> float:
        """The sum of its contacts' intent scores now."""
        return sum(d.scores.get("intent", 0.0) for d in self.contacts)


@dataclass(frozen=True, slots=True)
class LeadPage:
    """Leads of one page, MQLs first then by total score, and the cursor of the next."""

    items: list[Decision]
    next_cursor: str | None


def encode_cursor(at: datetime, key: SortKey) -> str:
    """The opaque cursor text of a scoring time and a sort key."""
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), *key]).encode()).decode()


def decode_cursor(text: str) -> tuple[datetime, SortKey]:
    """The scoring time and sort key in a cursor; `ConfigError` when it is not one of ours."""
    try:
        at, done, total, email = json.loads(base64.urlsafe_b64decode(text.encode()))
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive time")
        return when, (bool(done), float(total), str(email))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cursor {text[:40]!r} is not a cursor of this API; pass the "
                          "next_cursor of the previous page") from exc


def _key(d: Decision) -> SortKey:
    return (not d.mql, -d.total, d.contact)


def read_lead(engine: Engine, lead: str, *, at: datetime, rules: IdentityRules,
              scope: Scope | None = None) -> Lead:
    """The lead with this email, or this contact id (digits), explained at `at`;
    `NotFound` when there is none, `Forbidden` when `scope` (a seller's) does not reach
    it (`sales_actions.reaches`, the rule of the sales actions and the web pages)."""
    email = lead
    if lead.isdigit():
        with translate_errors("reading the lead"), engine.connect() as conn:
            found = contact_store.load_contacts(conn, [int(lead)])
        if int(lead) not in found or found[int(lead)].merged_into is not None:
            raise NotFound(f"no lead with id {lead}")
        email = found[int(lead)].record.email
    view = find_contact(engine, email, rules=rules)
    with translate_errors("reading the lead's stage"), engine.connect() as conn:
        row = handoff_store.stages(conn, [view.id]).get(view.id)
        assignment = handoff_store.open_assignment(conn, view.id)
        compliance = lead_compliance(conn, states.live_model(conn).model.consent,
                                     {view.id: at})[view.id]
    check_reach(view.email, scope, row.owner if row else None,
                assignment["team"] if assignment else None)
    explanation = explain_contact(engine, view.email, at=at, rules=rules)
    return Lead(view.id, view.email, view.account, view.attributes, view.model,
                row.stage if row else None, row.since if row else None,
                row.owner if row else None, assignment, explanation, compliance)


def read_account(engine: Engine, domain: str, *, at: datetime, scope: Scope | None = None
                 ) -> AccountView:
    """The account with this domain and its live contacts' decisions at `at` (MQLs
    first, then by total: `list_scores` of those contacts only); with a seller's `scope`,
    only the contacts it reaches (`sales_actions.reachable`), the others counted in
    `hidden`; `NotFound` when there is none."""
    with translate_errors("reading the account"), engine.connect() as conn:
        found = account_store.ids_by_domain(conn, [domain.strip().lower()])
        if not found:
            raise NotFound(f"no account {domain!r}; accounts are keyed by web domain, "
                           "e.g. acme.example")
        account_id = next(iter(found.values()))
        record = account_store.load_accounts(conn, [account_id])[account_id]
        ids = contact_store.live_contact_ids(conn, [account_id])
        shown = reachable(conn, scope, ids)
    decisions = list_scores(engine, at=at, ids=ids if shown is None else shown)
    return AccountView(account_id, record.domain, dict(record.attributes), decisions,
                       0 if shown is None else len(ids) - len(shown))


def deliveries(engine: Engine, *, status: str | None) -> list[dict[str, Any]]:
    """Webhook deliveries (of one status: pending, delivered, dead, refused), oldest first."""
    return lifecycle.outbox(engine, status)


def lead_page(engine: Engine, *, at: datetime, limit: int, cursor: str | None = None,
              mql: bool | None = None, grade: str | None = None, min_score: float | None = None,
              max_score: float | None = None, stage: str | None = None,
              owner: str | None = None, account: str | None = None,
              qualified_since: datetime | None = None, scope: Scope | None = None
              ) -> LeadPage:
    """Leads as of `at` (the first page's time when `cursor` is given) that pass the
    filters, `limit` at most, after `cursor`. `qualified_since` keeps MQLs that entered
    the MQL stage at or after that time; a seller's `scope` keeps the leads it reaches
    (`sales_actions.reachable`: its own and its team's open leads)."""
    after: SortKey | None = None
    if cursor:
        at, after = decode_cursor(cursor)
    ids: list[int] | None = None
    if stage is not None or owner is not None or account is not None or qualified_since:
        # the stored lifecycle facts narrow the contacts first: only those are decided
        with translate_errors("reading leads"), engine.connect() as conn:
            ids = handoff_store.contacts_with(
                conn, stage=stage, owner=owner,
                account=account.strip().lower() if account is not None else None,
                mql_since=qualified_since)
    if scope is not None:
        with translate_errors("reading leads"), engine.connect() as conn:
            ids = reachable(conn, scope, ids)
    # ranked and filtered without the times (a solve each), then the page's rows in
    # full; when the narrowed contacts fit in one page, they are decided in full at once
    whole = ids is not None and len(ids) <= limit
    items: list[tuple[int, Decision]] = []
    for cid, d in ranked_scores(engine, at=at, mql_only=mql is True, ids=ids, times=whole):
        if after is not None and _key(d) <= after:
            continue
        if (mql is False and d.mql) or (grade is not None and d.grade != grade):
            continue
        if (min_score is not None and d.total < min_score) or (
                max_score is not None and d.total > max_score):
            continue
        items.append((cid, d))
        if len(items) > limit:
            break
    more = len(items) > limit
    full = dict(items) if whole else decisions_of(engine, at=at,
                                                  ids=[cid for cid, _ in items[:limit]])
    shown = [full[cid] for cid, _ in items[:limit] if cid in full]
    return LeadPage(shown, encode_cursor(at, _key(shown[-1])) if more and shown else None)


def lead_score_history(engine: Engine, email: str, *, at: datetime, days: int,
                       rules: IdentityRules, scope: Scope | None = None) -> list[Decision]:
    """The lead's decision at midnight UTC of each of the last `days` days and at `at`,
    replayed exactly from its own and its account's events under the active model;
    `Forbidden` when `scope` does not reach the lead."""
    view = find_contact(engine, email, rules=rules)
    check_scope(engine, view.email, scope, rules)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    times = [midnight - timedelta(days=k) for k in range(days - 1, -1, -1)]
    times = [t for t in times if t < at] + [at]
    with translate_errors("reading a score history"), engine.connect() as conn:
        live = states.live_model(conn)
        ledgers = Ledgers(conn, live, [view.id])
        stored = ledgers.contacts[view.id]
        account = ledgers.accounts.get(stored.account_id) if stored.account_id else None
        # own events first: a shared copy of one is a duplicate id
        history = [(t, ledgers.record(view.id, t), ledgers.events(view.id, t)) for t in times]
    return [score(live.model, [record], [account] if account else [], events, at=t)[0]
            for t, record, events in history]
