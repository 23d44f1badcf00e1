"""Quarantined input rows: kept with source, row number, raw content (JSON) and reason.

A row is stored once: its fingerprint (kind, source, row number and raw content, hashed)
is unique, so re-reading the same file adds nothing. A row that landed without an optional
field it could not read (`kept`) is held once per dropped field (the field joins its
fingerprint). A row is `open` until it is
`resolved` (a retry loaded it, or a later row about the same subject — event id, email,
domain — landed) or `dismissed` by a person, with a note saying why. A held Segment
message is keyed by its `message_id` instead, so an applier that repeats a group after a
crash (other row numbers, same messages) holds each message once.

>>> from datetime import datetime, timezone
>>> from mql.store.db import connect
>>> from mql.store.migrate import upgrade
>>> engine = connect("sqlite://"); _ = upgrade(engine)
>>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> held = Held("events", "e.csv", 7, '{"type": ""}', "type", "is empty", "mql")
>>> with engine.begin() as conn:
...     (add(conn, [held], now=t), add(conn, [held], now=t))  # stored once
...     [row] = listing(conn)
...     (row.source, row.row, row.reason, row.status)
(1, 0)
('e.csv', 7, 'is empty', 'open')
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mql.errors import NotFound
from mql.store.accounts import among, chunks
from mql.store.tables import quarantine

STATUSES = ("open", "resolved", "dismissed")


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
    subject: str | None = None  # the event id, email or domain, when the row names one
    message_id: str | None = None  # a held Segment message: what makes it unique
    kept: bool = False  # the row landed; this holds the optional `field` it dropped


def fingerprint_of(held: Held) -> str:
    """The fingerprint `add` stores for `held`."""
    return fingerprint(held.kind, _text(held.source, 1000) or "", held.row,
                       _text(held.raw) or "", held.message_id,
                       kept=_text(held.field, 200) or "" if held.kept else None)


def fingerprint(kind: str, source: str, row: int, raw: str, message_id: str | None = None,
                *, kept: str | None = None) -> str:
    """The key that makes a quarantined row unique (migration 0005 computes the same for
    rows without a message id); `kept`: the field a landed row dropped."""
    parts: list[object] = ([kind, source, row, raw] if message_id is None
                           else [kind, "message", message_id])
    if kept is not None:
        parts += ["kept", kept]
    text = json.dumps(parts, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _text(value: str | None, limit: int | None = None) -> str | None:
    # what every backend stores: no NUL, no unpaired surrogate, within the column length
    if value is None:
        return None
    clean = value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    return clean if limit is None else clean[:limit]


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
    subject: str | None = None
    note: str | None = None


def add(conn: Connection, rows: list[Held], *, now: datetime) -> int:
    """Store `rows` as open quarantine entries; a row stored before (same fingerprint, any
    status) is not stored again. Returns how many were new."""
    values: dict[str, dict[str, object]] = {}
    for h in rows:
        raw = _text(h.raw) or ""
        source = _text(h.source, 1000) or ""
        key = fingerprint_of(h)
        values.setdefault(key, {
            "kind": h.kind, "source": source, "row": h.row, "raw": raw,
            "field": _text(h.field, 200), "reason": _text(h.reason),
            "mapping": _text(h.mapping, 1000),
            "status": "open", "created_at": now, "fingerprint": key,
            "subject": _text(h.subject, 320), "message_id": _text(h.message_id, 200)})
    for part in chunks(list(values)):
        for (known,) in conn.execute(sa.select(quarantine.c.fingerprint)
                                     .where(among(conn, quarantine.c.fingerprint, part))):
            values.pop(str(known), None)
    if not values:
        return 0
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):  # a concurrent writer may store the same row
        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(quarantine)
        result = conn.execute(insert.on_conflict_do_nothing(index_elements=["fingerprint"]),
                              list(values.values()))
        return max(int(result.rowcount), 0) if result.rowcount >= 0 else len(values)
    conn.execute(quarantine.insert(), list(values.values()))
    return len(values)


def _row(r: sa.Row[tuple[object, ...]]) -> QuarantinedRow:
    m = r._mapping
    return QuarantinedRow(int(m["id"]), m["kind"], m["source"], int(m["row"]), m["raw"],
                          m["field"], m["reason"], m["mapping"], m["status"], m["created_at"],
                          m["resolved_at"], m["subject"], m["note"])


def listing(conn: Connection, *, status: str | None = "open", limit: int | None = None,
            source: str | None = None) -> list[QuarantinedRow]:
    """Quarantined rows (open ones by default; of one source if given), oldest first."""
    query = sa.select(quarantine).order_by(quarantine.c.id)
    if status is not None:
        query = query.where(quarantine.c.status == status)
    if source is not None:
        query = query.where(quarantine.c.source == source)
    if limit is not None:
        query = query.limit(limit)
    return [_row(r) for r in conn.execute(query)]


def get(conn: Connection, row_id: int) -> QuarantinedRow:
    """The quarantined row `row_id`; `NotFound` if there is none."""
    found = conn.execute(sa.select(quarantine).where(quarantine.c.id == row_id)).first()
    if found is None:
        raise NotFound(f"no quarantined row {row_id}; `mql quarantine list` shows them")
    return _row(found)


def resolve(conn: Connection, row_id: int, *, now: datetime, note: str = "loaded by a retry"
            ) -> None:
    """Mark a row as resolved (it was loaded by a retry)."""
    conn.execute(quarantine.update().where(quarantine.c.id == row_id)
                 .values(status="resolved", resolved_at=now, note=note))


def resolve_subjects(conn: Connection, kinds: Iterable[str], subjects: Iterable[str], *,
                     now: datetime, note: str, keep: Collection[str] = ()) -> int:
    """Mark the open rows of `kinds` about any of `subjects` as resolved (a later row about
    the same event id, email or domain has landed), except the rows whose fingerprint is
    in `keep` (the fields the landing rows themselves dropped); how many."""
    wanted = sorted({s for s in subjects if s})
    kinds = list(kinds)
    done = 0
    for part in chunks(wanted):
        where = (quarantine.c.status == "open", quarantine.c.kind.in_(kinds),
                 among(conn, quarantine.c.subject, part))
        if keep:
            ids = [int(i) for i, key in conn.execute(
                sa.select(quarantine.c.id, quarantine.c.fingerprint).where(*where))
                if key not in keep]
            for some in chunks(ids):
                result = conn.execute(quarantine.update().where(quarantine.c.id.in_(some))
                                      .values(status="resolved", resolved_at=now,
                                              note=_text(note)))
                done += max(int(result.rowcount), 0)
            continue
        result = conn.execute(quarantine.update().where(*where).values(
            status="resolved", resolved_at=now, note=_text(note)))
        done += max(int(result.rowcount), 0)
    return done


def dismiss(conn: Connection, *, ids: Iterable[int] | None = None, source: str | None = None,
            note: str, now: datetime) -> int:
    """Mark open rows as dismissed with `note` (why nobody will load them): the rows `ids`,
    or every open row of `source`; how many. `NotFound` for an id that does not exist."""
    query = quarantine.update().where(quarantine.c.status == "open")
    if ids is not None:
        wanted = sorted(set(ids))
        for row_id in wanted:
            get(conn, row_id)
        query = query.where(quarantine.c.id.in_(wanted))
    elif source is not None:
        query = query.where(quarantine.c.source == source)
    else:
        raise ValueError("dismiss needs ids or a source")
    result = conn.execute(query.values(status="dismissed", resolved_at=now, note=_text(note)))
    return max(int(result.rowcount), 0)


def update_reason(conn: Connection, row_id: int, reason: str, field: str | None) -> None:
    """Record why a retry failed again."""
    conn.execute(quarantine.update().where(quarantine.c.id == row_id)
                 .values(reason=reason, field=field))


def count_open(conn: Connection) -> int:
    """How many rows are waiting in quarantine."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(quarantine)
                            .where(quarantine.c.status == "open")).scalar_one())
