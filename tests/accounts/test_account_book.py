"""The streaming account book and the account score's edges, worked out by hand: points
decayed under one count what is left, a contact that moves leaves its old account, every
account known by any record is listed, the model's own role table (and its conditions on
the account) decides the ledger's roles, and the moment below the line is exact at its
edges (a score exactly at its line, a window that closes, a fall far in the future)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mql.accounts.score import AccountBook, first_below, score_account, score_accounts
from mql.model.parse import parse_model
from mql.records import Account, Contact, Event

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)

MODEL = """\
name: book
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
accounts:
  line: 20
  intent:
    weights: {decision_maker: 1.0, champion: 0.8, technical_evaluator: 0.6, user: 0.2}
"""


def model(text: str = MODEL) -> object:
    return parse_model(text, source="book.yaml")


def contact(email: str, account: str, title: str, **more: str) -> Contact:
    return Contact(email, account, {"title": title, **more})


def test_points_decayed_under_one_count_what_is_left() -> None:
    # 50 days (five half-lives) after one page view (5 points) and one surge (30 points):
    # the marketing specialist (a user, weight 0.2) has 5 / 32 = 0.15625 points, the
    # account's own events 30 / 32 = 0.9375; nothing is rounded up to a point
    intern = contact("intern@acme.example", "acme.example", "Marketing Specialist",
                     department="marketing")
    events = [Event("p", "page_view", T0, contact=intern.email),
              Event("s", "intent_surge", T0, account="acme.example")]
    s = score_accounts(model(), [intern], [], events, at=T0 + 50 * DAY)["acme.example"]
    person = next(x for x in s.ledger if x.contact == intern.email)
    own = next(x for x in s.ledger if x.contact is None)
    assert person.role == "user"
    assert person.points == pytest.approx(0.15625, abs=1e-12)
    assert own.points == pytest.approx(0.9375, abs=1e-12)
    assert s.intent == pytest.approx(0.2 * 0.15625 + 0.9375, abs=1e-12)


def test_score_account_says_when_it_falls_below_unless_told_not_to() -> None:
    # the account's surge alone: 30 points at T0, halving every 10 days, against the line
    # of 20: below it 10 * log2(30 / 20) = 5.849625007 days later
    import math

    m = model()
    book = AccountBook(m)
    book.add(Event("s", "intent_surge", T0, account="acme.example"))
    state = book.scorer.account_states["acme.example"]
    direct = score_account(m, "acme.example", None, [], state, T0)
    days = 10 * math.log2(30 / 20)
    assert direct.below_at is not None
    assert abs((direct.below_at - T0).total_seconds() - days * 86400) < 1e-3
    assert book.score("acme.example", T0).below_at == direct.below_at
    assert book.score("acme.example", T0, crossing=False).below_at is None
    assert score_account(m, "acme.example", None, [], state, T0,
                         crossing=False).below_at is None


def test_a_contact_that_moves_leaves_its_old_account() -> None:
    book = AccountBook(model())
    cio = contact("pat@acme.example", "acme.example", "CIO")
    book.add_contact(cio)
    book.add(Event("d", "demo_request", T0, contact=cio.email))
    assert book.score("acme.example", T0).intent == 40.0
    # the same person now works at beta: acme has nobody left, beta has the CIO's 40
    book.add_contact(contact(cio.email, "beta.example", "CIO"))
    acme, beta = book.score("acme.example", T0), book.score("beta.example", T0)
    assert acme.ledger == () and acme.intent == 0.0
    assert [x.contact for x in beta.ledger] == [cio.email] and beta.intent == 40.0
    assert book.domains() == ["acme.example", "beta.example"]


def test_every_account_known_by_a_record_or_a_contact_is_listed() -> None:
    # a record with no contacts, contacts with no record, a surge with neither
    out = score_accounts(model(), [contact("a@beta.example", "beta.example", "CIO")],
                         [Account("acme.example", {"employees": 10})],
                         [Event("s", "intent_surge", T0, account="gamma.example")], at=T0)
    assert list(out) == ["acme.example", "beta.example", "gamma.example"]
    assert (out["acme.example"].total, out["beta.example"].total,
            out["gamma.example"].total) == (0.0, 0.0, 30.0)


ROLES = MODEL + """\
  roles:
    rules:
      - {role: decision_maker, when: {field: account.employees, op: lt, value: 50}}
      - {role: champion, seniorities: [individual_contributor]}
"""


def test_the_book_reads_the_models_role_table_and_the_account_record() -> None:
    # under the model's table a staff engineer of a 20-person company decides (rule 1 reads
    # the account's record), of a 5,000-person one champions (rule 2); the shipped table
    # would make both technical evaluators
    m = model(ROLES)
    book = AccountBook(m)
    book.add_account(Account("small.example", {"employees": 20}))
    book.add_account(Account("large.example", {"employees": 5000}))
    for domain in ("small.example", "large.example"):
        book.add_contact(contact(f"eng@{domain}", domain, "Staff Engineer"))
        book.add(Event(f"d-{domain}", "demo_request", T0, contact=f"eng@{domain}"))
    small, large = book.score("small.example", T0), book.score("large.example", T0)
    assert [(x.role, x.source, x.weight, x.counted) for x in small.ledger] == [
        ("decision_maker", "rule 1", 1.0, 40.0)]
    assert [(x.role, x.source, x.weight, x.counted) for x in large.ledger] == [
        ("champion", "rule 2", 0.8, 32.0)]


def test_a_score_exactly_at_its_line_is_not_below_it() -> None:
    # 80 points halving every 10 days against a line of 80: at the start it is at the line,
    # not under it; a microsecond later it is under
    def value(t: datetime) -> float:
        return 80 * 2 ** (-(t - T0).total_seconds() / (10 * 86400))
    assert first_below(value, 80, T0) == T0 + US


def test_the_moment_a_window_closes_is_found_exactly() -> None:
    # a windowed score: 50 points until the window closes five hours on, then nothing;
    # at the line of 50 until then, under it from the closing on
    def value(t: datetime) -> float:
        return 50.0 if t < T0 + timedelta(hours=5) else 0.0
    assert first_below(value, 50, T0) == T0 + timedelta(hours=5)
    # and one closing inside the first hour
    assert first_below(lambda t: 50.0 if t < T0 + timedelta(minutes=7) else 0.0,
                       50, T0) == T0 + timedelta(minutes=7)


def test_a_fall_centuries_on_is_still_found() -> None:
    # the search doubles from an hour up to 2**24 hours (about 1,914 years) before it says
    # "never": a window closing 1,800 years on is found to the microsecond
    closes = T0 + timedelta(days=1800 * 365)
    assert first_below(lambda t: 1.0 if t < closes else 0.0, 1, T0) == closes
