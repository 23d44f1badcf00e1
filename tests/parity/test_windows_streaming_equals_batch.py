"""Aggregates and sequences in windows (distinct counts, sums, maxima, `after`): the
streaming core and the batch engines agree on drawn models and event histories, at one
time and along series of times, for points rules (contact and account level) and for
MQL criteria; the stored state reads back to the same decisions.

The drawn histories put events on the edges that matter: exactly a window or a gap
apart, at equal times (a sequence needs its earlier events strictly before), with values
missing, negative, not numbers, or numbers written as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs, connect
from mql.model.dump import dump_model
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Event
from mql.scoring.intent import IntentState, state_from_dict, state_to_dict
from mql.scoring.scorer import Scorer, score
from tests.parity.test_streaming_equals_batch import (
    ACCOUNTS,
    CONTACTS,
    T0,
    assert_same,
    streaming,
)

KINDS = ("page_view", "webinar_attended", "demo_request")
URLS = ("/pricing", "/Pricing", "/docs/security", "/careers", "", None)
SECONDS = (30, 120, 300, "90", -50, "n/a", 0, 600, None)
# days before T0: a window (7, 30) or a gap (3, 7) apart, and equal times
DAYS = (0.0, 3.0, 4.0, 7.0, 10.0, 30.0, 37.0)
PRICING = {"field": "url", "op": "contains", "value": "pricing"}
SECURITY = {"field": "url", "op": "starts_with", "value": "/docs"}


@st.composite
def windows(draw: st.DrawFn, event_key: str, where_key: str) -> dict[str, Any]:
    """The keys of one window: a measure or a sequence (or a plain count)."""
    out: dict[str, Any] = {"within_days": draw(st.sampled_from([3, 7, 30]))}
    kind = draw(st.sampled_from(["distinct", "sum", "max", "avg", "after", "after", "count"]))
    if kind == "distinct":
        out["distinct"] = "url"
        out["min_count"] = draw(st.integers(1, 3))
    elif kind in ("sum", "max"):
        out[kind] = "seconds"
        out["at_least"] = draw(st.sampled_from([100, 300, 450, 600]))
    elif kind == "avg":
        out[kind] = "seconds"
        out["at_least"] = draw(st.sampled_from([60, 100, 120, 200]))
    elif kind == "after":
        after: dict[str, Any] = {event_key: draw(st.sampled_from(KINDS)),
                                 "min_count": draw(st.integers(1, 2))}
        if draw(st.integers(0, 2)):
            after["within_days"] = draw(st.sampled_from([3, 7]))
        if draw(st.booleans()):
            after[where_key] = SECURITY
        out["after"] = after
    else:
        out["min_count"] = draw(st.integers(1, 2))
    if draw(st.booleans()):
        out[where_key] = draw(st.sampled_from([PRICING, SECURITY, {"not": PRICING}]))
    return out


@st.composite
def models(draw: st.DrawFn) -> Model:
    rules = []
    for i in range(draw(st.integers(1, 4))):
        rule = {"name": f"w{i}", "event": draw(st.sampled_from(KINDS)),
                "points": draw(st.sampled_from([-10, 5, 20])), **draw(windows("event", "when"))}
        if draw(st.integers(0, 2)) == 0:
            rule["level"] = "account"
            if draw(st.booleans()) and "after" not in rule:
                rule.pop("sum", None)
                rule.pop("max", None)
                rule.pop("avg", None)
                rule.pop("at_least", None)
                rule["distinct"] = "contact"
                rule.setdefault("min_count", 2)
        rules.append(rule)
    if draw(st.booleans()):
        rules.append({"name": "viewed", "event": "page_view", "points": 4})
    doc: dict[str, Any] = {
        "name": "windows",
        "decay": draw(st.sampled_from(["none", {"half_life_days": 7}])),
        "fit": {"rules": []},
        "intent": {"rules": rules},
        "mql": {"thresholds": [{"intent": draw(st.sampled_from([5, 20, 25]))}]},
    }
    if draw(st.booleans()):
        leaf = {"activity": draw(st.sampled_from(KINDS)), **draw(windows("activity", "where"))}
        doc["mql"]["criteria"] = [{"name": "engaged", "when": leaf}]
    if draw(st.booleans()):
        doc["exit"] = {"below": {"intent": 5}}
    return parse_model(yaml.safe_dump(doc, sort_keys=False), source="windows.yaml")


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events = []
    for i in range(draw(st.integers(0, 18))):
        props: dict[str, Any] = {}
        url = draw(st.sampled_from(URLS))
        if url is not None:
            props["url"] = url
        seconds = draw(st.sampled_from(SECONDS))
        if seconds is not None:
            props["seconds"] = seconds
        days = draw(st.sampled_from(DAYS)) + draw(st.sampled_from([0.0, 0.0, 0.0, 0.5, 1e-6]))
        events.append(Event(
            f"e{i}", draw(st.sampled_from(KINDS)), T0 - timedelta(days=days),
            contact=draw(st.sampled_from([*[c.email for c in CONTACTS[:3]], None,
                                          "zed@acme.example"])),  # zed: no contact record
            account=draw(st.sampled_from([None, None, "acme.example"])), properties=props))
    return events


as_ofs = st.sampled_from([AsOf.at(T0), AsOf(T0 - timedelta(days=10), timedelta(days=1), 12),
                          AsOf(T0 - timedelta(days=4), timedelta(hours=12), 9)])


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[Engine]:
    engine = connect("duckdb")
    yield engine
    engine.close()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories(), as_of=as_ofs)
def test_duckdb_equals_streaming_on_drawn_windows(
        duckdb_engine: Engine, model: Model, events: list[Event], as_of: AsOf) -> None:
    expected = streaming(model, CONTACTS, ACCOUNTS, events, as_of)
    actual = duckdb_engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events), as_of)
    assert_same(expected, actual.to_pylist())


@settings(max_examples=60, deadline=None)
@given(model=models(), events=histories(), order=st.randoms(use_true_random=False))
def test_window_states_do_not_depend_on_the_order_and_read_back_from_json(
        model: Model, events: list[Event], order: Any) -> None:
    """Any arrival order gives the same decisions (late events count exactly), and a
    state stored as JSON (contact_scores.state) decides the same."""
    def decisions(evs: list[Event]) -> list[Any]:
        scorer = Scorer(model)
        for c in CONTACTS:
            scorer.add_contact(c)
        for a in ACCOUNTS:
            scorer.add_account(a)
        for e in evs:
            scorer.add(e, until=T0)
        out = []
        for c in CONTACTS:
            d = scorer.decide(c.email, T0)
            out.append((d.scores, d.mql, d.qualified_until, d.exit_at))
            stored = [state_from_dict(json.loads(json.dumps(state_to_dict(s))))
                      for s in scorer.states_of(c.email)]
            again = scorer.qualifier.decide(c, scorer.account_of_contact(c.email), *stored, T0)
            assert (again.scores, again.mql, again.qualified_until, again.exit_at) == out[-1]
        return out

    shuffled = list(events)
    order.shuffle(shuffled)
    assert decisions(events) == decisions(shuffled)


@settings(max_examples=40, deadline=None)
@given(model=models(), events=histories())
def test_merged_states_equal_one_state_of_all_events(model: Model,
                                                     events: list[Event]) -> None:
    """Two records of one person merged: the state of all their events."""
    scorer = Scorer(model)
    program = scorer.program
    mine = [e for e in events if e.contact is not None and e.at <= T0]
    whole, left, right = IntentState.empty(), IntentState.empty(), IntentState.empty()
    for i, e in enumerate(mine):
        whole = whole.add(e, program)
        if i % 2:
            left = left.add(e, program)
        else:
            right = right.add(e, program)
    merged = left.merge(right, program)
    for leaf, key in program.activity_keys.items():
        for days in (0, 1, 5, 29):
            at = T0 + timedelta(days=days)
            assert merged.holds(key, at, leaf.within_days) == whole.holds(
                key, at, leaf.within_days)
        assert merged.expiry(key, leaf.within_days) == whole.expiry(key, leaf.within_days)
    for named in model.scores.values():
        for rule in named.rules:
            key = f"{named.name}.{rule.name}"
            if getattr(rule, "windowed", False):
                assert merged.expiry(key, rule.within_days) == whole.expiry(  # type: ignore[union-attr]
                    key, rule.within_days)  # type: ignore[union-attr]


@settings(max_examples=30, deadline=None)
@given(model=models())
def test_drawn_window_models_read_back_from_their_dump(model: Model) -> None:
    assert parse_model(dump_model(model)) == model


@pytest.mark.spark
@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories(), as_of=as_ofs)
def test_spark_equals_streaming_on_a_few_drawn_windows(
        spark_session: Any, model: Model, events: list[Event], as_of: AsOf) -> None:
    engine = connect("spark", session=spark_session)
    expected = streaming(model, CONTACTS, ACCOUNTS, events, as_of)
    assert_same(expected, engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events),
                                         as_of).to_pylist())


# -- every construct at once, on both engines ---------------------------------------------------

def every_construct() -> tuple[Model, list[Event]]:
    from tests.scoring.test_windows_golden import GOLDEN

    attentive = ("    - {name: attentive, event: page_view, avg: seconds, at_least: 200, "
                 "within_days: 30, points: 7}\n")
    model = parse_model(GOLDEN.replace("intent:\n  rules:\n", "intent:\n  rules:\n" + attentive),
                        source="windows.yaml")
    ann, bo = CONTACTS[0].email, CONTACTS[1].email
    spec = [  # (days ago, kind, contact, properties)
        (40, "page_view", ann, {"url": "/docs/security/a", "seconds": 300}),
        (33, "page_view", ann, {"url": "/docs/security/b", "seconds": "250"}),
        (25, "demo_request", ann, {}),
        (21, "webinar_attended", ann, {}),
        (16, "page_view", ann, {"url": "/pricing", "seconds": 90}),
        (14, "page_view", bo, {"url": "/pricing", "seconds": 400}),
        (12, "webinar_attended", bo, {}),
        (5, "page_view", bo, {"url": "/pricing", "seconds": -5}),
        (5, "page_view", ann, {"url": "/Pricing", "seconds": 310}),
        (2, "form_submit", bo, {}),
        (1, "page_view", ann, {"url": " ", "seconds": "n/a"}),
    ]
    events = [Event(f"x{i}", kind, T0 - timedelta(days=days), contact=who,
                    account="acme.example", properties=props)
              for i, (days, kind, who, props) in enumerate(spec)]
    return model, events


EVERY_AS_OF = AsOf(T0 - timedelta(days=30), timedelta(days=3), 14)


def test_duckdb_equals_streaming_on_every_window_construct(duckdb_engine: Engine) -> None:
    model, events = every_construct()
    expected = streaming(model, CONTACTS, ACCOUNTS, events, EVERY_AS_OF)
    assert any(r["mql"] for r in expected) and len({r["intent"] for r in expected}) > 4
    actual = duckdb_engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events), EVERY_AS_OF)
    assert_same(expected, actual.to_pylist())


@pytest.mark.spark
def test_spark_equals_streaming_on_every_window_construct(spark_session: Any) -> None:
    model, events = every_construct()
    engine = connect("spark", session=spark_session)
    expected = streaming(model, CONTACTS, ACCOUNTS, events, EVERY_AS_OF)
    assert_same(expected, engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events),
                                         EVERY_AS_OF).to_pylist())
    single = AsOf.at(T0)
    assert_same(streaming(model, CONTACTS, ACCOUNTS, events, single),
                engine.rescore(model, Inputs(CONTACTS, ACCOUNTS, events), single).to_pylist())


# -- the moments windows close ---------------------------------------------------------------

@settings(max_examples=80, deadline=None)
@given(model=models(), events=histories())
def test_exit_and_qualified_until_are_the_exact_moments_windows_close(
        model: Model, events: list[Event]) -> None:
    """Without new events, a decision at the exit moment is under the exit line and one
    a microsecond earlier is not; likewise the contact stops qualifying exactly at its
    qualified-until moment (windows close: their steps end there)."""
    us = timedelta(microseconds=1)

    def at(t: Any) -> dict[str, Any]:
        return {d.contact: d for d in score(model, CONTACTS, ACCOUNTS, events, at=t)}

    now = at(T0)
    for email, d in now.items():
        if d.exit_at is not None and d.exit_at > T0:
            event("exit moment checked")
            line = dict(model.exit_below)["intent"]
            assert at(d.exit_at)[email].intent < line <= at(d.exit_at - us)[email].intent
        if d.qualified_until is not None:
            event("qualified-until moment checked")
            assert at(d.qualified_until - us)[email].mql
            assert not at(d.qualified_until)[email].mql
