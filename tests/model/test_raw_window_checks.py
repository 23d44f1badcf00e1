"""The window checks of a raw intent rule (`Builder.check_raw_window`): in a model whose
shape is wrong somewhere (a fit rule's points written as text), a window key of the wrong
shape is reported once by the schema and nothing else is said about that rule, and a rule
of the right shape gets every window mistake reported at its place with its words."""

from __future__ import annotations

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model

RAW = """\
name: raw
mql: {thresholds: {fit: 10}}
fit:
  rules:
    - {name: shape, when: {field: contact.country, op: eq, value: US}, points: ten}
intent:
  rules:
    - {name: d5, event: page_view, distinct: 5, min_count: 2, points: 1}
    - {name: s5, event: page_view, sum: 5, at_least: 3, points: 1}
    - {name: m5, event: page_view, max: 5, at_least: 3, points: 1}
    - {name: a5, event: page_view, avg: 5, at_least: 3, points: 1}
    - {name: lx, event: page_view, sum: seconds, at_least: x, points: 1}
    - {name: l0, event: page_view, sum: seconds, at_least: 0, points: 1}
    - {name: c0, event: page_view, distinct: url, min_count: 0, points: 1}
    - {name: cx, event: page_view, distinct: url, min_count: 1.5, points: 1}
    - {name: c1, event: page_view, distinct: url, min_count: 1, points: 1}
    - {name: acc, event: page_view, level: account, distinct: contact, min_count: 2,
       within_days: 5, points: 1}
    - {name: con, event: page_view, distinct: contact, min_count: 2, within_days: 5, points: 1}
    - {name: sm, event: page_view, sum: seconds, at_least: 60, min_count: 2, within_days: 5,
       points: 1}
    - {name: su, event: page_view, sum: seconds, at_least: 60, within_days: 5, points: 1}
    - {name: sq, event: page_view, after: {event: signed_up}, within_days: 5, points: 1}
    - {name: sd, event: page_view, after: {event: signed_up}, distinct: url, within_days: 5,
       points: 1}
    - name: sw
      event: page_view
      after: {event: signed_up, when: {field: url, op: containz, value: x}}
      within_days: 5
      points: 1
    - {name: wd, event: page_view, min_count: 2, within_days: 5, decay: {half_life_days: 3},
       points: 1}
"""

# rules 0-7: a window key of the wrong shape (distinct, sum, max, avg, at_least,
# min_count): the schema's words only, no "within_days is required" beside them;
# rule 8: min_count 1 is a count, its window is checked; 9: distinct contacts with
# level: account is right; 10: without it is refused; 11: a sum with min_count; 12: a
# sum without is right; 13: a sequence without min_count is right; 14: a sequence with a
# measure; 15: the earlier events' `when` is checked; 16: a windowed rule with a decay
PROBLEMS = [
    'raw.yaml:5:80 fit.rules[0].points: expected a number, got "ten"',
    'raw.yaml:8:46 intent.rules[0].distinct: expected text, got 5',
    'raw.yaml:9:41 intent.rules[1].sum: expected text, got 5',
    'raw.yaml:10:41 intent.rules[2].max: expected text, got 5',
    'raw.yaml:11:41 intent.rules[3].avg: expected text, got 5',
    'raw.yaml:12:60 intent.rules[4].at_least: expected a number, got "x"',
    'raw.yaml:13:60 intent.rules[5].at_least: must be greater than 0, got 0',
    'raw.yaml:14:62 intent.rules[6].min_count: must be greater than or equal to 1, got 0',
    'raw.yaml:15:62 intent.rules[7].min_count: expected a whole number, got 1.5',
    'raw.yaml:16:7 intent.rules[8]: within_days is required with distinct (the window, in '
     'days)',
    "raw.yaml:19:47 intent.rules[10].distinct: distinct contacts count an account's events:"
     ' use it in an intent rule with level: account',
    'raw.yaml:20:64 intent.rules[11].min_count: a sum is compared with at_least, not '
     'min_count; remove min_count',
    'raw.yaml:24:63 intent.rules[14].distinct: a sequence (after) cannot also take a '
     'distinct; use two rules',
    'raw.yaml:28:56 intent.rules[15].after.when.op: unknown operator "containz" (did you '
     'mean "contains"?); operators are eq, ne, in, not_in, gt, gte, lt, lte, between, '
     'contains, starts_with, ends_with, matches, exists, missing, in_list, not_in_list',
    'raw.yaml:31:66 intent.rules[16].decay: a windowed rule (min_count) scores its points '
     'once while the window holds; decay has no effect here, remove it',
]


def problems(text: str) -> list[str]:
    with pytest.raises(ModelError) as caught:
        parse_model(text, source="raw.yaml")
    return [str(p) for p in caught.value.problems]


def test_window_mistakes_are_reported_beside_a_shape_error() -> None:
    assert problems(RAW) == PROBLEMS



# each section's rules are read in their own scope beside a shape error: a fit score's
# rule checks its points, an intent score's rule reads event properties (url), criteria,
# exclusions and disqualifications read scores and activities, a fast-track rule's `when`
# reads event properties only; an intent rule without points is told so; rules that are
# not a list are the schema's problem only
SCOPES = """\
name: raw
fit:
  rules:
    - {name: shape, when: {field: contact.country, op: eq, value: US}, points: ten}
intent:
  rules:
    - {name: nopoints, event: page_view}
scores:
  tierfit:
    kind: fit
    rules:
      - {name: t, when: {field: contact.title, op: exists}, points: 1, points_by: {}}
  sec:
    kind: intent
    rules:
      - {name: u, event: page_view, when: {field: url, op: contains, value: x}, points: 1}
  empty:
    kind: intent
    rules: 5
mql:
  thresholds: {fit: 10}
  criteria:
    - {name: c, when: {field: score.fit, op: gte, value: 5}}
    - {name: a, when: {activity: demo_request, within_days: 5}}
  exclude:
    - {name: e, when: {field: score.intent, op: gte, value: 90}}
    - {name: ea, when: {activity: email_unsubscribe, within_days: 5}}
  fast_track:
    - {name: f, event: demo_request, within_days: 3, when: {field: contact.title, op: exists}}
lifecycle:
  disqualify:
    - {name: g, when: {field: score.fit, op: lt, value: 1}}
    - {name: ga, when: {activity: email_unsubscribe, within_days: 5}}
"""

SCOPE_PROBLEMS = [
    'raw.yaml:4:80 fit.rules[0].points: expected a number, got "ten"',
    'raw.yaml:7:7 intent.rules[0]: points is required',
    'raw.yaml:12:72 scores.tierfit.rules[0].points_by: give one of points, points_by or '
     'points_per, not points and points_by',
    'raw.yaml:12:83 scores.tierfit.rules[0].points_by: field is required',
    'raw.yaml:19:12 scores.empty.rules: expected a list, got 5',
    'raw.yaml:29:68 mql.fast_track[0].when.field: conditions on events test event '
     'properties (url, asset, utm_source ...); contact.title belongs in fit rules or '
     'mql.criteria',
]


def test_each_section_is_checked_in_its_scope_beside_a_shape_error() -> None:
    assert problems(SCOPES) == SCOPE_PROBLEMS
