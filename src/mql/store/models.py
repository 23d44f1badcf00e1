"""Model versions in the store: the text of every model ever activated, and which is live.

>>> from datetime import datetime, timezone
>>> from mql.store.db import connect
>>> from mql.store.migrate import upgrade
>>> engine = connect("sqlite://"); _ = upgrade(engine)
>>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> with engine.begin() as conn:
...     mid = save_version(conn, "b2b", "1", "scores: {}", source="m.yaml", now=t)
...     activate(conn, mid, now=t)
...     active_version(conn).name
'b2b'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.errors import NotFound
from mql.store.tables import model_versions


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One stored model version: its id, name, version, digest, text and activation."""

    id: int
    name: str
    version: str
    digest: str
    text: str
    source: str | None
    activated_at: datetime | None
    active: bool


def digest(text: str) -> str:
    """The SHA-256 of a model text (its identity in the store)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _row(row: sa.Row[tuple[object, ...]]) -> ModelVersion:
    m = row._mapping
    return ModelVersion(int(m["id"]), str(m["name"]), str(m["version"]), str(m["digest"]),
                        str(m["text"]), m["source"], m["activated_at"], bool(m["active"]))


def save_version(conn: Connection, name: str, version: str, text: str, *,
                 source: str | None, now: datetime) -> int:
    """The id of the stored version with this text (stored now if it is new)."""
    key = digest(text)
    found = conn.execute(sa.select(model_versions.c.id).where(model_versions.c.digest == key))
    existing = found.scalar()
    if existing is not None:
        return int(existing)
    result = conn.execute(model_versions.insert().values(
        name=name, version=version, digest=key, text=text, source=source, created_at=now,
        active=False).returning(model_versions.c.id))
    return int(result.scalar_one())


def activate(conn: Connection, version_id: int, *, now: datetime) -> None:
    """Make `version_id` the live model (the others stay stored for comparison)."""
    conn.execute(model_versions.update().where(model_versions.c.active).values(active=False))
    done = conn.execute(model_versions.update().where(model_versions.c.id == version_id)
                        .values(active=True, activated_at=now))
    if done.rowcount != 1:
        raise NotFound(f"no model version {version_id}")


def active_version(conn: Connection) -> ModelVersion | None:
    """The live model version, or None before the first activation."""
    row = conn.execute(sa.select(model_versions).where(model_versions.c.active)).first()
    return None if row is None else _row(row)


def version_by_id(conn: Connection, version_id: int) -> ModelVersion | None:
    """One stored version, live or not (None if there is no such id)."""
    row = conn.execute(sa.select(model_versions).where(model_versions.c.id == version_id)
                       ).first()
    return None if row is None else _row(row)


def versions(conn: Connection) -> list[ModelVersion]:
    """Every stored version, oldest first."""
    rows = conn.execute(sa.select(model_versions).order_by(model_versions.c.id))
    return [_row(r) for r in rows]
