"""Consent in the lead views (issue 17): `mql contact`, GET /v1/leads/{id}, the lead
page and the sales queue say per channel whether the lead may be contacted and why a
held lead is held, from the gate's own verdict (and, for a sector overlay, the reason
the routing gate audited)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from mql.cli.main import app
from mql.service.api_reads import read_lead
from mql.service.lead_words import lead_card
from mql.service.pages import sales_queue
from tests.compliance.helpers import NOW, RULES, demo, load, person, with_consent
from tests.compliance.test_overlays import _lead, _model

GDPR_HELD = ("no hand-off channel is permitted: email: no email consent on record (gdpr "
             "needs consent); phone: no phone consent on record (gdpr needs consent or "
             "legitimate_interest)")


def test_a_held_eu_lead_says_why_in_the_lead_and_the_queue(store: Engine,
                                                            tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    hans, jane = person("hans@acme.example", "DE"), person("jane@acme.example", "US")
    load(store, hans, demo(hans.email))
    load(store, jane, demo(jane.email))
    lead = read_lead(store, hans.email, at=NOW, rules=RULES)
    assert lead.compliance is not None
    assert lead.compliance.held is True and lead.compliance.hold_reason == GDPR_HELD
    assert lead.compliance.jurisdiction == "gdpr"
    assert set(lead.compliance.may_contact.values()) == {False}  # type: ignore[union-attr]
    lines = dict(lead_card(store, hans.email, at=NOW, rules=RULES).lines)
    assert lines["held"] == GDPR_HELD
    assert lines["may contact"] == "no channel; not email, phone, sms, ads, sales (gdpr)"
    us = read_lead(store, jane.email, at=NOW, rules=RULES).compliance
    assert us is not None and us.held is False and us.hold_reason is None
    queue = {i.email: i for i in sales_queue(store, at=NOW, scope=None).items}
    assert queue[hans.email].held == GDPR_HELD and queue[hans.email].owner is None
    assert queue[jane.email].held is None and queue[jane.email].owner is not None


def test_a_lead_held_by_a_sector_overlay_says_so_in_the_queue(store: Engine,
                                                              tmp_path: Path) -> None:
    _model(store, tmp_path)
    _lead(store, "hans@rheinmetall.example", region="EMEA", sector="defence")
    (item,) = sales_queue(store, at=NOW, scope=None).items
    assert item.held is not None and item.held.startswith(
        "sector overlay: matched account.region eq 'EMEA'; nobody in emea nor inbound_queue")
    lead = read_lead(store, item.email, at=NOW, rules=RULES)
    assert lead.compliance is not None and lead.compliance.held is True
    assert lead.compliance.may_contact == {"email": True, "phone": True, "sms": True,
                                           "ads": True, "sales": True}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_mql_contact_shows_may_contact_and_the_hold(store: Engine, tmp_path: Path) -> None:
    with_consent(store, tmp_path)
    hans = person("hans@acme.example", "DE")
    load(store, hans, demo(hans.email))
    shown = CliRunner().invoke(app, ["contact", hans.email, "--db", str(store.url),
                                     "--at", NOW.isoformat()])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "may contact │ no channel; not email, phone, sms, ads, sales (gdpr)" in text
    assert "held │ no hand-off channel is permitted: email: no email consent" in text
