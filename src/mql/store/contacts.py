"""Contacts and their identities (email keys, anonymous ids, external ids) in the store.

An identity row maps one identifier to one contact (unique per kind, namespace and
value). A merged contact keeps its row with `merged_into` set; its identities move.

>>> from datetime import datetime, timezone
>>> from mql.identity.merge import Identifier
>>> from mql.store.db import connect
>>> from mql.store.migrate import upgrade
>>> engine = connect("sqlite://"); _ = upgrade(engine)
>>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> with engine.begin() as conn:
...     [cid] = create_contacts(conn, [NewContact("jane@acme.com", None, "acme.com", "domain",
...                                               1.0, {"title": "CTO"}, "crm.csv")], now=t)
...     add_identities(conn, cid, [(Identifier("email", "jane@acme.com"), "Jane@Acme.com")],
...                    source="crm.csv", now=t)
...     find(conn, [Identifier("email", "jane@acme.com")]) == {
...         Identifier("email", "jane@acme.com"): cid}
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.identity.merge import Identifier
from mql.records import Contact
from mql.store.accounts import among, chunks
from mql.store.tables import contacts, identities


@dataclass(frozen=True, slots=True)
class NewContact:
    """What a new contact row needs."""

    email: str | None
    account_id: int | None
    account_domain: str | None
    match_method: str | None
    match_confidence: float | None
    attributes: Mapping[str, Any]
    source: str | None


@dataclass(frozen=True, slots=True)
class StoredContact:
    """A contact row: id, record (email, account domain, attributes) and match."""

    id: int
    record: Contact
    account_id: int | None
    match_method: str | None
    match_confidence: float | None
    merged_into: int | None


def find(conn: Connection, keys: Iterable[Identifier]) -> dict[Identifier, int]:
    """The contact id of each identifier in `keys` that is stored."""
    by_kind: dict[tuple[str, str], set[str]] = defaultdict(set)
    for k in keys:
        by_kind[k.kind, k.namespace].add(k.value)
    found: dict[Identifier, int] = {}
    for (kind, namespace), values in by_kind.items():
        for part in chunks(values):
            rows = conn.execute(
                sa.select(identities.c.value, identities.c.contact_id).where(
                    identities.c.kind == kind, identities.c.namespace == namespace,
                    among(conn, identities.c.value, part)))
            found.update({Identifier(kind, str(v), namespace): int(c) for v, c in rows})
    return found


def create_contacts(conn: Connection, rows: list[NewContact], *, now: datetime) -> list[int]:
    """Insert `rows`; their new ids, in order."""
    if not rows:
        return []
    values = [{"email": r.email, "account_id": r.account_id, "account_domain": r.account_domain,
               "match_method": r.match_method, "match_confidence": r.match_confidence,
               "attributes": dict(r.attributes), "lifecycle_stage":
               r.attributes.get("lifecycle_stage"), "owner": r.attributes.get("owner"),
               "source": r.source, "created_at": now, "updated_at": now} for r in rows]
    result = conn.execute(contacts.insert().returning(contacts.c.id, sort_by_parameter_order=True),
                          values)
    return [int(i) for (i,) in result]


def add_identities(conn: Connection, contact_id: int,
                   items: Iterable[tuple[Identifier, str | None]], *, source: str | None,
                   now: datetime) -> None:
    """Attach identifiers (with the raw text as written) to `contact_id`."""
    rows = [{"kind": i.kind, "namespace": i.namespace, "value": i.value, "raw": raw,
             "contact_id": contact_id, "source": source, "created_at": now} for i, raw in items]
    if rows:
        conn.execute(identities.insert(), rows)


def add_identity_rows(conn: Connection, rows: Iterable[tuple[int, Identifier, str | None]], *,
                      source: str | None, now: datetime) -> None:
    """Attach many identifiers at once: (contact id, identifier, raw text) rows."""
    values = [{"kind": i.kind, "namespace": i.namespace, "value": i.value, "raw": raw,
               "contact_id": cid, "source": source, "created_at": now} for cid, i, raw in rows]
    if values:
        conn.execute(identities.insert(), values)


def identifiers_of(conn: Connection, contact_ids: Iterable[int]) -> dict[int, set[Identifier]]:
    """Every identifier of each contact."""
    out: dict[int, set[Identifier]] = defaultdict(set)
    for part in chunks(set(contact_ids)):
        rows = conn.execute(sa.select(identities.c.contact_id, identities.c.kind,
                                      identities.c.value, identities.c.namespace)
                            .where(among(conn, identities.c.contact_id, part)))
        for cid, kind, value, namespace in rows:
            out[int(cid)].add(Identifier(str(kind), str(value), str(namespace)))
    return out


def identity_rows(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    """The identity rows of one contact (kind, namespace, value, raw, source), oldest first."""
    rows = conn.execute(sa.select(identities.c.kind, identities.c.namespace, identities.c.value,
                                  identities.c.raw, identities.c.source)
                        .where(identities.c.contact_id == contact_id)
                        .order_by(identities.c.id))
    return [dict(r._mapping) for r in rows]


def load_contacts(conn: Connection, ids: Iterable[int]) -> dict[int, StoredContact]:
    """The contacts with these ids."""
    out: dict[int, StoredContact] = {}
    cols = (contacts.c.id, contacts.c.email, contacts.c.account_domain, contacts.c.attributes,
            contacts.c.account_id, contacts.c.match_method, contacts.c.match_confidence,
            contacts.c.merged_into)
    for part in chunks(set(ids)):
        for i, email, domain, attrs, aid, method, conf, merged in conn.execute(
                sa.select(*cols).where(among(conn, contacts.c.id, part))):
            record = Contact(str(email), domain, dict(attrs or {}))
            out[int(i)] = StoredContact(int(i), record, aid, method, conf, merged)
    return out


def account_ids(conn: Connection, ids: Iterable[int]) -> dict[int, int | None]:
    """The account id of each contact with one of these ids (what `load_contacts` reads,
    without the attributes)."""
    out: dict[int, int | None] = {}
    for part in chunks(set(ids)):
        out.update({int(i): None if a is None else int(a) for i, a in conn.execute(
            sa.select(contacts.c.id, contacts.c.account_id).where(
                among(conn, contacts.c.id, part)))})
    return out


def update_attributes(conn: Connection, changes: Mapping[int, Mapping[str, Any]], *,
                      now: datetime) -> None:
    """Replace the attributes of each contact in `changes`."""
    if changes:
        conn.execute(contacts.update().where(contacts.c.id == sa.bindparam("b_id")).values(
            attributes=sa.bindparam("b_attrs"), updated_at=now),
            [{"b_id": i, "b_attrs": dict(a)} for i, a in changes.items()])


def set_emails(conn: Connection, emails: Mapping[int, str], *, now: datetime) -> None:
    """The primary address of contacts that were known only by a CRM id until now."""
    if emails:
        conn.execute(contacts.update().where(contacts.c.id == sa.bindparam("b_id")).values(
            email=sa.bindparam("b_email"), updated_at=now),
            [{"b_id": i, "b_email": e} for i, e in emails.items()])


def set_account(conn: Connection, contact_id: int, account_id: int | None, domain: str | None,
                method: str | None, confidence: float | None, *, now: datetime) -> None:
    """Link a contact to an account with the match method and confidence."""
    conn.execute(contacts.update().where(contacts.c.id == contact_id).values(
        account_id=account_id, account_domain=domain, match_method=method,
        match_confidence=confidence, updated_at=now))


def live_contact_ids(conn: Connection, account_ids: Iterable[int] | None = None) -> list[int]:
    """Ids of the contacts not merged into another (of these accounts, if given)."""
    query = sa.select(contacts.c.id).where(contacts.c.merged_into.is_(None))
    if account_ids is None:
        return [int(i) for (i,) in conn.execute(query.order_by(contacts.c.id))]
    out: list[int] = []
    for part in chunks(set(account_ids)):
        out.extend(int(i) for (i,) in conn.execute(
            query.where(among(conn, contacts.c.account_id, part))))
    return out
