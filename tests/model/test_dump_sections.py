"""`mql model dump` writes every section so that it reads back as the same model (the
canonical form in which model versions are shown and compared): field points, intent
rules' points per unit, windows, sequences, exits, hand-off and reports sections."""

from __future__ import annotations

import pytest

from mql.model.dump import dump_model
from mql.model.parse import parse_model
from tests.model import test_diff, test_handoff_sections, test_reports_section
from tests.model.tiny import BASE

FIELD_POINTS = """\
name: field_points
fields:
  contact: [minutes_on_site]
fit:
  max: 80
  floor: -10
  rules:
    - name: seniority
      points_by:
        field: contact.seniority
        table: {vp: 20, director: 15, default: 1}
    - name: size
      points_by:
        field: account.employees
        bins: [[null, 50, -5], [50, 200, 5], [200, null, 9]]
    - name: minutes
      when: {field: contact.country, op: eq, value: US, case_sensitive: true}
      points_per: {field: contact.minutes_on_site, each: 2, points: 3, cap: 12}
intent:
  max: 100
  floor: -20
  decay: {loss_per_quarter: 0.5}
  rules:
    - {name: pricing, event: page_view, points: 10, once_per: day, cap: 30}
    - {name: webinar, event: webinar_attended, points: 8, each_repeat: 0.5}
    - name: scan
      event: event_scan
      points: 10
      expires_after_days: 180
      decay: {half_life_days: 7}
    - name: minutes
      event: page_view
      points_per: {field: properties.minutes, each: 1, points: 2, cap: 20}
      cap: 40
    - {name: pages, event: page_view, distinct: url, min_count: 3, within_days: 30, points: 10}
    - {name: dwell, event: page_view, sum: seconds, at_least: 600, within_days: 7, points: 5}
    - name: seq
      event: demo_request
      after: {event: webinar_attended, min_count: 2, within_days: 14}
      within_days: 30
      points: 20
    - name: surge
      level: account
      event: intent_surge
      when: {field: strength, op: gte, value: 70}
      points_per: {field: strength, each: 10, points: 3}
mql:
  thresholds: [{fit: 10, intent: 20}, {total: 50}]
  criteria:
    - name: quarter
      when:
        any:
          - {activity: [page_view, content_download], min_count: 3, within: this_quarter}
          - {not: {field: contact.title, op: missing}}
total: {fit: 1.0, intent: 0.5}
exit:
  when:
    - name: unsubscribed
      when: {activity: email_unsubscribe, within_days: 3}
      reason: unsubscribed from our emails
"""

MODELS = {
    "field points and windows": FIELD_POINTS,
    "every section": test_diff.BASE,
    "hand-off values": BASE + test_handoff_sections.GOOD,
    "reports": BASE + test_reports_section.OWN,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_dump_reads_back_as_the_same_model(name: str) -> None:
    model = parse_model(MODELS[name], source=f"{name}.yaml")
    dumped = dump_model(model)
    assert parse_model(dumped, source="dumped.yaml") == model
    assert dump_model(parse_model(dumped)) == dumped  # and is canonical
