"""Key use cases: create, list and revoke write keys and API tokens; check a presented key;
append admin and sales actions to the audit log. One transaction each.

A key reads ``mql_<key id>_<secret>``. The store keeps the key id and the HMAC-SHA256 of the
secret under the server's secret key, never the secret, so a leaked database does not leak
usable keys. Write keys (role ``writer``) can only send events; tokens carry one of the
roles admin, marketing, sales, read-only.

>>> split_key("mql_0123456789ab_s3cr3t_with_underscores")
('0123456789ab', 's3cr3t_with_underscores')
>>> split_key("nope") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine

from mql.errors import ConfigError
from mql.store import keys as key_store
from mql.store import merges as merge_store
from mql.store.db import translate_errors
from mql.store.migrate import check

Role = Literal["writer", "admin", "marketing", "sales", "read-only"]
TOKEN_ROLES: tuple[str, ...] = ("admin", "marketing", "sales", "read-only")
_PREFIX = "mql"


@dataclass(frozen=True, slots=True)
class Scope:
    """A seller's reach: leads they own (`owner` == `name`) or open ones of their `team`."""

    name: str
    team: str | None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sent a request: the key id, kind (write_key or token), role, name and team."""

    key_id: str
    kind: str
    role: str
    name: str
    team: str | None

    @property
    def scope(self) -> Scope | None:
        """The leads a sales token may act on (its own, its team's); None: any lead."""
        return Scope(self.name, self.team) if self.role == "sales" else None

    @property
    def actor(self) -> str:
        """How the audit log names this caller, e.g. ``token:jane (sales)``."""
        return f"{self.kind}:{self.name} ({self.role})"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: `secret` is the whole key, shown once and never stored."""

    key_id: str
    kind: str
    role: str
    name: str
    team: str | None
    secret: str


@dataclass(frozen=True, slots=True)
class KeyView:
    """A stored key without its digest, for listings."""

    key_id: str
    kind: str
    role: str
    name: str
    team: str | None
    created_at: datetime
    revoked_at: datetime | None


def split_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a presented key, or None when it does not have the key shape."""
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _digest(secret: str, server_secret: str) -> str:
    return hmac.new(server_secret.encode(), secret.encode(), hashlib.sha256).hexdigest()


def create_key(engine: Engine, *, kind: Literal["write_key", "token"], name: str,
               role: str | None, team: str | None, server_secret: str, actor: str,
               now: datetime) -> CreatedKey:
    """Store a new write key (role writer) or token (one of `TOKEN_ROLES`); the created key
    with its secret, which cannot be read again."""
    roles = ", ".join(TOKEN_ROLES)
    if kind == "write_key":
        if role not in (None, "writer"):
            raise ConfigError(f"a write key only sends events (role writer), so it cannot have "
                              f"role {role!r}; for a {role} token, create a token "
                              f"(mql keys create NAME --kind token --role {role})")
        role = "writer"
    elif role is None:
        raise ConfigError(f"a token needs a role: one of {roles} "
                          "(mql keys create NAME --kind token --role sales)")
    elif role not in TOKEN_ROLES:
        raise ConfigError(f"role {role!r} is not a token role; choose one of {roles}")
    if not name.strip():
        raise ConfigError("a key needs a name: the source (website, product, crm) or person")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    check(engine)
    with translate_errors("creating a key"), engine.begin() as conn:
        key_store.add(conn, key_id=key_id, digest=_digest(secret, server_secret), kind=kind,
                      role=role, name=name.strip(), team=team, now=now)
        merge_store.audit(conn, actor, "key.create", key_id,
                          {"kind": kind, "role": role, "name": name, "team": team}, now=now)
    return CreatedKey(key_id, kind, role, name.strip(), team, f"{_PREFIX}_{key_id}_{secret}")


def list_keys(engine: Engine, *, include_revoked: bool = False) -> list[KeyView]:
    """The keys, oldest first; live ones only unless `include_revoked`."""
    check(engine)
    with translate_errors("listing keys"), engine.connect() as conn:
        return [KeyView(k.key_id, k.kind, k.role, k.name, k.team, k.created_at, k.revoked_at)
                for k in key_store.listing(conn, include_revoked=include_revoked)]


def revoke_key(engine: Engine, key_id: str, *, actor: str, now: datetime) -> KeyView:
    """Revoke the key `key_id` (kept, marked revoked); `NotFound` for an unknown id."""
    check(engine)
    with translate_errors("revoking a key"), engine.begin() as conn:
        k = key_store.revoke(conn, key_id, now=now)
        merge_store.audit(conn, actor, "key.revoke", key_id, {"name": k.name}, now=now)
    return KeyView(k.key_id, k.kind, k.role, k.name, k.team, k.created_at, now)


def authenticate(engine: Engine, presented: str, *, server_secret: str) -> Principal | None:
    """The principal of a presented key, or None when it is unknown, wrong or revoked."""
    parts = split_key(presented)
    if parts is None:
        return None
    key_id, secret = parts
    with translate_errors("checking a key"), engine.connect() as conn:
        found = key_store.by_key_id(conn, key_id)
    if found is None or found.revoked_at is not None:
        return None
    if not hmac.compare_digest(found.digest, _digest(secret, server_secret)):
        return None
    return Principal(found.key_id, found.kind, found.role, found.name, found.team)


def principal_by_id(engine: Engine, key_id: str) -> Principal | None:
    """The principal of the live token with this key id (a web session names its key by
    id), or None when there is none or it was revoked: signing out every session of a key
    is revoking it."""
    with translate_errors("checking a key"), engine.connect() as conn:
        found = key_store.by_key_id(conn, key_id)
    if found is None or found.revoked_at is not None or found.kind != "token":
        return None
    return Principal(found.key_id, found.kind, found.role, found.name, found.team)


def record_action(engine: Engine, *, actor: str, action: str, subject: str | None,
                  detail: dict[str, Any], now: datetime) -> None:
    """Append one line (who, what, when) to the audit log."""
    with translate_errors("writing the audit log"), engine.begin() as conn:
        merge_store.audit(conn, actor, action, subject, detail, now=now)


def audit_lines(engine: Engine, action: str | None = None) -> list[dict[str, Any]]:
    """The audit log (of one action), oldest first."""
    with translate_errors("reading the audit log"), engine.connect() as conn:
        return merge_store.audit_lines(conn, action)
