"""The collection inbox: Segment messages acknowledged to their sender, not yet applied.

The API answers a collection request once its messages are committed here; the server's
applier then takes them in arrival order, applies them to the store (identity, scores,
hand-off) and removes them. Applying is idempotent (the `messageId` is the event id), so
a crash between the store's commit and the removal only repeats work.

Where it lives: on PostgreSQL, a table of the store's own database (rows lock one by one,
so requests never wait for an apply). On SQLite, a database file of its own beside the
store's (`mql.db` -> `mql.db-inbox`): SQLite has one writer per file, and in the store's
file every acknowledgement would wait for the apply that is running. The table is a
buffer, not part of the data model: it is created when first opened (no migration).

>>> engine = open_inbox(connect("sqlite://"))
>>> from datetime import UTC, datetime
>>> with engine.begin() as conn:
...     put(conn, "website", ['{"type":"track"}'], now=datetime(2026, 3, 2, tzinfo=UTC))
>>> with engine.connect() as conn:
...     [(m.source, m.payload) for m in take(conn, 10)], pending(conn).count
([('website', '{"type":"track"}')], 1)
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mql.store.accounts import chunks
from mql.store.db import connect, translate_errors
from mql.store.tables import BigId, UTCDateTime

metadata = sa.MetaData()

inbox = sa.Table(
    "inbox", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),  # the message as JSON text
    sa.Column("received_at", UTCDateTime(), nullable=False),
)

_LOCK_KEY = zlib.crc32(b"mql.inbox.apply")  # PostgreSQL advisory lock of the applier


@dataclass(frozen=True, slots=True)
class InboxMessage:
    id: int
    source: str
    payload: str


@dataclass(frozen=True, slots=True)
class Pending:
    """How far the applier is behind: messages waiting and the oldest one's arrival."""

    count: int
    oldest: datetime | None


def open_inbox(store: Engine) -> Engine:
    """The engine of `store`'s inbox (the store's own engine on PostgreSQL and for an
    in-memory SQLite store; a sibling file's engine for a SQLite file), table created."""
    database = store.url.database
    if store.dialect.name == "sqlite" and database and database != ":memory:":
        engine = connect(f"sqlite:///{database}-inbox")
    else:
        engine = store
    with translate_errors("opening the collection inbox"), engine.begin() as conn:
        metadata.create_all(conn, checkfirst=True)
    return engine


def put(conn: Connection, source: str, payloads: Sequence[str], *, now: datetime) -> None:
    """Append `payloads` (JSON texts) from `source`."""
    if payloads:
        conn.execute(inbox.insert(), [{"source": source, "payload": p, "received_at": now}
                                      for p in payloads])


def take(conn: Connection, limit: int) -> list[InboxMessage]:
    """The oldest `limit` messages (they stay until `remove`)."""
    rows = conn.execute(sa.select(inbox.c.id, inbox.c.source, inbox.c.payload)
                        .order_by(inbox.c.id).limit(limit))
    return [InboxMessage(int(i), str(s), str(p)) for i, s, p in rows]


def claim(conn: Connection, limit: int) -> list[InboxMessage]:
    """The oldest `limit` messages no other transaction has claimed, locked for `conn`'s
    transaction (PostgreSQL's ``FOR UPDATE SKIP LOCKED``): several appliers on one store
    each take messages of their own, and a claim ends with its transaction (committed
    with the removal, or rolled back by a crash: the messages are free again). On SQLite
    (one writer) it is `take`."""
    query = sa.select(inbox.c.id, inbox.c.source, inbox.c.payload).order_by(inbox.c.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query.limit(limit))
    return [InboxMessage(int(i), str(s), str(p)) for i, s, p in rows]


def has_before(conn: Connection, first: int) -> bool:
    """Whether a message older than `first` is still in the inbox (claimed by another
    applier and not applied yet, or committed late by its request)."""
    return conn.execute(sa.select(inbox.c.id).where(inbox.c.id < first).limit(1)
                        ).first() is not None


def remove(conn: Connection, ids: Sequence[int]) -> None:
    """Delete the applied messages `ids`."""
    for part in chunks(ids):
        conn.execute(inbox.delete().where(inbox.c.id.in_(part)))


def pending(conn: Connection) -> Pending:
    """Messages waiting, and when the oldest of them arrived."""
    count, oldest = conn.execute(sa.select(sa.func.count(), sa.func.min(inbox.c.received_at))
                                 ).one()  # min() keeps the column's type: UTC-aware
    return Pending(int(count), oldest)


def lock_applier(conn: Connection) -> None:
    """Make concurrent appliers (several server processes on one PostgreSQL store) take
    turns until the end of `conn`'s transaction; SQLite's single writer does it there."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
