"""`mql audit` on a small hand-made store: ten contacts over four months, eight closed
deals and five rejections, with every rate, PSI and lift worked out by hand; the same
numbers on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.errors import ConfigError
from mql.identity.merge import IdentityRules
from mql.learning.drift import Bounds, Lift
from mql.model.conditions import Compare
from mql.service import audit as service
from mql.service import ingest as ingest_service
from mql.service import lifecycle, outcomes, rule_suggestions
from mql.service.audit_schedule import AuditSchedule
from mql.service.model_diff import diff_models
from mql.service.scoring import load_model_file
from mql.store import handoff
from mql.store.db import connect
from mql.store.migrate import upgrade
from mql.store.models import activate, save_version
from mql.store.tables import contacts

RULES = IdentityRules()
MADE = datetime(2025, 2, 20, tzinfo=UTC)  # activated in February: judged from March
NOW = datetime(2025, 5, 1, tzinfo=UTC)
MODEL = """
name: tiny_audit
version: "1"
fit:
  rules:
    - {name: big, when: {field: account.employees, op: gte, value: 100}, points: 30}
intent:
  decay: {half_life_days: 30}
  rules:
    - {name: webinar, event: webinar_attended, points: 10}
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: [{fit: 30, intent: 10}]
"""
SMALL = (3, 5, 7, 9)  # accounts with 20 employees; the others have 150
# who attended a webinar in each month (January to April): 2, 2, 6 and 6 of the ten
WEBINARS = {1: (0, 1), 2: (2, 3), 3: (0, 1, 2, 3, 4, 5), 4: (0, 1, 2, 3, 4, 5)}
# deals: (id, primary contact, opened, won). Before the split (opened in February):
# c0 and c1 had attended in January (the rule fired) and won; c2 (first webinar on 5
# February, after the month's start) and c4 lost. Since (April): c3, c5 and c2 had
# attended; only c2 won; c6 never attended and won.
DEALS = [("A", 0, "2025-02-10", True), ("D", 1, "2025-02-20", True),
         ("B", 2, "2025-02-12", False), ("C", 4, "2025-02-15", False),
         ("E", 6, "2025-04-10", True), ("F", 3, "2025-04-11", False),
         ("G", 5, "2025-04-12", False), ("H", 2, "2025-04-13", True)]


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def shop(store_url: str, tmp_path: Path) -> Iterator[Engine]:
    engine = connect(store_url)
    upgrade(engine)
    with engine.begin() as conn:
        activate(conn, save_version(conn, "tiny_audit", "1", MODEL, source="tiny.yaml",
                                    now=MADE), now=MADE)
    _write(tmp_path, "model.yaml", MODEL.splitlines())
    accounts = _write(tmp_path, "accounts.csv", ["domain,employees"] + [
        f"a{i}.example,{20 if i in SMALL else 150}" for i in range(10)])
    contacts = _write(tmp_path, "contacts.csv", ["email,account"] + [
        f"c{i}@a{i}.example,a{i}.example" for i in range(10)])
    rows = ["event_id,type,timestamp,email,account,properties"]
    for month in range(1, 5):  # everyone is active every month (a demo request)
        rows += [f"d{month}-{i},demo_request,2025-{month:02d}-15T10:00:00Z,c{i}@a{i}.example,,{{}}"
                 for i in range(10)]
        day = 5 if month == 2 else 10
        rows += [f"w{month}-{i},webinar_attended,2025-{month:02d}-{day:02d}T16:00:00Z,"
                 f"c{i}@a{i}.example,,{{}}" for i in WEBINARS[month]]
    events = _write(tmp_path, "events.csv", rows)
    deals = _write(tmp_path, "opportunities.csv", [
        "opportunity_id,account,name,created_at,closed_at,status,stage,primary_contact"] + [
        f"opp-{key},a{c}.example,deal {key},{opened}T09:00:00Z,2025-04-28T09:00:00Z,"
        f"{'won' if won else 'lost'},{'closed_won' if won else 'closed_lost'},c{c}@a{c}.example"
        for key, c, opened, won in DEALS])
    # sales rejected five leads as a wrong fit: four at small companies, one at a big one
    rejected = _write(tmp_path, "dispositions.csv", ["email,disposed_at,status,reason"] + [
        f"c{i}@a{i}.example,2025-03-20T10:00:00Z,rejected,wrong_fit" for i in (3, 5, 7, 8, 9)])
    for path, kind in ((accounts, "accounts"), (contacts, "contacts"), (events, "events")):
        summary = ingest_service.ingest_file(engine, path, kind, rules=RULES, now=NOW)  # type: ignore[arg-type]
        assert summary.quarantined == 0
    for path, kind in ((deals, "opportunities"), (rejected, "dispositions")):
        summary = outcomes.ingest_outcomes(engine, path, kind, rules=RULES, now=NOW)  # type: ignore[arg-type]
        assert summary.quarantined == 0
    try:
        yield engine
    finally:
        engine.dispose()


def test_firing_rates_and_their_psi_by_month_by_hand(shop: Engine) -> None:
    result = service.audit(shop, now=NOW)
    assert result.months == tuple(date(2025, m, 1) for m in range(1, 5))
    # activated on 20 February: the months from March on are judged against Jan-Feb
    assert (result.since, result.since_from) == (date(2025, 3, 1), "activation")
    assert result.active == (10, 10, 10, 10)
    webinar = next(r for r in result.rules if r.rule == "webinar")
    assert webinar.rates == (0.2, 0.2, 0.6, 0.6)
    assert webinar.rate_before == pytest.approx(0.2)
    # 20% -> 60%: 0.4 ln(0.6/0.2) + (-0.4) ln(0.4/0.8) = 0.4 ln 6
    assert webinar.psis == pytest.approx((0.0, 0.0, 0.4 * math.log(6), 0.4 * math.log(6)))
    demo = next(r for r in result.rules if r.rule == "demo")
    assert demo.rates == (1.0, 1.0, 1.0, 1.0)
    big = next(r for r in result.rules if r.rule == "big")
    assert big.rates == (0.6, 0.6, 0.6, 0.6)  # a fit rule fires for its contacts


def test_lift_before_and_since_the_split_by_hand(shop: Engine) -> None:
    result = service.audit(shop, now=NOW, bounds=Bounds(min_outcomes=4))
    webinar = next(r for r in result.rules if r.rule == "webinar")
    # before: both fired contacts won, 2 of 4 won overall: (2/2) / (2/4) = 2.0
    assert webinar.before == Lift(fired=2, fired_won=2, total=4, won=2)
    assert webinar.before.value == pytest.approx(2.0)
    # since: 1 of the 3 fired contacts won, 2 of 4 overall: (1/3) / (2/4) = 0.67
    assert webinar.after == Lift(fired=3, fired_won=1, total=4, won=2)
    verdict = dict(zip((r.rule for r in result.rules), result.verdicts, strict=True))["webinar"]
    assert verdict.words == "webinar: lift fell from 2.0 to 0.7 since March 2025"
    assert result.drifted


def test_default_bounds_call_four_deals_too_few_to_judge(shop: Engine) -> None:
    result = service.audit(shop, now=NOW)
    words = {v.rule: v for v in result.verdicts}
    assert words["webinar"].status == "too_few"
    assert "too few closed deals" in words["webinar"].words


def test_since_overrides_the_activation_and_must_split_the_months(shop: Engine) -> None:
    result = service.audit(shop, now=NOW, since=date(2025, 2, 1))
    assert (result.since, result.since_from) == (date(2025, 2, 1), "--since")
    webinar = next(r for r in result.rules if r.rule == "webinar")
    assert webinar.rate_before == pytest.approx(0.2)  # January alone
    with pytest.raises(ConfigError, match="leaves no month"):
        service.audit(shop, now=NOW, since=date(2025, 1, 1))


def test_sales_reasons_suggest_the_rule_excluding_most_rejected_and_no_won(
        shop: Engine, tmp_path: Path) -> None:
    ideas = rule_suggestions.suggest(shop, min_rejections=5)
    assert len(ideas.items) == 1
    s = ideas.items[0]
    # employees < 85 (halfway from 20 to 150) excludes the four small companies of the
    # five rejected, and none of the four contacts on won deals (c0, c1, c2, c6: all 150)
    assert s.best is not None and s.rule is not None
    assert s.best.condition == Compare("account.employees", "lt", 85), s.best.words()
    assert (s.best.excluded, s.best.rejected, s.best.won_lost, s.best.won) == (4, 5, 0, 4)
    assert (s.rule.name, s.rule.points) == ("sales_wrong_fit", -30.0)
    assert s.words.endswith("(only 4 won contacts to weigh it against: backtest it)")
    out = tmp_path / "candidate.yaml"
    rule_suggestions.write_candidate(ideas, out)
    candidate = load_model_file(out)
    assert [r.name for r in candidate.fit.rules] == ["big", "sales_wrong_fit"]
    # a reviewer sees it as one added rule (`mql diff`)
    changes = diff_models(tmp_path / "model.yaml", out).changes
    assert len(changes) == 1 and "sales_wrong_fit" in changes[0], changes
    assert rule_suggestions.suggest(shop, min_rejections=6).items == ()


def test_an_empty_store_says_what_to_do(store_url: str) -> None:
    engine = connect(store_url)
    upgrade(engine)
    with engine.begin() as conn:
        activate(conn, save_version(conn, "tiny_audit", "1", MODEL, source="tiny.yaml",
                                    now=MADE), now=MADE)
    try:
        with pytest.raises(ConfigError, match="no events to audit"):
            service.audit(engine, now=NOW)
    finally:
        engine.dispose()


# -- the scheduled audit ------------------------------------------------------------------

DOCS = Path(__file__).parents[2] / "docs" / "webhooks.md"
SCHEDULE = AuditSchedule("month", months=4, bounds=Bounds(min_outcomes=4))


def _paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return set().union(*({f"{prefix}.{k}"} | _paths(v, f"{prefix}.{k}")
                             for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_paths(v, f"{prefix}[]") for v in value))
    return set()


def _drift_rows(engine: Engine) -> list[dict[str, Any]]:
    return [r for r in lifecycle.outbox(engine) if r["topic"] == "model.drift"]


def test_the_worker_raises_one_drift_webhook_per_period(shop: Engine) -> None:
    lifecycle.add_webhook(shop, "https://hooks.example/drift", secret="s3cret-s3cret",
                          topics=["model.drift"], now=NOW)
    first = lifecycle.run_once(shop, now=NOW, deliver=False, audit=SCHEDULE)
    assert first.drift_alerts == 1
    # a second pass (or a second worker) in the same month raises nothing more
    assert lifecycle.run_once(shop, now=NOW + timedelta(hours=1), deliver=False,
                              audit=SCHEDULE).drift_alerts == 0
    rows = _drift_rows(shop)
    assert len(rows) == 1
    data = rows[0]["payload"]["data"]
    assert data["period"] == "2025-05" and data["since"] == "2025-03-01"
    assert data["model"] == {"name": "tiny_audit", "version": "1", "version_id": 1}
    assert [(r["rule"], r["verdict"]) for r in data["rules"]] == [
        ("webinar", "webinar: lift fell from 2.0 to 0.7 since March 2025")]
    # the docs show exactly these fields
    text = DOCS.read_text()
    shown = json.loads(re.search(r"^### `model.drift`\n.*?^```json\n(.*?)^```", text,
                                 re.M | re.S).group(1))  # type: ignore[union-attr]
    assert _paths(shown["data"]) == _paths(data)
    # the next month is a new period
    assert lifecycle.run_once(shop, now=datetime(2025, 6, 2, tzinfo=UTC), deliver=False,
                              audit=SCHEDULE).drift_alerts == 1
    assert len(_drift_rows(shop)) == 2


def test_no_drift_no_webhook_and_off_means_off(shop: Engine) -> None:
    lifecycle.add_webhook(shop, "https://hooks.example/drift", secret="s3cret-s3cret",
                          topics=["*"], now=NOW)
    off = AuditSchedule("off", bounds=Bounds(min_outcomes=4))
    assert lifecycle.run_once(shop, now=NOW, deliver=False, audit=off).drift_alerts == 0
    # with bounds nothing passes, the audit runs (and is logged) but raises nothing
    calm = AuditSchedule("month", months=4, bounds=Bounds(psi=1e6, min_outcomes=4,
                                                          lift_fall=0.99, separates=1e6))
    assert lifecycle.run_once(shop, now=NOW, deliver=False, audit=calm).drift_alerts == 0
    # the period is audited: even bounds the store now passes raise nothing until next month
    assert lifecycle.run_once(shop, now=NOW, deliver=False, audit=SCHEDULE).drift_alerts == 0
    assert _drift_rows(shop) == []


def test_threshold_health_by_month_comes_from_the_health_report(shop: Engine) -> None:
    # two MQLs in January (mature by May: 90 days), one of them an SQL in February
    with shop.begin() as conn:
        ids = dict(conn.execute(sa.select(contacts.c.email, contacts.c.id)).all())
        for email in ("c0@a0.example", "c1@a1.example"):
            handoff.add_history(conn, ids[email], "captured", "mql",
                                datetime(2025, 1, 20, tzinfo=UTC), "threshold", "mql", 1, None)
        handoff.add_history(conn, ids["c0@a0.example"], "mql", "sql",
                            datetime(2025, 2, 3, tzinfo=UTC), "sales", "li.wei", 1, None)
    rows = {r["month"]: r for r in service.month_table(service.audit(shop, now=NOW))}
    assert (rows["2025-01"]["mature_mqls"], rows["2025-01"]["mql_to_sql"]) == (2, 0.5)
    assert rows["2025-01"]["health"]  # the band's verdict in words (50%: over the band)
    assert rows["2025-02"]["mature_mqls"] is None  # no MQL that month
