"""Scoring many contacts: states per contact and per account, fed one event at a time.

>>> from datetime import datetime, timezone
>>> from importlib.resources import files
>>> from mql.model.parse import parse_model
>>> from mql.records import Account, Contact, Event
>>> model = parse_model(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text())
>>> at = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
>>> jane = Contact("jane@acme.example", "acme.example",
...                {"title": "VP Marketing", "department": "marketing", "country": "US"})
>>> acme = Account("acme.example", {"employees": 800, "industry": "software", "country": "US"})
>>> demo = Event("e1", "demo_request", at, contact="jane@acme.example")
>>> score(model, [jane], [acme], [demo], at=at)[0]
Decision(mql=True, fit=90.0, intent=40.0, grade='A2', as_of=2026-03-02T10:00Z)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from mql.model.spec import Model
from mql.records import Account, Contact, Event
from mql.scoring.intent import IntentState, Program
from mql.scoring.qualify import Decision, Qualifier


class Scorer:
    """Streaming scores for a set of contacts and accounts.

    `add(event)` is O(1) in the contact's history; `decide(email, at)` reads states only.
    Events with no known contact still count for their account's account-level rules.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.program = Program(model)
        self.qualifier = Qualifier(model, self.program)
        self.contacts: dict[str, Contact] = {}
        self.accounts: dict[str, Account] = {}
        self.contact_states: dict[str, IntentState] = {}
        self.account_states: dict[str, IntentState] = {}
        self.seen: set[str] = set()

    def add_contact(self, contact: Contact) -> None:
        self.contacts[contact.email] = contact

    def add_account(self, account: Account) -> None:
        self.accounts[account.domain] = account

    def account_of(self, event: Event) -> str | None:
        if event.account:
            return event.account
        contact = self.contacts.get(event.contact) if event.contact else None
        return contact.account if contact is not None else None

    def add(self, event: Event) -> bool:
        """Fold one event into its contact's and account's state, in any order.

        An event id seen before is not applied again (returns False). An event that names
        no one (no contact, account or anonymous id) is not applied and does not count as
        seen, as ingestion refuses such a row: a later valid copy of its id still counts.
        """
        if event.event_id in self.seen:
            return False
        if event.contact is None and event.account is None and event.anonymous_id is None:
            return False
        self.seen.add(event.event_id)
        if event.contact is not None and self.program.trackers_for("contact", event.type):
            state = self.contact_states.get(event.contact) or IntentState.empty()
            self.contact_states[event.contact] = state.add(event, self.program, "contact")
        if self.program.trackers_for("account", event.type):
            domain = self.account_of(event)
            if domain is not None:
                state = self.account_states.get(domain) or IntentState.empty()
                self.account_states[domain] = state.add(event, self.program, "account")
        return True

    def decide(self, email: str, at: datetime) -> Decision:
        """The decision for one known contact at `at`."""
        contact = self.contacts[email]
        account = self.accounts.get(contact.account) if contact.account else None
        empty = IntentState.empty()
        state = self.contact_states.get(email, empty)
        account_state = self.account_states.get(contact.account or "", empty)
        return self.qualifier.decide(contact, account, state, account_state, at)


def score(
    model: Model,
    contacts: Iterable[Contact],
    accounts: Iterable[Account],
    events: Iterable[Event],
    *,
    at: datetime,
) -> list[Decision]:
    """Decisions at `at` for every contact, from events up to `at` (later ones are ignored).

    Contacts without a matching email in `events` are scored on fit alone.
    """
    scorer = Scorer(model)
    for account in accounts:
        scorer.add_account(account)
    for contact in contacts:
        scorer.add_contact(contact)
    for event in events:
        if event.at <= at:
            scorer.add(event)
    return [scorer.decide(email, at) for email in scorer.contacts]
