"""Replays of one account worked out by hand: every rising edge of an MQL, an MQA and a
PQL is a qualification (also a second one after the first has lapsed), the motions they
make, the account lifecycle, and the timing and path reports over replays.

The model: fit 10 for a US contact, a demo 40 points, a 10-day half-life and an MQL at
a total of 45; no `accounts:` section, so the shipped MQA (two contacts with 4 points
each within 30 days, fast track on the account's own scored intent) and PQL
(`mql.model.mqa.DEFAULT_MQA` / `DEFAULT_PQL`) decide."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from mql.accounts.journeys import Replay, Timing, paths, replay, timing
from mql.accounts.lifecycle import AccountHistory
from mql.accounts.mqa import Qualification, motions
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Account, Contact, Event

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)
ACME = "acme.example"

MODEL = """\
name: journeys
decay: {half_life_days: 10}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: surge, level: account, event: intent_surge, points: 30}
mql:
  thresholds: {total: 45}
"""


def model() -> Model:
    return parse_model(MODEL, source="journeys.yaml")


def person(name: str, country: str = "US") -> Contact:
    return Contact(f"{name}@{ACME}", ACME, {"country": country})


def demo(name: str, at: datetime) -> Event:
    return Event(f"demo-{name}-{at.isoformat()}", "demo_request", at,
                 contact=f"{name}@{ACME}")


def run(contacts: list[Contact], events: list[Event],
        opportunities: Sequence[tuple[datetime, str]] = ()) -> Replay:
    return replay(model(), Account(ACME, {}), contacts, events, opportunities=opportunities)


def kinds(r: Replay) -> list[tuple[str, str | None, datetime]]:
    return [(q.kind, q.contact, q.at) for q in r.qualifications]


def test_a_contact_qualifying_again_after_its_mql_lapsed_is_a_second_qualification() -> None:
    # T0: 10 + 40 = 50 >= 45, an MQL until 10 + 40 * 2**(-d/10) = 45, d = 1.93 days.
    # T0 + 1 day, still an MQL: 10 + 40 * 2**-0.1 + 40 = 87.32, no new edge; an MQL until
    # 77.32 * 2**(-d/10) = 35, d = 11.44 days after, so T0 + 12.44 days.
    # T0 + 30 days: 10 + 77.32 * 2**-2.9 + 40 = 60.35: an MQL again, a second rising edge
    r = run([person("ana")], [demo("ana", T0), demo("ana", T0 + DAY),
                              demo("ana", T0 + 30 * DAY)])
    assert kinds(r) == [("mql", f"ana@{ACME}", T0), ("mql", f"ana@{ACME}", T0 + 30 * DAY)]
    # the shipped MQA reopens after 90 quiet days: one motion, the second MQL attached
    (m,) = r.motions
    assert (m.handoff.at, m.recipient, m.last_at) == (T0, "account", T0 + 30 * DAY)
    assert [q.at for q in m.attached] == [T0 + 30 * DAY]


def test_an_mql_that_lapsed_more_than_reopen_days_ago_opens_a_second_motion() -> None:
    r = run([person("ana")], [demo("ana", T0), demo("ana", T0 + 100 * DAY)])
    assert kinds(r) == [("mql", f"ana@{ACME}", T0), ("mql", f"ana@{ACME}", T0 + 100 * DAY)]
    assert [(m.handoff.at, m.attached) for m in r.motions] == [
        (T0, ()), (T0 + 100 * DAY, ())]


def test_a_contact_under_the_line_never_qualifies() -> None:
    # no fit: a demo alone is 40 < 45; two demos a day apart 40 * 2**-0.1 + 40 = 77.32
    r = run([person("bo", "FR")], [demo("bo", T0)])
    assert kinds(r) == []
    r = run([person("bo", "FR")], [demo("bo", T0), demo("bo", T0 + DAY)])
    assert kinds(r) == [("mql", f"bo@{ACME}", T0 + DAY)]


def test_an_account_surge_is_an_mqa_and_a_second_surge_after_it_lapsed_another() -> None:
    # the shipped MQA fast-tracks on the account's own scored intent for 7 days: the
    # surge at T0 makes the account an MQA; at T0 + 40 days the fast track has lapsed
    # (nobody engaged), so the second surge is a second rising edge
    surge = [Event(f"s{i}", "intent_surge", T0 + i * 40 * DAY, account=ACME)
             for i in range(2)]
    r = run([person("ana", "FR")], surge)
    assert kinds(r) == [("mqa", None, T0), ("mqa", None, T0 + 40 * DAY)]


def test_the_mqa_of_two_engaged_contacts_and_the_account_lifecycle() -> None:
    # ana (FR, 40 < 45: never an MQL) and ben (US: an MQL at once) each demo: the second
    # demo makes two contacts engaged within 30 days, the account an MQA
    events = [demo("ana", T0), demo("ben", T0 + DAY)]
    opportunities = [(T0 + 5 * DAY, "won")]
    r = run([person("ana", "FR"), person("ben")], events, opportunities=opportunities)
    assert kinds(r) == [("mql", f"ben@{ACME}", T0 + DAY), ("mqa", None, T0 + DAY)]
    assert [(x.stage, x.at) for x in r.history.moves] == [
        ("aware", T0), ("engaged", T0), ("mqa", T0 + DAY), ("opportunity", T0 + 5 * DAY),
        ("customer", T0 + 5 * DAY)]
    # at the same instant the MQA comes first: the MQA is the hand-off
    (m,) = r.motions
    assert (m.handoff.kind, [q.kind for q in m.attached]) == ("mqa", ["mql"])
    assert (m.mql_at, m.mqa_at, m.pql_at, m.paths) == (T0 + DAY, T0 + DAY, None,
                                                        {"mql", "mqa"})
    assert r.first("mqa") == T0 + DAY and r.first("mql", before=T0) is None
    assert r.opportunities == ((T0 + 5 * DAY, "won"),)


def test_an_opportunity_before_an_event_moves_the_lifecycle_at_its_own_time() -> None:
    r = run([person("ana")], [demo("ana", T0 + 2 * DAY)],
            opportunities=[(T0 + DAY, "open"), (T0, "lost")])
    assert [(x.stage, x.at) for x in r.history.moves] == [("opportunity", T0)]
    assert r.opportunities == ((T0, "lost"), (T0 + DAY, "open"))
    # a won deal before the events: the account is a customer from then on (the touch
    # after it does not move it back)
    r = run([person("ana")], [demo("ana", T0 + 2 * DAY)], opportunities=[(T0 + DAY, "won")])
    assert [(x.stage, x.at, x.reason) for x in r.history.moves] == [
        ("opportunity", T0 + DAY, "opportunity created"),
        ("customer", T0 + DAY, "opportunity won")]
    # and one after the last event
    r = run([person("ana")], [demo("ana", T0)], opportunities=[(T0 + DAY, "won")])
    assert [(x.stage, x.reason) for x in r.history.moves][-2:] == [
        ("opportunity", "opportunity created"), ("customer", "opportunity won")]


def test_a_duplicate_event_and_one_of_a_stranger_qualify_no_one() -> None:
    again = Event("demo-ana", "demo_request", T0 + DAY, contact=f"ana@{ACME}")
    stranger = Event("x", "demo_request", T0, contact="zed@else.example")
    r = run([person("ana", "FR")], [stranger, Event("demo-ana", "demo_request", T0,
                                                     contact=f"ana@{ACME}"), again])
    # the second copy of demo-ana is not applied: 40 < 45, never an MQL
    assert kinds(r) == []
    assert [(x.stage, x.at) for x in r.history.moves] == [("aware", T0), ("engaged", T0)]
    # the replay goes on after a copy: a demo two days on makes 40 * 2**-0.2 + 40 = 74.8
    r = run([person("ana", "FR")], [Event("demo-ana", "demo_request", T0,
                                          contact=f"ana@{ACME}"), again,
                                    demo("ana", T0 + 2 * DAY)])
    assert kinds(r) == [("mql", f"ana@{ACME}", T0 + 2 * DAY)]


def test_a_pql_is_a_rising_edge_of_the_milestones() -> None:
    # the shipped PQL: three teammates invited within 14 days of signing up
    events = [Event("su", "signed_up", T0, contact=f"ana@{ACME}")]
    events += [Event(f"t{i}", "teammate_invited", T0 + (i + 1) * DAY, contact=f"ana@{ACME}")
               for i in range(3)]
    r = run([person("ana", "FR")], events)
    assert kinds(r) == [("pql", f"ana@{ACME}", T0 + 3 * DAY)]


def row(r: Replay) -> tuple[Replay, datetime]:
    return r, max(t for t, _ in r.opportunities)


def fake(*quals: tuple[str, datetime],
         opportunities: tuple[tuple[datetime, str], ...] = ()) -> Replay:
    qs = tuple(Qualification(k, ACME, None if k == "mqa" else f"ana@{ACME}", at)
               for k, at in quals)
    return Replay(ACME, None, qs, AccountHistory(ACME), tuple(motions(qs)), opportunities)


def test_timing_counts_the_won_accounts_and_the_median_leads_by_hand() -> None:
    created = T0 + 10 * DAY
    rows = [
        (fake(("mqa", T0), ("mql", T0 + 4 * DAY)), created),        # MQA first, 6 days over
        (fake(("mql", T0 + 2 * DAY), ("mqa", T0 + 6 * DAY)), created),  # MQL first
        (fake(("mqa", T0 + 8 * DAY), ("mql", T0 + 8 * DAY)), created),  # same event
        (fake(("mqa", T0 + 11 * DAY)), created),                  # after the opportunity
    ]
    t = timing(rows)
    # MQA leads 10, 4, 2 days (median 4); MQL leads 6, 8, 2 (median 6); MQA earlier than
    # the MQL by 4, -4, 0 (median 0)
    assert t == Timing(won=4, with_mqa=3, with_mql=3, mqa_first=1, same_time=1,
                       mqa_lead_days=4.0, mql_lead_days=6.0, mqa_over_mql_days=0.0)
    assert t.mqa_first_share == 0.25
    assert t.words() == (
        "4 won accounts: the MQA fired before the opportunity for 3, an MQL for 3; the "
        "MQA came first for 1, at the same event for 1 (median lead: MQA 4.0 days, first "
        "MQL 6.0 days; MQA earlier than the first MQL by 0.0 days)")


def test_timing_of_nothing_and_of_an_mqa_alone() -> None:
    empty = timing([])
    assert (empty.won, empty.mqa_first_share) == (0, 0.0)
    assert empty.words().endswith("(median lead: MQA n/a, first MQL n/a; MQA earlier "
                                  "than the first MQL by n/a)")
    alone = timing([(fake(("mqa", T0)), T0 + DAY)])
    assert (alone.mqa_first, alone.same_time, alone.mqa_lead_days,
            alone.mql_lead_days, alone.mqa_over_mql_days) == (1, 0, 1.0, None, None)


def test_paths_count_each_motion_once_with_its_opportunities_within_the_window() -> None:
    a = fake(("mqa", T0), ("mql", T0 + DAY),
             opportunities=((T0 + 91 * DAY, "won"), (T0 - DAY, "lost")))
    b = fake(("mql", T0), opportunities=((T0 + 5 * DAY, "open"),))
    c = fake(("pql", T0), opportunities=((T0 + 5 * DAY, "won"), (T0 + 6 * DAY, "open")))
    rows = {p.path: (p.motions, p.opportunities, p.won) for p in paths([a, b, c])}
    # a's motion ends at T0 + 1 day: the won deal at T0 + 91 days is inside the 90 days;
    # the lost one before the hand-off is not
    assert rows == {"mql+mqa": (1, 1, 1), "mql": (1, 1, 0), "pql": (1, 1, 1),
                    "any mql": (2, 2, 1), "any mqa": (1, 1, 1), "any pql": (1, 1, 1)}
    short = {p.path: (p.motions, p.opportunities, p.won)
             for p in paths([a, b], within_days=89.0)}
    assert short["mql+mqa"] == (1, 0, 0)
    # the exact paths come first, most motions first
    order = [p.path for p in paths([a, b, fake(("mql", T0))])]
    assert order == ["mql", "mql+mqa", "any mql", "any mqa", "any pql"]
    assert [(p.path, p.motions) for p in paths([])] == [("any mql", 0), ("any mqa", 0),
                                                        ("any pql", 0)]
    assert next(p for p in paths([b]) if p.path == "mql").conversion == 1.0
    assert next(p for p in paths([]) if p.path == "any pql").conversion is None
