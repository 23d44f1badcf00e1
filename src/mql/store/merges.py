"""Contact merges in the store: move a merged contact's rows to the survivor, record the
before-state (so the merge can be audited and undone), and the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.errors import NotFound
from mql.store.accounts import among, chunks
from mql.store.tables import (
    audit_log,
    consent,
    contact_scores,
    contacts,
    events,
    identities,
    intent_resets,
    lifecycle_history,
    merges,
)

_MOVED = {"identities": identities, "consent": consent, "lifecycle": lifecycle_history,
          "resets": intent_resets}


def fold(conn: Connection, survivor: int, merged: int, *, reason: str, actor: str,
         now: datetime) -> int:
    """Move `merged`'s identities, events, consent and lifecycle rows to `survivor`, mark it
    merged, and record the merge with what undo needs; returns the merge id."""
    before: dict[str, Any] = {}
    for name, table in _MOVED.items():
        before[name] = [int(i) for (i,) in conn.execute(
            sa.select(table.c.id).where(table.c.contact_id == merged))]
    before["events"] = [int(i) for (i,) in conn.execute(
        sa.select(events.c.seq).where(events.c.contact_id == merged))]
    row = conn.execute(sa.select(contacts.c.attributes, contacts.c.account_id,
                                 contacts.c.account_domain).where(contacts.c.id == survivor))
    attrs, account_id, domain = row.one()
    before["survivor"] = {"attributes": attrs, "account_id": account_id, "account_domain": domain}
    for table in _MOVED.values():
        conn.execute(table.update().where(table.c.contact_id == merged)
                     .values(contact_id=survivor))
    conn.execute(events.update().where(events.c.contact_id == merged).values(contact_id=survivor))
    conn.execute(contact_scores.delete().where(contact_scores.c.contact_id == merged))
    conn.execute(contacts.update().where(contacts.c.id == merged)
                 .values(merged_into=survivor, updated_at=now))
    merge_id = conn.execute(merges.insert().values(
        survivor_id=survivor, merged_id=merged, reason=reason, actor=actor, at=now,
        before=before).returning(merges.c.id)).scalar_one()
    audit(conn, actor, "merge", f"contact:{survivor}", {"merged": merged, "reason": reason,
                                                         "merge_id": int(merge_id)}, now=now)
    return int(merge_id)


def unfold(conn: Connection, merge_id: int, *, actor: str, now: datetime) -> tuple[int, int]:
    """Undo merge `merge_id`: rows moved back, the survivor's attributes restored; returns
    (survivor, merged). `NotFound` if there is no such merge or it was undone already."""
    row = conn.execute(sa.select(merges).where(merges.c.id == merge_id,
                                               merges.c.undone_at.is_(None))).first()
    if row is None:
        raise NotFound(f"no merge {merge_id} to undo (unknown, or undone already)")
    m = row._mapping
    survivor, merged, before = int(m["survivor_id"]), int(m["merged_id"]), m["before"]
    for name, table in _MOVED.items():
        if before.get(name):  # merges recorded before 0007 have no "resets"
            conn.execute(table.update().where(table.c.id.in_(before[name]))
                         .values(contact_id=merged))
    if before["events"]:
        conn.execute(events.update().where(events.c.seq.in_(before["events"]))
                     .values(contact_id=merged))
    kept = before["survivor"]
    conn.execute(contacts.update().where(contacts.c.id == survivor).values(
        attributes=kept["attributes"], account_id=kept["account_id"],
        account_domain=kept["account_domain"], updated_at=now))
    conn.execute(contacts.update().where(contacts.c.id == merged)
                 .values(merged_into=None, updated_at=now))
    conn.execute(merges.update().where(merges.c.id == merge_id).values(undone_at=now))
    audit(conn, actor, "unmerge", f"contact:{survivor}", {"merged": merged,
                                                           "merge_id": merge_id}, now=now)
    return survivor, merged


def history(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    """The merges a contact took part in, oldest first."""
    rows = conn.execute(sa.select(merges.c.id, merges.c.survivor_id, merges.c.merged_id,
                                  merges.c.reason, merges.c.actor, merges.c.at,
                                  merges.c.undone_at)
                        .where(sa.or_(merges.c.survivor_id == contact_id,
                                      merges.c.merged_id == contact_id))
                        .order_by(merges.c.id))
    return [dict(r._mapping) for r in rows]


def audit(conn: Connection, actor: str, action: str, subject: str | None,
          detail: dict[str, Any], *, now: datetime) -> None:
    """Append one line to the audit log."""
    conn.execute(audit_log.insert().values(at=now, actor=actor, action=action, subject=subject,
                                           detail=detail))


def audit_lines(conn: Connection, action: str | None = None) -> list[dict[str, Any]]:
    """The audit log (of one action), oldest first."""
    query = sa.select(audit_log).order_by(audit_log.c.id)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    return [dict(r._mapping) for r in conn.execute(query)]


def audited(conn: Connection, action: str) -> bool:
    """Whether the audit log has a line of `action`."""
    return conn.execute(sa.select(audit_log.c.id).where(audit_log.c.action == action)
                        .limit(1)).first() is not None


def resolve_survivors(conn: Connection, contact_ids: Iterable[int]) -> dict[int, int]:
    """`resolve_survivor` of many contacts: one read for all, chains followed only for
    the merged ones."""
    wanted = set(contact_ids)
    merged: set[int] = set()
    for part in chunks(wanted):
        merged.update(int(i) for (i,) in conn.execute(sa.select(contacts.c.id).where(
            among(conn, contacts.c.id, part), contacts.c.merged_into.is_not(None))))
    return {c: resolve_survivor(conn, c) if c in merged else c for c in wanted}


def resolve_survivor(conn: Connection, contact_id: int) -> int:
    """The live contact `contact_id` ended up in (itself when never merged)."""
    seen = set()
    current = contact_id
    while True:
        row = conn.execute(sa.select(contacts.c.merged_into).where(contacts.c.id == current))
        target = row.scalar()
        if target is None:
            return current
        if current in seen:
            raise NotFound(f"contact {contact_id}: merge chain loops")
        seen.add(current)
        current = int(target)
