"""Accounts in the store: upsert by domain, look up by domain or id.

>>> from datetime import datetime, timezone
>>> from mql.store.db import connect
>>> from mql.store.migrate import upgrade
>>> engine = connect("sqlite://"); _ = upgrade(engine)
>>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> with engine.begin() as conn:
...     ids = upsert_accounts(conn, [Account("acme.com", {"name": "Acme"})], source="x", now=t)
...     ensure_accounts(conn, ["acme.com", "globex.com"], now=t) == {"acme.com": ids["acme.com"],
...                                                               "globex.com": ids["acme.com"] + 1}
True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from mql.records import Account
from mql.store.tables import accounts

CHUNK = 500


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """`items` in lists of at most `size` (for IN lists), in order."""
    listed = list(items)
    for start in range(0, len(listed), size):
        yield listed[start:start + size]


def among(conn: Connection, column: Any, values: list[Any]) -> Any:
    """`column IN values` as the dialect reads it fastest: one parameter, so that the
    statement's text, and the database's parse of it, are the same whatever the number of
    values (an IN list is a new statement of len(values) parameters that SQLAlchemy
    renders and the driver binds every time). On PostgreSQL one array parameter
    (``= ANY(...)``); on SQLite one JSON array (``IN (SELECT value FROM json_each(...))``,
    for integers and strings: the values JSON keeps as they are); an IN list otherwise.
    The same rows either way."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values),
                                              type_=postgresql.ARRAY(column.type)))
    if conn.dialect.name == "sqlite" and all(
            type(v) is int or type(v) is str for v in values):
        items = sa.func.json_each(sa.bindparam(None, json.dumps(list(values)),
                                               type_=sa.String)).table_valued("value")
        return column.in_(sa.select(items.c.value).scalar_subquery())
    return column.in_(values)


def ids_by_domain(conn: Connection, domains: Iterable[str]) -> dict[str, int]:
    """The ids of the stored accounts among `domains`."""
    found: dict[str, int] = {}
    for part in chunks(set(domains)):
        rows = conn.execute(sa.select(accounts.c.domain, accounts.c.id)
                            .where(among(conn, accounts.c.domain, part)))
        found.update({str(d): int(i) for d, i in rows})
    return found


def ensure_accounts(conn: Connection, domains: Iterable[str], *, now: datetime) -> dict[str, int]:
    """Ids of `domains`, creating a bare account (domain only) for each unknown one."""
    wanted = set(domains)
    found = ids_by_domain(conn, wanted)
    missing = sorted(wanted - found.keys())
    if missing:
        rows: list[dict[str, Any]] = [
            {"domain": d, "name": None, "attributes": {}, "source": "implied",
             "created_at": now, "updated_at": now} for d in missing]
        result = conn.execute(accounts.insert().returning(
            accounts.c.domain, accounts.c.id, sort_by_parameter_order=True), rows)
        found.update({str(d): int(i) for d, i in result})
    return found


def upsert_accounts(conn: Connection, records: list[Account], *, source: str,
                    now: datetime) -> dict[str, int]:
    """Store `records` (new domains inserted, known ones get the new attribute values);
    returns the id of every domain."""
    latest = {a.domain: a for a in records}
    found = ids_by_domain(conn, latest)
    if found:
        old = load_accounts(conn, found.values())
        conn.execute(accounts.update().where(accounts.c.id == sa.bindparam("b_id")).values(
            name=sa.bindparam("b_name"), attributes=sa.bindparam("b_attributes"),
            updated_at=now), [
            {"b_id": found[d], "b_name": latest[d].attributes.get("name"),
             "b_attributes": {**old[found[d]].attributes,
                              **{k: v for k, v in latest[d].attributes.items()
                                 if v is not None}}}
            for d in found])
    new = [a for d, a in latest.items() if d not in found]
    if new:
        rows = [{"domain": a.domain, "name": a.attributes.get("name"),
                 "attributes": dict(a.attributes), "source": source, "created_at": now,
                 "updated_at": now} for a in new]
        result = conn.execute(accounts.insert().returning(
            accounts.c.domain, accounts.c.id, sort_by_parameter_order=True), rows)
        found.update({str(d): int(i) for d, i in result})
    return found


def load_accounts(conn: Connection, ids: Iterable[int]) -> dict[int, Account]:
    """The accounts with these ids, as records."""
    out: dict[int, Account] = {}
    for part in chunks(set(ids)):
        rows = conn.execute(sa.select(accounts.c.id, accounts.c.domain, accounts.c.attributes)
                            .where(among(conn, accounts.c.id, part)))
        out.update({int(i): Account(str(d), dict(a or {})) for i, d, a in rows})
    return out


def all_ids(conn: Connection) -> list[int]:
    """The id of every account, in id order."""
    return [int(i) for (i,) in conn.execute(sa.select(accounts.c.id).order_by(accounts.c.id))]


def all_names(conn: Connection) -> list[tuple[str, str | None]]:
    """(domain, name) of every account, for lead-to-account matching."""
    return [(str(d), n) for d, n in conn.execute(sa.select(accounts.c.domain, accounts.c.name))]


def names_after(conn: Connection, last_id: int) -> tuple[list[tuple[str, str | None]], int]:
    """(domain, name) of the accounts with an id above `last_id`, and the highest id seen
    (`last_id` when there are none): the accounts created since an earlier read."""
    rows = conn.execute(sa.select(accounts.c.id, accounts.c.domain, accounts.c.name)
                        .where(accounts.c.id > last_id)).all()
    return [(str(d), n) for _, d, n in rows], max((int(i) for i, _, _ in rows), default=last_id)
