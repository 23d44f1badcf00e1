"""Sector overlays on a real store (SQLite and PostgreSQL): a defence lead is assigned
only to a US person, a government one only to a FedRAMP seller, with the overlay in the
assignment's reason and the audit log; a lead nobody reachable qualifies for is held for
compliance (no assignment, no `lead.assigned`), with the reason, as `mql consent holds`
shows."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.errors import ModelError
from mql.model.parse import parse_model
from mql.records import Account, Contact
from mql.service import consent as consent_service
from mql.service import lifecycle
from mql.service.ingest import ingest_records
from mql.service.store import activate_model
from mql.store.tables import assignments, audit_log, outbox
from tests.compliance.helpers import CONSENT, EXAMPLE, NOW, RULES, demo

OVERLAYS = CONSENT + """  overlays:
    - name: itar
      description: Defence accounts (ITAR) are worked by US persons only.
      when: {field: account.sector, op: eq, value: defence}
      requires: [us_person]
    - name: fedramp
      when: {field: account.government, op: eq, value: true}
      requires: [fedramp]
"""
TEAMS = (EXAMPLE + "\nfields:\n  account: [sector, government]\n").replace(
    "    na_enterprise:\n      time_zone: America/New_York\n",
    "    na_enterprise:\n      time_zone: America/New_York\n      attributes: [us_person]\n"
).replace("- {name: dana.ross, weight: 2, capacity: 40}",
          "- {name: dana.ross, weight: 2, capacity: 40, attributes: [fedramp]}")


def _model(store: Engine, folder: Path) -> None:
    assert TEAMS != EXAMPLE
    path = folder / "model.yaml"
    path.write_text(TEAMS + OVERLAYS)
    activate_model(store, path, now=NOW)


def _lead(store: Engine, email: str, **account: object) -> None:
    domain = email.rsplit("@", 1)[1]
    ingest_records(store, "accounts", [Account(domain, {
        "employees": 3000, "industry": "software", "country": "US", **account})],
        rules=RULES, now=NOW, source="test")
    ingest_records(store, "contacts", [Contact(email, domain, {
        "title": "VP Marketing", "department": "marketing", "country": "US"})],
        rules=RULES, now=NOW, source="test")
    ingest_records(store, "events", [demo(email)], rules=RULES, now=NOW, source="test")


def _assignments(store: Engine) -> dict[int, dict]:
    with store.connect() as conn:
        return {r.contact_id: dict(r._mapping) for r in conn.execute(assignments.select())}


def test_defence_and_government_leads_go_only_to_sellers_with_the_attribute(
        store: Engine, tmp_path: Path) -> None:
    _model(store, tmp_path)
    _lead(store, "ada@lockheed.example", region="NA", sector="defence")
    _lead(store, "gov@agency.example", region="NA", government=True)
    _lead(store, "gov2@agency2.example", region="NA", government=True)
    rows = list(_assignments(store).values())
    assert len(rows) == 3
    by_email = {r["contact_id"]: r for r in rows}
    defence = by_email[1]
    assert defence["team"] == "na_enterprise" and defence["owner"] in ("dana.ross", "li.wei")
    assert defence["reason"].endswith("; itar: needs a seller with us_person")
    # FedRAMP: dana.ross alone has it (li.wei, the round robin's next, does not)
    assert [by_email[2]["owner"], by_email[3]["owner"]] == ["dana.ross", "dana.ross"]
    with store.connect() as conn:
        audited = [d for d in conn.execute(sa.select(audit_log.c.detail).where(
            audit_log.c.action == "routing.overlay")).scalars()]
    assert [(d["overlays"], d["requires"]) for d in audited] == [
        (["itar"], ["us_person"]), (["fedramp"], ["fedramp"]), (["fedramp"], ["fedramp"])]


def test_a_lead_nobody_reachable_qualifies_for_is_held_not_given_to_a_seller(
        store: Engine, tmp_path: Path) -> None:
    _model(store, tmp_path)
    lifecycle.add_webhook(store, "http://127.0.0.1:9/x", secret="s", topics=["*"], now=NOW)
    _lead(store, "hans@rheinmetall.example", region="EMEA", sector="defence")
    assert _assignments(store) == {}
    with store.connect() as conn:
        topics = sorted(conn.execute(sa.select(outbox.c.topic)).scalars())
    assert "lead.assigned" not in topics
    (held,) = consent_service.holds(store)
    assert held["email"] == "hans@rheinmetall.example" and held["jurisdiction"] == "itar"
    assert held["reason"] == (
        "sector overlay: matched account.region eq 'EMEA'; nobody in emea nor "
        "inbound_queue qualifies; itar: needs a seller with us_person, which nobody the "
        "routing reaches has: held for compliance")
    summary = consent_service.hold_summary(store)
    assert summary.by_reason == {("itar", "no qualified seller"): 1}


def test_an_overlay_mistake_names_its_line_and_column() -> None:
    text = TEAMS + OVERLAYS.replace("requires: [fedramp]", "requires: [fedramp, us_persn]")
    with pytest.raises(ModelError) as err:
        parse_model(text, source="m.yaml")
    (problem,) = err.value.problems
    assert problem.path == "consent.overlays[1].requires[1]"
    assert problem.message.startswith('no seller or team has the attribute "us_persn"')
    assert problem.line == text.splitlines().index(
        "      requires: [fedramp, us_persn]") + 1
    bad_field = TEAMS + OVERLAYS.replace("account.government", "account.govt")
    with pytest.raises(ModelError) as err:
        parse_model(bad_field, source="m.yaml")
    assert err.value.problems[0].path.startswith("consent.overlays[1].when")
