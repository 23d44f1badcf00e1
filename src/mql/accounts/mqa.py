"""MQA: when an account is a marketing-qualified account, who gets it and by when, and the
one hand-off of a buying motion (an MQL inside an MQA account is not a second hand-off).

`qualify` reads an account score (`mql.accounts.score.AccountScore`) against the rule of
the account's ABM tier (`mql.model.mqa.MqaSpec`) and says yes or no with reasons: every
condition met or not, in words. `motions` folds every qualification of a world (MQLs,
MQAs, PQLs) into buying motions: the first opens a motion and is its one hand-off; later
ones attach to it until the motion has been quiet for `reopen_days`.

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2026, 3, 2, tzinfo=UTC)
>>> q = [Qualification("mql", "acme.example", "ana@acme.example", t),
...      Qualification("mqa", "acme.example", None, t + timedelta(days=2)),
...      Qualification("mql", "acme.example", "ben@acme.example", t + timedelta(days=3))]
>>> [(m.handoff.kind, m.recipient, len(m.attached)) for m in motions(q, handoff="account")]
[('mql', 'account', 2)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mql.accounts.roles import role_words
from mql.accounts.score import AccountScore, LedgerLine
from mql.model.mqa import ACCOUNT_INTENT, Handoff, MqaRule, MqaSpec
from mql.model.spec import IntentRule, Model
from mql.records import Event
from mql.scoring.evaluate import Predicate, compile_condition

Kind = Literal["mql", "mqa", "pql"]
_ORDER = {"mqa": 0, "mql": 1, "pql": 2}


@dataclass(frozen=True, slots=True)
class MqaDecision:
    """Whether the account is an MQA at `at` under the rule of its tier; `met` and
    `unmet` say each condition in words; `fast_track` names the event type that made it
    one at once; `route` is the recipient (the owner's name, `team:<name>`, or None when
    the rule routes to the owner and the account has none); `due` is the SLA's deadline."""

    domain: str
    at: datetime
    tier: str | None
    mqa: bool
    met: tuple[str, ...]
    unmet: tuple[str, ...]
    fast_track: str | None
    route: str | None
    due: datetime | None
    coverage: str

    @property
    def reason(self) -> str:
        if self.fast_track is not None:
            return f"fast track: {self.fast_track}"
        return "; ".join(self.met if self.mqa else self.unmet) or "no rule"


def engaged_people(score: AccountScore, within_days: float, intent: float | None = None
                   ) -> list[LedgerLine]:
    """The ledger's contacts that are engaged and were active within `within_days`: their
    own points at least `intent` (None: engaged as the `accounts.engaged` line says)."""
    since = score.at - timedelta(days=within_days)
    return [x for x in score.ledger
            if x.contact is not None and x.last_touch is not None and x.last_touch >= since
            and (x.engaged if intent is None else (x.points >= intent and x.points > 0))]


def engagement_rule(min_contacts: int, window_days: float) -> MqaSpec:
    """The routing's account engagement alert (`routing.account_alerts`) as an MQA rule:
    "`min_contacts` contacts engaged within `window_days`", where engaged means any
    intent of their own (the alert has no line); `qualify` decides it as any MQA rule.

    >>> rule = engagement_rule(3, 7).default
    >>> rule.contacts, rule.within_days, rule.intent, rule.roles, rule.fast_track
    (3, 7, 0.0, (), ())
    """
    return MqaSpec(default=MqaRule(contacts=min_contacts, within_days=window_days,
                                   intent=0.0))


def qualify(spec: MqaSpec, score: AccountScore,
            last_seen: Mapping[str, datetime] | None = None) -> MqaDecision:
    """The MQA decision for an account score; `last_seen` maps event types to the newest
    time the account (any of its contacts, or the account itself) did one, for the
    fast-track events."""
    rule = spec.rule_for(score.tier)
    met: list[str] = []
    unmet: list[str] = []
    if rule.score is not None:
        words = f"account score {score.total:g} (line {rule.score:g})"
        (met if score.total >= rule.score else unmet).append(words)
    people = engaged_people(score, rule.within_days, rule.intent)
    if rule.contacts:
        n = len(people)
        words = (f"{n} engaged contact{'s' * (n != 1)} within {rule.within_days:g} days "
                 f"(needs {rule.contacts})")
        (met if n >= rule.contacts else unmet).append(words)
    roles = {x.role for x in people if x.role is not None}
    for group in rule.roles:
        names = " or ".join(role_words(r) for r in group)
        hit = [r for r in group if r in roles]
        if hit:
            met.append(f"{role_words(hit[0])} engaged")
        else:
            unmet.append(f"no {names} engaged")
    fast = _fast_track(rule, score.at, last_seen or {})
    mqa = fast is not None or (not rule.empty and not unmet)
    route = _recipient(rule.route, score.owner)
    due = (score.at + timedelta(hours=rule.sla_hours)
           if mqa and rule.sla_hours is not None else None)
    return MqaDecision(score.domain, score.at, score.tier, mqa, tuple(met), tuple(unmet),
                       fast, route, due, score.coverage.next_action)


def _fast_track(rule: MqaRule, at: datetime, last_seen: Mapping[str, datetime]
                ) -> str | None:
    since = at - timedelta(days=rule.fast_track_days)
    for name in rule.fast_track:
        seen = last_seen.get(name)
        if seen is not None and since <= seen <= at:
            return name
    return None


class FastSignals:
    """Which of the `fast_track` names of an MQA spec an event is: its event type when the
    type is listed; the name of an intent rule of the model when that rule counts the
    event (its event types and its `when`: `account_surge` fast-tracks on the surges the
    model scores, strength 70 and up, not on every surge); `account_intent` when one of
    the account-level rules of `intent_score` with positive points counts it. The rule's
    own condition is read, never a second copy of it."""

    def __init__(self, model: Model, spec: MqaSpec, intent_score: str = "intent") -> None:
        names = {n for r in (spec.default, *spec.tiers.values()) for n in r.fast_track}
        found: dict[str, list[IntentRule]] = {}
        for score in model.scores.values():
            for rule in score.rules:
                if isinstance(rule, IntentRule) and rule.name in names:
                    found.setdefault(rule.name, []).append(rule)
        own = model.scores.get(intent_score)
        if ACCOUNT_INTENT in names and ACCOUNT_INTENT not in found and own is not None:
            found[ACCOUNT_INTENT] = [r for r in own.rules if isinstance(r, IntentRule)
                                     and r.level == "account" and r.points > 0]
        self.plain = frozenset(names - found.keys())
        self.rules: dict[str, list[tuple[frozenset[str], Predicate | None]]] = {
            name: [(frozenset(r.events), None if r.where is None
                    else compile_condition(r.where)) for r in rules]
            for name, rules in found.items()}
        self.types = self.plain | {t for rs in self.rules.values() for ts, _ in rs
                                   for t in ts}

    def of(self, event: Event) -> list[str]:
        """The fast-track names `event` is (none for most events)."""
        if event.type not in self.types:
            return []
        out = [event.type] if event.type in self.plain else []
        for name, rules in self.rules.items():
            if any(event.type in types and (where is None or where(event.properties.get))
                   for types, where in rules):
                out.append(name)
        return out


def _recipient(route: str, owner: str | None) -> str | None:
    return owner if route == "owner" else route


# -- buying motions: one hand-off each ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class Qualification:
    """One qualification signal: an MQL or PQL of a contact, or an MQA of an account."""

    kind: Kind
    account: str | None
    contact: str | None
    at: datetime

    @property
    def key(self) -> str:
        """The buying unit: the account, or the contact when it has no account."""
        return self.account or f"contact:{self.contact}"


@dataclass(frozen=True, slots=True)
class Motion:
    """A buying motion: `handoff` is its one hand-off; `recipient` says where it went
    (`account`: the account's owner or tier team, with the MQLs attached; `contact`: the
    contact router, the MQA attached); `attached` are the later qualifications that joined
    it, never handed off again."""

    key: str
    handoff: Qualification
    recipient: Handoff
    attached: tuple[Qualification, ...]
    last_at: datetime

    @property
    def paths(self) -> frozenset[str]:
        """The paths the motion qualified by (mql, mqa, pql)."""
        return frozenset({self.handoff.kind, *(q.kind for q in self.attached)})

    @property
    def mql_at(self) -> datetime | None:
        return self._first("mql")

    @property
    def mqa_at(self) -> datetime | None:
        return self._first("mqa")

    @property
    def pql_at(self) -> datetime | None:
        return self._first("pql")

    def _first(self, kind: str) -> datetime | None:
        times = [q.at for q in (self.handoff, *self.attached) if q.kind == kind]
        return min(times) if times else None


def motions(qualifications: Iterable[Qualification], *, handoff: Handoff = "account",
            reopen_days: float = 90.0) -> list[Motion]:
    """Every qualification folded into buying motions, in time order (at the same instant
    an MQA comes before an MQL, then a PQL). A qualification of a unit with an open motion
    (its last qualification less than `reopen_days` ago) attaches to it; otherwise it
    opens a motion and is its hand-off. The recipient: with `handoff: account` every
    motion of an account goes to the account (MQLs attached); with `handoff: contact` a
    motion opened by an MQL or PQL is routed as the contact's, one opened by an MQA goes
    to the account. A contact with no account is its own unit."""
    window = timedelta(days=reopen_days)
    open_: dict[str, tuple[Qualification, list[Qualification], datetime]] = {}
    done: list[Motion] = []

    def close(key: str) -> None:
        first, attached, last = open_.pop(key)
        done.append(Motion(key, first, _recipient_of(first, handoff), tuple(attached),
                           last))

    for q in sorted(qualifications, key=lambda q: (q.at, _ORDER[q.kind], q.key,
                                                   q.contact or "")):
        current = open_.get(q.key)
        if current is not None and q.at - current[2] >= window:
            close(q.key)
            current = None
        if current is None:
            open_[q.key] = (q, [], q.at)
        else:
            current[1].append(q)
            open_[q.key] = (current[0], current[1], q.at)
    for key in list(open_):
        close(key)
    done.sort(key=lambda m: (m.handoff.at, m.key))
    return done


def _recipient_of(first: Qualification, handoff: Handoff) -> Handoff:
    if first.account is None:
        return "contact"
    if handoff == "account" or first.kind == "mqa":
        return "account"
    return "contact"
