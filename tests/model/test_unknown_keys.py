"""An unknown key names the keys its section accepts: at the top, the keys of docs/model.md's
table; in a score, those of its kind (an intent score has a decay, a fit score none); in a
list item, the item's. And conditions read back as text the way explanations show them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model
from tests.model.tiny import BASE

DOCS = Path(__file__).parents[2] / "docs" / "model.md"


def _refusal(text: str) -> tuple[str, list[str]]:
    with pytest.raises(ModelError) as refused:
        parse_model(text)
    [line] = [line for line in str(refused.value).splitlines() if "unknown key" in line]
    where = line.split(": unknown key", 1)[0].split(" ", 1)[1]
    return where, line.split("expected one of: ", 1)[1].rstrip(")").split(", ")


def _top_level_keys() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("| key | required | type | meaning |", 1)[1].split("\n\n", 1)[0]
    return sorted(re.findall(r"^\| `(\w+)` \|", table, flags=re.M))


def test_an_unknown_top_level_key_lists_the_documented_sections() -> None:
    where, keys = _refusal(BASE + "colour: red\n")
    assert where == "colour"
    assert keys == _top_level_keys()
    assert "mql" in keys and "exit" in keys  # the table was found


def test_an_unknown_key_in_a_list_item_lists_that_item_s_keys() -> None:
    rule = BASE.replace("      points: 10\n", "      points: 10\n      weight: 2\n")
    where, keys = _refusal(rule)
    assert where == "fit.rules[0].weight"
    assert {"name", "when", "points"} <= set(keys) and "event" not in keys


def test_an_unknown_key_in_a_score_lists_the_keys_of_its_kind() -> None:
    extra = "scores:\n  sec:\n    kind: KIND\n    rules: []\n    halflife: 3\n"
    where, intent_keys = _refusal(BASE + extra.replace("KIND", "intent"))
    assert where == "scores.sec.halflife"
    _, fit_keys = _refusal(BASE + extra.replace("KIND", "fit"))
    assert "decay" in intent_keys and "decay" not in fit_keys
    assert {"kind", "rules", "max"} <= set(intent_keys) & set(fit_keys)


def test_a_misspelt_key_is_suggested_from_its_section() -> None:
    with pytest.raises(ModelError, match=r"mql\.treshold: unknown key \(did you mean "
                                         r"\"thresholds\"\?"):
        parse_model(BASE.replace("mql:\n", "mql:\n  treshold: 3\n"))


def test_conditions_read_back_as_text() -> None:
    model = parse_model(BASE.replace("  thresholds: {total: 45}\n", """\
  thresholds: {total: 45}
  criteria:
    - name: engaged
      when:
        any:
          - {activity: [demo_request, trial_signup], min_count: 2, within_days: 7.5}
          - activity: page_view
            where: {field: url, op: contains, value: /pricing}
            within_days: 30
          - {not: {field: contact.title, op: exists}}
"""))
    [criterion] = model.mql.criteria
    assert str(criterion.when) == (
        "(2+ demo_request/trial_signup in 7.5 days or "
        "1+ page_view where url contains '/pricing' in 30 days or not contact.title exists)")
