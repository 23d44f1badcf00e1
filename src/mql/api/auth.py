"""Who may call what: one table from permissions to roles, and the check of a presented key.

Write keys (role ``writer``) only send events; tokens carry admin, marketing, sales or
read-only. A key is read from the HTTP Basic username (what Segment clients send) or from
``Authorization: Bearer``.

>>> allowed("collect", "writer"), allowed("collect", "admin"), allowed("read", "read-only")
(True, False, True)
>>> sorted(ROLES_FOR["models.activate"])
['admin']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from mql.service.keys import Principal

Permission = Literal["collect", "read", "models.check", "models.activate", "keys",
                     "quarantine.retry", "sales.act", "outcomes.write", "consent.write",
                     "privacy"]

_READERS = frozenset({"admin", "marketing", "sales", "read-only"})
ROLES_FOR: dict[str, frozenset[str]] = {
    "collect": frozenset({"writer"}),
    "read": _READERS,
    "models.check": frozenset({"admin", "marketing"}),
    "models.activate": frozenset({"admin"}),
    "keys": frozenset({"admin"}),
    "quarantine.retry": frozenset({"admin"}),
    "sales.act": frozenset({"admin", "sales"}),
    "outcomes.write": frozenset({"admin", "marketing", "sales"}),
    "consent.write": frozenset({"admin", "marketing", "sales"}),
    "privacy": frozenset({"admin"}),
}
WHAT: dict[str, str] = {
    "collect": "send events (use a write key)",
    "read": "read leads, accounts, models and quarantine",
    "models.check": "upload and dry-run models",
    "models.activate": "activate models",
    "keys": "manage keys",
    "quarantine.retry": "retry quarantined rows",
    "sales.act": "accept, reject, convert or reassign leads",
    "outcomes.write": "save opportunities and marketing costs",
    "consent.write": "record consent changes",
    "privacy": "erase or export a person's data",
}

MISSING = ("no credentials: send a write key as the HTTP Basic username (Segment clients do "
           "this) or a token as `Authorization: Bearer mql_...`; create one with "
           "`mql keys create`")


def allowed(permission: str, role: str) -> bool:
    """Whether `role` has `permission`."""
    return role in ROLES_FOR[permission]


def refusal(permission: str, principal: Principal) -> str:
    """The 403 message for a principal whose role lacks `permission`."""
    needs = ", ".join(sorted(ROLES_FOR[permission]))
    return (f"{principal.kind} {principal.key_id!r} has role {principal.role!r}, which cannot "
            f"{WHAT[permission]}; this needs role {needs}")


def unknown(presented: str) -> str:
    """The 401 message for a key that is unknown, wrong or revoked (its secret not shown)."""
    shown = "_".join(presented.split("_", 2)[:2]) if presented.startswith("mql_") else "the key"
    return (f"{shown}: unknown, wrong or revoked key; `mql keys list` shows the live keys "
            "and `mql keys create` makes a new one")


class KeyCache:
    """Checked keys for `ttl` seconds, so a busy key costs one store lookup per `ttl`;
    a revoked key stops working within `ttl`."""

    def __init__(self, check: Callable[[str], Principal | None], *, ttl: float) -> None:
        self._check = check
        self._ttl = ttl
        self._seen: dict[str, tuple[Principal | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, presented: str) -> tuple[bool, Principal | None]:
        """(True, the principal or None) when `presented` was checked within `ttl`, else
        (False, None): then `principal` asks the store."""
        with self._lock:
            hit = self._seen.get(presented)
        if hit is not None and hit[1] > time.monotonic():
            return True, hit[0]
        return False, None

    def principal(self, presented: str) -> Principal | None:
        """The principal of `presented`, or None when it is not a live key."""
        known, found = self.cached(presented)
        if known:
            return found
        now = time.monotonic()
        found = self._check(presented)
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[presented] = (found, now + self._ttl)
        return found
