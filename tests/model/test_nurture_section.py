"""The `nurture:` section of a model: tracks, priorities, lengths, exits, re-engagement;
every mistake named by file, line and column (mql.model.nurture)."""

from __future__ import annotations

import pytest

from mql.errors import ModelError
from mql.model.dump import dump_model
from mql.model.parse import parse_model
from tests.model.tiny import BASE

GOOD = BASE + """\
nurture:
  tracks:
    - name: later
      when: {field: lead.fit_grade, op: in, value: [A, B]}
      priority: 2
      length: 6 touches over 3w
      exits: [mql, completed, {no_engagement: 14d}]
    - name: first
      when: {field: lead.stage, op: eq, value: recycled}
      priority: 1
      length: 5 touches over 28d
  reengage:
    intent_below: 5
    for: 30d
    length: 3 touches over 2w
"""


def test_tracks_are_ordered_by_priority_and_read_lengths_and_exits() -> None:
    spec = parse_model(GOOD).nurture
    assert spec is not None
    assert [t.name for t in spec.tracks] == ["first", "later"]
    later = spec.tracks[1]
    assert (later.length.touches, later.length.days) == (6, 21.0)
    assert later.no_engagement_days == 14.0
    # unsubscribed is always an exit: consent is never optional
    assert later.exits == {"mql", "completed", "no_engagement", "unsubscribed"}
    assert spec.tracks[0].exits == {"mql", "pql", "mqa", "disqualified", "unsubscribed",
                                    "completed"}
    assert spec.reengage is not None and spec.reengage.track.name == "reengage"
    assert (spec.reengage.intent_below, spec.reengage.for_days) == (5.0, 30.0)


def test_the_section_round_trips_through_dump() -> None:
    model = parse_model(GOOD)
    assert parse_model(dump_model(model)) == model


@pytest.mark.parametrize(("change", "message"), [
    ("length: 6 touches over 3w", None),
    ("length: six touches", 'model.yaml:24:15 nurture.tracks[1].length: expected "N touches'),
    ("length: 5 touches over 28d\n      channel: fax",
     'model.yaml:25:16 nurture.tracks[1].channel: unknown channel "fax"'),
    ("length: 5 touches over 28d\n      exits: [bored]",
     "model.yaml:25:15 nurture.tracks[1].exits[0]: unknown exit 'bored'"),
])
def test_mistakes_in_a_track_are_located(change: str, message: str | None) -> None:
    text = GOOD.replace("length: 5 touches over 28d", change)
    if message is None:
        parse_model(text)
        return
    with pytest.raises(ModelError) as caught:
        parse_model(text)
    assert message in str(caught.value)


def test_an_unknown_lead_field_and_a_bad_duration_are_located() -> None:
    text = GOOD.replace("lead.stage", "lead.mood").replace("for: 30d", "for: soon")
    with pytest.raises(ModelError) as caught:
        parse_model(text)
    text = str(caught.value)
    assert 'model.yaml:22:21 nurture.tracks[1].when.field: unknown lead field "mood"' in text
    assert "model.yaml:27:10 nurture.reengage.for: expected a duration such as 30d" in text
