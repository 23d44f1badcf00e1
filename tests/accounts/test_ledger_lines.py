"""The account score's ledger line by line and its coverage in words, worked out by hand
(docs/accounts.md, "The account score" and "Coverage and the next action").

The model: a half-life of 10 days; a demo is 40 points, a page view 5, an unsubscribe
-10, an account's surge 30. Decision makers and champions weigh 1.0 (any other role 0),
repeat 0.5, contacts with no role 0.1. A contact is engaged from 0.625 points of its own,
active within 30 days. Scored 30 days (three half-lives) after T0: a demo then is worth
40 / 8 = 5, a page view 5 / 8 = 0.625, the surge 30 / 8 = 3.75.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mql.accounts.score import LedgerLine, score_accounts
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Account, Contact, Event

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)
AT = T0 + 30 * DAY
ACME = "acme.example"

MODEL = """\
name: ledger
decay: {half_life_days: 10}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: pages, event: page_view, points: 5}
    - {name: unsub, event: email_unsubscribe, points: -10}
    - {name: surge, level: account, event: intent_surge, points: 30}
mql:
  thresholds: {total: 45}
accounts:
  intent:
    weights: {decision_maker: 1.0, champion: 1.0}
  engaged: {intent: ENGAGED, within_days: 30}
COVER"""


def model(engaged: float = 0.625, cover: str = "") -> Model:
    text = MODEL.replace("ENGAGED", str(engaged)).replace("COVER", cover)
    return parse_model(text, source="ledger.yaml")


def person(email: str, title: str) -> Contact:
    return Contact(email, ACME, {"title": title})


PEOPLE = [person("b@acme.example", "CIO"), person("z@acme.example", "Director of IT"),
          person("c@acme.example", "CTO"), person("n@acme.example", ""),
          person("u@acme.example", "CFO")]
EVENTS = [Event("1", "demo_request", T0, contact="b@acme.example"),
          Event("2", "demo_request", T0, contact="z@acme.example"),
          Event("3", "page_view", T0, contact="c@acme.example"),
          Event("4", "page_view", T0, contact="n@acme.example"),
          Event("5", "email_unsubscribe", T0 + 20 * DAY, contact="u@acme.example"),
          Event("6", "intent_surge", T0, account=ACME)]


def test_every_line_of_the_ledger() -> None:
    s = score_accounts(model(), PEOPLE, [], EVENTS, at=AT)[ACME]
    assert s.ledger == (
        # the CIO and the director of IT both count 5: the larger counted first, a tie
        # by address (b before z, though the champion's role sorts first)
        LedgerLine("b@acme.example", "CIO", "decision_maker", "rule 7", 1.0, 1, 1.0, 5.0,
                   5.0, True, T0),
        LedgerLine("z@acme.example", "Director of IT", "champion", "rule 14", 1.0, 1, 1.0,
                   5.0, 5.0, True, T0),
        # the second decision maker counts half; 0.625 points is exactly the engaged line
        # and its touch exactly 30 days old: engaged
        LedgerLine("c@acme.example", "CTO", "decision_maker", "rule 7", 1.0, 2, 0.5,
                   0.625, 0.3125, True, T0),
        # a blank title is no title; no role weighs 0.1
        LedgerLine("n@acme.example", None, None, "none", 0.1, 1, 1.0, 0.625, 0.0625, True,
                   T0),
        # an unsubscribe only: 0 points (never below 0), not engaged; the economic buyer
        # weighs 0 (not given)
        LedgerLine("u@acme.example", "CFO", "economic_buyer", "rule 3", 0.0, 1, 1.0, 0.0,
                   0.0, False, T0 + 20 * DAY),
        # the account's own events, once, last
        LedgerLine(None, None, None, "account events", 1.0, 1, 1.0, 3.75, 3.75, False, T0),
    )
    assert s.intent == 5.0 + 5.0 + 0.3125 + 0.0625 + 3.75
    assert s.coverage.engaged_contacts == 4
    assert s.coverage.next_action == (
        "no economic buyer engaged (CFO is known but silent); no technical evaluator known;"
        " the decision maker is CIO; the champion is Director of IT")


def test_a_contact_with_no_points_is_never_engaged() -> None:
    # with an engaged line of 0, the CFO's unsubscribe (0 points, touched 10 days before)
    # still does not make the CFO engaged; the page views (0.625) do
    s = score_accounts(model(engaged=0.0), PEOPLE, [], EVENTS, at=AT)[ACME]
    engaged = {x.contact: x.engaged for x in s.ledger if x.contact is not None}
    assert engaged == {"b@acme.example": True, "z@acme.example": True,
                       "c@acme.example": True, "n@acme.example": True,
                       "u@acme.example": False}
    assert s.coverage.silent == ("economic_buyer",)


def test_every_role_covered_and_no_roles_to_cover() -> None:
    both = model(cover="  cover: [decision_maker, champion]\n")
    s = score_accounts(both, PEOPLE, [], EVENTS, at=AT)[ACME]
    assert s.coverage.complete
    assert s.coverage.next_action == ("every role covered: the decision maker is CIO; "
                                      "the champion is Director of IT")
    none = model(cover="  cover: []\n")
    s = score_accounts(none, PEOPLE, [], EVENTS, at=AT)[ACME]
    assert s.coverage.next_action == "no roles to cover"
    assert (s.coverage.engaged, s.coverage.silent, s.coverage.missing) == ((), (), ())


def test_the_score_names_its_account_tier_owner_and_line() -> None:
    # the same ledger (intent 14.125) under `intent.max: 10`, with a line of 12: the
    # intent is 10, the total 10 (no account fit) and below the line
    capped = parse_model(MODEL.replace("ENGAGED", "0.625").replace(
        "COVER", "  line: 12\n").replace("weights:", "max: 10\n    weights:"),
        source="ledger.yaml")
    record = Account(ACME, {"abm_tier": "1:few", "owner": "ana@us.example"})
    s = score_accounts(capped, PEOPLE, [record], EVENTS, at=AT)[ACME]
    assert (s.domain, s.tier, s.owner, s.line) == (ACME, "1:few", "ana@us.example", 12.0)
    assert (s.intent, s.total, s.above_line, s.below_at) == (10.0, 10.0, False, None)
    # blank tier and owner fields are none
    blank = Account(ACME, {"abm_tier": "", "owner": ""})
    s = score_accounts(capped, PEOPLE, [blank], EVENTS, at=AT)[ACME]
    assert (s.tier, s.owner) == (None, None)
