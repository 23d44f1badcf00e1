"""A small stored ledger written row by row through SQLAlchemy, counted by hand in
tests/reports/test_reports.py (outcome rows go in directly, as the loaders would put them).

Five MQLs (as of 2025-05-20, maturity 90 days):
  m1 ann@acme   2025-01-06 fast track (demo request)  -> SAL 01-07 -> SQL 02-03; o1 won
  m2 bob@acme   2025-01-15 threshold (content)        -> rejected 01-16 (no_budget)
  m3 cat@tiny   2025-02-05 criteria                   -> nurture 02-20 (decay); o3 too late
  m4 dan@tiny   2025-02-15 threshold                  -> SAL -> SQL 02-20; o2 open
  m5 bob@acme   2025-03-01 threshold (again)          -> SAL 03-02, still open, maturing
eve@tiny was merged into dan@tiny: her touch of 02-03 is dan's first touch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.store import tables as t

AS_OF = datetime(2025, 5, 20, tzinfo=UTC)


def d(month: int, day: int, hour: float = 0) -> datetime:
    return datetime(2025, month, day, tzinfo=UTC) + timedelta(hours=hour)


NOW = d(6, 1)


def write_ledger(engine: Engine) -> None:
    with engine.begin() as conn:
        version = conn.execute(sa.select(t.model_versions.c.id)
                               .where(t.model_versions.c.active)).scalar_one()

        def insert(table: sa.Table, **values: Any) -> int:
            return int(conn.execute(table.insert().values(**values)).inserted_primary_key[0])

        acme = insert(t.accounts, domain="acme.example", name="Acme", source="test",
                      attributes={"employees": 3000, "region": "NA"},
                      created_at=NOW, updated_at=NOW)
        tiny = insert(t.accounts, domain="tiny.example", name="Tiny", source="test",
                      attributes={"employees": 50, "region": "EMEA"},
                      created_at=NOW, updated_at=NOW)
        people = {}
        for name, account, domain in (("ann", acme, "acme.example"),
                                      ("bob", acme, "acme.example"),
                                      ("cat", tiny, "tiny.example"),
                                      ("dan", tiny, "tiny.example"),
                                      ("eve", tiny, "tiny.example")):
            people[name] = insert(t.contacts, email=f"{name}@{domain}", account_id=account,
                                  account_domain=domain, attributes={"source": "web"},
                                  source="test", created_at=NOW, updated_at=NOW)
        conn.execute(t.contacts.update().where(t.contacts.c.id == people["eve"])
                     .values(merged_into=people["dan"]))

        def event(who: str, kind: str, at: datetime, **props: Any) -> None:
            insert(t.events, event_id=f"{who}-{kind}-{at.isoformat()}", type=kind, at=at,
                   contact_id=people[who], properties=props, received_at=at, source="test")

        event("ann", "ad_click", d(1, 1), utm_medium="cpc", utm_source="google",
              utm_campaign="jan-search")
        event("ann", "demo_request", d(1, 5))
        event("bob", "page_view", d(1, 11), channel="email")
        event("bob", "content_download", d(1, 12))
        event("cat", "page_view", d(2, 1))
        event("dan", "page_view", d(2, 10), utm_medium="paid_social")
        event("eve", "page_view", d(2, 3), channel="events")

        moves: dict[str, int] = {}

        def move(key: str, who: str, source: str | None, target: str, at: datetime,
                 cause: str, reason: str | None = None) -> None:
            moves[key] = insert(t.lifecycle_history, contact_id=people[who],
                                from_stage=source, to_stage=target, at=at, cause=cause,
                                reason=reason, actor="test", model_version_id=version)

        move("m1", "ann", "captured", "mql", d(1, 6), "fast_track", "demo_request")
        move("m1a", "ann", "mql", "sal", d(1, 7), "sales_action")
        move("m1s", "ann", "sal", "sql", d(2, 3), "sales_action")
        move("m2", "bob", "captured", "mql", d(1, 15), "threshold", "#1")
        move("m2r", "bob", "mql", "recycled", d(1, 16), "sales_action", "no_budget")
        move("m3", "cat", "captured", "mql", d(2, 5), "criteria", "engaged")
        move("m3n", "cat", "mql", "nurture", d(2, 20), "decay")
        move("m4", "dan", "captured", "mql", d(2, 15), "threshold", "#1")
        move("m4a", "dan", "mql", "sal", d(2, 16), "sales_action")
        move("m4s", "dan", "sal", "sql", d(2, 20), "sales_action")
        move("m5", "bob", "recycled", "mql", d(3, 1), "threshold", "#1")
        move("m5a", "bob", "mql", "sal", d(3, 2), "sales_action")

        def assign(who: str, team: str, owner: str, at: datetime, hours: float,
                   touch: float | None, status: str, breaches: int = 0,
                   reason: str = "matched") -> None:
            insert(t.assignments, contact_id=people[who], team=team, owner=owner,
                   rule=team, reason=reason, assigned_at=at, sla="default",
                   sla_due_at=at + timedelta(hours=hours),
                   first_touch_at=None if touch is None else at + timedelta(hours=touch),
                   breaches=breaches, status=status)

        assign("ann", "na_enterprise", "dana", d(1, 6), 1, 0.5, "met")
        assign("bob", "na_enterprise", "dana", d(1, 15), 24, 30, "late", 1)
        assign("cat", "emea", "anna", d(2, 5), 24, None, "escalated", 2)
        assign("cat", "emea", "bo", d(2, 6), 24, 4, "met")  # re-routed
        assign("dan", "emea", "anna", d(2, 15), 24, 2, "met",
               reason="reassigned by lead at 2025-02-15T01:00:00+00:00")  # same row
        assign("bob", "na_enterprise", "dana", d(3, 1), 24, None, "open")

        def opportunity(key: str, primary: str | None, opened: datetime, amount: float,
                        status: str, closed: datetime | None, product: str) -> int:
            return insert(t.opportunities, external_id=key, name=key,
                          primary_contact_id=None if primary is None else people[primary],
                          product_line=product, amount=amount, currency="USD",
                          opened_at=opened, closed_at=closed, status=status, attributes={},
                          as_of=opened, created_at=NOW, updated_at=NOW)

        o1 = opportunity("o1", "ann", d(1, 20), 10_000.0, "won", d(3, 1), "platform")
        o2 = opportunity("o2", None, d(3, 1), 5_000.0, "open", None, "analytics")
        opportunity("o3", "cat", d(5, 10), 7_000.0, "lost", d(5, 12), "platform")
        insert(t.opportunity_contacts, opportunity_id=o2, contact_id=people["dan"],
               role="champion", is_primary=False, updated_at=NOW)
        insert(t.opportunity_links, opportunity_id=o1, contact_id=people["ann"],
               kind="sourced", history_id=moves["m1"], qualified_at=d(1, 6), rule="test",
               linked_at=NOW)
        insert(t.opportunity_links, opportunity_id=o2, contact_id=people["dan"],
               kind="influenced", history_id=moves["m4"], qualified_at=d(2, 15),
               rule="test", linked_at=NOW)
        for month, channel, amount in (("2025-01", "paid_search", 3000.0),
                                       ("2025-01", "email", 500.0),
                                       ("2025-02", "events", 2000.0),
                                       ("2025-02", "paid_social", 800.0)):
            insert(t.marketing_costs, month=month, channel=channel, campaign="",
                   amount=amount, currency="USD", updated_at=NOW)
        for who, at, status, reason in (("bob", d(1, 16), "rejected", "no_budget"),
                                        ("cat", d(2, 10), "no_response", "no_response"),
                                        ("ann", d(1, 7), "accepted", None)):
            insert(t.dispositions, contact_id=people[who], at=at, status=status,
                   reason=reason, actor="test", source="test", recorded_at=NOW)
