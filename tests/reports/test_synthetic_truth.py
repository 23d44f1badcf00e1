"""The reports on the demo's simulated months agree with what the synthetic world knows:
the spend it generated, the hidden segment of each account, and its opportunities."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from mql.analytics.definitions import Dimension, Report
from mql.service.demo import run_demo
from mql.service.reports import run_report
from mql.service.store import init_workspace
from mql.store import tables as t
from mql.store.db import connect
from mql.synthetic.params import WorldParameters
from mql.synthetic.world import World

ACCOUNTS, MONTHS, SEED = 60, 3, 3


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder: Path = tmp_path_factory.mktemp("truth")
    ws = init_workspace(folder, now=WorldParameters(ACCOUNTS, MONTHS).start)
    engine = connect(ws.database_url)
    report = run_demo(engine, accounts=ACCOUNTS, months=MONTHS, seed=SEED)
    world = World(WorldParameters(accounts=ACCOUNTS, months=MONTHS), random.Random(SEED))
    slices = list(world.accounts())
    yield engine, report, world, slices
    engine.dispose()


def test_spend_is_the_worlds_spend(demo) -> None:  # type: ignore[no-untyped-def]
    engine, report, world, _ = demo
    cost = run_report(engine, Report.COST, now=report.end)
    assert cost.total is not None
    assert cost.total["spend"] == pytest.approx(sum(c.spend for c in world.costs()))


def test_mqls_by_segment_follow_the_worlds_hidden_segment(demo) -> None:  # type: ignore[no-untyped-def]
    engine, report, _, slices = demo
    segment = {s.account.domain: s.truth.segment for s in slices}
    with engine.connect() as conn:
        domains = conn.execute(
            sa.select(t.accounts.c.domain)
            .select_from(t.lifecycle_history.join(t.contacts, t.contacts.c.id ==
                                                  t.lifecycle_history.c.contact_id)
                         .join(t.accounts, t.accounts.c.id == t.contacts.c.account_id))
            .where(t.lifecycle_history.c.to_stage == "mql")).scalars().all()
    expected = Counter(segment[d] for d in domains)
    funnel = run_report(engine, Report.FUNNEL, now=report.end, by=Dimension.SEGMENT)
    assert {r["segment"]: r["mqls"] for r in funnel.rows} == dict(expected)


def test_pipeline_counts_the_worlds_opportunities_opened_after_an_mql(demo) -> None:  # type: ignore[no-untyped-def]
    engine, report, _, slices = demo
    deals = [o for s in slices for o in s.opportunities if o.primary_contact]
    with engine.connect() as conn:
        moves = conn.execute(
            sa.select(t.contacts.c.email, t.lifecycle_history.c.at)
            .select_from(t.lifecycle_history.join(t.contacts, t.contacts.c.id ==
                                                  t.lifecycle_history.c.contact_id))
            .where(t.lifecycle_history.c.to_stage == "mql")
            .order_by(t.lifecycle_history.c.at)).all()
    # an MQL's episode ends at the contact's next MQL; its pipeline opens within 90 days
    by_person: dict[str, list] = {}
    for email, at in moves:
        by_person.setdefault(email, []).append(at)
    expected = 0
    for email, times in by_person.items():
        for at in times:
            if any(o.primary_contact == email and at <= o.created_at <= at + timedelta(days=90)
                   for o in deals):
                expected += 1
    funnel = run_report(engine, Report.FUNNEL, now=report.end, by=Dimension.TOTAL)
    assert funnel.total is not None
    assert funnel.total["opportunities"] == expected
