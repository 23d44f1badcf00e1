"""The contact score upsert on PostgreSQL is one `unnest` statement: it must store exactly
what the row-by-row ON CONFLICT upsert stores (values, types, NULLs, JSON, times), and a
key given twice keeps its last row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.store import scores
from mql.store.contacts import NewContact, create_contacts
from mql.store.tables import contact_scores

T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _row(cid: int, version: int, **values: Any) -> dict[str, Any]:
    row = {"contact_id": cid, "model_version_id": version,
           "state": {"values": {}, "as_of": None}, "fit": 50, "intent": 12.5,
           "total": 62.5, "grade": "B2", "mql": False, "reasons": [],
           "qualified_until": None, "scored_at": T, "updated_at": T}
    return {**row, **values}


def test_the_unnest_upsert_stores_what_the_row_by_row_upsert_stores(store: Engine) -> None:
    later = T + timedelta(days=3, microseconds=7)
    first = [_row(1, 0), _row(2, 0, mql=True, reasons=["thresholds #1: fit 50 >= 50"],
                              qualified_until=later, grade=None, fit=None),
             _row(3, 0, state={"values": {"intent.demo": {"v": 40.0}}, "as_of": T.isoformat()},
                  total=1e-300, intent=-0.0)]
    second = [_row(2, 0, fit=70.25, total=None), _row(4, 0, reasons=None),
              _row(2, 0, fit=71.5, updated_at=later)]  # contact 2 twice: the last one wins
    with store.begin() as conn:
        version = conn.execute(sa.text("SELECT id FROM model_versions LIMIT 1")).scalar_one()
        ids = create_contacts(conn, [NewContact(f"p{n}@acme.example", None, None, None, None,
                                                {}, "test") for n in range(8)], now=T)
        fast, plain = dict(zip((1, 2, 3, 4), ids[:4], strict=True)), dict(
            zip((1, 2, 3, 4), ids[4:], strict=True))
        for rows in (first, second):  # the hot path (one unnest statement on PostgreSQL)
            scores.save_contact_scores(conn, [{**r, "model_version_id": version,
                                               "contact_id": fast[r["contact_id"]]}
                                              for r in rows])
        for rows in (first, second):  # one ON CONFLICT statement per row, in order
            for r in rows:
                scores._upsert(conn, contact_scores, ("contact_id", "model_version_id"),
                               [{**r, "model_version_id": version,
                                 "contact_id": plain[r["contact_id"]]}])
    with store.connect() as conn:
        got = {n: _stored(conn, cid) for n, cid in fast.items()}
        want = {n: _stored(conn, cid) for n, cid in plain.items()}
    assert got == want
    assert got[2][0][2] == 71.5 and got[2][0][-1] == later  # fit and updated_at of the last
    assert got[4][0][7] is None and got[1][0][7] == []  # reasons: JSON null, and a list


def _stored(conn: sa.Connection, cid: int) -> list[tuple[Any, ...]]:
    rows = conn.execute(sa.select(contact_scores).where(contact_scores.c.contact_id == cid))
    return [tuple(r)[1:] for r in rows]
