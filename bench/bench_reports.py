"""The funnel report on a year of a realistic store, against a hand-written SQL of one of
its KPIs (MQLs and MQL->SQL by cohort month) in the same run.

The store (SQLite) is written directly, seeded: contacts at companies of three segments,
touches over the year with UTM tags, MQL moves for ~15% of contacts, then acceptance,
rejections with reasons, SQLs near the health band, assignments with first touches,
opportunities and monthly spend per channel. `report_seconds` is `mql report funnel`'s
whole computation (read the ledger, DuckDB); `handwritten_seconds` the one-KPI query on
the store itself. `ratio` = hand-written / report: the price of computing every KPI and
dimension against one query for one number. Both must give the same numbers, or the
benchmark fails.

    python -m bench --only reports --reports-contacts 100000   # the issue's size
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mql.analytics.definitions import Dimension, Report
from mql.batch.reports import ReportEngine, Window
from mql.service import state as states
from mql.service.reports import load_ledger, run_report
from mql.service.store import init_workspace
from mql.store import tables as t
from mql.store.db import connect

START = datetime(2025, 1, 1, tzinfo=UTC)
CHANNELS = [("google", "cpc", "paid_search"), ("linkedin", "paid_social", "paid_social"),
            ("newsletter", "email", "email"), (None, None, "organic"), (None, None, "direct"),
            ("g2", "referral", "partner"), ("tradeshow", "event", "events")]
REASONS = ["no_budget", "bad_timing", "no_response", "wrong_fit", "competitor", "student"]
TYPES = ["page_view"] * 6 + ["email_click", "content_download", "webinar_attended",
                             "demo_request", "pricing_page_view"]

HANDWRITTEN = """
WITH m AS (
  SELECT h.id, h.contact_id, h.at,
    (SELECT min(n.at) FROM lifecycle_history n WHERE n.contact_id = h.contact_id
       AND n.to_stage = 'mql' AND (n.at > h.at OR (n.at = h.at AND n.id > h.id))) AS next_at
  FROM lifecycle_history h WHERE h.to_stage = 'mql'
)
SELECT strftime('%Y-%m', m.at) AS month, count(*) AS mqls,
  sum(EXISTS (SELECT 1 FROM lifecycle_history s WHERE s.contact_id = m.contact_id
      AND s.to_stage = 'sql' AND s.at >= m.at
      AND (m.next_at IS NULL OR s.at < m.next_at))) AS sql
FROM m GROUP BY 1 ORDER BY 1
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reports")
    group.add_argument("--reports-contacts", type=int, default=20_000,
                       help="contacts in the store (default 20,000: ~400,000 events)")


def _world(engine: sa.Engine, contacts: int, rng: random.Random) -> dict[str, int]:
    now = START + timedelta(days=366)
    with engine.begin() as conn:
        version = conn.execute(sa.select(t.model_versions.c.id)
                               .where(t.model_versions.c.active)).scalar_one()
        companies = max(1, contacts // 4)
        conn.execute(t.accounts.insert(), [
            {"id": i + 1, "domain": f"c{i}.example", "name": f"C{i}", "source": "bench",
             "attributes": {"employees": rng.choice([40, 120, 450, 900, 2500, 8000]),
                            "region": rng.choice(["NA", "EMEA", "APAC"])},
             "created_at": START, "updated_at": START} for i in range(companies)])
        people = []
        for i in range(contacts):
            account = rng.randrange(companies) + 1
            people.append({"id": i + 1, "email": f"p{i}@c{account - 1}.example",
                           "account_id": account, "account_domain": f"c{account - 1}.example",
                           "attributes": {"source": rng.choice(["web", "list_import",
                                                                "event"])},
                           "source": "bench", "created_at": START, "updated_at": START})
        conn.execute(t.contacts.insert(), people)
        events: list[dict[str, Any]] = []
        moves: list[dict[str, Any]] = []
        handed: list[dict[str, Any]] = []
        deals: list[dict[str, Any]] = []
        done: list[dict[str, Any]] = []
        seq = 0

        def flush() -> None:
            if events:
                conn.execute(t.events.insert(), events)
                events.clear()

        for cid in range(1, contacts + 1):
            first = START + timedelta(days=rng.random() * 330)
            source, medium, channel = rng.choice(CHANNELS)
            at = first
            for k in range(rng.randint(1, 39)):
                seq += 1
                props: dict[str, Any] = {"channel": channel} if k == 0 else {}
                if k == 0 and source is not None:
                    props.update(utm_source=source, utm_medium=medium,
                                 utm_campaign=f"{at:%Y-%m}-{channel}")
                events.append({"event_id": f"e{seq}", "type": "page_view" if k == 0 else
                               rng.choice(TYPES), "at": at, "contact_id": cid,
                               "account_id": None, "properties": props, "source": "bench",
                               "received_at": at})
                at += timedelta(hours=rng.expovariate(1 / 60))
            if len(events) > 50_000:
                flush()
            if rng.random() > 0.15:
                continue
            mql = first + timedelta(days=rng.expovariate(1 / 20))
            moves.append({"contact_id": cid, "from_stage": "nurture", "to_stage": "mql",
                          "at": mql, "cause": "threshold", "reason": "#1",
                          "model_version_id": version, "actor": "bench"})
            touch = mql + timedelta(hours=rng.expovariate(1 / 6))
            handed.append({"contact_id": cid, "team": rng.choice(["na", "emea", "apac"]),
                           "owner": f"seller{rng.randrange(12)}", "rule": "bench",
                           "assigned_at": mql, "sla": "default",
                           "sla_due_at": mql + timedelta(hours=24), "first_touch_at": touch,
                           "breaches": 0, "status": "met" if touch < mql + timedelta(hours=24)
                           else "late"})
            if rng.random() < 0.55:
                moves.append({"contact_id": cid, "from_stage": "mql", "to_stage": "sal",
                              "at": touch, "cause": "sales_action", "model_version_id": version,
                              "actor": "bench", "reason": None})
                if rng.random() < 0.35:
                    sql_at = touch + timedelta(days=rng.expovariate(1 / 7))
                    moves.append({"contact_id": cid, "from_stage": "sal", "to_stage": "sql",
                                  "at": sql_at, "cause": "sales_action",
                                  "model_version_id": version, "actor": "bench",
                                  "reason": None})
                    if rng.random() < 0.5:
                        status = rng.choice(["won", "lost", "open"])
                        opened = sql_at + timedelta(days=rng.expovariate(1 / 10))
                        deals.append({"external_id": f"o{cid}", "primary_contact_id": cid,
                                      "amount": rng.lognormvariate(10, 0.8), "currency": "USD",
                                      "opened_at": opened, "status": status,
                                      "closed_at": None if status == "open" else
                                      opened + timedelta(days=rng.expovariate(1 / 60)),
                                      "product_line": rng.choice(["platform", "analytics"]),
                                      "attributes": {}, "as_of": opened, "created_at": now,
                                      "updated_at": now})
            else:
                reason = rng.choice(REASONS)
                moves.append({"contact_id": cid, "from_stage": "mql", "to_stage": "recycled",
                              "at": touch, "cause": "sales_action", "reason": reason,
                              "model_version_id": version, "actor": "bench"})
                done.append({"contact_id": cid, "at": touch, "status": "rejected",
                             "reason": reason, "recorded_at": now})
        flush()
        conn.execute(t.lifecycle_history.insert(), moves)
        conn.execute(t.assignments.insert(), handed)
        if deals:
            conn.execute(t.opportunities.insert(), deals)
        if done:
            conn.execute(t.dispositions.insert(), done)
        conn.execute(t.marketing_costs.insert(), [
            {"month": f"2025-{m:02d}", "channel": c, "campaign": "",
             "amount": round(rng.uniform(1000, 20000), 2), "currency": "USD",
             "updated_at": now} for m in range(1, 13) for _, _, c in CHANNELS])
    return {"contacts": contacts, "events": seq, "mqls": sum(m["to_stage"] == "mql"
                                                             for m in moves)}


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rng = random.Random(14)
    with tempfile.TemporaryDirectory(prefix="mql-bench-reports-") as tmp:
        ws = init_workspace(Path(tmp) / "ws", now=START)
        engine = connect(ws.database_url)
        try:
            size = _world(engine, args.reports_contacts, rng)
            now = START + timedelta(days=400)
            began = time.perf_counter()
            funnel = run_report(engine, Report.FUNNEL, now=now, by=Dimension.MONTH)
            report_seconds = time.perf_counter() - began
            # where the time goes: reading the ledger out of the store, and DuckDB
            began = time.perf_counter()
            with engine.connect() as conn:
                live = states.live_model(conn)
                tables = load_ledger(conn, live.model.reports, live.version_id)
            read_seconds = time.perf_counter() - began
            runner = ReportEngine()
            began = time.perf_counter()
            runner.load(tables)
            runner.build(live.model.reports, as_of=now)
            runner.funnel([Dimension.MONTH], Window())
            duck_seconds = time.perf_counter() - began
            began = time.perf_counter()
            duck_hand = runner.con.execute(HANDWRITTEN.replace(
                "strftime('%Y-%m', m.at)", "strftime(m.at, '%Y-%m')").replace(
                "lifecycle_history", "moves").replace("sum(EXISTS", "count_if(EXISTS")
            ).fetchall()
            duck_hand_seconds = time.perf_counter() - began
            runner.close()
            began = time.perf_counter()
            with engine.connect() as conn:
                hand = [tuple(r) for r in conn.execute(sa.text(HANDWRITTEN))]
            hand_seconds = time.perf_counter() - began
        finally:
            engine.dispose()
    ours = [(r["month"], r["mqls"], r["sql"]) for r in funnel.rows]
    for theirs in (hand, duck_hand):
        if ours != [(m, int(a), int(b)) for m, a, b in theirs]:
            raise AssertionError(f"the funnel disagrees with the hand-written SQL: {ours} != "
                                 f"{theirs}")
    return [
        {"bench": "reports", "metric": "funnel_by_month_seconds", "value": report_seconds,
         "unit": "s", "baseline": hand_seconds, "ratio": hand_seconds / report_seconds,
         "baseline_is": "hand-written SQL of MQLs and MQL->SQL by cohort month on the store",
         **size},
        {"bench": "reports", "metric": "ledger_read_seconds", "value": read_seconds,
         "unit": "s", **size},
        {"bench": "reports", "metric": "duckdb_funnel_seconds", "value": duck_seconds,
         "unit": "s", "baseline": duck_hand_seconds, "ratio": duck_hand_seconds / duck_seconds,
         "baseline_is": "the same hand-written SQL in DuckDB over the same tables", **size},
    ]
