"""The hand-off values of a model: a member is away on the first and last day of each
out-of-office range, as written in the model file."""

from __future__ import annotations

from datetime import date

from mql.model.handoff import Member


def test_a_member_is_away_from_the_first_to_the_last_day_included() -> None:
    li = Member("li", away=((date(2026, 12, 21), date(2027, 1, 4)),
                            (date(2027, 2, 1), date(2027, 2, 1))))
    assert [li.is_away(date(2026, 12, d)) for d in (20, 21, 31)] == [False, True, True]
    assert [li.is_away(date(2027, 1, d)) for d in (4, 5)] == [True, False]
    assert [li.is_away(date(2027, 2, d)) for d in (1, 2)] == [True, False]
    assert not Member("dana").is_away(date(2026, 12, 25))
