"""Keeping persisted scores current: the live model, state updates, re-derivation, decisions.

Shared by the ingest, identity and store use cases; every function works inside the
caller's transaction (`conn`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from mql.errors import ConfigError
from mql.lifecycle.stages import Cause, Stage
from mql.model.parse import parse_model
from mql.model.spec import TOTAL, Model
from mql.records import Account, Event
from mql.scoring.intent import IntentState, Level, Program, state_from_dict, state_to_dict
from mql.scoring.qualify import Decision, Qualifier
from mql.service.handoff import NewMql, apply_decisions, stage_of
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import events as event_store
from mql.store import handoff as handoff_store
from mql.store import models as model_store
from mql.store import scores as score_store


@dataclass(frozen=True, slots=True)
class LiveModel:
    """The active model version, compiled once per use case."""

    version_id: int
    model: Model
    program: Program
    qualifier: Qualifier

    @property
    def account_level(self) -> bool:
        return any(t.level == "account" for t in self.program.trackers)


def live_model(conn: Connection) -> LiveModel:
    """The active model version; `ConfigError` telling how to get one if there is none."""
    version = model_store.active_version(conn)
    if version is None:
        raise ConfigError("the store has no active model; run `mql init` (which activates the "
                          "example model) or activate one")
    return compiled(version)


def compiled(version: model_store.ModelVersion) -> LiveModel:
    """A stored model version parsed and compiled, live or not (e.g. one being activated)."""
    return _compiled(version.id, version.text, version.source or f"model version {version.id}")


@functools.lru_cache(maxsize=16)
def _compiled(version_id: int, text: str, source: str) -> LiveModel:
    """A stored version parsed and compiled, once per process (the parts are immutable, so
    every thread shares them): collection asks for the live model on every request."""
    model = parse_model(text, source=source)
    program = Program(model)
    return LiveModel(version_id, model, program, Qualifier(model, program))


def replay(events: Iterable[Event], live: LiveModel, level: str = "contact",
           since: datetime | None = None) -> IntentState:
    """A fresh state with `events` folded in (a re-derivation from the ledger); with
    `since` (a contact's intent reset), only the events after it."""
    state = IntentState.empty()
    for e in events:
        if since is None or e.at > since:
            state = state.add(e, live.program, "account" if level == "account" else "contact")
    return state


def latest_resets(conn: Connection, ids: Iterable[int]) -> dict[int, datetime]:
    """Each contact's latest intent reset (contacts without one are left out): its stored
    state holds only its own events after it."""
    return {cid: max(times) for cid, times in handoff_store.resets_of(conn, ids).items()}


def contact_states(conn: Connection, live: LiveModel, ids: Iterable[int]
                   ) -> dict[int, IntentState]:
    """The persisted state of each contact in `ids` (empty when none is stored)."""
    wanted = set(ids)
    stored = score_store.contact_states(conn, wanted, live.version_id)
    return {i: state_from_dict(stored[i]) if i in stored else IntentState.empty()
            for i in wanted}


def account_states(conn: Connection, live: LiveModel, ids: Iterable[int]
                   ) -> dict[int, IntentState]:
    """The persisted state of each account in `ids` (empty when none is stored)."""
    wanted = set(ids)
    stored = score_store.account_states(conn, wanted, live.version_id)
    return {i: state_from_dict(stored[i]) if i in stored else IntentState.empty()
            for i in wanted}


def rederive_contacts(conn: Connection, live: LiveModel, ids: Iterable[int]
                      ) -> dict[int, IntentState]:
    """States rebuilt from each contact's event ledger (after a merge or an identify)."""
    wanted = set(ids)
    ledgers = event_store.events_of_contacts(conn, wanted)
    resets = latest_resets(conn, wanted)
    return {i: replay(ledgers.get(i, ()), live, since=resets.get(i)) for i in wanted}


def tracked_types(live: LiveModel, level: Level) -> set[str]:
    """The event types some tracker of `level` counts (the others never change a state)."""
    return {kind for t in live.program.trackers if t.level == level for kind in t.events}


def rederive_all(conn: Connection, live: LiveModel, ids: Iterable[int],
                 level: Level = "contact") -> dict[int, IntentState]:
    """`rederive_contacts` (or `rederive_accounts`) for many at once: one ordered pass over
    the ledger, reading only the event types the model tracks. The states are the same,
    bit for bit: each ledger is replayed in the same order, and the types left out are
    the ones `IntentState.add` ignores."""
    out = dict.fromkeys(ids, IntentState.empty())
    resets = latest_resets(conn, out) if level == "contact" else {}
    for owner, ledger in event_store.ledgers(conn, level, tracked_types(live, level)):
        if owner in out:
            out[owner] = replay(ledger, live, level, since=resets.get(owner))
    return out


def rederive_accounts(conn: Connection, live: LiveModel, ids: Iterable[int]
                      ) -> dict[int, IntentState]:
    """Account states rebuilt from each account's event ledger."""
    wanted = set(ids)
    ledgers = event_store.events_of_accounts(conn, wanted)
    return {i: replay(ledgers.get(i, ()), live, "account") for i in wanted}


def save_accounts(conn: Connection, live: LiveModel, states: Mapping[int, IntentState],
                  *, now: datetime) -> None:
    """Persist account states."""
    score_store.save_account_states(conn, [
        {"account_id": i, "model_version_id": live.version_id, "state": state_to_dict(s),
         "updated_at": now} for i, s in states.items()])


def settle_due(conn: Connection, live: LiveModel, ids: Iterable[int], until: datetime, *,
               stages: Mapping[int, handoff_store.StageRow] | None = None
               ) -> dict[int, Decision]:
    """Make the time-based moves of `ids` that fell due by `until` and were not made yet
    (the worker had not run), each at its own due moment and from the state as it was
    then, before anything later happens to those contacts: the history is then the same
    whether the worker ran on time or late. `stages`: their stage rows, if read already."""
    rows = stages if stages is not None else handoff_store.stages(conn, ids)
    due = {cid: r.due for cid, r in rows.items() if r.due is not None and r.due <= until}
    if not due:
        return {}
    return score_contacts(conn, live, contact_states(conn, live, due), now=until, times=due,
                          settle=False)


def score_contacts(conn: Connection, live: LiveModel, states: Mapping[int, IntentState],
                   *, now: datetime, cause: Cause | None = None,
                   times: Mapping[int, datetime] | None = None,
                   settle: bool = True, hold: frozenset[int] = frozenset(),
                   defer: list[NewMql] | None = None) -> dict[int, Decision]:
    """Decide every contact in `states` at `now` (or at its own moment in `times`) and
    persist state, scores and the lifecycle moves they cause together (none for the
    contacts in `hold`: their stage was just imported). Moves that fell due before then
    are made first, at their moment (`settle_due`). `defer`: see `apply_decisions`."""
    if not states:
        return {}
    # the stage rows, read once: for settling, for which exits matter, and for the moves
    stages = handoff_store.stages(conn, states)
    if settle and times is None:
        settled = settle_due(conn, live, states, now, stages=stages)
        if settled:  # a recycle may have reset intent: the given states hold old events
            stages.update(handoff_store.stages(conn, settled))  # they moved
            resets = latest_resets(conn, settled)
            if resets:
                states = {**states, **rederive_contacts(conn, live, resets)}
    stored = contact_store.load_contacts(conn, states)
    account_ids = {c.account_id for c in stored.values() if c.account_id is not None}
    accounts = account_store.load_accounts(conn, account_ids)
    acc_states = account_states(conn, live, account_ids) if live.account_level else {}
    empty = IntentState.empty()
    at_times = _account_states_at(conn, live, stored, acc_states, times) if times else {}
    rows: list[dict[str, Any]] = []
    decisions: dict[int, Decision] = {}
    for cid, state in states.items():
        c = stored.get(cid)
        if c is None or c.merged_into is not None:
            continue
        account: Account | None = accounts.get(c.account_id) if c.account_id else None
        acc_state = at_times.get(cid) or (acc_states.get(c.account_id, empty)
                                          if c.account_id else empty)
        # a state cannot be read before its newest event (clock skew, or a replay of
        # history "from the future"): such a contact is scored as of that event
        own = times.get(cid, now) if times else now
        at = max(t for t in (own, state.as_of, acc_state.as_of) if t is not None)
        now_in = stages.get(cid)
        # the exit time matters only to an MQL (its due move, the webhook of its exit)
        d = live.qualifier.decide(c.record, account, state, acc_state, at, exit_needed=(
            now_in is not None and stage_of(now_in.stage) is Stage.MQL))
        decisions[cid] = d
        rows.append({"contact_id": cid, "model_version_id": live.version_id,
                     "state": state_to_dict(state), "fit": d.scores.get("fit"),
                     "intent": d.scores.get("intent"), "total": d.scores.get(TOTAL),
                     "grade": d.grade, "mql": d.mql, "reasons": [str(r) for r in d.reasons],
                     "qualified_until": d.qualified_until, "scored_at": at,
                     "updated_at": now})
    records = {cid: stored[cid].record for cid in decisions}
    accounts_of = {cid: accounts.get(aid) if (aid := stored[cid].account_id) else None
                   for cid in decisions}
    reset = apply_decisions(conn, live.qualifier, live.version_id, records, accounts_of,
                            decisions, states, cause, hold=hold, stages=stages,
                            defer=defer)
    handoff_store.add_resets(conn, [(cid, at, "timeout") for cid, at in reset.items()])
    fresh = rederive_contacts(conn, live, reset) if reset else {}
    for row in rows:
        cid = row["contact_id"]
        if cid in reset:  # recycled: only fresh activity may qualify the contact again
            acc = stored[cid].account_id
            acc_state = at_times.get(cid) or (acc_states.get(acc, empty) if acc else empty)
            state = fresh[cid]
            at = max(t for t in (row["scored_at"], state.as_of) if t is not None)
            d = live.qualifier.decide(records[cid], accounts_of[cid], state, acc_state, at)
            decisions[cid] = d
            row.update(state=state_to_dict(state), scored_at=at, fit=d.scores.get("fit"),
                       intent=d.scores.get("intent"), total=d.scores.get(TOTAL),
                       grade=d.grade, mql=d.mql, reasons=[str(r) for r in d.reasons],
                       qualified_until=d.qualified_until)
    if live.model.nurture is not None:  # issue 21: the tracks move with the decisions
        from mql.service import nurture

        finals = {cid: fresh.get(cid, states[cid]) for cid in decisions}
        acc_of = {cid: at_times.get(cid) or (acc_states.get(aid, empty) if (
            aid := stored[cid].account_id) else empty) for cid in decisions}
        nurture.step(conn, live, decisions, records, accounts_of, finals, acc_of,
                     cause=cause.value if cause is not None else "due" if times else "event")
    score_store.save_contact_scores(conn, rows)
    return decisions


def _account_states_at(conn: Connection, live: LiveModel,
                       stored: Mapping[int, contact_store.StoredContact],
                       acc_states: Mapping[int, IntentState], times: Mapping[int, datetime]
                       ) -> dict[int, IntentState]:
    """For contacts decided at their own earlier moment (a due move), their account's
    state at that moment when the stored one holds later events (the account engaged
    after the move fell due): the move is decided, and stamped, when it was due."""
    wanted: dict[int, tuple[int, datetime]] = {}
    for cid, t in times.items():
        c = stored.get(cid)
        if c is None or c.account_id is None:
            continue
        acc = acc_states.get(c.account_id)
        if acc is not None and acc.as_of is not None and acc.as_of > t:
            wanted[cid] = (c.account_id, t)
    if not wanted:
        return {}
    ledgers = event_store.events_of_accounts(conn, {a for a, _ in wanted.values()})
    return {cid: replay((e for e in ledgers.get(aid, ()) if e.at <= t), live, "account")
            for cid, (aid, t) in wanted.items()}


def rescore(conn: Connection, live: LiveModel, ids: Iterable[int], *, now: datetime,
            hold: frozenset[int] = frozenset()) -> None:
    """Recompute the scores of contacts from their persisted state (attributes changed);
    the contacts in `hold` keep their (just imported) stage."""
    score_contacts(conn, live, contact_states(conn, live, ids), now=now, hold=hold)
