"""The sales queue and the contribution ledger as the pages get them (`service.pages`),
over a real store with the example model: who a seller sees, the order, the SLA clock in
the team's business hours, and a ledger that adds up to the score."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.records import Account, Contact, Event
from mql.service.ingest import ingest_records
from mql.service.keys import Scope
from mql.service.pages import contributions, lead_view, sales_queue
from mql.service.store import init_workspace
from mql.store.db import connect

# Monday 2 March 2026, 10:00 UTC = 05:00 in New York (EST): before na_enterprise's hours
# (09:00-18:00 America/New_York); emea works 09:00-17:00 Europe/London (= UTC in March)
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RULES = IdentityRules()


def _hand_raiser(engine: Engine, email: str, at: datetime, *, region: str = "NA",
                 demos: int = 1) -> None:
    """A VP at a large software account asking for a demo at `at`: an MQL with the
    hand_raiser SLA (first touch within one business hour)."""
    domain = email.split("@")[1]
    ingest_records(engine, "accounts", [Account(domain, {
        "employees": 3000, "industry": "software", "country": "US", "region": region})],
        rules=RULES, now=at, source="test")
    ingest_records(engine, "contacts", [Contact(email, domain, {
        "title": "VP Marketing", "department": "marketing", "country": "US"})],
        rules=RULES, now=at, source="test")
    ingest_records(engine, "events", [
        Event(uuid.uuid4().hex, "demo_request", at - timedelta(minutes=5 + k), email)
        for k in range(demos)], rules=RULES, now=at, source="test")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder: Path = tmp_path_factory.mktemp("queue")
    engine = connect(init_workspace(folder, now=T0).database_url)
    _hand_raiser(engine, "ann@one.example", T0)
    _hand_raiser(engine, "ben@two.example", T0 + timedelta(hours=5))
    _hand_raiser(engine, "eve@three.example", T0 + timedelta(hours=5), region="EMEA")
    try:
        yield engine
    finally:
        engine.dispose()


AT = T0 + timedelta(hours=5, minutes=30)  # 15:30 UTC = 10:30 in New York


def test_a_seller_sees_their_teams_leads_by_deadline_with_business_hours_left(
        store: Engine) -> None:
    # ann was routed at 05:00 New York: her hour starts at 09:00, due 10:00 (15:00 UTC),
    # half an hour ago; ben at 10:00 New York, due 11:00 (16:00 UTC), half an hour away
    queue = sales_queue(store, at=AT, scope=Scope("someone", "na_enterprise"))
    got = [(i.email, i.team, i.sla_due_at, i.hours_left) for i in queue.items]
    assert got == [
        ("ann@one.example", "na_enterprise", datetime(2026, 3, 2, 15, tzinfo=UTC), -0.5),
        ("ben@two.example", "na_enterprise", datetime(2026, 3, 2, 16, tzinfo=UTC), 0.5),
    ]
    assert queue.more == 0
    ann = queue.items[0]
    assert ann.stage == "mql" and ann.because.endswith("demo request 5 hours ago")
    assert ann.coverage is not None and ann.coverage.startswith("1 of 4 roles engaged")
    assert ann.consent == "no consent recorded"


def test_the_other_team_and_the_owner_see_theirs_and_an_admin_sees_every_lead(
        store: Engine) -> None:
    emea = sales_queue(store, at=AT, scope=Scope("someone", "emea"))
    assert [i.email for i in emea.items] == ["eve@three.example"]
    assert emea.items[0].hours_left == 0.5  # routed 15:00 London, due 16:00
    owner = sales_queue(store, at=AT, scope=Scope(emea.items[0].owner or "", None))
    assert [i.email for i in owner.items] == ["eve@three.example"]  # by owner, no team
    everyone = sales_queue(store, at=AT, scope=None)
    assert [i.email for i in everyone.items] == ["ann@one.example", "ben@two.example",
                                                 "eve@three.example"]
    first = sales_queue(store, at=AT, scope=None, size=1)
    assert [i.email for i in first.items] == ["ann@one.example"] and first.more == 2


def test_a_lead_pages_ledger_adds_up_to_each_score_and_its_total(store: Engine) -> None:
    view = lead_view(store, "ann@one.example", at=AT, rules=RULES, scope=None)
    decision = view.explanation.decision
    lines = view.contributions
    for name in ("fit", "intent"):
        assert sum(c.counted for c in lines if c.score == name) == pytest.approx(
            decision.scores[name], abs=1e-9)
    assert sum(c.counted for c in lines) == pytest.approx(decision.total, abs=1e-9)
    # midnight UTC of each of the last 30 days, then now
    assert [p.as_of for p in view.points][-1] == AT and len(view.points) == 31
    assert view.points[0].as_of == datetime(2026, 2, 1, tzinfo=UTC)


def test_a_capped_score_gets_a_cap_line_so_the_lines_still_add_up(store: Engine) -> None:
    # ann's intent lines add up to her intent (one demo request, 40 points decayed for
    # five and a half hours); a score maximum 10 below would cut it: the ledger then shows
    # a cap line of -10, so the column still sums to the score shown
    x = lead_view(store, "ann@one.example", at=AT, rules=RULES, scope=None).explanation
    intent_now = x.decision.scores["intent"]
    assert 39 < intent_now < 40
    capped = dataclasses.replace(x, decision=dataclasses.replace(
        x.decision, scores={**x.decision.scores, "intent": intent_now - 10}))
    intent = [c for c in contributions(capped) if c.score == "intent"]
    [cap] = [c for c in intent if c.kind == "cap"]
    assert cap.counted == pytest.approx(-10, abs=1e-9)
    assert sum(c.counted for c in intent) == pytest.approx(intent_now - 10, abs=1e-9)
    assert not [c for c in contributions(x) if c.kind == "cap"]


def test_a_seller_cannot_open_another_teams_lead(store: Engine) -> None:
    from mql.errors import Forbidden
    with pytest.raises(Forbidden, match="owned by"):
        lead_view(store, "eve@three.example", at=AT, rules=RULES,
                  scope=Scope("someone", "na_enterprise"))


MQA_SECTION = """
accounts:
  mqa:
    reopen_days: 60
    default:
      score: 30
      engaged: {contacts: 1, within_days: 14}
      route: owner
      sla_hours: 24
"""


def test_an_account_handed_off_as_an_mqa_waits_in_its_owners_queue(
        tmp_path: Path) -> None:
    from importlib.resources import files

    from mql.service.pages import mqa_queue
    from mql.service.store import activate_model

    engine = connect(init_workspace(tmp_path, now=T0).database_url)
    try:
        model = tmp_path / "mqa.yaml"  # the example model with an MQA line of 30
        model.write_text(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
                         + MQA_SECTION)
        activate_model(engine, model, now=T0)
        ingest_records(engine, "accounts", [Account("one.example", {
            "employees": 3000, "industry": "software", "country": "US", "region": "NA",
            "owner": "dana.ross"})], rules=RULES, now=T0, source="test")
        _hand_raiser(engine, "ann@one.example", T0)  # account score about 40, one engaged
        hour = T0 + timedelta(hours=1)
        [item] = mqa_queue(engine, at=hour, scope=None)
        assert (item.domain, item.route, item.at, item.mqls) == (
            "one.example", "dana.ross", T0, ["ann@one.example"])
        assert item.due == T0 + timedelta(hours=24)  # sla_hours: 24, clock hours
        assert item.reason.startswith("account score") and "(line 30)" in item.reason
        assert [i.domain for i in mqa_queue(engine, at=hour, scope=Scope("dana.ross", None))
                ] == ["one.example"]
        assert mqa_queue(engine, at=hour, scope=Scope("kai", "emea")) == []
        # after reopen_days the motion is closed: no longer waiting
        assert mqa_queue(engine, at=T0 + timedelta(days=61), scope=None) == []
    finally:
        engine.dispose()
