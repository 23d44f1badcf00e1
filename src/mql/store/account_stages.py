"""Account qualification facts on the audit log (no new table): each MQA hand-off
(`account.mqa`) and each move of the account lifecycle (`account.stage`), with their
time, reason and detail; the account's history is read back in time order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mql.store.accounts import chunks
from mql.store.tables import audit_log, opportunities

MQA = "account.mqa"
STAGE = "account.stage"


def last_mqas(conn: Connection, domains: Iterable[str]) -> dict[str, datetime]:
    """When each account was last handed off as an MQA."""
    out: dict[str, datetime] = {}
    for part in chunks(set(domains)):
        rows = conn.execute(sa.select(audit_log.c.subject, sa.func.max(audit_log.c.at))
                            .where(audit_log.c.action == MQA, audit_log.c.subject.in_(part))
                            .group_by(audit_log.c.subject))
        out.update({str(s): t for s, t in rows})
    return out


def open_mqa(conn: Connection, domain: str, at: datetime, since: datetime
             ) -> tuple[datetime, dict[str, Any]] | None:
    """The account's latest MQA hand-off between `since` and `at` (time, detail), if any."""
    row = conn.execute(sa.select(audit_log.c.at, audit_log.c.detail)
                       .where(audit_log.c.action == MQA, audit_log.c.subject == domain,
                              audit_log.c.at <= at, audit_log.c.at > since)
                       .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
                       .limit(1)).first()
    return None if row is None else (row[0], dict(row[1] or {}))


def stored_moves(conn: Connection, domain: str) -> list[tuple[datetime, str, str]]:
    """The account's stored lifecycle moves (time, stage, reason), in time order."""
    return [(at, str(d.get("stage")), str(d.get("reason") or "")) for at, d in
            moves(conn, domain)]


def last_stages(conn: Connection, domains: Iterable[str]) -> dict[str, str]:
    """Each account's latest stored stage (accounts with none are left out)."""
    out: dict[str, str] = {}
    for part in chunks(set(domains)):
        rows = conn.execute(sa.select(audit_log.c.subject, audit_log.c.detail)
                            .where(audit_log.c.action == STAGE,
                                   audit_log.c.subject.in_(part))
                            .order_by(audit_log.c.at, audit_log.c.id))
        out.update({str(s): str((d or {}).get("stage")) for s, d in rows})
    return out


def record(conn: Connection, action: str, domain: str, detail: Mapping[str, Any],
           at: datetime) -> None:
    conn.execute(audit_log.insert().values(at=at, actor="mql", action=action,
                                           subject=domain, detail=dict(detail)))


def moves(conn: Connection, domain: str) -> list[tuple[datetime, dict[str, Any]]]:
    """The account's lifecycle moves as stored, in time order."""
    rows = conn.execute(sa.select(audit_log.c.at, audit_log.c.detail)
                        .where(audit_log.c.action == STAGE, audit_log.c.subject == domain)
                        .order_by(audit_log.c.at, audit_log.c.id))
    return [(t, dict(d)) for t, d in rows]


def mqas_of(conn: Connection, domain: str) -> list[tuple[datetime, str]]:
    """The account's MQA hand-offs (time, reason), in time order."""
    rows = conn.execute(sa.select(audit_log.c.at, audit_log.c.detail)
                        .where(audit_log.c.action == MQA, audit_log.c.subject == domain)
                        .order_by(audit_log.c.at, audit_log.c.id))
    return [(t, str(dict(d).get("reason", ""))) for t, d in rows]


def opportunities_of(conn: Connection, account_id: int
                     ) -> list[tuple[datetime, datetime | None, str]]:
    """The account's opportunities: (opened, closed, status)."""
    rows = conn.execute(sa.select(opportunities.c.opened_at, opportunities.c.closed_at,
                                  opportunities.c.status)
                        .where(opportunities.c.account_id == account_id))
    return [(o, c, str(s)) for o, c, s in rows]
