"""Rows of `auth_keys`: write keys and API tokens, kept as a public id and a digest.

The secret part of a key is never stored; `digest` is its HMAC-SHA256 under the server's
secret, computed by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.errors import NotFound
from mql.store.tables import auth_keys


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One key as stored: public id, digest, kind, role, name, team and its times."""

    id: int
    key_id: str
    digest: str
    kind: str
    role: str
    name: str
    team: str | None
    created_at: datetime
    revoked_at: datetime | None


def _row(row: sa.Row[tuple[object, ...]]) -> StoredKey:
    m = row._mapping
    return StoredKey(int(m["id"]), str(m["key_id"]), str(m["digest"]), str(m["kind"]),
                     str(m["role"]), str(m["name"]), m["team"], m["created_at"],
                     m["revoked_at"])


def add(conn: Connection, *, key_id: str, digest: str, kind: str, role: str, name: str,
        team: str | None, now: datetime) -> int:
    """Store a new key; its row id."""
    result = conn.execute(auth_keys.insert().values(
        key_id=key_id, digest=digest, kind=kind, role=role, name=name, team=team,
        created_at=now).returning(auth_keys.c.id))
    return int(result.scalar_one())


def by_key_id(conn: Connection, key_id: str) -> StoredKey | None:
    """The key with this public id (revoked or not), or None."""
    row = conn.execute(sa.select(auth_keys).where(auth_keys.c.key_id == key_id)).first()
    return None if row is None else _row(row)


def listing(conn: Connection, *, include_revoked: bool = False) -> list[StoredKey]:
    """Every key, oldest first (live ones only unless `include_revoked`)."""
    query = sa.select(auth_keys).order_by(auth_keys.c.id)
    if not include_revoked:
        query = query.where(auth_keys.c.revoked_at.is_(None))
    return [_row(r) for r in conn.execute(query)]


def revoke(conn: Connection, key_id: str, *, now: datetime) -> StoredKey:
    """Mark the key revoked (kept for the audit trail); `NotFound` for an unknown id."""
    found = by_key_id(conn, key_id)
    if found is None:
        raise NotFound(f"no key {key_id!r}; `mql keys list` shows the key ids")
    if found.revoked_at is None:
        conn.execute(auth_keys.update().where(auth_keys.c.key_id == key_id)
                     .values(revoked_at=now))
    return found
