"""The backtest's comparison, worked out by hand on three people."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mql.learning.backtest import Outcome, Replay, compare, deciles, summarize

D0 = date(2026, 1, 1)  # the day before the period: a baseline, never an entry
# A qualifies on Jan 2 and becomes an SQL on Jan 3: credited
A = Replay("a", D0, (False, True, True, False), (0.0, 60.0, 70.0, 20.0), "emea")
# B becomes an SQL on Jan 2 and qualifies only on Jan 4: not to the model's credit
B = Replay("b", D0, (False, False, False, True), (0.0, 10.0, 20.0, 80.0), "emea")
# C was an MQL already before the period: qualified, but no new entry
C = Replay("c", D0, (True, True, False, False), (90.0, 90.0, 10.0, 10.0), None)
OUTCOMES = {"a": Outcome(sql=date(2026, 1, 3), opportunity=date(2026, 1, 3),
                         won=date(2026, 1, 4), revenue=1000.0),
            "b": Outcome(sql=date(2026, 1, 2))}


def test_volume_precision_recall_and_revenue_at_the_mql_line() -> None:
    s = summarize([A, B, C], OUTCOMES, weeks=0.5)
    assert (s.contacts, s.mqls, s.entries, s.mqls_per_week) == (3, 3, 2, 4.0)
    assert s.weekly == {"2026-W01": 2}  # Jan 2 and Jan 4 2026 are in ISO week 1
    # a week without a new MQL is listed with none
    longer = [Replay("d", D0, (False,) * 10, (0.0,) * 10), A]
    assert summarize(longer, {}, weeks=1.0).weekly == {"2026-W01": 1, "2026-W02": 0}
    sql = s.rates["sql"]
    assert (sql.credited, sql.positives, sql.rate, sql.recall) == (1, 2, 1 / 3, 0.5)
    won = s.rates["won"]
    assert (won.credited, won.positives, won.recall) == (1, 1, 1.0)
    assert s.revenue == 1000.0
    assert s.teams == {"emea": 4.0}  # two entries in half a week


def test_lift_per_decile_ranks_by_the_best_score_before_the_outcome() -> None:
    people = [Replay(f"p{i}", D0, (False, False), (0.0, float(i))) for i in range(10)]
    outcomes = {"p9": Outcome(sql=date(2026, 1, 2)),
                "p8": Outcome(sql=date(2026, 1, 2))}
    found = deciles(people, outcomes)
    # one person a decile, best first: the top two converted; overall rate 2/10
    assert [d.contacts for d in found] == [1] * 10
    assert [d.rate for d in found[:3]] == [1.0, 1.0, 0.0]
    assert found[0].lift == 5.0


def test_a_model_against_itself_differs_in_nothing() -> None:
    c = compare([A, B, C], [A, B, C], OUTCOMES, weeks=1.0)
    assert c.identical
    assert c.candidate == c.baseline


def test_people_who_newly_qualify_or_drop_out_carry_their_outcomes() -> None:
    never_b = Replay("b", D0, (False, False, False, False), B.score)
    c = compare([A, B, C], [A, never_b, C], OUTCOMES, weeks=1.0)
    assert not c.identical
    assert [(p.contact, p.first_mql, p.sql) for p in c.newly_qualified] == [
        ("b", date(2026, 1, 4), date(2026, 1, 2))]
    assert c.dropped == ()


days = st.integers(1, 6)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Replay], dict[str, Outcome]]:
    n = draw(st.integers(1, 8))
    length = draw(st.integers(2, 8))
    replays, outcomes = [], {}
    for i in range(n):
        mql = tuple(draw(st.lists(st.booleans(), min_size=length, max_size=length)))
        score = tuple(float(x) for x in draw(st.lists(st.integers(0, 100), min_size=length,
                                                      max_size=length)))
        replays.append(Replay(f"c{i}", D0, mql, score))
        if draw(st.booleans()):
            outcomes[f"c{i}"] = Outcome(sql=D0 + timedelta(days=draw(days)))
    return replays, outcomes


@settings(max_examples=60, deadline=None)
@given(histories())
def test_rates_are_shares_and_a_model_equals_itself(history) -> None:  # type: ignore[no-untyped-def]
    replays, outcomes = history
    c = compare(replays, replays, outcomes, weeks=1.0)
    assert c.identical
    s = c.candidate
    sql = s.rates["sql"]
    assert sql.credited <= min(s.mqls, sql.positives)
    assert all(r is None or 0.0 <= r <= 1.0 for r in (sql.rate, sql.recall))
    assert sum(s.weekly.values()) == s.entries
    assert sum(d.contacts for d in s.deciles) == s.contacts
