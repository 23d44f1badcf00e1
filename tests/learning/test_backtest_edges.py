"""The backtest's edges, worked out by hand from mql.learning.backtest's docstrings and
docs/learning.md ("Backtest"): the baseline day, the peak before an outcome, deciles of
uneven sizes and their ties, credit and revenue on the outcome's own day, no weeks, the
unrouted team and the people one model drops."""

from __future__ import annotations

from datetime import date

from mql.learning.backtest import Decile, Outcome, Person, Rate, Replay, compare, deciles, summarize

D0 = date(2026, 1, 1)  # the baseline day
JAN = {d: date(2026, 1, d) for d in range(1, 32)}


def test_the_peak_before_a_day_leaves_out_the_baseline() -> None:
    r = Replay("p", D0, (False,) * 4, (50.0, 10.0, 30.0, 20.0))
    assert r.peak_before(None) == 30.0  # Jan 2 to Jan 4
    assert r.peak_before(JAN[2]) == 10.0
    assert r.peak_before(JAN[3]) == 30.0
    # an outcome on the baseline day or before it: the baseline is all there is
    assert r.peak_before(D0) == 50.0
    assert r.peak_before(date(2025, 12, 30)) == 50.0
    assert Replay("q", D0, (), ()).peak_before(None) == 0.0


def test_entries_and_the_first_mql() -> None:
    r = Replay("p", D0, (False, True, False, True), (0.0,) * 4)
    assert r.entries() == [JAN[2], JAN[4]]
    assert r.first_mql() == JAN[2]
    # an MQL on the baseline day only: not an MQL of the period
    assert Replay("q", D0, (True, False, False), (0.0,) * 3).first_mql() is None
    assert Replay("q", D0, (True, False, False), (0.0,) * 3).entries() == []
    assert Replay("s", D0, (False, False, True), (0.0,) * 3).first_mql() == JAN[3]


def test_deciles_of_uneven_sizes() -> None:
    # 25 people scoring 1..25, the top 5 (21..25) and p01 converted: 6 of 25 (24%)
    people = [Replay(f"p{i:02d}", D0, (False, False), (0.0, float(i))) for i in range(1, 26)]
    outcomes = {f"p{i:02d}": Outcome(won=JAN[9]) for i in (1, 21, 22, 23, 24, 25)}
    found = deciles(people, outcomes, kind="won")
    # cut at d * 25 // 10: 0 2 5 7 10 12 15 17 20 22 25
    assert [d.contacts for d in found] == [2, 3, 2, 3, 2, 3, 2, 3, 2, 3]
    assert [d.converted for d in found] == [2, 3, 0, 0, 0, 0, 0, 0, 0, 1]
    assert found[0] == Decile(1, 2, 2, 1.0, 1.0 / 0.24)
    assert found[9] == Decile(10, 3, 1, 1 / 3, (1 / 3) / 0.24)
    assert found[2] == Decile(3, 2, 0, 0.0, 0.0)
    # the default outcome is the SQL: nobody has one, no lift
    assert deciles(people, outcomes)[0] == Decile(1, 2, 0, 0.0, None)


def test_deciles_without_people_and_ties_by_name() -> None:
    assert deciles([], {}) == tuple(Decile(d, 0, 0, None, None) for d in range(1, 11))
    # equal scores rank by name: of 10, "a" first; "j" converted, last
    people = [Replay(name, D0, (False, False), (0.0, 5.0)) for name in "jihgfedcba"]
    found = deciles(people, {"j": Outcome(sql=JAN[2])})
    assert [d.converted for d in found] == [0] * 9 + [1]
    assert found[9].lift == 10.0


def test_a_score_after_the_outcome_does_not_rank() -> None:
    # "late" scores 90 only after its SQL on Jan 2 (10 before it); "steady" 50 all along
    late = Replay("late", D0, (False,) * 3, (0.0, 10.0, 90.0))
    steady = Replay("steady", D0, (False,) * 3, (0.0, 50.0, 50.0))
    found = deciles([late, steady] + [Replay(f"z{i}", D0, (False,) * 3, (0.0, 0.0, 0.0))
                                      for i in range(8)], {"late": Outcome(sql=JAN[2])})
    assert [d.converted for d in found[:2]] == [0, 1]


def test_credit_and_revenue_on_the_outcomes_own_day() -> None:
    # a qualifies on Jan 3, its SQL and its win the same day; b wins on Jan 2 and
    # qualifies on Jan 3: no credit, no revenue; nobody has an opportunity
    a = Replay("a", D0, (False, False, True), (0.0, 0.0, 60.0), "emea")
    b = Replay("b", D0, (False, False, True), (0.0, 0.0, 60.0))
    outcomes = {"a": Outcome(sql=JAN[3], won=JAN[3], revenue=500.0),
                "b": Outcome(won=JAN[2], revenue=300.0)}
    s = summarize([a, b], outcomes, weeks=2.0)
    assert s.rates["sql"] == Rate(1, 0.5, 1, 1.0)
    assert s.rates["won"] == Rate(1, 0.5, 2, 0.5)
    assert s.rates["opportunity"] == Rate(0, 0.0, 0, None)
    assert s.revenue == 500.0
    assert (s.entries, s.mqls_per_week) == (2, 1.0)
    assert s.teams == {"emea": 0.5, "unrouted": 0.5}
    # no weeks: none a week
    none = summarize([a, b], outcomes, weeks=0.0)
    assert (none.mqls_per_week, none.teams) == (0.0, {"emea": 0.0, "unrouted": 0.0})
    # nobody qualifies: no rate
    never = Replay("a", D0, (False, False, False), (0.0,) * 3)
    assert summarize([never], outcomes, weeks=1.0).rates["sql"] == Rate(0, None, 1, 0.0)
    assert summarize([], {}, weeks=1.0).weekly == {}


def test_the_people_a_candidate_drops_carry_their_outcomes() -> None:
    a = Replay("a", D0, (False, True), (0.0, 60.0))
    b = Replay("b", D0, (False, True), (0.0, 60.0))
    not_a = Replay("a", D0, (False, False), (0.0, 10.0))
    not_b = Replay("b", D0, (False, False), (0.0, 10.0))
    outcomes = {"b": Outcome(sql=JAN[3], opportunity=JAN[4], won=JAN[5], revenue=900.0)}
    c = compare([not_b, not_a], [b, a], outcomes, weeks=1.0)
    assert c.newly_qualified == ()
    assert c.dropped == (Person("a", JAN[2], None, None, None, 0.0),
                         Person("b", JAN[2], JAN[3], JAN[4], JAN[5], 900.0))
    assert (c.candidate.mqls, c.baseline.mqls) == (0, 2)
    assert not c.identical
    assert Outcome(opportunity=JAN[4]).day("opportunity") == JAN[4]


def test_an_outcome_before_the_period_sees_the_baseline_only() -> None:
    # the baseline 5, the period's first day 10: an SQL on the baseline day ranks by 5
    assert Replay("q", D0, (False, False), (5.0, 10.0)).peak_before(D0) == 5.0


def test_the_weeks_of_the_period_without_the_baseline_days() -> None:
    # Sunday 4 January 2026 is the baseline (ISO week 1): the period, 5 and 6 January, is
    # in week 2 only
    quiet = Replay("q", date(2026, 1, 4), (False,) * 3, (0.0,) * 3)
    assert summarize([quiet], {}, weeks=1.0).weekly == {"2026-W02": 0}
    # from Saturday 10 January: Sunday 11 (week 2) and Monday 12 (week 3)
    weekend = Replay("q", date(2026, 1, 10), (False,) * 3, (0.0,) * 3)
    assert summarize([weekend], {}, weeks=1.0).weekly == {"2026-W02": 0, "2026-W03": 0}
    # an entry in a week past the first contact's days counts from none
    short = Replay("a", D0, (False, False), (0.0, 0.0))  # 2 January, week 1
    late = Replay("b", D0, (False,) * 8 + (True,), (0.0,) * 9)  # an MQL on 9 January
    assert summarize([short, late], {}, weeks=1.0).weekly == {"2026-W01": 0, "2026-W02": 1}
