"""Over a whole synthetic world (the example model, which has no `accounts:` section: the
shipped MQA and PQL definitions, `mql.model.mqa.DEFAULT_MQA` / `DEFAULT_PQL`): no
buying motion is handed off twice, every qualification belongs to exactly one motion, the
account lifecycle only moves forward in time, and the report of how much earlier the MQA
speaks than the first MQL is computed from the won accounts."""

from __future__ import annotations

import random
from datetime import timedelta
from importlib.resources import files
from itertools import pairwise

import pytest

from mql.accounts.journeys import Replay, paths, replay, timing
from mql.accounts.lifecycle import ACCOUNT_STAGES
from mql.model.parse import parse_model
from mql.synthetic import World, WorldParameters


def world_model():  # type: ignore[no-untyped-def]
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    return parse_model(text, source="b2b-saas.yaml")


@pytest.fixture(scope="module")
def replays() -> list[tuple[Replay, object]]:
    model = world_model()
    world = World(WorldParameters(accounts=150, months=12), random.Random(20251))
    out = []
    for s in world.accounts():
        opps = [(o.created_at, o.status) for o in s.opportunities]
        out.append((replay(model, s.account, s.contacts, s.clean_events,
                           opportunities=opps), s))
    return out


def test_no_buying_motion_is_handed_off_twice(replays: list) -> None:
    quals = motions_total = 0
    for r, _ in replays:
        handed = [m.handoff for m in r.motions]
        attached = [q for m in r.motions for q in m.attached]
        # every qualification is in exactly one motion, as its hand-off or attached
        assert sorted(map(repr, handed + attached)) == sorted(map(repr, r.qualifications))
        assert len(set(map(repr, handed))) == len(handed)
        assert not set(map(repr, handed)) & set(map(repr, attached))
        # motions of one account do not overlap: the next starts after the last quiet
        for a, b in pairwise(r.motions):
            assert b.handoff.at - a.last_at >= timedelta(days=90)
        # an MQL while an MQA motion is open is attached, never handed off
        for m in r.motions:
            assert all(q.at >= m.handoff.at for q in m.attached)
            assert m.recipient == "account"
        quals += len(r.qualifications)
        motions_total += len(r.motions)
    # the world does qualify, and the rule removes hand-offs: fewer motions than signals
    assert motions_total > 50 and quals > motions_total * 1.5


def test_each_path_is_seen_and_both_mqa_and_mql_in_many_motions(replays: list) -> None:
    paths = [m.paths for r, _ in replays for m in r.motions]
    assert any(p == {"mql"} for p in paths)
    assert any(p == {"mqa"} for p in paths)
    assert any("pql" in p for p in paths)
    both = sum(1 for p in paths if {"mql", "mqa"} <= p)
    assert both > len(paths) / 4


def test_the_account_lifecycle_moves_forward_in_time(replays: list) -> None:
    for r, s in replays:
        moves = r.history.moves
        assert all(a.at <= b.at for a, b in pairwise(moves))
        assert all(ACCOUNT_STAGES.index(a.stage) < ACCOUNT_STAGES.index(b.stage)
                   for a, b in pairwise(moves))
        if any(o.status == "won" for o in s.opportunities):
            assert r.history.stage == "customer"
        for q in r.qualifications:
            if q.kind == "mqa":
                # an MQA moves the account to mqa, unless it is further on already
                assert (ACCOUNT_STAGES.index(r.history.stage_at(q.at))
                        >= ACCOUNT_STAGES.index("mqa"))


def test_the_report_says_how_much_earlier_the_mqa_speaks(replays: list) -> None:
    rows = []
    for r, s in replays:
        won = sorted(o.created_at for o in s.opportunities if o.status == "won")
        if won:
            rows.append((r, won[0]))
    t = timing(rows)
    assert t.won == len(rows) > 0
    assert t.mqa_first <= t.with_mqa <= t.won and t.with_mql <= t.won
    assert t.mqa_lead_days is not None and t.mqa_lead_days > 0
    assert "won accounts: the MQA fired before the opportunity for" in t.words()


def test_each_path_has_its_conversion_and_every_motion_counts_once(replays: list) -> None:
    rows = {row.path: row for row in paths([r for r, _ in replays])}
    motions_total = sum(len(r.motions) for r, _ in replays)
    exact = [row for name, row in rows.items() if not name.startswith("any ")]
    assert sum(row.motions for row in exact) == motions_total
    for row in rows.values():
        assert 0 <= row.won <= row.opportunities <= row.motions
    # a motion the MQA took part in is counted in "any mqa" and in "any mql" when both
    both = sum(row.motions for name, row in rows.items() if "mql+mqa" in name)
    assert rows["any mqa"].motions >= both and rows["any mql"].motions >= both
    assert rows["any mql"].opportunities > 0


def test_most_won_accounts_reach_mqa_before_their_first_mql() -> None:
    """The issue's "done when": on the 1,200-account world (seed 20251) under the shipped
    MQA, most won accounts are MQAs before any of their contacts is an MQL, and the report
    says by how much. Measured: 22 of 29 (76%), a median 6.6 days earlier (the MQA of old,
    fast-tracking on any surge and only in 1:1/1:few, gave 16 of 29)."""
    model = world_model()
    world = World(WorldParameters(accounts=1200, months=12), random.Random(20251))
    rows = []
    for s in world.accounts():
        won = sorted(o.created_at for o in s.opportunities if o.status == "won")
        if won:
            opps = [(o.created_at, o.status) for o in s.opportunities]
            rows.append((replay(model, s.account, s.contacts, s.clean_events,
                                opportunities=opps), won[0]))
    t = timing(rows)
    assert t.won >= 25
    assert t.mqa_first_share >= 0.7
    assert t.mqa_over_mql_days is not None and t.mqa_over_mql_days > 0
    assert f"the MQA came first for {t.mqa_first}," in t.words()
