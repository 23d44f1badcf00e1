"""The append-only event ledger: unique event ids, attribution to contacts and accounts.

>>> from datetime import datetime, timezone
>>> from mql.store.db import connect
>>> from mql.store.migrate import upgrade
>>> engine = connect("sqlite://"); _ = upgrade(engine)
>>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> e = Event("e1", "page_view", t, anonymous_id="a1", properties={"url": "/pricing"})
>>> with engine.begin() as conn:
...     insert_events(conn, [StoredEvent(e, None, None, "web")], now=t)
...     known_ids(conn, ["e1", "e2"])
{'e1'}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from mql.records import Event
from mql.store.accounts import among, chunks
from mql.store.db import dumps
from mql.store.tables import events


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event with the contact and account it is attributed to, and its source."""

    event: Event
    contact_id: int | None
    account_id: int | None
    source: str | None


def known_ids(conn: Connection, event_ids: Iterable[str]) -> set[str]:
    """The ids among `event_ids` already in the ledger."""
    wanted = list(set(event_ids))
    if conn.dialect.name == "postgresql" and wanted:
        # one array parameter: one plan and one round trip for the whole batch
        rows = conn.execute(sa.select(events.c.event_id).where(
            events.c.event_id == sa.func.any(sa.literal(wanted, postgresql.ARRAY(sa.Text())))))
        return {str(i) for (i,) in rows}
    out: set[str] = set()
    for part in chunks(wanted):
        rows = conn.execute(sa.select(events.c.event_id).where(
            among(conn, events.c.event_id, part)))
        out.update(str(i) for (i,) in rows)
    return out


_INSERT_COLUMNS = ("event_id", "type", "at", "contact_id", "account_id", "email",
                   "anonymous_id", "account_domain", "properties", "source", "received_at")


def sqlite_time(t: datetime) -> str:
    # the text SQLAlchemy's SQLite DateTime stores (UTC, naive), so both paths read back
    return t.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def insert_events(conn: Connection, items: list[StoredEvent], *, now: datetime) -> None:
    """Append `items` (ids must be new: `DuplicateEvent` via translate_errors otherwise).

    The hot path of ingest: one driver-level executemany on SQLite, one COPY on
    PostgreSQL, with the values SQLAlchemy would bind (UTC times, JSON text).
    """
    if not items:
        return
    if conn.dialect.name == "sqlite":
        received = sqlite_time(now)
        conn.exec_driver_sql(
            f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})",
            [(s.event.event_id, s.event.type, sqlite_time(s.event.at), s.contact_id,
              s.account_id, s.event.contact, s.event.anonymous_id, s.event.account,
              dumps(dict(s.event.properties)), s.source, received) for s in items])
        return
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(
                f"COPY events ({', '.join(_INSERT_COLUMNS)}) FROM STDIN") as copy:
            for s in items:
                copy.write_row((s.event.event_id, s.event.type, s.event.at, s.contact_id,
                                s.account_id, s.event.contact, s.event.anonymous_id,
                                s.event.account, dumps(dict(s.event.properties)), s.source,
                                now))
        return
    conn.execute(events.insert(), [
        {"event_id": s.event.event_id, "type": s.event.type, "at": s.event.at,
         "contact_id": s.contact_id, "account_id": s.account_id, "email": s.event.contact,
         "anonymous_id": s.event.anonymous_id, "account_domain": s.event.account,
         "properties": dict(s.event.properties), "source": s.source, "received_at": now}
        for s in items])


def _event(row: Any) -> Event:
    m = row._mapping
    return Event(str(m["event_id"]), str(m["type"]), m["at"], contact=m["email"],
                 account=m["account_domain"], properties=dict(m["properties"] or {}),
                 anonymous_id=m["anonymous_id"])


_COLUMNS = (events.c.event_id, events.c.type, events.c.at, events.c.email,
            events.c.account_domain, events.c.properties, events.c.anonymous_id)


def events_of_contacts(conn: Connection, contact_ids: Iterable[int]) -> dict[int, list[Event]]:
    """Each contact's events, oldest first (the ledger a re-derivation replays)."""
    return _events_by(conn, events.c.contact_id, contact_ids)


def events_of_accounts(conn: Connection, account_ids: Iterable[int]) -> dict[int, list[Event]]:
    """Each account's events, oldest first."""
    return _events_by(conn, events.c.account_id, account_ids)


def latest_of_type(conn: Connection, contact_id: int, type_: str, until: datetime
                   ) -> Event | None:
    """The contact's latest event of `type_` at or before `until` (None: none)."""
    row = conn.execute(sa.select(*_COLUMNS).where(
        events.c.contact_id == contact_id, events.c.type == type_, events.c.at <= until)
        .order_by(events.c.at.desc(), events.c.seq.desc()).limit(1)).first()
    return None if row is None else _event(row)


def of_type(conn: Connection, contact_ids: Iterable[int], type_: str, *, after: datetime
            ) -> dict[int, list[Event]]:
    """Each contact's events of `type_` later than `after` (contacts without one are left
    out), oldest first: a range of the (contact, time) index, empty for a recent `after`."""
    out: dict[int, list[Event]] = {}
    for part in chunks(set(contact_ids)):
        rows = conn.execute(sa.select(events.c.contact_id, *_COLUMNS).where(
            events.c.contact_id.in_(part), events.c.at > after, events.c.type == type_)
            .order_by(events.c.at, events.c.seq))
        for row in rows:
            out.setdefault(int(row[0]), []).append(_event(row))
    return out


def _events_by(conn: Connection, owner: Any, ids: Iterable[int]) -> dict[int, list[Event]]:
    out: dict[int, list[Event]] = {}
    for part in chunks(set(ids)):
        rows = conn.execute(sa.select(owner, *_COLUMNS).where(among(conn, owner, part))
                            .order_by(events.c.at, events.c.seq))
        for row in rows:
            out.setdefault(int(row[0]), []).append(_event(row))
    return out


def ledgers(conn: Connection, level: str, types: Iterable[str], *, batch: int = 10_000
            ) -> Iterator[tuple[int, list[Event]]]:
    """Every contact's (level "contact") or account's ("account") events of `types`, one
    owner at a time, each oldest first as `events_of_contacts` orders them: the whole
    ledger in one ordered pass, for re-deriving every state at once."""
    kinds = sorted(set(types))
    if not kinds:
        return
    owner = events.c.contact_id if level == "contact" else events.c.account_id
    query = (sa.select(owner, *_COLUMNS)
             .where(owner.is_not(None), events.c.type.in_(kinds))
             .order_by(owner, events.c.at, events.c.seq))
    result = conn.execute(query, execution_options={"stream_results": True})
    current: int | None = None
    ledger: list[Event] = []
    for rows in iter(lambda: result.fetchmany(batch), []):
        for row in rows:
            key = int(row[0])
            if key != current:
                if current is not None:
                    yield current, ledger
                current, ledger = key, []
            ledger.append(_event(row))
    if current is not None:
        yield current, ledger


def unattributed_anonymous(conn: Connection, anonymous_ids: Iterable[str]) -> dict[str, int]:
    """How many events without a contact each of `anonymous_ids` has."""
    out: dict[str, int] = {}
    for part in chunks(set(anonymous_ids)):
        rows = conn.execute(sa.select(events.c.anonymous_id, sa.func.count())
                            .where(among(conn, events.c.anonymous_id, part),
                                   events.c.contact_id.is_(None))
                            .group_by(events.c.anonymous_id))
        out.update({str(a): int(n) for a, n in rows})
    return out


def attribute_anonymous(conn: Connection, anonymous_id: str, contact_id: int) -> int:
    """Give the contact every earlier event of the anonymous id that had no contact; how
    many moved (Segment semantics: earlier anonymous events count for the person)."""
    result = conn.execute(events.update().where(events.c.anonymous_id == anonymous_id,
                                                events.c.contact_id.is_(None))
                          .values(contact_id=contact_id))
    return int(result.rowcount)


def attribute_anonymous_many(conn: Connection, pairs: Iterable[tuple[str, int]]) -> None:
    """`attribute_anonymous` for many (anonymous id, contact id) pairs in one statement."""
    rows = [{"b_anon": a, "b_contact": c} for a, c in pairs]
    if rows:
        conn.execute(events.update().where(events.c.anonymous_id == sa.bindparam("b_anon"),
                                           events.c.contact_id.is_(None))
                     .values(contact_id=sa.bindparam("b_contact")), rows)


def count(conn: Connection) -> int:
    """How many events the ledger holds."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())
