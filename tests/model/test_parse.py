"""Valid model files: what they parse to (conditions, decay, MQL paths, grades, names)."""

from __future__ import annotations

import hashlib
import math
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

from mql.errors import ModelError
from mql.model.conditions import Activity, All, AnyOf, Compare, Not
from mql.model.parse import parse_model
from mql.model.spec import QUARTER_DAYS, SECONDS_PER_DAY, Decay, FastTrack, IntentRule, Model
from tests.model.tiny import BASE

EXAMPLE = files("mql").joinpath("examples/models/b2b-saas.yaml")
DOC = Path(__file__).resolve().parents[2] / "docs" / "model.md"



def model_with(**sections: Any) -> Model:
    """BASE with top-level sections replaced or added (given as plain data)."""
    data = yaml.safe_load(BASE)
    data.update(sections)
    return parse_model(yaml.safe_dump(data, sort_keys=False))


def fit_condition(when: Any, **extra: Any) -> Any:
    """The parsed condition of a one-rule fit score."""
    model = model_with(fit={"rules": [{"name": "r", "when": when, "points": 1}]}, **extra)
    return model.fit.rules[0].when


def criterion(when: Any) -> Any:
    model = model_with(mql={"criteria": [{"name": "c", "when": when}]})
    return model.mql.criteria[0].when


# -- the example model ------------------------------------------------------------------


def test_example_model_parses() -> None:
    text = EXAMPLE.read_text()
    model = parse_model(text, source="b2b-saas.yaml")
    assert (model.name, model.version) == ("b2b_saas", "2026.11.1")
    assert list(model.scores) == ["fit", "intent", "security_intent"]
    assert [len(s.rules) for s in model.scores.values()] == [10, 14, 2]
    assert model.digest == hashlib.sha256(text.encode()).hexdigest()
    assert model.fit.max == 100
    assert model.intent.decay == Decay(45.0)
    assert model.scores["security_intent"].decay == Decay.from_loss_per_quarter(0.5)
    assert model.mql.thresholds == (
        (("fit", 50.0), ("intent", 30.0)),
        (("fit", 30.0), ("total", 110.0)),
        (("fit", 45.0), ("security_intent", 30.0)),
    )
    assert [c.name for c in model.mql.criteria] == ["us_midmarket_engaged"]
    assert model.mql.fast_track == (
        FastTrack("demo_request", ("demo_request",), None, 30.0),
        FastTrack("trial_signup", ("trial_signup",), None, 14.0),
    )
    assert [e.name for e in model.mql.exclude] == ["competitor", "student_or_job_seeker"]
    assert model.exit_below == (("intent", 15.0),)
    assert model.grades is not None
    assert model.grades.fit_bands == (("A", 70.0), ("B", 50.0), ("C", 30.0))
    assert (model.grades.fit_floor, model.grades.intent_floor) == ("D", "4")


def test_example_model_rules() -> None:
    model = parse_model(EXAMPLE.read_text())
    rules = {r.name: r for r in model.intent.rules}
    assert isinstance(rules["broad_research"], IntentRule)
    assert rules["broad_research"].windowed
    assert (rules["broad_research"].min_count, rules["broad_research"].within_days) == (3, 30)
    assert rules["broad_research"].window.measure is not None
    assert rules["broad_research"].window.measure.kind == "distinct"
    assert rules["pricing_after_webinar"].window.after is not None
    assert rules["pricing_after_webinar"].window.after.events == ("webinar_attended",)
    assert rules["webinar_attended"].decay is not None
    assert rules["webinar_attended"].decay.half_life_days == 90
    assert rules["account_surge"].level == "account"
    assert rules["account_surge"].where == Compare("strength", "gte", 70)
    assert (rules["careers_page"].points, rules["careers_page"].cap) == (-10, 30)
    assert rules["content_download"].where == Not(Compare("asset_type", "eq", "comparison"))


def test_parsing_is_deterministic() -> None:
    text = EXAMPLE.read_text()
    assert parse_model(text) == parse_model(text)


# -- conditions ---------------------------------------------------------------------------


def test_condition_ast() -> None:
    when = {"all": [
        {"field": "contact.country", "op": "in", "value": ["US", "CA"]},
        {"not": {"field": "account.status", "op": "eq", "value": "competitor"}},
    ]}
    assert fit_condition(when) == All((
        Compare("contact.country", "in", ("US", "CA")),
        Not(Compare("account.status", "eq", "competitor")),
    ))


def test_nested_any_and_operand_shapes() -> None:
    when = {"any": [
        {"field": "account.employees", "op": "between", "value": [50, 500]},
        {"field": "contact.title", "op": "matches", "value": "^vp", "case_sensitive": True},
        {"field": "account.revenue", "op": "missing"},
    ]}
    assert fit_condition(when) == AnyOf((
        Compare("account.employees", "between", (50, 500)),
        Compare("contact.title", "matches", "^vp", True),
        Compare("account.revenue", "missing", None),
    ))


def test_criteria_take_scores_and_activity() -> None:
    when = {"all": [
        {"field": "score.total", "op": "gte", "value": 80},
        {"activity": ["page_view", "content_download"], "min_count": 3, "within_days": 30,
         "where": {"field": "url", "op": "starts_with", "value": "/docs"}},
        {"activity": "demo_request", "within_days": 7},
    ]}
    assert criterion(when) == All((
        Compare("score.total", "gte", 80),
        Activity(("page_view", "content_download"), 3, 30.0,
                 Compare("url", "starts_with", "/docs")),
        Activity(("demo_request",), 1, 7.0, None),
    ))


def test_exclude_takes_activity() -> None:
    model = model_with(mql={"thresholds": {"fit": 10}, "exclude": [
        {"name": "unsubscribed", "when": {"activity": "email_unsubscribe", "within_days": 365}}]})
    assert model.mql.exclude[0].when == Activity(("email_unsubscribe",), 1, 365.0)


def test_event_conditions_take_bare_properties() -> None:
    model = model_with(intent={"rules": [{
        "name": "utm", "event": ["page_view", "ad_click"], "points": 1,
        "when": {"field": "utm_campaign", "op": "ne", "value": "brand"}}]})
    rule = model.intent.rules[0]
    assert isinstance(rule, IntentRule)
    assert rule.events == ("page_view", "ad_click")
    assert rule.where == Compare("utm_campaign", "ne", "brand")


# -- decay --------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [0.25, 0.5])
def test_loss_per_quarter_loses_exactly_that_share_in_a_quarter(loss: float) -> None:
    decay = model_with(decay={"loss_per_quarter": loss}).intent.decay
    assert decay.factor(QUARTER_DAYS * SECONDS_PER_DAY) == 1 - loss


@pytest.mark.parametrize("loss", [0.01, 0.1, 1 / 3, 0.9, 0.999])
def test_loss_per_quarter_formula(loss: float) -> None:
    decay = model_with(decay={"loss_per_quarter": loss}).intent.decay
    assert decay.half_life_days == pytest.approx(
        QUARTER_DAYS * math.log(2) / -math.log(1 - loss), rel=1e-12)
    assert decay.factor(QUARTER_DAYS * SECONDS_PER_DAY) == pytest.approx(1 - loss, rel=1e-12)
    assert decay.factor(2 * QUARTER_DAYS * SECONDS_PER_DAY) == pytest.approx(
        (1 - loss) ** 2, rel=1e-12)


def test_a_quarter_is_a_fourth_of_the_mean_year() -> None:
    assert QUARTER_DAYS == 91.3125
    assert Decay.from_loss_per_quarter(0.5).half_life_days == 91.3125


def test_half_life() -> None:
    decay = model_with(decay={"half_life_days": 45}).intent.decay
    assert decay == Decay(45.0)
    assert decay.factor(45 * SECONDS_PER_DAY) == 0.5
    assert decay.factor(90 * SECONDS_PER_DAY) == 0.25


@pytest.mark.parametrize("word", [None, "none", False])
def test_no_decay(word: Any) -> None:
    sections = {} if word is None else {"decay": word}
    assert model_with(**sections).intent.decay == Decay.none()


def test_decay_inheritance() -> None:
    sec = {"kind": "intent", "rules": []}
    model = model_with(
        decay={"half_life_days": 30},
        intent={"decay": {"half_life_days": 10}, "rules": []},
        scores={"sec": sec, "docs": {**sec, "decay": "none"}},
    )
    assert model.intent.decay == Decay(10.0)  # its own
    assert model.scores["sec"].decay == Decay(30.0)  # the top-level default, not intent's
    assert model.scores["docs"].decay == Decay.none()
    assert model.fit.decay == Decay.none()


# -- the rest of the file -----------------------------------------------------------------


def test_thresholds_one_mapping_or_a_list() -> None:
    one = model_with(mql={"thresholds": {"fit": 50, "intent": 30}})
    many = model_with(mql={"thresholds": [{"fit": 50, "intent": 30}]})
    assert one.mql == many.mql
    assert one.mql.thresholds == ((("fit", 50.0), ("intent", 30.0)),)


def test_fast_track_defaults_and_lists() -> None:
    model = model_with(mql={"fast_track": [
        {"name": "hand_raise", "event": ["demo_request", "trial_signup"]}]})
    assert model.mql.fast_track == (
        FastTrack("hand_raise", ("demo_request", "trial_signup"), None, 30.0),)


def test_custom_scores_can_be_named_everywhere() -> None:
    model = model_with(
        scores={"docs_intent": {"kind": "intent", "max": 50, "rules": [
            {"name": "docs", "event": "page_view", "points": 5,
             "when": {"field": "url", "op": "contains", "value": "/docs"}}]}},
        mql={"thresholds": [{"fit": 10, "docs_intent": 20}],
             "criteria": [{"name": "c", "when": {"field": "score.docs_intent", "op": "gte",
                                                 "value": 40}}]},
        grades={"intent_score": "docs_intent", "fit": {"A": 10}, "intent": {"1": 40, "2": 20}},
        exit={"below": {"docs_intent": 5, "total": 30}},
    )
    assert model.scores["docs_intent"].max == 50
    assert model.grades is not None
    assert model.grades.grade(10, 19.9) == "A3"
    assert model.exit_below == (("docs_intent", 5.0), ("total", 30.0))


def test_grade_floors() -> None:
    model = model_with(grades={"fit": {"A": 70, "B": 50}, "intent": {"1": 60}})
    assert model.grades is not None
    assert [model.grades.grade(f, i) for f, i in [(70, 60), (50, 59.9), (49.9, -5)]] == [
        "A1", "B2", "C2"]


def test_custom_fields_and_event_types() -> None:
    model = model_with(
        fields={"contact": ["partner_tier"], "account": ["arr_band"]},
        event_types=["g2_review", "community_post"],
        fit={"rules": [
            {"name": "gold", "when": {"field": "contact.partner_tier", "op": "eq",
                                      "value": "gold"}, "points": 10},
            {"name": "arr", "when": {"field": "account.arr_band", "op": "exists"}, "points": 5},
        ]},
        intent={"rules": [{"name": "review", "event": "g2_review", "points": 20}]},
        mql={"fast_track": [{"name": "post", "event": "community_post"}]},
    )
    assert model.contact_fields == {"partner_tier"}
    assert model.account_fields == {"arr_band"}
    assert model.event_types == {"g2_review", "community_post"}
    assert model.fit.rules[0].when == Compare("contact.partner_tier", "eq", "gold")


def test_version_is_text() -> None:
    assert model_with(version=3).version == "3"
    assert model_with(version="2026.11").version == "2026.11"


def test_anchors_and_aliases() -> None:
    text = BASE.replace(
        "{field: contact.country, op: eq, value: US}",
        "&us {field: contact.country, op: eq, value: US}",
    ) + "  criteria:\n    - {name: us_only, when: *us}\n"
    model = parse_model(text)
    assert model.mql.criteria[0].when == model.fit.rules[0].when


# -- the file is data, never code ---------------------------------------------------------


def test_python_tags_on_scalars_are_refused() -> None:
    text = BASE.replace("name: tiny", "name: !!python/name:os.system ''")
    with pytest.raises(ModelError, match="could not determine a constructor for the tag"):
        parse_model(text)


def test_python_tags_run_nothing(tmp_path: Path) -> None:
    target = tmp_path / "created"
    text = BASE.replace("name: tiny", f"name: !!python/object/apply:os.mkdir ['{target}']")
    with pytest.raises(ModelError):
        parse_model(text)
    assert not target.exists()
    text = f"!!python/object/apply:os.mkdir ['{target}']\n"
    with pytest.raises(ModelError):
        parse_model(text)
    assert not target.exists()


def test_python_tags_on_mappings_are_refused() -> None:
    text = BASE.replace("fit:\n", "fit: !!python/object:mql.model.document.FitDoc\n")
    with pytest.raises(ModelError, match="tag"):
        parse_model(text)


# -- every YAML example in docs/model.md is valid -----------------------------------------


def _doc_blocks() -> list[str]:
    if not DOC.exists():
        return []
    return re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)


def test_doc_has_yaml_examples() -> None:
    assert len(_doc_blocks()) >= 10


@pytest.mark.parametrize("block", _doc_blocks(), ids=lambda b: b.split("\n", 1)[0][:40])
def test_doc_yaml_example_is_valid(block: str) -> None:
    """A block with `name:` is a whole model; any other block is one or more top-level
    sections, merged into the minimal model (without thresholds, mql keys are merged)."""
    data = yaml.safe_load(block)
    assert isinstance(data, dict)
    if "name" not in data:
        base = yaml.safe_load(BASE)
        for key, value in data.items():
            if key == "mql" and isinstance(value, dict) and "thresholds" not in value:
                base["mql"] = {**base["mql"], **value}
            else:
                base[key] = value
        block = yaml.safe_dump(base, sort_keys=False)
    parse_model(block, source="docs/model.md")
