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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.engine import Connection, Engine

from mql.accounts.journeys import PathRow, Replay, Timing, paths, replay, timing
from mql.accounts.lifecycle import AccountHistory, history_from_facts
from mql.accounts.mqa import (
    FastSignals,
    MqaDecision,
    engaged_people,
    engagement_rule,
    qualify,
)
from mql.accounts.roles import infer_role
from mql.accounts.score import AccountScore, Member, score_account
from mql.batch.reports import ALL_TIME
from mql.errors import ConfigError, NotFound
from mql.model.accounts import DEFAULT_ACCOUNTS, AccountScoring
from mql.model.mqa import DEFAULT_MQA
from mql.model.spec import Model
from mql.scoring.intent import IntentState
from mql.service import state as states
from mql.service.handoff import iso
from mql.service.reports import ReportResult
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
            mqa_now=decision.reason if decision.mqa else None,
            moves=account_stages.stored_moves(conn, score.domain))
    return AccountView(score, decision, history)


@dataclass(frozen=True, slots=True)
class TierRow:
    """One ABM tier of an MQA report ("none": accounts of no tier): accounts, MQAs fired,
    accounts that reached MQA, of those the ones with an opportunity created within
    `within_days` after an MQA, and the timing of its won accounts."""

    tier: str
    accounts: int
    mqas: int
    mqa_accounts: int
    mqa_opportunities: int
    timing: Timing

    @property
    def mqa_to_opportunity(self) -> float | None:
        return self.mqa_opportunities / self.mqa_accounts if self.mqa_accounts else None


@dataclass(frozen=True, slots=True)
class MotionSummary:
    """MQLs, MQAs and PQLs side by side: how many fired (rising edges), how many buying
    motions (one hand-off each) they made, each path's conversion, how much earlier than
    the first MQL the MQA fired for the won accounts, MQAs per month and per ABM tier."""

    qualifications: dict[str, int]
    motions: int
    paths: list[PathRow]
    timing: Timing
    stages: dict[str, int]
    months: dict[str, dict[str, int]] = field(default_factory=dict)  # "2025-03": kind: n
    tiers: list[TierRow] = field(default_factory=list)

    @property
    def handoffs_saved(self) -> int:
        return sum(self.qualifications.values()) - self.motions


def _first_won(opportunities: Sequence[tuple[datetime, str]]) -> datetime | None:
    won = sorted(at for at, status in opportunities if status == "won")
    return won[0] if won else None


def summarise(replays: Sequence[Replay], *, within_days: float = 90.0) -> MotionSummary:
    """The report over replayed accounts (`mql.accounts.journeys.replay`): the one
    computation behind `mql accounts report`, `GET /v1/reports/accounts` and the demo."""
    window = timedelta(days=within_days)
    won = [(r, w) for r in replays if (w := _first_won(r.opportunities)) is not None]
    kinds = Counter(q.kind for r in replays for q in r.qualifications)
    months: dict[str, dict[str, int]] = {}
    for r in replays:
        for q in r.qualifications:
            row = months.setdefault(q.at.strftime("%Y-%m"), {"mql": 0, "mqa": 0, "pql": 0})
            row[q.kind] += 1
    tiers: list[TierRow] = []
    for tier in sorted({r.tier or "none" for r in replays}):
        mine = [r for r in replays if (r.tier or "none") == tier]
        mqas = [[q.at for q in r.qualifications if q.kind == "mqa"] for r in mine]
        reached = [(r, ts) for r, ts in zip(mine, mqas, strict=True) if ts]
        converted = sum(1 for r, ts in reached
                        if any(t <= at <= t + window for t in ts for at, _ in r.opportunities))
        tiers.append(TierRow(tier, len(mine), sum(map(len, mqas)), len(reached), converted,
                             timing([(r, w) for r, w in won if (r.tier or "none") == tier])))
    return MotionSummary({k: kinds.get(k, 0) for k in ("mql", "mqa", "pql")},
                         sum(len(r.motions) for r in replays),
                         paths(replays, within_days=within_days), timing(won),
                         dict(Counter(r.history.stage for r in replays)),
                         dict(sorted(months.items())), tiers)


def motion_summary(model: Model, slices: Sequence[AccountSlice]) -> MotionSummary:
    """Replay each account of a synthetic world (its clean history) through the model's
    contact and account scores (`mql.accounts.journeys.replay`)."""
    return summarise([replay(model, s.account, s.contacts, s.clean_events,
                             opportunities=[(o.created_at, o.status) for o in s.opportunities])
                      for s in slices])


def report_json(view: MotionSummary) -> dict[str, Any]:
    """The report as JSON-ready values (the API and `mql accounts report --json`)."""
    t = view.timing
    return {
        "qualifications": view.qualifications, "motions": view.motions,
        "handoffs_saved": view.handoffs_saved, "stages": view.stages, "months": view.months,
        "paths": [{"path": p.path, "motions": p.motions, "opportunities": p.opportunities,
                   "won": p.won, "conversion": p.conversion} for p in view.paths],
        "timing": _timing_json(t),
        "tiers": [{"tier": r.tier, "accounts": r.accounts, "mqas": r.mqas,
                   "mqa_accounts": r.mqa_accounts, "mqa_opportunities": r.mqa_opportunities,
                   "mqa_to_opportunity": r.mqa_to_opportunity,
                   "timing": _timing_json(r.timing)} for r in view.tiers],
    }


def _timing_json(t: Timing) -> dict[str, Any]:
    return {"won": t.won, "with_mqa": t.with_mqa, "with_mql": t.with_mql,
            "mqa_first": t.mqa_first, "mqa_first_share": t.mqa_first_share,
            "same_time": t.same_time, "mqa_lead_days": t.mqa_lead_days,
            "mql_lead_days": t.mql_lead_days, "mqa_over_mql_days": t.mqa_over_mql_days,
            "words": t.words()}


def account_report(engine: Engine, *, at: datetime) -> MotionSummary:
    """The MQA report of the store: every account's stored contacts, events up to `at`
    and opportunities (opened up to `at`; won only when closed won by then) replayed
    through the live model's contact and account scores, then `summarise`d."""
    check(engine)
    replays: list[Replay] = []
    with translate_errors("reading the account report"), engine.connect() as conn:
        live = states.live_model(conn)
        ids = account_store.all_ids(conn)
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            records = account_store.load_accounts(conn, part)
            cids = contact_store.live_contact_ids(conn, part)
            stored = contact_store.load_contacts(conn, cids)
            by_account: dict[int, list[int]] = defaultdict(list)
            for cid, c in stored.items():
                if c.account_id is not None:
                    by_account[c.account_id].append(cid)
            of_contacts = event_store.events_of_contacts(conn, cids)
            of_accounts = event_store.events_of_accounts(conn, part)
            for aid in part:
                account = records.get(aid)
                if account is None:
                    continue
                mine = {e.event_id: e for cid in by_account.get(aid, [])
                        for e in of_contacts.get(cid, []) if e.at <= at}
                mine.update((e.event_id, e) for e in of_accounts.get(aid, []) if e.at <= at)
                opps = [(opened, status if closed is not None and closed <= at else "open")
                        for opened, closed, status in account_stages.opportunities_of(conn, aid)
                        if opened <= at]
                contacts = [stored[cid].record for cid in by_account.get(aid, [])]
                replays.append(replay(live.model, account, contacts,
                                      sorted(mine.values(), key=lambda e: (e.at, e.event_id)),
                                      opportunities=opps))
    return summarise(replays)


def _record_moves(conn: Connection, found: Sequence[AccountScore], now: datetime) -> None:
    """Store the accounts' moves to aware (their first touch) and engaged (a contact
    engaged), each once, at the time ingestion saw it: an answer about the past reads
    them and does not change later."""
    stored = account_stages.last_stages(conn, [s.domain for s in found])
    for score in found:
        stage = stored.get(score.domain, "target")
        if stage == "target":
            account_stages.record(conn, account_stages.STAGE, score.domain,
                                  {"stage": "aware", "reason": "first touch"}, now)
            stage = "aware"
        if score.coverage.engaged_contacts and stage == "aware":
            account_stages.record(conn, account_stages.STAGE, score.domain,
                                  {"stage": "engaged", "reason": score.coverage.next_action},
                                  now)


def qualify_accounts(conn: Connection, live: states.LiveModel, account_ids: set[int],
                     now: datetime,
                     seen: Mapping[int, Mapping[str, datetime]] | None = None) -> int:
    """Store the accounts' lifecycle moves to aware and engaged (models with an
    `accounts:` section), then hand off the accounts that just became MQAs (models with
    `accounts.mqa` only): one
    `account.mqa` notification per buying motion, with the reasons, the recipient and SLA,
    the coverage summary and the account's MQLs attached; the account moves to the `mqa`
    stage. An account handed off less than `reopen_days` ago is in its open motion: not
    handed off again. `seen`: the event types each account (or its contacts) just did, for
    the fast-track events. Returns how many accounts were handed off."""
    spec = live.model.accounts
    if spec is None or not account_ids:
        return 0
    ids = sorted(account_ids)
    found = _scores(conn, live, ids, now, crossing=False)
    _record_moves(conn, found, now)
    if spec.mqa is None:
        return 0
    rule_spec = spec.mqa
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
                               "at": iso(now)}, now)
        raised += 1
    return raised


def alert_accounts(conn: Connection, live: states.LiveModel, account_ids: set[int],
                   now: datetime) -> int:
    """Alert the owners of the batch's accounts where several contacts engaged within the
    routing's window (`routing.account_alerts`), once per quiet period: the alert is the
    MQA rule `engagement_rule(min_contacts, window_days)` decided by `qualify` on the
    account's score, the one computation of "N contacts engaged within D days". Only the
    accounts this batch touched are read, and of those only the ones out of their quiet
    period with at least `min_contacts` contacts active in the window (a bound: an
    account with fewer cannot have that many engaged) are scored. Returns how many alerts
    were raised."""
    model = live.model
    if model.routing is None or not account_ids:
        return 0
    policy = model.routing.alerts
    quiet = timedelta(days=policy.quiet_days)
    names = handoff_store.account_domains(conn, account_ids)
    last = handoff_store.last_alerts(conn, [d for d, _, _ in names.values()])
    awake = [a for a, (domain, _, _) in names.items()
             if last.get(domain) is None or now - last[domain] >= quiet]
    candidates = (handoff_store.engaged_accounts(conn, awake, now - timedelta(
        days=policy.window_days), policy.min_contacts) if awake else [])
    if not candidates:
        return 0
    rule = engagement_rule(policy.min_contacts, policy.window_days)
    by_domain = {domain: aid for aid, (domain, _, _) in names.items()}
    raised = 0
    for score in _scores(conn, live, candidates, now, crossing=False):
        decision = qualify(rule, score)
        if not decision.mqa:
            continue
        people = engaged_people(score, rule.default.within_days, rule.default.intent)
        domain, owner, name = names[by_domain[score.domain]]
        detail = {"account": domain, "owner": owner, "contacts": len(people),
                  "window_days": policy.window_days, "reason": decision.reason}
        handoff_store.record_alert(conn, domain, detail, now)
        handoff_store.enqueue(conn, "account.engaged", domain, {
            **detail, "account": {"domain": domain, "name": name},
            "at": iso(now)}, now)
        raised += 1
    return raised


def account_scores(engine: Engine, domains: list[str], *, at: datetime) -> list[AccountScore]:
    """The scores of the accounts with these domains at `at` (unknown domains left out),
    in one pass over their contacts (the web queue's coverage column)."""
    if not domains:
        return []
    check(engine)
    with translate_errors("reading account scores"), engine.connect() as conn:
        live = states.live_model(conn)
        ids = sorted(account_store.ids_by_domain(conn, domains).values())
        return _scores(conn, live, ids, at, crossing=False)


ACCOUNT_REPORT_BY: tuple[str, ...] = ("tier", "month", "path", "total")
_TIMING_COLUMNS = ["won", "with_mqa", "with_mql", "mqa_first", "mqa_first_share",
                   "same_time", "mqa_lead_days", "mql_lead_days", "mqa_over_mql_days"]
ACCOUNT_REPORT_COLUMNS: dict[str, list[str]] = {
    "tier": ["accounts", "mqas", "mqa_accounts", "mqa_opportunities", "mqa_to_opportunity",
             *_TIMING_COLUMNS],
    "month": ["mqls", "mqas", "pqls"],
    "path": ["motions", "opportunities", "won", "conversion"],
    "total": ["mqls", "mqas", "pqls", "motions", "handoffs_saved", *_TIMING_COLUMNS],
}


def _timing_row(t: Timing) -> dict[str, Any]:
    return {k: v for k, v in _timing_json(t).items() if k != "words"}


def report_section(view: MotionSummary, *, by: str, as_of: datetime) -> ReportResult:
    """The MQA report (`summarise`) as a `mql report` table: rows by ABM `tier` (MQAs, the
    MQA -> opportunity rate and the MQA-first timing of each tier, the total last), by
    `month` (MQLs, MQAs and PQLs fired), by `path` (each qualification path's motions and
    conversion) or one `total` row. The numbers are `summarise`'s, only laid out."""
    if by not in ACCOUNT_REPORT_BY:
        raise ConfigError(f"the accounts report has rows by {', '.join(ACCOUNT_REPORT_BY)}, "
                          f"got --by {by!r}")
    q = view.qualifications
    totals: dict[str, Any] = {"mqls": q["mql"], "mqas": q["mqa"], "pqls": q["pql"],
                              "motions": view.motions, "handoffs_saved": view.handoffs_saved,
                              **_timing_row(view.timing)}
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None
    if by == "tier":
        rows = [{"tier": r.tier, "accounts": r.accounts, "mqas": r.mqas,
                 "mqa_accounts": r.mqa_accounts, "mqa_opportunities": r.mqa_opportunities,
                 "mqa_to_opportunity": r.mqa_to_opportunity, **_timing_row(r.timing)}
                for r in view.tiers]
        reached = sum(r.mqa_accounts for r in view.tiers)
        converted = sum(r.mqa_opportunities for r in view.tiers)
        total = {"tier": "total", "accounts": sum(r.accounts for r in view.tiers),
                 "mqas": q["mqa"], "mqa_accounts": reached, "mqa_opportunities": converted,
                 "mqa_to_opportunity": converted / reached if reached else None,
                 **_timing_row(view.timing)}
    elif by == "month":
        rows = [{"month": m, "mqls": n["mql"], "mqas": n["mqa"], "pqls": n["pql"]}
                for m, n in view.months.items()]
        total = {"month": "total", "mqls": q["mql"], "mqas": q["mqa"], "pqls": q["pql"]}
    elif by == "path":
        rows = [{"path": p.path, "motions": p.motions, "opportunities": p.opportunities,
                 "won": p.won, "conversion": p.conversion} for p in view.paths]
        total = None  # "any mql" rows overlap the single paths: a sum means nothing
    else:
        rows, total = [{"total": "total", **totals}], None
    keys = [by]
    notes = [view.timing.words(),
             f"{q['mql']} MQLs, {q['mqa']} MQAs and {q['pql']} PQLs made {view.motions} "
             f"buying motions ({view.handoffs_saved} hand-offs saved: one per motion)"]
    return ReportResult("accounts", keys, as_of, ALL_TIME, [*keys, *ACCOUNT_REPORT_COLUMNS[by]],
                        rows, total, notes)
