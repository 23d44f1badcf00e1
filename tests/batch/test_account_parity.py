"""Streaming and batch account scores agree to 1e-9: the `AccountBook` (one event at a
time) against DuckDB and Spark (`mql.batch.accounts`), on a synthetic world under the
example model with an `accounts:` section, at several times and with several roll-up
settings (no diminishing returns, strong diminishing returns, a cap)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mql.accounts.score import score_accounts
from mql.batch.accounts import account_scores
from mql.batch.engines import Inputs, connect
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Account, Contact, Event
from mql.synthetic import World, WorldParameters

EXAMPLE = Path(__file__).parents[2] / "examples" / "models" / "b2b-saas.yaml"
SECTION = """
accounts:
  line: 60
  fit:
    rules:
      - {{name: enterprise, when: {{field: account.employees, op: gte, value: 1000}},
         points: 30}}
      - {{name: target, when: {{field: account.abm_tier, op: in, value: ["1:1", "1:few"]}},
         points: 20}}
  intent: {{repeat: {repeat}, account_events: 2{cap}}}
"""


def model_with(repeat: float, cap: float | None = None) -> Model:
    extra = "" if cap is None else f", max: {cap}"
    return parse_model(EXAMPLE.read_text() + SECTION.format(repeat=repeat, cap=extra),
                       source="b2b-saas+accounts.yaml")


@pytest.fixture(scope="module")
def world() -> tuple[list[Contact], list[Account], list[Event], datetime]:
    params = WorldParameters(accounts=120, months=6)
    w = World(params, random.Random(16))
    slices = list(w.accounts())
    contacts = [c for s in slices for c in s.contacts]
    accounts = [s.account for s in slices]
    events = [e for s in slices for e in s.events if isinstance(e, Event)]
    return contacts, accounts, events, params.end


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check(engine: Any, model: Model, world: tuple[Any, ...], times: list[datetime]) -> int:
    contacts, accounts, events, _ = world
    compared = 0
    for at in times:
        want = score_accounts(model, contacts, accounts, events, at=at)
        got = {r["domain"]: r for r in account_scores(
            engine, model, contacts, accounts, Inputs([], [], events), at=at).to_pylist()}
        assert set(got) == set(want)
        for domain, s in want.items():
            row = got[domain]
            assert close(row["fit"], s.fit), (domain, at, row, s.fit)
            assert close(row["intent"], s.intent), (domain, at, row["intent"], s.intent)
            assert close(row["total"], s.total), (domain, at, row["total"], s.total)
            compared += 1
    return compared


@pytest.mark.parametrize(("repeat", "cap"), [(0.5, None), (1.0, None), (0.0, None),
                                             (0.5, 80.0)])
def test_duckdb_equals_streaming(world: tuple[Any, ...], repeat: float, cap: float | None
                                 ) -> None:
    end = world[3]
    engine = connect("duckdb")
    try:
        n = check(engine, model_with(repeat, cap), world,
                  [end - timedelta(days=90), end, end + timedelta(days=30)])
    finally:
        engine.close()
    assert n == 3 * 120
    # the world is not empty: some account has intent from several people
    model = model_with(repeat, cap)
    scores = score_accounts(model, world[0], world[1], world[2], at=end)
    assert sum(1 for s in scores.values() if s.intent > 0) > 20


def test_the_parts_are_what_the_ledger_says(world: tuple[Any, ...]) -> None:
    contacts, accounts, events, end = world
    model = model_with(0.5)
    for s in score_accounts(model, contacts, accounts, events, at=end).values():
        assert close(s.intent, sum(x.counted for x in s.ledger))
        assert close(s.total, s.fit + s.intent)


@pytest.mark.spark
def test_spark_equals_streaming(spark_session: Any, world: tuple[Any, ...]) -> None:
    engine = connect("spark", session=spark_session)
    assert check(engine, model_with(0.5), world, [world[3]]) == 120

