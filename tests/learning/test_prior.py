"""The hand model as a prior (mql.learning.prior), worked out by hand from its docstring
and docs/learning.md: a rule's points shared among the fields it reads (its condition's,
its `points_by` or `points_per` field), every fit-kind score counted, and a group's prior
the mean of its members' hand points minus everyone's, on the learned scale."""

from __future__ import annotations

import math

from mql.learning.dataset import LeadRow
from mql.learning.prior import field_points, hand_prior
from mql.learning.scorecard import SCALE
from mql.model.parse import parse_model

HAND = parse_model("""
name: prior_test
fields:
  contact: [visits, country]
fit:
  rules:
    - name: seniority
      points_by: {field: contact.seniority, table: {vp: 20, manager: 5, default: 0}}
    - name: senior_software
      when: {all: [{field: contact.seniority, op: eq, value: vp},
                   {field: account.industry, op: eq, value: software}]}
      points: 10
    - name: target
      when: {field: account.domain, op: in, value: [acme.example]}
      points: 8
    - name: personal
      when: {field: contact.email_domain, op: in, value: [gmail.com]}
      points: -6
    - name: size
      when: {field: contact.country, op: eq, value: US}
      points_by: {field: account.employees, bins: [[null, 200, 0], [200, null, 12]]}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
scores:
  engagement:
    kind: fit
    rules:
      - name: visits
        when: {field: contact.seniority, op: exists}
        points_per: {field: contact.visits, each: 1, points: 3, cap: 15}
mql:
  thresholds: {fit: 50}
""")

JANE = LeadRow("jane@gmail.com", {
    "contact.seniority": "vp", "contact.visits": 4, "contact.country": "US",
    "account.domain": "acme.example", "account.employees": 500,
    "account.industry": "software"})


def test_each_rules_points_are_shared_among_the_fields_it_reads() -> None:
    # seniority: 20 (the table) + 5 (half of senior_software) + 6 (half of visits' 12,
    # guarded by seniority); industry the other half of senior_software; the target list
    # reads the lead's own domain; the personal address its email's domain; size's 12
    # split between its guard (country) and its bins (employees); visits 4 x 3 = 12,
    # half to the visits (engagement is a fit-kind score too)
    assert field_points(HAND, [JANE]) == [{
        "contact.seniority": 31.0, "account.industry": 5.0, "account.domain": 8.0,
        "contact.email_domain": -6.0, "contact.country": 6.0, "account.employees": 6.0,
        "contact.visits": 6.0}]


def test_rules_that_do_not_hold_share_nothing() -> None:
    # a lead keyed without an email (a row of an export): a manager, 5 points; the visits
    # rule holds (a seniority is there) but has no visits to count
    row = LeadRow("row-7", {"contact.seniority": "manager"})
    # nothing known: the table's default 0; neither senior_software (10) nor visits hold
    nothing = LeadRow("kim@b.example", {})
    assert field_points(HAND, [row, nothing]) == [
        {"contact.seniority": 5.0, "contact.visits": 0.0}, {"contact.seniority": 0.0}]


def _rows(vp_positive: int, intern_positive: int) -> tuple[list[LeadRow], list[LeadRow]]:
    vps = [LeadRow(f"v{i}@b.example", {"contact.seniority": "vp"}, label=i < vp_positive)
           for i in range(10)]
    interns = [LeadRow(f"i{i}@b.example", {"contact.seniority": "intern"},
                       label=i < intern_positive) for i in range(10)]
    return vps, interns


def test_a_groups_prior_is_its_hand_points_over_the_average_on_the_learned_scale() -> None:
    # ten VPs (20 hand points, 6 of 10 convert) and ten interns (0 points, 5 of 10): a
    # logistic fit on the two totals goes through both rates, slope
    # (logit 0.6 - logit 0.5) / 20 = ln 1.5 / 20 a point; the VPs are 10 points over the
    # average of 10, so their prior is SCALE x ln 1.5 / 20 x 10 (the default L2 penalty
    # of the fit shrinks it a little: within 1%)
    vps, interns = _rows(6, 5)
    prior = hand_prior(HAND, vps + interns)
    unpenalised = SCALE * math.log(1.5) / 20 * 10
    assert 0.99 * unpenalised < prior("contact.seniority", vps) < unpenalised
    assert math.isclose(prior("contact.seniority", interns), -prior("contact.seniority", vps))
    # everyone is the average; no members, no prior; a field no rule gave points to: 0
    assert prior("contact.seniority", vps + interns) == 0.0
    assert prior("contact.seniority", []) == 0.0
    assert prior("account.domain", vps) == 0.0


def test_one_lead_with_the_outcome_is_enough_for_a_slope() -> None:
    vps, interns = _rows(1, 0)
    assert hand_prior(HAND, vps + interns)("contact.seniority", vps) > 0


def test_no_slope_without_both_outcomes() -> None:
    for vp_positive, intern_positive in ((0, 0), (10, 10)):
        vps, interns = _rows(vp_positive, intern_positive)
        prior = hand_prior(HAND, vps + interns)
        assert prior("contact.seniority", vps) == 0.0
        assert prior("contact.seniority", interns) == 0.0


def test_a_slope_from_totals_a_point_apart() -> None:
    one_point = parse_model("""
name: one_point
fit:
  rules:
    - {name: vp, when: {field: contact.seniority, op: eq, value: vp}, points: 1}
intent:
  rules: []
mql:
  thresholds: {fit: 1}
""")
    vps, interns = _rows(6, 5)
    assert hand_prior(one_point, vps + interns)("contact.seniority", vps) > 0

