"""A stopgap loader for the demo: the synthetic world's opportunities and marketing costs
written straight into the outcome tables, so `mql demo` can end with reports from the
stored ledger. `mql ingest opportunities|costs` (docs/outcomes.md) is the real path; this
module goes once the demo calls it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store.tables import accounts, contacts, marketing_costs, opportunities
from mql.synthetic.costs import CampaignCost
from mql.synthetic.outcomes import Opportunity


def insert_world_outcomes(conn: Connection, deals: Iterable[Opportunity],
                          costs: Iterable[CampaignCost], *, now: datetime,
                          source: str = "synthetic") -> tuple[int, int]:
    """Insert the world's opportunities (primary contact and account found by email and
    domain) and its monthly spend; returns how many of each."""
    people = dict(conn.execute(sa.select(contacts.c.email, contacts.c.id)
                               .where(contacts.c.merged_into.is_(None))).all())
    companies = dict(conn.execute(sa.select(accounts.c.domain, accounts.c.id)).all())
    rows: list[dict[str, Any]] = [{
        "external_id": o.opportunity_id, "name": o.name, "account_id": companies.get(o.account),
        "account_domain": o.account,
        "primary_contact_id": people.get(o.primary_contact) if o.primary_contact else None,
        "primary_email": o.primary_contact, "product_line": o.product, "amount": o.amount,
        "currency": "USD", "opened_at": o.created_at, "closed_at": o.closed_at,
        "stage": o.stage, "status": o.status, "lost_reason": o.lost_reason,
        "lead_source": o.source, "attributes": {}, "as_of": o.closed_at or o.created_at,
        "source": source, "created_at": now, "updated_at": now,
    } for o in deals]
    if rows:
        conn.execute(opportunities.insert(), rows)
    spend = [{"month": c.month, "channel": c.channel, "campaign": "", "amount": c.spend,
              "currency": c.currency, "touches": c.touches, "source": source,
              "updated_at": now} for c in costs]
    if spend:
        conn.execute(marketing_costs.insert(), spend)
    return len(rows), len(spend)
