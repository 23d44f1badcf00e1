"""Exclusions and disqualification in the decision, by hand: each kind of field an exclusion
can read (the contact, the account, a score, an activity in a window) keeps a lead that
qualifies on its scores from being an MQL; `lifecycle.disqualify` names its rule."""

from __future__ import annotations

import pytest

from mql.model.parse import parse_model
from mql.scoring.scorer import score
from tests.conftest import T0, account, contact, event

MODEL = """
name: exclusions
fit:
  rules:
    - {name: any, when: {field: contact.email, op: exists}, points: 50}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: careers, event: page_view, when: {field: url, op: contains, value: /careers},
       points: 5}
mql:
  thresholds: {fit: 50, intent: 40}
  exclude:
    - {name: student, when: {field: contact.title, op: contains, value: student}}
    - {name: competitor, when: {field: account.status, op: eq, value: competitor}}
    - {name: too_keen, when: {field: score.intent, op: gte, value: 80}}
    - name: job_hunter
      when: {activity: page_view, where: {field: url, op: contains, value: /careers},
             within_days: 7}
lifecycle:
  disqualify:
    - {name: government, when: {field: account.industry, op: eq, value: government}}
    - {name: personal, when: {field: contact.email, op: ends_with, value: "@gmail.com"}}
"""


@pytest.fixture(scope="module")
def model():
    return parse_model(MODEL)


def _decide(model, who=None, org=None, *extra):
    who = who or contact("jane@acme.example")
    events = [event("demo_request", 0, contact=who.email), *extra]
    return score(model, [who], [org or account()], events, at=T0)[0]


def test_a_lead_over_its_lines_is_an_mql_without_exclusions(model) -> None:
    d = _decide(model)
    assert (d.mql, d.excluded_by, d.disqualified_by) == (True, (), ())


@pytest.mark.parametrize(("who", "org", "extra", "rule"), [
    (contact("jane@acme.example", title="Student"), None, (), "student"),
    (None, account("acme.example", status="competitor"), (), "competitor"),
    (None, None, (event("demo_request", 0.5),), "too_keen"),  # intent 80
    (None, None, (event("page_view", 6, url="/careers"),), "job_hunter"),
])
def test_each_exclusion_keeps_the_lead_from_qualifying(model, who, org, extra, rule) -> None:
    d = _decide(model, who, org, *extra)
    assert not d.mql and d.excluded_by == (rule,)
    assert d.because() == "excluded by " + rule.replace("_", " ")


def test_an_activity_exclusion_ends_with_its_window(model) -> None:
    # a careers visit 8 days ago is outside the 7-day window: 40 + 5 intent, an MQL
    d = _decide(model, None, None, event("page_view", 8, url="/careers"))
    assert d.mql and d.excluded_by == ()


def test_disqualification_names_its_rules_from_the_contact_and_the_account(model) -> None:
    gov = account("acme.example", industry="government")
    assert _decide(model, None, gov).disqualified_by == ("government",)
    kim = contact("kim@gmail.com", account="acme.example")
    assert _decide(model, kim, gov).disqualified_by == ("government", "personal")
