"""Quarantined input rows: kept with source, row number, raw content (JSON) and reason.

A row held with a `message_id` (a Segment message) is held once: adding it again, as an
applier does that repeats a group after a crash, changes nothing.

>>> from datetime import datetime, timezone
>>> from mql.store.db import connect
>>> from mql.store.migrate import upgrade
>>> engine = connect("sqlite://"); _ = upgrade(engine)
>>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> with engine.begin() as conn:
...     add(conn, [Held("events", "e.csv", 7, '{"type": ""}', "type", "is empty", "mql")], now=t)
...     [row] = listing(conn)
...     (row.source, row.row, row.reason, row.status)
('e.csv', 7, 'is empty', 'open')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.errors import NotFound
from mql.store.accounts import chunks
from mql.store.tables import quarantine


@dataclass(frozen=True, slots=True)
class Held:
    """A row to quarantine: kind, source, row number, raw JSON text, field, reason, mapping."""

    kind: str
    source: str
    row: int
    raw: str
    field: str | None
    reason: str
    mapping: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class QuarantinedRow:
    """A stored quarantined row with its id, status and times."""

    id: int
    kind: str
    source: str
    row: int
    raw: str
    field: str | None
    reason: str
    mapping: str | None
    status: str
    created_at: datetime
    resolved_at: datetime | None


def add(conn: Connection, rows: list[Held], *, now: datetime) -> None:
    """Store `rows` as open quarantine entries; a row whose (kind, message id) is held
    already (open or resolved), or comes twice in `rows`, is stored once."""
    ids = {(h.kind, h.message_id) for h in rows if h.message_id is not None}
    held: set[tuple[str, str]] = set()
    for kind in {k for k, _ in ids}:
        wanted = [m for k, m in ids if k == kind]
        for part in chunks(wanted):
            held.update((kind, m) for m in conn.execute(
                sa.select(quarantine.c.message_id).where(
                    quarantine.c.kind == kind, quarantine.c.message_id.in_(part))).scalars())
    fresh = []
    for h in rows:
        if h.message_id is not None:
            if (h.kind, h.message_id) in held:
                continue
            held.add((h.kind, h.message_id))
        fresh.append(h)
    if fresh:
        conn.execute(quarantine.insert(), [
            {"kind": h.kind, "source": h.source, "row": h.row, "raw": h.raw, "field": h.field,
             "reason": h.reason, "mapping": h.mapping, "status": "open", "created_at": now,
             "message_id": h.message_id}
            for h in fresh])


def _row(r: sa.Row[tuple[object, ...]]) -> QuarantinedRow:
    m = r._mapping
    return QuarantinedRow(int(m["id"]), m["kind"], m["source"], int(m["row"]), m["raw"],
                          m["field"], m["reason"], m["mapping"], m["status"], m["created_at"],
                          m["resolved_at"])


def listing(conn: Connection, *, status: str | None = "open", limit: int | None = None
            ) -> list[QuarantinedRow]:
    """Quarantined rows (open ones by default), oldest first."""
    query = sa.select(quarantine).order_by(quarantine.c.id)
    if status is not None:
        query = query.where(quarantine.c.status == status)
    if limit is not None:
        query = query.limit(limit)
    return [_row(r) for r in conn.execute(query)]


def get(conn: Connection, row_id: int) -> QuarantinedRow:
    """The quarantined row `row_id`; `NotFound` if there is none."""
    found = conn.execute(sa.select(quarantine).where(quarantine.c.id == row_id)).first()
    if found is None:
        raise NotFound(f"no quarantined row {row_id}; `mql quarantine list` shows them")
    return _row(found)


def resolve(conn: Connection, row_id: int, *, now: datetime) -> None:
    """Mark a row as resolved (it was loaded by a retry)."""
    conn.execute(quarantine.update().where(quarantine.c.id == row_id)
                 .values(status="resolved", resolved_at=now))


def update_reason(conn: Connection, row_id: int, reason: str, field: str | None) -> None:
    """Record why a retry failed again."""
    conn.execute(quarantine.update().where(quarantine.c.id == row_id)
                 .values(reason=reason, field=field))


def count_open(conn: Connection) -> int:
    """How many rows are waiting in quarantine."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(quarantine)
                            .where(quarantine.c.status == "open")).scalar_one())
