"""`Qualifier`'s times read on their own, as the services call them (the nurture worker
asks `first_below` with no curves of a decision), values by hand (GOLDEN: half-life 10
days, fit 50, intent 20 + 17.5 = 37.5 at T0)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from mql.model.parse import parse_model
from mql.model.spec import TOTAL, Model
from mql.records import Account, Contact, Event
from mql.scoring.intent import IntentState
from mql.scoring.qualify import Qualifier
from tests.conftest import T0, event
from tests.scoring.test_fast_paths import _states
from tests.scoring.test_golden import ACME, EVENTS, GOLDEN, JANE

DAY = 86400.0


@pytest.fixture(scope="module")
def golden() -> Model:
    return parse_model(GOLDEN)


def _days(t: object) -> float:
    assert t is not None
    return (t - T0).total_seconds() / DAY  # type: ignore[operator]


def test_first_below_with_no_curves_of_a_decision(golden: Model) -> None:
    q = Qualifier(golden)
    mine, theirs = _states(golden, EVENTS)
    fits = q.fits(JANE, ACME)
    # total 50 + 37.5 * 2^(-d/10) < 80 once intent < 30: d = 10 log2(1.25)
    below = q.first_below(TOTAL, 80.0, fits, mine, theirs, T0)
    assert _days(below) == pytest.approx(10 * math.log2(1.25), abs=1 / DAY)
    # intent alone under 10: d = 10 log2(3.75)
    below = q.first_below("intent", 10.0, fits, mine, theirs, T0)
    assert _days(below) == pytest.approx(10 * math.log2(3.75), abs=1 / DAY)
    # fit is constant: under a line above it at once, under one at or below it never
    assert q.first_below("fit", 51.0, fits, mine, theirs, T0) == T0
    assert q.first_below("fit", 50.0, fits, mine, theirs, T0) is None


WEIGHTED = """
name: weighted_plain
total: {fit: 0.5, intent: 2}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
intent:
  decay: {half_life_days: 10}
  rules:
    - {name: demo, event: demo_request, points: 40}
mql: {thresholds: {total: 70}}
exit: {below: {total: 15}}
"""


def test_a_weighted_total_over_a_plain_intent_counts_its_weights() -> None:
    model = parse_model(WEIGHTED)
    mine, theirs = _states(model, [event("demo_request", 0)])
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    # total = 0.5 x 20 + 2 x 40 * 2^(-d/10) = 90 at T0; >= 70 until 80 * 2^(-d/10) = 60
    assert d.total == 90.0 and d.mql
    assert _days(d.qualified_until) == pytest.approx(10 * math.log2(80 / 60), abs=1 / DAY)
    # under 15 once 80 * 2^(-d/10) < 5: four half-lives
    assert _days(d.exit_at) == pytest.approx(40.0, abs=1 / DAY)


ACCOUNT_LEVEL = """
name: account_level
decay: {half_life_days: 10}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 20}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: surge, level: account, event: page_view, points: 20}
mql: {thresholds: {total: 70}}
exit: {below: {total: 40}}
"""


def test_the_total_of_the_default_sum_counts_the_accounts_intent() -> None:
    model = parse_model(ACCOUNT_LEVEL)
    mine, theirs = _states(model, [
        event("demo_request", 0),
        event("page_view", 0, contact=None, account="acme.example")])
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    # total = 20 + (40 + 20) * 2^(-d/10) = 80; >= 70 until 60 * 2^(-d/10) = 50
    assert d.total == 80.0 and d.mql
    assert _days(d.qualified_until) == pytest.approx(10 * math.log2(60 / 50), abs=1 / DAY)
    # under 40 once 60 * 2^(-d/10) < 20
    assert _days(d.exit_at) == pytest.approx(10 * math.log2(3), abs=1 / DAY)


def test_a_score_with_a_floor_crosses_its_lines_from_zero_up() -> None:
    # a floor makes intent no plain curve (a curve of parts over a base of 0): the same
    # crossings as GOLDEN's, as the floor -5 is never reached
    model = parse_model(GOLDEN.replace("intent:\n  rules:", "intent:\n  floor: -5\n  rules:"))
    assert model.intent.floor == -5
    mine, theirs = _states(model, EVENTS)
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    assert d.intent == pytest.approx(37.5, rel=1e-12)
    assert _days(d.qualified_until) == pytest.approx(10 * math.log2(1.25), abs=1 / DAY)
    assert _days(d.exit_at) == pytest.approx(10 * math.log2(3.75), abs=1 / DAY)


def test_a_score_with_a_floor_is_under_a_line_near_zero_in_closed_form() -> None:
    # intent = 37.5 * 2^(-d/10) is under 1 after 10 log2(37.5) days, though never under 0
    model = parse_model(GOLDEN.replace("intent:\n  rules:", "intent:\n  floor: -5\n  rules:")
                        .replace("below: {intent: 10}", "below: {intent: 1}"))
    mine, theirs = _states(model, EVENTS)
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    assert _days(d.exit_at) == pytest.approx(10 * math.log2(37.5), abs=1 / DAY)


CRITERION = """  thresholds: {fit: 40, intent: 30}
  criteria:
    - name: us_warm
      when:
        all:
          - {field: contact.country, op: eq, value: US}
          - {field: account.employees, op: gte, value: 100}
          - {field: score.intent, op: gte, value: 20}"""


def test_a_criterion_on_records_and_a_score_holds_until_its_own_line() -> None:
    model = parse_model(GOLDEN.replace("  thresholds: {fit: 40, intent: 30}", CRITERION))
    mine, theirs = _states(model, EVENTS)
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    assert [r.kind for r in d.reasons] == ["thresholds", "criteria"]
    assert str(d.reasons[1]) == ("criteria us_warm: (contact.country eq 'US' and "
                                 "account.employees gte 100 and score.intent gte 20)")
    assert d.reasons[1].words(T0) == "criterion us warm"
    # thresholds #1 ends when intent 37.5 * 2^(-d/10) < 30 (3.2 days); the criterion, on
    # the US contact of an 800-employee account, holds on until intent < 20
    assert _days(d.qualified_until) == pytest.approx(10 * math.log2(37.5 / 20), abs=1 / DAY)


def test_a_criterion_on_the_fit_score_never_ends_without_new_data() -> None:
    model = parse_model(GOLDEN.replace("  thresholds: {fit: 40, intent: 30}", """\
  thresholds: {fit: 40, intent: 30}
  criteria:
    - {name: good_fit, when: {field: score.fit, op: gte, value: 50}}"""))
    mine, theirs = _states(model, EVENTS)
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    assert [r.name for r in d.reasons] == ["#1", "good_fit"]
    assert d.qualified_until is None  # fit 50 >= 50 for good


def test_a_fit_minimum_met_exactly_keeps_its_paths_end() -> None:
    model = parse_model(GOLDEN.replace("thresholds: {fit: 40, intent: 30}",
                                       "thresholds: {fit: 50, intent: 30}"))
    mine, theirs = _states(model, EVENTS)
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    assert d.mql  # fit 50 >= 50 ("at or over")
    assert _days(d.qualified_until) == pytest.approx(10 * math.log2(1.25), abs=1 / DAY)


TRIAL = GOLDEN.replace("  thresholds: {fit: 40, intent: 30}", """\
  thresholds: {fit: 40, intent: 30}
  criteria:
    - {name: trial, when: {activity: trial_signup, within_days: 7}}""").replace(
    "    - {name: demo, event: demo_request, within_days: 7}", """\
    - {name: demo, event: demo_request, within_days: 7}
    - {name: trial, event: trial_signup, within_days: 7}""")
# GOLDEN's threshold path ends when intent 37.5 * 2^(-d/10) falls under 30
CROSSING = T0 + timedelta(days=10 * math.log2(1.25))


def test_windows_closing_a_second_and_a_half_before_the_threshold_path_ends() -> None:
    # the trial criterion and fast track end 1.5 s before intent crosses 30: the
    # thresholds still qualify then, so the contact stops at the crossing
    model = parse_model(TRIAL)
    trial = event("trial_signup", now=CROSSING - timedelta(days=7, seconds=1.5))
    mine, theirs = _states(model, [*EVENTS, trial])
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    assert [(r.kind, r.name) for r in d.reasons] == [
        ("thresholds", "#1"), ("criteria", "trial"), ("fast_track", "trial")]
    assert d.qualified_until is not None
    assert abs((d.qualified_until - CROSSING).total_seconds()) < 1e-3


def test_windows_that_closed_at_the_decision_are_no_end_to_come() -> None:
    # decided half a second before the crossing, 7 days after the trial signup: its
    # window (t - 7 days, t] has just closed, so only the crossing ends the MQL
    model = parse_model(TRIAL)
    at = CROSSING - timedelta(seconds=0.5)
    trial = event("trial_signup", now=at - timedelta(days=7))
    mine, theirs = _states(model, [*EVENTS, trial])
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, at)
    assert [r.kind for r in d.reasons] == ["thresholds"]
    assert d.qualified_until is not None
    assert abs((d.qualified_until - CROSSING).total_seconds()) < 1e-3


def test_the_fit_of_an_account_alone(golden: Model) -> None:
    # no contact: only the account's rule (size 30: 800 employees) can match
    q = Qualifier(golden)
    assert q.fits(None, ACME)["fit"].value == 30.0
    assert q.fits(None, None)["fit"].value == 0.0


def test_every_criterion_on_scores_bounds_how_long_it_qualifies() -> None:
    model = parse_model(GOLDEN.replace("  thresholds: {fit: 40, intent: 30}", """\
  thresholds: {fit: 40, intent: 30}
  criteria:
    - {name: warm, when: {field: score.intent, op: gte, value: 20}}
    - {name: hot, when: {field: score.total, op: gte, value: 90}}"""))
    mine, theirs = _states(model, EVENTS)
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    # total 87.5 is under 90: hot never holds; warm holds until intent < 20
    assert [r.name for r in d.reasons] == ["#1", "warm"]
    assert _days(d.qualified_until) == pytest.approx(10 * math.log2(37.5 / 20), abs=1 / DAY)


def test_a_fast_track_of_several_event_types_names_them_all() -> None:
    model = parse_model(GOLDEN.replace("{name: demo, event: demo_request, within_days: 7}",
                                       "{name: demo, event: [demo_request, trial_signup], "
                                       "within_days: 7}"))
    mine, theirs = _states(model, [event("trial_signup", 2)])
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    (reason,) = d.reasons
    assert str(reason) == "fast-track demo: demo_request/trial_signup at 2026-02-28T10:00Z"
    assert reason.words(T0) == "demo request or trial signup 2 days ago"
    assert d.qualified_until == T0 + timedelta(days=5)  # 7 days after the signup


EXITS = GOLDEN.replace("exit:\n  below: {intent: 10}", """\
exit:
  below: {intent: 10}
  when:
    - name: student
      reason: a student
      when: {field: contact.title, op: contains, value: student}
    - name: competitor
      reason: a competitor
      when: {field: account.status, op: eq, value: competitor}
    - {name: cold, reason: no intent, when: {field: score.intent, op: lt, value: 1}}
lifecycle:
  disqualify:
    - {name: tiny, when: {field: score.fit, op: lt, value: 10}}
    - {name: bounced, when: {activity: email_bounce, within_days: 30}}
event_types: [email_bounce]""")


@pytest.mark.parametrize(("title", "status", "events", "exits"), [
    ("Student", "customer", EVENTS, ("student",)),
    ("CTO", "competitor", EVENTS, ("competitor",)),
    ("CTO", "customer", [], ("cold",)),
    ("Student", "competitor", [], ("student", "competitor", "cold")),
    ("CTO", "customer", EVENTS, ()),
])
def test_exit_rules_read_the_contact_the_account_and_the_scores(
        title: str, status: str, events: list[Event], exits: tuple[str, ...]) -> None:
    model = parse_model(EXITS)
    jane = Contact("jane@acme.example", "acme.example", {"country": "US", "title": title})
    acme = Account("acme.example", {"employees": 800, "status": status})
    mine, theirs = _states(model, events)
    d = Qualifier(model).decide(jane, acme, mine, theirs, T0)
    assert d.exits == exits
    assert d.mql is (not exits)  # intent 37.5 >= 30 with the events, 0 without


def test_disqualify_rules_read_the_scores_and_the_activity_at_the_decision() -> None:
    model = parse_model(EXITS)
    nobody = Contact("kim@gmail.com", "gmail.com", {})
    bounce = event("email_bounce", 29, contact="kim@gmail.com")
    mine, theirs = _states(model, [bounce])
    q = Qualifier(model)
    # fit -20 (personal: a gmail address) is under 10, and a bounce 29 days ago is in its
    # 30-day window
    d = q.decide(nobody, None, mine, theirs, T0)
    assert d.disqualified_by == ("tiny", "bounced")
    # the bounce leaves its 30-day window a day later
    later = q.decide(nobody, None, mine, theirs, T0 + timedelta(days=1))
    assert later.disqualified_by == ("tiny",)
    # a fit of 20 (a US contact) is not tiny
    us = Contact("jane@acme.example", "acme.example", {"country": "US"})
    assert q.decide(us, None, IntentState.empty(), theirs, T0).disqualified_by == ()


AVERAGE_CRITERION = """
name: average_criterion
decay: {half_life_days: 10}
fit: {rules: []}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {intent: 15}
  criteria:
    - name: attentive
      when: {activity: page_view, within_days: 30, avg: seconds, at_least: 100}
"""


def test_an_average_that_starts_holding_later_carries_the_mql_on() -> None:
    model = parse_model(AVERAGE_CRITERION)
    views = [event("page_view", 20, seconds=10), event("page_view", 10, seconds=150),
             event("page_view", 2, seconds=60)]
    mine, theirs = _states(model, [event("demo_request", 0), *views])
    d = Qualifier(model).decide(JANE, ACME, mine, theirs, T0)
    # now: intent 40 >= 15, the average (10 + 150 + 60) / 3 = 73.3 is under 100
    assert [r.name for r in d.reasons] == ["#1"]
    # intent 40 * 2^(-d/10) falls under 15 after 10 log2(40/15) = 14.2 days; by then the
    # 10 s visit has left the window (day 10: (150 + 60) / 2 = 105 >= 100), until the 150
    # leaves it on day 20 (60): the MQL lasts until day 20
    assert d.qualified_until == T0 + timedelta(days=20)


@pytest.mark.parametrize("model_text", [GOLDEN, GOLDEN.replace(
    "intent:\n  rules:", "intent:\n  floor: -5\n  rules:")], ids=["plain", "floored"])
def test_the_exit_is_the_first_microsecond_a_decision_sees_under_the_line(
        model_text: str) -> None:
    # docs/model.md, `exit`: under the line at exit_at, not one microsecond earlier, as
    # the decision computes the score (from the state, not the closed form)
    model = parse_model(model_text)
    q = Qualifier(model)
    mine, theirs = _states(model, EVENTS)
    fits = q.fits(JANE, ACME)
    us = timedelta(microseconds=1)
    for tenth in range(5, 375, 7):
        line = tenth / 10
        for name, low in (("intent", line), (TOTAL, 50 + line)):
            t = q.exit_time(((name, low),), fits, mine, theirs, T0)
            assert t is not None
            assert q.scores(fits, mine, theirs, t)[name] < low
            assert q.scores(fits, mine, theirs, t - us)[name] >= low


@pytest.mark.parametrize(("k", "name", "low"), [(22, TOTAL, 59.808), (82, "intent", 1.839),
                                                (150, TOTAL, 73.294), (162, "intent", 16.551)])
def test_where_the_closed_form_rounds_to_the_other_microsecond(k: int, name: str,
                                                               low: float) -> None:
    # histories where the closed form's moment and the decision's differ by a microsecond
    # in floating point: the exit is the decision's (under the line at it, not before)
    model = parse_model(GOLDEN)
    q = Qualifier(model)
    mine, theirs = _states(model, [
        event("demo_request", k * 0.0137), event("page_view", k * 0.031, url="/pricing"),
        event("page_view", k * 0.071 + 1, url="/pricing")])
    fits = q.fits(JANE, ACME)
    t = q.exit_time(((name, low),), fits, mine, theirs, T0)
    assert t is not None
    assert q.scores(fits, mine, theirs, t)[name] < low
    assert q.scores(fits, mine, theirs, t - timedelta(microseconds=1))[name] >= low
