"""One contract for every batch engine: python (the streaming core), duckdb and spark.

Each test states one promise of the model language (docs/model.md) and checks that an
engine keeps it; the python engine is `mql.scoring.score`, so it passing is the proof the
promise is the core's and the SQL engines passing is parity on that promise.
"""

from __future__ import annotations

import csv
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mql.batch.asof import AsOf
from mql.batch.conditions import EngineUnsupported
from mql.batch.engines import Engine, Inputs, connect
from mql.ingest.formats import EVENT_COLUMNS, event_to_row
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Account, Contact, Event
from tests.conftest import T0, account, contact, event

MODEL = parse_model((Path(__file__).parent / "models" / "contract.yaml").read_text(),
                    source="contract.yaml")
JANE = contact("jane@acme.example", country="US", title="VP Marketing")
ACME = account("acme.example", employees=250)


def rows(engine: Engine, events: list[Event], *, contacts: list[Contact] | None = None,
         accounts: list[Account] | None = None, at: AsOf | None = None,
         model: Model = MODEL) -> list[dict[str, Any]]:
    inputs = Inputs(contacts if contacts is not None else [JANE],
                    accounts if accounts is not None else [ACME], events)
    table = engine.rescore(model, inputs, at or AsOf.at(T0))
    return sorted(table.to_pylist(), key=lambda r: (r["contact"], r["as_of"]))


def one(engine: Engine, events: list[Event], **kwargs: Any) -> dict[str, Any]:
    (row,) = rows(engine, events, **kwargs)
    return row


def test_decay_halves_points_every_half_life(engine: Engine) -> None:
    row = one(engine, [event("demo_request", 10)])
    assert math.isclose(row["intent"], 20.0, rel_tol=1e-12)


def test_a_cap_limits_a_rule_and_a_negative_rule_is_capped_at_minus_cap(engine: Engine
                                                                         ) -> None:
    views = [event("page_view", 0, url="/pricing", event_id=f"p{i}") for i in range(4)]
    careers = [event("page_view", 0, url="/careers/x", event_id=f"c{i}") for i in range(2)]
    row = one(engine, views + careers)
    # pricing 40 capped at 25, careers -20 capped at -15, 6 views in 7 days: +5
    assert row["intent"] == pytest.approx(25 - 15 + 5, rel=1e-12)


def test_a_window_holds_for_events_in_t_minus_w_exclusive_to_t_inclusive(engine: Engine
                                                                        ) -> None:
    edge = [event("page_view", 7, event_id="old"), event("page_view", 1, event_id="a"),
            event("page_view", 0, event_id="b")]
    assert one(engine, edge)["intent"] == 0.0  # the view 7 days ago is out of (t-7d, t]
    inside = [*edge[1:], event("page_view", 6.99, event_id="c")]
    assert one(engine, inside)["intent"] == 5.0


def test_events_after_the_scoring_time_are_ignored(engine: Engine) -> None:
    row = one(engine, [event("demo_request", -1)])
    assert row["intent"] == 0.0
    assert not row["mql"]


def test_the_first_copy_of_an_event_id_in_input_order_is_applied_once(engine: Engine) -> None:
    copies = [event("demo_request", 0, event_id="e1"), event("demo_request", 0, event_id="e1"),
              event("trial_signup", 0, event_id="e1")]
    row = one(engine, copies)
    assert row["intent"] == 40.0
    assert "fast-track trial" not in row["reasons"]
    # the first copy wins whatever its time (docs/ingest.md, as the store keeps the first
    # copy ingested): a first copy later than T hides a later copy dated before T
    later_first = [event("trial_signup", -2, event_id="e2"), event("demo_request", 0,
                                                                    event_id="e2")]
    assert one(engine, later_first)["intent"] == 0.0


def test_account_level_rules_count_every_event_of_the_account(engine: Engine) -> None:
    bob = contact("bob@acme.example", country="DE")
    surges = [event("intent_surge", 0, contact=None, account="acme.example", strength=80,
                    event_id="s1"),
              event("intent_surge", 0, contact="bob@acme.example", strength="75",
                    event_id="s2"),
              event("intent_surge", 0, contact=None, account="acme.example", strength=10,
                    event_id="s3")]
    result = rows(engine, surges, contacts=[JANE, bob])
    assert [r["intent"] for r in result] == [20.0, 20.0]  # 24 capped at 20, for both


def test_missing_values_fail_every_operator_but_missing_and_not_turns_them_true(
        engine: Engine) -> None:
    nobody = contact("nobody@nowhere.example")
    row = one(engine, [], contacts=[nobody], accounts=[])
    assert row["fit"] == -5 + 3  # title missing; "not competitor" holds without an account


def test_text_is_case_insensitive_and_numbers_read_from_text(engine: Engine) -> None:
    shouty = contact("al@big.example", country="us", title="Chief Executive")
    big = account("big.example", employees="1200")
    row = one(engine, [], contacts=[shouty], accounts=[big])
    assert row["fit"] == 20 + 10 + 3 + 7
    assert row["grade"] == "A4"


def test_criteria_with_activity_qualify_and_exclusions_win(engine: Engine) -> None:
    views = [event("page_view", 1, event_id="v1"), event("page_view", 2, event_id="v2")]
    row = one(engine, views)
    assert row["mql"] and row["reasons"] == "criteria us_browser"
    rival = account("acme.example", employees=250, status="competitor")
    excluded = one(engine, [*views, event("trial_signup", 0)], accounts=[rival])
    assert not excluded["mql"]
    assert (excluded["reasons"], excluded["excluded_by"]) == ("", "competitor")


def test_thresholds_and_fast_track_give_their_reasons(engine: Engine) -> None:
    row = one(engine, [event("demo_request", 0), event("trial_signup", 13.5)])
    assert row["mql"]
    assert row["reasons"] == "thresholds #1; fast-track trial"
    assert row["grade"] == "A2"


def test_a_daily_series_scores_every_contact_at_every_day(engine: Engine) -> None:
    series = AsOf(T0 - timedelta(days=3), timedelta(days=1), 4)
    events = [event("demo_request", 2.5, event_id="d"), event("page_view", 1.5, event_id="p1"),
              event("page_view", 1.2, event_id="p2"), event("page_view", 0.5, event_id="p3",
                                                               url="/pricing")]
    result = rows(engine, events, at=series)
    assert [r["as_of"] for r in result] == [t.replace(tzinfo=None) for t in series.times()]
    assert result[0]["intent"] == 0.0
    assert result[1]["intent"] == pytest.approx(40 * 2 ** (-0.5 / 10), rel=1e-12)
    assert [r["mql"] for r in result] == [False, True, True, True]
    assert result[3]["intent"] == pytest.approx(40 * 2 ** -0.25 + 10 * 2 ** -0.05 + 5)


FAST = parse_model("""
name: fast
decay: {half_life_days: 0.01}
fit: {rules: []}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40, cap: 60}
    - {name: browsing, event: page_view, min_count: 2, within_days: 0.5, points: 5}
    - {name: surge, level: account, event: intent_surge, points: 12}
mql:
  thresholds: [{intent: 1}]
""", source="fast.yaml")


def test_a_series_of_many_half_lives_is_scored_in_parts_exactly(engine: Engine) -> None:
    # 300 hours of a 14.4-minute half-life: 1250 half-lives, more than one query spans
    series = AsOf(T0 - timedelta(hours=299), timedelta(hours=1), 300)
    events = [event("demo_request", days, event_id=f"d{i}") for i, days in
              enumerate((12.4, 9.01, 9.0, 4.2, 0.3))]
    events += [event("page_view", days, event_id=f"p{i}") for i, days in
               enumerate((11.0, 10.9, 6.0, 5.95, 5.9))]
    events += [event("demo_request", 2.0, event_id="d1"),  # a later copy of d1
               event("intent_surge", 7.5, contact=None, account="acme.example", event_id="s")]
    expected = rows(connect("python"), events, at=series, model=FAST)
    result = rows(engine, events, at=series, model=FAST)
    assert [r["as_of"] for r in result] == [r["as_of"] for r in expected]
    for got, want in zip(result, expected, strict=True):
        assert math.isclose(got["intent"], want["intent"], rel_tol=1e-9, abs_tol=1e-9)
        assert got["mql"] == want["mql"]
    assert any(r["mql"] for r in result) and not all(r["mql"] for r in result)


@pytest.mark.notimpl(["python"], raises=EngineUnsupported,
                     reason="the python engine scores records; mql.ingest reads files")
def test_events_are_read_from_csv_files_in_the_synth_layout(engine: Engine,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows(event_to_row(e) for e in [event("demo_request", 10),
                                                   event("page_view", 0, url="/Pricing")])
    row = one(engine, path)  # type: ignore[arg-type]
    assert row["intent"] == pytest.approx(20.0 + 10.0, rel=1e-12)


@pytest.mark.notimpl(["python"], raises=EngineUnsupported,
                     reason="the python engine scores records; mql.ingest reads files")
def test_a_contact_keyed_by_its_crm_id_gets_its_events_in_that_ids_case(
        engine: Engine, tmp_path: Path) -> None:
    """A lead export without emails: the contact and its events are keyed by the CRM id
    (`salesforce:00Q1aB`), and Salesforce ids are case-sensitive: `00Q1AB` is another."""
    kim = Contact("salesforce:00Q1aB", "acme.example", {"country": "US"})
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows(event_to_row(e) for e in [
            event("demo_request", 10, contact="salesforce:00Q1aB"),
            event("demo_request", 10, contact="salesforce:00Q1AB", event_id="other")])
    row = one(engine, path, contacts=[kim])  # type: ignore[arg-type]
    assert row["contact"] == "salesforce:00Q1aB"
    assert row["intent"] == pytest.approx(20.0, rel=1e-12)


@pytest.mark.notimpl(["python"], raises=EngineUnsupported,
                     reason="the python engine scores records; mql.ingest reads files")
def test_one_engine_reads_a_file_then_records(engine: Engine, tmp_path: Path) -> None:
    # the DuckDB engine kept the file's view under the records' name and refused them
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, EVENT_COLUMNS)
        writer.writeheader()
        writer.writerow(event_to_row(event("demo_request", 10)))
    assert one(engine, path)["intent"] == pytest.approx(20.0, rel=1e-12)  # type: ignore[arg-type]
    assert one(engine, [event("demo_request", 0)])["intent"] == 40.0
