"""Mistakes in value tables, bins and points per unit are reported with file:line:column,
all at once, with the other mistakes of the file."""

from __future__ import annotations

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model

TEXT = """name: t
fit:
  rules:
    - name: size
      points_by: {field: account.employees, bins: [[0, 50, -5], [40, 200, 5]]}
    - name: sen
      points_by: {field: contact.senority, table: {vp: 20, default: 0}, default: 3}
    - name: both
      points: 5
      points_by: {field: contact.title, table: {a: x}}
    - name: none
      when: {field: contact.title, op: exists}
    - name: per
      points_per: {field: account.employees, each: 0, points: 1}
    - name: tb
      points_by: {field: contact.title}
    - name: bad_bin
      points_by: {field: contact.title, bins: [[5, 1, 3], "x"]}
    - name: nowhen
      points: 4
intent: {rules: []}
mql: {thresholds: {fit: 30}}
"""


def test_every_mistake_in_field_points_is_located() -> None:
    with pytest.raises(ModelError) as info:
        parse_model(TEXT, source="m.yaml")
    assert str(info.value).splitlines() == [
        "m.yaml:5:65 fit.rules[0].points_by.bins[1]: bins must be in increasing order "
        "without overlap: [40, 200, 5] starts before the previous bin ends",
        'm.yaml:7:26 fit.rules[1].points_by.field: unknown contact field "senority" (did you '
        'mean "seniority"?); declare custom ones under fields.contact',
        "m.yaml:7:60 fit.rules[1].points_by.table.default: default is given twice (in the "
        "table and beside it)",
        "m.yaml:10:7 fit.rules[2].points_by: give one of points, points_by or points_per, "
        "not points and points_by",
        'm.yaml:10:52 fit.rules[2].points_by.table.a: expected a number of points, got "x"',
        "m.yaml:11:7 fit.rules[3]: points is required (or points_by, points_per)",
        "m.yaml:14:52 fit.rules[4].points_per.each: must be greater than 0, got 0",
        "m.yaml:16:18 fit.rules[5].points_by: give either table: {value: points, ...} or "
        "bins: [[low, high, points], ...]",
        "m.yaml:18:48 fit.rules[6].points_by.bins[0]: a bin needs low < high, got [5, 1, 3]",
        "m.yaml:19:7 fit.rules[7]: when is required",
        "10 errors",
    ]
