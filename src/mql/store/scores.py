"""Persisted scoring state and current scores, per contact and per account and model version.

The state is `scoring.intent.state_to_dict` JSON; scores are the latest decision's values.
Rows are upserted (insert, or update on the primary key) with the dialect's ON CONFLICT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mql.store.accounts import among, chunks
from mql.store.db import dumps
from mql.store.events import sqlite_time
from mql.store.tables import UTCDateTime, account_scores, contact_scores


def _states(conn: Connection, table: sa.Table, key: sa.Column[Any], ids: Iterable[int],
            version_id: int) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for part in chunks(set(ids)):
        rows = conn.execute(sa.select(key, table.c.state).where(
            among(conn, key, part), table.c.model_version_id == version_id))
        out.update({int(i): s for i, s in rows})
    return out


def contact_states(conn: Connection, ids: Iterable[int], version_id: int
                   ) -> dict[int, dict[str, Any]]:
    """The stored state (as written by `state_to_dict`) of each contact that has one."""
    return _states(conn, contact_scores, contact_scores.c.contact_id, ids, version_id)


def account_states(conn: Connection, ids: Iterable[int], version_id: int
                   ) -> dict[int, dict[str, Any]]:
    """The stored state of each account that has one."""
    return _states(conn, account_scores, account_scores.c.account_id, ids, version_id)


def _upsert(conn: Connection, table: sa.Table, keys: tuple[str, ...],
            rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(table)
    update = {c: getattr(stmt.excluded, c) for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update),
                 [dict(r) for r in rows])


_TIMES = frozenset(c.name for c in contact_scores.c if isinstance(c.type, UTCDateTime))
_JSON = frozenset(("state", "reasons"))


def _sqlite_value(name: str, value: Any) -> Any:
    """What SQLAlchemy binds for `value` of column `name` on SQLite (UTC text times, JSON
    text, 1/0 for booleans)."""
    if name in _JSON:
        return dumps(value)  # None too: the JSON type stores it as JSON null
    if value is None:
        return None
    if name in _TIMES:
        return sqlite_time(value)
    return int(value) if isinstance(value, bool) else value


def save_contact_scores(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Upsert contact score rows (contact_id, model_version_id, state, fit, ...): the hot
    path of scoring, one driver-level executemany on SQLite with the values SQLAlchemy
    would bind, the dialect's ON CONFLICT otherwise."""
    if rows and conn.dialect.name == "sqlite" and all(r.keys() == rows[0].keys() for r in rows):
        names = list(rows[0])
        keys = ("contact_id", "model_version_id")
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
        conn.exec_driver_sql(
            f"INSERT INTO contact_scores ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}",
            [tuple(_sqlite_value(n, r[n]) for n in names) for r in rows])
        return
    if rows and conn.dialect.name == "postgresql" and all(r.keys() == rows[0].keys()
                                                          for r in rows):
        _upsert_unnest(conn, rows)
        return
    _upsert(conn, contact_scores, ("contact_id", "model_version_id"), rows)


_PG_TYPES = {"contact_id": "bigint", "model_version_id": "bigint", "state": "jsonb",
             "fit": "float8", "intent": "float8", "total": "float8", "grade": "text",
             "mql": "boolean", "reasons": "jsonb", "qualified_until": "timestamptz",
             "scored_at": "timestamptz", "updated_at": "timestamptz"}


def _pg_value(name: str, value: Any) -> Any:
    """What `_upsert` would store for `value` of column `name` on PostgreSQL, as an
    element of a typed array (JSON as its text, floats as floats, times in UTC)."""
    if name in _JSON:
        return dumps(value)  # the engine's serializer; None is JSON null there too
    if value is None:
        return None
    kind = _PG_TYPES[name]
    if kind == "float8":
        return float(value)
    if kind == "boolean":
        return bool(value)
    if kind == "timestamptz":
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: mql stores UTC-aware times only")
        return value.astimezone(UTC)
    return value


def _upsert_unnest(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """The contact score upsert on PostgreSQL as one statement: ``INSERT ... SELECT FROM
    unnest(arrays) ON CONFLICT DO UPDATE``, one array parameter per column, instead of a
    statement per row. A key given twice keeps its last row (what one upsert per row in
    order leaves)."""
    keys = ("contact_id", "model_version_id")
    last = {(r["contact_id"], r["model_version_id"]): r for r in rows}
    names = list(rows[0])
    unknown = [n for n in names if n not in _PG_TYPES]
    if unknown:
        raise ValueError(f"no such contact_scores column: {', '.join(unknown)}")
    arrays = tuple([_pg_value(n, r[n]) for r in last.values()] for n in names)
    cast = {"jsonb": "text"}  # JSON travels as text and is read as jsonb in the select
    params = ", ".join(f"%s::{cast.get(_PG_TYPES[n], _PG_TYPES[n])}[]" for n in names)
    select = ", ".join(f"u.{n}::jsonb" if _PG_TYPES[n] == "jsonb" else f"u.{n}"
                       for n in names)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
    conn.exec_driver_sql(
        f"INSERT INTO contact_scores ({', '.join(names)}) SELECT {select} "
        f"FROM unnest({params}) AS u({', '.join(names)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}", arrays)


def save_account_states(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Upsert account state rows (account_id, model_version_id, state, updated_at)."""
    _upsert(conn, account_scores, ("account_id", "model_version_id"), rows)


def delete_contact_scores(conn: Connection, contact_id: int) -> None:
    """Drop every score row of a contact (it was merged into another)."""
    conn.execute(contact_scores.delete().where(contact_scores.c.contact_id == contact_id))


def scores_of(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    """Every score row of a contact (one per model version), newest version first."""
    rows = conn.execute(sa.select(contact_scores).where(contact_scores.c.contact_id == contact_id)
                        .order_by(contact_scores.c.model_version_id.desc()))
    return [dict(r._mapping) for r in rows]


def copy_version(conn: Connection, source: int, target: int) -> None:
    """Make version `target`'s contact and account rows a copy of version `source`'s (an
    equivalent model was activated: the same states, scores and times, nothing to redo)."""
    for table in (contact_scores, account_scores):
        conn.execute(table.delete().where(table.c.model_version_id == target))
        names = [c.name for c in table.c]
        columns = [sa.literal(target).label(n) if n == "model_version_id" else table.c[n]
                   for n in names]
        conn.execute(table.insert().from_select(
            names, sa.select(*columns).where(table.c.model_version_id == source)))


def scored_contacts(conn: Connection, version_id: int) -> set[int]:
    """The contacts with a row under version `version_id`."""
    return {int(i) for (i,) in conn.execute(sa.select(contact_scores.c.contact_id).where(
        contact_scores.c.model_version_id == version_id))}


def carry_contact_scores(conn: Connection, source: int, target: int,
                         rows: Sequence[Mapping[str, Any]]) -> None:
    """Version `target`'s rows of the contacts in `rows` (contact_id, fit, intent, total,
    grade, scored_at, updated_at), set-based: the state of the contact's version `source`
    row (both versions track alike), the scores given, and not qualified (no reasons, no
    exit time). The rows go through a temporary table: three statements for any number."""
    if not rows:
        return
    given = sa.Table(
        "carried_scores", sa.MetaData(),
        sa.Column("contact_id", contact_scores.c.contact_id.type, primary_key=True),
        *(sa.Column(n, contact_scores.c[n].type) for n in
          ("fit", "intent", "total", "grade", "scored_at", "updated_at")),
        prefixes=["TEMPORARY"])
    given.create(conn)
    try:
        conn.execute(given.insert(), [dict(r) for r in rows])
        conn.execute(contact_scores.delete().where(
            contact_scores.c.model_version_id == target,
            contact_scores.c.contact_id.in_(sa.select(given.c.contact_id))))
        names = [c.name for c in contact_scores.c]
        values: dict[str, Any] = {
            "contact_id": contact_scores.c.contact_id,
            "model_version_id": sa.literal(target, contact_scores.c.model_version_id.type),
            "state": contact_scores.c.state, "mql": sa.false(),
            "reasons": sa.literal([], contact_scores.c.reasons.type),
            "qualified_until": sa.null()}
        columns = [values[n].label(n) if n in values else given.c[n].label(n) for n in names]
        conn.execute(contact_scores.insert().from_select(names, sa.select(*columns).select_from(
            contact_scores.join(given, given.c.contact_id == contact_scores.c.contact_id)).where(
            contact_scores.c.model_version_id == source)))
    finally:
        given.drop(conn)
