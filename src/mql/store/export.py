"""The store as the batch engine reads it: live contacts, accounts, and every event keyed
by its resolved contact's primary email (merges and identify already applied)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.records import Account, Contact, Event
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store.tables import accounts, contacts, events


def live_contacts(conn: Connection) -> list[Contact]:
    """Every contact not merged into another, as a record."""
    ids = contact_store.live_contact_ids(conn)
    return [c.record for c in contact_store.load_contacts(conn, ids).values()]


def all_accounts(conn: Connection) -> list[Account]:
    ids = [int(i) for (i,) in conn.execute(sa.select(accounts.c.id))]
    return list(account_store.load_accounts(conn, ids).values())


def resolved_events(conn: Connection, *, batch: int = 10_000) -> Iterator[Event]:
    """Every stored event with `contact` set to the email of the contact it belongs to
    now (the survivor of a merge), and `account` to its account's domain."""
    owner = contacts.alias("owner")
    survivor = contacts.alias("survivor")
    query = (
        sa.select(events.c.event_id, events.c.type, events.c.at, survivor.c.email,
                  sa.func.coalesce(accounts.c.domain, events.c.account_domain),
                  events.c.properties, events.c.anonymous_id)
        .select_from(events
                     .outerjoin(owner, owner.c.id == events.c.contact_id)
                     .outerjoin(survivor, survivor.c.id == sa.func.coalesce(owner.c.merged_into,
                                                                           owner.c.id))
                     .outerjoin(accounts, accounts.c.id == events.c.account_id))
        .order_by(events.c.seq)
    )
    result = conn.execution_options(stream_results=True).execute(query)
    for rows in iter(lambda: result.fetchmany(batch), []):
        for event_id, kind, at, email, domain, props, anon in rows:
            yield Event(str(event_id), str(kind), at, contact=email, account=domain,
                        properties=dict(props or {}), anonymous_id=anon)
