"""The opt-in world with known channel effects (`mql synth --channel-effects`): sessions
come only through the channels an account is exposed to, those channels set the chance of
an opportunity, and the truth is written to truth/channel_effects."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from mql.service.synth import write_world
from mql.synthetic import World, WorldParameters
from mql.synthetic.channel_effects import CHANNEL_EFFECTS, split, true_shares
from mql.synthetic.journeys import journey

WEB = set(CHANNEL_EFFECTS)


def test_sessions_come_only_through_the_exposed_channels() -> None:
    world = World(WorldParameters(accounts=60, months=6, channel_effects=True),
                  random.Random(3))
    seen_unexposed = 0
    for piece in world.accounts():
        assert "direct" in piece.exposed
        channels = {e.properties.get("channel") for e in piece.clean_events} & WEB
        seen_unexposed += len(channels - set(piece.exposed))
    assert seen_unexposed == 0


def test_a_default_world_has_no_exposure_and_the_same_events() -> None:
    """The option off is the world as before: the same draws, so the same events."""
    a = World(WorldParameters(accounts=20, months=3), random.Random(5))
    b = World(WorldParameters(accounts=20, months=3, channel_effects=False), random.Random(5))
    for x, y in zip(a.accounts(), b.accounts(), strict=True):
        assert x.exposed == () and x.clean_events == y.clean_events
    on = World(WorldParameters(accounts=20, months=3, channel_effects=True), random.Random(5))
    off = World(WorldParameters(accounts=20, months=3), random.Random(5))
    assert [s.clean_events for s in on.accounts()] != [s.clean_events for s in off.accounts()]


@pytest.mark.parametrize(("accept", "opens"), [(1.0, True), (0.0, False)])
def test_the_accept_chance_decides_whether_evaluation_opens_a_deal(accept: float,
                                                                   opens: bool) -> None:
    entered = deals = 0
    for seed in range(200):
        j = journey(random.Random(seed), fit=0.9, status="prospect", weeks=104, accept=accept)
        entered += sum(1 for _, s in j.changes() if s == "evaluation")
        deals += sum(1 for d in j.deals if d.opened < 104)  # the world drops the rest
    assert entered > 20
    assert (deals == entered) if opens else (deals == 0)


def test_split_is_the_shapley_value_of_the_noisy_or_game() -> None:
    # direct 0.10, paid_search 0.20: v = 1 - 0.9 * 0.8 = 0.28
    # paid_search: (0.20 + (0.28 - 0.10)) / 2 = 0.19, of 0.28
    s = split(("direct", "paid_search"))
    assert s["paid_search"] == pytest.approx(0.19 / 0.28)
    assert s["direct"] == pytest.approx(0.09 / 0.28)
    assert split(("direct",)) == {"direct": 1.0}
    rows = {r.channel: r for r in true_shares([("direct",), ("direct", "paid_search")])}
    assert rows["direct"].true_share == pytest.approx((1 + 0.09 / 0.28) / 2, abs=1e-6)
    assert rows["partner"].true_share == 0.0


def test_synth_writes_the_truth_only_when_asked(tmp_path: Path) -> None:
    write_world(tmp_path / "off", accounts=30, months=6, seed=1)
    assert not (tmp_path / "off" / "truth" / "channel_effects.csv").exists()
    summary = write_world(tmp_path / "on", accounts=300, months=12, seed=1,
                          channel_effects=True)
    with open(tmp_path / "on" / "truth" / "channel_effects.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["channel"] for r in rows] == list(CHANNEL_EFFECTS)
    assert sum(float(r["true_share"]) for r in rows) == pytest.approx(1.0, abs=1e-5)
    opened = summary.rows["opportunities.csv"]
    assert sum(float(r["opportunities"]) for r in rows) == pytest.approx(opened, abs=1e-4)
    manifest = json.loads((tmp_path / "on" / "world.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["channel_effects"] is True
