"""Account use cases on the store: every account's score, ledger and coverage at a time,
filtered (tier, coverage, minimum score), and one account in full.

Each contact's own state is the one its decision reads (`service.scores.Ledgers.state`:
the persisted state, or its ledger replayed when asked about the past or after an intent
reset); each account's state is its persisted account-level state (replayed from its
events when asked about a time before its newest one). The computation itself is
`mql.accounts.score.score_account`, as in the streaming `AccountBook`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Connection, Engine

from mql.accounts.journeys import PathRow, Replay, Timing, paths, replay, timing
from mql.accounts.lifecycle import AccountHistory, history_from_facts
from mql.accounts.mqa import FastSignals, MqaDecision, qualify
from mql.accounts.roles import infer_role
from mql.accounts.score import AccountScore, Member, score_account
from mql.errors import ConfigError, NotFound
from mql.model.accounts import DEFAULT_ACCOUNTS, AccountScoring
from mql.model.mqa import DEFAULT_MQA
from mql.model.spec import Model
from mql.scoring.intent import IntentState
from mql.service import state as states
from mql.service.scores import CHUNK, Ledgers
from mql.store import account_stages
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import events as event_store
from mql.store import handoff as handoff_store
from mql.store.db import translate_errors
from mql.store.migrate import check
from mql.synthetic.world import AccountSlice

_TICK = timedelta(microseconds=1)
CoverageFilter = Literal["complete", "incomplete", "any"]
COVERAGE_FILTERS: tuple[str, ...] = ("complete", "incomplete", "any")


def spec_of(live: states.LiveModel) -> AccountScoring:
    """The model's `accounts:` section, or the shipped defaults when it has none."""
    return live.model.accounts or DEFAULT_ACCOUNTS


def _scores(conn: Connection, live: states.LiveModel, ids: list[int], at: datetime, *,
            crossing: bool) -> list[AccountScore]:
    spec = spec_of(live)
    records = account_store.load_accounts(conn, ids)
    stored = states.account_states(conn, live, ids) if live.account_level else {}
    later = [aid for aid, s in stored.items() if s.as_of is not None and s.as_of > at]
    if later:
        found = event_store.events_of_accounts(conn, later)
        for aid in later:
            stored[aid] = states.replay((e for e in found.get(aid, []) if e.at <= at), live,
                                        "account")
    members: dict[int, list[Member]] = defaultdict(list)
    cids = contact_store.live_contact_ids(conn, ids)
    for start in range(0, len(cids), CHUNK):
        part = cids[start:start + CHUNK]
        ledgers = Ledgers(conn, live, part)
        ledgers.prefetch(at)
        for cid in part:
            c = ledgers.contacts.get(cid)
            if c is None or c.account_id is None:
                continue
            account = records.get(c.account_id)
            then = ledgers.record(cid, at)  # the title of that moment, after a job change
            members[c.account_id].append(
                Member(then, infer_role(then, account, spec.roles), ledgers.state(cid, at)))
    return [score_account(live.model, records[aid].domain, records[aid],
                          sorted(members.get(aid, []), key=lambda m: m.contact.email),
                          stored.get(aid, IntentState.empty()), at, spec, crossing=crossing)
            for aid in ids if aid in records]


def list_accounts(engine: Engine, *, at: datetime, tier: str | None = None,
                  coverage: str = "any", min_score: float | None = None,
                  limit: int | None = None) -> list[AccountScore]:
    """Account scores at `at`, highest total first (then by domain), that pass the filters:
    ABM `tier`, `coverage` (complete: every role to cover engaged; incomplete: some role
    silent or missing), `min_score` (total at least)."""
    if coverage not in COVERAGE_FILTERS:
        raise ConfigError(f"coverage must be one of {', '.join(COVERAGE_FILTERS)}, got "
                          f"{coverage!r}")
    check(engine)
    with translate_errors("reading account scores"), engine.connect() as conn:
        live = states.live_model(conn)
        found = _scores(conn, live, account_store.all_ids(conn), at, crossing=False)
    out = [s for s in found
           if (tier is None or (s.tier or "") == tier)
           and (coverage == "any" or s.coverage.complete == (coverage == "complete"))
           and (min_score is None or s.total >= min_score)]
    out.sort(key=lambda s: (-s.total, s.domain))
    return out if limit is None else out[:limit]


def show_account(engine: Engine, domain: str, *, at: datetime) -> AccountScore:
    """One account's score, ledger, coverage and the moment it falls below its line;
    `NotFound` when the store has no account with this domain."""
    check(engine)
    with translate_errors("reading the account"), engine.connect() as conn:
        return _scores(conn, states.live_model(conn), [_account_id(conn, domain)], at,
                       crossing=True)[0]


def _account_id(conn: Connection, domain: str) -> int:
    """The id of the account keyed by `domain`; `NotFound` when the store has none."""
    found = account_store.ids_by_domain(conn, [domain.strip().lower()])
    if not found:
        raise NotFound(f"no account {domain!r}; accounts are keyed by web domain, "
                       "e.g. acme.example (`mql accounts list` shows them)")
    return next(iter(found.values()))


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account's score, its MQA decision and its lifecycle at a moment."""

    score: AccountScore
    mqa: MqaDecision
    history: AccountHistory


def show_account_mqa(engine: Engine, domain: str, *, at: datetime) -> AccountView:
    """One account's score and its MQA decision at `at` under the model's `accounts.mqa`
    (the shipped definition when it has none): each condition in words, the fast-track
    event when one of the account's or its contacts' events within the rule's days is one,
    the recipient and the SLA's deadline."""
    check(engine)
    with translate_errors("reading the account"), engine.connect() as conn:
        aid = _account_id(conn, domain)
        live = states.live_model(conn)
        score = _scores(conn, live, [aid], at, crossing=True)[0]
        spec = spec_of(live).mqa or DEFAULT_MQA
        fast = FastSignals(live.model, spec, spec_of(live).intent_score)
        last_seen: dict[str, datetime] = {}
        cids = contact_store.live_contact_ids(conn, [aid])
        mine = [e for es in event_store.events_of_contacts(conn, cids).values() for e in es]
        mine += event_store.events_of_accounts(conn, [aid]).get(aid, [])
        mine = [e for e in mine if e.at <= at]
        for e in mine:
            for name in fast.of(e):
                if e.at > last_seen.get(name, e.at - _TICK):
                    last_seen[name] = e.at
        decision = qualify(spec, score, last_seen)
        history = history_from_facts(
            score.domain, at, first_touch=min((e.at for e in mine), default=None),
            engaged=score.coverage.engaged_contacts > 0,
            mqas=account_stages.mqas_of(conn, score.domain),
            opportunities=account_stages.opportunities_of(conn, aid),
            mqa_now=decision.reason if decision.mqa else None)
    return AccountView(score, decision, history)


@dataclass(frozen=True, slots=True)
class MotionSummary:
    """MQLs, MQAs and PQLs of a synthetic world side by side: how many fired (rising
    edges), how many buying motions (one hand-off each) they made, each path's conversion
    and how much earlier than the first MQL the MQA fired for the won accounts."""

    qualifications: dict[str, int]
    motions: int
    paths: list[PathRow]
    timing: Timing
    stages: dict[str, int]

    @property
    def handoffs_saved(self) -> int:
        return sum(self.qualifications.values()) - self.motions


def motion_summary(model: Model, slices: Sequence[AccountSlice]) -> MotionSummary:
    """Replay each account of a synthetic world (its clean history) through the model's
    contact and account scores (`mql.accounts.journeys.replay`)."""
    replays: list[Replay] = []
    won: list[tuple[Replay, datetime]] = []
    for s in slices:
        r = replay(model, s.account, s.contacts, s.clean_events,
                   opportunities=[(o.created_at, o.status) for o in s.opportunities])
        replays.append(r)
        first_won = sorted(o.created_at for o in s.opportunities if o.status == "won")
        if first_won:
            won.append((r, first_won[0]))
    kinds = Counter(q.kind for r in replays for q in r.qualifications)
    return MotionSummary({k: kinds.get(k, 0) for k in ("mql", "mqa", "pql")},
                         sum(len(r.motions) for r in replays), paths(replays), timing(won),
                         dict(Counter(r.history.stage for r in replays)))


def qualify_accounts(conn: Connection, live: states.LiveModel, account_ids: set[int],
                     now: datetime,
                     seen: Mapping[int, Mapping[str, datetime]] | None = None) -> int:
    """Hand off the accounts that just became MQAs (models with `accounts.mqa` only): one
    `account.mqa` notification per buying motion, with the reasons, the recipient and SLA,
    the coverage summary and the account's MQLs attached; the account moves to the `mqa`
    stage. An account handed off less than `reopen_days` ago is in its open motion: not
    handed off again. `seen`: the event types each account (or its contacts) just did, for
    the fast-track events. Returns how many accounts were handed off."""
    spec = live.model.accounts
    if spec is None or spec.mqa is None or not account_ids:
        return 0
    rule_spec = spec.mqa
    ids = sorted(account_ids)
    found = _scores(conn, live, ids, now, crossing=False)
    by_domain = account_store.ids_by_domain(conn, [s.domain for s in found])
    last = account_stages.last_mqas(conn, by_domain)
    window = timedelta(days=rule_spec.reopen_days)
    busy: set[int] | None = None
    raised = 0
    for score in found:
        aid = by_domain[score.domain]
        d = qualify(rule_spec, score, (seen or {}).get(aid))
        if not d.mqa or (score.domain in last and now - last[score.domain] < window):
            continue
        if busy is None:
            busy = set(handoff_store.in_stage(conn, "mql", "sal"))
        mine = [cid for cid in contact_store.live_contact_ids(conn, [aid]) if cid in busy]
        mqls = sorted(c.record.email for c in contact_store.load_contacts(conn, mine).values())
        c = score.coverage
        detail = {
            "account": score.domain, "tier": score.tier, "owner": score.owner,
            "reason": d.reason, "met": list(d.met), "fast_track": d.fast_track,
            "route": d.route, "sla_hours": rule_spec.rule_for(score.tier).sla_hours,
            "sla_due_at": None if d.due is None else d.due.isoformat(),
            "handoff": rule_spec.handoff, "mqls": mqls,
            "score": {"fit": score.fit, "intent": score.intent, "total": score.total},
            "coverage": {"engaged": list(c.engaged), "silent": list(c.silent),
                         "missing": list(c.missing), "engaged_contacts": c.engaged_contacts,
                         "next_action": c.next_action}}
        account_stages.record(conn, account_stages.MQA, score.domain, detail, now)
        account_stages.record(conn, account_stages.STAGE, score.domain,
                              {"stage": "mqa", "reason": d.reason}, now)
        handoff_store.enqueue(conn, "account.mqa", score.domain,
                              {**detail, "account": {"domain": score.domain},
                               "at": now.isoformat()}, now)
        raised += 1
    return raised
