"""A store with the example model plus a `consent:` section (the defaults), and Jane."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.records import Account, Contact, Event
from mql.service.ingest import ingest_records
from mql.service.store import activate_model

NOW = datetime(2026, 3, 3, 15, tzinfo=UTC)  # a Tuesday, 10:00 in New York
RULES = IdentityRules()
# the example model without its own consent: section (the tests give theirs)
EXAMPLE = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text().split(
    "\n# Consent and outreach policy")[0]
CONSENT = "\nconsent:\n  handoff_channels: [email, phone]\n"


def with_consent(store: Engine, folder: Path, section: str = CONSENT) -> None:
    """Make the example model with `section` live on `store`."""
    path = folder / "model.yaml"
    path.write_text(EXAMPLE + section)
    activate_model(store, path, now=NOW)


def person(email: str, country: str) -> Contact:
    domain = email.rsplit("@", 1)[1]
    return Contact(email, domain, {"title": "VP Marketing", "department": "marketing",
                                   "country": country})


def company(domain: str, country: str = "US", region: str = "NA") -> Account:
    return Account(domain, {"employees": 3000, "industry": "software", "country": country,
                            "region": region})


def load(store: Engine, contact: Contact, *events: Event, now: datetime = NOW) -> None:
    assert contact.account is not None
    ingest_records(store, "accounts", [company(contact.account)], rules=RULES, now=now,
                   source="test")
    ingest_records(store, "contacts", [contact], rules=RULES, now=now, source="test")
    if events:
        ingest_records(store, "events", list(events), rules=RULES, now=now, source="test")


def demo(email: str, at: datetime = NOW) -> Event:
    return Event(f"demo-{email}-{at.isoformat()}", "demo_request", at, contact=email)
