"""Nurture facts (issue 21): each contact's entries and exits on the nurture tracks, in
time order. A contact is on a track from its `enrolled` row until its next `unenrolled`
row; the rows are never rewritten (the past does not change)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store.accounts import among, chunks
from mql.store.tables import contacts, events, lifecycle_history, nurture_facts


@dataclass(frozen=True, slots=True)
class Standing:
    """A contact's nurture standing as stored: the track it is on and since when, and
    its last exit (track, moment)."""

    track: str | None = None
    since: datetime | None = None
    left: Mapping[str, datetime] = field(default_factory=dict)  # each track's last exit
    last_at: datetime | None = None  # its newest fact


def standings(conn: Connection, ids: Iterable[int]) -> dict[int, Standing]:
    """The standing of each contact in `ids` that has a fact (the others have none)."""
    out: dict[int, Standing] = {}
    for part in chunks(sorted(set(ids))):
        rows = conn.execute(sa.select(
            nurture_facts.c.contact_id, nurture_facts.c.track, nurture_facts.c.kind,
            nurture_facts.c.at).where(among(conn, nurture_facts.c.contact_id, part))
            .order_by(nurture_facts.c.contact_id, nurture_facts.c.at, nurture_facts.c.id))
        for cid, track, kind, at in rows:
            was = out.get(int(cid), Standing())
            if kind == "enrolled":
                out[int(cid)] = Standing(track, at, was.left, at)
            else:
                out[int(cid)] = Standing(None, None, {**was.left, track: at}, at)
    return out


def add_facts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert facts (contact_id, track, kind, at, reason, cause, model_version_id,
    channels) in the given order."""
    if rows:
        conn.execute(nurture_facts.insert(), list(rows))


def last_reasons(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    """The reason of each contact's latest lifecycle move that had one (a rejection,
    a recycle, an exit): what `lead.reason` reads."""
    out: dict[int, str] = {}
    for part in chunks(sorted(set(ids))):
        rows = conn.execute(sa.select(
            lifecycle_history.c.contact_id, lifecycle_history.c.reason).where(
            among(conn, lifecycle_history.c.contact_id, part),
            lifecycle_history.c.reason.is_not(None)).order_by(
            lifecycle_history.c.contact_id, lifecycle_history.c.at, lifecycle_history.c.id))
        for cid, reason in rows:
            out[int(cid)] = str(reason)
    return out


def facts_until(conn: Connection, at: datetime | None = None,
                track: str | None = None) -> list[dict[str, Any]]:
    """Every fact at or before `at` (None: all), with the contact's email, in time order."""
    query = (sa.select(nurture_facts, contacts.c.email)
             .join(contacts, contacts.c.id == nurture_facts.c.contact_id)
             .order_by(nurture_facts.c.at, nurture_facts.c.id))
    if at is not None:
        query = query.where(nurture_facts.c.at <= at)
    if track is not None:
        query = query.where(nurture_facts.c.track == track)
    return [dict(r._mapping) for r in conn.execute(query)]


def stage_moves(conn: Connection, stages: Iterable[str], until: datetime
                ) -> dict[int, list[tuple[str, datetime]]]:
    """Each contact's moves into `stages` at or before `until`: (stage, moment), in order."""
    out: dict[int, list[tuple[str, datetime]]] = {}
    for cid, stage, at in conn.execute(sa.select(
            lifecycle_history.c.contact_id, lifecycle_history.c.to_stage,
            lifecycle_history.c.at).where(lifecycle_history.c.to_stage.in_(sorted(stages)),
                                          lifecycle_history.c.at <= until)
            .order_by(lifecycle_history.c.at, lifecycle_history.c.id)):
        out.setdefault(int(cid), []).append((str(stage), at))
    return out


def never_enrolled(conn: Connection, until: datetime) -> dict[int, datetime]:
    """The contacts created by `until` with no nurture fact (and not merged away), each
    with the moment mql first knew it: its creation, or, when events dated at or before
    its creation arrived later (a history loaded after the contacts), the arrival of the
    last of those (received by `until`). The nurture report's comparison group is read
    from these moments."""
    enrolled = sa.select(nurture_facts.c.contact_id).where(nurture_facts.c.at <= until)
    known = (sa.select(events.c.contact_id, sa.func.max(events.c.received_at).label("known"))
             .join(contacts, contacts.c.id == events.c.contact_id)
             .where(events.c.at <= contacts.c.created_at, events.c.received_at <= until)
             .group_by(events.c.contact_id).subquery())
    out = {}
    for cid, created, seen in conn.execute(
            sa.select(contacts.c.id, contacts.c.created_at, known.c.known)
            .select_from(contacts.outerjoin(known, known.c.contact_id == contacts.c.id))
            .where(contacts.c.created_at <= until, contacts.c.merged_into.is_(None),
                   contacts.c.id.not_in(enrolled))):
        out[int(cid)] = created if seen is None or seen < created else seen
    return out


def counts(conn: Connection) -> dict[str, int]:
    """How many facts of each kind (enrolled, unenrolled) are stored."""
    return {str(kind): int(n) for kind, n in conn.execute(
        sa.select(nurture_facts.c.kind, sa.func.count()).group_by(nurture_facts.c.kind))}
