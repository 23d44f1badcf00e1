"""Every topic's payload, produced by a real scenario on a real store: a lead qualifies,
is assigned, breaches its SLA twice (escalated), is reassigned, accepted and converted;
another is rejected; an account engages; a test delivery is sent. Each names the contact,
the account, the model and the consent per channel, and docs/webhooks.md shows every
topic with exactly these fields."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.notify.webhooks import TOPICS
from mql.records import Account, Contact, Event
from mql.service import lifecycle
from mql.service import webhooks as hooks
from mql.service.ingest import ingest_records
from mql.store.tables import consent
from tests.notify.receivers import Receiver

T = datetime(2026, 3, 3, 15, tzinfo=UTC)  # a Tuesday, 10:00 in New York
RULES = IdentityRules()
DOCS = Path(__file__).parents[2] / "docs" / "webhooks.md"
ACME = Account("acme.example", {"name": "Acme Corp", "employees": 3000, "industry": "software",
                                "country": "US", "region": "NA"})
JANE = Contact("jane@acme.example", "acme.example",
               {"first_name": "Jane", "last_name": "Doe", "title": "VP Marketing",
                "department": "marketing", "country": "US", "hubspot_id": "501"})
OLIVIA = Contact("olivia@acme.example", "acme.example",
                 {"first_name": "Olivia", "title": "CTO", "country": "US"})
SAM = Contact("sam@acme.example", "acme.example", {"country": "US"})
MAX = Contact("max@acme.example", "acme.example", {"country": "US"})  # never touched


def _scenario(store: Engine) -> dict[str, list[dict[str, Any]]]:
    r = Receiver()
    try:
        # "*" and the nurture topics, which "*" does not cover (docs/webhooks.md)
        hook = hooks.add_webhook(store, r.url, secret="s", topics=[
            "*", "mql.nurture.enrolled", "mql.nurture.unenrolled"], now=T)
        ingest_records(store, "accounts", [ACME], rules=RULES, now=T, source="test")
        ingest_records(store, "contacts", [JANE, OLIVIA, SAM, MAX], rules=RULES, now=T,
                       source="test")
        with store.begin() as conn:
            conn.execute(consent.insert(), [
                {"contact_id": 1, "channel": "email", "status": "granted", "at": T},
                {"contact_id": 1, "channel": "phone", "status": "denied", "at": T}])
        ingest_records(store, "events", [
            Event("d1", "demo_request", T, contact=JANE.email),
            Event("d2", "demo_request", T, contact=OLIVIA.email),
            Event("v3", "page_view", T, contact=SAM.email, properties={"url": "/blog"}),
            Event("d4", "demo_request", T, contact=MAX.email)],
            rules=RULES, now=T, source="test")
        lifecycle.run_sla(store, now=T + timedelta(hours=1, minutes=1))
        lifecycle.run_sla(store, now=T + timedelta(hours=2, minutes=1))  # escalated
        lifecycle.reassign(store, JANE.email, owner="sam.kim", actor="manager",
                           now=T + timedelta(hours=3))
        lifecycle.accept(store, JANE.email, actor="li.wei", now=T + timedelta(hours=4))
        lifecycle.convert(store, JANE.email, actor="li.wei", now=T + timedelta(hours=5))
        lifecycle.reject(store, OLIVIA.email, reason="no_budget", actor="sam.kim",
                         now=T + timedelta(hours=5))
        lifecycle.run_due(store, now=T + timedelta(days=90))
        hooks.send_test(store, hook, actor="test", clock=lambda: T)
        test_body = json.loads(r.log[-1][2])
    finally:
        r.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for row in lifecycle.outbox(store):
        out.setdefault(row["topic"], []).append(row["payload"]["data"])
    out["webhook.test"] = [test_body["data"]]
    return out


@pytest.fixture
def payloads(store: Engine) -> dict[str, list[dict[str, Any]]]:
    return _scenario(store)


sqlite_only = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@sqlite_only
def test_every_notification_names_the_lead_account_model_and_consent(payloads) -> None:
    # model.drift is about the model, not a lead (tests/service/test_audit.py checks it);
    # account.mqa needs a model with accounts.mqa (tests/accounts/test_mqa_faces.py)
    assert set(TOPICS) - {"model.drift", "account.mqa"} <= set(payloads)
    for topic, items in payloads.items():
        if topic in ("account.engaged", "webhook.test"):
            continue
        for data in items:
            assert data["account"] == {"domain": "acme.example", "name": "Acme Corp"}, topic
            assert data["model"]["name"] == "b2b_saas" and data["model"]["version_id"] == 1
    jane = payloads["mql.qualified"][0]["contact"]
    assert jane == {"id": 1, "email": "jane@acme.example", "first_name": "Jane",
                    "last_name": "Doe", "name": "Jane Doe", "title": "VP Marketing",
                    "crm_ids": {"hubspot": "501"},
                    "consent": {"email": "granted", "phone": "denied"},
                    # US (CAN-SPAM, opt-out): the grant permits email, the denial stops calls
                    "may_contact": {"email": True, "phone": False, "sms": True, "ads": True,
                                    "sales": True}}


@sqlite_only
def test_assignment_sla_owner_changes_and_transitions_are_fields(payloads) -> None:
    assigned = payloads["lead.assigned"][0]
    assert assigned["assignment"]["sla"] == "hand_raiser"
    assert assigned["assignment"]["sla_due_at"] == "2026-03-03T16:00:00+00:00"  # 1 business h
    assert assigned["transition"] == {"from": "captured", "to": "mql",
                                      "at": "2026-03-03T15:00:00+00:00",
                                      "cause": assigned["transition"]["cause"],
                                      "actor": "mql", "reason": assigned["transition"]["reason"]}
    breached = [d for d in payloads["sla.breached"] if d["contact"]["email"] == JANE.email]
    assert [d["assignment"]["breaches"] for d in breached] == [1, 2]
    assert breached[1]["rerouted_to"] == "li.wei"
    changes = [(d["change"]["cause"], d["change"]["from"], d["change"]["to"])
               for d in payloads["lead.owner_changed"] if d["contact"]["email"] == JANE.email]
    assert changes == [("escalation", "dana.ross", "li.wei"), ("reassign", "li.wei", "sam.kim")]
    accepted = payloads["lead.accepted"][0]
    assert (accepted["transition"]["from"], accepted["transition"]["to"]) == ("mql", "sal")
    assert accepted["assignment"]["owner"] == "sam.kim"
    converted = payloads["lead.converted"][0]
    assert (converted["transition"]["to"], converted["transition"]["actor"]) == ("sql", "li.wei")
    recycled = payloads["lead.recycled"][0]
    assert recycled["contact"]["email"] == OLIVIA.email
    assert recycled["transition"]["reason"] == "no_budget"
    assert recycled["assignment"]["status"] == "late"  # the rejection touched it, late
    timed_out = payloads["lead.recycled"][1]
    assert (timed_out["contact"]["email"], timed_out["transition"]["actor"]) == (MAX.email,
                                                                                 "mql")
    assert "scores" in timed_out and "scores" not in recycled
    reasons = payloads["mql.qualified"][0]["reasons"]
    assert {"kind": "thresholds", "name": "#1", "text": reasons[0]["text"]} == reasons[0]
    assert "≥" in reasons[0]["text"] and ">=" not in reasons[0]["text"]
    engaged = payloads["account.engaged"][0]
    assert engaged["account"] == {"domain": "acme.example", "name": "Acme Corp"}
    # the three demo requests engaged the same day; Sam's one blog view scores nothing,
    # so he is not engaged (the alert is the MQA rule over the contacts' own intent)
    assert engaged["contacts"] == 3


def _paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        out = set()
        for k, v in value.items():
            if prefix.endswith("consent") or prefix.endswith("crm_ids") \
                    or prefix.endswith("scores"):
                out.add(f"{prefix}.*")  # keys are channels, CRMs and score names
                continue
            out |= {f"{prefix}.{k}"} | _paths(v, f"{prefix}.{k}")
        return out
    if isinstance(value, list):
        return set().union(*(_paths(v, f"{prefix}[]") for v in value)) if value else set()
    return set()


def _documented() -> dict[str, dict[str, Any]]:
    text = DOCS.read_text()
    found = re.findall(r"^### `([a-z_.]+)`\n.*?^```json\n(.*?)^```", text, re.M | re.S)
    return {topic: json.loads(body) for topic, body in found}


@sqlite_only
def test_the_docs_show_every_topic_with_exactly_its_fields(payloads) -> None:
    documented = _documented()
    assert set(documented) == set(TOPICS) | {"webhook.test"}
    for topic, items in payloads.items():
        real = set().union(*(_paths(d) for d in items))
        example = documented[topic]
        assert example["type"] == topic and example["version"] == 2
        shown = _paths(example["data"])
        assert shown == real, (topic, sorted(shown ^ real))
