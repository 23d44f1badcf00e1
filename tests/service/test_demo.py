"""The simulated months hold together: every MQL was routed, the funnel narrows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mql.service.demo import run_demo
from mql.service.store import init_workspace
from mql.store.db import connect


def test_a_simulated_quarter_qualifies_routes_and_converts(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path, now=datetime(2025, 1, 1, tzinfo=UTC))
    engine = connect(ws.database_url)
    report = run_demo(engine, accounts=60, months=3, seed=3)
    engine.dispose()
    mqls, sals, sqls = (report.funnel.get(s, 0) for s in ("mql", "sal", "sql"))
    assert mqls > 0
    assert mqls >= sals >= sqls
    entered = sum(m.get("mql", 0) for m in report.by_month.values())
    # every MQL entry was routed once, unless it was held for consent (no seller got it)
    held = report.held.holds if report.held is not None else 0
    assert sum(report.teams.values()) + held == entered
    assert report.sla_attainment is not None
    assert 0 <= report.sla_attainment <= 1


def test_the_demo_holds_hand_offs_for_consent_and_says_why(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path, now=datetime(2025, 1, 1, tzinfo=UTC))
    engine = connect(ws.database_url)
    report = run_demo(engine, accounts=60, months=3, seed=3)
    engine.dispose()
    held = report.held
    assert held is not None and held.leads >= 1
    # the world's consent is loaded: only opt-in jurisdictions hold (a US unsubscriber
    # may still be called), and each hold says which channel failed and why
    assert {where for where, _ in held.by_reason} <= {"gdpr", "uk", "casl"}
    for _, where, reason in held.examples:
        assert where in ("gdpr", "uk", "casl")
        assert reason.startswith("no hand-off channel is permitted: email: ")
        assert "; phone: " in reason
