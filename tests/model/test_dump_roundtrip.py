"""dump_model is the inverse of parse_model: parse_model(dump_model(m)) == m."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.dump import dump_model
from mql.model.parse import parse_model

names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
points = st.floats(min_value=-100, max_value=100, allow_nan=False).map(lambda x: round(x, 3))
texts = st.text(alphabet="abcdefghij/-_ ", min_size=1, max_size=12)
fields = st.sampled_from(["contact.country", "contact.title", "account.employees",
                          "account.industry", "contact.seniority"])
props = st.sampled_from(["url", "asset_type", "campaign", "utm_source"])


def leaf(field_names: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    return st.one_of(
        st.builds(lambda f, op, v: {"field": f, "op": op, "value": v}, field_names,
                  st.sampled_from(["eq", "ne", "contains", "starts_with", "ends_with"]), texts),
        st.builds(lambda f, v: {"field": f, "op": "in", "value": v}, field_names,
                  st.lists(texts, min_size=1, max_size=3)),
        st.builds(lambda f, lo, span: {"field": f, "op": "between", "value": [lo, lo + span]},
                  field_names, st.integers(0, 1000), st.integers(0, 1000)),
        st.builds(lambda f, op: {"field": f, "op": op}, field_names,
                  st.sampled_from(["exists", "missing"])),
        st.builds(lambda f: {"field": f, "op": "gte", "value": 5, "case_sensitive": True},
                  field_names),
    )


def conditions(field_names: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    return st.recursive(
        leaf(field_names),
        lambda inner: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
        ),
        max_leaves=5,
    )


@st.composite
def models(draw: st.DrawFn) -> dict:
    fit_rules = [{"name": f"f{i}", "when": draw(conditions(fields)), "points": draw(points)}
                 for i in range(draw(st.integers(0, 4)))]
    intent_rules = []
    for i in range(draw(st.integers(1, 5))):
        rule = {"name": f"r{i}", "event": draw(st.sampled_from(
            ["page_view", "demo_request", "email_click", ["webinar_attended", "event_scan"]])),
            "points": draw(points)}
        if draw(st.booleans()):
            rule["when"] = draw(conditions(props))
        if draw(st.booleans()):
            rule["min_count"], rule["within_days"] = draw(st.integers(1, 5)), draw(
                st.integers(1, 90))
        elif draw(st.booleans()):
            rule["cap"] = abs(draw(points))
        intent_rules.append(rule)
    decay = draw(st.one_of(st.just("none"),
                           st.builds(lambda h: {"half_life_days": h}, st.integers(1, 400)),
                           st.builds(lambda q: {"loss_per_quarter": q},
                                     st.floats(min_value=0.01, max_value=0.99))))
    return {
        "name": draw(names),
        "decay": decay,
        "fit": {"rules": fit_rules},
        "intent": {"rules": intent_rules, "max": draw(st.one_of(st.none(), st.just(100)))},
        "mql": {
            "thresholds": [{"fit": draw(points), "intent": draw(points)}],
            "criteria": [{"name": "c", "when": {"all": [
                draw(conditions(fields)),
                {"activity": "page_view", "min_count": 2, "within_days": 30}]}}],
            "fast_track": [{"name": "demo", "event": "demo_request", "within_days": 7}],
        },
        "grades": {"fit": {"A": 70, "B": 40}, "intent": {"1": 50, "2": 20, "3": 5}},
        "exit": {"below": {"intent": 10}},
    }


@settings(max_examples=150, deadline=None)
@given(models())
def test_parse_of_dump_gives_the_same_model(data: dict) -> None:
    model = parse_model(yaml.safe_dump(data, sort_keys=False), source="gen.yaml")
    again = parse_model(dump_model(model), source="dumped.yaml")
    assert again == model


def test_the_example_model_round_trips(example_model) -> None:
    assert parse_model(dump_model(example_model)) == example_model
