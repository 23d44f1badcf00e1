"""Every kind of mistake in a model file, reported as file:line:column field: message.

Each case takes a small valid model (`BASE`), injects one mistake and compares the full
text of every problem. Line numbers refer to `BASE` (lines 1-13); appended sections start
at line 14.
"""

from __future__ import annotations

import pytest

from mql.errors import ModelError, Problem
from mql.model.parse import parse_model
from tests.model.tiny import BASE

US = "{field: contact.country, op: eq, value: US}"
OPERATORS = ("eq, ne, in, not_in, gt, gte, lt, lte, between, contains, starts_with, "
             "ends_with, matches, exists, missing, in_list, not_in_list")
TOP_KEYS = ("accounts, attribution, consent, decay, description, event_types, exit, fields, "
            "fit, grades, intent, lifecycle, list_values, lists, mql, name, nurture, outcomes, "
            "reports, "
            "routing, scores, sla, tests, total, version")


def edit(old: str, new: str, text: str = BASE) -> str:
    """`text` with its one occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def fit_when(condition: str) -> str:
    """BASE with the fit rule's condition replaced."""
    return edit(US, condition)


def rule_extra(lines: str) -> str:
    """BASE with `lines` added to the intent rule (each indented as a rule key)."""
    extra = "".join(f"\n      {line}" for line in lines.splitlines())
    return edit("points: 40", "points: 40" + extra)


def mql_extra(section: str) -> str:
    """BASE with `section` (indented two spaces) added under mql."""
    return BASE + "".join(f"  {line}\n" for line in section.splitlines())


def errors(text: str, source: str = "m.yaml") -> list[str]:
    """Every problem `parse_model` reports for `text`, as lines."""
    with pytest.raises(ModelError) as info:
        parse_model(text, source=source)
    lines = str(info.value).splitlines()
    count = len(info.value.problems)
    assert lines[-1] == f"{count} error" + ("" if count == 1 else "s")
    assert lines[:-1] == [str(p) for p in info.value.problems]
    return lines[:-1]


def test_base_is_valid() -> None:
    assert parse_model(BASE).name == "tiny"


CASES = [
    # -- YAML itself ---------------------------------------------------------------------
    pytest.param(
        "name: tiny\nfit: {rules: [}\n",
        "m.yaml:2:15 not valid YAML: expected the node content, but found '}'",
        id="yaml-syntax",
    ),
    pytest.param(
        "name: tiny\nfit:\n\trules: []\n",
        "m.yaml:3:1 not valid YAML: found character '\\t' that cannot start any token",
        id="yaml-tab-indent",
    ),
    pytest.param(
        rule_extra("points: 50"),
        "m.yaml:12:7 intent.rules[0].points: duplicate key (YAML keeps only the last)",
        id="duplicate-key",
    ),
    pytest.param(
        BASE + "name: other\n",
        "m.yaml:14:1 name: duplicate key (YAML keeps only the last)",
        id="duplicate-top-level-key",
    ),
    pytest.param(
        "- fit\n- intent\n",
        "m.yaml:1:1 expected a mapping of sections (name, fit, intent, mql ...) at the top of "
        "the file",
        id="not-a-mapping",
    ),
    pytest.param(
        "",
        "m.yaml:1:1 expected a mapping of sections (name, fit, intent, mql ...) at the top of "
        "the file",
        id="empty-file",
    ),
    pytest.param(
        edit("name: tiny", "name: !!python/name:os.system ''"),
        "m.yaml:1:7 not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/name:os.system'",
        id="python-tag-on-scalar",
    ),
    pytest.param(
        edit("name: tiny", "name: !include other.yaml"),
        "m.yaml:1:7 not valid YAML: could not determine a constructor for the tag '!include'",
        id="custom-tag-on-scalar",
    ),
    # -- shape (schema) --------------------------------------------------------------------
    pytest.param(
        BASE + "colour: red\n",
        f"m.yaml:14:1 colour: unknown key (expected one of: {TOP_KEYS})",
        id="unknown-top-level-key",
    ),
    pytest.param(
        rule_extra("capp: 5"),
        "m.yaml:12:7 intent.rules[0].capp: unknown key (did you mean \"cap\"? expected one of: "
        "after, at_least, avg, cap, decay, description, distinct, each_repeat, event, "
        "expires_after_days, level, max, min_count, name, once_per, points, points_per, sum, "
        "when, within_days)",
        id="unknown-key-in-intent-rule",
    ),
    pytest.param(
        edit("points: 10", "points: 10\n      cap: 5"),
        "m.yaml:7:7 fit.rules[0].cap: unknown key (expected one of: description, name, "
        "points, points_by, points_per, when)",
        id="unknown-key-in-fit-rule",
    ),
    pytest.param(
        mql_extra("threshold: {fit: 3}"),
        "m.yaml:14:3 mql.threshold: unknown key (did you mean \"thresholds\"? expected one of: "
        "criteria, exclude, fast_track, thresholds)",
        id="unknown-key-in-mql",
    ),
    pytest.param(
        edit("fit:\n", "fit:\n  decay: none\n"),
        "m.yaml:3:3 fit.decay: unknown key (expected one of: description, floor, max, rules)",
        id="decay-on-fit",
    ),
    pytest.param(
        edit("points: 40", "points: ten"),
        'm.yaml:11:15 intent.rules[0].points: expected a number, got "ten"',
        id="points-not-a-number",
    ),
    pytest.param(
        edit("points: 40", "points: .inf"),
        "m.yaml:11:15 intent.rules[0].points: must be a finite number, got inf",
        id="points-infinite",
    ),
    pytest.param(
        edit("{total: 45}", "{total: high}"),
        'm.yaml:13:15 mql.thresholds[0].total: expected a number, got "high"',
        id="threshold-not-a-number",
    ),
    pytest.param(
        edit("      points: 40\n", ""),
        "m.yaml:9:7 intent.rules[0]: points is required",
        id="missing-points",
    ),
    pytest.param(
        edit("      when: {field: contact.country, op: eq, value: US}\n", ""),
        "m.yaml:4:7 fit.rules[0]: when is required",
        id="missing-when-in-fit-rule",
    ),
    pytest.param(
        edit("name: tiny\n", ""),
        "m.yaml:1:1 name is required",
        id="missing-model-name",
    ),
    pytest.param(
        edit("name: tiny", "name: Tiny Model"),
        'm.yaml:1:7 name: "Tiny Model" is not a valid name (use lower case letters, digits '
        "and underscores, starting with a letter)",
        id="invalid-model-name",
    ),
    pytest.param(
        edit("name: us", "name: US Rule"),
        'm.yaml:4:13 fit.rules[0].name: "US Rule" is not a valid name (use lower case '
        "letters, digits and underscores, starting with a letter)",
        id="invalid-rule-name",
    ),
    pytest.param(
        rule_extra("level: company"),
        "m.yaml:12:14 intent.rules[0].level: expected 'contact' or 'account', got \"company\"",
        id="bad-level",
    ),
    pytest.param(
        rule_extra("cap: -5"),
        "m.yaml:12:12 intent.rules[0].cap: must be greater than or equal to 0, got -5",
        id="negative-cap",
    ),
    pytest.param(
        edit(
            "rules:\n    - name: demo\n      event: demo_request\n      points: 40\n",
            "rules: {}\n",
        ),
        "m.yaml:8:10 intent.rules: expected a list, got a mapping",
        id="rules-not-a-list",
    ),
    pytest.param(
        edit("  thresholds: {total: 45}\n", ""),
        "m.yaml:12:5 mql: expected a mapping (key: value), got nothing",
        id="mql-section-blank",
    ),
    pytest.param(
        BASE + "scores:\n  sec:\n    rules: []\n",
        "m.yaml:16:5 scores.sec: kind is required (fit or intent)",
        id="score-without-kind",
    ),
    # -- events, fields, operators -------------------------------------------------------
    pytest.param(
        edit("event: demo_request", "event: demo_requestt"),
        'm.yaml:10:14 intent.rules[0].event: unknown event "demo_requestt" (did you mean '
        '"demo_request"?); declare custom types under event_types',
        id="unknown-event-type",
    ),
    pytest.param(
        edit("event: demo_request", "event: [page_view, demo_requestt]"),
        'm.yaml:10:26 intent.rules[0].event[1]: unknown event "demo_requestt" (did you mean '
        '"demo_request"?); declare custom types under event_types',
        id="unknown-event-type-in-list",
    ),
    pytest.param(
        fit_when("{field: contact.contry, op: eq, value: US}"),
        'm.yaml:5:21 fit.rules[0].when.field: unknown contact field "contry" (did you mean '
        '"country"?); declare custom ones under fields.contact',
        id="unknown-contact-field",
    ),
    pytest.param(
        fit_when("{field: account.employes, op: gte, value: 50}"),
        'm.yaml:5:21 fit.rules[0].when.field: unknown account field "employes" (did you mean '
        '"employees"?); declare custom ones under fields.account',
        id="unknown-account-field",
    ),
    pytest.param(
        fit_when("{field: lead.country, op: eq, value: US}"),
        'm.yaml:5:21 fit.rules[0].when.field: unknown field "lead.country"; fields here are '
        "contact.<name> or account.<name>",
        id="unknown-field-prefix",
    ),
    pytest.param(
        fit_when("{field: score.intent, op: gte, value: 5}"),
        'm.yaml:5:21 fit.rules[0].when.field: unknown field "score.intent"; fields here are '
        "contact.<name> or account.<name>",
        id="score-field-in-fit",
    ),
    pytest.param(
        fit_when("{field: contact.country, op: eqq, value: US}"),
        "m.yaml:5:42 fit.rules[0].when.op: unknown operator \"eqq\" (did you mean \"eq\"?); "
        f"operators are {OPERATORS}",
        id="unknown-operator",
    ),
    pytest.param(
        fit_when("{field: contact.country, value: US}"),
        "m.yaml:5:13 fit.rules[0].when: op is required",
        id="missing-operator",
    ),
    pytest.param(
        fit_when("{field: contact.title, op: matches, value: '(vp|director'}"),
        "m.yaml:5:56 fit.rules[0].when.value: not a valid regular expression: missing ), "
        "unterminated subpattern at position 0",
        id="bad-regex",
    ),
    pytest.param(
        fit_when("{field: account.employees, op: between, value: 50}"),
        "m.yaml:5:60 fit.rules[0].when.value: between expects [low, high] numbers, got 50",
        id="between-not-a-pair",
    ),
    pytest.param(
        fit_when("{field: account.employees, op: between, value: [500, 50]}"),
        "m.yaml:5:60 fit.rules[0].when.value: between expects low <= high, got [500, 50]",
        id="between-reversed",
    ),
    pytest.param(
        fit_when("{field: account.employees, op: gte, value: many}"),
        "m.yaml:5:56 fit.rules[0].when.value: gte expects a number, got \"many\"",
        id="numeric-operator-with-text",
    ),
    pytest.param(
        fit_when("{field: contact.country, op: in, value: US}"),
        "m.yaml:5:53 fit.rules[0].when.value: in expects a non-empty list, got \"US\"",
        id="in-without-list",
    ),
    pytest.param(
        fit_when("{field: contact.country, op: exists, value: US}"),
        "m.yaml:5:50 fit.rules[0].when.value: exists takes no value",
        id="exists-with-value",
    ),
    pytest.param(
        fit_when("{field: contact.country, op: eq}"),
        "m.yaml:5:13 fit.rules[0].when: value is required for eq",
        id="missing-value",
    ),
    pytest.param(
        fit_when("{field: contact.country, op: eq, value: US, case_sensitive: maybe}"),
        "m.yaml:5:73 fit.rules[0].when.case_sensitive: expected true or false, got \"maybe\"",
        id="case-sensitive-not-bool",
    ),
    pytest.param(
        fit_when("{field: contact.country, op: eq, value: US, vale: 3}"),
        "m.yaml:5:57 fit.rules[0].when.vale: unknown key (expected case_sensitive, field, op, "
        'value) (did you mean "value"?)',
        id="unknown-key-in-condition",
    ),
    pytest.param(
        fit_when("country is US"),
        "m.yaml:5:13 fit.rules[0].when: expected a condition: {field, op, value}, "
        "{all: [...]}, {any: [...]} or {not: ...}",
        id="condition-not-a-mapping",
    ),
    pytest.param(
        fit_when("{all: []}"),
        "m.yaml:5:19 fit.rules[0].when.all: expected a non-empty list of conditions",
        id="empty-all",
    ),
    pytest.param(
        fit_when("{all: [{field: contact.country, op: exists}], any: []}"),
        "m.yaml:5:59 fit.rules[0].when.any: unknown key (expected all)",
        id="all-and-any-together",
    ),
    # -- where each kind of condition may be used ----------------------------------------
    pytest.param(
        fit_when("{activity: page_view, within_days: 30}"),
        "m.yaml:5:14 fit.rules[0].when.activity: activity conditions belong in mql.criteria",
        id="activity-in-fit",
    ),
    pytest.param(
        rule_extra("when: {activity: page_view, within_days: 30}"),
        "m.yaml:12:14 intent.rules[0].when.activity: activity conditions belong in "
        "mql.criteria",
        id="activity-in-intent-rule",
    ),
    pytest.param(
        rule_extra("when: {field: contact.country, op: eq, value: US}"),
        "m.yaml:12:21 intent.rules[0].when.field: conditions on events test event properties "
        "(url, asset, utm_source ...); contact.country belongs in fit rules or mql.criteria",
        id="event-condition-names-contact-field",
    ),
    pytest.param(
        rule_extra("when: {field: utm-source, op: eq, value: x}"),
        "m.yaml:12:21 intent.rules[0].when.field: \"utm-source\" is not a property name",
        id="event-condition-bad-property-name",
    ),
    pytest.param(
        mql_extra("fast_track:\n  - name: big\n    event: demo_request\n"
                  "    when: {field: account.employees, op: gt, value: 5}"),
        "m.yaml:17:21 mql.fast_track[0].when.field: conditions on events test event "
        "properties (url, asset, utm_source ...); account.employees belongs in fit rules or "
        "mql.criteria",
        id="fast-track-condition-names-account-field",
    ),
    pytest.param(
        mql_extra("criteria:\n  - name: c\n    when: {field: url, op: exists}"),
        'm.yaml:16:21 mql.criteria[0].when.field: unknown field "url"; fields here are '
        "contact.<name> or account.<name> or score.<name>",
        id="event-property-in-criteria",
    ),
    pytest.param(
        mql_extra("criteria:\n  - name: c\n    when: {field: score.intnt, op: gte, value: 5}"),
        'm.yaml:16:21 mql.criteria[0].when.field: unknown score field "intnt" (did you mean '
        '"intent"?)',
        id="unknown-score-in-criteria",
    ),
    pytest.param(
        mql_extra("criteria:\n  - name: c\n    when: {activity: page_view}"),
        "m.yaml:16:13 mql.criteria[0].when: within_days is required (how recent the activity "
        "must be)",
        id="activity-without-within-days",
    ),
    pytest.param(
        mql_extra("criteria:\n  - name: c\n    when: {activity: page_veiw, within_days: 3}"),
        'm.yaml:16:24 mql.criteria[0].when.activity: unknown event "page_veiw" (did you mean '
        '"page_view"?); declare custom types under event_types',
        id="activity-unknown-event",
    ),
    pytest.param(
        mql_extra("criteria:\n  - name: c\n"
                  "    when: {activity: page_view, min_count: 0, within_days: 3}"),
        "m.yaml:16:46 mql.criteria[0].when.min_count: expected a whole number >= 1, got 0",
        id="activity-min-count-zero",
    ),
    # -- intent rules, decay -------------------------------------------------------------
    pytest.param(
        rule_extra("min_count: 3"),
        "m.yaml:12:18 intent.rules[0].min_count: a windowed rule needs both min_count and "
        "within_days; add within_days",
        id="min-count-without-within-days",
    ),
    pytest.param(
        rule_extra("within_days: 30"),
        "m.yaml:12:20 intent.rules[0].within_days: a windowed rule needs both min_count and "
        "within_days; add min_count",
        id="within-days-without-min-count",
    ),
    pytest.param(
        rule_extra("min_count: 3\nwithin_days: 30\ncap: 10"),
        "m.yaml:14:12 intent.rules[0].cap: a windowed rule (min_count) scores its points once; "
        "cap has no effect here, remove it",
        id="windowed-rule-with-cap",
    ),
    pytest.param(
        BASE + "decay: {loss_per_quarter: 1.5}\n",
        "m.yaml:14:27 decay.loss_per_quarter: must be between 0 and 1 (exclusive), got 1.5",
        id="loss-per-quarter-above-one",
    ),
    pytest.param(
        BASE + "decay: {half_life_days: -1}\n",
        "m.yaml:14:25 decay.half_life_days: must be greater than 0, got -1",
        id="negative-half-life",
    ),
    pytest.param(
        BASE + "decay: {half_life: 30}\n",
        "m.yaml:14:9 decay.half_life: unknown key (expected half_life_days or "
        'loss_per_quarter) (did you mean "half_life_days"?)',
        id="unknown-decay-key",
    ),
    pytest.param(
        BASE + "decay: {half_life_days: 30, loss_per_quarter: 0.2}\n",
        "m.yaml:14:8 decay: expected none, {half_life_days: N} or {loss_per_quarter: F}",
        id="two-decay-keys",
    ),
    pytest.param(
        edit("intent:\n", "intent:\n  decay: fast\n"),
        "m.yaml:8:10 intent.decay: expected none, {half_life_days: N} or {loss_per_quarter: F}",
        id="decay-word",
    ),
    # -- names and references ------------------------------------------------------------
    pytest.param(
        edit("{total: 45}", "{totl: 45}"),
        'm.yaml:13:16 mql.thresholds.totl: unknown score "totl" (did you mean "total"?); '
        "scores are fit, intent, total",
        id="unknown-score-in-thresholds",
    ),
    pytest.param(
        edit("{total: 45}", "[{fit: 10}, {intnt: 45}]"),
        'm.yaml:13:28 mql.thresholds[1].intnt: unknown score "intnt" (did you mean '
        '"intent"?); scores are fit, intent, total',
        id="unknown-score-in-threshold-list",
    ),
    pytest.param(
        edit("{total: 45}", "[{}]"),
        "m.yaml:13:16 mql.thresholds[0]: name at least one score and its threshold",
        id="empty-threshold-set",
    ),
    pytest.param(
        BASE + "exit:\n  below: {intnt: 5}\n",
        'm.yaml:15:11 exit.below.intnt: unknown score "intnt" (did you mean "intent"?); '
        "scores are fit, intent, total",
        id="unknown-score-in-exit",
    ),
    pytest.param(
        BASE + "scores:\n  total:\n    kind: fit\n    rules: []\n",
        'm.yaml:15:3 scores.total: "total" is reserved; choose another name',
        id="reserved-score-name",
    ),
    pytest.param(
        edit("      points: 40\n",
             "      points: 40\n    - name: demo\n      event: trial_signup\n      points: 5\n"),
        'm.yaml:12:13 intent.rules[1].name: another rule is already named "demo"',
        id="duplicate-rule-name",
    ),
    pytest.param(
        mql_extra("fast_track:\n  - {name: f, event: demo_request}\n"
                  "  - {name: f, event: trial_signup}"),
        'm.yaml:16:14 mql.fast_track[1].name: another fast-track rule is already named "f"',
        id="duplicate-fast-track-name",
    ),
    pytest.param(
        edit("mql:\n  thresholds: {total: 45}\n", "mql: {}\n"),
        "m.yaml:12:6 mql: the MQL definition is empty; give thresholds, criteria or fast_track",
        id="empty-mql",
    ),
    pytest.param(
        mql_extra("fast_track:\n  - name: f\n    event: []"),
        "m.yaml:16:14 mql.fast_track[0].event: name at least one event type",
        id="fast-track-without-event",
    ),
    pytest.param(
        mql_extra("fast_track:\n  - {name: f, event: demo_request, within_days: 0}"),
        "m.yaml:15:51 mql.fast_track[0].within_days: must be greater than 0, got 0",
        id="fast-track-within-days-zero",
    ),
    # -- grades ----------------------------------------------------------------------------
    pytest.param(
        BASE + "grades:\n  fit: {B: 50, A: 70}\n  intent: {'1': 60}\n",
        "m.yaml:15:8 grades.fit: name the bands A, B in that order, each with its minimum "
        "score (the band below B is C)",
        id="grade-bands-out-of-order",
    ),
    pytest.param(
        BASE + "grades:\n  fit: {A: 50, B: 70}\n  intent: {'1': 60}\n",
        "m.yaml:15:8 grades.fit: band minimums must not increase from the best band down",
        id="grade-minimums-increase",
    ),
    pytest.param(
        BASE + "grades:\n  fit_score: fitt\n  fit: {A: 50}\n  intent: {'1': 60}\n",
        'm.yaml:15:14 grades.fit_score: unknown score "fitt" (did you mean "fit"?)',
        id="grades-unknown-score",
    ),
    pytest.param(
        BASE + "grades:\n  fit: {A: 70}\n",
        "m.yaml:15:3 grades: intent is required",
        id="grades-without-intent",
    ),
    pytest.param(
        BASE + "fields:\n  contact: [Partner Tier]\n",
        'm.yaml:15:13 fields.contact[0]: "Partner Tier" is not a valid name (use lower case '
        "letters, digits and underscores, starting with a letter)",
        id="custom-field-bad-name",
    ),
    # -- messages once reported as confusing, now fixed; and the ones still open --------
    pytest.param(
        BASE + "scores:\n  sec:\n    kind: other\n    rules: []\n",
        'm.yaml:16:11 scores.sec.kind: kind must be fit or intent, got "other"',
        id="score-kind-invalid",
        marks=pytest.mark.xfail(strict=True, reason=(
            'says "got a mapping" (the whole score) and points at the score, not at kind')),
    ),
    pytest.param(
        BASE + "scores:\n  Sec:\n    kind: fit\n    rules: []\n",
        'm.yaml:15:3 scores.Sec: "Sec" is not a valid name (use lower case letters, digits '
        "and underscores, starting with a letter)",
        id="score-name-invalid",
        marks=pytest.mark.xfail(strict=True, reason=(
            'the path reads "scores.Sec.[key]" (pydantic loc) and the mark is the value')),
    ),
    pytest.param(
        rule_extra("min_count: 2.5\nwithin_days: 3"),
        "m.yaml:12:18 intent.rules[0].min_count: expected a whole number, got 2.5",
        id="min-count-fraction",
    ),
    pytest.param(
        edit("name: tiny", "name: " + "a" * 70),
        "m.yaml:1:7 name: at most 64 characters, got 70",
        id="name-too-long",
    ),
    pytest.param(
        BASE + "decay: {half_life_days: ten}\n",
        'm.yaml:14:25 decay.half_life_days: expected a number, got "ten"',
        id="half-life-not-a-number",
    ),
    pytest.param(
        edit("points: 40", "points: true"),
        "m.yaml:11:15 intent.rules[0].points: expected a number, got true",
        id="points-boolean",
    ),
    pytest.param(
        edit("name: tiny", "name: tiny\nversion: 1.10"),
        "m.yaml:2:10 version: 1.10 reads as the number 1.1; quote it: \"1.10\"",
        id="version-read-as-number",
        marks=pytest.mark.xfail(strict=True, reason=(
            'version: 1.10 is silently stored as "1.1" (a YAML float turned into text)')),
    ),
    pytest.param(
        BASE + "grades:\n  fit: {A: 70}\n  intent: {1: 60, 2: 35}\n",
        None,
        id="grade-digits-unquoted",
    ),
    pytest.param(
        BASE + "grades:\n  fit: {}\n  intent: {'1': 60}\n",
        "m.yaml:15:8 grades.fit: name at least one band (A)",
        id="grades-empty-bands",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_one_mistake(text: str, expected: str | None) -> None:
    if expected is None:  # the text should be valid
        parse_model(text, source="m.yaml")
        return
    assert errors(text) == [expected]


def test_problem_fields() -> None:
    with pytest.raises(ModelError) as info:
        parse_model(edit("points: 40", "points: ten"), source="models/tiny.yaml")
    (problem,) = info.value.problems
    assert isinstance(problem, Problem)
    assert (problem.source, problem.line, problem.column, problem.path, problem.message) == (
        "models/tiny.yaml", 11, 15, "intent.rules[0].points", 'expected a number, got "ten"')
    assert str(info.value) == (
        'models/tiny.yaml:11:15 intent.rules[0].points: expected a number, got "ten"\n1 error')


def test_model_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown key"):
        parse_model(BASE + "colour: red\n")


def test_default_source_name() -> None:
    assert errors(BASE + "colour: red\n", source="model.yaml")[0].startswith("model.yaml:14:1 ")


def test_several_mistakes_reported_at_once_in_line_order() -> None:
    text = edit("contact.country", "contact.contry")
    text = edit("event: demo_request", "event: demo_requestt", text)
    text = edit("{total: 45}", "{totl: 45}", text)
    text += "decay: {loss_per_quarter: 1.5}\ngrades:\n  fit: {B: 50, A: 70}\n  intent: {'1': 1}\n"
    with pytest.raises(ModelError) as info:
        parse_model(text, source="m.yaml")
    lines = str(info.value).splitlines()
    assert lines == [
        'm.yaml:5:21 fit.rules[0].when.field: unknown contact field "contry" (did you mean '
        '"country"?); declare custom ones under fields.contact',
        'm.yaml:10:14 intent.rules[0].event: unknown event "demo_requestt" (did you mean '
        '"demo_request"?); declare custom types under event_types',
        'm.yaml:13:16 mql.thresholds.totl: unknown score "totl" (did you mean "total"?); '
        "scores are fit, intent, total",
        "m.yaml:14:27 decay.loss_per_quarter: must be between 0 and 1 (exclusive), got 1.5",
        "m.yaml:16:8 grades.fit: name the bands A, B in that order, each with its minimum "
        "score (the band below B is C)",
        "5 errors",
    ]
    assert [p.line for p in info.value.problems] == [5, 10, 13, 14, 16]


def test_several_schema_mistakes_reported_at_once() -> None:
    text = edit("points: 40", "points: ten") + "colour: red\n"
    text = edit("      when: {field: contact.country, op: eq, value: US}\n", "", text)
    assert errors(text) == [
        "m.yaml:4:7 fit.rules[0]: when is required",
        'm.yaml:10:15 intent.rules[0].points: expected a number, got "ten"',
        f"m.yaml:13:1 colour: unknown key (expected one of: {TOP_KEYS})",
    ]


def test_duplicate_keys_reported_with_schema_mistakes() -> None:
    text = rule_extra("points: 50") + "colour: red\n"
    assert errors(text) == [
        "m.yaml:12:7 intent.rules[0].points: duplicate key (YAML keeps only the last)",
        f"m.yaml:15:1 colour: unknown key (expected one of: {TOP_KEYS})",
    ]


def test_one_activity_leaf_with_two_mistakes() -> None:
    text = mql_extra("criteria:\n  - name: c\n    when: {activity: page_view, within: 3}")
    # `within` is a calendar window now (this_quarter ...): a number there is a slip
    assert errors(text) == [
        "m.yaml:16:43 mql.criteria[0].when.within: expected this_quarter, this_month, "
        "this_week, got 3 (for a number of days: within_days: 3)",
    ]


def test_undeclared_custom_names_are_refused() -> None:
    text = fit_when("{field: contact.partner_tier, op: eq, value: gold}")
    text = edit("event: demo_request", "event: g2_review", text)
    assert errors(text) == [
        'm.yaml:5:21 fit.rules[0].when.field: unknown contact field "partner_tier"; declare '
        "custom ones under fields.contact",
        'm.yaml:10:14 intent.rules[0].event: unknown event "g2_review"; declare custom types '
        "under event_types",
    ]


def test_schema_and_semantic_mistakes_reported_together() -> None:
    text = edit("points: 40", "points: ten")
    text = edit("contact.country", "contact.contry", text)
    assert len(errors(text)) == 2


@pytest.mark.xfail(strict=True, reason=(
    "a YAML merge key with an override (<<: *a, name: b) is reported as a duplicate key; "
    "YAML says the explicit key wins"))
def test_merge_key_override_is_not_a_duplicate() -> None:
    text = mql_extra("fast_track:\n  - &ft {name: a, event: demo_request}\n"
                     "  - {<<: *ft, name: b}")
    model = parse_model(text)
    assert [f.name for f in model.mql.fast_track] == ["a", "b"]


def test_control_characters_are_a_model_error_not_a_crash() -> None:
    with pytest.raises(ModelError, match="not valid YAML: unacceptable character"):
        parse_model(BASE.replace("tiny", "ti\x07ny"), source="m.yaml")
