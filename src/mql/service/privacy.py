"""Data subject rights (issue 17): erasure (GDPR Art. 17) and access and portability
(Art. 15/20), over every table of the store (`mql.store.privacy.RULES`) and the
collection inbox.

Erasure removes the person (the contact, every contact merged with it, and every text
that names one of their addresses or ids) and leaves: the account's anonymous
aggregates, one audit line that an erasure happened (the address only as SHA-256) and a
suppression entry (the hashed address) so a later import cannot quietly re-create a
contact that may be reached; a consent given again lifts it. Erasing twice changes
nothing the second time.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mql.compliance.policy import Suppression, email_hash
from mql.errors import ConfigError, NotFound
from mql.identity.merge import IdentityRules
from mql.identity.normalize import clean_email
from mql.service.resolve import find_by_email
from mql.store import consent as consent_store
from mql.store import merges as audit_store
from mql.store import privacy as store
from mql.store.db import translate_errors
from mql.store.inbox import inbox, open_inbox
from mql.store.migrate import check
from mql.store.tables import contacts

ERASE = "privacy.erase"
EXPORT = "privacy.export"


def _who(conn: Connection, who: str, rules: IdentityRules) -> tuple[list[int], str | None]:
    """The person's contacts and the address asked for (None when asked by id)."""
    text = who.strip()
    if text.isdigit():
        cid = int(text)
        if conn.execute(sa.select(contacts.c.id).where(contacts.c.id == cid)).first() is None:
            return [], None
        return store.cluster(conn, cid), None
    try:
        email = clean_email(text)
    except ValueError as exc:
        raise ConfigError(f"{who!r} is neither an email address nor a contact id: {exc}"
                          ) from None
    found = find_by_email(conn, [email], rules)
    return (store.cluster(conn, found[email]) if email in found else []), email


def erase(engine: Engine, who: str, *, rules: IdentityRules, now: datetime,
          actor: str = "cli") -> dict[str, Any]:
    """Erase the person with address or contact id `who` everywhere; what was removed
    (rows per table) and whether anything was left to remove."""
    check(engine)
    with translate_errors("erasing the person"), engine.begin() as conn:
        ids, email = _who(conn, who, rules)
        if not ids and email is None:
            raise NotFound(f"no contact {who!r} in the store")
        addresses = sorted({*store.needles(conn, ids), *([email] if email else [])})
        emails = [a for a in addresses if "@" in a]
        counts = store.erase(conn, ids, addresses)
        added = consent_store.add_suppressions(
            conn, [Suppression("email", email_hash(e), now, "erased") for e in emails],
            source="erasure")
        if counts or added:
            audit_store.audit(conn, actor, ERASE, None, {
                "subject_sha256": [email_hash(e) for e in emails], "contacts": len(ids),
                "rows": counts}, now=now)
    box = open_inbox(engine)
    try:
        with box.begin() as conn:
            gone = 0
            for a in addresses:
                gone += conn.execute(inbox.delete().where(sa.func.lower(
                    inbox.c.payload).contains(a, autoescape=True))).rowcount
    finally:
        if box is not engine:
            box.dispose()
    if gone:
        counts["inbox"] = gone
    return {"erased": bool(counts), "contacts": len(ids), "rows": counts,
            "suppressed": len(emails)}


def export(engine: Engine, who: str, *, rules: IdentityRules, now: datetime,
           actor: str = "cli") -> dict[str, Any]:
    """Everything held about the person (address or contact id), as JSON-ready data:
    per table, the rows; and the consent verdict of the live model now. `NotFound` for
    an unknown person. The export itself is audited."""
    check(engine)
    with translate_errors("exporting the person's data"), engine.begin() as conn:
        ids, _ = _who(conn, who, rules)
        if not ids:
            raise NotFound(f"no contact {who!r} in the store")
        held = store.export(conn, ids)
        audit_store.audit(conn, actor, EXPORT, f"contact:{ids[0]}", {"contacts": len(ids)},
                          now=now)
    data = json.loads(json.dumps(held, default=lambda v: v.isoformat()
                                 if isinstance(v, datetime) else str(v)))
    return {"subject": who.strip(), "exported_at": now.isoformat(), "contacts": ids,
            "tables": data}
