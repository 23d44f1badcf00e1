"""MQA, the account lifecycle, PQL milestones and the one hand-off of a buying motion, on
hand fixtures worked out by hand (the account of tests/accounts/test_account_score.py:
total 20 + 103.998046875 at T0, CIO and Director of IT engaged, CFO and engineer
silent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.accounts.lifecycle import AccountHistory
from mql.accounts.mqa import FastSignals, Qualification, motions, qualify
from mql.accounts.pql import Milestones, is_pql, reached
from mql.accounts.score import score_accounts
from mql.errors import ModelError
from mql.model.mqa import DEFAULT_MQA, Milestone, PqlSpec
from mql.model.parse import parse_model
from mql.records import Account, Event

from .test_account_score import MODEL, T0, events, people

DAY = timedelta(days=1)

MQA = """\
  mqa:
    handoff: account
    reopen_days: 60
    default:
      score: 100
      engaged: {contacts: 2, within_days: 14}
      roles: [[economic_buyer, decision_maker], [technical_evaluator, champion]]
      route: owner
      sla_hours: 24
    tiers:
      "1:1":
        score: 120
        roles: [[economic_buyer]]
        fast_track: [demo_request]
        fast_track_days: 3
        route: team:abm
        sla_hours: 4
  pql:
    milestones:
      - {name: team, event: teammate_invited, count: 3, within_days: 14, after: signed_up}
"""


def model(extra: str = MQA, base: str = MODEL):  # type: ignore[no-untyped-def]
    return parse_model(base + extra, source="acct.yaml")


def score_at(m, at: datetime):  # type: ignore[no-untyped-def]
    acme = Account("acme.example", {"employees": 1500, "owner": "rep@vendor.example"})
    return score_accounts(m, people(), [acme], events(), at=at)["acme.example"]


def untiered() -> str:
    return MODEL.replace('  tiers: {tier_one: "1:1"}\n', "")


def test_the_mqa_section_is_read_per_tier() -> None:
    spec = model().accounts.mqa
    assert spec.handoff == "account" and spec.reopen_days == 60
    assert spec.default.roles == (("economic_buyer", "decision_maker"),
                                  ("technical_evaluator", "champion"))
    assert spec.rule_for("1:1").route == "team:abm" and spec.rule_for("1:1").sla_hours == 4
    assert spec.rule_for("1:many") is spec.default


@pytest.mark.parametrize(("bad", "where", "words"), [
    ("roles: [[economic_buyer, cfo]]", "accounts.mqa.default.roles[0][1]", 'unknown role "cfo"'),
    ("route: sales", "accounts.mqa.default.route", 'route must be "owner" or "team:<name>"'),
    ("fast_track: [demo_requestt]", "accounts.mqa.default.fast_track[0]",
     "unknown event or intent rule"),
])
def test_mistakes_in_the_mqa_section_name_file_line_and_column(bad: str, where: str,
                                                                words: str) -> None:
    text = f"  mqa:\n    default:\n      score: 10\n      {bad}\n"
    with pytest.raises(ModelError) as err:
        model(text)
    message = str(err.value)
    assert f"acct.yaml:{MODEL.count(chr(10)) + 4}:" in message
    assert where in message and words in message


def test_an_unknown_abm_tier_is_refused_with_its_line() -> None:
    with pytest.raises(ModelError) as err:
        model('  mqa:\n    tiers:\n      "1:2": {score: 10}\n')
    assert f"acct.yaml:{MODEL.count(chr(10)) + 3}:7" in str(err.value)
    assert 'unknown ABM tier "1:2"' in str(err.value)


def test_an_account_is_an_mqa_when_every_condition_holds() -> None:
    m = model(base=untiered())
    s = score_at(m, T0)
    d = qualify(m.accounts.mqa, s)
    # total 123.998 >= 100; CIO and Director of IT engaged (2 within 14 days); the
    # decision maker covers the first group, the champion the second
    assert d.mqa and d.tier is None
    assert d.met == ("account score 123.998 (line 100)",
                     "2 engaged contacts within 14 days (needs 2)",
                     "decision maker engaged", "champion engaged")
    assert d.route == "rep@vendor.example" and d.due == T0 + timedelta(hours=24)
    assert "no economic buyer engaged" in d.coverage


def test_an_account_stops_being_an_mqa_as_its_people_go_quiet() -> None:
    m = model(base=untiered())
    d = qualify(m.accounts.mqa, score_at(m, T0 + 15 * DAY))
    # 15 days on: nobody was active within 14 days, and the total decayed to
    # 20 + 103.998 * 2**-1.5 = 56.7689
    assert not d.mqa and d.due is None
    assert d.unmet == ("account score 56.7689 (line 100)",
                       "0 engaged contacts within 14 days (needs 2)",
                       "no economic buyer or decision maker engaged",
                       "no technical evaluator or champion engaged")


def test_a_tier_has_its_own_rule_and_fast_track() -> None:
    m = model()
    s = score_at(m, T0)
    assert s.tier == "1:1"
    d = qualify(m.accounts.mqa, s)
    # the 1:1 rule: 123.998 >= 120 but the CFO (economic buyer) is silent
    assert not d.mqa and d.unmet == ("no economic buyer engaged",)
    fast = qualify(m.accounts.mqa, s, {"demo_request": T0 - 2 * DAY})
    assert fast.mqa and fast.reason == "fast track: demo_request"
    assert fast.route == "team:abm" and fast.due == T0 + timedelta(hours=4)
    stale = qualify(m.accounts.mqa, s, {"demo_request": T0 - 4 * DAY})
    assert not stale.mqa


A, B = "ana@acme.example", "ben@acme.example"


def test_an_mql_inside_an_mqa_account_is_not_a_second_handoff() -> None:
    q = [Qualification("mqa", "acme.example", None, T0),
         Qualification("mql", "acme.example", A, T0 + DAY),
         Qualification("mql", "acme.example", B, T0 + 2 * DAY),
         Qualification("pql", "acme.example", B, T0 + 3 * DAY)]
    (only,) = motions(q, handoff="account")
    assert only.handoff.kind == "mqa" and only.recipient == "account"
    assert [x.contact for x in only.attached] == [A, B, B]
    assert only.paths == {"mqa", "mql", "pql"}
    assert (only.mqa_at, only.mql_at, only.pql_at) == (T0, T0 + DAY, T0 + 3 * DAY)


def test_handoff_contact_routes_the_mql_and_attaches_the_mqa() -> None:
    q = [Qualification("mql", "acme.example", A, T0),
         Qualification("mqa", "acme.example", None, T0 + DAY)]
    (only,) = motions(q, handoff="contact")
    assert only.handoff.contact == A and only.recipient == "contact"
    assert [x.kind for x in only.attached] == ["mqa"]
    (same,) = motions(q, handoff="account")
    assert same.recipient == "account" and same.handoff.kind == "mql"


def test_a_quiet_motion_closes_and_a_later_one_is_a_new_handoff() -> None:
    q = [Qualification("mql", "acme.example", A, T0),
         Qualification("mql", "acme.example", B, T0 + 59 * DAY),
         Qualification("mqa", "acme.example", None, T0 + 119 * DAY),
         Qualification("mql", None, "solo@gmail.com", T0)]
    found = motions(q, reopen_days=60)
    # ben's MQL at day 59 keeps the motion open until day 119: exactly 60 quiet days
    assert [(m.key, m.handoff.kind, len(m.attached)) for m in found] == [
        ("acme.example", "mql", 1), ("contact:solo@gmail.com", "mql", 0),
        ("acme.example", "mqa", 0)]
    assert found[1].recipient == "contact"


def test_at_the_same_instant_the_mqa_is_the_handoff() -> None:
    q = [Qualification("mql", "acme.example", A, T0), Qualification("mqa", "acme.example",
                                                                   None, T0)]
    (only,) = motions(q)
    assert only.handoff.kind == "mqa"


def test_the_account_lifecycle_keeps_its_past() -> None:
    h = AccountHistory("acme.example")
    h, _ = h.move("aware", T0, "first touch")
    h, _ = h.move("engaged", T0 + DAY, "CIO engaged")
    h, _ = h.move("mqa", T0 + 2 * DAY, "account score 124 (line 100)")
    h, no = h.move("opportunity", T0 + DAY, "opportunity created")
    assert no is not None and "the past does not change" in no
    h, _ = h.move("opportunity", T0 + 5 * DAY, "opportunity created")
    h, _ = h.move("engaged", T0 + 9 * DAY, "opportunity lost")
    _, again = h.move("engaged", T0 + 9 * DAY, "again")
    assert again == "acme.example is engaged already"
    assert [h.stage_at(T0 + k * DAY) for k in (0, 1, 2, 5, 9)] == [
        "aware", "engaged", "mqa", "opportunity", "engaged"]
    assert h.stage_at(T0 - DAY) == "target"
    assert [m.reason for m in h.moves][-1] == "opportunity lost"
    _, back = h.move("aware", T0 + 10 * DAY, "x")
    assert back is not None and "cannot go back to aware" in back
    _, unknown = h.move("won", T0 + 10 * DAY, "x")
    assert unknown is not None and "unknown account stage" in unknown


def ev(i: str, kind: str, days: float, who: str = A, **props: str) -> Event:
    return Event(i, kind, T0 + days * DAY, contact=who, properties=props)


def test_three_teammates_within_fourteen_days_of_signup() -> None:
    m = Milestone("team", "teammate_invited", count=3, within_days=14, after="signed_up")
    invites = [ev(f"i{d}", "teammate_invited", d) for d in (-1, 1, 5, 14)]
    # the invite before signup does not count; the third counted one is on day 14
    assert reached(m, [ev("s", "signed_up", 0), *invites]) == T0 + 14 * DAY
    assert reached(m, [ev("s", "signed_up", 0), *invites[:3]]) is None
    assert reached(m, invites) is None  # no signup: never


def test_a_milestone_can_read_the_milestone_property() -> None:
    m = Milestone("first_report", "product_milestone", milestone="report_shared")
    spec = PqlSpec(milestones=(m,))
    book = Milestones(spec)
    assert book.add(ev("a", "product_milestone", 1, milestone="project_created")) == []
    assert book.add(ev("b", "product_milestone", 2, milestone="report_shared")) == [
        ("first_report", T0 + 2 * DAY)]
    assert book.reached(A) == {"first_report": T0 + 2 * DAY}
    assert book.reached(B) == {}


def test_pql_by_product_score_or_milestone() -> None:
    spec = PqlSpec(score="product", min=30.0)
    assert is_pql(spec, 30.0, {}) == (True, "product score 30 (line 30)")
    assert is_pql(spec, 29.5, {}) == (False, "product score 29.5 (line 30); no milestone "
                                      "reached")
    assert is_pql(spec, 0.0, {"team": T0}) == (True, "milestone team")


def test_the_pql_section_reads_a_product_score() -> None:
    base = MODEL.replace("mql:\n", "scores:\n  product:\n    kind: intent\n    rules:\n"
                         "      - {name: invites, event: teammate_invited, points: 10}\n"
                         "mql:\n")
    m = model("  pql: {score: product, min: 30}\n", base)
    assert m.accounts.pql.score == "product" and m.accounts.pql.min == 30
    with pytest.raises(ModelError) as err:
        model("  pql: {score: fit, min: 30}\n", base)
    assert "accounts.pql.score" in str(err.value) and "not an intent-kind" in str(err.value)


def test_a_rule_can_draw_its_own_engaged_line() -> None:
    text = ("  mqa:\n    default:\n      engaged: {contacts: 12, within_days: 14, intent: 4}\n")
    m = model(text, untiered())
    d = qualify(m.accounts.mqa, score_at(m, T0))
    # the ten interns have 5 points each: over a line of 4, with the CIO and the director
    assert d.mqa and d.met == ("12 engaged contacts within 14 days (needs 12)",)
    strict = model(text.replace("intent: 4", "intent: 6"), untiered())
    assert not qualify(strict.accounts.mqa, score_at(strict, T0)).mqa


def test_the_docs_section_reads_as_documented_and_survives_a_dump() -> None:
    import yaml

    from mql.model.diff import describe_changes
    from mql.model.dump import dump_model
    from tests.accounts.test_docs_yaml import blocks
    from tests.model.tiny import BASE

    block = blocks()[0]
    text = yaml.safe_dump({**yaml.safe_load(BASE), **yaml.safe_load(block)}, sort_keys=False)
    m = parse_model(text, source="docs/accounts.md")
    mqa, pql = m.accounts.mqa, m.accounts.pql
    assert mqa.handoff == "account" and mqa.default.score == 60
    assert mqa.default.roles == (("economic_buyer", "decision_maker"), ("technical_evaluator",))
    assert mqa.rule_for("1:1").fast_track == ("intent_surge", "demo_request")
    assert mqa.rule_for("1:1").intent == 5 and mqa.rule_for("1:few") is mqa.default
    assert mqa.rule_for("1:many").route == "team:inside_sales"
    assert [x.name for x in pql.milestones] == ["team_formed", "activated"]
    assert parse_model(dump_model(m)) == m
    changed = parse_model(text.replace("score: 80", "score: 90").replace(
        "count: 3", "count: 4"))
    said = describe_changes(m, changed)
    assert said[0] == "accounts: mqa 1:many: score 80 → 90" and len(said) == 2
    assert said[1].startswith("accounts: pql changed: milestones ") and "count=4" in said[1]

_QUAL = st.builds(
    Qualification, st.sampled_from(["mql", "mqa", "pql"]),
    st.sampled_from(["a.example", "b.example", None]),
    st.sampled_from([A, B, "c@gmail.com"]),
    st.integers(0, 400).map(lambda d: T0 + d * DAY))


@settings(max_examples=60, deadline=None)
@given(st.lists(_QUAL, max_size=25), st.sampled_from(["account", "contact"]),
       st.sampled_from([30.0, 90.0]))
def test_every_qualification_is_in_exactly_one_motion(qs: list, handoff: str,
                                                      reopen: float) -> None:
    found = motions(qs, handoff=handoff, reopen_days=reopen)  # type: ignore[arg-type]
    inside = [m.handoff for m in found] + [q for m in found for q in m.attached]
    assert sorted(map(repr, inside)) == sorted(map(repr, qs))
    # one open motion per unit at a time: a unit's motions are apart by the quiet days
    by_key: dict[str, list] = {}
    for m in found:
        by_key.setdefault(m.key, []).append(m)
    for ms in by_key.values():
        for x, y in pairwise(ms):
            assert y.handoff.at - x.last_at >= timedelta(days=reopen)
    # and the result does not depend on the order the signals arrive in
    again = motions(list(reversed(qs)), handoff=handoff,  # type: ignore[arg-type]
                    reopen_days=reopen)
    assert [(m.key, m.handoff.at, m.handoff.kind) for m in again] == [
        (m.key, m.handoff.at, m.handoff.kind) for m in found]


def test_the_lifecycle_from_facts_goes_back_only_when_a_deal_is_lost() -> None:
    from mql.accounts.lifecycle import history_from_facts

    opps = [(T0 + 10 * DAY, T0 + 20 * DAY, "lost"), (T0 + 30 * DAY, T0 + 40 * DAY, "won")]

    def at(days: float) -> str:
        return history_from_facts("acme.example", T0 + days * DAY, first_touch=T0,
                                  engaged=False, mqas=[(T0 + 5 * DAY, "fast track")],
                                  opportunities=opps).stage
    assert [at(d) for d in (-1, 0, 5, 10, 20, 30, 40)] == [
        "target", "aware", "mqa", "opportunity", "engaged", "opportunity", "customer"]
    now = history_from_facts("acme.example", T0, first_touch=T0, engaged=True, mqas=[],
                             opportunities=[], mqa_now="fast track: demo_request")
    assert [m.stage for m in now.moves] == ["aware", "engaged", "mqa"]


def test_an_accounts_product_usage_is_its_peoples() -> None:
    from mql.accounts.pql import account_product
    from mql.scoring.scorer import Scorer

    base = MODEL.replace("mql:\n", "scores:\n  product:\n    kind: intent\n"
                         "    decay: {half_life_days: 10}\n    rules:\n"
                         "      - {name: invites, event: teammate_invited, points: 10}\n"
                         "mql:\n")
    m = parse_model(base, source="acct.yaml")
    scorer = Scorer(m)
    for c in people():
        scorer.add_contact(c)
    for e in [ev("i1", "teammate_invited", 0), ev("i2", "teammate_invited", 0),
              ev("i3", "teammate_invited", 0, who=B),
              ev("d1", "demo_request", 0, who="cio@acme.example")]:
        scorer.add(e)
    total, parts = account_product(m, "product", scorer.contact_states, T0 + 10 * DAY)
    # ana: 2 invites x 10 points, one half-life later 10; ben: 5; the CIO's demo is no
    # product usage: not a part
    assert parts == {A: pytest.approx(10.0), B: pytest.approx(5.0)}
    assert total == pytest.approx(15.0)
    # 100 days on: ana 20 * 2**-10 = 0.0195, ben 0.0098, under one point each
    total, parts = account_product(m, "product", scorer.contact_states, T0 + 100 * DAY)
    assert parts == {A: pytest.approx(20 / 1024), B: pytest.approx(10 / 1024)}
    assert total == pytest.approx(30 / 1024)


def test_a_fast_track_on_an_intent_rule_reads_that_rules_condition() -> None:
    # `strong_surge` scores surges of strength 70 and up: a weaker surge is no buying
    # signal, and it does not fast-track the account either (the rule's own condition)
    base = MODEL.replace(
        "    - {name: surge, level: account, event: intent_surge, points: 30}\n",
        "    - {name: strong_surge, level: account, event: intent_surge, points: 30,\n"
        "       when: {field: strength, op: gte, value: 70}}\n")
    m = model("  mqa:\n    default:\n      score: 1000\n"
              "      fast_track: [strong_surge, demo_request]\n", base)
    spec = m.accounts.mqa
    signals = FastSignals(m, spec)
    weak = Event("w", "intent_surge", T0, account="acme.example", properties={"strength": 40})
    strong = Event("s", "intent_surge", T0, account="acme.example",
                   properties={"strength": 85})
    demo = Event("d", "demo_request", T0, contact=A)
    assert signals.of(weak) == [] and signals.of(strong) == ["strong_surge"]
    assert signals.of(demo) == ["demo_request"]
    assert signals.types == {"intent_surge", "demo_request"}
    s = score_at(m, T0)
    assert not qualify(spec, s).mqa
    d = qualify(spec, s, {"strong_surge": T0 - DAY})
    assert d.mqa and d.reason == "fast track: strong_surge"


def test_account_intent_fast_tracks_on_what_the_accounts_own_rules_score() -> None:
    m = model("  mqa:\n    default:\n      score: 1000\n      fast_track: [account_intent]\n")
    signals = FastSignals(m, m.accounts.mqa)
    surge = Event("s", "intent_surge", T0, account="acme.example")
    page = Event("p", "page_view", T0, contact=A)
    assert signals.of(surge) == ["account_intent"] and signals.of(page) == []


def test_the_shipped_mqa_fast_tracks_every_tier_on_the_accounts_scored_intent() -> None:
    for rule in (DEFAULT_MQA.default, *DEFAULT_MQA.tiers.values()):
        assert rule.fast_track == ("account_intent",)
    # two contacts with 4 points each (a 5-point download decays to 4 in 14.5 days at a
    # 45-day half-life) make an MQA of an account of no tier
    assert DEFAULT_MQA.default.contacts == 2 and DEFAULT_MQA.default.intent == 4.0


# Spec of the account engagement alert (`routing.account_alerts`, the MQA rule
# `engagement_rule`): a contact counts while its latest touch is at most `window_days`
# old (exactly `window_days` ago still counts, as "within 7 days"; a second more does
# not), it needs intent of its own, and a late older event does not make it older.
def test_the_engagement_rule_counts_contacts_engaged_within_the_window() -> None:
    from mql.accounts.mqa import engagement_rule

    m = model("")
    acme = Account("acme.example", {"employees": 1500})
    week = timedelta(days=7)
    rule = engagement_rule(2, 7)

    def decide(touches: list[tuple[str, datetime]], at: datetime):  # type: ignore[no-untyped-def]
        seen = [Event(f"e{n}", "page_view", t, contact=f"{who}@acme.example")
                for n, (who, t) in enumerate(touches)]
        score = score_accounts(m, people(), [acme], seen, at=at)["acme.example"]
        return qualify(rule, score)

    # the CIO engaged exactly 7 days before the CFO: both count
    both = decide([("cio", T0), ("cfo", T0 + week)], T0 + week)
    assert both.mqa and both.met == ("2 engaged contacts within 7 days (needs 2)",)
    # a second later the CIO's touch is older than the window: one engaged contact
    late = decide([("cio", T0), ("cfo", T0 + week)], T0 + week + timedelta(seconds=1))
    assert not late.mqa and late.unmet == ("1 engaged contact within 7 days (needs 2)",)
    # the CIO's touch of day 6 counts although an older one (day 1) is read after it
    order = decide([("cio", T0 + timedelta(days=6)), ("cio", T0 + timedelta(days=1)),
                    ("cfo", T0 + timedelta(days=8))], T0 + timedelta(days=8))
    assert order.mqa
    # an event type the model does not score gives no intent: not engaged
    assert decide([("cio", T0), ("cfo", T0)], T0).mqa
    plain = [Event("x1", "webinar_registered", T0, contact="cio@acme.example"),
             Event("x2", "webinar_registered", T0, contact="cfo@acme.example")]
    unscored = qualify(rule, score_accounts(m, people(), [acme], plain, at=T0)["acme.example"])
    assert not unscored.mqa
