"""Erasure (GDPR Art. 17) and access (Art. 15/20) over every table of the store.

`RULES` names, for every table of `mql.store.tables`, what erasure does to it: delete the
person's rows (by contact id, by address in a column, by address inside a text or JSON
column), blank columns, or nothing because the table holds no personal data of a lead.
A table added without a rule fails `tests/compliance/test_erasure.py`.

The account keeps its anonymous aggregates (account scores, counts); the audit log keeps
one pseudonymised line that an erasure happened (the address only as its SHA-256).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store import tables as t


@dataclass(frozen=True, slots=True)
class Rule:
    """What erasure does to one table: `how` is delete (rows of the person's contacts by
    `by`, rows whose `text` columns mention an address), blank (set `columns` to None
    where `by` is one of the contacts) or none (no personal data of a lead: `why`)."""

    how: str
    by: str | None = None
    text: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    why: str = ""


RULES: Mapping[str, Rule] = {
    "contacts": Rule("delete", "id"),
    "identities": Rule("delete", "contact_id"),
    "events": Rule("delete", "contact_id", ("email", "anonymous_id")),
    "contact_scores": Rule("delete", "contact_id"),
    "lifecycle_history": Rule("delete", "contact_id"),
    "intent_resets": Rule("delete", "contact_id"),
    "nurture_facts": Rule("delete", "contact_id"),
    "consent": Rule("delete", "contact_id"),
    "assignments": Rule("delete", "contact_id"),
    "dispositions": Rule("delete", "contact_id"),
    "opportunity_contacts": Rule("delete", "contact_id"),
    "opportunity_links": Rule("delete", "contact_id"),
    "merges": Rule("delete", "survivor_id", ("merged_id",)),
    "quarantine": Rule("delete", None, ("subject", "raw")),
    "outbox": Rule("delete", None, ("subject", "payload")),
    "delivery_attempts": Rule("delete", "outbox_id"),  # of the outbox rows erased
    "audit_log": Rule("delete", None, ("subject", "detail")),  # then one tombstone line
    "opportunities": Rule("blank", "primary_contact_id", ("attributes",),
                          ("primary_contact_id", "primary_email")),
    "suppressions": Rule("none", why="hashed addresses, domains: what erasure adds"),
    "accounts": Rule("none", why="companies, not people; the anonymous aggregates stay"),
    "account_scores": Rule("none", why="account aggregates"),
    "model_versions": Rule("none", why="the scoring model"),
    "ingest_checkpoints": Rule("none", why="file positions"),
    "routing_state": Rule("none", why="round-robin credit of sellers"),
    "webhooks": Rule("none", why="subscriptions"),
    "auth_keys": Rule("none", why="API keys of staff and sources, hashed"),
    "opportunity_history": Rule("none", why="deal stages and amounts"),
    "marketing_costs": Rule("none", why="spend per channel"),
}


def _like(column: Any, needle: str) -> Any:
    """`column` (text or JSON) mentions `needle`, case-insensitively."""
    return sa.func.lower(sa.cast(column, sa.Text)).contains(needle.lower(), autoescape=True)


def cluster(conn: Connection, contact_id: int) -> list[int]:
    """The person's contacts: `contact_id`, its survivor and every contact merged into
    them (transitively)."""
    ids = {contact_id}
    while True:
        rows = conn.execute(sa.select(t.contacts.c.id, t.contacts.c.merged_into).where(
            sa.or_(t.contacts.c.id.in_(ids), t.contacts.c.merged_into.in_(ids)))).all()
        more = {int(r.id) for r in rows} | {int(r.merged_into) for r in rows if r.merged_into}
        if more <= ids:
            return sorted(ids)
        ids |= more


def needles(conn: Connection, ids: Sequence[int]) -> list[str]:
    """What identifies the person in free text: every address and anonymous id and CRM
    id of the contacts (at least 6 characters, so a short id does not match others)."""
    found = set(conn.execute(sa.select(t.contacts.c.email).where(
        t.contacts.c.id.in_(ids))).scalars())
    found |= set(conn.execute(sa.select(t.identities.c.raw).where(
        t.identities.c.contact_id.in_(ids))).scalars())
    found |= set(conn.execute(sa.select(t.identities.c.value).where(
        t.identities.c.contact_id.in_(ids), t.identities.c.kind != "email")).scalars())
    return sorted({f.strip().lower() for f in found if f and len(f.strip()) >= 6})


def erase(conn: Connection, ids: Sequence[int], extra: Iterable[str] = ()) -> dict[str, int]:
    """Remove the person (contacts `ids`, texts `extra` such as the address asked for)
    from every table; rows removed or blanked per table."""
    texts = sorted(set(needles(conn, ids)) | {e.strip().lower() for e in extra if e})
    counts: dict[str, int] = {}

    def mentions(table: sa.Table, columns: Iterable[str]) -> Any:
        return sa.or_(sa.false(), *(_like(table.c[c], n) for c in columns for n in texts))

    # the outbox rows (and their attempts) about the person: every lead notification
    # names its address (`mql.service.handoff.subject_data`)
    box = t.outbox
    out_ids = list(conn.execute(sa.select(box.c.id).where(
        mentions(box, ("subject", "payload")))).scalars())
    if out_ids:
        counts["delivery_attempts"] = conn.execute(t.delivery_attempts.delete().where(
            t.delivery_attempts.c.outbox_id.in_(out_ids))).rowcount
        counts["outbox"] = conn.execute(box.delete().where(box.c.id.in_(out_ids))).rowcount
    q = t.quarantine
    counts["quarantine"] = conn.execute(q.delete().where(
        mentions(q, ("subject", "raw")))).rowcount
    a = t.audit_log
    counts["audit_log"] = conn.execute(a.delete().where(sa.or_(
        mentions(a, ("subject", "detail")),
        a.c.subject.in_([f"contact:{i}" for i in ids])))).rowcount
    o = t.opportunities
    for row in conn.execute(sa.select(o.c.id, o.c.attributes).where(sa.or_(
            o.c.primary_contact_id.in_(ids), mentions(o, ("primary_email", "attributes"))))):
        attributes = dict(row.attributes or {})
        if isinstance(attributes.get("contacts"), list):
            attributes["contacts"] = [c for c in attributes["contacts"] if not (
                isinstance(c, dict) and str(c.get("email", "")).lower() in texts)]
        conn.execute(o.update().where(o.c.id == row.id).values(
            primary_contact_id=None, primary_email=None, attributes=attributes))
        counts["opportunities"] = counts.get("opportunities", 0) + 1
    links = t.opportunity_links
    counts["opportunity_links"] = conn.execute(links.delete().where(
        links.c.contact_id.in_(ids))).rowcount
    for name in ("opportunity_contacts", "dispositions", "assignments", "consent",
                 "intent_resets", "lifecycle_history", "contact_scores"):
        table = t.metadata.tables[name]
        counts[name] = conn.execute(table.delete().where(
            table.c.contact_id.in_(ids))).rowcount
    e = t.events
    counts["events"] = conn.execute(e.delete().where(sa.or_(
        e.c.contact_id.in_(ids), mentions(e, ("email", "anonymous_id"))))).rowcount
    m = t.merges
    counts["merges"] = conn.execute(m.delete().where(sa.or_(
        m.c.survivor_id.in_(ids), m.c.merged_id.in_(ids)))).rowcount
    counts["identities"] = conn.execute(t.identities.delete().where(
        t.identities.c.contact_id.in_(ids))).rowcount
    c = t.contacts
    conn.execute(c.update().where(c.c.id.in_(ids)).values(merged_into=None))
    counts["contacts"] = conn.execute(c.delete().where(c.c.id.in_(ids))).rowcount
    return {k: v for k, v in counts.items() if v}


def export(conn: Connection, ids: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
    """Every row held about the person, per table (the tables erasure deletes from)."""
    out: dict[str, list[dict[str, Any]]] = {}

    def rows(table: sa.Table, where: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(where))]

    out["contacts"] = rows(t.contacts, t.contacts.c.id.in_(ids))
    for name, rule in RULES.items():
        if rule.how == "delete" and rule.by == "contact_id":
            table = t.metadata.tables[name]
            out[name] = rows(table, table.c.contact_id.in_(ids))
    out["merges"] = rows(t.merges, sa.or_(t.merges.c.survivor_id.in_(ids),
                                          t.merges.c.merged_id.in_(ids)))
    out["opportunities"] = rows(t.opportunities, t.opportunities.c.primary_contact_id.in_(ids))
    return {k: v for k, v in out.items() if v}


# -- retention (`mql privacy retain`): raw events older than a jurisdiction's bound ------

def contact_places(conn: Connection, after: int = 0, limit: int = 1000
                   ) -> list[tuple[int, str | None, dict[str, Any]]]:
    """(id, email, attributes) of the contacts with an id above `after`, `limit` at a
    time (what a contact's jurisdiction is read from)."""
    c = t.contacts
    return [(int(r.id), r.email, dict(r.attributes or {})) for r in conn.execute(
        sa.select(c.c.id, c.c.email, c.c.attributes).where(c.c.id > after)
        .order_by(c.c.id).limit(limit))]


def old_event_ids(conn: Connection, ids: Sequence[int], before: Any) -> list[str]:
    """The event ids of the contacts' events that happened before `before`."""
    e = t.events
    return [str(x) for x in conn.execute(sa.select(e.c.event_id).where(
        e.c.contact_id.in_(ids), e.c.at < before)).scalars()]


def delete_events(conn: Connection, ids: Sequence[int], before: Any) -> int:
    """Delete the contacts' events that happened before `before`; how many."""
    e = t.events
    return int(conn.execute(e.delete().where(e.c.contact_id.in_(ids),
                                             e.c.at < before)).rowcount)


def quarantine_before(conn: Connection, before: Any) -> list[tuple[int, str, str, Any]]:
    """(id, subject, raw, created_at) of the quarantined rows held since before
    `before`."""
    q = t.quarantine
    return [(int(r.id), str(r.subject or ""), str(r.raw), r.created_at) for r in
            conn.execute(sa.select(q.c.id, q.c.subject, q.c.raw, q.c.created_at)
                         .where(q.c.created_at < before))]


def delete_quarantine(conn: Connection, ids: Sequence[int]) -> int:
    q = t.quarantine
    gone = 0
    for i in range(0, len(ids), 500):
        gone += int(conn.execute(q.delete().where(q.c.id.in_(list(ids[i:i + 500]))))
                    .rowcount)
    return gone
