"""What attribution reads from the store, as column batches (name -> values): every touch
(event) with the tags that decide its channel, campaign and content; the people with
their account, buying-committee role and first qualification; the opportunities with
their contact roles. Contact ids are the survivors' (a merged contact's touches count for
the person it was merged into)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store.ledger import Columns
from mql.store.ledger import columns as _columns
from mql.store.tables import (
    contacts,
    events,
    lifecycle_history,
    opportunities,
    opportunity_contacts,
)


def _text(column: Any, key: str) -> Any:
    return column[key].as_string()


def touch_columns(conn: Connection, before: datetime) -> Columns:
    """Every event before `before`: survivor contact id, account id (the event's, else
    its contact's), time, and the `channel` property, UTM medium and source, campaign
    (`utm_campaign`, else `campaign`) and content (`utm_content`, else `asset`)."""
    owner = contacts.alias("owner")
    p = events.c.properties
    return _columns(conn, sa.select(
        sa.func.coalesce(owner.c.merged_into, owner.c.id).label("contact_id"),
        sa.func.coalesce(events.c.account_id, owner.c.account_id).label("account_id"),
        events.c.at, events.c.type,
        _text(p, "channel").label("channel"),
        _text(p, "utm_medium").label("utm_medium"),
        _text(p, "utm_source").label("utm_source"),
        sa.func.coalesce(_text(p, "utm_campaign"), _text(p, "campaign")).label("campaign"),
        sa.func.coalesce(_text(p, "utm_content"), _text(p, "asset")).label("content"),
    ).select_from(events.outerjoin(owner, owner.c.id == events.c.contact_id))
     .where(events.c.at < before).order_by(events.c.at, events.c.seq))


def people_columns(conn: Connection) -> Columns:
    """Live contacts: id, email, account id, the `committee_role` attribute and the time
    of the person's first move into MQL (any of its records)."""
    record = contacts.alias("record")
    first_mql = (sa.select(sa.func.coalesce(record.c.merged_into, record.c.id).label("id"),
                           sa.func.min(lifecycle_history.c.at).label("mql_at"))
                 .select_from(lifecycle_history.join(
                     record, record.c.id == lifecycle_history.c.contact_id))
                 .where(lifecycle_history.c.to_stage == "mql")
                 .group_by(sa.func.coalesce(record.c.merged_into, record.c.id)).subquery())
    return _columns(conn, sa.select(
        contacts.c.id, contacts.c.email, contacts.c.account_id,
        _text(contacts.c.attributes, "committee_role").label("role"), first_mql.c.mql_at,
    ).select_from(contacts.outerjoin(first_mql, first_mql.c.id == contacts.c.id))
     .where(contacts.c.merged_into.is_(None)).order_by(contacts.c.id))


def opportunity_columns(conn: Connection) -> Columns:
    """Every opportunity: id, the CRM's id, account, survivor primary contact, amount,
    currency, status, opened and closed."""
    o = opportunities.c
    owner = contacts.alias("owner")
    return _columns(conn, sa.select(
        o.id, o.external_id, o.account_id,
        sa.func.coalesce(owner.c.merged_into, owner.c.id).label("primary_contact_id"),
        o.amount, o.currency, o.status, o.opened_at, o.closed_at,
    ).select_from(opportunities.outerjoin(owner, owner.c.id == o.primary_contact_id))
     .order_by(o.id))


def role_columns(conn: Connection) -> Columns:
    """The opportunities' contact roles (survivor contact ids)."""
    c = opportunity_contacts.c
    owner = contacts.alias("owner")
    return _columns(conn, sa.select(
        c.opportunity_id, sa.func.coalesce(owner.c.merged_into, owner.c.id).label("contact_id"),
        c.role, c.is_primary,
    ).select_from(opportunity_contacts.join(owner, owner.c.id == c.contact_id))
     .order_by(c.opportunity_id, c.id))
