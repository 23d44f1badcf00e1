"""Ingest checkpoints: how many rows of a file are committed, so a re-run resumes there.

The checkpoint is written in the same transaction as the rows it counts.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mql.store.tables import ingest_checkpoints


def rows_done(conn: Connection, source: str) -> tuple[int, bool]:
    """(rows committed, finished) for `source`; (0, False) if never started."""
    row = conn.execute(sa.select(ingest_checkpoints.c.rows_done, ingest_checkpoints.c.finished)
                       .where(ingest_checkpoints.c.source == source)).first()
    return (0, False) if row is None else (int(row[0]), bool(row[1]))


def save(conn: Connection, source: str, kind: str, rows: int, *, finished: bool,
         now: datetime) -> None:
    """Record that the first `rows` rows of `source` are committed."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(ingest_checkpoints).values(
        source=source, kind=kind, rows_done=rows, finished=finished, updated_at=now)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["source"],
        set_={"rows_done": rows, "finished": finished, "updated_at": now}))


def forget(conn: Connection, source: str) -> None:
    """Drop the checkpoint of `source` (the next run reads it from the start)."""
    conn.execute(ingest_checkpoints.delete().where(ingest_checkpoints.c.source == source))
