"""Score use cases on the store: every contact's decision as of a time, one contact's
explanation. Decisions come from the persisted states (O(1) per contact); a time before a
contact's newest event or intent reset is answered exactly by replaying its ledger up to
that time. `Ledgers` is the one place that says what counts for a lead at a time.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from mql.errors import NotFound
from mql.identity.jobs import JOB_CHANGE, attributes_at
from mql.identity.merge import IdentityRules
from mql.identity.normalize import clean_email
from mql.lifecycle.rules import counts_after, fresh_since, next_move
from mql.lifecycle.stages import Stage
from mql.records import Contact, Event
from mql.scoring.explain import Explanation, explain
from mql.scoring.intent import IntentState
from mql.scoring.qualify import Decision
from mql.service import state as states
from mql.service.resolve import find_by_email
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import events as event_store
from mql.store import handoff as handoff_store
from mql.store import models as model_store
from mql.store.db import translate_errors
from mql.store.migrate import check

CHUNK = 1000


class Ledgers:
    """What the decisions of some contacts at any time are made from, read once: records,
    persisted states, intent resets, stages, and (when asked about the past) ledgers.

    Every view of a lead (`mql scores`, the list and lead APIs, `explain`, the day-by-day
    history) asks this one object, so they cannot disagree. At a time `at` a contact's own
    events count only after its latest intent reset at or before `at` (`requalify:
    fresh_intent`), including a timeout recycle that fell due by `at` while the worker
    had not run yet; its account's rules see every event of the account.
    """

    def __init__(self, conn: Connection, live: states.LiveModel, ids: list[int]) -> None:
        self.conn, self.live = conn, live
        self.contacts = contact_store.load_contacts(conn, ids)
        account_ids = {c.account_id for c in self.contacts.values() if c.account_id}
        self.accounts = account_store.load_accounts(conn, account_ids)
        self.states = states.contact_states(conn, live, ids)
        self.account_states = (states.account_states(conn, live, account_ids)
                               if live.account_level else {})
        self.resets = handoff_store.resets_of(conn, ids)
        # the title or company changes (mql.identity.jobs) after the earliest time asked
        # about: a question about a time before one is answered with the attributes then
        self._ids = ids
        self._changes: dict[int, list[Event]] = {}
        self._changes_after: datetime | None = None
        self.stages = handoff_store.stages(conn, ids)
        self._own: dict[int, list[Event]] = {}
        self._shared: dict[int, list[Event]] = {}

    def prefetch(self, at: datetime) -> None:
        """Read, in one query each, the ledgers that decisions at `at` will replay."""
        ids = [cid for cid, state in self.states.items()
               if (state.as_of is not None and state.as_of > at)
               or (cid in self.resets and max(self.resets[cid]) > at)]
        ids = [cid for cid in ids if cid in self.contacts and cid not in self._own]
        if ids:
            found = event_store.events_of_contacts(self.conn, ids)
            for cid in ids:
                email = self.contacts[cid].record.email
                self._own[cid] = [dataclasses.replace(e, contact=email)
                                  for e in found.get(cid, [])]
        later = [aid for aid, state in self.account_states.items()
                 if state.as_of is not None and state.as_of > at and aid not in self._shared]
        if later:
            found = event_store.events_of_accounts(self.conn, later)
            self._shared.update({aid: found.get(aid, []) for aid in later})

    def own(self, cid: int) -> list[Event]:
        """The contact's own events, oldest first, each naming the contact."""
        if cid not in self._own:
            email = self.contacts[cid].record.email
            self._own.update({i: [dataclasses.replace(e, contact=email) for e in ledger]
                              for i, ledger in event_store.events_of_contacts(
                                  self.conn, [cid]).items()})
            self._own.setdefault(cid, [])
        return self._own[cid]

    def shared(self, account_id: int) -> list[Event]:
        """The account's events, oldest first."""
        if account_id not in self._shared:
            self._shared[account_id] = event_store.events_of_accounts(
                self.conn, [account_id]).get(account_id, [])
        return self._shared[account_id]

    def account_state(self, cid: int, at: datetime) -> IntentState:
        aid = self.contacts[cid].account_id
        if aid is None:
            return IntentState.empty()
        stored = self.account_states.get(aid, IntentState.empty())
        if stored.as_of is not None and stored.as_of > at:
            return states.replay((e for e in self.shared(aid) if e.at <= at), self.live,
                                 "account")
        return stored

    def _replayed(self, cid: int, at: datetime, since: datetime | None) -> IntentState:
        return states.replay((e for e in self.own(cid) if e.at <= at), self.live, since=since)

    def since(self, cid: int, at: datetime) -> datetime | None:
        """The intent reset in force for the contact at `at` (None: all its events count)."""
        resets = self.resets.get(cid, [])
        found = fresh_since(resets, at)
        row = self.stages.get(cid)
        model = self.live.model
        if (not model.lifecycle.requalify_fresh_intent or row is None
                or row.stage != Stage.MQL.value or row.due is None or row.due > at
                or (resets and max(resets) >= row.due)):
            return found
        # the MQL's time-based move fell due by `at` and the worker has not made it yet:
        # it is decided as the worker (or the next event) will decide it, at its moment
        d = self._decide(cid, row.due, found)
        move = next_move(model, Stage.MQL, row.since or row.due, d)
        return row.due if move is not None and move.target is Stage.RECYCLED else found

    def state(self, cid: int, at: datetime) -> IntentState:
        """The contact's own intent state that counts at `at` (what its decision reads;
        the account score reads it too)."""
        return self._state(cid, at, self.since(cid, at))

    def _state(self, cid: int, at: datetime, since: datetime | None) -> IntentState:
        latest = fresh_since(self.resets.get(cid, []))
        stored = self.states.get(cid, IntentState.empty())
        if since == latest and (stored.as_of is None or stored.as_of <= at):
            return stored  # what the streaming path keeps: no need to read the ledger
        return self._replayed(cid, at, since)

    def record(self, cid: int, at: datetime) -> Contact:
        """The contact's record as it was at `at` (its title and company then)."""
        if self._changes_after is None or at < self._changes_after:
            self._changes = event_store.of_type(self.conn, self._ids, JOB_CHANGE, after=at)
            self._changes_after = at
        record = self.contacts[cid].record
        then = attributes_at(record.attributes, self._changes.get(cid, ()), at)
        return record if then is None else dataclasses.replace(record, attributes=then)

    def _decide(self, cid: int, at: datetime, since: datetime | None, *,
                times: bool = True) -> Decision:
        c = self.contacts[cid]
        state = self._state(cid, at, since)
        account = self.accounts.get(c.account_id) if c.account_id else None
        return self.live.qualifier.decide(self.record(cid, at), account, state,
                                          self.account_state(cid, at), at,
                                          times_needed=times)

    def decision(self, cid: int, at: datetime, *, times: bool = True) -> Decision:
        """The contact's decision at `at`; `times=False` leaves out when it stops
        qualifying and when it falls below the exit line (`qualified_until`, `exit_at`:
        a curve's solve each), enough to rank and filter leads."""
        return self._decide(cid, at, self.since(cid, at), times=times)

    def events(self, cid: int, at: datetime) -> list[Event]:
        """The events a file-mode `score` or `explain` needs for the decision at `at`:
        the contact's own events that count (naming it), then its account's events (own
        events before the reset count for the account only, so they name nobody)."""
        since = self.since(cid, at)
        own = self.own(cid)
        counted = [e for e in own if counts_after(e.at, since)]
        kept = {e.event_id for e in counted}
        mine = {e.event_id for e in own}
        c = self.contacts[cid]
        shared: list[Event] = []
        if c.account_id:
            domain = self.accounts[c.account_id].domain if c.account_id in self.accounts \
                else None
            for e in self.shared(c.account_id):
                if e.event_id in kept:
                    continue
                shared.append(dataclasses.replace(
                    e, account=domain or e.account,
                    contact=None if e.event_id in mine else e.contact))
        return [*counted, *shared]


def list_scores(engine: Engine, *, at: datetime, mql_only: bool = False,
                ids: list[int] | None = None) -> list[Decision]:
    """The decision of every live contact (or of those of `ids`) as of `at` under the
    active model; MQLs first, then by total score. Decisions come from the persisted
    states (O(1) per contact); a time before a contact's newest event or intent reset is
    answered exactly by replaying its ledger up to that time (see `Ledgers`)."""
    return [d for _, d in ranked_scores(engine, at=at, mql_only=mql_only, ids=ids,
                                        times=True)]


def ranked_scores(engine: Engine, *, at: datetime, mql_only: bool = False,
                  ids: list[int] | None = None, times: bool = False
                  ) -> list[tuple[int, Decision]]:
    """`list_scores` with each decision's contact id; `times=False` leaves each
    decision's `qualified_until` and `exit_at` out (see `Ledgers.decision`): a page of
    leads ranks and filters every contact so, then decides its own rows in full
    (`decisions_of`)."""
    check(engine)
    decisions: list[tuple[int, Decision]] = []
    with translate_errors("reading scores"), engine.connect() as conn:
        live = states.live_model(conn)
        if ids is None:
            ids = contact_store.live_contact_ids(conn)
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            ledgers = Ledgers(conn, live, part)
            ledgers.prefetch(at)
            decisions += [(cid, ledgers.decision(cid, at, times=times)) for cid in part
                          if cid in ledgers.contacts]
    if mql_only:
        decisions = [(cid, d) for cid, d in decisions if d.mql]
    decisions.sort(key=lambda p: (not p[1].mql, -p[1].total, p[1].contact))
    return decisions


def decisions_of(engine: Engine, *, at: datetime, ids: list[int]) -> dict[int, Decision]:
    """The full decisions at `at` of the live contacts of `ids`, by contact id."""
    return dict(ranked_scores(engine, at=at, ids=ids, times=True))


def explain_contact(engine: Engine, email: str, *, at: datetime, rules: IdentityRules,
                    version_id: int | None = None) -> Explanation:
    """The explanation of the contact with `email` (any of their addresses) at `at`, from
    their event ledger in the store, under the live model or, given `version_id`, under
    that stored version (the model in force at a past decision: the review pack explains
    each MQL with the model that qualified it, so activating another one later does not
    change it)."""
    check(engine)
    try:
        clean = clean_email(email)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    with translate_errors("explaining the contact"), engine.connect() as conn:
        live = states.live_model(conn)
        if version_id is not None and version_id != live.version_id:
            stored = model_store.version_by_id(conn, version_id)
            if stored is not None:  # else (a version removed since): the live model
                live = states.compiled(stored)
        found = find_by_email(conn, [clean], rules)
        if clean not in found:
            raise NotFound(f"no contact {email!r} in the store")
        cid = found[clean]
        ledgers = Ledgers(conn, live, [cid])
        contact = ledgers.contacts[cid]
        account = ledgers.accounts.get(contact.account_id) if contact.account_id else None
        events = ledgers.events(cid, at)
        record = ledgers.record(cid, at)
    return explain(live.model, record, account, events, at=at)
