"""Parity of the model language's v2 points (issue 13) between the streaming core and the
batch engines, scores to 1e-9 as in `test_streaming_equals_batch`: value tables, bins and
points per unit on fit fields; floors and weighted totals; per-rule decay,
lifespans, once per hour / day / session and diminishing repeats. Models are drawn; DuckDB runs
every draw, Spark a few."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs, connect
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Account, Contact, Event
from tests.parity.test_streaming_equals_batch import (
    T0,
    as_ofs,
    assert_same,
    histories,
    intent_rules,
    streaming,
)

VALUES = ["vp", "VP", "director", " 250", "250.0", 49.999, 50, 200, "5000", -3, "abc", "",
          None, 1e9, "inf"]
CONTACTS = [Contact(f"c{i}@a{i % 3}.example", f"a{i % 3}.example",
                    {k: v for k, v in (("seniority", VALUES[i % len(VALUES)]),
                                       ("minutes", VALUES[(i * 7) % len(VALUES)]),
                                       ("country", "US" if i % 2 else "de")) if v is not None})
            for i in range(12)]
CONTACTS += [Contact("ann@acme.example", "acme.example", {"country": "us"})]
ACCOUNTS = [Account(f"a{i}.example", {"employees": VALUES[(i * 5 + 3) % len(VALUES)]})
            for i in range(3)] + [Account("acme.example", {"employees": 300})]


@st.composite
def field_rules(draw: st.DrawFn, name: str) -> dict[str, Any]:
    field = draw(st.sampled_from(["contact.seniority", "contact.minutes", "account.employees"]))
    rule: dict[str, Any] = {"name": name}
    kind = draw(st.sampled_from(["table", "bins", "per"]))
    if kind == "table":
        keys = draw(st.lists(st.sampled_from(["vp", "director", 250, "250", 50, "abc"]),
                             min_size=1, max_size=4, unique=True))
        table: dict[Any, Any] = {k: draw(st.sampled_from([-5, 3, 20])) for k in keys}
        if draw(st.booleans()):
            table["default"] = draw(st.sampled_from([-1, 2]))
        rule["points_by"] = {"field": field, "table": table}
    elif kind == "bins":
        edges = sorted(draw(st.lists(st.sampled_from([0, 50, 49.999, 200, 5000]),
                                     min_size=2, max_size=4, unique=True)))
        bins: list[list[Any]] = [[a, b, draw(st.sampled_from([-5, 5, 25]))]
                                 for a, b in itertools.pairwise(edges)]
        if draw(st.booleans()):
            bins[0][0] = None
        if draw(st.booleans()) and bins[-1][0] is not None:
            bins[-1][1] = None
        rule["points_by"] = {"field": field, "bins": bins}
        if draw(st.booleans()):
            rule["points_by"]["default"] = 1.5
    else:
        per: dict[str, Any] = {"field": field, "each": draw(st.sampled_from([0.1, 1, 1.5, 100])),
                               "points": draw(st.sampled_from([-2, 0.3, 2]))}
        if draw(st.booleans()):
            per["cap"] = draw(st.sampled_from([0, 7, 20]))
        rule["points_per"] = per
    if draw(st.booleans()):
        rule["when"] = {"field": "contact.country", "op": "eq", "value": "US"}
    return rule


@st.composite
def v2_intent_rules(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """An intent rule with the keys of issue 13: its own decay, a lifespan, once per
    hour / day / session, a diminishing series."""
    rule = draw(intent_rules(name))
    if "min_count" in rule:
        return rule
    if draw(st.integers(0, 3)) == 0:  # each event's points read from its property
        del rule["points"]
        rule["points_per"] = {"field": "strength", "each": draw(st.sampled_from([1, 7.5, 10])),
                              "points": draw(st.sampled_from([-1, 0.5, 3]))}
        if draw(st.booleans()):
            rule["points_per"]["cap"] = draw(st.sampled_from([0, 12]))
        if draw(st.booleans()):
            rule["decay"] = {"half_life_days": 2}
        return rule
    if draw(st.booleans()):
        rule["decay"] = draw(st.sampled_from(["none", {"half_life_days": 2},
                                              {"half_life_days": 90}]))
    if draw(st.booleans()):
        rule["expires_after_days"] = draw(st.sampled_from([0.5, 3, 7, 30]))
    if draw(st.booleans()):
        rule["once_per"] = draw(st.sampled_from(["hour", "day", "session"]))
    if draw(st.booleans()):
        rule["each_repeat"] = draw(st.sampled_from([0.0, 0.5, 0.9]))
    return rule


@st.composite
def models(draw: st.DrawFn) -> Model:
    doc: dict[str, Any] = {
        "name": "drawn_points",
        "fields": {"contact": ["minutes"]},
        "decay": draw(st.sampled_from(["none", {"half_life_days": 7}])),
        "fit": {"rules": [draw(field_rules(f"f{i}")) for i in range(draw(st.integers(1, 4)))]},
        "intent": {"rules": [draw(v2_intent_rules(f"r{i}"))
                             for i in range(draw(st.integers(0, 4)))]},
        "mql": {"thresholds": [{"fit": draw(st.sampled_from([0, 10, 25]))}]},
    }
    if draw(st.booleans()):
        doc["fit"]["max"] = 30
    if draw(st.booleans()):  # a floor under intent, a second intent score, a weighted total
        doc["intent"]["floor"] = draw(st.sampled_from([-10, 0, 2]))
        doc["scores"] = {"product": {"kind": "intent", "decay": {"half_life_days": 3},
                                     "floor": -4, "rules": [draw(v2_intent_rules("p0"))]}}
        doc["total"] = {"fit": draw(st.sampled_from([0.5, 1.0])),
                        "intent": draw(st.sampled_from([1.0, 2.0])),
                        "product": draw(st.sampled_from([-0.5, 0.5]))}
    return parse_model(yaml.safe_dump(doc, sort_keys=False), source="drawn.yaml")


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[Engine]:
    engine = connect("duckdb")
    yield engine
    engine.close()


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories(), as_of=as_ofs)
def test_duckdb_equals_streaming_on_drawn_field_points(
        duckdb_engine: Engine, model: Model, events: list[Event], as_of: AsOf) -> None:
    expected = streaming(model, CONTACTS, ACCOUNTS, events, as_of)
    actual = duckdb_engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events), as_of)
    assert_same(expected, actual.to_pylist())


@pytest.mark.spark
@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories())
def test_spark_equals_streaming_on_a_few_drawn_field_points(
        spark_session: Any, model: Model, events: list[Event]) -> None:
    engine = connect("spark", session=spark_session)
    expected = streaming(model, CONTACTS, ACCOUNTS, events, AsOf.at(T0))
    assert_same(expected, engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events),
                                         AsOf.at(T0)).to_pylist())


# -- the aggregated lead export example (examples/models/lead-export.yaml) ---------------

def test_duckdb_equals_streaming_on_the_lead_export_example(duckdb_engine: Engine) -> None:
    from importlib.resources import as_file, files

    from mql.ingest import mapping as mappings
    from mql.service.scoring import load_model_file
    from tests.cli.test_lead_export_example import BY_HAND

    with as_file(files("mql").joinpath("examples")) as folder:
        model = load_model_file(folder / "models" / "lead-export.yaml")
        reader = mappings.Reader(folder / "sample" / "lead-export.csv", "contacts",
                                 mappings.resolve(folder / "mappings" / "lead-export.yaml"))
        parsed = [item for _, item in reader.records()]
    contacts = [p.record for p in parsed]  # type: ignore[union-attr]
    accounts = [p.company for p in parsed  # type: ignore[union-attr]
                if p.company is not None and "gmail" not in p.company.domain]
    at = AsOf.at(T0.replace(year=2026, month=12, day=1))
    expected = streaming(model, contacts, accounts, [], at)
    assert {r["contact"]: (r["fit"], r["engagement"]) for r in expected} == BY_HAND
    assert_same(expected, duckdb_engine.rescore(model, Inputs(contacts, accounts, []),
                                                at).to_pylist())


# -- fixed cases with every construct, for DuckDB and Spark -------------------------------

def _fixed_cases() -> list[tuple[Model, list[Contact], list[Account], list[Event], AsOf]]:
    from datetime import timedelta

    from tests.scoring import test_field_points as points
    from tests.scoring import test_rule_decay_and_repeats as activity
    from tests.scoring import test_weighted_total as weighted

    jane = Contact("jane@acme.example", "acme.example", {"country": "US", "seniority": "VP",
                                                         "minutes_on_site": "7.6"})
    acme = Account("acme.example", {"employees": 800})
    series = AsOf(T0 - timedelta(days=2), timedelta(hours=20), 4)
    surge = Event("d", "intent_surge", T0 - timedelta(days=5), account="acme.example",
                  properties={"strength": 85})
    views = [Event(f"v{i}", "page_view", T0 - timedelta(days=i / 3), contact=jane.email,
                   properties={"minutes": i * 1.7}) for i in range(6)]
    return [
        (activity.MODEL, [jane], [acme], activity.history(), series),
        (weighted.MODEL, [jane], [acme], [*activity.history()[:4],
                                          Event("u", "email_unsubscribe", T0, contact=jane.email)],
         series),
        (points.MODEL, [jane], [acme], [], AsOf.at(T0)),
        (points.INTENT, [jane], [acme], [*views, surge], series),
    ]


def test_duckdb_equals_streaming_on_fixed_cases_of_every_construct(
        duckdb_engine: Engine) -> None:
    for model, contacts, accounts, events, as_of in _fixed_cases():
        expected = streaming(model, contacts, accounts, events, as_of)
        assert_same(expected, duckdb_engine.rescore(
            model, Inputs(contacts, accounts, events), as_of).to_pylist())


@pytest.mark.spark
def test_spark_equals_streaming_on_fixed_cases_of_every_construct(spark_session: Any) -> None:
    engine = connect("spark", session=spark_session)
    for model, contacts, accounts, events, as_of in _fixed_cases():
        expected = streaming(model, contacts, accounts, events, as_of)
        assert_same(expected, engine.rescore(model, Inputs(contacts, accounts, events),
                                             as_of).to_pylist())
