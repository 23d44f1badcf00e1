"""Score use cases on the store: every contact's decision as of a time, one contact's
explanation. Decisions come from the persisted states (O(1) per contact); a time before a
contact's newest event is answered exactly by replaying its ledger up to that time.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.engine import Engine

from mql.errors import NotFound
from mql.identity.merge import IdentityRules
from mql.identity.normalize import clean_email
from mql.records import Event
from mql.scoring.explain import Explanation, explain
from mql.scoring.intent import IntentState
from mql.scoring.qualify import Decision
from mql.service import state as states
from mql.service.resolve import find_by_email
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import events as event_store
from mql.store.db import translate_errors
from mql.store.migrate import check

CHUNK = 1000


def list_scores(engine: Engine, *, at: datetime, mql_only: bool = False) -> list[Decision]:
    """The decision of every live contact as of `at` under the active model; MQLs first,
    then by total score."""
    check(engine)
    decisions: list[Decision] = []
    with translate_errors("reading scores"), engine.connect() as conn:
        live = states.live_model(conn)
        ids = contact_store.live_contact_ids(conn)
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            stored = contact_store.load_contacts(conn, part)
            account_ids = {c.account_id for c in stored.values() if c.account_id}
            accounts = account_store.load_accounts(conn, account_ids)
            contact_states = states.contact_states(conn, live, part)
            late = [i for i, s in contact_states.items() if s.as_of is not None and s.as_of > at]
            if late:  # asked about the past: replay the ledger up to `at`
                ledgers = event_store.events_of_contacts(conn, late)
                for i in late:
                    contact_states[i] = states.replay(
                        (e for e in ledgers.get(i, ()) if e.at <= at), live)
            acc_states = (states.account_states(conn, live, account_ids)
                          if live.account_level else {})
            empty = IntentState.empty()
            for cid in part:
                c = stored[cid]
                acc = acc_states.get(c.account_id, empty) if c.account_id else empty
                if acc.as_of is not None and acc.as_of > at:
                    acc = empty if c.account_id is None else states.replay(
                        (e for e in event_store.events_of_accounts(conn, [c.account_id])
                         .get(c.account_id, ()) if e.at <= at), live, "account")
                account = accounts.get(c.account_id) if c.account_id else None
                decisions.append(live.qualifier.decide(c.record, account, contact_states[cid],
                                                       acc, at))
    if mql_only:
        decisions = [d for d in decisions if d.mql]
    decisions.sort(key=lambda d: (not d.mql, -d.total, d.contact))
    return decisions


def explain_contact(engine: Engine, email: str, *, at: datetime, rules: IdentityRules
                    ) -> Explanation:
    """The explanation of the contact with `email` (any of their addresses) at `at`, from
    their event ledger in the store."""
    check(engine)
    try:
        clean = clean_email(email)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    with translate_errors("explaining the contact"), engine.connect() as conn:
        live = states.live_model(conn)
        found = find_by_email(conn, [clean], rules)
        if clean not in found:
            raise NotFound(f"no contact {email!r} in the store")
        cid = found[clean]
        contact = contact_store.load_contacts(conn, [cid])[cid]
        account = (account_store.load_accounts(conn, [contact.account_id])
                   .get(contact.account_id) if contact.account_id else None)
        # the ledger is attributed by contact id: name the contact on each of its events
        events: list[Event] = [dataclasses.replace(e, contact=contact.record.email)
                               for e in event_store.events_of_contacts(conn, [cid]).get(cid, ())]
        if contact.account_id:
            mine = {e.event_id for e in events}
            events += [dataclasses.replace(e, account=account.domain if account else e.account)
                       for e in event_store.events_of_accounts(conn, [contact.account_id])
                       .get(contact.account_id, ()) if e.event_id not in mine]
    return explain(live.model, contact.record, account, events, at=at)
