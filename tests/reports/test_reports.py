"""Every report on the hand-counted ledger of tests/reports/ledger.py, on SQLite and
PostgreSQL (the `store` fixture runs each test on both, with the same expected values)."""

from __future__ import annotations

from importlib.resources import files

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.analytics.definitions import Dimension, Report
from mql.batch.reports import ALL_TIME, Window
from mql.errors import ConfigError
from mql.identity.merge import IdentityRules
from mql.identity.normalize import email_key
from mql.service.reports import ReportResult, run_report
from mql.service.scores import explain_contact
from mql.store import tables as t
from mql.store.models import activate, save_version
from tests.reports.ledger import AS_OF, NOW, d, write_ledger


def _report(store: Engine, report: Report, by: Dimension | list[Dimension] | None = None,
            window: Window = ALL_TIME) -> ReportResult:
    write_ledger(store)
    return run_report(store, report, now=AS_OF, by=by, window=window)


def _by(result: ReportResult) -> dict[str, dict]:
    key = result.by[0]
    return {r[key]: r for r in result.rows}


def test_funnel_counts_each_month_cohort_to_date(store: Engine) -> None:
    rows = _by(_report(store, Report.FUNNEL))
    assert list(rows) == ["2025-01", "2025-02", "2025-03"]
    jan, feb, mar = rows["2025-01"], rows["2025-02"], rows["2025-03"]
    # January: ann (SAL, SQL in February, won o1) and bob (rejected: no_budget)
    assert [jan[k] for k in ("mqls", "sal", "rejected", "sql", "opportunities", "won",
                             "still_open")] == [2, 1, 1, 1, 1, 1, 0]
    # February: cat (left by decay; o3 opened after the 90-day window) and dan (SQL, o2)
    assert [feb[k] for k in ("mqls", "sal", "rejected", "sql", "opportunities", "won",
                             "still_open")] == [2, 1, 0, 1, 1, 0, 0]
    # March: bob again, accepted and still open
    assert [mar[k] for k in ("mqls", "sal", "sql", "still_open")] == [1, 1, 0, 1]


def test_conversion_is_counted_on_the_cohort_not_on_the_month_of_the_sql(store: Engine
                                                                         ) -> None:
    # ann qualified in January and became an SQL in February: February's SQLs divided by
    # February's MQLs would say 2/2 and January 0/2; the cohorts say 1/2 each
    rows = _by(_report(store, Report.FUNNEL))
    assert rows["2025-01"]["mql_to_sql"] == 0.5
    assert rows["2025-02"]["mql_to_sql"] == 0.5
    assert rows["2025-01"]["mql_to_sal"] == 0.5
    assert rows["2025-01"]["rejection_rate"] == 0.5


def test_a_cohort_is_maturing_until_the_window_has_passed(store: Engine) -> None:
    result = _report(store, Report.FUNNEL)
    rows = _by(result)
    # as of 2025-05-20 with 90 days: 2025-02-15 + 90 days = 05-16 (mature), 03-01 -> 05-30
    assert [rows[m]["status"] for m in rows] == ["mature", "mature", "maturing"]
    assert (rows["2025-03"]["mature_mqls"], rows["2025-03"]["mature_mql_to_sql"]) == (0, None)
    total = result.total
    assert total is not None
    assert (total["mqls"], total["mature_mqls"], total["mature_sql"]) == (5, 4, 2)
    assert total["mature_mql_to_sql"] == 0.5
    assert total["mql_to_sql"] == 0.4
    assert total["status"] == "maturing"
    # bob was recycled after his first MQL and qualified again: 1 of 5
    assert (total["recycled"], total["recycle_rate"]) == (1, 0.2)
    assert (total["requalified"], total["requalification_rate"]) == (1, 0.2)


def test_time_to_mql_runs_from_the_first_touch_of_the_person_merges_included(store: Engine
                                                                            ) -> None:
    rows = _by(_report(store, Report.FUNNEL))
    assert rows["2025-01"]["median_days_to_mql"] == 4.5  # ann 5 days, bob 4
    assert rows["2025-02"]["median_days_to_mql"] == 8.0  # cat 4, dan 12 (eve's touch 02-03)
    assert rows["2025-03"]["median_days_to_mql"] == 49.0  # bob: 01-11 -> 03-01


def test_pipeline_and_revenue_follow_the_stored_links(store: Engine) -> None:
    result = _report(store, Report.FUNNEL)
    rows = _by(result)
    assert (rows["2025-01"]["pipeline_sourced"], rows["2025-01"]["won_sourced"]) == (
        10_000.0, 10_000.0)
    assert (rows["2025-02"]["pipeline_influenced"], rows["2025-02"]["won_influenced"]) == (
        5_000.0, 0.0)
    assert rows["2025-01"]["sales_cycle_days"] == 40.0  # o1: 01-20 -> 03-01
    assert rows["2025-01"]["win_rate"] == 1.0
    assert rows["2025-02"]["win_rate"] is None  # o2 is still open
    assert rows["2025-02"]["sql_to_opportunity"] == 1.0


def test_funnel_by_channel_takes_the_first_touch_through_the_channel_table(store: Engine
                                                                           ) -> None:
    rows = _by(_report(store, Report.FUNNEL, Dimension.CHANNEL))
    assert {k: r["mqls"] for k, r in rows.items()} == {
        "email": 2, "events": 1, "other": 1, "paid_search": 1}


def test_funnel_by_segment_team_product_and_trigger(store: Engine) -> None:
    write_ledger(store)
    counts = {}
    for dim in (Dimension.SEGMENT, Dimension.TEAM, Dimension.OWNER, Dimension.PRODUCT_LINE,
                Dimension.TRIGGER, Dimension.REGION, Dimension.MODEL_VERSION):
        result = run_report(store, Report.FUNNEL, now=AS_OF, by=dim)
        counts[dim.value] = {r[dim.value]: r["mqls"] for r in result.rows}
    assert counts["segment"] == {"enterprise": 3, "small": 2}
    assert counts["region"] == {"NA": 3, "EMEA": 2}
    assert counts["team"] == {"emea": 2, "na_enterprise": 3}
    assert counts["owner"] == {"anna": 2, "dana": 3}  # cat's first assignment was anna's
    assert counts["product_line"] == {"(no opportunity)": 3, "analytics": 1, "platform": 1}
    # ann's demo request; bob's download before his first MQL (none before the second)
    assert counts["trigger"] == {"content": 1, "high_intent": 1, "other": 3}
    assert counts["model_version"] == {"1": 5}


def test_the_window_keeps_the_cohorts_that_qualified_in_it(store: Engine) -> None:
    result = _report(store, Report.FUNNEL, window=Window(d(2, 1), d(3, 1)))
    assert [r["month"] for r in result.rows] == ["2025-02"]
    assert result.total is not None and result.total["mqls"] == 2


def test_health_judges_each_segment_on_its_mature_mqls_in_words(store: Engine) -> None:
    result = _report(store, Report.HEALTH)
    rows = _by(result)
    enterprise = rows["enterprise"]  # ann (SQL) and bob's first MQL; bob's second maturing
    assert (enterprise["mqls"], enterprise["mature_mqls"], enterprise["mature_sql"]) == (3, 2, 1)
    assert enterprise["position"] == "too_strict"
    assert enterprise["verdict"].startswith("too strict: 50% of MQLs become SQLs, over 35%")
    assert enterprise["high_intent_share"] == pytest.approx(1 / 3)
    assert enterprise["high_intent_verdict"].startswith(
        "high-intent MQLs convert at 100%, over 40%-60%")
    assert enterprise["content_verdict"].startswith("content MQLs convert at 0%, under 5%-15%")


def test_a_team_sets_its_own_health_band_in_the_model(store: Engine) -> None:
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    text += ("\nreports:\n  health:\n    mql_to_sql: [0.4, 0.6]\n    too_strict: 0.7\n")
    with store.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "2", text, source="team.yaml", now=NOW),
                 now=NOW)
    rows = _by(_report(store, Report.HEALTH))
    assert rows["enterprise"]["position"] == "healthy"
    assert rows["enterprise"]["verdict"].startswith("healthy: 50% of MQLs become SQLs, within "
                                                    "40%-60%")


def test_sla_by_team_counts_attainment_breaches_reroutes_and_the_queue(store: Engine) -> None:
    rows = _by(_report(store, Report.SLA))
    na, emea = rows["na_enterprise"], rows["emea"]
    assert [na[k] for k in ("assigned", "touched", "met", "late", "open", "breaches",
                            "reroutes", "untouched_now")] == [3, 2, 1, 1, 1, 1, 0, 1]
    assert na["attainment"] == 0.5
    assert na["median_hours_to_touch"] == pytest.approx(15.25)  # 0.5 h and 30 h
    assert na["median_hours_untouched"] == pytest.approx(80 * 24)  # bob since 03-01
    # New York, 9-18 on weekdays: ann was touched before the day opened (0 h); bob, handed
    # over on Tuesday evening, on Thursday at 01:00, after Wednesday's 9 hours
    assert na["median_business_hours_to_touch"] == pytest.approx(4.5)
    # cat's second assignment, and dan's reassigned in place
    assert [emea[k] for k in ("assigned", "met", "escalated", "breaches", "reroutes")] == [
        3, 2, 1, 2, 2]
    assert emea["attainment"] == pytest.approx(2 / 3)
    assert emea["median_hours_to_touch"] == 3.0
    assert emea["median_business_hours_to_touch"] == 0.0  # Saturday; Thursday before 9


def test_cost_per_mql_sql_opportunity_and_won_by_month_and_channel(store: Engine) -> None:
    result = _report(store, Report.COST)
    rows = {(r["month"], r["channel"]): r for r in result.rows}
    search = rows[("2025-01", "paid_search")]
    assert [search[k] for k in ("spend", "mqls", "cost_per_mql", "cost_per_sql",
                                "cost_per_opportunity", "cost_per_won")] == [
        3000.0, 1, 3000.0, 3000.0, 3000.0, 3000.0]
    assert (rows[("2025-01", "email")]["cost_per_mql"],
            rows[("2025-01", "email")]["cost_per_sql"]) == (500.0, None)
    social = rows[("2025-02", "paid_social")]  # spend without MQLs
    assert (social["spend"], social["mqls"], social["cost_per_mql"]) == (800.0, 0, None)
    total = result.total
    assert total is not None
    assert [total[k] for k in ("spend", "mqls", "cost_per_mql", "cost_per_sql",
                               "cost_per_won")] == [6300.0, 5, 1260.0, 3150.0, 6300.0]


def test_reasons_give_rejections_and_dispositions_with_their_share(store: Engine) -> None:
    result = _report(store, Report.REASONS)
    got = [(r["ledger"], r["status"], r["reason"], r["count"], r["share_of_mqls"])
           for r in result.rows]
    assert got == [("lifecycle", "rejected", "no_budget", 1, 0.2),
                   ("dispositions", "accepted", "(none)", 1, 0.2),
                   ("dispositions", "no_response", "no_response", 1, 0.2),
                   ("dispositions", "rejected", "no_budget", 1, 0.2)]


def test_review_pack_samples_each_outcome_with_its_story(store: Engine) -> None:
    write_ledger(store)
    result = run_report(store, Report.REVIEW, now=AS_OF, size=5)
    got = [(r["contact"], r["outcome"], r["after"], r["sales_reason"]) for r in result.rows]
    assert got == [("ann@acme.example", "won", "sal > sql", None),
                   ("dan@tiny.example", "opportunity", "sal > sql", None),
                   ("bob@acme.example", "rejected", "recycled", "no_budget"),
                   ("cat@tiny.example", "exited", "nurture", "no_response"),
                   ("bob@acme.example", "open", "sal", None)]
    assert result.rows[0]["qualified_at"] == d(1, 6)
    smaller = run_report(store, Report.REVIEW, now=AS_OF, size=2)
    assert [r["outcome"] for r in smaller.rows] == ["won", "opportunity"]


def test_the_sla_report_refuses_a_dimension_it_cannot_count(store: Engine) -> None:
    write_ledger(store)
    with pytest.raises(ConfigError, match="--by one of team, owner"):
        run_report(store, Report.SLA, now=AS_OF, by=Dimension.CHANNEL)


def test_funnel_by_month_and_channel_has_a_row_per_pair(store: Engine) -> None:
    result = _report(store, Report.FUNNEL, [Dimension.MONTH, Dimension.CHANNEL])
    assert result.by == ["month", "channel"]
    assert [(r["month"], r["channel"], r["mqls"], r["sql"]) for r in result.rows] == [
        ("2025-01", "email", 1, 0), ("2025-01", "paid_search", 1, 1),
        ("2025-02", "events", 1, 1), ("2025-02", "other", 1, 0), ("2025-03", "email", 1, 0)]
    assert result.total is not None
    assert (result.total["month"], result.total["channel"], result.total["mqls"]) == (
        "total", "total", 5)


def test_review_pack_explains_with_the_model_of_the_mql_moment(store: Engine) -> None:
    # the past does not change: a model activated after the MQLs (here one whose first
    # threshold every lead in the ledger passes) leaves last month's review as it was
    write_ledger(store)
    with store.begin() as conn:  # the ledger's contacts known by email, as ingest keeps them
        for cid, email in conn.execute(sa.select(t.contacts.c.id, t.contacts.c.email)
                                       .where(t.contacts.c.merged_into.is_(None))):
            conn.execute(t.identities.insert().values(
                kind="email", namespace="", value=email_key(email), raw=email,
                contact_id=cid, source="test", created_at=NOW))
    before = run_report(store, Report.REVIEW, now=AS_OF, size=5)
    text = files("mql.examples.models").joinpath("b2b-saas.yaml").read_text()
    looser = text.replace("- {fit: 50, intent: 30}", "- {fit: -999, total: -999}")
    assert looser != text
    with store.begin() as conn:
        activate(conn, save_version(conn, "looser", "2", looser, source="test",
                                    now=NOW), now=NOW)
    after = run_report(store, Report.REVIEW, now=AS_OF, size=5)
    assert [r["scored"] for r in after.rows] == [r["scored"] for r in before.rows]
    assert all(r["scored"] for r in before.rows)
    # the live model would explain them otherwise: the review shows the model of the MQL
    live = [explain_contact(store, r["contact"], at=r["qualified_at"], rules=IdentityRules()
                            ).decision.because() for r in after.rows]
    assert live != [r["scored"] for r in after.rows]
