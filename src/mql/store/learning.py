"""What `mql learn` reads from the store, cut at each lead's decision moment.

The decision moment of a contact is its first MQL move (the lifecycle ledger) or, when
sales saw it first, its first disposition. Everything after that moment stays out of the
row: touches are read with `at <= moment` ("time travel" over the event ledger;
the touch that triggered the decision counts). Outcomes are not read here: the service
asks `mql.service.conversions` (the reader calibration and backtests use) whether one
followed the moment. Merged contacts count for their survivor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store.tables import (
    accounts,
    contacts,
    dispositions,
    events,
    lifecycle_history,
)

CHUNK = 500


@dataclass(slots=True)
class StoredLead:
    """One contact at its decision moment, as stored."""

    contact_id: int
    email: str
    at: datetime
    attributes: dict[str, Any] = field(default_factory=dict)
    # (event type, time, properties, account level) up to the moment
    touches: list[tuple[str, datetime, dict[str, Any], bool]] = field(default_factory=list)
    # every person's event at its account up to the moment, its own included (type, time)
    colleagues: list[tuple[str, datetime]] = field(default_factory=list)


def _survivor(column: Any) -> Any:
    owner = contacts.alias("owner_l")
    return owner, sa.func.coalesce(owner.c.merged_into, owner.c.id)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield list(ids[i:i + CHUNK])


def decision_moments(conn: Connection, *, start: datetime | None, end: datetime | None
                     ) -> dict[int, datetime]:
    """Survivor contact id -> its first MQL move or first disposition, when that moment
    falls in [start, end)."""
    moments: dict[int, datetime] = {}
    for table, extra in ((lifecycle_history, lifecycle_history.c.to_stage == "mql"),
                         (dispositions, sa.true())):
        owner, survivor = _survivor(table.c.contact_id)
        rows = conn.execute(
            sa.select(survivor.label("cid"), sa.func.min(table.c.at))
            .select_from(table.join(owner, owner.c.id == table.c.contact_id))
            .where(extra).group_by(survivor))
        for cid, at in rows:
            if cid not in moments or at < moments[cid]:
                moments[cid] = at
    return {cid: at for cid, at in moments.items()
            if (start is None or at >= start) and (end is None or at < end)}


def stored_leads(conn: Connection, moments: dict[int, datetime]) -> list[StoredLead]:
    """The leads of `moments` with their attributes (contact and account, as stored now),
    their touches before the moment, and every person's events at their account before
    it (`colleagues`: the company-wide behaviour an account rule counts)."""
    ids = sorted(moments)
    leads: dict[int, StoredLead] = {}
    account_of: dict[int, int | None] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            sa.select(contacts.c.id, contacts.c.email, contacts.c.attributes,
                      contacts.c.account_id, accounts.c.domain, accounts.c.attributes
                      .label("account_attributes"))
            .select_from(contacts.outerjoin(accounts, accounts.c.id == contacts.c.account_id))
            .where(contacts.c.id.in_(chunk)))
        for cid, email, attrs, aid, domain, account_attrs in rows:
            values = {f"contact.{k}": v for k, v in (attrs or {}).items()}
            values.update({f"account.{k}": v for k, v in (account_attrs or {}).items()})
            if domain:
                values["account.domain"] = domain
            if email and "@" in email:
                values["contact.email_domain"] = email.rsplit("@", 1)[1]
            leads[cid] = StoredLead(cid, email or str(cid), moments[cid], values)
            account_of[cid] = aid
    by_account: dict[int, list[int]] = defaultdict(list)
    for cid, aid in account_of.items():
        if aid is not None:
            by_account[aid].append(cid)
    # touches before each moment: the contact's own (and its merged records'), and its
    # account's account-level touches
    owner, survivor = _survivor(events.c.contact_id)
    for chunk in _chunks(ids):
        own = conn.execute(
            sa.select(survivor.label("cid"), events.c.type, events.c.at, events.c.properties)
            .select_from(events.join(owner, owner.c.id == events.c.contact_id))
            .where(survivor.in_(chunk)))
        for cid, kind, at, props in own:
            lead = leads.get(cid)
            if lead is not None and at <= lead.at:
                lead.touches.append((kind, at, props or {}, False))
    account_ids = sorted(by_account)
    for chunk in _chunks(account_ids):
        shared = conn.execute(
            sa.select(events.c.account_id, events.c.type, events.c.at, events.c.properties)
            .where(events.c.contact_id.is_(None), events.c.account_id.in_(chunk)))
        for aid, kind, at, props in shared:
            for cid in by_account[aid]:
                lead = leads[cid]
                if at <= lead.at:
                    lead.touches.append((kind, at, props or {}, True))
    # every person's events at the account (company-wide behaviour: what an account rule
    # counts), by the account of the event's contact record
    person = contacts.alias("person_l")
    for chunk in _chunks(account_ids):
        worked = conn.execute(
            sa.select(person.c.account_id, events.c.type, events.c.at)
            .select_from(events.join(person, person.c.id == events.c.contact_id))
            .where(person.c.account_id.in_(chunk)))
        for aid, kind, at in worked:
            for cid in by_account[aid]:
                lead = leads[cid]
                if at <= lead.at:
                    lead.colleagues.append((kind, at))
    return [leads[cid] for cid in ids if cid in leads]
