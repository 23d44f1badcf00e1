"""Consent records (every change kept) and suppression lists, in the store.

A record's fingerprint (the contact's address or key, channel, purpose, status, basis and
time) makes loading idempotent: the same change loaded twice, from a file, a Segment
message or the API, is stored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.compliance.consent import Record
from mql.compliance.policy import Suppression, email_hash
from mql.store.tables import audit_log, consent, suppressions

_CHUNK = 500


def fingerprint(key: str, channel: str, purpose: str, status: str, basis: str,
                at: datetime) -> str:
    """The identity of one consent change (`key`: the contact's address as given)."""
    text = "|".join((key.strip().lower(), channel, purpose, status, basis, at.isoformat()))
    return hashlib.sha256(text.encode()).hexdigest()


def add_records(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Store the consent rows whose fingerprint is new; the fingerprints stored now."""
    prints = [str(r["fingerprint"]) for r in rows]
    known: set[str] = set()
    for i in range(0, len(prints), _CHUNK):
        known |= set(conn.execute(sa.select(consent.c.fingerprint).where(
            consent.c.fingerprint.in_(prints[i:i + _CHUNK]))).scalars())
    new: list[dict[str, Any]] = []
    for r in rows:
        if r["fingerprint"] not in known:
            known.add(str(r["fingerprint"]))
            new.append(dict(r))
    if new:
        conn.execute(consent.insert(), new)
    return {str(r["fingerprint"]) for r in new}


def _record(r: sa.Row[Any]) -> Record:
    return Record(r.channel, r.status, r.at, r.basis or "none", r.purpose or "marketing",
                  r.source, r.expires_at, r.origin_id, r.evidence or {})


def records_of(conn: Connection, contact_ids: Iterable[int]) -> dict[int, list[Record]]:
    """Every consent record of each contact, oldest first."""
    ids = sorted(set(contact_ids))
    out: dict[int, list[Record]] = {}
    for i in range(0, len(ids), _CHUNK):
        for r in conn.execute(sa.select(consent).where(
                consent.c.contact_id.in_(ids[i:i + _CHUNK]))
                .order_by(consent.c.at, consent.c.id)):
            out.setdefault(int(r.contact_id), []).append(_record(r))
    return out


def history(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    """A contact's consent records as stored, oldest first (the export, the API)."""
    return [{"channel": r.channel, "purpose": r.purpose, "status": r.status,
             "basis": r.basis, "at": r.at.isoformat(), "source": r.source,
             "evidence": r.evidence, "expires_at": None if r.expires_at is None else
             r.expires_at.isoformat(), "jurisdiction": r.jurisdiction}
            for r in conn.execute(sa.select(consent).where(consent.c.contact_id == contact_id)
                                  .order_by(consent.c.at, consent.c.id))]


def add_suppressions(conn: Connection, entries: Iterable[Suppression], *,
                     source: str | None) -> int:
    """Add entries (an entry already listed keeps its first time); how many were new."""
    added = 0
    for s in entries:
        exists = conn.execute(sa.select(suppressions.c.id).where(
            suppressions.c.kind == s.kind, suppressions.c.value == s.value)).first()
        if exists is None:
            conn.execute(suppressions.insert().values(
                kind=s.kind, value=s.value, reason=s.reason, at=s.at,
                source=None if source is None else source[:1000]))
            added += 1
    return added


def remove_suppression(conn: Connection, kind: str, value: str) -> bool:
    return bool(conn.execute(suppressions.delete().where(
        suppressions.c.kind == kind, suppressions.c.value == value)).rowcount)


def has_suppressions(conn: Connection, kind: str) -> bool:
    """Whether the suppression list holds any entry of `kind` (one indexed read)."""
    return conn.execute(sa.select(suppressions.c.id).where(suppressions.c.kind == kind)
                        .limit(1)).first() is not None


def suppressions_for(conn: Connection, *, emails: Iterable[str] = (),
                     domains: Iterable[str] = ()) -> list[Suppression]:
    """The entries that can match these addresses and domains (email entries by hash,
    domain and account entries by domain)."""
    hashes = sorted({email_hash(e) for e in emails if e})
    names = sorted({d for d in domains if d})
    out: list[Suppression] = []
    for kind, values in (("email", hashes), ("domain", names), ("account", names)):
        for i in range(0, len(values), _CHUNK):
            out += [Suppression(r.kind, r.value, r.at, r.reason) for r in conn.execute(
                sa.select(suppressions).where(suppressions.c.kind == kind,
                                              suppressions.c.value.in_(values[i:i + _CHUNK])))]
    return out


def suppression_list(conn: Connection) -> list[dict[str, Any]]:
    return [{"kind": r.kind, "value": r.value, "reason": r.reason, "source": r.source,
             "at": r.at.isoformat()}
            for r in conn.execute(sa.select(suppressions).order_by(suppressions.c.id))]


def audit_many(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append audit lines (at, actor, action, subject, detail) in one statement."""
    if rows:
        conn.execute(audit_log.insert(), [dict(r) for r in rows])
