"""`mql explain` equals `mql score`, always: every explanation adds up to the score of
every engine (the streaming core, DuckDB; Spark on a couple of drawn cases).

The ledger is built from the same `Scorer` the score comes from, so the rule lines add
up to the score exactly (same additions, same order); the event lines of a rule add up to
its decayed sum up to rounding. The three ways they used to disagree each have a test:
account-level rules counting events of other accounts, free-mail contacts sharing one
"gmail.com" account, and duplicate event ids resolved by time instead of input order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs, connect
from mql.model.parse import parse_model
from mql.model.spec import TOTAL, Model
from mql.records import Account, Contact, Event
from mql.scoring.explain import Explanation, explain
from mql.scoring.qualify import Decision
from mql.scoring.scorer import score
from mql.service import scoring
from tests.parity.test_streaming_equals_batch import (
    ACCOUNTS,
    CONTACTS,
    EXAMPLE,
    T0,
    histories,
    models,
)


def explanations(model: Model, contacts: Sequence[Contact], accounts: Sequence[Account],
                 events: Sequence[Event]) -> dict[str, Explanation]:
    by_domain = {a.domain: a for a in accounts}
    return {c.email: explain(model, c, by_domain.get(c.account or ""), events, at=T0,
                             contacts=contacts) for c in contacts}


def assert_adds_up(model: Model, explanation: Explanation, decision: Decision) -> None:
    """Every score of `decision` is exactly the sum of the explanation's lines, and each
    rule's event lines add up to its decayed sum."""
    for name in model.scores:
        assert explanation.score_total(name) == decision.scores[name], name
    assert explanation.decision.scores == decision.scores
    assert (explanation.decision.mql, explanation.decision.reasons) == (
        decision.mql, decision.reasons)
    for rule in explanation.rules:
        lines = [x.value for x in explanation.ledger
                 if (x.score, x.rule) == (rule.score, rule.rule)]
        if lines:  # a windowed rule has no event lines: its value is its points or 0
            assert math.isclose(sum(lines), rule.decayed, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def duckdb_engine() -> Iterator[Engine]:
    engine = connect("duckdb")
    yield engine
    engine.close()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories())
def test_every_ledger_adds_up_to_the_score_of_every_engine(
        duckdb_engine: Engine, model: Model, events: list[Event]) -> None:
    decisions = {d.contact: d for d in score(model, CONTACTS, ACCOUNTS, events, at=T0)}
    batch = {r["contact"]: r for r in duckdb_engine.rescore(
        model, Inputs(CONTACTS, ACCOUNTS, events), AsOf.at(T0)).to_pylist()}
    for email, explanation in explanations(model, CONTACTS, ACCOUNTS, events).items():
        assert_adds_up(model, explanation, decisions[email])
        for name in (*model.scores, TOTAL):
            total = explanation.score_total(name) if name != TOTAL else (
                explanation.score_total("fit") + explanation.score_total("intent"))
            assert math.isclose(total, batch[email][name], rel_tol=1e-9, abs_tol=1e-9), name
        assert explanation.decision.mql == batch[email]["mql"]


@pytest.mark.spark
@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=models(), events=histories())
def test_every_ledger_adds_up_to_the_spark_score(spark_session: Any, model: Model,
                                                 events: list[Event]) -> None:
    engine = connect("spark", session=spark_session)
    batch = {r["contact"]: r for r in engine.rescore(
        model, Inputs(CONTACTS, ACCOUNTS, events), AsOf.at(T0)).to_pylist()}
    for email, explanation in explanations(model, CONTACTS, ACCOUNTS, events).items():
        assert math.isclose(explanation.score_total("intent"), batch[email]["intent"],
                            rel_tol=1e-9, abs_tol=1e-9)
        assert explanation.decision.mql == batch[email]["mql"]


# -- the three causes, one reproduction each ------------------------------------------------

SURGE_MODEL = parse_model("""
name: surge
fit:
  rules: []
intent:
  rules:
    - {name: seen, event: page_view, points: 10, level: account}
mql:
  thresholds: [{fit: 0, intent: 100}]
""", source="surge.yaml")


def test_an_account_rule_does_not_count_an_event_of_another_accounts_contact() -> None:
    ann = Contact("ann@acme.example", "acme.example")
    cy = Contact("cy@rival.example", "rival.example")
    # cy's page view names no account: it is rival's, not acme's
    events = [Event("v1", "page_view", T0 - timedelta(days=1), contact=cy.email)]
    decision = score(SURGE_MODEL, [ann, cy], [], events, at=T0)[0]
    explained = explain(SURGE_MODEL, ann, None, events, at=T0, contacts=[cy])
    assert decision.intent == explained.score_total("intent") == 0.0
    assert explained.ledger == ()


def test_the_first_copy_of_an_event_id_in_the_file_wins_in_explain_as_in_score() -> None:
    ann = Contact("ann@acme.example", "acme.example")
    # the first copy in the file is the later one in time: it wins, as in the store
    events = [Event("d1", "page_view", T0 - timedelta(days=1), contact=ann.email),
              Event("d1", "page_view", T0 - timedelta(days=40), contact=ann.email)]
    decision = score(SURGE_MODEL, [ann], [], events, at=T0)[0]
    explained = explain(SURGE_MODEL, ann, None, events, at=T0)
    assert [line.at for line in explained.ledger] == [T0 - timedelta(days=1)]
    assert explained.score_total("intent") == decision.intent == 10.0  # no decay in this model


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_free_mail_contacts_never_share_an_account_in_file_mode(tmp_path: Path) -> None:
    contacts = _write(tmp_path / "contacts.csv",
                      "email,title\nann@gmail.com,VP\nbo@gmail.com,CTO\ncy@acme.example,VP\n")
    events = _write(tmp_path / "events.csv",
                    "event_id,type,timestamp,email\n"
                    "v1,page_view,2026-03-01T10:00:00Z,ann@gmail.com\n"
                    "v2,page_view,2026-03-01T11:00:00Z,cy@acme.example\n")
    inputs = scoring.Inputs(contacts, None, events)
    run = scoring.score_files(SURGE_MODEL, inputs, at=T0)
    intent = {d.contact: d.intent for d in run.decisions}
    # ann's page view is not bo's: gmail.com is no company; cy's counts for acme
    assert intent == {"ann@gmail.com": 0.0, "bo@gmail.com": 0.0, "cy@acme.example": 10.0}
    for email, value in intent.items():
        explained = scoring.explain_contact(SURGE_MODEL, inputs, email, at=T0)
        assert explained.score_total("intent") == explained.decision.intent == value


def test_a_free_mail_contact_read_from_a_file_has_no_account(tmp_path: Path) -> None:
    from mql.ingest.formats import contact_from_row

    row = contact_from_row({"email": "Ann@Gmail.com"}, source="c.csv", row=2)
    assert (row.email, row.account) == ("ann@gmail.com", None)
    assert contact_from_row({"email": "jo@acme.example"}, source="c.csv", row=3
                            ).account == "acme.example"


def test_event_names_are_normalised_the_same_way_by_every_engine(
        tmp_path: Path, duckdb_engine: Engine) -> None:
    """"Demo Requested" (Segment's spelling) counts as demo_request in files, the API
    and the batch engines alike."""
    model = parse_model(EXAMPLE.read_text(encoding="utf-8"), source="b2b-saas.yaml")
    contacts = _write(tmp_path / "contacts.csv", "email,title\njo@acme.example,VP Sales\n")
    events = _write(tmp_path / "events.csv",
                    "event_id,type,timestamp,email\n"
                    "e1,Demo Requested,2026-03-01T10:00:00Z,jo@acme.example\n"
                    "e2, Webinar-Attended ,2026-03-01T11:00:00Z,jo@acme.example\n")
    run = scoring.score_files(model, scoring.Inputs(contacts, None, events), at=T0)
    (decision,) = run.decisions
    explained = scoring.explain_contact(model, scoring.Inputs(contacts, None, events),
                                        "jo@acme.example", at=T0)
    assert {line.event_type for line in explained.ledger} == {"demo_request",
                                                               "webinar_attended"}
    batch = duckdb_engine.rescore(model, Inputs([Contact("jo@acme.example", "acme.example",
                                                         {"title": "VP Sales"})], [], events),
                                  AsOf.at(T0)).to_pylist()
    assert decision.intent > 40.0
    assert math.isclose(batch[0]["intent"], decision.intent, rel_tol=1e-9)
    assert "demo" in batch[0]["reasons"] or "fast-track" in batch[0]["reasons"]
