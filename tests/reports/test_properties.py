"""Invariants of the reports on random ledgers: the funnel is monotone within every
cohort, every breakdown adds up to the total, and the channel table means the same in
Python and in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.analytics.channels import channel_of
from mql.analytics.definitions import Dimension
from mql.batch.reports import ReportEngine, Window, channel_sql
from mql.model.reports import ReportSettings

T0 = datetime(2025, 1, 1, tzinfo=UTC)
STAGES = ["sal", "sql", "recycled", "nurture", "disqualified", "mql"]

# a contact's story: after each MQL, the moves that follow (days later), and an optional
# opportunity (days after the first MQL, won or not)
story = st.fixed_dictionaries({
    "start": st.integers(0, 200),
    "moves": st.lists(st.tuples(st.sampled_from(STAGES), st.integers(0, 40),
                                st.sampled_from(["sales_action", "decay", "timeout"])),
                      max_size=6),
    "opportunity": st.none() | st.tuples(st.integers(0, 120), st.sampled_from(
        ["open", "won", "lost"])),
    "channel": st.sampled_from(["email", "events", None, "organic"]),
    "team": st.sampled_from(["a", "b", None]),
})


def _tables(stories: list[dict[str, Any]]) -> dict[str, dict[str, list[Any]]]:
    moves: dict[str, list[Any]] = {k: [] for k in ("id", "contact_id", "from_stage",
                                                  "to_stage", "at", "cause", "reason")}
    touch: dict[str, list[Any]] = {"contact_id": [], "at": [], "channel": []}
    opps: dict[str, list[Any]] = {k: [] for k in ("id", "primary_contact_id", "opened_at",
                                                 "closed_at", "status", "amount")}
    assigned: dict[str, list[Any]] = {k: [] for k in ("id", "contact_id", "team",
                                                     "assigned_at", "status")}
    n = 0
    for cid, s in enumerate(stories, start=1):
        at = T0 + timedelta(days=s["start"])
        touch["contact_id"].append(cid)
        touch["at"].append(at - timedelta(days=1))
        touch["channel"].append(s["channel"])
        stage = "captured"
        for target, days, cause in [("mql", 0, "threshold"), *s["moves"]]:
            at += timedelta(days=days)
            n += 1
            for k, v in zip(moves, (n, cid, stage, target, at, cause, None), strict=True):
                moves[k].append(v)
            if target == "mql":
                assigned["id"].append(n)
                assigned["contact_id"].append(cid)
                assigned["team"].append(s["team"])
                assigned["assigned_at"].append(at)
                assigned["status"].append("open")
            stage = target
        if s["opportunity"] is not None:
            days, status = s["opportunity"]
            opened = T0 + timedelta(days=s["start"] + days)
            for k, v in zip(opps, (cid, cid, opened, None if status == "open" else opened
                                   + timedelta(days=30), status, 1000.0), strict=True):
                opps[k].append(v)
    return {"moves": moves, "first_touch": touch, "opportunities": opps,
            "assignments": assigned}


COUNTS = ("mqls", "sal", "rejected", "sql", "opportunities", "sql_opportunities", "won",
          "still_open", "mature_mqls", "mature_sql", "closed_opportunities", "recycled",
          "requalified")


@settings(max_examples=25, deadline=None)
@given(st.lists(story, min_size=1, max_size=25))
def test_the_funnel_is_monotone_per_cohort_and_breakdowns_sum_to_the_total(
        stories: list[dict[str, Any]]) -> None:
    engine = ReportEngine(threads=1)
    try:
        engine.load(_tables(stories))
        engine.build(ReportSettings(), as_of=T0 + timedelta(days=300))
        total = engine.funnel([Dimension.TOTAL], Window())
        assert len(total) == 1
        for dims in ([Dimension.MONTH], [Dimension.WEEK], [Dimension.CHANNEL],
                     [Dimension.TEAM], [Dimension.PRODUCT_LINE],
                     [Dimension.MONTH, Dimension.CHANNEL]):
            rows = engine.funnel(dims, Window())
            for r in rows:
                assert r["mqls"] >= r["sal"] >= r["sql"] >= r["sql_opportunities"]
                assert r["mqls"] >= r["opportunities"] >= r["closed_opportunities"] >= r["won"]
                assert r["opportunities"] >= r["sql_opportunities"]
                assert r["mqls"] >= r["rejected"]
                assert r["still_open"] <= r["mqls"] - r["sql"]
                assert r["mature_mqls"] >= r["mature_sql"]
            for name in COUNTS:
                assert sum(r[name] for r in rows) == total[0][name], (dims, name)
    finally:
        engine.close()


words = st.sampled_from(["cpc", "CPC ", "google", "email", "events", "Partner", "g2", "",
                         "banner", "organic", "direct", "linkedin", "x"]) | st.none()


@settings(max_examples=150, deadline=None)
@given(words, words, words)
def test_the_channel_table_means_the_same_in_python_and_in_sql(
        channel: str | None, medium: str | None, source: str | None) -> None:
    s = ReportSettings()
    sql = channel_sql(s, "$c", "$m", "$s")
    with duckdb.connect() as con:
        got = con.execute(f"SELECT {sql}", {"c": channel, "m": medium, "s": source}
                          ).fetchall()[0][0]
    assert got == channel_of(channel, medium, source, s)
