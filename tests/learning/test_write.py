"""The learned model file (mql.learning.write), line by line for a scorecard built by
hand: the header and its notes, custom fields, a value table, bins with their default, a
per-unit rule in its own score, touches of a person, of a page section and of the account,
the threshold with its probability, the calibration bands and the file's own tests (the
highest, middle and lowest lead, their fields and events, each total worked out by hand
from the points). Every lift is the group's rate over the base rate of 30%."""

# ruff: noqa: E501 (the expected file has the long comment lines the learner writes)
from __future__ import annotations

import math
from datetime import UTC, datetime

from mql.learning import write
from mql.learning.binning import Binning, Group
from mql.learning.dataset import LeadRow
from mql.learning.scorecard import AttributeRule, Calibration, Evidence, Scorecard, TouchRule
from mql.learning.write import learned_threshold, model_text
from mql.model.parse import parse_model
from mql.model.spec import PointsPer

SENIORITY = AttributeRule("contact.seniority", Binning("contact.seniority", False, (
    Group(40, 20, 0.0, values=("vp",)), Group(60, 10, 0.0, default=True))), (12, -3), 0.85)
EMPLOYEES = AttributeRule("account.employees", Binning("account.employees", True, (
    Group(50, 5, 0.0, None, 50.0), Group(40, 22, 0.0, 50.0, None),
    Group(10, 3, 0.0, default=True))), (-4, 6, 0), 0.5)
VISITS = AttributeRule("contact.visits", Binning("contact.visits", True, (
    Group(50, 10, 0.0, None, 2.0), Group(50, 20, 0.0, 2.0, None))), (0, 3), 0.3,
    score="engagement", per=PointsPer("contact.visits", 2, 1, 3))
DEMO = TouchRule("demo_request", 14.0, 8.0, 24.0, Evidence(30, 15, 0.3), 0.55,
                 chosen="half-life 14 days, cap 24")
PRICING = TouchRule("page_view /pricing", 30.0, 2.5, 10.0, Evidence(20, 8, 0.3), 0.2)
SURGE = TouchRule("account:intent_surge", 7.0, 3.0, 9.0, Evidence(10, 5, 0.3), 0.25)
CARD = Scorecard("sql", (SENIORITY, EMPLOYEES, VISITS), (DEMO, PRICING, SURGE),
                 Calibration(((0.0, 0.1), (10.0, 0.3), (20.5, 0.6))), 100, 30,
                 small_data=False, shrink=1.0, warnings=("contact.Won: left out",))
AT = datetime(2026, 3, 1, tzinfo=UTC)
# hi: vp 12, 80 employees 6, 5 visits 2 (2 units of 2), a demo 2 days before 8 x 2^(-2/14)
# = 7.246, the pricing page a day before 2.5 x 2^(-1/30) = 2.443, a surge 3 days before
# 3 x 2^(-3/7) = 2.229: 31.92; mid: manager -3 (the default), 20 employees -4, a demo
# 14 days before 4: -3; lo: -3 - 4 = -7, with no moment (the file's test day)
ROWS = [
    LeadRow("hi@acme.example", {"contact.seniority": "VP", "account.employees": 80,
                                "contact.visits": 5, "account.domain": "acme.example"},
            (("demo_request", 2.0), ("page_view /pricing", 1.0), ("account:intent_surge", 3.0)),
            True, AT),
    LeadRow("mid@beta.example", {"contact.seniority": "manager", "account.employees": 20,
                                 "account.domain": "beta.example"},
            (("demo_request", 14.0),), False, AT),
    LeadRow("lo@gamma.example", {"contact.seniority": "intern", "account.employees": 10,
                                 "account.domain": "gamma.example"}, (), False, None),
]

EXPECTED = """\
# Learned by `mql learn` from a test.
# 100 leads, 30 became SQL (base rate 30.0%); points are log-odds: 10 points double the odds of the outcome.
# Evidence per value: leads, leads with the outcome, lift over the base rate and its 95% interval.
# note: contact.Won: left out
name: learned
version: "1"
description: Learned from outcomes (sql); review it, backtest it (mql backtest), then activate it.
fields:
  contact: [visits]
fit:
  rules:
    - name: seniority
      # learned: information value 0.00, weight 0.85
      points_by:
        field: contact.seniority
        table:
          "vp": 12  # 40 leads, 20 became SQL (50.0%), lift 1.67 [1.17-2.16]
        default: -3  # other values and unknown: 60 leads, 10 became SQL (16.7%), lift 0.56 [0.31-0.93]
    - name: employees
      # learned: information value 0.00, weight 0.50
      points_by:
        field: account.employees
        bins:
          - [null, 50, -4]  # 50 leads, 5 became SQL (10.0%), lift 0.33 [0.14-0.71]
          - [50, null, 6]  # 40 leads, 22 became SQL (55.0%), lift 1.83 [1.33-2.31]
        default: 0  # unknown: 10 leads, 3 became SQL (30.0%), lift 1.00 [0.36-2.01]
intent:
  rules:
    - name: demo_request
      # 30 leads, 15 became SQL (50.0%), lift 1.67 [1.11-2.23] had one before the decision; weight 0.550
      # half-life 14 days, cap 24
      event: demo_request
      points: 8
      cap: 24
      decay: {half_life_days: 14}
    - name: page_view_pricing
      # 20 leads, 8 became SQL (40.0%), lift 1.33 [0.73-2.04] had one before the decision; weight 0.200
      event: page_view
      when: {field: url, op: contains, value: "/pricing"}
      points: 2.5
      cap: 10
      decay: {half_life_days: 30}
    - name: account_intent_surge
      # 10 leads, 5 became SQL (50.0%), lift 1.67 [0.79-2.54] had one before the decision; weight 0.250
      event: intent_surge
      level: account
      points: 3
      cap: 9
      decay: {half_life_days: 7}
scores:
  engagement:
    kind: fit
    rules:
      - name: visits
        # learned: information value 0.00, weight 0.30
        # points per unit: the bins' points lie on a line, 1 point per 2 visits, at most 3; the bins:
        #   [null, 2): 0, 50 leads, 10 became SQL (20.0%), lift 0.67 [0.37-1.10]
        #   [2, null): 3, 50 leads, 20 became SQL (40.0%), lift 1.33 [0.92-1.79]
        points_per: {field: contact.visits, each: 2, points: 1, cap: 3}
total: {fit: 1, intent: 1, engagement: 1}
mql:
  # the change point of conversion over the learned totals (the method of `mql calibrate`; probability 30.0% at it); `mql calibrate` recommends one from outreach history
  thresholds:
    - {total: 12.3}
# calibration: total score -> probability the lead became SQL (isotonic fit over 3 score bands)
#   0 below 10: 10.0%
#   10 below 20.5: 30.0%
#   20.5 and above: 60.0%
tests:
  - name: learned_highest_total
    description: The lead with the highest total the model was learned from; the file gives it the total the learner computed.
    at: 2026-03-01T00:00:00.000000Z
    accounts:
      - {domain: "acme.example", employees: 80}
    contacts:
      - {email: "hi@acme.example", account: "acme.example", seniority: "VP", visits: 5}
    events:
      - {type: "demo_request", timestamp: "2026-02-27T00:00:00.000000Z", email: "hi@acme.example"}
      - {type: "page_view", timestamp: "2026-02-28T00:00:00.000000Z", email: "hi@acme.example", properties: {"url": "https://learned.example/pricing"}}
      - {type: "intent_surge", timestamp: "2026-02-26T00:00:00.000000Z", account: "acme.example"}
    expect:
      - {contact: "hi@acme.example", total: 31.92, tolerance: 0.05}
  - name: learned_middle_total
    description: The lead with the middle total the model was learned from; the file gives it the total the learner computed.
    at: 2026-03-01T00:00:00.000000Z
    accounts:
      - {domain: "beta.example", employees: 20}
    contacts:
      - {email: "mid@beta.example", account: "beta.example", seniority: "manager"}
    events:
      - {type: "demo_request", timestamp: "2026-02-15T00:00:00.000000Z", email: "mid@beta.example"}
    expect:
      - {contact: "mid@beta.example", total: -3.0, tolerance: 0.05}
  - name: learned_lowest_total
    description: The lead with the lowest total the model was learned from; the file gives it the total the learner computed.
    at: 2026-01-01T00:00:00.000000Z
    accounts:
      - {domain: "gamma.example", employees: 10}
    contacts:
      - {email: "lo@gamma.example", account: "gamma.example", seniority: "intern"}
    expect:
      - {contact: "lo@gamma.example", total: -7.0, tolerance: 0.05}
"""


def test_the_learned_file_line_by_line() -> None:
    text = model_text(CARD, name="learned", version="1", source="a test", threshold=12.34,
                      rows=ROWS)
    assert text.splitlines() == EXPECTED.splitlines()
    assert text.endswith("\n")
    # and it is a model: fit, intent and the per-unit rule's own score
    model = parse_model(text)
    assert list(model.scores) == ["fit", "intent", "engagement"]


def _lines(card: Scorecard) -> list[str]:
    return model_text(card, name="learned", version="2", source="leads.csv").splitlines()


def test_small_data_is_said_in_the_header() -> None:
    # 10 of 50 won (20%), the points shrunk to a third of the learned ones
    small = Scorecard("won", (SENIORITY,), (), Calibration(((0.0, 0.2),)), 50, 10,
                      small_data=True, shrink=0.33)
    lines = _lines(small)
    assert lines[1] == ("# 50 leads, 10 won (base rate 20.0%); points are log-odds: 10 points "
                        "double the odds of the outcome.")
    assert lines[3] == ("# SMALL DATA: only 10 leads won (fewer than 100): the points are "
                        "shrunk towards the hand model's (learned weight 0.33); the intervals "
                        "are wide: read them, not the points.")
    # no hand model: nothing to shrink towards
    alone = Scorecard("opportunity", (SENIORITY,), (), Calibration(((0.0, 0.2),)), 50, 10,
                      small_data=True, shrink=1.0)
    assert _lines(alone)[3] == (
        "# SMALL DATA: only 10 leads got an opportunity (fewer than 100): no hand model was "
        "given (--model) to shrink the points towards; the intervals are wide: read them, "
        "not the points.")


def test_a_file_of_standard_fields_without_touches() -> None:
    # seniority is a standard contact field (no fields: section), no touches (no intent
    # rules), no other score (no total:); no threshold: the line at 0, the lowest band's
    # probability; an outcome without a past tense is written as it is
    card = Scorecard("renewal", (SENIORITY,), (), Calibration(((0.0, 0.2), (5.0, 0.4))), 50,
                     10, small_data=False, shrink=1.0)
    lines = _lines(card)
    assert lines[1].startswith("# 50 leads, 10 renewal (base rate 20.0%)")
    assert "fields:" not in lines and "scores:" not in lines
    assert not any(line.startswith("total:") for line in lines)
    assert lines[lines.index("intent:") + 1] == "  rules: []"
    assert lines[lines.index("mql:") + 1:] == [
        "  # the change point of conversion over the learned totals (the method of `mql "
        "calibrate`; probability 20.0% at it); `mql calibrate` recommends one from outreach "
        "history",
        "  thresholds:",
        "    - {total: 0}",
        "# calibration: total score -> probability the lead renewal (isotonic fit over 2 "
        "score bands)",
        "#   0 below 5: 20.0%",
        "#   5 and above: 40.0%",
    ]
    # rules only in another score: the fit score has none
    engaged = Scorecard("sql", (VISITS,), (), Calibration(((0.0, 0.2),)), 50, 10,
                        small_data=False, shrink=1.0)
    lines = _lines(engaged)
    assert lines[lines.index("fit:") + 1] == "  rules: []"
    assert "total: {fit: 1, intent: 1, engagement: 1}" in lines


def _per(points: float, each: float) -> list[str]:
    rule = AttributeRule("contact.visits", VISITS.binning, (0, 3), 0.3,
                         per=PointsPer("contact.visits", each, points, 12))
    card = Scorecard("sql", (rule,), (), Calibration(((0.0, 0.2),)), 100, 30,
                     small_data=False, shrink=1.0)
    return [line.strip() for line in _lines(card) if "per unit" in line
            or "points_per" in line]


def test_points_per_unit_in_words() -> None:
    assert _per(2, 1) == [
        "# points per unit: the bins' points lie on a line, 2 points per 1 visits, at most "
        "12; the bins:", "points_per: {field: contact.visits, each: 1, points: 2, cap: 12}"]
    assert _per(-1, 3) == [
        "# points per unit: the bins' points lie on a line, -1 point per 3 visits, at most "
        "12; the bins:", "points_per: {field: contact.visits, each: 3, points: -1, cap: 12}"]


def _row(key: str, seniority: str, label: bool, **extra: object) -> LeadRow:
    return LeadRow(key, {"contact.seniority": seniority, **extra}, label=label, at=AT)


def test_the_learned_threshold_is_the_change_point_or_the_top_band() -> None:
    only = Scorecard("sql", (SENIORITY,), (),
                     Calibration(((-3.0, 0.1), (5.0, 0.3), (12.0, 0.5))), 8, 4,
                     small_data=True, shrink=1.0)
    # VPs (12 points) convert 3 of 4, the others (-3) 1 of 4: the grid from -3 to 12 by
    # 0.5 (a span of 15 over 50, rounded up); the change point at the first line above -3
    rows = ([_row(f"v{i}@a.example", "vp", i < 3) for i in range(4)]
            + [_row(f"m{i}@a.example", "manager", i < 1) for i in range(4)])
    assert learned_threshold(only, rows) == -2.5
    # conversion never rises: the lowest score of the highest band
    flat = [_row(f"v{i}@a.example", "vp", i < 2) for i in range(4)] + [
        _row(f"m{i}@a.example", "manager", i < 2) for i in range(4)]
    assert learned_threshold(only, flat) == 12.0


def test_the_learned_threshold_weighs_each_lead_once() -> None:
    card = Scorecard("sql", (SENIORITY, EMPLOYEES), (), Calibration(((-7.0, 0.1),)), 16, 7,
                     small_data=True, shrink=1.0)
    # totals -7 (manager, 10 people: 0 of 4 convert), 3 (manager, 80: 1 of 4), 8 (vp, 10:
    # 3 of 4) and 18 (vp, 80: 3 of 4), on the grid -6.5, -6, ... by 0.5: three splits.
    # Gains over one rate of 7/16 (-10.965): at -6.5 (0/4 | 7/12) 2.815, at 3.5 (1/8 |
    # 6/8) 3.452, at 8.5 (4/12 | 3/4) 1.078
    groups = [("manager", 10, 0), ("manager", 80, 1), ("vp", 10, 3), ("vp", 80, 3)]
    rows = [_row(f"{s}{n}-{i}@a.example", s, i < k, **{"account.employees": n})
            for s, n, k in groups for i in range(4)]
    assert learned_threshold(card, rows) == 3.5


FLAG = AttributeRule("contact.flag", Binning("contact.flag", False, (
    Group(10, 5, 0.0, values=("yes",)), Group(10, 2, 0.0, default=True))), (4, 0), 0.2)
ACCOUNT_DEMO = TouchRule("account:demo_request", 7.0, 2.0, 6.0, Evidence(10, 4, 0.3), 0.1)
PEOPLE = Scorecard("sql", (SENIORITY, FLAG), (DEMO, ACCOUNT_DEMO),
                   Calibration(((0.0, 0.1),)), 20, 6, small_data=True, shrink=1.0)


def _tests(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in "\n".join(lines).splitlines()[1:]:
        if line.startswith("  - name: "):
            name = line.removeprefix("  - name: ")
            out[name] = []
        else:
            out[name].append(line.strip())
    return out


def test_the_files_tests_write_each_touch_once() -> None:
    # hi: vp 12, its flag a yes/no (not a value a test writes: left out, and no table value:
    # 0), its own demo 2 days before 8 x 2^(-2/14) = 7.246, and the account's demos, its
    # own (2 days) written once as its own, a colleague's 5 days before: 2 x (2^(-2/7) +
    # 2^(-5/7)) = 2.860; its page view is no rule's touch; 22.11 in all
    hi = LeadRow("hi@x.example", {"contact.seniority": "vp", "contact.flag": True},
                 (("account:demo_request", 5.0), ("page_view", 3.0), ("demo_request", 2.0),
                  ("account:demo_request", 2.0)), True, AT)
    four = LeadRow("four@x.example", {"contact.seniority": "vp"}, (), True, AT)  # 12
    mid = LeadRow("mid@x.example", {"contact.seniority": "manager", "contact.flag": "yes"},
                  (), False, AT)  # -3 + 4
    lo = LeadRow("lo@x.example", {"contact.seniority": "intern"}, (), False, None)  # -3
    # not written: 41 touches of the rules (a test of more events than 40 is unreadable)
    # and a lead keyed without an email
    many = LeadRow("many@x.example", {"contact.seniority": "vp"},
                   tuple(("demo_request", 1.0) for _ in range(41)), True, AT)
    crm = LeadRow("salesforce:00Q1", {"contact.seniority": "vp"}, (), True, AT)
    tests = _tests(write.test_lines(PEOPLE, [many, crm, lo, hi, mid, four]))
    assert list(tests) == ["learned_highest_total", "learned_middle_total",
                           "learned_lowest_total"]
    assert tests["learned_highest_total"][1:] == [
        "at: 2026-03-01T00:00:00.000000Z",
        "accounts:", '- {domain: "learned.example"}',
        "contacts:", '- {email: "hi@x.example", account: "learned.example", seniority: "vp"}',
        "events:",
        '- {type: "demo_request", timestamp: "2026-02-24T00:00:00.000000Z", '
        'account: "learned.example"}',
        '- {type: "demo_request", timestamp: "2026-02-27T00:00:00.000000Z", '
        'email: "hi@x.example"}',
        "expect:", '- {contact: "hi@x.example", total: 22.11, tolerance: 0.05}']
    # of four, the middle is the third lowest: four (12), not mid (1)
    assert tests["learned_middle_total"][-1] == (
        '- {contact: "four@x.example", total: 12.0, tolerance: 0.05}')
    assert "events:" not in tests["learned_middle_total"]
    assert tests["learned_lowest_total"][1] == "at: 2026-01-01T00:00:00.000000Z"
    assert tests["learned_lowest_total"][-1] == (
        '- {contact: "lo@x.example", total: -3.0, tolerance: 0.05}')
    # forty touches are written: 12 + the demo's cap of 24
    forty = LeadRow("forty@x.example", {"contact.seniority": "vp"},
                    tuple(("demo_request", 1.0) for _ in range(40)), True, AT)
    tests = _tests(write.test_lines(PEOPLE, [lo, hi, mid, four, forty]))
    assert tests["learned_highest_total"][-1] == (
        '- {contact: "forty@x.example", total: 36.0, tolerance: 0.05}')
    assert len(tests["learned_highest_total"]) == 9 + 40  # 9 lines and the 40 events


def test_no_lead_to_write_no_tests() -> None:
    crm = LeadRow("salesforce:00Q1", {"contact.seniority": "vp"}, (), True, AT)
    assert write.test_lines(PEOPLE, [crm]) == []
    assert write.test_lines(PEOPLE, []) == []


def test_a_lead_without_its_domain_is_no_test_when_account_fields_count() -> None:
    # CARD reads account.employees: a lead without account.domain cannot be written
    lost = LeadRow("lost@x.example", {"contact.seniority": "vp", "account.employees": 80},
                   (), True, AT)
    tests = _tests(write.test_lines(CARD, [*ROWS, lost]))
    # its total (vp 12, 80 people 6: 18) would be the middle one of four
    assert [lines[-1] for lines in tests.values()] == [
        '- {contact: "hi@acme.example", total: 31.92, tolerance: 0.05}',
        '- {contact: "mid@beta.example", total: -3.0, tolerance: 0.05}',
        '- {contact: "lo@gamma.example", total: -7.0, tolerance: 0.05}']


def _rule_lines(rule: AttributeRule) -> list[str]:
    card = Scorecard("sql", (rule,), (), Calibration(((0.0, 0.2),)), 100, 30,
                     small_data=False, shrink=1.0)
    lines = _lines(card)
    return [line.strip() for line in lines[lines.index("fit:") + 5:lines.index("intent:")]]


def test_bins_open_at_infinity_and_edges_to_four_decimals() -> None:
    # an edge read from a value beyond any float is open (null); 10.00001 is written to
    # four decimals, 10; the default group first still leaves the bins after it
    rule = AttributeRule("account.employees", Binning("account.employees", True, (
        Group(10, 3, 0.0, default=True), Group(50, 5, 0.0, None, 10.00001),
        Group(40, 22, 0.0, 10.00001, math.inf))), (1, -4, 6), 0.5)
    assert _rule_lines(rule) == [
        "field: account.employees", "bins:",
        "- [null, 10, -4]  # 50 leads, 5 became SQL (10.0%), lift 0.33 [0.14-0.71]",
        "- [10, null, 6]  # 40 leads, 22 became SQL (55.0%), lift 1.83 [1.33-2.31]",
        "default: 1  # unknown: 10 leads, 3 became SQL (30.0%), lift 1.00 [0.36-2.01]"]


def test_a_binning_without_a_default_group_gives_the_default_zero_points() -> None:
    numbers = AttributeRule("account.employees", Binning("account.employees", True, (
        Group(50, 5, 0.0, None, 50.0), Group(50, 25, 0.0, 50.0, None))), (-4, 6), 0.5)
    assert _rule_lines(numbers)[-1] == "default: 0  # unknown: no lead lacked a value"
    values = AttributeRule("contact.seniority", Binning("contact.seniority", False, (
        Group(50, 20, 0.0, values=("vp",)), Group(50, 10, 0.0, values=("manager",)))),
        (8, -2), 0.5)
    assert _rule_lines(values) == [
        "field: contact.seniority", "table:",
        '"vp": 8  # 50 leads, 20 became SQL (40.0%), lift 1.33 [0.92-1.79]',
        '"manager": -2  # 50 leads, 10 became SQL (20.0%), lift 0.67 [0.37-1.10]',
        "default: 0  # other values and unknown: no lead had another value"]


def test_custom_fields_of_both_tables_are_declared_in_order() -> None:
    def table(name: str) -> AttributeRule:
        return AttributeRule(name, Binning(name, False, (
            Group(50, 20, 0.0, values=("a",)), Group(50, 10, 0.0, default=True))), (5, 0), 0.5)

    card = Scorecard("sql", (table("contact.visits"), table("account.tier"),
                             table("contact.a_score"), table("account.arr_band"), SENIORITY),
                     (), Calibration(((0.0, 0.2),)), 100, 30, small_data=False, shrink=1.0)
    lines = _lines(card)
    start = lines.index("fields:")
    assert lines[start:start + 4] == ["fields:", "  contact: [a_score, visits]",
                                      "  account: [arr_band, tier]", "fit:"]
    # only account fields of its own: no contact line
    only = Scorecard("sql", (table("account.tier"),), (), Calibration(((0.0, 0.2),)), 100, 30,
                     small_data=False, shrink=1.0)
    lines = _lines(only)
    start = lines.index("fields:")
    assert lines[start:start + 3] == ["fields:", "  account: [tier]", "fit:"]


def test_rules_of_fields_of_one_name_in_both_tables_are_named_by_table() -> None:
    def table(name: str) -> AttributeRule:
        return AttributeRule(name, Binning(name, False, (
            Group(50, 20, 0.0, values=("a",)), Group(50, 10, 0.0, default=True))), (5, 0), 0.5)

    card = Scorecard("sql", (table("contact.tier"), table("account.tier"), SENIORITY), (),
                     Calibration(((0.0, 0.2),)), 100, 30, small_data=False, shrink=1.0)
    names = [line.strip() for line in _lines(card) if line.startswith("    - name: ")]
    assert names == ["- name: contact_tier", "- name: account_tier", "- name: seniority"]


ACCOUNT_PAGES = TouchRule("account:page_view", 7.0, 1.0, 5.0, Evidence(10, 4, 0.3), 0.1)
WIDE = Scorecard("sql", (SENIORITY,), (DEMO, ACCOUNT_DEMO, PRICING, ACCOUNT_PAGES),
                 Calibration(((0.0, 0.1),)), 20, 6, small_data=True, shrink=1.0)


def _events(lines: list[str]) -> list[str]:
    # the events of the first test (one lead is the highest, middle and lowest)
    return [line for line in _tests(lines)["learned_highest_total"]
            if line.startswith("- {type: ")]


def test_an_account_wide_row_writes_each_of_its_own_touches_once() -> None:
    # two own demos 2 days before, the account's demos at that age three times (the two
    # own and a colleague's): two own, one the colleague's; the pricing page's view the
    # account counts too is the lead's own
    row = LeadRow("hi@x.example", {"contact.seniority": "vp"},
                  (("demo_request", 2.0), ("demo_request", 2.0),
                   ("account:demo_request", 2.0), ("account:demo_request", 2.0),
                   ("account:demo_request", 2.0), ("page_view /pricing", 1.0),
                   ("account:page_view", 1.0)), True, AT)
    own = 'email: "hi@x.example"}'
    account = 'account: "learned.example"}'
    demo = '- {type: "demo_request", timestamp: "2026-02-27T00:00:00.000000Z", '
    assert _events(write.test_lines(WIDE, [row])) == [
        demo + own, demo + own, demo + account,
        '- {type: "page_view", timestamp: "2026-02-28T00:00:00.000000Z", '
        'email: "hi@x.example", properties: {"url": "https://learned.example/pricing"}}']


def test_more_than_forty_touches_of_the_rules_count_the_accounts_and_the_pages() -> None:
    # 41 of the rules' touches, by the account or on a page section: not written; a
    # plainer lead is then the only test
    plain = LeadRow("plain@x.example", {"contact.seniority": "manager"}, (), False, AT)
    accounts = LeadRow("acc@x.example", {"contact.seniority": "vp"},
                       tuple(("account:demo_request", 1.0) for _ in range(41)), True, AT)
    pages = LeadRow("pages@x.example", {"contact.seniority": "vp"},
                    tuple(("page_view /pricing", 1.0) for _ in range(41)), True, AT)
    for crowded in (accounts, pages):
        tests = _tests(write.test_lines(WIDE, [crowded, plain]))
        assert {lines[-1] for lines in tests.values()} == {
            '- {contact: "plain@x.example", total: -3.0, tolerance: 0.05}'}
