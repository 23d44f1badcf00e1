"""`mql validate` reports every mistake of a model at once: a file with twelve mistakes of
different kinds (shape, names, fields, events, scores, grades, decay) gets twelve lines in
one run, not some now and the rest after they are fixed; an unknown key gets a did-you-mean.
"""

from __future__ import annotations

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model

TWELVE_MISTAKES = """\
name: bad
decay:
  half_life_days: -3
fit:
  rules:
    - name: size
      when: {field: account.employes, op: gte, value: 200}
      points: 25
    - name: country
      when: {field: contact.country, op: equals, value: US}
      points: ten
intent:
  rules:
    - name: demo
      event: demo_requestt
      points: 40
      capp: 30
    - name: demo
      event: page_view
      points: 5
mql:
  thresholds: [{fit: 50, intnt: 30}]
  fast_track: [{name: fast, event: demo_reqest, within_days: 30}]
  criteria:
    - name: c1
      when: {field: score.fitt, op: gte, value: 10}
grades:
  fit: {A: 30, B: 50}
"""


def test_twelve_mistakes_are_reported_in_one_run() -> None:
    with pytest.raises(ModelError) as caught:
        parse_model(TWELVE_MISTAKES, source="bad.yaml")
    where = [f"{p.line}:{p.path}" for p in caught.value.problems]
    assert where == [
        "3:decay.half_life_days",            # a model-level check, skipped before
        "7:fit.rules[0].when.field",
        "10:fit.rules[1].when.op",
        "11:fit.rules[1].points",
        "15:intent.rules[0].event",
        "17:intent.rules[0].capp",
        "18:intent.rules[1].name",           # duplicate name, reported only in a second run
        "22:mql.thresholds[0].intnt",        # unknown score, idem
        "23:mql.fast_track[0].event",
        "26:mql.criteria[0].when.field",
        "28:grades",
        "28:grades.fit",                     # band order, idem
    ]
    assert str(caught.value).endswith("12 errors")


def test_an_unknown_key_gets_a_did_you_mean() -> None:
    with pytest.raises(ModelError) as caught:
        parse_model(TWELVE_MISTAKES, source="bad.yaml")
    capp = next(p for p in caught.value.problems if p.path.endswith("capp"))
    assert capp.message.startswith('unknown key (did you mean "cap"? expected one of: ')
    assert ", cap, " in capp.message and ", within_days)" in capp.message
