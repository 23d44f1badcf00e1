"""Which `matches` patterns a batch engine cannot run (RE2 for DuckDB, Java regex for Spark),
construct by construct, and the lines `mql validate` prints for them, written by hand from
the two engines' documented regex syntax."""

from __future__ import annotations

import pytest

from mql.model.parse import parse_model
from mql.model.portability import batch_limits, regex_limits

BEHIND = "a look-behind (?<=...)"
NOT_BEHIND = "a look-behind (?<!...)"
AHEAD = "a look-ahead (?=... or (?!...)"
ATOMIC = "an atomic group (?>...)"
CONDITIONAL = "a conditional (?(...)...)"
NAMED_REF = "a named back-reference (?P=name)"
NAMED = "a named group (?P<name>...) (Java spells it (?<name>...))"
BACKREF = "a back-reference (\\1 ...)"
POSSESSIVE = "a possessive quantifier (*+, ++, ?+)"


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"(?<=vp )sales", {"duckdb": [BEHIND]}),
    (r"(?<!vice )president", {"duckdb": [NOT_BEHIND]}),
    (r"cto(?=\b)", {"duckdb": [AHEAD]}),
    (r"cto(?!r)|cfo(?=\b)", {"duckdb": [AHEAD]}),  # both spellings: one construct, once
    (r"(?>ab|a)c", {"duckdb": [ATOMIC]}),
    (r"(a)?(?(1)b|c)", {"duckdb": [CONDITIONAL], "spark": [CONDITIONAL]}),
    (r"(?P<w>a)(?P=w)", {"duckdb": [NAMED_REF], "spark": [NAMED, NAMED_REF]}),
    (r"(a)\1", {"duckdb": [BACKREF]}),
    (r"(a)(b)\2\1", {"duckdb": [BACKREF]}),
    (r"a*+b", {"duckdb": [POSSESSIVE]}),
    (r"a++b", {"duckdb": [POSSESSIVE]}),
    (r"a?+b", {"duckdb": [POSSESSIVE]}),
    (r"a{2}+b", {"duckdb": [POSSESSIVE]}),
    (r"(?<=x)a*+", {"duckdb": [BEHIND, POSSESSIVE]}),
    # what RE2 and Java both run
    (r"\b(vp|chief|director)\b", {}),
    (r"\0", {}),  # a NUL escape, not a back-reference
    (r"a+b*c?", {}),
    (r"(?:a|b)+", {}),  # a non-capturing group
    (r"(?i)cto", {}),
    ("", {}),
    # escapes and classes hide everything special
    (r"\(?=x", {}),
    (r"[(?=]x", {}),
    (r"[\1]", {}),
    (r"[]a(?=]x", {}),  # a leading ] is part of the class
    (r"[^]a(?<=]x", {}),
    (r"[a\]b(?=]", {}),  # an escaped ] does not end the class
    (r"\\(?=x)", {"duckdb": [AHEAD]}),  # an escaped backslash, then a real look-ahead
    (r"[a](?=x)", {"duckdb": [AHEAD]}),  # after the class ends
])
def test_the_constructs_each_engine_cannot_run(pattern: str, expected: dict[str, list[str]]
                                               ) -> None:
    assert regex_limits(pattern) == expected


MODEL = r"""
name: portable
fit:
  rules:
    - name: seller
      when: {field: contact.title, op: matches, value: '(?<=vp )sales'}
      points: 10
    - name: plain
      when: {field: contact.title, op: matches, value: '\bcto\b'}
      points: 5
intent:
  rules:
    - name: docs
      event: page_view
      when: {field: url, op: matches, value: '(?P<p>/docs)(?P=p)'}
      points: 5
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {fit: 10, intent: 30}
  criteria:
    - name: reader
      when:
        any:
          - activity: content_download
            where: {field: asset, op: matches, value: 'a++'}
            within_days: 30
          - {field: contact.country, op: eq, value: US}
  exclude:
    - name: interns
      when: {not: {field: contact.title, op: matches, value: '(?>x)'}}
  fast_track:
    - name: pricing
      event: page_view
      when: {field: url, op: matches, value: '(a)?(?(1)b|c)'}
      within_days: 7
"""


def test_validate_names_the_rule_the_pattern_the_construct_and_the_engine() -> None:
    model = parse_model(MODEL)
    duck = "which DuckDB (RE2) cannot run (mql rescore --engine duckdb)"
    spark = "which Spark (Java regex) cannot run (mql rescore --engine spark)"
    assert batch_limits(model) == [
        f"fit.rules[seller].when: contact.title matches '(?<=vp )sales' uses {BEHIND}, {duck}",
        f"intent.rules[docs].when: url matches '(?P<p>/docs)(?P=p)' uses {NAMED_REF}, {duck}",
        f"intent.rules[docs].when: url matches '(?P<p>/docs)(?P=p)' uses {NAMED} and "
        f"{NAMED_REF}, {spark}",
        f"mql.criteria[reader].when: asset matches 'a++' uses {POSSESSIVE}, {duck}",
        f"mql.exclude[interns].when: contact.title matches '(?>x)' uses {ATOMIC}, {duck}",
        f"mql.fast_track[pricing].when: url matches '(a)?(?(1)b|c)' uses {CONDITIONAL}, {duck}",
        f"mql.fast_track[pricing].when: url matches '(a)?(?(1)b|c)' uses {CONDITIONAL}, "
        f"{spark}",
    ]
    assert batch_limits(model, "spark") == [line for line in batch_limits(model)
                                            if line.endswith("--engine spark)")]
    assert len(batch_limits(model, "spark")) == 2
