"""A model whose shape is wrong somewhere (a rule's points written as text) still gets every
other mistake reported in the same run, each at its place with its words: unknown events,
fields and scores of every section, duplicate names of every list, windows, sequences,
decays, grades and total weights (`Builder.check_raw`)."""

from __future__ import annotations

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model

RAW = """\
name: raw
event_types: [signup, 7]
fields:
  contact: [plan]
  account: [tier]
decay: {half_life_days: 0}
fit:
  rules:
    - {name: shape, when: {field: contact.country, op: eq, value: US}, points: ten}
    - {name: plan, when: {field: contact.plan, op: eq, value: pro}, points: 5}
    - {name: plan, when: {field: contact.plann, op: eq, value: pro}, points: 5}
intent:
  decay: {half_life_days: -1}
  rules:
    - {name: s, event: signup, points: 5}
    - {name: d, event: [demo_request, demo_requestt], points: 40}
    - {name: d, event: demo_reqest, when: {field: url, op: containz, value: x}, points: 1}
    - {name: w, event: page_view, distinct: url, min_count: 3, points: 5, cap: 9}
    - name: q
      event: page_view
      after: {event: webinar_atended}
      min_count: 2
      within_days: 5
      points: 1
    - {name: r, event: page_view, decay: {half_life_days: 0}, points: 1}
scores:
  sec:
    kind: intent
    decay: {half_life_days: -2}
    rules:
      - {name: a, event: page_veiw, points: 1}
  tierfit:
    kind: fit
    rules:
      - {name: t, when: {field: account.tierr, op: eq, value: 1}, points: 1}
mql:
  thresholds: {fit: 10, secc: 5}
  criteria:
    - {name: c, when: {field: contact.titel, op: exists}}
    - {name: c, when: {field: contact.title, op: exists}}
  fast_track:
    - {name: f, event: demo_requets, within_days: 3}
    - {name: f, event: demo_request, within_days: 3}
  exclude:
    - {name: e, when: {field: account.statuss, op: eq, value: x}}
    - {name: e, when: {field: account.status, op: eq, value: x}}
total: {fit: 1, intnt: 1}
exit:
  below: {intentt: 10}
  when:
    - {name: x, when: {activity: email_unsubscrib, within_days: 3}, reason: unsubscribed}
grades:
  fit: {A: 10, B: 20}
  intent: {"1": 5, "2": 10}
lifecycle:
  disqualify:
    - {name: g, when: {field: account.industy, op: eq, value: gov}}
"""

PROBLEMS = [
    'raw.yaml:2:23 event_types[1]: expected text, got 7',
    'raw.yaml:6:25 decay.half_life_days: must be greater than 0, got 0',
    'raw.yaml:9:80 fit.rules[0].points: expected a number, got "ten"',
    'raw.yaml:11:14 fit.rules[2].name: another rule is already named "plan"',
    'raw.yaml:11:34 fit.rules[2].when.field: unknown contact field "plann" (did you mean '
     '"plan"?); declare custom ones under fields.contact',
    'raw.yaml:13:27 intent.decay.half_life_days: must be greater than 0, got -1',
    'raw.yaml:16:39 intent.rules[1].event[1]: unknown event "demo_requestt" (did you mean '
     '"demo_request"?); declare custom types under event_types',
    'raw.yaml:17:14 intent.rules[2].name: another rule is already named "d"',
    'raw.yaml:17:24 intent.rules[2].event: unknown event "demo_reqest" (did you mean '
     '"demo_request"?); declare custom types under event_types',
    'raw.yaml:17:60 intent.rules[2].when.op: unknown operator "containz" (did you mean '
     '"contains"?); operators are eq, ne, in, not_in, gt, gte, lt, lte, between, contains, '
     'starts_with, ends_with, matches, exists, missing, in_list, not_in_list',
    'raw.yaml:18:7 intent.rules[3]: within_days is required with distinct (the window, in '
     'days)',
    'raw.yaml:18:80 intent.rules[3].cap: a windowed rule scores its points once; cap has '
     'no effect here, remove it',
    'raw.yaml:21:22 intent.rules[4].after.event: unknown event "webinar_atended" (did you '
     'mean "webinar_attended"?); declare custom types under event_types',
    'raw.yaml:22:7 intent.rules[4].min_count: a sequence counts once; say how many earlier '
     'events it needs with after.min_count',
    'raw.yaml:25:59 intent.rules[5].decay.half_life_days: must be greater than 0, got 0',
    'raw.yaml:29:29 scores.sec.decay.half_life_days: must be greater than 0, got -2',
    'raw.yaml:31:26 scores.sec.rules[0].event: unknown event "page_veiw" (did you mean '
     '"page_view"?); declare custom types under event_types',
    'raw.yaml:35:33 scores.tierfit.rules[0].when.field: unknown account field "tierr" (did '
     'you mean "tier"?); declare custom ones under fields.account',
    'raw.yaml:37:25 mql.thresholds.secc: unknown score "secc" (did you mean "sec"?); '
     'scores are fit, intent, sec, tierfit, total',
    'raw.yaml:39:31 mql.criteria[0].when.field: unknown contact field "titel" (did you '
     'mean "title"?); declare custom ones under fields.contact',
    'raw.yaml:40:14 mql.criteria[1].name: another criterion is already named "c"',
    'raw.yaml:42:24 mql.fast_track[0].event: unknown event "demo_requets" (did you mean '
     '"demo_request"?); declare custom types under event_types',
    'raw.yaml:43:14 mql.fast_track[1].name: another fast-track rule is already named "f"',
    'raw.yaml:45:31 mql.exclude[0].when.field: unknown account field "statuss" (did you '
     'mean "status"?); declare custom ones under fields.account',
    'raw.yaml:46:14 mql.exclude[1].name: another exclusion is already named "e"',
    'raw.yaml:47:17 total.intnt: unknown score "intnt" (did you mean "intent"?); total '
     'weighs the scores fit, intent, sec, tierfit',
    'raw.yaml:49:11 exit.below.intentt: unknown score "intentt" (did you mean "intent"?); '
     'scores are fit, intent, sec, tierfit, total',
    'raw.yaml:51:34 exit.when[0].when.activity: unknown event "email_unsubscrib" (did you '
     'mean "email_unsubscribe"?); declare custom types under event_types',
    'raw.yaml:53:8 grades.fit: band minimums must not increase from the best band down',
    'raw.yaml:54:11 grades.intent: band minimums must not increase from the best band down',
    'raw.yaml:57:31 lifecycle.disqualify[0].when.field: unknown account field "industy" '
     '(did you mean "industry"?); declare custom ones under fields.account',
]


def problems(text: str) -> list[str]:
    with pytest.raises(ModelError) as caught:
        parse_model(text, source="raw.yaml")
    return [str(p) for p in caught.value.problems]


def test_every_mistake_is_reported_beside_a_shape_error() -> None:
    assert problems(RAW) == PROBLEMS


def test_thresholds_as_a_list_are_checked_item_by_item() -> None:
    found = problems(RAW.replace("  thresholds: {fit: 10, secc: 5}",
                                 "  thresholds: [{fit: 10}, {total: 5, secc: 5}, 3]"))
    where = found.index(next(p for p in found if "thresholds" in p))
    assert found[where:where + 2] == [
        'raw.yaml:37:38 mql.thresholds[1].secc: unknown score "secc" (did you mean "sec"?); '
        "scores are fit, intent, sec, tierfit, total",
        "raw.yaml:37:48 mql.thresholds[2]: expected a mapping (key: value), got 3"]
    assert len(found) == len(PROBLEMS) + 1


def test_the_same_mistakes_without_the_shape_error() -> None:
    # the shape error fixed, the model builds and reports the same other mistakes
    found = problems(RAW.replace("points: ten", "points: 10").replace("[signup, 7]",
                                                                      "[signup]"))
    assert sorted(found) == sorted(PROBLEMS[1:2] + PROBLEMS[3:])
