"""Outcomes in the store: opportunities with their stage history, contact roles and links to
the hand-offs they are credited to; marketing costs; sales dispositions (migration 0010).

Plain reads and writes; what a new state means for the stored one (newest wins, history
merged) is `mql.service.outcomes`'.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store.accounts import chunks
from mql.store.tables import (
    contacts,
    dispositions,
    lifecycle_history,
    marketing_costs,
    opportunities,
    opportunity_contacts,
    opportunity_history,
    opportunity_links,
)

QUALIFIED = ("mql", "pql")  # the moves a hand-off credit points at


def _dicts(result: sa.CursorResult[Any]) -> Iterable[dict[str, Any]]:
    """The rows of `result` as dicts, the column names read once per result (not once
    per row, as `dict(row._mapping)` does)."""
    keys = list(result.keys())
    return (dict(zip(keys, row, strict=True)) for row in result)


def opportunities_by_external(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored opportunities among the CRM ids `ids`, by CRM id."""
    out: dict[str, dict[str, Any]] = {}
    for part in chunks(set(ids)):
        for row in _dicts(conn.execute(opportunities.select().where(
                opportunities.c.external_id.in_(part)))):
            out[str(row["external_id"])] = row
    return out


def opportunity_ids(conn: Connection) -> list[int]:
    return [int(i) for i, in conn.execute(sa.select(opportunities.c.id).order_by(
        opportunities.c.id))]


def opportunity(conn: Connection, opportunity_id: int) -> dict[str, Any] | None:
    row = conn.execute(opportunities.select().where(opportunities.c.id == opportunity_id)
                       ).first()
    return None if row is None else dict(row._mapping)


def insert_opportunity(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(opportunities.insert().values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update_opportunity(conn: Connection, opportunity_id: int, values: Mapping[str, Any]
                       ) -> None:
    conn.execute(opportunities.update().where(opportunities.c.id == opportunity_id)
                 .values(**values))


def history_of(conn: Connection, ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each opportunity's stage history, oldest first."""
    out: dict[int, list[dict[str, Any]]] = {}
    for part in chunks(set(ids)):
        for row in _dicts(conn.execute(opportunity_history.select().where(
                opportunity_history.c.opportunity_id.in_(part)).order_by(
                opportunity_history.c.at, opportunity_history.c.stage))):
            out.setdefault(int(row["opportunity_id"]), []).append(row)
    return out


def add_history(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(opportunity_history.insert(), [dict(r) for r in rows])


def update_history(conn: Connection, row_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(opportunity_history.update().where(opportunity_history.c.id == row_id)
                 .values(**values))


def contacts_of(conn: Connection, ids: Iterable[int]) -> dict[int, dict[int, dict[str, Any]]]:
    """Each opportunity's contacts: opportunity id -> contact id -> row."""
    out: dict[int, dict[int, dict[str, Any]]] = {}
    for part in chunks(set(ids)):
        for row in _dicts(conn.execute(opportunity_contacts.select().where(
                opportunity_contacts.c.opportunity_id.in_(part)))):
            out.setdefault(int(row["opportunity_id"]), {})[int(row["contact_id"])] = row
    return out


def add_contact(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(opportunity_contacts.insert().values(**values))


def update_contact(conn: Connection, row_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(opportunity_contacts.update().where(opportunity_contacts.c.id == row_id)
                 .values(**values))


def account_of_contacts(conn: Connection, ids: Iterable[int]) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for part in chunks(set(ids)):
        for cid, aid in conn.execute(sa.select(contacts.c.id, contacts.c.account_id).where(
                contacts.c.id.in_(part))):
            out[int(cid)] = None if aid is None else int(aid)
    return out


def contacts_of_account(conn: Connection, account_id: int) -> list[int]:
    """The live (not merged) contacts of an account."""
    return [int(i) for i, in conn.execute(sa.select(contacts.c.id).where(
        contacts.c.account_id == account_id, contacts.c.merged_into.is_(None)).order_by(
        contacts.c.id))]


def qualifications(conn: Connection, contact_ids: Iterable[int]
                   ) -> dict[int, list[tuple[int, datetime]]]:
    """Each contact's moves into MQL (or PQL): (lifecycle_history id, time), oldest first."""
    out: dict[int, list[tuple[int, datetime]]] = {}
    for part in chunks(set(contact_ids)):
        rows = conn.execute(sa.select(lifecycle_history.c.contact_id, lifecycle_history.c.id,
                                      lifecycle_history.c.at).where(
            lifecycle_history.c.contact_id.in_(part),
            lifecycle_history.c.to_stage.in_(QUALIFIED)).order_by(
            lifecycle_history.c.at, lifecycle_history.c.id))
        for cid, hid, at in rows:
            out.setdefault(int(cid), []).append((int(hid), at))
    return out


def links_of(conn: Connection, opportunity_id: int) -> dict[int, dict[str, Any]]:
    rows = conn.execute(opportunity_links.select().where(
        opportunity_links.c.opportunity_id == opportunity_id))
    return {int(r.contact_id): dict(r._mapping) for r in rows}


def delete_links(conn: Connection, opportunity_id: int, contact_ids: Iterable[int]) -> None:
    ids = list(contact_ids)
    if ids:
        conn.execute(opportunity_links.delete().where(
            opportunity_links.c.opportunity_id == opportunity_id,
            opportunity_links.c.contact_id.in_(ids)))


def add_link(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(opportunity_links.insert().values(**values))


def update_link(conn: Connection, row_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(opportunity_links.update().where(opportunity_links.c.id == row_id)
                 .values(**values))


def costs_of(conn: Connection, keys: Iterable[tuple[str, str, str]]
             ) -> dict[tuple[str, str, str], dict[str, Any]]:
    wanted = set(keys)
    months = {k[0] for k in wanted}
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for part in chunks(months):
        for row in conn.execute(marketing_costs.select().where(
                marketing_costs.c.month.in_(part))):
            key = (str(row.month), str(row.channel), str(row.campaign))
            if key in wanted:
                out[key] = dict(row._mapping)
    return out


def add_cost(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(marketing_costs.insert().values(**values))


def update_cost(conn: Connection, row_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(marketing_costs.update().where(marketing_costs.c.id == row_id)
                 .values(**values))


def costs(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(marketing_costs.select().order_by(
        marketing_costs.c.month, marketing_costs.c.channel, marketing_costs.c.campaign))]


def disposition_keys(conn: Connection, contact_ids: Iterable[int]
                     ) -> set[tuple[int, datetime, str]]:
    """(contact id, time, status) of the stored dispositions of these contacts."""
    out: set[tuple[int, datetime, str]] = set()
    for part in chunks(set(contact_ids)):
        for cid, at, status in conn.execute(sa.select(
                dispositions.c.contact_id, dispositions.c.at, dispositions.c.status).where(
                dispositions.c.contact_id.in_(part))):
            out.add((int(cid), at, str(status)))
    return out


def add_dispositions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(dispositions.insert(), [dict(r) for r in rows])


def dispositions_of(conn: Connection, contact_id: int | None = None) -> list[dict[str, Any]]:
    query = dispositions.select().order_by(dispositions.c.at, dispositions.c.id)
    if contact_id is not None:
        query = query.where(dispositions.c.contact_id == contact_id)
    return [dict(r._mapping) for r in conn.execute(query)]


def opportunity_ids_by_external(conn: Connection, ids: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in chunks(set(ids)):
        for ext, oid in conn.execute(sa.select(opportunities.c.external_id, opportunities.c.id)
                                     .where(opportunities.c.external_id.in_(part))):
            out[str(ext)] = int(oid)
    return out


def contact_emails(conn: Connection, ids: Iterable[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for part in chunks(set(ids)):
        for cid, email in conn.execute(sa.select(contacts.c.id, contacts.c.email).where(
                contacts.c.id.in_(part))):
            out[int(cid)] = email
    return out


def record_disposition(conn: Connection, contact_id: int, *, at: datetime, status: str,
                       reason: str | None, actor: str, now: datetime, note: str | None = None,
                       source: str = "sales_action") -> bool:
    """Store one disposition (a sales action's, in its transaction); False when the same
    contact, time and status is stored already."""
    if (contact_id, at, status) in disposition_keys(conn, [contact_id]):
        return False
    add_dispositions(conn, [{"contact_id": contact_id, "at": at, "status": status,
                             "reason": reason, "note": note, "actor": actor[:320],
                             "source": source, "recorded_at": now}])
    return True


def drop_merged_contacts(conn: Connection) -> int:
    """Remove the opportunity contacts (and links) of contacts merged into another since
    (the survivor takes their place when the opportunity is linked again); how many."""
    merged = sa.select(contacts.c.id).where(contacts.c.merged_into.is_not(None))
    conn.execute(opportunity_links.delete().where(opportunity_links.c.contact_id.in_(merged)))
    result = conn.execute(opportunity_contacts.delete().where(
        opportunity_contacts.c.contact_id.in_(merged)))
    return max(int(result.rowcount), 0)


# -- set-based reads and writes (a whole batch of opportunities in a few statements) ----

def opportunities_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for part in chunks(set(ids)):
        for row in _dicts(conn.execute(opportunities.select().where(
                opportunities.c.id.in_(part)))):
            out[int(row["id"])] = row
    return out


def insert_opportunities(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(opportunities.insert(), [dict(r) for r in rows])


def _many_by_id(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Update rows of `table` by id (each mapping: `id` and the new values), one
    executemany per set of columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        values = {k: v for k, v in r.items() if k != "id"}
        groups.setdefault(tuple(sorted(values)), []).append({**values, "b_id": r["id"]})
    for names, params in groups.items():
        if names:
            conn.execute(table.update().where(table.c.id == sa.bindparam("b_id")).values(
                {n: sa.bindparam(n) for n in names}), params)


def update_opportunities(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _many_by_id(conn, opportunities, rows)


def update_histories(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _many_by_id(conn, opportunity_history, rows)


def add_contacts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(opportunity_contacts.insert(), [dict(r) for r in rows])


def update_contacts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _many_by_id(conn, opportunity_contacts, rows)


def contacts_of_accounts(conn: Connection, account_ids: Iterable[int]) -> dict[int, list[int]]:
    """The live (not merged) contacts of each account."""
    out: dict[int, list[int]] = {}
    for part in chunks(set(account_ids)):
        for cid, aid in conn.execute(sa.select(contacts.c.id, contacts.c.account_id).where(
                contacts.c.account_id.in_(part), contacts.c.merged_into.is_(None)).order_by(
                contacts.c.id)):
            out.setdefault(int(aid), []).append(int(cid))
    return out


def links_of_many(conn: Connection, ids: Iterable[int]) -> dict[int, dict[int, dict[str, Any]]]:
    """Each opportunity's links: opportunity id -> contact id -> row."""
    out: dict[int, dict[int, dict[str, Any]]] = {}
    for part in chunks(set(ids)):
        for r in _dicts(conn.execute(opportunity_links.select().where(
                opportunity_links.c.opportunity_id.in_(part)))):
            out.setdefault(int(r["opportunity_id"]), {})[int(r["contact_id"])] = r
    return out


def delete_link_rows(conn: Connection, row_ids: Iterable[int]) -> None:
    for part in chunks(set(row_ids)):
        conn.execute(opportunity_links.delete().where(opportunity_links.c.id.in_(part)))


def add_links(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(opportunity_links.insert(), [dict(r) for r in rows])


def update_links(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _many_by_id(conn, opportunity_links, rows)


def opportunity_keys(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """What linking needs of each opportunity (times, primary contact, account), without
    its JSON attributes."""
    o = opportunities.c
    out: dict[int, dict[str, Any]] = {}
    for part in chunks(set(ids)):
        for row in _dicts(conn.execute(sa.select(o.id, o.opened_at, o.closed_at,
                                                 o.primary_contact_id, o.account_id).where(
                o.id.in_(part)))):
            out[int(row["id"])] = row
    return out
