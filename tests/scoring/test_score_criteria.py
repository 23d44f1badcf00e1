"""A criterion on a score (`score.intent`) qualifies until that score crosses the number the
criterion names, as `gte`, `between` or under `not`; times by hand (half-life 10 days)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from mql.model.parse import parse_model
from mql.scoring.scorer import score
from tests.conftest import T0, contact, event

MODEL = """
name: score_criteria
decay: {half_life_days: 10}
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {fit: 100}
  criteria:
    - name: engaged
      when: WHEN
"""


@pytest.mark.parametrize("when", [
    "{field: score.intent, op: gte, value: 25}",
    "{field: score.intent, op: between, value: [25, 100]}",
    "{not: {field: score.intent, op: lt, value: 25}}",
])
def test_a_score_criterion_holds_until_the_score_crosses_its_number(when: str) -> None:
    model = parse_model(MODEL.replace("WHEN", when))
    jane = contact("jane@acme.example", country="US")
    [d] = score(model, [jane], [], [event("demo_request", 0)], at=T0)
    assert d.mql and [r.name for r in d.reasons] == ["engaged"]
    # 40 * 2^(-x/10) = 25  ->  x = 10 log2(1.6) = 6.781 days
    assert d.qualified_until is not None
    days = (d.qualified_until - T0) / timedelta(days=1)
    assert days == pytest.approx(10 * math.log2(1.6), abs=2 / 86400)
