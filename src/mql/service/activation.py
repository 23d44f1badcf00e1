"""Activating a model version: what it would change (a dry run, from the batch engine) and
the switch itself (every state re-derived under the new version, in one pass).

A dry run needs each contact's decision under the new model as of now, and nothing else:
the DuckDB batch engine computes them in one query over the store's ledger, and the stage
machine (`mql.lifecycle.rules.next_move`) turns them into the moves the switch would make.
The switch must store what the streaming path reads later (each contact's intent state,
its decision with the exit times and reasons, the moves with their routing and outbox
rows), which only the streaming core computes: the ledger is read once, in order, and
replayed per contact and account (`service.state.rederive_all`).

A dry run falls back to replaying the ledger where the batch engine cannot be exact:
contacts with an event later than now (their state is read at their newest event, as
the streaming path does), disqualification rules that look at activity (the engine does
not compute them), and model constructs the engine declares unsupported.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa
from sqlalchemy.engine import Connection

from mql.batch.asof import AsOf
from mql.batch.conditions import EngineUnsupported
from mql.batch.engines import Inputs, connect
from mql.errors import NotFound
from mql.lifecycle.rules import next_move
from mql.lifecycle.stages import Cause, Stage
from mql.model.conditions import activities
from mql.model.spec import TOTAL, Model
from mql.records import Account, Contact
from mql.scoring.intent import IntentState
from mql.scoring.qualify import Decision, Reason, ReasonKind
from mql.service import nurture
from mql.service import state as states
from mql.service.engine_inputs import write_events
from mql.service.handoff import stage_of
from mql.service.retention import RETAIN
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import export
from mql.store import handoff as handoff_store
from mql.store import merges as merge_store
from mql.store import models as model_store
from mql.store import scores as score_store

Method = Literal["batch", "set", "stream", "replay"]
QUALIFIED = frozenset({Stage.MQL.value, Stage.PQL.value})
CHUNK = 1000
# from this many live contacts on, `method="batch"` switches set-based: below it the batch
# engine's fixed cost (compiling the model, one query) outweighs the contacts it settles
# (measured: 7.0 s set-based against 3.9 s per contact at 1,158 contacts, 22.6 s against
# 37.7 s at 10,314; docs/batch.md, "Model activation")
SET_BASED_FROM = 5_000


@dataclass(frozen=True, slots=True)
class Activation:
    """What activating a model version did (or would do, in a dry run): the contacts it
    qualifies and unqualifies, and how many lifecycle transitions it records."""

    version_id: int
    newly_qualified: list[str]
    no_longer_qualified: list[str]
    transitions: int
    dry_run: bool


def version_of(conn: Connection, version_id: int) -> model_store.ModelVersion:
    """The stored version; `NotFound` for an unknown id."""
    found = next((v for v in model_store.versions(conn) if v.id == version_id), None)
    if found is None:
        raise NotFound(f"no model version {version_id}")
    return found


def _emails(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    return {i: c.record.email for i, c in contact_store.load_contacts(conn, ids).items()}


def _activation(version_id: int, emails: Mapping[int, str], before: Mapping[int, str | None],
                after: Mapping[int, str | None], transitions: int, dry_run: bool
                ) -> Activation:
    def was(stage: str | None) -> bool:
        return stage in QUALIFIED

    return Activation(
        version_id,
        sorted(emails[i] for i in emails if was(after.get(i)) and not was(before.get(i))),
        sorted(emails[i] for i in emails if was(before.get(i)) and not was(after.get(i))),
        transitions, dry_run)


# -- the switch -------------------------------------------------------------------------

def equivalent(a: Model, b: Model) -> bool:
    """Whether two models decide every contact alike: equal but for their version label
    and description (the words people change when they re-publish the same rules)."""
    return dataclasses.replace(a, version=b.version, description=b.description) == b


def _unchanged(conn: Connection, version_id: int) -> bool:
    """Whether the live model is equivalent to version `version_id` (activating it then
    changes nothing: no re-derivation, no transitions)."""
    live = model_store.active_version(conn)
    if live is None:
        return False
    return equivalent(states.compiled(live).model,
                      states.compiled(version_of(conn, version_id)).model)


def switch(conn: Connection, version_id: int, *, now: datetime, dry_run: bool,
           method: Method = "batch") -> Activation:
    """Make the version live in `conn`'s transaction: every account's and contact's state
    re-derived from its ledger, scored at `now` (or at its newest event, if later), and
    the moves recorded with cause `model_change`. A version equivalent to the live one
    (`equivalent`) only takes over its states: nothing is re-decided, so a recycled or
    rejected lead stays where sales put it.

    When both versions track contacts alike (`Program.tracking`), a contact's re-derived
    state is the one stored under the previous version: the batch engine then decides
    every contact at once (`_plan`, as the dry run does), and the quiet ones (not
    qualified before or after, no move, nothing due) take their new scores set-based
    (`score_store.carry_contact_scores`) and their nurture step from the engine's
    decisions (`_nurture`); the others go through the streaming core.
    `method="batch"` is set-based from `SET_BASED_FROM` live contacts on, `method="set"`
    at any size; `method="stream"` re-derives every contact in one ordered pass over the
    ledger and decides each (what "batch" does below that size, and the set-based
    switch's reference); `method="replay"` is the previous way, 1000 contacts at a time
    with a query per chunk (kept as the benchmark's baseline)."""
    previous = model_store.active_version(conn)
    if previous is not None and _unchanged(conn, version_id):
        model_store.activate(conn, version_id, now=now)
        if previous.id != version_id:
            score_store.copy_version(conn, previous.id, version_id)
        return Activation(version_id, [], [], 0, dry_run)
    model_store.activate(conn, version_id, now=now)
    live = states.live_model(conn)
    ids = contact_store.live_contact_ids(conn)
    was = states.compiled(previous) if previous is not None else None
    plan = None
    # a retention run deleted raw events the stored states still hold: only a re-derivation
    # from the ledger gives what the per-contact path gives (docs/compliance.md)
    # with nurture tracks the quiet contacts still take the nurture step one by one, which
    # costs about what deciding them does: "batch" keeps such a model on the per-contact
    # path (measured in docs/batch.md), "set" takes the set-based one
    set_based = (method == "set" or (method == "batch" and len(ids) >= SET_BASED_FROM
                                     and live.model.nurture is None)) \
        and not merge_store.audited(conn, RETAIN)
    if set_based and was is not None and was.version_id != version_id and (
            was.program.tracking("contact") == live.program.tracking("contact")):
        plan = _plan(conn, live, ids, now)
    stages = plan.stages if plan is not None else handoff_store.stages(conn, ids)
    before = {i: r.stage for i, r in stages.items()}
    history_before = handoff_store.history_count(conn)
    if live.account_level:  # account-level rules read these while contacts are scored
        account_ids = export.account_ids(conn)
        derived = (states.rederive_accounts(conn, live, account_ids) if method == "replay"
                   else states.rederive_all(conn, live, account_ids, "account"))
        states.save_accounts(conn, live, derived, now=now)
    rest = ids
    carried: set[int] = set()
    quiet: dict[int, Decision] = {}
    if plan is not None and was is not None:
        carried = score_store.scored_contacts(conn, was.version_id)
        quiet = _quiet(live, plan, carried, version_id)
        score_store.carry_contact_scores(conn, was.version_id, version_id, [
            {"contact_id": cid, "fit": d.scores.get("fit"), "intent": d.scores.get("intent"),
             "total": d.scores.get(TOTAL), "grade": d.grade, "scored_at": now,
             "updated_at": now} for cid, d in quiet.items()])
        rest = [i for i in ids if i not in quiet]
    many = not carried and method != "replay"
    contact_states = states.rederive_all(conn, live, rest) if many else {}
    # the chunks of the per-contact path (the quiet contacts left out): routing reads
    # each chunk's open assignments, so the owners are the same as with every contact
    left = set(rest)
    for start in range(0, len(ids), CHUNK):
        part = [i for i in ids[start:start + CHUNK] if i in left]
        if carried and was is not None:  # both versions track alike: the states hold
            derived = states.contact_states(conn, was, [i for i in part if i in carried])
            derived.update(states.rederive_contacts(conn, live, [
                i for i in part if i not in carried]))
        else:
            derived = (contact_states if many
                       else states.rederive_contacts(conn, live, part))
        chunk = {i: derived[i] for i in part}  # in id order: the order of routing
        # no settling of overdue moves here: they belong to the previous version
        states.score_contacts(conn, live, chunk, now=now, cause=Cause.MODEL_CHANGE,
                              settle=False)
    if quiet and plan is not None and was is not None:
        _nurture(conn, live, was, plan, quiet)
    after = dict(before)
    after.update({i: r.stage for i, r in handoff_store.stages(conn, rest).items()})
    emails = ({i: plan.stored[i].record.email for i in ids} if plan is not None
              else _emails(conn, ids))
    return _activation(version_id, emails, before, after,
                       handoff_store.history_count(conn) - history_before, dry_run)


def _nurture(conn: Connection, live: states.LiveModel, was: states.LiveModel,
             plan: _Plan, quiet: Mapping[int, Decision]) -> None:
    """The nurture tracks of the quiet contacts (issue 21): no move, but a quiet contact
    may still enter, leave or step along a track under the new model. The streaming
    core's own step decides them, from the engine's decisions, the states stored under
    the previous version (what the per-contact path reads) and the accounts' states
    under the new one, `CHUNK` contacts at a time."""
    if live.model.nurture is None:
        return
    ids = sorted(quiet)
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        records = {cid: plan.stored[cid].record for cid in part}
        account_ids = {aid for cid in part if (aid := plan.stored[cid].account_id)}
        accounts_of = {cid: plan.accounts.get(aid) if (aid := plan.stored[cid].account_id)
                       else None for cid in part}
        acc_states = states.account_states(conn, live, account_ids) if live.account_level \
            else {}
        empty = IntentState.empty()
        acc_of = {cid: acc_states.get(aid, empty) if (aid := plan.stored[cid].account_id)
                  else empty for cid in part}
        nurture.step(conn, live, {cid: quiet[cid] for cid in part}, records, accounts_of,
                     states.contact_states(conn, was, part), acc_of,
                     cause=Cause.MODEL_CHANGE.value)


def _quiet(live: states.LiveModel, plan: _Plan, carried: set[int], version_id: int
           ) -> dict[int, Decision]:
    """The contacts whose switch the engine's decision settles: a stored state to carry
    over (`carried`), scored at `now` (no later event), not qualified under the new
    model and not an MQL now (no reasons, no exit time), nothing due, and no move."""
    out = {}
    for cid, d in plan.decisions.items():
        row = plan.stages.get(cid)
        if d.mql or cid not in carried or (row is not None and row.due is not None):
            continue
        stage = stage_of(row.stage if row else None)
        if stage is Stage.MQL:
            continue
        since = (row.since if row and row.since else None) or d.as_of
        if next_move(live.model, stage, since, d, model_version=str(version_id)) is None:
            out[cid] = d
    return out


# -- the dry run --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Plan:
    """Every live contact's decision at `now` from the batch engine (but for the `late`
    ones, with an event after `now`), with what deciding them read."""

    stored: Mapping[int, contact_store.StoredContact]
    accounts: Mapping[int, Account]
    stages: Mapping[int, handoff_store.StageRow]
    late: set[int]
    decisions: dict[int, Decision]


def _plan(conn: Connection, live: states.LiveModel, ids: list[int], now: datetime
          ) -> _Plan | None:
    """The engine's decisions of `ids` at `now`; None where the engine cannot be exact:
    disqualification rules that look at activity, exit rules (the engine's rows do not
    say which one holds), and constructs it declares unsupported."""
    if any(True for rule in live.model.lifecycle.disqualify for _ in activities(rule.when)) \
            or live.model.exit_when:
        return None
    stored = contact_store.load_contacts(conn, ids)
    accounts = account_store.load_accounts(
        conn, {c.account_id for c in stored.values() if c.account_id is not None})
    late_contacts, late_accounts = export.owners_after(conn, now)
    late = {i for i in ids if i in late_contacts or (
        live.account_level and stored[i].account_id in late_accounts)}
    records = [stored[i].record for i in ids]
    try:
        table = _rescore(conn, live, records, list(accounts.values()), now)
    except EngineUnsupported:
        return None
    by_email = {stored[i].record.email: i for i in ids}
    decisions: dict[int, Decision] = {}
    empty = IntentState.empty()
    names = [*live.model.scores, TOTAL]
    for row in table.to_pylist():
        cid = by_email.get(row["contact"])
        if cid is None or cid in late:
            continue
        c = stored[cid]
        account = accounts.get(c.account_id) if c.account_id is not None else None
        decisions[cid] = _decision(live, c.record, account, row, names, empty, now)
    return _Plan(stored, accounts, handoff_store.stages(conn, ids), late, decisions)


def preview(conn: Connection, version_id: int, *, now: datetime) -> Activation:
    """What `switch` would do, from the batch engine's decisions at `now`; nothing is
    written. Falls back to `switch` (rolled back by the caller) when the engine cannot
    decide this model exactly."""
    if _unchanged(conn, version_id):
        return Activation(version_id, [], [], 0, True)
    live = states.compiled(version_of(conn, version_id))
    ids = contact_store.live_contact_ids(conn)
    plan = _plan(conn, live, ids, now)
    if plan is None:
        return switch(conn, version_id, now=now, dry_run=True)
    decisions = {**plan.decisions,
                 **_replayed(conn, live, plan.late, plan.stored, plan.accounts, now)}
    before = {i: r.stage for i, r in plan.stages.items()}
    after = dict(before)
    moves = 0
    for cid in ids:
        d = decisions[cid]
        now_in = plan.stages.get(cid)
        stage = stage_of(now_in.stage if now_in else None)
        since = (now_in.since if now_in and now_in.since else None) or d.as_of
        move = next_move(live.model, stage, since, d, model_version=str(version_id))
        if move is not None:
            moves += 1
            after[cid] = move.target.value
    return _activation(version_id, {i: plan.stored[i].record.email for i in ids}, before,
                       after, moves, True)


def _rescore(conn: Connection, live: states.LiveModel, contacts: list[Contact],
             accounts: list[Account], now: datetime) -> pa.Table:
    """Every contact's decision at `now` from the DuckDB engine over the store's ledger."""
    types = states.tracked_types(live, "contact") | states.tracked_types(live, "account")
    with tempfile.TemporaryDirectory(prefix="mql-activate-") as scratch:
        path = Path(scratch) / "events.parquet"
        # the types the model never reads are left out; a contact's own events before its
        # intent reset count for its account only, as in the switch's re-derivation
        since = states.latest_resets(conn, contact_store.live_contact_ids(conn))
        write_events(conn, path, types=types, since=since)
        engine = connect("duckdb")
        try:
            return engine.rescore(live.model, Inputs(contacts, accounts, path), AsOf.at(now))
        finally:
            engine.close()


def _reasons(text: str | None) -> tuple[Reason, ...]:
    """The engine's reasons ("thresholds #1; fast-track demo_request") as `Reason`s."""
    out = []
    for part in (text or "").split("; "):
        if part:
            kind, _, name = part.partition(" ")
            reason: ReasonKind = kind.replace("-", "_")  # type: ignore[assignment]
            out.append(Reason(reason, name, ""))
    return tuple(out)


def _decision(live: states.LiveModel, contact: Contact, account: Account | None,
              row: Mapping[str, object], names: list[str], empty: IntentState, now: datetime
              ) -> Decision:
    """The engine's row as the `Decision` the stage machine reads: scores, MQL verdict,
    reasons, exclusions, and the disqualification rules (on fields and scores only)."""
    scores = {n: float(row[n]) for n in names}  # type: ignore[arg-type]
    q = live.qualifier
    disqualified = q.matching(q.disqualify, contact, account, scores, empty, now)
    excluded = tuple(x for x in str(row["excluded_by"] or "").split("; ") if x)
    grade = row["grade"]
    return Decision(contact.email, now, scores, None if grade is None else str(grade),
                    bool(row["mql"]), _reasons(row["reasons"]),  # type: ignore[arg-type]
                    excluded_by=excluded, disqualified_by=disqualified)


def _replayed(conn: Connection, live: states.LiveModel, ids: set[int],
              stored: Mapping[int, contact_store.StoredContact],
              accounts: Mapping[int, Account], now: datetime) -> dict[int, Decision]:
    """Decisions from the streaming core, as `switch` makes them, for `ids`."""
    if not ids:
        return {}
    contact_states = states.rederive_contacts(conn, live, ids)
    account_ids = {stored[i].account_id for i in ids if stored[i].account_id is not None}
    acc_states = (states.rederive_accounts(conn, live, account_ids)  # type: ignore[arg-type]
                  if live.account_level else {})
    empty = IntentState.empty()
    out = {}
    for cid in ids:
        c, state = stored[cid], contact_states[cid]
        acc = acc_states.get(c.account_id, empty) if c.account_id is not None else empty
        at = max(t for t in (now, state.as_of, acc.as_of) if t is not None)
        account = accounts.get(c.account_id) if c.account_id is not None else None
        out[cid] = live.qualifier.decide(c.record, account, state, acc, at)
    return out
