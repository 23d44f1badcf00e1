"""Journeys at their edges: the lookback window's two ends, aggregated paths, and what a
bad touch or journey is told (docs/attribution.md, "What is a journey" and "Comparing
with what you already run")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mql.attribution.journeys import Journey, Touch, from_paths, to_paths
from mql.attribution.rules import shares
from mql.model.attribution import AttributionSettings

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def test_the_lookback_window_holds_both_of_its_ends() -> None:
    # converted on T0 + 90 days with a 90-day window: a touch exactly 90 days before and
    # one at the conversion's moment both count; one a second earlier does not
    end = T0 + timedelta(days=90)
    j = Journey("j", (Touch("early", T0 - timedelta(seconds=1)), Touch("edge", T0),
                      Touch("now", end)), conversions=1, converted_at=end)
    assert j.within(timedelta(days=90)).channels == ("edge", "now")


def test_paths_are_named_by_their_row() -> None:
    js = from_paths([("a", 1, 0, 0.0), ("b > c", 0, 1, 0.0)])
    assert [j.key for j in js] == ["path 1", "path 2"]
    # what a user reads when a path cannot be used by time decay: its row
    with pytest.raises(ValueError, match=exact(
            "journey path 2: time decay needs the time of every touch")):
        shares("time_decay", js[1], AttributionSettings())


def test_journeys_of_one_path_add_up_and_empty_journeys_are_skipped() -> None:
    js = [Journey("none", ()),
          Journey("x", (Touch("a"), Touch("b")), conversions=1, nulls=2, value=100.0),
          Journey("y", (Touch("a"), Touch("b")), conversions=2, nulls=1, value=50.0),
          Journey("z", (Touch("c"),), nulls=3)]
    assert to_paths(js) == [("a > b", 3.0, 3.0, 150.0), ("c", 0.0, 3.0, 0.0)]


def test_a_touch_needs_a_channel_and_a_weight_of_at_least_zero() -> None:
    with pytest.raises(ValueError, match=exact("a touch needs a channel")):
        Touch("")
    with pytest.raises(ValueError, match=exact("touch weight must be >= 0, got -1.0")):
        Touch("a", weight=-1.0)
    # a weight of 0 (a role the model weighs 0) and one under 1 are allowed
    assert Touch("a", weight=0.0).weight == 0.0
    assert Touch("a", weight=0.5).weight == 0.5


def test_a_journey_is_told_what_is_wrong_with_its_counts() -> None:
    with pytest.raises(ValueError, match=exact(
            "journey k: conversions and nulls must be >= 0")):
        Journey("k", (Touch("a"),), conversions=-1)
    with pytest.raises(ValueError, match=exact("journey k: a value needs conversions")):
        Journey("k", (Touch("a"),), nulls=1, value=10.0)
