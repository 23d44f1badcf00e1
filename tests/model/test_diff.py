"""`mql model diff`: what changed between two models, in the words a reviewer reads
(docs/model.md). Each case edits one line of a model with every section and compares the
full list of lines; rules are matched by name, so a renamed rule is one removed and one
added."""

from __future__ import annotations

import pytest

from mql.model.diff import describe_changes, shown
from mql.model.parse import parse_model
from mql.model.spec import Decay

BASE = """\
name: diffed
lists:
  freemail:
    values: [gmail.com, yahoo.com]
decay:
  half_life_days: 30
fit:
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
    - {name: big, when: {field: account.employees, op: gte, value: 500}, points: 20}
    - {name: free, when: {field: contact.email_domain, op: in_list, value: freemail}, points: -5}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
    - {name: views, event: page_view, min_count: 3, within_days: 30, points: 10}
scores:
  security:
    kind: intent
    rules:
      - name: docs
        event: page_view
        when: {field: url, op: contains, value: /security}
        points: 8
mql:
  thresholds:
    - {fit: 20, intent: 30}
    - {total: 80}
  criteria:
    - name: us_engaged
      when:
        all:
          - {field: contact.country, op: eq, value: US}
          - {activity: webinar_attended, within_days: 30}
  fast_track:
    - {name: demo, event: demo_request, within_days: 30}
  exclude:
    - {name: competitor, when: {field: account.status, op: eq, value: competitor}}
grades:
  fit: {A: 30, B: 10}
  intent: {"1": 40, "2": 10}
exit:
  below: {intent: 15}
lifecycle:
  recycle_after_days: 14
  requalify: fresh_intent
  disqualify:
    - {name: government, when: {field: account.industry, op: eq, value: government}}
  reject_reasons: [wrong_fit, no_budget]
routing:
  teams:
    sales:
      time_zone: America/New_York
      hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
      members:
        - {name: dana, weight: 2, capacity: 40}
        - {name: li}
    queue:
      time_zone: UTC
      members:
        - {name: pool}
  rules:
    - {name: us, when: {field: contact.country, op: eq, value: US}, team: sales}
  fallback: queue
sla:
  - {name: hot, when: {activity: demo_request, within_days: 2}, first_touch_hours: 1}
  - {name: default, first_touch_hours: 24}
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def changes(new: str, old: str = BASE) -> list[str]:
    return describe_changes(parse_model(old, source="old.yaml"),
                            parse_model(new, source="new.yaml"))


def cut(start: str, end: str) -> str:
    """BASE without the section from `start` up to `end`."""
    return BASE[:BASE.index(start)] + BASE[BASE.index(end):]


def test_the_same_model_has_no_changes() -> None:
    assert changes(BASE) == []


def test_version_and_description_are_no_change() -> None:
    # the versions are in the heading of `mql model diff`; a description decides nothing
    assert changes(edit("name: diffed", "name: diffed\nversion: '2'\ndescription: other")) == []


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("name: diffed", "name: renamed", ["name diffed → renamed"]),
    # rules: points, caps, windows, conditions, event types
    ("points: 40}", "points: 50, cap: 80}",
     ["intent rule demo changed: points 40 → 50; cap none → 80"]),
    ("min_count: 3, within_days: 30", "min_count: 5, within_days: 14",
     ["intent rule views changed: min count 3 → 5; window (days) 30 → 14"]),
    ("    - {name: big, when: {field: account.employees, op: gte, value: 500}, points: 20}\n",
     "", ["fit rule big removed"]),
    ("    - {name: demo, event: demo_request, points: 40}\n",
     "    - {name: demo, event: demo_request, points: 40}\n"
     "    - {name: trial, event: trial_signup, points: 35, cap: 50}\n",
     ["intent rule trial added: event types [trial_signup]; points 35; cap 50"]),
    ("value: 500}", "value: 1000}",
     ["fit rule big changed: condition account.employees gte 500 → "
      "account.employees gte 1000"]),
    ("value: /security}", "value: /trust}",
     ["security rule docs changed: condition url contains '/security' → "
      "url contains '/trust'"]),
    ("event: page_view\n        when", "event: [page_view, content_download]\n        when",
     ["security rule docs changed: event types [page_view] → "
      "[page_view, content_download]"]),
    # scores
    ("decay:\n  half_life_days: 30\n", "decay:\n  half_life_days: 45\n",
     ["intent score: decay half-life 30 days → half-life 45 days",
      "security score: decay half-life 30 days → half-life 45 days"]),
    ("decay:\n  half_life_days: 30\n", "",
     ["intent score: decay half-life 30 days → no decay",
      "security score: decay half-life 30 days → no decay"]),
    ("fit:\n  rules:", "fit:\n  max: 50\n  rules:", ["fit score: max none → 50"]),
    ("scores:\n", "scores:\n  extra:\n    kind: fit\n    rules:\n      - {name: de, when: "
     "{field: contact.country, op: eq, value: DE}, points: 5}\n",
     ["score extra added (fit, 1 rules)"]),
    # thresholds, by position
    ("    - {total: 80}\n", "", ["mql threshold #2 removed"]),
    ("    - {total: 80}\n", "    - {total: 80}\n    - {fit: 30, security: 20}\n",
     ["mql threshold #3 added: fit ≥ 30 and security ≥ 20"]),
    ("{fit: 20, intent: 30}", "{fit: 25, security: 10}",
     ["mql threshold #1 changed: fit 20 → 25; intent 30 → none; security none → 10"]),
    # criteria, fast tracks, exclusions
    ("webinar_attended, within_days: 30}", "webinar_attended, within_days: 14}",
     ["mql criterion us_engaged changed: condition (contact.country eq 'US' and 1+ "
      "webinar_attended in 30 days) → (contact.country eq 'US' and 1+ webinar_attended in "
      "14 days)"]),
    ("{name: demo, event: demo_request, within_days: 30}",
     "{name: trial, event: trial_signup, within_days: 14}",
     ["mql fast track demo removed",
      "mql fast track trial added: event types [trial_signup]; window (days) 14"]),
    ("    - {name: competitor, when: {field: account.status, op: eq, value: competitor}}\n",
     "    - {name: competitor, when: {field: account.status, op: eq, value: competitor}}\n"
     "    - {name: student, when: {field: contact.seniority, op: eq, value: student}}\n",
     ["mql exclusion student added: condition contact.seniority eq 'student'"]),
    # grades and exit
    ("fit: {A: 30, B: 10}", "fit: {A: 35, B: 10}",
     ["grades: fit bands [[A, 30], [B, 10]] → [[A, 35], [B, 10]]"]),
    ('grades:\n  fit: {A: 30, B: 10}\n  intent: {"1": 40, "2": 10}\n', "", ["grades removed"]),
    ("below: {intent: 15}", "below: {intent: 10, fit: 5}",
     ["exit below [intent 15] → [intent 10, fit 5]"]),
    # lifecycle
    ("recycle_after_days: 14", "recycle_after_days: 21",
     ["lifecycle: recycle after days 14 → 21"]),
    ("requalify: fresh_intent", "requalify: any",
     ["lifecycle: requalify fresh intent true → false"]),
    ("value: government}}", "value: defense}}",
     ["lifecycle disqualification government changed: condition account.industry eq "
      "'government' → account.industry eq 'defense'"]),
    ("reject_reasons: [wrong_fit, no_budget]", "reject_reasons: [wrong_fit, no_budget, duplicate]",
     ["lifecycle: reject reasons [wrong_fit, no_budget] → [wrong_fit, no_budget, duplicate]"]),
    # routing
    ("{name: dana, weight: 2, capacity: 40}", "{name: dana, weight: 3, capacity: 40}",
     ["routing team sales member dana changed: weight 2 → 3"]),
    ("        - {name: li}\n", "", ["routing team sales member li removed"]),
    ("        - {name: pool}\n", "        - {name: pool}\n    emea:\n      time_zone: "
     "Europe/London\n      members:\n        - {name: olu}\n        - {name: anna}\n",
     ["routing team emea added: 2 members"]),
    ("team: sales}", "team: queue}", ["routing rule us changed: team sales → queue"]),
    ("fallback: queue", "fallback: sales", ["routing: fallback queue → sales"]),
    ("fallback: queue", "fallback: queue\n  account_team: queue",
     ["routing: account team none → queue"]),
    ("  fallback: queue", "  fallback: queue\n  account_owner_first: false",
     ["routing: account owner first true → false"]),
    # SLAs
    ("first_touch_hours: 24}", "first_touch_hours: 8}",
     ["sla default changed: first touch hours 24 → 8"]),
    ("{name: hot, when: {activity: demo_request, within_days: 2}, first_touch_hours: 1}",
     "{name: urgent, when: {activity: demo_request, within_days: 2}, first_touch_hours: 2}",
     ["sla hot removed",
      "sla urgent added: first touch hours 2; condition 1+ demo_request in 2 days"]),
    # lists: the values each gained or lost, the first five of them
    ("values: [gmail.com, yahoo.com]", "values: [gmail.com, hotmail.com, aol.com]",
     ["list freemail changed: +2 (aol.com, hotmail.com), -1 (yahoo.com)"]),
    ("values: [gmail.com, yahoo.com]",
     "values: [a1.com, a2.com, a3.com, a4.com, a5.com, a6.com, gmail.com, yahoo.com]",
     ["list freemail changed: +6 (a1.com, a2.com, a3.com, a4.com, a5.com ...)"]),
    ("values: [gmail.com, yahoo.com]", "values: [a.com, b.com, c.com, d.com, e.com]",
     ["list freemail changed: +5 (a.com, b.com, c.com, d.com, e.com), "
      "-2 (gmail.com, yahoo.com)"]),
    ("lists:\n", "event_types: [signup]\nlists:\n  rivals:\n    values: [a.com, b.com]\n",
     ["list rivals added: 2 values", "event types changed: [] → [signup]"]),
])
def test_one_edit_reads_as_one_change(old: str, new: str, expected: list[str]) -> None:
    assert changes(edit(old, new)) == expected


def test_sections_and_scores_added_and_removed_read_both_ways() -> None:
    without_routing = cut("routing:", "sla:")
    assert changes(without_routing) == ["routing removed"]
    assert changes(BASE, old=without_routing) == ["routing added"]
    assert changes(BASE, old=cut("grades:", "exit:")) == ["grades added"]
    without_score = cut("scores:", "mql:")
    assert changes(BASE, old=without_score) == ["score security added (intent, 1 rules)"]
    assert changes(without_score) == ["score security removed"]
    two_lists = edit("lists:\n", "lists:\n  rivals:\n    values: [a.com]\n")
    assert changes(BASE, old=two_lists) == ["list rivals removed"]
    assert changes(two_lists) == ["list rivals added: 1 values"]


def test_several_changes_in_the_order_of_the_file() -> None:
    new = edit("points: 40}", "points: 45}", edit("{total: 80}", "{total: 90}",
               edit("recycle_after_days: 14", "recycle_after_days: 7")))
    assert changes(new) == ["intent rule demo changed: points 40 → 45",
                            "mql threshold #2 changed: total 80 → 90",
                            "lifecycle: recycle after days 14 → 7"]


def test_values_as_a_reviewer_reads_them() -> None:
    assert shown(None) == "none"
    assert shown(Decay(45.0)) == "half-life 45 days"
    assert shown(Decay(7.5)) == "half-life 7.5 days"
    assert shown(Decay.none()) == "no decay"
    assert (shown(True), shown(False)) == ("true", "false")
    assert (shown(2.0), shown(0.25), shown(3)) == ("2", "0.25", "3")
    assert shown(frozenset({"b", "a", "c"})) == "[a, b, c]"
    assert shown(("x", 1.5, None)) == "[x, 1.5, none]"
    assert shown(["a", ("b", 2.0)]) == "[a, [b, 2]]"
    assert shown("text") == "text"


def test_routing_changes_of_several_kinds_are_all_said() -> None:
    new = edit("fallback: queue", "fallback: sales",
               edit("    sales:\n", "    sales:\n      manager: boss\n",
                    edit("{name: dana, weight: 2, capacity: 40}",
                         "{name: dana, weight: 2, capacity: 30}")))
    assert changes(new) == ["routing: fallback queue → sales",
                            "routing team sales: manager none → boss",
                            "routing team sales member dana changed: capacity 40 → 30"]


def test_an_added_rule_is_summed_up_without_its_description() -> None:
    new = edit("    - {name: demo, event: demo_request, points: 40}\n",
               "    - {name: demo, event: demo_request, points: 40}\n"
               "    - {name: trial, event: trial_signup, points: 35, description: Trials.}\n")
    assert changes(new) == ["intent rule trial added: event types [trial_signup]; points 35"]


def test_a_score_added_before_a_changed_one_reads_as_both() -> None:
    new = edit("scores:\n", "scores:\n  extra:\n    kind: fit\n    rules:\n      - {name: de, "
               "when: {field: contact.country, op: eq, value: DE}, points: 5}\n",
               edit("        points: 8\n", "        points: 9\n"))
    assert changes(new) == ["score extra added (fit, 1 rules)",
                            "security rule docs changed: points 8 → 9"]


def test_a_grades_change_reads_beside_the_other_changes() -> None:
    new = edit("points: 40}", "points: 45}", edit("fit: {A: 30, B: 10}", "fit: {A: 35, B: 10}"))
    assert changes(new) == ["intent rule demo changed: points 40 → 45",
                            "grades: fit bands [[A, 30], [B, 10]] → [[A, 35], [B, 10]]"]


EXIT = ("exit:\n  below: {intent: 15}\n  when:\n    - name: unsubscribed\n"
        "      when: {activity: email_unsubscribe, within_days: 3}\n"
        "      reason: unsubscribed from our emails\n")


def test_exit_rules_added_and_changed() -> None:
    with_rule = edit("exit:\n  below: {intent: 15}\n", EXIT)
    assert changes(with_rule) == [
        "exit rule unsubscribed added: condition 1+ email_unsubscribe in 3 days; reason "
        "unsubscribed from our emails"]
    assert changes(with_rule.replace("within_days: 3}", "within_days: 7}"), old=with_rule) == [
        "exit rule unsubscribed changed: condition 1+ email_unsubscribe in 3 days → 1+ "
        "email_unsubscribe in 7 days"]


def test_a_list_that_only_loses_values_says_the_first_five() -> None:
    seven = edit("values: [gmail.com, yahoo.com]",
                 "values: [a1.com, a2.com, a3.com, a4.com, a5.com, a6.com, gmail.com]")
    assert changes(edit("values: [gmail.com, yahoo.com]", "values: [gmail.com]"),
                   old=seven) == [
        "list freemail changed: -6 (a1.com, a2.com, a3.com, a4.com, a5.com ...)"]
    assert changes(edit("values: [gmail.com, yahoo.com]", "values: [a6.com, gmail.com]"),
                   old=seven) == [
        "list freemail changed: -5 (a1.com, a2.com, a3.com, a4.com, a5.com)"]


def test_a_routing_change_reads_beside_the_other_changes() -> None:
    new = edit("points: 40}", "points: 45}", edit("fallback: queue", "fallback: sales"))
    assert changes(new) == ["intent rule demo changed: points 40 → 45",
                            "routing: fallback queue → sales"]


def test_a_score_that_changes_kind_reads_as_such() -> None:
    # (this crashed with AttributeError: a fit rule compared field by field to an intent one)
    new = edit("    kind: intent\n    rules:\n      - name: docs\n        event: page_view\n"
               "        when: {field: url, op: contains, value: /security}\n",
               "    kind: fit\n    rules:\n      - name: docs\n"
               "        when: {field: account.industry, op: eq, value: security}\n")
    assert changes(new) == [
        "security score: kind intent → fit",
        "security score: decay half-life 30 days → no decay",  # fit does not decay
        "security rule docs changed: event types [page_view]; points 8; condition url "
        "contains '/security' → condition account.industry eq 'security'; points 8"]


def test_business_hours_changes_read_field_by_field_in_words() -> None:
    new = edit('hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}',
               'hours: {days: [mon, tue, wed, thu], start: "08:30", end: "17:00"}\n'
               '      holidays: ["2026-12-25"]',
               edit("      time_zone: America/New_York", "      time_zone: Europe/Berlin"))
    assert changes(new) == [
        "routing team sales: hours days [mon, tue, wed, thu, fri] → [mon, tue, wed, thu]",
        "routing team sales: hours time zone America/New_York → Europe/Berlin",
        "routing team sales: hours start 09:00 → 08:30",
        "routing team sales: hours holidays [] → [2026-12-25]"]
