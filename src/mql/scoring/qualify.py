"""The MQL decision: scores, grade, which paths qualified, and until when.

`Qualifier` compiles a model once; `decide` reads a contact's state (never its events).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from mql.model.conditions import Activity, Compare, Not
from mql.model.spec import DEFAULT_TOTAL, TOTAL, Minimums, Model, weighted_total
from mql.records import Account, Contact
from mql.scoring.calendar_windows import activity_expiry, activity_holds
from mql.scoring.decay import Curve, MixedCurve
from mql.scoring.evaluate import Getter, Predicate, compile_condition, leaves
from mql.scoring.fit import FitResult, FitScorer, record_getter
from mql.scoring.intent import (
    IntentState,
    Program,
    intent_curve,
    intent_part,
    intent_value,
    plain_curve,
)

ReasonKind = Literal["thresholds", "criteria", "fast_track"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One path that qualified the contact, in words (`detail`)."""

    kind: ReasonKind
    name: str
    detail: str
    values: tuple[tuple[str, float, float], ...] = ()  # thresholds: (score, value, minimum)
    at: datetime | None = None  # fast track: the event's time

    def __str__(self) -> str:
        return f"{self.kind.replace('_', '-')} {self.name}: {self.detail}"

    def words(self, now: datetime) -> str:
        """The reason as a seller reads it: "fit 60 ≥ 50 and intent 96.8 ≥ 30", "demo
        request 2 days ago", "criterion us midmarket engaged". The one wording of reasons:
        the CLI, the API and the demo all use it.

        >>> from datetime import datetime, timezone
        >>> now = datetime(2026, 3, 4, 10, tzinfo=timezone.utc)
        >>> Reason("thresholds", "#1", "", (("fit", 60.0, 50.0), ("intent", 96.84, 30.0))
        ...        ).words(now)
        'fit 60 ≥ 50 and intent 96.8 ≥ 30'
        >>> Reason("fast_track", "demo", "demo_request at 2026-03-02T09:00Z",
        ...        at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc)).words(now)
        'demo request 2 days ago'
        """
        if self.kind == "thresholds" and self.values:
            return " and ".join(f"{name} {_number(value)} ≥ {_number(low)}"
                                for name, value, low in self.values)
        if self.kind == "fast_track":
            what = self.detail.split(" at ", 1)[0] if self.detail else self.name
            kinds = " or ".join(k.replace("_", " ") for k in what.split("/"))
            when = "" if self.at is None else " " + ago(self.at, now)
            return f"{kinds}{when}" if self.detail or self.at else f"fast track {self.name}"
        if self.kind == "criteria":  # the condition itself is in the explanation
            return f"criterion {self.name.replace('_', ' ')}"
        return str(self)

    @property
    def short(self) -> str:
        """A few words: the threshold values, or the criterion / fast-track name."""
        return f"{self.kind.replace('_', '-')} {self.name}"


def ago(at: datetime, now: datetime) -> str:
    """How long before `now` `at` was, in words ("2 days ago", "5 hours ago").

    >>> from datetime import datetime, timezone
    >>> now = datetime(2026, 3, 4, 10, tzinfo=timezone.utc)
    >>> ago(datetime(2026, 3, 4, 5, tzinfo=timezone.utc), now), ago(now, now)
    ('5 hours ago', 'just now')
    """
    seconds = (now - at).total_seconds()
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400.0, "day"), (3600.0, "hour"), (60.0, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def _stamp(t: datetime | None) -> str:
    return "-" if t is None else t.strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True, slots=True)
class Decision:
    """Scores, grade and MQL verdict of one contact at `as_of`, with its receipt.

    `qualified_until` is when the contact stops qualifying without new activity (None
    if it does not qualify, or never stops); `exit_at` is when the model's exit rule
    would send an unaccepted MQL back to nurture. `excluded_by` names the exclusion
    rules that keep a contact from qualifying whatever its scores.
    """

    contact: str
    as_of: datetime
    scores: Mapping[str, float]
    grade: str | None
    mql: bool
    reasons: tuple[Reason, ...] = ()
    qualified_until: datetime | None = None
    exit_at: datetime | None = None
    unknown_fields: tuple[str, ...] = field(default=())
    excluded_by: tuple[str, ...] = ()
    disqualified_by: tuple[str, ...] = ()
    exits: tuple[str, ...] = ()  # the exit rules (exit.when) that hold: never an MQL now

    @property
    def fit(self) -> float:
        return self.scores["fit"]

    @property
    def intent(self) -> float:
        return self.scores["intent"]

    @property
    def total(self) -> float:
        return self.scores[TOTAL]

    def because(self) -> str:
        """Why the contact is an MQL, in words a seller reads (every path that qualified,
        "; "-separated), or why not: "excluded by ...", "not an MQL"."""
        if self.excluded_by:
            return "excluded by " + ", ".join(n.replace("_", " ") for n in self.excluded_by)
        if self.exits:
            return "exits: " + ", ".join(n.replace("_", " ") for n in self.exits)
        if not self.reasons:
            return "not an MQL"
        return "; ".join(r.words(self.as_of) for r in self.reasons)

    def __repr__(self) -> str:
        return (f"Decision(mql={self.mql}, fit={self.fit:.1f}, intent={self.intent:.1f}, "
                f"grade={self.grade!r}, as_of={_stamp(self.as_of)})")


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


class Qualifier:
    """A model compiled for decisions: fit scorers, criteria predicates, trackers."""

    def __init__(self, model: Model, program: Program | None = None) -> None:
        self.model = model
        self.program = program or Program(model)
        self.fit_scorers = {n: FitScorer(s) for n, s in model.scores.items() if s.kind == "fit"}
        self.criteria = [(c, compile_condition(c.when)) for c in model.mql.criteria]
        self.exclude = [(c, compile_condition(c.when)) for c in model.mql.exclude]
        self.disqualify = [(c, compile_condition(c.when)) for c in model.lifecycle.disqualify]
        self.exit_rules = [(c, compile_condition(c.when)) for c in model.exit_when]
        # the lines a score of the MQL definition is compared with (`qualified_until`)
        # by threshold path: its fit minimums (constant without new data: a path whose fit
        # fails now never holds later) and its other lines; the lines criteria use
        constant = {n for n, s in model.scores.items() if s.kind == "fit"}
        self._paths = [(tuple((n, low) for n, low in m if n in constant),
                        frozenset((n, low) for n, low in m if n not in constant))
                       for m in model.mql.thresholds]
        lines: set[tuple[str, float]] = set()
        for criterion in model.mql.criteria:
            for name in criterion.when.fields():
                if name.startswith("score."):
                    lines |= {(name[6:], float(v)) for v in _score_bounds(criterion.when, name)}
        self._criteria_lines = frozenset(lines)
        # the last fits per contact email, with the records they were computed from
        self._fit_memo: dict[str, tuple[Contact, Account | None, dict[str, FitResult]]] = {}

    # -- scores --------------------------------------------------------------------------

    def fits(self, contact: Contact | None, account: Account | None) -> dict[str, FitResult]:
        """Every fit score of `contact` and `account`. Fit depends on nothing else, so the
        last result per contact is kept and reused while both records are the same (values
        of the same types: ``1`` and ``True`` are not the same attribute)."""
        if contact is None:
            return self._fits(contact, account)
        seen = self._fit_memo.get(contact.email)
        if seen is not None and _same_record(seen[0], contact) and _same_record(seen[1],
                                                                                account):
            return dict(seen[2])
        found = self._fits(contact, account)
        if len(self._fit_memo) >= FIT_MEMO:
            self._fit_memo.clear()
        # copies: a caller may change its records' attributes afterwards
        self._fit_memo[contact.email] = (
            Contact(contact.email, contact.account, _copy(dict(contact.attributes))),
            None if account is None else Account(account.domain,
                                                 _copy(dict(account.attributes))), found)
        return dict(found)

    def _fits(self, contact: Contact | None, account: Account | None) -> dict[str, FitResult]:
        return {name: scorer(contact, account) for name, scorer in self.fit_scorers.items()}

    def scores(
        self,
        fits: Mapping[str, FitResult],
        contact: IntentState,
        account: IntentState,
        at: datetime,
    ) -> dict[str, float]:
        """Every score at `at` (fit scores, intent scores, and total = fit + intent)."""
        values: dict[str, float] = {}
        for name, score in self.model.scores.items():
            if score.kind == "fit":
                values[name] = fits[name].value
                continue
            values[name] = intent_value(score, contact, account, at)
        values[TOTAL] = weighted_total(self.model.total, values)
        return values

    def curve(
        self,
        name: str,
        fits: Mapping[str, FitResult],
        contact: IntentState,
        account: IntentState,
        at: datetime,
    ) -> Curve | MixedCurve | None:
        """Score `name` from `at` on with no new events (None for a fit score: constant).

        Its crossings are settled with `scores` itself, so a decision at a crossing sees
        the score on the new side of the line (the exit a worker schedules then moves)."""
        seen: dict[datetime, float] = {}  # a pure function of t: each moment computed once

        def exact(t: datetime) -> float:  # `scores(...)[name]`, computing that score only
            found = seen.get(t)
            if found is not None:
                return found
            if name == TOTAL and self.model.total != DEFAULT_TOTAL:
                found = self.scores(fits, contact, account, t)[name]
            elif name == TOTAL:
                found = fits["fit"].value + intent_value(self.model.scores["intent"], contact,
                                                         account, t)
            else:
                found = intent_value(self.model.scores[name], contact, account, t)
            seen[t] = found
            return found

        model = self.model
        curve: Curve | MixedCurve
        if name == TOTAL and model.total == DEFAULT_TOTAL and plain_curve(model.intent):
            curve = intent_curve(model.intent, contact, account, at, fits["fit"].value)
        elif name == TOTAL:  # a weighted total: the fit scores are constant
            base = sum(w * fits[n].value for n, w in model.total
                       if model.scores[n].kind == "fit")
            curve = MixedCurve(at, base, tuple(
                intent_part(model.scores[n], contact, account, at, w) for n, w in model.total
                if model.scores[n].kind == "intent"))
        elif model.scores[name].kind == "fit":
            return None
        elif plain_curve(model.scores[name]):
            curve = intent_curve(model.scores[name], contact, account, at)
        else:
            curve = MixedCurve(at, 0.0, (intent_part(model.scores[name], contact, account, at),))
        return dataclasses.replace(curve, exact=exact)

    def first_below(
        self,
        name: str,
        threshold: float,
        fits: Mapping[str, FitResult],
        contact: IntentState,
        account: IntentState,
        at: datetime,
        curves: dict[str, Curve | MixedCurve | None] | None = None,
    ) -> datetime | None:
        """When score `name` first falls under `threshold` from `at` on, with no new events
        (`curves`: the curves of this very decision by score, filled as they are built)."""
        if curves is None:
            curve = self.curve(name, fits, contact, account, at)
        elif name in curves:
            curve = curves[name]
        else:
            curve = curves[name] = self.curve(name, fits, contact, account, at)
        if curve is None:
            return at if fits[name].value < threshold else None
        return curve.first_below(threshold)

    def crossings(
        self,
        name: str,
        threshold: float,
        fits: Mapping[str, FitResult],
        contact: IntentState,
        account: IntentState,
        at: datetime,
    ) -> list[datetime]:
        """Every moment from `at` on when `score name >= threshold` flips, with no new events."""
        curve = self.curve(name, fits, contact, account, at)
        return [] if curve is None else curve.crossings(threshold)

    # -- the decision --------------------------------------------------------------------

    def reasons(
        self,
        contact_record: Contact | None,
        account_record: Account | None,
        values: Mapping[str, float],
        state: IntentState,
        at: datetime,
    ) -> list[Reason]:
        reasons = []
        for i, minimums in enumerate(self.model.mql.thresholds):
            if all(values[n] >= low for n, low in minimums):
                detail = " and ".join(f"{n} {_number(values[n])} >= {_number(low)}"
                                      for n, low in minimums)
                reasons.append(Reason("thresholds", f"#{i + 1}", detail,
                                      tuple((n, values[n], low) for n, low in minimums)))
        if self.criteria:
            get = self.criteria_getter(contact_record, account_record, values, state, at)
            for criterion, predicate in self.criteria:
                if predicate(get):
                    reasons.append(Reason("criteria", criterion.name, str(criterion.when)))
        for fast in self.model.mql.fast_track:
            if state.holds(f"fast_track.{fast.name}", at, fast.within_days):
                tracked = state.values[f"fast_track.{fast.name}"]
                reasons.append(Reason("fast_track", fast.name,
                                      f"{'/'.join(fast.events)} at {_stamp(tracked.as_of)}",
                                      at=tracked.as_of))
        return reasons

    def criteria_getter(
        self,
        contact: Contact | None,
        account: Account | None,
        values: Mapping[str, float],
        state: IntentState,
        at: datetime,
    ) -> Getter:
        """Answers `contact.*`, `account.*`, `score.*` and activity leaves at `at`."""
        records = record_getter(contact, account)
        keys = self.program.activity_keys

        def get(name: Any) -> Any:
            if isinstance(name, Activity):
                return activity_holds(state, keys[name], name, at)
            if name.startswith("score."):
                return values.get(name[6:])
            return records(name)

        return get

    def decide(
        self,
        contact: Contact,
        account: Account | None,
        state: IntentState,
        account_state: IntentState,
        at: datetime,
        *,
        exit_needed: bool = True,
        times_needed: bool = True,
    ) -> Decision:
        """The decision for `contact` at `at` (not earlier than its state's last event).

        `exit_needed=False`: the caller reads `exit_at` only when the contact qualifies
        (it is not an MQL now), so it is left None otherwise; it costs a curve's solve.
        `times_needed=False`: `qualified_until` and `exit_at` are left None (what ranks
        leads, scores, grade and verdict, costs no solve; a page then decides its rows)."""
        fits = self.fits(contact, account)
        values = self.scores(fits, state, account_state, at)
        reasons = self.reasons(contact, account, values, state, at)
        excluded = self.exclusions(contact, account, values, state, at)
        exits = self.matching(self.exit_rules, contact, account, values, state, at)
        if excluded or exits:
            reasons = []
        grades = self.model.grades
        grade = None if grades is None else grades.grade(
            values[grades.fit_score], values[grades.intent_score])
        until = None
        curves: dict[str, Curve | MixedCurve | None] = {}  # one curve per score, for both
        if reasons and times_needed:
            until = self.qualified_until(contact, account, fits, state, account_state, at,
                                         curves)
        exit_at = (self.exit_time(self.model.exit_below, fits, state, account_state, at,
                                  curves) if times_needed and (exit_needed or reasons)
                  else None)
        unknown = tuple(dict.fromkeys(f for r in fits.values() for f in r.unknown))
        disqualified = self.matching(self.disqualify, contact, account, values, state, at)
        return Decision(contact.email, at, values, grade, bool(reasons), tuple(reasons),
                        until, exit_at, unknown, excluded, disqualified, exits)

    def exclusions(
        self,
        contact: Contact | None,
        account: Account | None,
        values: Mapping[str, float],
        state: IntentState,
        at: datetime,
    ) -> tuple[str, ...]:
        """The names of the exclusion rules that match (such contacts never qualify)."""
        return self.matching(self.exclude, contact, account, values, state, at)

    def matching(
        self,
        rules: list[tuple[Any, Predicate]],
        contact: Contact | None,
        account: Account | None,
        values: Mapping[str, float],
        state: IntentState,
        at: datetime,
    ) -> tuple[str, ...]:
        """The names of `rules` (criteria-style conditions) that hold for the contact."""
        if not rules:
            return ()
        get = self.criteria_getter(contact, account, values, state, at)
        return tuple(rule.name for rule, predicate in rules if predicate(get))

    def exit_time(
        self,
        below: Minimums,
        fits: Mapping[str, FitResult],
        state: IntentState,
        account_state: IntentState,
        at: datetime,
        curves: dict[str, Curve | MixedCurve | None] | None = None,
    ) -> datetime | None:
        """The first time any of `below` is crossed going down (None: never)."""
        times = [self.first_below(n, low, fits, state, account_state, at, curves)
                 for n, low in below]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def qualified_until(
        self,
        contact: Contact,
        account: Account | None,
        fits: Mapping[str, FitResult],
        state: IntentState,
        account_state: IntentState,
        at: datetime,
        curves: dict[str, Curve | MixedCurve | None] | None = None,
    ) -> datetime | None:
        """When the contact stops qualifying with no new activity (None: it never does).

        The verdict can only change when a window closes or a score crosses a line the
        definition uses (either way: a fading negative signal lets a score rise), so those
        moments are the candidates, checked in order; between two of them nothing changes.
        A threshold path whose fit minimums fail never holds later (fit is constant with
        no new data), so its lines are no candidates.
        """
        candidates: set[datetime] = set()
        if curves is None:  # one curve per score, for all its lines
            curves = {}
        lines = set(self._criteria_lines)
        for fixed, moving in self._paths:
            if all(fits[n].value >= low for n, low in fixed):
                lines |= moving
        for name, low in sorted(lines):
            if name not in curves:
                curves[name] = self.curve(name, fits, state, account_state, at)
            curve = curves[name]
            candidates.update([] if curve is None else curve.crossings(low))
        for leaf, key in self.program.activity_keys.items():
            candidates.update(state.flips(key, at, leaf.within_days))  # an average's changes
            t = activity_expiry(state, key, leaf)
            if t is not None and t > at:
                candidates.add(t)
        for fast in self.model.mql.fast_track:
            t = state.expiry(f"fast_track.{fast.name}", fast.within_days)
            if t is not None and t > at:
                candidates.add(t)
        for t in sorted(candidates):
            probe = t + timedelta(seconds=1)  # just after the moment, where it has flipped
            values = self.scores(fits, state, account_state, probe)
            if not self.reasons(contact, account, values, state, probe):
                return t
        return None


FIT_MEMO = 65_536  # contacts whose last fits a `Qualifier` keeps


def _same_value(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``1 == True == 1.0`` are not the
    same attribute: a condition may tell them apart)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_value(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _same_record(a: Contact | Account | None, b: Contact | Account | None) -> bool:
    if a is b:
        return True
    if a is None or b is None or type(a) is not type(b):
        return False
    if isinstance(a, Contact) and isinstance(b, Contact):
        if a.email != b.email or a.account != b.account:
            return False
    elif isinstance(a, Account) and isinstance(b, Account) and a.domain != b.domain:
        return False
    return _same_value(dict(a.attributes), dict(b.attributes))


def _score_bounds(cond: Any, name: str) -> list[float]:
    """The numbers a criterion compares score `name` with (negated leaves included)."""
    bounds: list[float] = []
    for leaf in leaves(cond):
        compare = leaf.item if isinstance(leaf, Not) else leaf
        if isinstance(compare, Compare) and compare.field == name:
            value = compare.value
            bounds.extend(value if isinstance(value, tuple) else [value])
    return [b for b in bounds if isinstance(b, int | float)]
