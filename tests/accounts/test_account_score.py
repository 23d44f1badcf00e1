"""Account scores on a hand fixture: the ledger adds up to the score, diminishing returns,
the account's own events counted once, coverage in words, and the moment the account
falls below its line, all worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.accounts.score import AccountBook, first_below, rolled, score_accounts
from mql.errors import ModelError
from mql.model.accounts import AccountScoring
from mql.model.parse import parse_model
from mql.records import Account, Contact, Event

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)

MODEL = """\
name: acct
decay: {half_life_days: 10}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: pages, event: page_view, points: 5, cap: 20}
    - {name: surge, level: account, event: intent_surge, points: 30}
mql:
  thresholds: {total: 45}
lists:
  tier_one: {values: [acme.example]}
accounts:
  line: 50
  tiers: {tier_one: "1:1"}
  engaged: {intent: 10, within_days: 30}
  fit:
    rules:
      - {name: big, when: {field: account.employees, op: gte, value: 1000}, points: 20}
  intent:
    repeat: 0.5
    weights: {decision_maker: 1.0, economic_buyer: 1.0, champion: 0.8,
              technical_evaluator: 0.6, user: 0.2}
"""


def people() -> list[Contact]:
    def c(email: str, title: str, **more: str) -> Contact:
        return Contact(f"{email}@acme.example", "acme.example", {"title": title, **more})
    return [c("cio", "CIO"), c("champ", "Director of IT"), c("dev", "Staff Engineer"),
            *[c(f"intern{i}", "Marketing Specialist", department="marketing")
              for i in range(10)],
            c("cfo", "CFO", committee_role="economic_buyer")]


def events() -> list[Event]:
    out = [Event("d1", "demo_request", T0, contact="champ@acme.example"),
           Event("d2", "demo_request", T0, contact="cio@acme.example"),
           Event("s1", "intent_surge", T0, account="acme.example")]
    out += [Event(f"p{i}", "page_view", T0, contact=f"intern{i}@acme.example")
            for i in range(10)]
    return out


def scored(at: datetime) -> object:
    model = parse_model(MODEL, source="acct.yaml")
    acme = Account("acme.example", {"employees": 1500, "owner": "rep@vendor.example"})
    return score_accounts(model, people(), [acme], events(), at=at)["acme.example"]


def test_the_ledger_adds_up_to_the_score_worked_by_hand() -> None:
    s = scored(T0)
    # fit: big (20). intent: CIO 40 (decision maker, weight 1) + director 40 (champion,
    # 0.8) = 72; ten interns at 5 points each (user, 0.2): 0.2 * 5 * (1 + 1/2 + ... +
    # 1/512) = 1.998046875; the surge once: 30; the silent CFO and engineer: 0
    assert s.fit == 20.0
    assert s.intent == pytest.approx(40 + 32 + 1.998046875 + 30, abs=1e-12)
    assert s.total == pytest.approx(s.fit + sum(x.counted for x in s.ledger), abs=1e-12)
    first = s.ledger[0]
    assert (first.contact, first.role, first.weight, first.points, first.counted) == (
        "cio@acme.example", "decision_maker", 1.0, 40.0, 40.0)
    interns = [x for x in s.ledger if x.role == "user"]
    assert [x.factor for x in interns[:3]] == [1.0, 0.5, 0.25]
    assert s.ledger[-1].contact is None and s.ledger[-1].counted == 30.0
    assert s.tier == "1:1" and s.owner == "rep@vendor.example"


def test_ten_interns_do_not_outweigh_one_cio() -> None:
    spec = AccountScoring(repeat=0.5)
    assert rolled(spec, [("user", 40.0)] * 10) < rolled(spec, [("decision_maker", 40.0)])


def test_coverage_names_what_a_seller_should_do() -> None:
    s = scored(T0)
    assert s.coverage.engaged == ("decision_maker", "champion")
    assert s.coverage.silent == ("economic_buyer", "technical_evaluator")
    assert s.coverage.missing == ()
    assert s.coverage.next_action == (
        "no economic buyer engaged (CFO is known but silent); no technical evaluator "
        "engaged (Staff Engineer is known but silent); the decision maker is CIO; "
        "the champion is Director of IT")
    assert s.engaged_within(30) == 2 and s.covers("decision_maker", "champion")
    # the ten interns have 5 points each: under the engaged line of 10
    assert s.coverage.engaged_contacts == 2


def test_engaged_within_counts_a_touch_exactly_that_many_days_ago() -> None:
    # a day on, the CIO (40 * 2**-0.1 = 37.3) and the director (37.3) are still over the
    # engaged line of 10; their touch at T0 is exactly one day old
    s = scored(T0 + DAY)
    assert s.engaged_within(1) == 2
    assert s.engaged_within(0.5) == 0


def test_the_account_falls_below_its_line_when_decay_says() -> None:
    # every part decays with a 10-day half-life from T0 (the interns' pages are under
    # their cap), so total(t) = 20 + 103.998046875 * 2**(-days/10) crosses 50 at
    # days = 10 * log2(103.998046875 / 30)
    import math
    s = scored(T0)
    days = 10 * math.log2((40 + 32 + 1.998046875 + 30) / 30)
    assert s.below_at is not None
    assert abs((s.below_at - T0).total_seconds() - days * 86400) < 1e-3
    later = scored(s.below_at)
    assert later.total < 50 <= scored(s.below_at - timedelta(microseconds=1)).total


def test_an_event_updates_the_account_without_a_rescan() -> None:
    model = parse_model(MODEL, source="acct.yaml")
    book = AccountBook(model)
    for c in people():
        book.add_contact(c)
    before = book.score("acme.example", T0).intent
    book.add(Event("d3", "demo_request", T0, contact="dev@acme.example"))
    after = book.score("acme.example", T0).intent
    # the engineer becomes the technical evaluator at 40 points, weight 0.6
    assert after - before == pytest.approx(24.0, abs=1e-12)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(["decision_maker", "champion", "user", None]),
                          st.floats(0, 1000)), max_size=12),
       st.floats(0, 1000))
def test_more_engagement_never_lowers_the_account(people_points: list[tuple[str | None, float]],
                                                   extra: float) -> None:
    spec = AccountScoring()
    base = rolled(spec, people_points)
    assert rolled(spec, [*people_points, ("user", extra)]) >= base - 1e-9
    assert rolled(spec, list(reversed(people_points))) == pytest.approx(base, rel=1e-12)


def test_first_below_is_exact_for_a_decay() -> None:
    def value(t: datetime) -> float:
        return 80 * 2 ** (-(t - T0).total_seconds() / (10 * 86400))
    assert first_below(value, 100, T0) == T0
    assert first_below(lambda t: 5.0, 1, T0) is None
    hit = first_below(value, 20, T0)
    assert hit is not None and abs((hit - (T0 + 20 * DAY)).total_seconds()) < 1e-5


@pytest.mark.parametrize(("section", "where", "message"), [
    ("accounts:\n  intent: {weights: {ceo: 1}}\n", "acct.yaml:2:22 accounts.intent.weights.ceo",
     'unknown role "ceo"'),
    ("accounts:\n  cover: [champion, buyer]\n", "acct.yaml:2:21 accounts.cover[1]",
     'unknown role "buyer"'),
    ("accounts:\n  roles:\n    rules:\n      - {role: champion, departments: [mktg]}\n",
     "acct.yaml:4:40 accounts.roles.rules[0].departments[0]", 'unknown department "mktg"'),
    ("accounts:\n  line: high\n", "acct.yaml:2:9 accounts.line", "expected a number"),
    ("accounts:\n  colour: red\n", "acct.yaml:2:3 accounts.colour", "unknown key"),
])
def test_mistakes_in_the_accounts_section_name_file_line_and_column(
        section: str, where: str, message: str) -> None:
    base = MODEL[:MODEL.index("accounts:")]
    with pytest.raises(ModelError) as err:
        parse_model(base + section, source="acct.yaml")
    # `where` counts lines from the `accounts:` line, which is line 15 of the file
    source, line, rest = where.split(":", 2)
    assert f"{source}:{int(line) + 14}:{rest}: {message}" in str(err.value)


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False),
       st.lists(st.tuples(st.sampled_from(["cio", "champ", "dev", "intern0", "cfo", None]),
                          st.sampled_from(["demo_request", "page_view", "intent_surge"]),
                          st.integers(0, 60 * 24 * 40)), max_size=25))
def test_the_account_score_does_not_depend_on_event_order(
        rng: object, drawn: list[tuple[str | None, str, int]]) -> None:
    # late and out-of-order events count exactly as on-time ones (decay is linear)
    model = parse_model(MODEL, source="acct.yaml")
    acme = Account("acme.example", {"employees": 1500})
    evs = [Event(f"x{i}", kind, T0 + timedelta(minutes=m),
                 contact=None if who is None or kind == "intent_surge"
                 else f"{who}@acme.example",
                 account="acme.example" if who is None or kind == "intent_surge" else None)
           for i, (who, kind, m) in enumerate(drawn)]
    at = T0 + 45 * DAY
    first = score_accounts(model, people(), [acme], evs, at=at)["acme.example"]
    shuffled = list(evs)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    again = score_accounts(model, people(), [acme], shuffled, at=at)["acme.example"]
    assert again.total == pytest.approx(first.total, rel=1e-12, abs=1e-12)
    assert again.coverage == first.coverage
    assert first.total == pytest.approx(first.fit + sum(x.counted for x in first.ledger),
                                        rel=1e-12, abs=1e-12)


def test_events_after_the_moment_asked_are_not_counted() -> None:
    # a day before the fixture's events the account has its fit only
    s = scored(T0 - DAY)
    assert (s.fit, s.intent, s.total) == (20.0, 0.0, 20.0)


def test_an_account_known_only_by_its_own_events_is_scored() -> None:
    # no record and no contact: a surge names beta.example; a model without an account
    # fit gives it a fit of 0 and the surge's 30 points
    model = parse_model(MODEL.replace(
        "  fit:\n    rules:\n      - {name: big, when: {field: account.employees, op: gte, "
        "value: 1000}, points: 20}\n", ""), source="acct.yaml")
    out = score_accounts(model, [], [], [Event("s", "intent_surge", T0,
                                               account="beta.example")], at=T0)
    assert list(out) == ["beta.example"]
    assert (out["beta.example"].fit, out["beta.example"].total) == (0.0, 30.0)
