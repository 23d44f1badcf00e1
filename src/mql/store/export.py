"""The store as the batch engine reads it: live contacts, accounts, and every event keyed
by its resolved contact's primary email (merges and identify already applied)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.records import Account, Event
from mql.store import accounts as account_store
from mql.store.tables import accounts, contacts, events


def account_ids(conn: Connection) -> list[int]:
    """The id of every account, ascending."""
    return [int(i) for (i,) in conn.execute(sa.select(accounts.c.id).order_by(accounts.c.id))]


def all_accounts(conn: Connection) -> list[Account]:
    return list(account_store.load_accounts(conn, account_ids(conn)).values())


def _resolved() -> sa.Select[Any]:
    owner = contacts.alias("owner")
    survivor = contacts.alias("survivor")
    return (
        sa.select(events.c.event_id, events.c.type, events.c.at, survivor.c.email,
                  sa.func.coalesce(accounts.c.domain, events.c.account_domain),
                  events.c.properties, events.c.anonymous_id, survivor.c.id)
        .select_from(events
                     .outerjoin(owner, owner.c.id == events.c.contact_id)
                     .outerjoin(survivor, survivor.c.id == sa.func.coalesce(owner.c.merged_into,
                                                                           owner.c.id))
                     .outerjoin(accounts, accounts.c.id == events.c.account_id))
        .order_by(events.c.seq)
    )


def resolved_events(conn: Connection, *, batch: int = 10_000,
                    since: Mapping[int, datetime] | None = None) -> Iterator[Event]:
    """Every stored event with `contact` set to the email of the contact it belongs to
    now (the survivor of a merge), and `account` to its account's domain. `since` maps a
    contact id to its intent reset: its events until then name no contact (they count
    for its account only)."""
    result = conn.execute(_resolved(), execution_options={"stream_results": True})
    resets = since or {}
    for rows in iter(lambda: result.fetchmany(batch), []):
        for event_id, kind, at, email, domain, props, anon, cid in rows:
            reset = resets.get(cid) if cid is not None else None
            yield Event(str(event_id), str(kind), at,
                        contact=email if reset is None or at > reset else None,
                        account=domain, properties=dict(props or {}), anonymous_id=anon)


EVENT_COLUMNS = ("event_id", "type", "timestamp", "email", "account", "properties",
                 "anonymous_id")


def resolved_event_columns(conn: Connection, *, types: Iterable[str] | None = None,
                           batch: int = 50_000, since: Mapping[int, datetime] | None = None
                           ) -> Iterator[dict[str, list[Any]]]:
    """The events of `resolved_events` (only those of `types`, if given) in batches of
    columns (`EVENT_COLUMNS`), as text, without building records: the time as ISO 8601 in
    UTC (no offset means UTC), the properties as the stored JSON text. The fast way to hand
    the ledger to a batch engine. `since` as for `resolved_events`."""
    if since:
        yield from _reset_event_columns(conn, types, batch, since)
        return
    emails = _survivor_emails(conn)
    domains = {int(i): str(d) for i, d in conn.execute(sa.select(accounts.c.id,
                                                                  accounts.c.domain))}
    properties: sa.ColumnElement[Any] = sa.cast(events.c.properties, sa.Text)
    at: sa.ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        at = sa.func.to_char(sa.func.timezone("UTC", events.c.at),
                             'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    else:  # SQLite keeps UTC times as ISO text without an offset
        at = sa.type_coerce(events.c.at, sa.Text)
    query = sa.select(events.c.event_id, events.c.type, at, events.c.contact_id,
                      events.c.account_id, events.c.account_domain, properties,
                      events.c.anonymous_id).order_by(events.c.seq)
    if types is not None:
        query = query.where(events.c.type.in_(sorted(set(types))))
    result = conn.execute(query, execution_options={"stream_results": True})
    for rows in iter(lambda: result.fetchmany(batch), []):
        ids, kinds, times, people, companies, named, props, anon = (list(c) for c in zip(
            *rows, strict=True))
        yield {"event_id": ids, "type": kinds, "timestamp": times,
               "email": [None if i is None else emails.get(i) for i in people],
               "account": [d if a is None else domains.get(a, d)
                           for a, d in zip(companies, named, strict=True)],
               "properties": props, "anonymous_id": anon}


def _reset_event_columns(conn: Connection, types: Iterable[str] | None, batch: int,
                         since: Mapping[int, datetime]) -> Iterator[dict[str, list[Any]]]:
    """`resolved_event_columns` with intent resets, built from `resolved_events` (the
    slower way: only stores with resets take it)."""
    wanted = None if types is None else set(types)
    out: dict[str, list[Any]] = {name: [] for name in EVENT_COLUMNS}
    for e in resolved_events(conn, since=since):
        if wanted is not None and e.type not in wanted:
            continue
        out["event_id"].append(e.event_id)
        out["type"].append(e.type)
        out["timestamp"].append(e.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        out["email"].append(e.contact)
        out["account"].append(e.account)
        out["properties"].append(json.dumps(dict(e.properties)))
        out["anonymous_id"].append(e.anonymous_id)
        if len(out["event_id"]) >= batch:
            yield out
            out = {name: [] for name in EVENT_COLUMNS}
    if out["event_id"]:
        yield out


def _survivor_emails(conn: Connection) -> dict[int, str]:
    """Each contact id's email, or its survivor's if it was merged."""
    rows = [(int(i), str(e), m) for i, e, m in conn.execute(
        sa.select(contacts.c.id, contacts.c.email, contacts.c.merged_into))]
    email = {i: e for i, e, _ in rows}
    into = {i: int(m) for i, _, m in rows if m is not None}
    out = {}
    for i, e, _ in rows:
        seen = i
        for _ in range(len(into) + 1):  # follow merges to the survivor (no cycles)
            if seen not in into:
                break
            seen = into[seen]
        out[i] = email.get(seen, e)
    return out


def owners_after(conn: Connection, t: datetime) -> tuple[set[int], set[int]]:
    """The live contacts and the accounts that have an event later than `t`."""
    owner = contacts.alias("owner")
    later = events.c.at > t
    people = conn.execute(
        sa.select(sa.func.coalesce(owner.c.merged_into, owner.c.id)).distinct()
        .select_from(events.join(owner, owner.c.id == events.c.contact_id)).where(later))
    companies = conn.execute(sa.select(events.c.account_id).distinct()
                             .where(later, events.c.account_id.is_not(None)))
    return {int(i) for (i,) in people}, {int(i) for (i,) in companies}
