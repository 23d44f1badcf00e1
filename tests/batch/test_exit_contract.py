"""Exits on conditions (docs/model.md, "exit"): while one holds, no engine qualifies the
contact; its reasons are empty and it is not an exclusion."""

from __future__ import annotations

from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs
from tests.conftest import T0, account, contact, event
from tests.lifecycle.test_exit_conditions import MODEL


def test_an_exit_condition_blocks_the_verdict_in_every_engine(engine: Engine) -> None:
    contacts = [contact("jane@acme.example", country="US"),
                contact("bo@acme.example", country="US"),
                contact("al@rival.example", country="US"),
                contact("cy@acme.example", country="US")]
    accounts = [account("acme.example"), account("rival.example", status="competitor")]
    events = [event("demo_request", 1, event_id="d1"),
              event("demo_request", 1, event_id="d2", contact="bo@acme.example"),
              event("email_unsubscribe", 0, event_id="u2", contact="bo@acme.example"),
              event("demo_request", 1, event_id="d3", contact="al@rival.example"),
              event("demo_request", 0, event_id="d4", contact="cy@acme.example"),
              event("job_change", 91, event_id="j4", contact="cy@acme.example")]
    table = engine.rescore(MODEL, Inputs(contacts, accounts, events), AsOf.at(T0))
    rows = {r["contact"]: r for r in table.to_pylist()}
    verdicts = {c: (r["mql"], r["reasons"], r["excluded_by"]) for c, r in rows.items()}
    assert verdicts == {
        "jane@acme.example": (True, "thresholds #1", ""),
        "bo@acme.example": (False, "", ""),  # unsubscribed
        "al@rival.example": (False, "", ""),  # works for a competitor
        "cy@acme.example": (True, "thresholds #1", ""),  # the job change is 91 days old
    }
    # the scores are not touched by an exit: 10 + 40 * 2**(-1/30)
    assert abs(rows["bo@acme.example"]["total"] - (10 + 40 * 2 ** (-1 / 30))) < 1e-9
