"""Replaying accounts' histories through the streaming scores to see the three ways an
account qualifies (MQL of a contact, MQA of the account, PQL of a contact) side by side:
when each fired first, the buying motions they make (one hand-off each), and how much
earlier than the opportunity each path spoke.

`replay` reads one account's records and events (time order) and returns its
qualifications, account lifecycle and motions; `timing` summarises many accounts: for the
won ones, how many days before the opportunity was created the first MQA and the first
MQL fired, and for how many the MQA came first.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mql.accounts.lifecycle import AccountHistory
from mql.accounts.mqa import FastSignals, Motion, Qualification, motions, qualify
from mql.accounts.pql import Milestones, is_pql
from mql.accounts.roles import infer_role
from mql.accounts.score import EMPTY, AccountBook, Member, score_account
from mql.model.accounts import DEFAULT_ACCOUNTS
from mql.model.mqa import DEFAULT_MQA, DEFAULT_PQL
from mql.model.spec import Model
from mql.records import Account, Contact, Event
from mql.scoring.intent import intent_value

_DAY = 86400.0
_FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Replay:
    """One account's qualifications (every rising edge: a contact becoming an MQL or PQL,
    the account becoming an MQA), its account lifecycle and its buying motions."""

    domain: str
    tier: str | None
    qualifications: tuple[Qualification, ...]
    history: AccountHistory
    motions: tuple[Motion, ...]
    opportunities: tuple[tuple[datetime, str], ...] = ()

    def first(self, kind: str, before: datetime | None = None) -> datetime | None:
        times = [q.at for q in self.qualifications if q.kind == kind
                 and (before is None or q.at <= before)]
        return min(times) if times else None


def replay(model: Model, account: Account, contacts: Sequence[Contact],
           events: Iterable[Event], *, opportunities: Sequence[tuple[datetime, str]] = ()
           ) -> Replay:
    """Stream the account's events (in time order) through the contact and account scores;
    `opportunities` are (created_at, status) pairs, for the lifecycle."""
    spec = model.accounts or DEFAULT_ACCOUNTS
    mqa_spec = spec.mqa or DEFAULT_MQA
    pql_spec = spec.pql or DEFAULT_PQL
    book = AccountBook(model)
    book.add_account(account)
    for c in contacts:
        book.add_contact(c)
    product = (model.scores[pql_spec.score] if pql_spec is not None
               and pql_spec.score is not None else None)
    milestones = Milestones(pql_spec) if pql_spec is not None else None
    quals: list[Qualification] = []
    is_mql: dict[str, datetime | None] = {}  # MQL until (None: not an MQL)
    is_pql_now: set[str] = set()
    was_mqa = False
    mqa_read = _FOREVER  # when the MQA was last read (was_mqa)
    last_seen: dict[str, datetime] = {}
    history = AccountHistory(account.domain)
    opps = sorted(opportunities)
    known = set(book.scorer.contacts)
    # roles read once per contact (the records do not change during a replay)
    guesses = [(c, infer_role(c, account, spec.roles))
               for c in sorted(contacts, key=lambda c: c.email)
               if c.account == account.domain]
    everyone = sorted(c.email for c in contacts if c.email in known
                      and c.account == account.domain)
    tier = None
    fast = FastSignals(model, mqa_spec, spec.intent_score)
    watched = ({t for m in pql_spec.milestones for t in (m.event, m.after) if t}
               if pql_spec is not None else set())
    for e in events:
        while opps and opps[0][0] <= e.at:
            history = history.advance("opportunity", opps[0][0], "opportunity created")
            if opps[0][1] == "won":
                history = history.advance("customer", opps[0][0], "opportunity won")
            opps.pop(0)
        # the account's members and fast-track times before the event: whether the
        # account was still an MQA just before it (its MQA may have lapsed since the last
        # event read, with no event of its own: a rising edge at this event)
        before = (([Member(c, guess, book.scorer.contact_states.get(c.email, EMPTY))
                    for c, guess in guesses],
                   book.scorer.account_states.get(account.domain, EMPTY), dict(last_seen))
                  if was_mqa else None)
        if not book.add(e):
            continue
        for name in fast.of(e):
            last_seen[name] = e.at
        history = history.advance("aware", e.at, f"first touch: {e.type}")
        if not book.scorer.targets(e) and e.type not in fast.types and (
                milestones is None or e.type not in watched):
            continue  # no score moved up: nobody can qualify at this event
        # an event can make its contact an MQL; one an account-level rule counts (a
        # surge, a visit resolved to the account) any contact of the account
        if any(level == "account" for level, _ in book.scorer.targets(e)):
            deciding = everyone
        else:
            deciding = [e.contact] if e.contact is not None and e.contact in known else []
        for email in deciding:
            until = is_mql.get(email)
            if until is None or e.at >= until:
                # while a contact is an MQL until a known time, no rising edge can happen
                # (a re-qualification inside it would join the same motion anyway)
                c = book.scorer.contacts[email]
                state, account_state = book.scorer.states_of(email)
                decision = book.scorer.qualifier.decide(
                    c, account, state, account_state, e.at, exit_needed=False)
                # not an MQL, or one whose MQL lapsed at `until`: a rising edge
                if decision.mql:
                    quals.append(Qualification("mql", account.domain, email, e.at))
                is_mql[email] = ((decision.qualified_until or _FOREVER)
                                 if decision.mql else None)
        if (e.contact is not None and e.contact in known and pql_spec is not None
                and milestones is not None):
            milestones.add(e)
            points = (intent_value(product, book.scorer.contact_states.get(
                e.contact, EMPTY), EMPTY, e.at) if product is not None else None)
            yes, _why = is_pql(pql_spec, points, milestones.reached(e.contact))
            if yes and e.contact not in is_pql_now:
                quals.append(Qualification("pql", account.domain, e.contact, e.at))
                is_pql_now.add(e.contact)
            elif not yes:
                is_pql_now.discard(e.contact)
        members = [Member(c, guess, book.scorer.contact_states.get(c.email, EMPTY))
                   for c, guess in guesses]
        score = score_account(model, account.domain, account, members,
                              book.scorer.account_states.get(account.domain, EMPTY), e.at,
                              spec, crossing=False)
        tier = score.tier
        if score.coverage.engaged_contacts:
            history = history.advance("engaged", e.at, score.coverage.next_action)
        decision_a = qualify(mqa_spec, score, last_seen)
        if decision_a.mqa and before is not None and e.at > mqa_read:
            was_mqa = qualify(mqa_spec, score_account(
                model, account.domain, account, before[0], before[1], e.at, spec,
                crossing=False), before[2]).mqa
        mqa_read = e.at
        if decision_a.mqa and not was_mqa:
            quals.append(Qualification("mqa", account.domain, None, e.at))
            history = history.advance("mqa", e.at, decision_a.reason)
        was_mqa = decision_a.mqa
    for created, status in opps:
        history = history.advance("opportunity", created, "opportunity created")
        if status == "won":
            history = history.advance("customer", created, "opportunity won")
    found = motions(quals, handoff=mqa_spec.handoff, reopen_days=mqa_spec.reopen_days)
    return Replay(account.domain, tier, tuple(quals), history, tuple(found),
                  tuple(sorted(opportunities)))


@dataclass(frozen=True, slots=True)
class Timing:
    """Won accounts with an opportunity: how many had an MQA and an MQL before the
    opportunity was created, for how many the MQA came first (or only the MQA fired) or
    at the same event as the first MQL, and the median lead in days of each path and of
    the MQA over the MQL."""

    won: int
    with_mqa: int
    with_mql: int
    mqa_first: int
    same_time: int
    mqa_lead_days: float | None
    mql_lead_days: float | None
    mqa_over_mql_days: float | None

    @property
    def mqa_first_share(self) -> float:
        """The share of won accounts whose MQA came before their first MQL (or alone)."""
        return self.mqa_first / self.won if self.won else 0.0

    def words(self) -> str:
        def days(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.1f} days"
        return (f"{self.won} won accounts: the MQA fired before the opportunity for "
                f"{self.with_mqa}, an MQL for {self.with_mql}; the MQA came first for "
                f"{self.mqa_first}, at the same event for {self.same_time} (median lead: "
                f"MQA {days(self.mqa_lead_days)}, first MQL "
                f"{days(self.mql_lead_days)}; MQA earlier than the first MQL by "
                f"{days(self.mqa_over_mql_days)})")


def timing(rows: Iterable[tuple[Replay, datetime]]) -> Timing:
    """`rows`: each won account's replay and the time its (first won) opportunity was
    created."""
    won = with_mqa = with_mql = first = same = 0
    mqa_leads: list[float] = []
    mql_leads: list[float] = []
    over: list[float] = []
    for r, created in rows:
        won += 1
        a, m = r.first("mqa", created), r.first("mql", created)
        if a is not None:
            with_mqa += 1
            mqa_leads.append((created - a).total_seconds() / _DAY)
        if m is not None:
            with_mql += 1
            mql_leads.append((created - m).total_seconds() / _DAY)
        if a is not None and (m is None or a < m):
            first += 1
        same += a is not None and a == m
        if a is not None and m is not None:
            over.append((m - a).total_seconds() / _DAY)

    def median(xs: list[float]) -> float | None:
        return statistics.median(xs) if xs else None
    return Timing(won, with_mqa, with_mql, first, same, median(mqa_leads), median(mql_leads),
                  median(over))



@dataclass(frozen=True, slots=True)
class PathRow:
    """Buying motions that qualified by `path` ("mql", "mqa", "pql", or several joined by
    "+"; "any mql" ... count every motion the path took part in), how many were followed
    by an opportunity (created from the hand-off until `within_days` after the motion's
    last qualification) and how many of those were won."""

    path: str
    motions: int
    opportunities: int
    won: int

    @property
    def conversion(self) -> float | None:
        return self.opportunities / self.motions if self.motions else None


def paths(replays: Iterable[Replay], *, within_days: float = 90.0) -> list[PathRow]:
    """Each path's conversion, every buying motion counted once (under its exact path)."""
    exact: dict[str, list[int]] = {}
    anyof: dict[str, list[int]] = {f"any {k}": [0, 0, 0] for k in ("mql", "mqa", "pql")}
    window = timedelta(days=within_days)
    for r in replays:
        for m in r.motions:
            found = [status for created, status in r.opportunities
                     if m.handoff.at <= created <= m.last_at + window]
            opp, won = int(bool(found)), int("won" in found)
            name = "+".join(k for k in ("mql", "mqa", "pql") if k in m.paths)
            for row in (exact.setdefault(name, [0, 0, 0]),
                        *(anyof[f"any {k}"] for k in m.paths)):
                row[0] += 1
                row[1] += opp
                row[2] += won
    rows = [PathRow(k, *v) for k, v in sorted(exact.items(), key=lambda kv: -kv[1][0])]
    return rows + [PathRow(k, *v) for k, v in anyof.items()]
