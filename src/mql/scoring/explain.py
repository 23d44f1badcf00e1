"""Why a contact has its scores and verdict: a ledger a person can add up by hand.

`explain` feeds the events through the `Scorer` that computes scores (so duplicates,
times and the attribution of events to accounts are decided once, in one place), keeps
the events it applied, and reads each rule's value from the resulting state: every event
that matched a rule becomes a line (points, decay factor, value now), and each score is
exactly the sum of its rule lines (capped as the score is). It also says which
criteria matched or failed, what would change the verdict, and which fields the fit
rules needed but did not have.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mql.identity.jobs import JOB_CHANGE, change_reason
from mql.model.conditions import Activity, activities
from mql.model.spec import TOTAL, ExitRule, IntentRule, Model, Score
from mql.records import Account, Contact, Event
from mql.scoring.decay import EventLog
from mql.scoring.evaluate import compile_condition, leaves
from mql.scoring.fit import FitLine, FitResult
from mql.scoring.intent import (
    IntentState,
    Level,
    Program,
    days_between,
    log_rule,
    rule_key,
    rule_sum,
    rule_value,
)
from mql.scoring.qualify import Decision, Qualifier
from mql.scoring.scorer import Scorer
from mql.scoring.windows import describe_window


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One event counted by one rule: `points * factor = value` at the decision time."""

    score: str
    rule: str
    event_id: str
    event_type: str
    at: datetime
    points: float
    factor: float
    value: float


@dataclass(frozen=True, slots=True)
class RuleLine:
    """One rule's total: raw points, decayed sum, and the value after its cap."""

    score: str
    rule: str
    events: int
    points: float
    decayed: float
    value: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class CriterionCheck:
    """A criterion and the truth of each of its leaves."""

    name: str
    matched: bool
    leaves: tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: Decision
    fit: dict[str, tuple[FitLine, ...]]
    rules: tuple[RuleLine, ...]
    ledger: tuple[LedgerLine, ...]
    criteria: tuple[CriterionCheck, ...]
    changes: tuple[str, ...]
    maxima: Mapping[str, float | None] = dataclasses.field(default_factory=dict)
    floors: Mapping[str, float | None] = dataclasses.field(default_factory=dict)
    weights: tuple[tuple[str, float], ...] = ()  # what total adds up (issue 13)

    def total_words(self) -> str:
        """How total adds up: "total = 1 x fit 70 + 1 x engagement 78 = 148"."""
        scores = self.decision.scores
        weights = self.weights or (("fit", 1.0), ("intent", 1.0))
        terms = " + ".join(f"{_fmt(w)} x {n} {_fmt(scores[n])}" for n, w in weights)
        return f"total = {terms} = {_fmt(scores[TOTAL])}"

    def score_total(self, score: str) -> float:
        """The sum of `score`'s lines, capped at the score's maximum: exactly the
        decision's score (the same additions in the same order)."""
        values = ([line.points for line in self.fit[score] if line.matched]
                  if score in self.fit else [r.value for r in self.rules if r.score == score])
        total = 0.0
        for value in values:
            total += value
        cap = self.maxima.get(score)
        total = total if cap is None else min(cap, total)
        low = self.floors.get(score)
        return total if low is None else max(low, total)


def _fmt(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _when(at: datetime, now: datetime) -> str:
    days = days_between(now, at)
    span = f"{days:.0f} days" if days >= 1.5 else f"{days * 24:.0f} hours"
    return f"{at.strftime('%Y-%m-%d %H:%M')} UTC (in {span})"


def explain(
    model: Model,
    contact: Contact,
    account: Account | None,
    events: Iterable[Event],
    *,
    at: datetime,
    contacts: Iterable[Contact] = (),
) -> Explanation:
    """The full explanation of `contact` at `at`, from its own and its account's events.

    `contacts` are the other known contacts: an event that names no account counts for
    the account of its own contact, so they are needed to attribute it. The events go
    through the same `Scorer` as `mql.scoring.score` (duplicates, times, attribution).
    """
    scorer = Scorer(model)
    for other in contacts:
        scorer.add_contact(other)
    scorer.add_contact(contact)
    if account is not None:
        scorer.add_account(account)
    applied = [e for e in events if scorer.add(e, until=at)]
    return explain_scored(scorer, contact.email, applied, at=at)


def explain_scored(scorer: Scorer, email: str, applied: Iterable[Event], *,
                   at: datetime) -> Explanation:
    """The explanation of the known contact `email` of `scorer` at `at`; `applied` are
    the events `scorer.add` applied (True), in any order.

    The decision is `scorer.decide`, and each rule's value is the one the decision adds
    up (`rule_value`), so the ledger cannot disagree with the score.
    """
    model = scorer.model
    contact = scorer.contacts[email]
    account = scorer.account_of_contact(email)
    state, account_state = scorer.states_of(email)
    mine: dict[Level, list[Event]] = {"contact": [], "account": []}
    targets = {("contact", email), ("account", contact.account or "")}
    for event in sorted(applied, key=lambda e: e.at):
        for target in scorer.targets(event):
            if target in targets:
                mine[target[0]].append(event)
    decision = scorer.decide(email, at)
    qualifier = scorer.qualifier
    fits = qualifier.fits(contact, account)
    rules: list[RuleLine] = []
    ledger: list[LedgerLine] = []
    for score in model.scores.values():
        if score.kind == "intent":
            _intent_lines(score, scorer.program, mine, state, account_state, at, rules, ledger)
    criteria = _criteria(qualifier, contact, account, decision, state, at)
    changes = _changes(model, qualifier, decision, rules, fits, mine["contact"])
    maxima = {name: s.max for name, s in model.scores.items()}
    floors = {name: s.floor for name, s in model.scores.items()}
    return Explanation(decision, {n: r.lines for n, r in fits.items()}, tuple(rules),
                       tuple(ledger), criteria, changes, maxima, floors, model.total)


def _intent_lines(
    score: Score,
    program: Program,
    events: Mapping[Level, list[Event]],
    state: IntentState,
    account_state: IntentState,
    at: datetime,
    rules: list[RuleLine],
    ledger: list[LedgerLine],
) -> None:
    for rule in score.rules:
        assert isinstance(rule, IntentRule)
        key = rule_key(score.name, rule.name)
        tracker = next(t for t in program.trackers_for(rule.level, rule.events[0])
                       if t.key == key)
        matched = [e for e in events[rule.level]
                   if e.type in tracker.events and tracker.matches(e)]
        if not matched:
            continue
        level_state = account_state if rule.level == "account" else state
        value = rule_value(rule, score, level_state, at)
        if rule.windowed:
            assert rule.within_days is not None and rule.min_count is not None
            window = timedelta(days=rule.within_days)
            recent = [e for e in matched if at - e.at < window]
            note = f"{len(recent)} in {_fmt(rule.within_days)} days, needs {rule.min_count}"
            if rule.measure is not None or rule.after is not None:
                recent, note = describe_window(rule.window, matched, at)
            rules.append(RuleLine(score.name, rule.name, len(recent), rule.points, value,
                                  value, note))
            continue
        decayed = rule_sum(rule, score, level_state, at)
        shares = _shares(rule, score, level_state, matched, at)
        decay = rule.decay_in(score)
        earned = [tracker.points_of(e) * share for e, share in zip(matched, shares, strict=True)]
        for e, points in zip(matched, earned, strict=True):
            factor = decay.factor((at - e.at).total_seconds())
            ledger.append(LedgerLine(score.name, rule.name, e.event_id, e.type, e.at,
                                     points, factor, points * factor))
        note = f"cap {_fmt(rule.cap)}" if value != decayed and rule.cap is not None else ""
        note = ", ".join(n for n in (note, _v2_note(rule, score)) if n)
        rules.append(RuleLine(score.name, rule.name, len(matched), sum(earned), decayed, value,
                              note))


# -- rules with their own decay, lifespans, once per, repeats (issue 13) ------------------

def _shares(rule: IntentRule, score: Score, state: IntentState, matched: list[Event],
            at: datetime) -> list[float]:
    """The share of the rule's points each matched event earns now (1 for a plain rule;
    0 for an event de-duplicated by once_per, past its lifespan or past the repeats)."""
    log = log_rule(rule, score)
    tracked = state.values.get(rule_key(score.name, rule.name))
    if log is None or not isinstance(tracked, EventLog):
        return [1.0] * len(matched)
    life = None if log.lifespan_s is None else timedelta(seconds=log.lifespan_s)
    counted = dict(reversed(tracked.counted(log)))  # ties: the first copy at a time
    shares = []
    for e in matched:
        share = counted.pop(e.at, 0.0)
        shares.append(0.0 if life is not None and at - e.at >= life else share)
    return shares


def _v2_note(rule: IntentRule, score: Score) -> str:
    parts = []
    if rule.decay is not None and rule.decay != score.decay:
        h = rule.decay.half_life_days
        parts.append("no decay" if h is None else f"half-life {_fmt(h)} days")
    if rule.expires_after_days is not None:
        parts.append(f"expires after {_fmt(rule.expires_after_days)} days")
    if rule.once_per is not None:
        parts.append(f"once per {rule.once_per}")
    if rule.each_repeat is not None:
        parts.append(f"each repeat x{rule.each_repeat:g}")
    if rule.points_per is not None:
        per = rule.points_per
        cap = "" if per.cap is None else f" (at most {_fmt(per.cap)} an event)"
        parts.append(f"{_fmt(per.points)} per {_fmt(per.each)} {per.field}{cap}")
    return ", ".join(parts)


def _criteria(
    qualifier: Qualifier,
    contact: Contact,
    account: Account | None,
    decision: Decision,
    state: IntentState,
    at: datetime,
) -> tuple[CriterionCheck, ...]:
    get = qualifier.criteria_getter(contact, account, decision.scores, state, at)
    checks = []
    for criterion, predicate in qualifier.criteria:
        results = tuple(
            (str(leaf), compile_condition(leaf)(get)) for leaf in leaves(criterion.when)
        )
        matched = predicate(get)
        checks.append(CriterionCheck(criterion.name, matched, results))
    return tuple(checks)


def _changes(
    model: Model,
    qualifier: Qualifier,
    decision: Decision,
    rules: list[RuleLine],
    fits: Mapping[str, FitResult],
    own: Sequence[Event] = (),
) -> tuple[str, ...]:
    now = decision.as_of
    out: list[str] = []
    if decision.mql:
        if decision.qualified_until is not None:
            out.append("stops qualifying without new activity on "
                       + _when(decision.qualified_until, now))
        else:
            out.append("keeps qualifying without new activity (fit and non-decaying paths)")
        if decision.exit_at is not None and decision.qualified_until is not None:
            # the exit rule is hysteresis: an MQL leaves at the later of the moment it stops
            # qualifying and the crossing (docs/model.md, `exit`; mql.lifecycle.rules), and
            # never while a path still qualifies it
            below = ", ".join(f"{n} < {_fmt(v)}" for n, v in model.exit_below)
            out.append(f"the exit rule ({below}) returns an unaccepted MQL to nurture on "
                       + _when(max(decision.exit_at, decision.qualified_until), now))
        return tuple(out)
    if decision.excluded_by:
        return (f"never qualifies while excluded by {', '.join(decision.excluded_by)}",)
    if decision.exits:
        reasons = {r.name: exit_words(r, own, now) for r in model.exit_when}
        return tuple(f"never qualifies while exit rule {n} holds ({reasons.get(n, n)})"
                     for n in decision.exits)
    values = decision.scores
    for i, minimums in enumerate(model.mql.thresholds):
        gaps = [(n, low - values[n]) for n, low in minimums if values[n] < low]
        words = " and ".join(f"{n} +{_fmt(gap)} ({_fmt(values[n])} -> {_fmt(values[n] + gap)})"
                             for n, gap in gaps)
        out.append(f"thresholds #{i + 1} need {words}" + _hint(model, gaps, rules))
    for fast in model.mql.fast_track:
        out.append(f"a {' or '.join(fast.events)} event would qualify at once "
                   f"(fast-track {fast.name})")
    for field in decision.unknown_fields:
        at_stake = [
            f"{line.rule} ({'+' if line.points >= 0 else ''}{_fmt(line.points)})"
            for lines in (r.lines for r in fits.values())
            for line in lines if field in line.unknown
        ]
        out.append(f"{field} is unknown; enriching it may change {', '.join(at_stake)}")
    return tuple(out)


def exit_words(rule: ExitRule, own: Sequence[Event], at: datetime) -> str:
    """An exit rule's reason; for a rule on job changes (`mql.identity.jobs`), with the
    latest change at or before `at` among the contact's own events."""
    if not any(JOB_CHANGE in leaf.events for leaf in activities(rule.when)):
        return rule.reason
    latest = max((e for e in own if e.type == JOB_CHANGE and e.at <= at),
                 key=lambda e: e.at, default=None)
    change = latest.properties.get("change") if latest is not None else None
    return change_reason(rule.reason, change if isinstance(change, str) else None,
                         latest.at if latest is not None else None)


def _hint(model: Model, gaps: list[tuple[str, float]], rules: list[RuleLine]) -> str:
    """Name one intent rule whose next event would close an intent gap on its own."""
    current = {(r.score, r.rule): r.value for r in rules}
    for name, gap in gaps:
        score = model.intent if name == TOTAL else model.scores.get(name)
        if score is None or score.kind != "intent":
            continue
        for rule in sorted(score.rules, key=lambda r: -r.points):
            assert isinstance(rule, IntentRule)
            room = rule.points
            if rule.cap is not None:
                room = min(room, rule.cap - current.get((score.name, rule.name), 0.0))
            if room >= gap and not rule.windowed:
                return f"; one {'/'.join(rule.events)} ({rule.name}, +{_fmt(room)}) would do"
    return ""


__all__ = ["Activity", "CriterionCheck", "Explanation", "LedgerLine", "RuleLine", "explain",
           "explain_scored"]
