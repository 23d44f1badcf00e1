"""Property: loading the same opportunity updates in any order (and any of them twice)
gives the same final state, the same history and the same contact roles."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import timedelta
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from mql.ingest.outcomes import OpportunityRow, status_of
from mql.service import outcomes
from mql.store.db import connect
from mql.store.migrate import upgrade
from mql.store.models import activate, save_version
from tests.outcomes.helpers import NOW, RULES, day, load_contacts, rows

STAGES = ("discovery", "demo", "proposal", "closed_won", "closed_lost")
_counter = itertools.count()


PEOPLE = ("ann@acme.example", "bob@acme.example")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = connect(f"sqlite:///{tmp_path_factory.mktemp('order') / 'store.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "1", files("mql").joinpath(
            "examples/models/b2b-saas.yaml").read_text(), source="m.yaml", now=NOW), now=NOW)
    load_contacts(engine, tmp_path_factory.mktemp("people"), *PEOPLE)
    yield engine
    engine.dispose()


@st.composite
def update(draw: st.DrawFn) -> OpportunityRow:
    stage = draw(st.sampled_from(STAGES))
    as_of = day(3, 1) + timedelta(days=draw(st.integers(0, 6)))
    history = draw(st.lists(st.tuples(st.sampled_from(STAGES), st.integers(0, 6)),
                            max_size=3))
    status = status_of(stage)
    roles = draw(st.lists(st.tuples(st.sampled_from(PEOPLE),
                                    st.sampled_from([None, "champion", "decision_maker"])),
                          max_size=2, unique_by=lambda r: r[0]))
    return OpportunityRow(
        "x", day(3, 1), as_of, status, stage=stage,
        primary_email=draw(st.sampled_from([None, *PEOPLE])), contacts=tuple(sorted(roles)),
        amount=draw(st.sampled_from([None, 1000.0, 2500.0])),
        closed_at=as_of if status != "open" else None,
        lost_reason=draw(st.sampled_from([None, "no_budget"])) if status == "lost" else None,
        stage_history=tuple(sorted({(s, day(3, 1) + timedelta(days=d)) for s, d in history},
                                   key=lambda p: (p[1], p[0]))))


def _final(engine: Engine, external: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    [opp] = [o for o in rows(engine, "opportunities") if o["external_id"] == external]
    state = {k: v for k, v in opp.items()
             if k not in ("id", "external_id", "source", "created_at", "updated_at")}
    history = sorted((h["at"], h["stage"], h["status"], h["amount"], h["closed_at"])
                     for h in rows(engine, "opportunity_history")
                     if h["opportunity_id"] == opp["id"])
    roles = sorted((c["contact_id"], c["role"], c["is_primary"])
                   for c in rows(engine, "opportunity_contacts")
                   if c["opportunity_id"] == opp["id"])
    return state, history + roles


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(updates=st.lists(update(), min_size=1, max_size=5), data=st.data())
def test_any_order_gives_the_same_state_and_history(engine: Engine,
                                                    updates: list[OpportunityRow],
                                                    data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(updates))
    repeated = shuffled + data.draw(st.lists(st.sampled_from(updates), max_size=2))
    n = next(_counter)
    finals = []
    for name, sequence, per_batch in (("a", updates, True), ("b", repeated, False)):
        external = f"{n}-{name}"
        batch = [dataclasses.replace(u, external_id=external) for u in sequence]
        with engine.begin() as conn:
            if per_batch:  # one transaction per update, as separate files would
                for u in batch:
                    outcomes.apply_opportunities(conn, [u], rules=RULES, now=NOW, source="f")
            else:  # all in one batch, as one file would
                outcomes.apply_opportunities(conn, batch, rules=RULES, now=NOW, source="f")
        finals.append(_final(engine, external))
    assert finals[0] == finals[1]
    # the state is the newest update's
    newest = max(u.as_of for u in updates)
    assert finals[0][0]["as_of"] == newest
