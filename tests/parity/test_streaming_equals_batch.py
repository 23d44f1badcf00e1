"""The streaming core and every batch engine agree: scores to 1e-9 (relative, or absolute
near zero), and the MQL decision, its reasons, exclusions and grade, for every contact.

Hypothesis draws models (fit and intent rules, points, caps, windows, account-level rules,
decay, thresholds, criteria with activity, fast track, exclusions, grades) and event sets
(duplicate ids, late and future events, account-only events) and compares DuckDB with the
streaming core on each; Spark runs on a few fixed cases (its start-up costs seconds).
The example model runs on a small synthetic world, through CSV, JSONL and Parquet files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs, connect
from mql.batch.python import decisions_table
from mql.ingest.mapping import load
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Account, Contact, Event
from mql.scoring.scorer import score
from mql.service.synth import write_world

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).parents[2] / "examples" / "models" / "b2b-saas.yaml"


def assert_same(expected: Sequence[dict[str, Any]], actual: Sequence[dict[str, Any]],
                model: Model | None = None) -> None:
    """Row for row (by contact and time): floats to 1e-9, everything else equal.

    With `model`: a decision (grade, MQL, reasons) may differ only where a score of the
    row lies on one of the model's lines (a grade band, a threshold) and the two engines'
    values of it differ by rounding (within 1e-9): the series engines carry decay as a
    scaled prefix sum, so 40 at an event's own moment can read 39.99999999999999."""
    def keyed(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, datetime], dict[str, Any]]:
        return {(r["contact"], r["as_of"]): r for r in rows}

    lines: set[float] = set()
    if model is not None:
        if model.grades is not None:
            lines |= {low for _, low in (*model.grades.fit_bands, *model.grades.intent_bands)}
        lines |= {low for minimums in model.mql.thresholds for _, low in minimums}

    def on_a_line(row: dict[str, Any], other: dict[str, Any]) -> bool:
        return any(isinstance(v, float) and v != other[n] and any(
            math.isclose(v, line, rel_tol=1e-9, abs_tol=1e-9)
            or math.isclose(other[n], line, rel_tol=1e-9, abs_tol=1e-9) for line in lines)
            for n, v in row.items())

    want, got = keyed(expected), keyed(actual)
    assert want.keys() == got.keys()
    for key, row in want.items():
        other = got[key]
        tie = on_a_line(row, other)
        for name, value in row.items():
            if isinstance(value, float):
                assert math.isclose(value, other[name], rel_tol=1e-9, abs_tol=1e-9), (
                    key, name, value, other[name])
            elif tie and name in ("grade", "mql", "reasons", "excluded_by", "qualified_until"):
                continue
            elif name in ("reasons", "excluded_by"):
                assert set(value.split("; ")) == set(other[name].split("; ")), (key, name)
            else:
                assert value == other[name], (key, name, value, other[name])


def streaming(model: Model, contacts: Sequence[Contact], accounts: Sequence[Account],
              events: Sequence[Event], as_of: AsOf) -> list[dict[str, Any]]:
    decisions = [d for t in as_of.times()
                 for d in score(model, contacts, accounts, events, at=t)]
    rows: list[dict[str, Any]] = decisions_table(model, decisions).to_pylist()
    return rows


# -- drawn models and histories ------------------------------------------------------------

TYPES = ("page_view", "demo_request", "content_download", "webinar_attended", "intent_surge")
URLS = ("/pricing", "/Pricing/enterprise", "/careers", "/docs/security", "", " ", None)
DAYS = (0.0, 0.5, 1.0, 2.0, 3.0, 6.999, 7.0, 7.5, 13.0, 30.0, 45.0, 90.0, -1.0)


@st.composite
def event_conditions(draw: st.DrawFn) -> dict[str, Any]:
    leaf = draw(st.sampled_from([
        {"field": "url", "op": "contains", "value": "/pricing"},
        {"field": "url", "op": "starts_with", "value": "/docs"},
        {"field": "url", "op": "eq", "value": "/careers"},
        {"field": "url", "op": "matches", "value": "pric(e|ing)"},
        {"field": "url", "op": "missing"},
        {"field": "strength", "op": "gte", "value": 70},
        {"field": "strength", "op": "between", "value": [20, 80]},
        {"field": "asset_type", "op": "in", "value": ["whitepaper", "comparison"]},
    ]))
    return {"not": leaf} if draw(st.booleans()) and leaf["op"] != "missing" else leaf


@st.composite
def intent_rules(draw: st.DrawFn, name: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": name, "event": draw(st.sampled_from(TYPES)),
                            "points": draw(st.sampled_from([-20, -5, 3, 10, 25, 40]))}
    if draw(st.booleans()):
        rule["when"] = draw(event_conditions())
    if draw(st.integers(0, 3)) == 0:
        rule["min_count"] = draw(st.integers(1, 3))
        rule["within_days"] = draw(st.sampled_from([0.5, 3, 7, 30]))
    elif draw(st.booleans()):
        rule["cap"] = draw(st.sampled_from([5, 15, 30, 60]))
    if draw(st.integers(0, 3)) == 0:
        rule["level"] = "account"
    return rule


FIT_LEAVES = [
    {"field": "account.employees", "op": "gte", "value": 200},
    {"field": "account.employees", "op": "between", "value": [50, 500]},
    {"field": "contact.country", "op": "in", "value": ["US", "CA"]},
    {"field": "contact.title", "op": "matches", "value": r"\b(vp|chief)\b"},
    {"field": "account.status", "op": "ne", "value": "competitor"},
    {"field": "contact.title", "op": "missing"},
]


@st.composite
def models(draw: st.DrawFn) -> Model:
    fit = [{"name": f"f{i}", "when": leaf, "points": draw(st.sampled_from([-10, 5, 15, 30]))}
           for i, leaf in enumerate(draw(st.lists(st.sampled_from(FIT_LEAVES), max_size=3)))]
    intent = [draw(intent_rules(f"r{i}")) for i in range(draw(st.integers(1, 5)))]
    doc: dict[str, Any] = {
        "name": "drawn",
        "decay": draw(st.sampled_from(["none", {"half_life_days": 1}, {"half_life_days": 7},
                                       {"half_life_days": 45}, {"loss_per_quarter": 0.25}])),
        "fit": {"rules": fit},
        "intent": {"rules": intent},
        "mql": {"thresholds": [{"fit": draw(st.sampled_from([0, 15])),
                                "intent": draw(st.sampled_from([5, 20, 40]))}]},
    }
    if draw(st.booleans()):
        doc["intent"]["max"] = draw(st.sampled_from([20, 50]))
    if draw(st.booleans()):
        doc["mql"]["criteria"] = [{"name": "busy", "when": {"all": [
            {"activity": draw(st.sampled_from(TYPES)), "min_count": draw(st.integers(1, 3)),
             "within_days": draw(st.sampled_from([1, 7, 30]))},
            {"field": "score.total", "op": "gte", "value": draw(st.sampled_from([0, 10]))}]}}]
    if draw(st.booleans()):
        doc["mql"]["fast_track"] = [{"name": "demo", "event": "demo_request",
                                     "within_days": draw(st.sampled_from([1, 14]))}]
    if draw(st.booleans()):
        doc["mql"]["exclude"] = [{"name": "rival", "when": {
            "field": "account.status", "op": "eq", "value": "competitor"}}]
    if draw(st.booleans()):
        doc["grades"] = {"fit": {"A": 30, "B": 10}, "intent": {"1": 40, "2": 10}}
    if draw(st.booleans()):  # exit lines: the exit moment is part of every decision row
        doc["exit"] = {"below": draw(st.sampled_from([{"intent": 3}, {"total": 10},
                                                      {"intent": 15, "total": 30}]))}
    return parse_model(yaml.safe_dump(doc, sort_keys=False), source="drawn.yaml")


CONTACTS = [Contact("ann@acme.example", "acme.example", {"country": "us", "title": "VP Sales"}),
            Contact("bo@acme.example", "acme.example", {"country": "DE"}),
            Contact("cy@rival.example", "rival.example", {"title": "Chief of Staff"}),
            Contact("di@solo.example", "solo.example", {"country": "CA"})]
ACCOUNTS = [Account("acme.example", {"employees": 300}),
            Account("rival.example", {"employees": "80", "status": "Competitor"})]


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events = []
    for i in range(draw(st.integers(0, 25))):
        who = draw(st.sampled_from([*[c.email for c in CONTACTS], None, "zed@acme.example"]))
        props: dict[str, Any] = {}
        url = draw(st.sampled_from(URLS))
        if url is not None:
            props["url"] = url
        if draw(st.booleans()):
            props["strength"] = draw(st.sampled_from([10, 70, 85.5, "75", "high"]))
        if draw(st.booleans()):
            props["asset_type"] = draw(st.sampled_from(["Whitepaper", "comparison", "ebook"]))
        days = draw(st.sampled_from(DAYS)) + draw(st.sampled_from([0.0, 0.25, 1e-6]))
        events.append(Event(
            f"e{draw(st.integers(0, 30)) if draw(st.integers(0, 4)) == 0 else 100 + i}",
            draw(st.sampled_from(TYPES)), T0 - timedelta(days=days), contact=who,
            account=draw(st.sampled_from([None, None, "acme.example", "rival.example"])),
            properties=props))
    return events


as_ofs = st.sampled_from([AsOf.at(T0), AsOf(T0 - timedelta(days=8), timedelta(days=2), 5),
                          AsOf(T0 - timedelta(hours=12), timedelta(hours=6), 3)])


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[Engine]:
    engine = connect("duckdb")
    yield engine
    engine.close()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories(), as_of=as_ofs)
def test_duckdb_equals_streaming_on_drawn_models_and_histories(
        duckdb_engine: Engine, model: Model, events: list[Event], as_of: AsOf) -> None:
    expected = streaming(model, CONTACTS, ACCOUNTS, events, as_of)
    actual = duckdb_engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events), as_of)
    assert_same(expected, actual.to_pylist(), model)


# -- the example model on a synthetic world, through files -----------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small dirty world (duplicates, malformed rows) in each file format."""
    paths: dict[str, Path] = {}
    for fmt in ("csv", "jsonl", "parquet"):
        out = tmp_path_factory.mktemp(fmt)
        write_world(out, accounts=60, months=4, seed=11, fmt=fmt, dirty=0.3)
        paths[fmt] = out
    return paths


def _inputs(folder: Path) -> tuple[Inputs, list[Event]]:
    files = {k: next(folder.glob(f"{k}.*")) for k in ("contacts", "accounts", "events")}
    events: list[Event] = load(files["events"], "events").records
    inputs = Inputs(load(files["contacts"], "contacts").records,
                    load(files["accounts"], "accounts").records, files["events"])
    return inputs, events


def _at(events: list[Event]) -> datetime:
    return max(e.at for e in events) - timedelta(days=20, microseconds=1)


@pytest.fixture(scope="module")
def example_model() -> Model:
    return parse_model(EXAMPLE.read_text(), source=str(EXAMPLE))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_duckdb_equals_streaming_on_a_synthetic_world(
        duckdb_engine: Engine, example_model: Model, world: dict[str, Path], fmt: str) -> None:
    inputs, events = _inputs(world[fmt])
    as_of = AsOf(_at(events) - timedelta(days=30), timedelta(days=3), 11)
    expected = streaming(example_model, inputs.contacts, inputs.accounts, events, as_of)
    actual = duckdb_engine.rescore(example_model, inputs, as_of).to_pylist()
    assert sum(r["mql"] for r in expected) > 0
    assert_same(expected, actual)


@pytest.mark.spark
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_spark_equals_streaming_on_a_synthetic_world(
        spark_session: Any, example_model: Model, world: dict[str, Path], fmt: str) -> None:
    engine = connect("spark", session=spark_session)
    inputs, events = _inputs(world[fmt])
    as_of = AsOf(_at(events), timedelta(days=7), 2 if fmt == "parquet" else 1)
    expected = streaming(example_model, inputs.contacts, inputs.accounts, events, as_of)
    assert_same(expected, engine.rescore(example_model, inputs, as_of).to_pylist())


# each drawn case is a few Spark jobs on the session the whole test session shares:
# measured on the shared two-core machine (load ~10), 1 case 95 s, 3 cases 146 s, 12
# cases 439 s, so about 27 s a case after the first; 6 by default, MQL_SPARK_EXAMPLES=N
# for a longer run
SPARK_EXAMPLES = int(os.environ.get("MQL_SPARK_EXAMPLES", "6"))


@pytest.mark.spark
@settings(max_examples=SPARK_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories(), as_of=as_ofs)
def test_spark_equals_streaming_on_a_few_drawn_cases(
        spark_session: Any, model: Model, events: list[Event], as_of: AsOf) -> None:
    engine = connect("spark", session=spark_session)
    expected = streaming(model, CONTACTS, ACCOUNTS, events, as_of)
    assert_same(expected, engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events),
                                         as_of).to_pylist())
