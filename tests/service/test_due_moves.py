"""The worker's due moves happen: a lead due at its exit crossing leaves at that moment
(SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.records import Account, Contact, Event
from mql.service import lifecycle
from mql.service.ingest import ingest_records
from mql.service.store import activate_model
from mql.store import handoff as handoff_store

NOW = datetime(2026, 3, 3, 15, tzinfo=UTC)
RULES = IdentityRules()
ACME = Account("acme.example", {"employees": 3000, "industry": "software", "country": "US"})


def test_every_due_mql_leaves_at_its_exit_crossing(store: Engine, tmp_path: Path) -> None:
    # without an acceptance timeout, each demo-request MQL is due at its exit crossing
    # (intent < 15). The crossing used to be rounded so that the re-decision there read
    # intent == 15.0 for about 1 lead in 100: it stayed MQL, due at the same moment, forever
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    model = tmp_path / "no-timeout.yaml"
    # (and no nurture tracks: their exits are due moves of their own, tests/service/
    # test_nurture.py)
    model.write_text(text.replace("  recycle_after_days: 14 ", "  # no timeout ")
                     .split("\n# Nurture tracks")[0])
    activate_model(store, model, now=NOW)
    rng = random.Random(39)  # with it, 2 of the 200 leads stayed MQL before the fix
    people = [Contact(f"p{i}@acme.example", "acme.example", {"title": "VP Marketing"})
              for i in range(200)]
    events = []
    for i, p in enumerate(people):
        events.append(Event(f"d{i}", "demo_request", NOW - timedelta(days=rng.uniform(0, 20)),
                            contact=p.email))
        for k in range(rng.randint(0, 3)):
            events.append(Event(f"x{i}-{k}", rng.choice(["webinar_attended", "email_click"]),
                                NOW - timedelta(days=rng.uniform(0, 20)), contact=p.email))
    ingest_records(store, "accounts", [ACME], rules=RULES, now=NOW, source="test")
    ingest_records(store, "contacts", people, rules=RULES, now=NOW, source="test")
    ingest_records(store, "events", events, rules=RULES, now=NOW, source="test")
    with store.connect() as conn:
        due = handoff_store.due_times(conn, handoff_store.due_contacts(conn, NOW.replace(
            year=2030), 1000))
    assert len(due) == 200
    # one pass of the worker, long after every crossing: all 200 leave, each on time
    assert lifecycle.run_due(store, now=NOW + timedelta(days=400)) == 200
    with store.connect() as conn:
        for cid, t in due.items():
            last = handoff_store.history(conn, cid)[-1]
            assert (last["from_stage"], last["to_stage"], last["cause"], last["at"]) == (
                "mql", "nurture", "decay", t)
        assert handoff_store.due_contacts(conn, NOW.replace(year=2030), 1000) == []
