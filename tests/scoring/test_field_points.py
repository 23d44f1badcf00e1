"""Points read from a field (issue 13): value tables, numeric bins and points per unit,
each checked against numbers worked out by hand."""

from __future__ import annotations

import pytest

from mql.model.parse import parse_model
from mql.scoring.fit import fit
from mql.scoring.scorer import score
from tests.conftest import T0, account, contact

MODEL = parse_model("""
name: field_points
fields: {contact: [minutes_on_site]}
fit:
  rules:
    - name: seniority
      points_by: {field: contact.seniority, table: {vp: 20, director: 15, manager: 5, default: -2}}
    - name: company_size
      points_by:
        field: account.employees
        bins: [[null, 50, -5], [50, 200, 5], [200, 5000, 25], [5000, null, 10]]
    - name: minutes
      when: {field: contact.country, op: eq, value: US}
      points_per: {field: contact.minutes_on_site, each: 1.5, points: 2, cap: 20}
intent: {rules: []}
mql: {thresholds: {fit: 40}}
""", source="field_points.yaml")


def lines(c: object, a: object) -> dict[str, tuple[float, bool, str]]:
    result = fit(MODEL.fit, c, a)  # type: ignore[arg-type]
    return {line.rule: (line.points, line.matched, line.note) for line in result.lines}


def test_a_value_table_gives_the_points_of_the_value_case_insensitively() -> None:
    got = lines(contact(seniority="VP"), None)
    assert got["seniority"] == (20.0, True, "seniority vp: 20")


def test_a_value_not_in_the_table_or_missing_gets_the_default() -> None:
    assert lines(contact(seniority="cto"), None)["seniority"][0] == -2.0
    result = fit(MODEL.fit, contact(), None)
    assert result.lines[0].points == -2.0
    assert "contact.seniority" in result.unknown  # worth enriching


def test_bins_are_low_inclusive_high_exclusive_with_open_ends() -> None:
    # 49.9 < 50 -> -5; 50 -> [50, 200) 5; 200 -> [200, 5000) 25; 5000 -> [5000, inf) 10
    for employees, points in ((49.9, -5.0), ("50", 5.0), (199.99, 5.0), (200, 25.0),
                              (5000, 10.0), (10**7, 10.0)):
        got = lines(contact(), account(employees=employees))["company_size"]
        assert got[0] == points, (employees, got)
    # text that is not a number falls in no bin: the default, 0
    assert lines(contact(), account(employees="many"))["company_size"][0] == 0.0


def test_points_per_unit_count_whole_units_and_stop_at_the_cap() -> None:
    # 7.6 minutes / 1.5 = 5.07 -> 5 whole units x 2 = 10 points
    got = lines(contact(country="US", minutes_on_site="7.6"), None)["minutes"]
    assert got == (10.0, True, "minutes_on_site 7.6: 5 x 2")
    # 100 / 1.5 = 66 units x 2 = 132, capped at 20
    assert lines(contact(country="US", minutes_on_site=100), None)["minutes"][:2] == (20.0, True)
    # negative, not a number, or the rule's `when` false: nothing
    assert lines(contact(country="US", minutes_on_site=-3), None)["minutes"][0] == 0.0
    assert lines(contact(country="US", minutes_on_site="abc"), None)["minutes"][0] == 0.0
    assert lines(contact(country="DE", minutes_on_site=9), None)["minutes"][1] is False


def test_the_fit_score_adds_the_read_points() -> None:
    jane = contact(seniority="director", country="US", minutes_on_site="4.5")
    # director 15 + 800 employees in [200, 5000) 25 + 4.5 / 1.5 = 3 units x 2 = 6 -> 46
    (decision,) = score(MODEL, [jane], [account(employees=800)], [], at=T0)
    assert decision.fit == 46.0
    assert decision.mql


def test_the_model_is_dumped_and_read_back_unchanged() -> None:
    from mql.model.dump import dump_model

    assert parse_model(dump_model(MODEL)) == MODEL


INTENT = parse_model("""
name: per_event
decay: {half_life_days: 10}
fit: {rules: []}
intent:
  rules:
    - name: minutes
      event: page_view
      points_per: {field: properties.minutes, each: 1, points: 2, cap: 20}
      cap: 30
    - name: surge
      level: account
      event: intent_surge
      points_per: {field: strength, each: 10, points: 3}
mql: {thresholds: {intent: 30}}
""", source="per_event.yaml")


def test_points_per_unit_of_an_event_property_decay_like_points() -> None:
    from datetime import timedelta

    from mql.records import Event

    jane = contact()
    events = [Event("a", "page_view", T0, contact=jane.email, properties={"minutes": 7.9}),
              Event("b", "page_view", T0 - timedelta(days=10), contact=jane.email,
                    properties={"minutes": "30"}),
              Event("c", "page_view", T0, contact=jane.email, properties={"minutes": "x"}),
              Event("d", "intent_surge", T0 - timedelta(days=5), account="acme.example",
                    properties={"strength": 85})]
    (decision,) = score(INTENT, [jane], [], events, at=T0)
    # minutes: 7 units x 2 = 14 today + min(20, 30 x 2) = 20 ten days ago, halved: 10;
    # "x" earns 0 -> 24. surge: 85 / 10 = 8 units x 3 = 24, 5 days ago: 24 * 2**-0.5
    assert decision.intent == pytest.approx(14 + 10 + 24 * 2 ** -0.5, rel=1e-12)


def test_points_per_on_an_event_excludes_points_and_repeats() -> None:
    from mql.errors import ModelError

    text = """name: t
fit: {rules: []}
intent:
  rules:
    - {name: a, event: page_view, points: 3, points_per: {field: minutes, points: 1}}
    - {name: b, event: page_view, once_per: day, points_per: {field: url-x, points: 1}}
    - {name: c, event: page_view}
mql: {thresholds: {intent: 30}}
"""
    with pytest.raises(ModelError) as info:
        parse_model(text, source="t.yaml")
    assert str(info.value).splitlines() == [
        "t.yaml:5:46 intent.rules[0].points_per: give one of points or points_per, not both",
        "t.yaml:6:35 intent.rules[1].once_per: points_per reads each event's own points; "
        "once_per cannot be combined with it",
        't.yaml:6:70 intent.rules[1].points_per.field: "url-x" is not a property name',
        "t.yaml:7:7 intent.rules[2]: points is required",
        "4 errors",
    ]


def test_each_line_says_how_its_points_were_read() -> None:
    # the note `explain` shows beside a read rule, worked out by hand for each case
    def line(c: object, a: object, rule: str) -> tuple[float, bool, tuple[str, ...], str]:
        result = fit(MODEL.fit, c, a)  # type: ignore[arg-type]
        (got,) = [x for x in result.lines if x.rule == rule]
        return got.points, got.matched, got.unknown, got.note

    # a value known: nothing to enrich; a table or bins without a `when` always match
    assert line(contact(seniority="VP"), None, "seniority") == (
        20.0, True, (), "seniority vp: 20")
    assert line(contact(seniority="cto"), None, "seniority") == (
        -2.0, True, (), "seniority other: default -2")
    assert line(contact(seniority=" "), None, "seniority") == (
        -2.0, True, ("contact.seniority",), "seniority unknown: default -2")
    assert line(contact(), account(employees="many"), "company_size") == (
        0.0, True, (), "employees other: default 0")
    assert line(contact(), account(), "company_size") == (
        0.0, True, ("account.employees",), "employees unknown: default 0")
    # points per unit: 15 / 1.5 = 10 units x 2 = 20, exactly the cap: not capped
    assert line(contact(country="US", minutes_on_site=15), None, "minutes") == (
        20.0, True, (), "minutes_on_site 15: 10 x 2")
    # 18 / 1.5 = 12 units x 2 = 24 > 20: capped
    assert line(contact(country="US", minutes_on_site=18), None, "minutes") == (
        20.0, True, (), "minutes_on_site 18: 12 x 2, cap 20")
    assert line(contact(country="US", minutes_on_site="abc"), None, "minutes") == (
        0.0, True, (), "minutes_on_site not a number: 0")
    assert line(contact(country="US"), None, "minutes") == (
        0.0, True, ("contact.minutes_on_site",), "minutes_on_site unknown: 0")
