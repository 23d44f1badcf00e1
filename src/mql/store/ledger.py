"""The stored ledger as the report engine reads it: one column batch per table, every
contact id replaced by its survivor's (a merged contact's history counts for the person it
was merged into), and the event ledger reduced in the store to what the reports need (one
grouped query each), so a year of events never crosses into Python row by row.

Each function returns `Columns`: column name -> list of values, in the order of the query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store.tables import (
    accounts,
    assignments,
    contact_scores,
    contacts,
    dispositions,
    events,
    lifecycle_history,
    marketing_costs,
    model_versions,
    opportunities,
    opportunity_contacts,
    opportunity_links,
)

Columns = dict[str, list[Any]]


def columns(conn: Connection, query: sa.Select[Any]) -> Columns:
    """The rows of `query` as one list per column (empty lists when there is none)."""
    result = conn.execute(query)
    names = list(result.keys())
    rows = result.fetchall()
    if not rows:
        return {n: [] for n in names}
    return {n: list(c) for n, c in zip(names, zip(*rows, strict=True), strict=True)}


def _survivor() -> tuple[Any, Any]:
    """A join target that maps `contact_id` to its survivor's id (the contact itself when
    it was never merged)."""
    owner = contacts.alias("owner")
    return owner, sa.func.coalesce(owner.c.merged_into, owner.c.id)


def _qualified_people() -> Any:
    """The ids of every record (the survivor and the contacts merged into it) of each
    person with a move into MQL: the only people an MQL's facts (first touch, triggers,
    segment) are read for. A year of a 100,000-contact store is millions of events for a
    few thousand MQLs; their events are read through the (contact, time) index."""
    mover = contacts.alias("mover")
    people = (sa.select(sa.func.coalesce(mover.c.merged_into, mover.c.id))
              .select_from(lifecycle_history.join(mover, mover.c.id ==
                                                  lifecycle_history.c.contact_id))
              .where(lifecycle_history.c.to_stage == "mql"))
    record = contacts.alias("record")
    # DISTINCT keeps SQLite from flattening it into a scan of the events
    return (sa.select(record.c.id.label("id"))
            .where(sa.func.coalesce(record.c.merged_into, record.c.id).in_(people))
            .distinct().subquery("wanted"))


def _text(column: Any, key: str) -> Any:
    return column[key].as_string()


def contact_columns(conn: Connection) -> Columns:
    """Live contacts who qualified at least once, with their account's segment inputs:
    id, email, source (the attribute, else where the record came from), region, account
    id and domain, the account's segment, employees, region and status."""
    wanted = _qualified_people()
    return columns(conn, sa.select(
        contacts.c.id, contacts.c.email, contacts.c.account_id,
        sa.func.coalesce(contacts.c.account_domain, accounts.c.domain).label("domain"),
        sa.func.coalesce(_text(contacts.c.attributes, "source"), contacts.c.source
                         ).label("source"),
        _text(contacts.c.attributes, "region").label("contact_region"),
        _text(accounts.c.attributes, "region").label("account_region"),
        _text(accounts.c.attributes, "segment").label("account_segment"),
        _text(accounts.c.attributes, "employees").label("employees"),
        _text(accounts.c.attributes, "status").label("account_status"),
    ).select_from(wanted.join(contacts, contacts.c.id == wanted.c.id)
                  .outerjoin(accounts, accounts.c.id == contacts.c.account_id))
     .where(contacts.c.merged_into.is_(None)).order_by(contacts.c.id))


def move_columns(conn: Connection) -> Columns:
    """Every lifecycle move (the stage ledger), survivor ids."""
    owner, survivor = _survivor()
    h = lifecycle_history.c
    return columns(conn, sa.select(
        h.id, survivor.label("contact_id"), h.from_stage, h.to_stage, h.at, h.cause, h.actor,
        h.reason, h.model_version_id,
    ).select_from(lifecycle_history.join(owner, owner.c.id == h.contact_id)).order_by(h.id))


def first_touch_columns(conn: Connection) -> Columns:
    """Each contact's first touch (earliest event; a merged contact's first touch is one
    row of its survivor's, the engine keeps the earliest by time, then arrival `seq`): its
    time, its `channel` property and UTM tags. The earliest time per contact comes from
    the (contact, time) index; the properties are read for those events only."""
    owner, survivor = _survivor()
    wanted = _qualified_people()
    firsts = (sa.select(events.c.contact_id, sa.func.min(events.c.at).label("at"))
              .select_from(wanted.join(events, events.c.contact_id == wanted.c.id))
              .group_by(events.c.contact_id).subquery())
    p = events.c.properties
    return columns(conn, sa.select(
        survivor.label("contact_id"), events.c.at, events.c.seq,
        _text(p, "channel").label("channel"),
        _text(p, "utm_source").label("utm_source"),
        _text(p, "utm_medium").label("utm_medium"),
        sa.func.coalesce(_text(p, "utm_campaign"), _text(p, "campaign")).label("campaign"),
    ).select_from(events.join(firsts, sa.and_(firsts.c.contact_id == events.c.contact_id,
                                              firsts.c.at == events.c.at))
                  .join(owner, owner.c.id == events.c.contact_id)))


def trigger_columns(conn: Connection, kinds: Mapping[str, Sequence[str]]) -> Columns:
    """For each contact and kind of trigger (`kinds`: name -> event types), the times of
    its touches of those types, one row per contact, kind and time (each distinct
    time once).

    Only people who qualified at least once can be an MQL's (`_qualified_people`)."""
    owner, survivor = _survivor()
    wanted = _qualified_people()
    used = {kind: list(types) for kind, types in kinds.items() if types}
    if not used:
        return {"contact_id": [], "kind": [], "at": []}
    source = (wanted.join(events, events.c.contact_id == wanted.c.id)
              .join(owner, owner.c.id == events.c.contact_id))
    every = [t for types in used.values() for t in types]
    if len(every) == len(set(every)):  # each type of one kind: one pass over the events
        kind = sa.case(*((events.c.type.in_(types), sa.literal(k))
                         for k, types in used.items()))
        return columns(conn, sa.select(survivor.label("contact_id"), kind.label("kind"),
                                        events.c.at).select_from(source)
                        .where(events.c.type.in_(every)).distinct())
    parts = [
        sa.select(survivor.label("contact_id"), sa.literal(k).label("kind"), events.c.at)
        .select_from(source).where(events.c.type.in_(types)).distinct()
        for k, types in used.items()
    ]
    return columns(conn, sa.select(sa.union_all(*parts).subquery()))


def assignment_columns(conn: Connection) -> Columns:
    owner, survivor = _survivor()
    a = assignments.c
    return columns(conn, sa.select(
        a.id, survivor.label("contact_id"), a.team, a.owner, a.rule, a.reason, a.assigned_at,
        a.sla,
        a.sla_due_at, a.first_touch_at, a.breaches, a.status,
    ).select_from(assignments.join(owner, owner.c.id == a.contact_id)).order_by(a.id))


def score_columns(conn: Connection, model_version_id: int) -> Columns:
    """The stored score of each contact under `model_version_id`: grade and total."""
    s = contact_scores.c
    return columns(conn, sa.select(s.contact_id, s.grade, s.total)
                    .where(s.model_version_id == model_version_id))


def version_columns(conn: Connection) -> Columns:
    v = model_versions.c
    return columns(conn, sa.select(v.id, v.name, v.version).order_by(v.id))


def opportunity_columns(conn: Connection) -> Columns:
    o = opportunities.c
    owner, survivor = _survivor()
    return columns(conn, sa.select(
        o.id, o.external_id, o.name, o.account_id, survivor.label("primary_contact_id"),
        o.product_line, o.amount, o.currency, o.opened_at, o.closed_at, o.stage, o.status,
        o.lost_reason, o.lead_source,
    ).select_from(opportunities.outerjoin(owner, owner.c.id == o.primary_contact_id))
     .order_by(o.id))


def opportunity_contact_columns(conn: Connection) -> Columns:
    c = opportunity_contacts.c
    owner, survivor = _survivor()
    return columns(conn, sa.select(c.opportunity_id, survivor.label("contact_id"), c.role,
                                    c.is_primary)
                    .select_from(opportunity_contacts.join(owner, owner.c.id == c.contact_id)))


def link_columns(conn: Connection) -> Columns:
    c = opportunity_links.c
    owner, survivor = _survivor()
    return columns(conn, sa.select(c.opportunity_id, survivor.label("contact_id"), c.kind,
                                    c.history_id, c.qualified_at)
                    .select_from(opportunity_links.join(owner, owner.c.id == c.contact_id)))


def cost_columns(conn: Connection) -> Columns:
    c = marketing_costs.c
    return columns(conn, sa.select(c.month, c.channel, c.campaign, c.amount, c.currency,
                                    c.touches).order_by(c.month, c.channel, c.campaign))


def disposition_columns(conn: Connection) -> Columns:
    d = dispositions.c
    owner, survivor = _survivor()
    return columns(conn, sa.select(
        d.id, survivor.label("contact_id"), d.at, d.status, d.reason, d.note, d.actor,
        d.opportunity_id,
    ).select_from(dispositions.join(owner, owner.c.id == d.contact_id)).order_by(d.id))


def first_event_day(conn: Connection) -> date | None:
    """The day (UTC) of the store's earliest event (None: no events)."""
    first = conn.execute(sa.select(sa.func.min(events.c.at))).scalar()
    if first is None:
        return None
    if isinstance(first, str):  # SQLite without the column type's processing
        first = datetime.fromisoformat(first)
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    day: date = first.astimezone(UTC).date()
    return day
