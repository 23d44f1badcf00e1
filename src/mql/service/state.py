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
from mql.lifecycle.stages import Cause
from mql.model.parse import parse_model
from mql.model.spec import TOTAL, Model
from mql.records import Account, Event
from mql.scoring.intent import IntentState, Level, Program, state_from_dict, state_to_dict
from mql.scoring.qualify import Decision, Qualifier
from mql.service.handoff import apply_decisions
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import events as event_store
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


def replay(events: Iterable[Event], live: LiveModel, level: str = "contact") -> IntentState:
    """A fresh state with `events` folded in (a re-derivation from the ledger)."""
    state = IntentState.empty()
    for e in events:
        state = state.add(e, live.program, "account" if level == "account" else "contact")
    return state


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
    return {i: replay(ledgers.get(i, ()), live) for i in wanted}


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
    for owner, ledger in event_store.ledgers(conn, level, tracked_types(live, level)):
        if owner in out:
            out[owner] = replay(ledger, live, level)
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


def score_contacts(conn: Connection, live: LiveModel, states: Mapping[int, IntentState],
                   *, now: datetime, cause: Cause | None = None,
                   times: Mapping[int, datetime] | None = None,
                   hold: frozenset[int] = frozenset()) -> dict[int, Decision]:
    """Decide every contact in `states` at `now` (or at its own moment in `times`) and
    persist state, scores and the lifecycle moves they cause together (none for the
    contacts in `hold`: their stage was just imported)."""
    if not states:
        return {}
    stored = contact_store.load_contacts(conn, states)
    account_ids = {c.account_id for c in stored.values() if c.account_id is not None}
    accounts = account_store.load_accounts(conn, account_ids)
    acc_states = account_states(conn, live, account_ids) if live.account_level else {}
    empty = IntentState.empty()
    rows: list[dict[str, Any]] = []
    decisions: dict[int, Decision] = {}
    for cid, state in states.items():
        c = stored.get(cid)
        if c is None or c.merged_into is not None:
            continue
        account: Account | None = accounts.get(c.account_id) if c.account_id else None
        acc_state = acc_states.get(c.account_id, empty) if c.account_id else empty
        # a state cannot be read before its newest event (clock skew, or a replay of
        # history "from the future"): such a contact is scored as of that event
        own = times.get(cid, now) if times else now
        at = max(t for t in (own, state.as_of, acc_state.as_of) if t is not None)
        d = live.qualifier.decide(c.record, account, state, acc_state, at)
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
                            decisions, states, cause, hold=hold)
    for row in rows:
        cid = row["contact_id"]
        if cid in reset:  # recycled: only fresh activity may qualify the contact again
            acc = stored[cid].account_id
            acc_state = acc_states.get(acc, empty) if acc else empty
            d = live.qualifier.decide(records[cid], accounts_of[cid], empty, acc_state,
                                      row["scored_at"])
            decisions[cid] = d
            row.update(state=state_to_dict(empty), fit=d.scores.get("fit"),
                       intent=d.scores.get("intent"), total=d.scores.get(TOTAL),
                       grade=d.grade, mql=d.mql, reasons=[str(r) for r in d.reasons],
                       qualified_until=d.qualified_until)
    score_store.save_contact_scores(conn, rows)
    return decisions


def rescore(conn: Connection, live: LiveModel, ids: Iterable[int], *, now: datetime,
            hold: frozenset[int] = frozenset()) -> None:
    """Recompute the scores of contacts from their persisted state (attributes changed);
    the contacts in `hold` keep their (just imported) stage."""
    score_contacts(conn, live, contact_states(conn, live, ids), now=now, hold=hold)
