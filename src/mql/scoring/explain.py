"""Why a contact has its scores and verdict: a ledger a person can add up by hand.

`explain` re-reads the contact's events (keeping scores current never does): every
event that matched a rule becomes a line (points, decay factor, value now); lines are
summed per rule and capped where the cap bites, so each score is the sum of its rule
lines. It also says which criteria matched or failed, what would change the verdict,
and which fields the fit rules needed but did not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from mql.model.conditions import Activity
from mql.model.spec import TOTAL, IntentRule, Model, Score
from mql.records import Account, Contact, Event
from mql.scoring.decay import clamp
from mql.scoring.evaluate import compile_condition, leaves
from mql.scoring.fit import FitLine, FitResult
from mql.scoring.intent import IntentState, Program, days_between
from mql.scoring.qualify import Decision, Qualifier


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

    def score_total(self, score: str) -> float:
        """The sum of `score`'s lines (equal to the decision's score, cap aside)."""
        if score in self.fit:
            return sum(line.points for line in self.fit[score] if line.matched)
        return sum(r.value for r in self.rules if r.score == score)


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
) -> Explanation:
    """The full explanation of `contact` at `at`, from its own and its account's events."""
    program = Program(model)
    qualifier = Qualifier(model, program)
    state, account_state = IntentState.empty(), IntentState.empty()
    mine: list[Event] = []
    seen: set[str] = set()
    for event in sorted(events, key=lambda e: e.at):
        if event.at > at or event.event_id in seen:
            continue
        seen.add(event.event_id)
        if event.contact == contact.email:
            state = state.add(event, program, "contact")
        # an event without an account counts for the account of the contact it names
        # (the caller names the account of events of other contacts, as the Scorer does)
        own = contact.account if event.contact == contact.email else None
        if account is not None and (event.account or own) == account.domain:
            account_state = account_state.add(event, program, "account")
        mine.append(event)
    decision = qualifier.decide(contact, account, state, account_state, at)
    fits = qualifier.fits(contact, account)
    rules: list[RuleLine] = []
    ledger: list[LedgerLine] = []
    for score in model.scores.values():
        if score.kind == "intent":
            _intent_lines(score, contact, account, mine, at, rules, ledger)
    criteria = _criteria(qualifier, contact, account, decision, state, at)
    changes = _changes(model, qualifier, decision, rules, fits)
    return Explanation(decision, {n: r.lines for n, r in fits.items()}, tuple(rules),
                       tuple(ledger), criteria, changes)


def _matches(rule: IntentRule, event: Event, contact: Contact, account: Account | None) -> bool:
    if event.type not in rule.events:
        return False
    if rule.level == "contact" and event.contact != contact.email:
        return False
    if rule.level == "account" and (
        account is None or (event.account or contact.account) != account.domain
    ):
        return False
    return rule.where is None or compile_condition(rule.where)(event.properties.get)


def _intent_lines(
    score: Score,
    contact: Contact,
    account: Account | None,
    events: list[Event],
    at: datetime,
    rules: list[RuleLine],
    ledger: list[LedgerLine],
) -> None:
    for rule in score.rules:
        assert isinstance(rule, IntentRule)
        matched = [e for e in events if _matches(rule, e, contact, account)]
        if rule.windowed:
            assert rule.within_days is not None and rule.min_count is not None
            window = timedelta(days=rule.within_days)
            recent = [e for e in matched if at - e.at < window]
            held = len(recent) >= rule.min_count
            note = f"{len(recent)} in {_fmt(rule.within_days)} days, needs {rule.min_count}"
            if matched:
                value = rule.points if held else 0.0
                rules.append(RuleLine(score.name, rule.name, len(recent), rule.points, value,
                                      value, note))
            continue
        decayed = 0.0
        for e in matched:
            factor = score.decay.factor((at - e.at).total_seconds())
            decayed += rule.points * factor
            ledger.append(LedgerLine(score.name, rule.name, e.event_id, e.type, e.at,
                                     rule.points, factor, rule.points * factor))
        if matched:
            value = clamp(decayed, rule.cap)
            note = f"cap {_fmt(rule.cap)}" if value != decayed and rule.cap is not None else ""
            rules.append(RuleLine(score.name, rule.name, len(matched),
                                  rule.points * len(matched), decayed, value, note))


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
) -> tuple[str, ...]:
    now = decision.as_of
    out: list[str] = []
    if decision.mql:
        if decision.qualified_until is not None:
            out.append("stops qualifying without new activity on "
                       + _when(decision.qualified_until, now))
        else:
            out.append("keeps qualifying without new activity (fit and non-decaying paths)")
        if decision.exit_at is not None:
            below = ", ".join(f"{n} < {_fmt(v)}" for n, v in model.exit_below)
            out.append(f"the exit rule ({below}) returns an unaccepted MQL to nurture on "
                       + _when(decision.exit_at, now))
        return tuple(out)
    if decision.excluded_by:
        return (f"never qualifies while excluded by {', '.join(decision.excluded_by)}",)
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


__all__ = ["Activity", "CriterionCheck", "Explanation", "LedgerLine", "RuleLine", "explain"]
