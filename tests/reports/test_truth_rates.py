"""The funnel on a simulated world reproduces the chances the world itself used, within
sampling error: acceptance, MQL->SQL and win rate against `truth/handoffs` and
`truth/deals` (written by `mql synth`) over the same cohort of MQL moves.

The demo's sellers act on each MQL by a fresh draw at the chances of the person's last
hand-off in the world (`mql.service.demo`), so an MQL a seller acted on is accepted with
that hand-off's `p_accept` (0 without one) and becomes an SQL with its `p_sql`. Each draw
is made before its outcome is known, so the count minus the sum of the chances is a
martingale: the 99.9% interval is the sum of p(1 - p), however often a person
requalifies. A pipeline MQL's chance to be won is that some opportunity it leads to was
won, from each deal's `p_win`; MQLs of one deal share its draw, so the variance counts
each deal once with its weight squared.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from mql.analytics.definitions import Dimension, Report
from mql.service.demo import run_demo
from mql.service.reports import run_report
from mql.service.store import init_workspace
from mql.service.synth import write_world
from mql.store import tables as t
from mql.store.db import connect
from mql.synthetic.params import WorldParameters

ACCOUNTS, MONTHS, SEED = 100, 6, 5
Z = 3.29  # two-sided 99.9%

pytestmark = pytest.mark.slow


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder: Path = tmp_path_factory.mktemp("rates")
    write_world(folder / "world", accounts=ACCOUNTS, months=MONTHS, seed=SEED)
    ws = init_workspace(folder / "ws", now=WorldParameters(ACCOUNTS, MONTHS).start)
    engine = connect(ws.database_url)
    report = run_demo(engine, accounts=ACCOUNTS, months=MONTHS, seed=SEED)
    with engine.connect() as conn:
        moves = conn.execute(
            sa.select(t.contacts.c.email, t.lifecycle_history.c.at)
            .select_from(t.lifecycle_history.join(t.contacts, t.contacts.c.id ==
                                                  t.lifecycle_history.c.contact_id))
            .where(t.lifecycle_history.c.to_stage == "mql")
            .order_by(t.lifecycle_history.c.at)).all()
    funnel = run_report(engine, Report.FUNNEL, now=report.end, by=Dimension.TOTAL)
    engine.dispose()

    def read(name: str) -> list[dict[str, str]]:
        with (folder / "world" / f"{name}.csv").open(newline="") as f:
            return list(csv.DictReader(f))

    return moves, funnel.total, read, report.acted


def _interval(draws: dict[object, tuple[int, float]]) -> tuple[float, float]:
    """(expected count, standard deviation) of a sum of weighted Bernoulli draws."""
    mean = sum(n * p for n, p in draws.values())
    var = sum(n * n * p * (1 - p) for n, p in draws.values())
    return mean, math.sqrt(var)


def test_the_truth_has_one_chance_per_disposition_and_per_deal(world) -> None:  # type: ignore[no-untyped-def]
    _, _, read, _ = world
    chances, dispositions = read("truth/handoffs"), read("dispositions")
    assert [(c["email"], c["handed_at"]) for c in chances] == [
        (d["email"], d["handed_at"]) for d in dispositions]
    for c, d in zip(chances, dispositions, strict=True):
        assert 0.0 <= float(c["p_sql"]) <= float(c["p_accept"]) <= 1.0
        if d["reason"] in ("duplicate", "student", "competitor"):
            assert float(c["p_accept"]) == 0.0  # sales never accept these
    deals = read("truth/deals")
    assert [d["opportunity_id"] for d in deals] == [
        o["opportunity_id"] for o in read("opportunities")]
    for d in deals:
        if d["status"] == "open":
            assert d["p_win"] == ""
        else:  # 0.2 + 0.4 fit at a decision, 0 without one
            assert float(d["p_win"]) in (0.0, pytest.approx(0.2 + 0.4 * float(d["fit"])))


def test_acceptance_and_mql_to_sql_are_the_worlds_chances(world) -> None:  # type: ignore[no-untyped-def]
    moves, total, read, acted = world
    fate = {c["email"]: c for c in read("truth/handoffs")}  # the demo's: the last hand-off
    assert total["mqls"] == len(moves) >= len(acted) > 80  # enough draws for the interval
    for column, chance in (("sal", "p_accept"), ("sql", "p_sql")):
        draws = {k: (1, float(fate[e][chance]) if e in fate else 0.0)
                 for k, e in enumerate(acted)}
        mean, sd = _interval(draws)
        assert mean > 10, column  # enough to test
        assert abs(total[column] - mean) <= Z * sd, (column, total[column], mean, sd)


def test_win_rate_is_the_worlds_chance_of_winning(world) -> None:  # type: ignore[no-untyped-def]
    moves, total, read, _ = world
    deals = {d["opportunity_id"]: d for d in read("truth/deals")}
    opened = [(o["primary_contact"], _time(o["created_at"]), o["opportunity_id"])
              for o in read("opportunities") if o["primary_contact"]]
    # each pipeline MQL's deals: its contact's opportunities opened within 90 days
    groups: dict[frozenset[str], int] = defaultdict(int)
    for email, at in moves:
        linked = frozenset(i for who, created, i in opened
                           if who == email and at <= created <= at + timedelta(days=90))
        if linked:
            groups[linked] += 1
    draws: dict[object, tuple[int, float]] = {}
    closed = fixed_won = 0
    for linked, n in groups.items():
        statuses = [deals[i]["status"] for i in linked]
        if "open" not in statuses:  # every deal closed: won with 1 - prod(1 - p_win)
            lose = math.prod(1 - float(deals[i]["p_win"]) for i in linked)
            draws[linked] = (n, 1 - lose)
            closed += n
        elif "won" in statuses:  # still open elsewhere, but one won: counted as closed
            fixed_won += n
            closed += n
    assert total["closed_opportunities"] == closed > 0
    mean, sd = _interval(draws)
    assert abs(total["won"] - fixed_won - mean) <= Z * sd + 1e-9, (total["won"], mean, sd)
