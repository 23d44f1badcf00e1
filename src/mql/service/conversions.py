"""What counts as a contact's SQL, opportunity and won deal, read once from the store for
`mql learn`, `mql calibrate` and `mql backtest` alike (one computation: the three ask the
same question of the same ledgers and must not answer it two ways).

A contact's outcomes are its own, counted for its survivor when it was merged:

- **SQL**: its first disposition `sql` or `converted`, or its first lifecycle move to
  sql, opportunity or customer, or its first opportunity, whichever came first (an
  opportunity is past the SQL line);
- **opportunity**: the first opportunity it is the primary contact or a contact of
  (an opportunity on its account that does not name it is its colleague's);
- **won**: the first of those opportunities closed won, with the won amounts summed.

Each is the first time, up to `last` (a day, included) when given. A caller asks whether
an outcome followed a moment (`OutcomeTimes.after`): learn from the decision moment,
calibrate from the outreach day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Connection

from mql.learning.backtest import Outcome
from mql.store import ledger

SQL_STATUSES = frozenset({"sql", "converted"})
SQL_STAGES = frozenset({"sql", "opportunity", "customer"})


def _utc(t: Any) -> datetime:
    value: datetime = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class OutcomeTimes:
    """The first time of each outcome of one contact, and its won revenue."""

    sql: datetime | None = None
    opportunity: datetime | None = None
    won: datetime | None = None
    revenue: float = 0.0

    def at(self, kind: str) -> datetime | None:
        value: datetime | None = getattr(self, kind)
        return value

    def after(self, kind: str, moment: datetime) -> bool:
        """Whether the outcome `kind` came at or after `moment`."""
        value = self.at(kind)
        return value is not None and value >= _utc(moment)

    def days(self) -> Outcome:
        """The same outcomes as days (calibration and backtests count days)."""
        def day(t: datetime | None) -> date | None:
            return None if t is None else t.date()

        return Outcome(day(self.sql), day(self.opportunity), day(self.won), self.revenue)


def _first(found: dict[int, datetime], cid: Any, at: datetime) -> None:
    if cid is not None and (int(cid) not in found or at < found[int(cid)]):
        found[int(cid)] = at


def first_outcomes(conn: Connection, last: date | None = None) -> dict[int, OutcomeTimes]:
    """Survivor contact id -> its outcomes (only the contacts with one), up to the day
    `last` (None: everything stored)."""

    def kept(t: Any) -> datetime | None:
        if t is None:
            return None
        value = _utc(t)
        return value if last is None or value.date() <= last else None

    sql: dict[int, datetime] = {}
    opp: dict[int, datetime] = {}
    won: dict[int, datetime] = {}
    revenue: dict[int, float] = {}
    d = ledger.disposition_columns(conn)
    for cid, at, status in zip(d["contact_id"], d["at"], d["status"], strict=True):
        when = kept(at)
        if when is not None and status in SQL_STATUSES:
            _first(sql, cid, when)
    m = ledger.move_columns(conn)
    for cid, to, at in zip(m["contact_id"], m["to_stage"], m["at"], strict=True):
        when = kept(at)
        if when is not None and to in SQL_STAGES:
            _first(sql, cid, when)
    o = ledger.opportunity_columns(conn)
    members: dict[Any, set[int]] = {}
    for oid, cid in zip(o["id"], o["primary_contact_id"], strict=True):
        if cid is not None:
            members.setdefault(oid, set()).add(int(cid))
    oc = ledger.opportunity_contact_columns(conn)
    for oid, cid in zip(oc["opportunity_id"], oc["contact_id"], strict=True):
        members.setdefault(oid, set()).add(int(cid))
    for oid, opened, closed, status, amount in zip(o["id"], o["opened_at"], o["closed_at"],
                                                    o["status"], o["amount"], strict=True):
        when = kept(opened)
        if when is None:
            continue
        closed_at = kept(closed) if status == "won" else None
        for cid in members.get(oid, ()):
            _first(opp, cid, when)
            if closed_at is not None:
                _first(won, cid, closed_at)
                revenue[cid] = revenue.get(cid, 0.0) + float(amount or 0.0)
    out = {}
    for cid in set(sql) | set(opp) | set(won):
        o_at = min((t for t in (opp.get(cid), won.get(cid)) if t is not None), default=None)
        s_at = min((t for t in (sql.get(cid), o_at) if t is not None), default=None)
        out[cid] = OutcomeTimes(s_at, o_at, won.get(cid), revenue.get(cid, 0.0))
    return out
