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
from mql.scoring.intent import IntentState, Level, Program
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
        """The event's account: its own, else its contact's (None: neither names one; a
        blank account is none, as no account has a blank domain)."""
        if event.account:
            return event.account
        contact = self.contacts.get(event.contact) if event.contact else None
        return (contact.account or None) if contact is not None else None

    def targets(self, event: Event) -> tuple[tuple[Level, str], ...]:
        """The states `event` is folded into: its contact's (contact-level rules) and its
        account's (account-level rules; the event's own account, else its contact's)."""
        out: list[tuple[Level, str]] = []
        if event.contact is not None and self.program.trackers_for("contact", event.type):
            out.append(("contact", event.contact))
        if self.program.trackers_for("account", event.type):
            domain = self.account_of(event)
            if domain is not None:
                out.append(("account", domain))
        return tuple(out)

    def add(self, event: Event, *, until: datetime | None = None) -> bool:
        """Fold one event into its contact's and account's state, in any order; True when
        it was applied.

        Duplicates: the first copy of an event id in the order given wins, whatever its
        time (as in the store, where the first copy ingested is kept; docs/ingest.md); a
        later copy is not applied. An event after `until` is not applied but its id is
        taken. An event that names no one (no contact, account or anonymous id) is not
        applied and does not take its id, as ingestion refuses such a row.
        """
        if event.event_id in self.seen:
            return False
        if event.contact is None and event.account is None and event.anonymous_id is None:
            return False
        self.seen.add(event.event_id)
        if until is not None and event.at > until:
            return False
        for level, key in self.targets(event):
            states = self.contact_states if level == "contact" else self.account_states
            state = states.get(key) or IntentState.empty()
            states[key] = state.add(event, self.program, level)
        return True

    def states_of(self, email: str) -> tuple[IntentState, IntentState]:
        """The contact's and its account's intent states (empty when none)."""
        contact = self.contacts[email]
        empty = IntentState.empty()
        return (self.contact_states.get(email, empty),
                self.account_states.get(contact.account or "", empty))

    def decide(self, email: str, at: datetime) -> Decision:
        """The decision for one known contact at `at`."""
        contact = self.contacts[email]
        state, account_state = self.states_of(email)
        return self.qualifier.decide(contact, self.account_of_contact(email), state,
                                     account_state, at)

    def account_of_contact(self, email: str) -> Account | None:
        """The account record of a known contact (None: no account, or no record)."""
        domain = self.contacts[email].account
        return self.accounts.get(domain) if domain else None


def score(
    model: Model,
    contacts: Iterable[Contact],
    accounts: Iterable[Account],
    events: Iterable[Event],
    *,
    at: datetime,
) -> list[Decision]:
    """Decisions at `at` for every contact, from events up to `at` (later ones are ignored;
    of the copies of an event id, the first in `events` wins, see `Scorer.add`).

    Contacts without a matching email in `events` are scored on fit alone.
    """
    scorer = Scorer(model)
    for account in accounts:
        scorer.add_account(account)
    for contact in contacts:
        scorer.add_contact(contact)
    for event in events:
        scorer.add(event, until=at)
    return [scorer.decide(email, at) for email in scorer.contacts]
