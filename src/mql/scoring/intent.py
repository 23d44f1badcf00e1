"""Intent state: one decayed sum or recent-time window per tracked rule, O(1) per event.

`Program` compiles a model once into trackers (intent rules of every intent score, the
activity leaves of criteria, the fast-track events) indexed by event type. `IntentState`
holds, for one contact (or one account), the value of each tracker; `add` folds in one
event, `merge` joins two states (merged contacts). Reading a score never re-reads events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from mql.model.conditions import Activity, Condition, activities, counted_where, needs_window_state
from mql.model.spec import SECONDS_PER_DAY, Decay, IntentRule, Model, PointsPer, Score
from mql.records import Event
from mql.scoring.decay import (
    Curve,
    DecayedSum,
    EventLog,
    LogRule,
    Part,
    RecentTimes,
    Term,
    clamp,
)
from mql.scoring.evaluate import Predicate, as_number, compile_condition, is_missing
from mql.scoring.windows import (
    DistinctTimes,
    Fold,
    SequenceTimes,
    WindowAvg,
    WindowState,
    WindowSum,
    merge_windows,
    window_fold,
    window_from_dict,
    window_to_dict,
)

Level = Literal["contact", "account"]
Tracked = DecayedSum | RecentTimes | EventLog | WindowState
_WINDOWS = (RecentTimes, DistinctTimes, WindowSum, SequenceTimes, WindowAvg)


@dataclass(frozen=True, slots=True)
class Tracker:
    """What one rule remembers: a decayed sum of points, or the latest `keep` times."""

    key: str
    events: frozenset[str]
    # trackers compare by what they were compiled from (`spec`), not by their functions
    where: Predicate | None = field(compare=False)
    level: Level
    points: float = 0.0
    decay: Decay = Decay(None)  # noqa: RUF009 - Decay is a frozen value
    keep: int | None = None
    # a window beyond counting (distinct values, a sum, a sequence): how events fold in
    fold: Fold | None = field(default=None, compare=False)
    window: Activity | None = None
    log: LogRule | None = None  # issue 13: a rule that needs its events' times
    per: PointsPer | None = None  # issue 13: each event's points read from a property
    spec: object = None  # the condition or activity `where` and `fold` were compiled from

    def points_of(self, event: Event) -> float:
        """The points `event` earns (the rule's, or read from its property)."""
        if self.per is None:
            return self.points
        value = event.properties.get(self.per.field)
        return self.per.value(None if is_missing(value) else as_number(value))

    def matches(self, event: Event) -> bool:
        return self.where is None or self.where(event.properties.get)

    @property
    def kind(self) -> type[Tracked]:
        """The type of the values this tracker keeps (a value of another type was made
        by another model's tracker under the same key)."""
        if self.log is not None:
            return EventLog
        if self.window is not None:
            if self.window.after is not None:
                return SequenceTimes
            measure = self.window.measure
            kinds: dict[str, type[WindowState]] = {"distinct": DistinctTimes,
                                                   "avg": WindowAvg}
            return kinds.get(measure.kind if measure is not None else "", WindowSum)
        return DecayedSum if self.keep is None else RecentTimes


def window_tracker(key: str, leaf: Activity, level: Level) -> Tracker:
    """The tracker of a windowed rule or activity leaf: a count of recent events (a `max`
    is one, see `counted_where`), or a `WindowState` folded by `window_fold`."""
    if not needs_window_state(leaf):
        return Tracker(key, frozenset(leaf.events), _compiled(counted_where(leaf)), level,
                       keep=leaf.min_count, spec=leaf)
    fold, where = window_fold(leaf)
    kinds = frozenset(leaf.events) | frozenset(leaf.after.events if leaf.after else ())
    return Tracker(key, kinds, where, level, fold=fold, window=leaf, spec=leaf)


def rule_key(score: str, rule: str) -> str:
    return f"{score}.{rule}"


class Program:
    """A model compiled for streaming: trackers by event type and level.

    >>> from mql.model.parse import parse_model
    >>> from importlib.resources import files
    >>> text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    >>> len(Program(parse_model(text)).trackers)
    24
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        trackers: list[Tracker] = []
        for score in model.scores.values():
            if score.kind == "intent":
                trackers.extend(self._rule_tracker(score, r) for r in score.rules
                                if isinstance(r, IntentRule))
        self.activity_keys: dict[Activity, str] = {}
        conditions: list[Condition] = [c.when for c in model.mql.criteria]
        conditions += [c.when for c in model.mql.exclude]
        conditions += [c.when for c in model.lifecycle.disqualify]
        conditions += [s.when for s in model.sla if s.when is not None]
        conditions += [r.when for r in model.routing.rules] if model.routing else []
        conditions += [r.when for r in model.exit_when]  # last: the keys above stay stable
        for condition in conditions:
            for leaf in activities(condition):
                if leaf not in self.activity_keys:
                    key = f"activity.{len(self.activity_keys)}"
                    self.activity_keys[leaf] = key
                    trackers.append(window_tracker(key, leaf, "contact"))
        for fast in model.mql.fast_track:
            trackers.append(Tracker(f"fast_track.{fast.name}", frozenset(fast.events),
                                    _compiled(fast.where), "contact", keep=1,
                                    spec=fast.where))
        self.trackers = tuple(trackers)
        self.by_key = {t.key: t for t in trackers}
        self._index: dict[tuple[Level, str], tuple[Tracker, ...]] = {}
        for t in trackers:
            for kind in t.events:
                self._index[t.level, kind] = (*self._index.get((t.level, kind), ()), t)

    @staticmethod
    def _rule_tracker(score: Score, rule: IntentRule) -> Tracker:
        if rule.windowed:
            return window_tracker(rule_key(score.name, rule.name), rule.window, rule.level)
        return Tracker(
            rule_key(score.name, rule.name), frozenset(rule.events), _compiled(rule.where),
            rule.level, rule.points, rule.decay_in(score), rule.min_count,
            log=log_rule(rule, score), per=rule.points_per, spec=rule.where,
        )

    def tracking(self, level: Level) -> tuple[Tracker, ...]:
        """The trackers of `level`: two programs with equal ones build the same state of
        a contact (or account) from the same events, whatever else their models say."""
        return tuple(t for t in self.trackers if t.level == level)

    def trackers_for(self, level: Level, event_type: str) -> tuple[Tracker, ...]:
        return self._index.get((level, event_type), ())


def _compiled(cond: Condition | None) -> Predicate | None:
    return None if cond is None else compile_condition(cond)


@dataclass(frozen=True, slots=True)
class IntentState:
    """Tracked values of one contact or account; `as_of` is its latest event time."""

    values: Mapping[str, Tracked]
    as_of: datetime | None = None

    @classmethod
    def empty(cls) -> IntentState:
        return cls(MappingProxyType({}), None)

    def add(self, event: Event, program: Program, level: Level = "contact") -> IntentState:
        """This state with `event` folded in (any order gives the same state)."""
        candidates = program.trackers_for(level, event.type)
        if not candidates:
            return self
        get = event.properties.get
        matched = [t for t in candidates if t.where is None or t.where(get)]
        if not matched:
            return self
        values = dict(self.values)
        at = event.at
        for t in matched:
            old = values.get(t.key)
            if t.fold is not None:
                folded = t.fold(old, event)
                if folded is not None:
                    values[t.key] = folded
                continue
            if t.log is not None:
                values[t.key] = (EventLog.start(at) if not isinstance(old, EventLog)
                                 else old.add(at, t.log))
            elif isinstance(old, DecayedSum) and t.keep is None:
                values[t.key] = old.add(t.points_of(event), at, t.decay)
            elif isinstance(old, RecentTimes) and t.keep is not None:
                values[t.key] = old.add(at)
            else:  # nothing yet, or a value another model's tracker kept under this key
                values[t.key] = (DecayedSum(t.points_of(event), at) if t.keep is None
                                 else RecentTimes((at,), t.keep))
        as_of = at if self.as_of is None or at > self.as_of else self.as_of
        # the mapping is never mutated after this point: states are values
        return IntentState(values, as_of)

    def merge(self, other: IntentState, program: Program) -> IntentState:
        """Both states as one (e.g. two records of the same person): each tracker's
        values joined as if one record had seen both histories, in either order. A value
        `program` cannot read (its key is no tracker's, or another model's tracker kept
        it: a record stored under an earlier model) is left out on both sides alike,
        never read as if this model had made it, nor kept instead of the other record's
        value; the state of such a record comes from its ledger."""
        values: dict[str, Tracked] = {}
        for key in self.values.keys() | other.values.keys():
            t = program.by_key.get(key)
            if t is None:
                continue
            kind = t.kind
            ours, theirs = (v if isinstance(v, kind) else None
                            for v in (self.values.get(key), other.values.get(key)))
            if ours is None or theirs is None:
                kept = theirs if ours is None else ours
                if kept is not None:
                    values[key] = kept
            elif isinstance(ours, DecayedSum):
                values[key] = ours.merge(theirs, t.decay)  # type: ignore[arg-type]
            elif isinstance(ours, RecentTimes):
                values[key] = ours.merge(theirs)  # type: ignore[arg-type]
            elif isinstance(ours, EventLog):
                assert t.log is not None
                values[key] = ours.merge(theirs, t.log)  # type: ignore[arg-type]
            else:
                assert t.window is not None
                values[key] = merge_windows(ours, theirs, t.window)  # type: ignore[arg-type]
        stamps = [t for t in (self.as_of, other.as_of) if t is not None]
        return IntentState(MappingProxyType(values), max(stamps) if stamps else None)

    def holds(self, key: str, at: datetime, within_days: float) -> bool:
        tracked = self.values.get(key)
        return isinstance(tracked, _WINDOWS) and tracked.holds_at(
            at, timedelta(days=within_days))

    def flips(self, key: str, at: datetime, within_days: float) -> list[datetime]:
        """For a window that can stop and start again (an average): every moment after
        `at` at which it changes without new events (others: none, see `expiry`)."""
        tracked = self.values.get(key)
        if not isinstance(tracked, WindowAvg):
            return []
        return tracked.flips(at, timedelta(days=within_days))

    def expiry(self, key: str, within_days: float) -> datetime | None:
        tracked = self.values.get(key)
        if not isinstance(tracked, _WINDOWS):
            return None
        return tracked.expires_at(timedelta(days=within_days))


def rule_value(rule: IntentRule, score: Score, state: IntentState, at: datetime) -> float:
    """What one intent rule adds to its score at `at` (capped; windowed rules in full)."""
    key = rule_key(score.name, rule.name)
    if rule.windowed:
        assert rule.within_days is not None
        return rule.points if state.holds(key, at, rule.within_days) else 0.0
    return clamp(rule_sum(rule, score, state, at), rule.cap)


def score_value(score: Score, values: Iterable[float]) -> float:
    """An intent score from its rules' values (`rule_value`, in rule order), capped at its
    maximum: the one summation every decision and explanation uses."""
    total = 0.0
    for value in values:
        total += value
    return score.bounded(total)


# (rule, key, on the account) of each intent rule of a score, by the score's id (the
# score itself is kept, so the id is never reused while cached)
_Term = tuple[IntentRule, str, bool]
_TERMS: dict[int, tuple[Score, tuple[_Term, ...]]] = {}


def _terms(score: Score) -> tuple[_Term, ...]:
    found = _TERMS.get(id(score))
    if found is not None and found[0] is score:
        return found[1]
    terms = tuple((r, rule_key(score.name, r.name), r.level == "account")
                  for r in score.rules if isinstance(r, IntentRule))
    if len(_TERMS) > 256:  # models come and go in a long-running process
        _TERMS.clear()
    _TERMS[id(score)] = (score, terms)
    return terms


def intent_value(score: Score, contact: IntentState, account: IntentState,
                 at: datetime) -> float:
    """Intent score `score` at `at` from the contact's and its account's states: the
    `score_value` of the `rule_value`s, in rule order. A rule with nothing tracked adds
    exactly 0.0, so only the tracked ones are read (the same sum, bit for bit)."""
    total = 0.0
    mine, theirs = contact.values, account.values
    for rule, key, on_account in _terms(score):
        if key in (theirs if on_account else mine):
            total += rule_value(rule, score, account if on_account else contact, at)
    return score.bounded(total)


def intent_curve(
    score: Score, contact: IntentState, account: IntentState, at: datetime, base: float = 0.0
) -> Curve:
    """The score from `at` on without new events, as a `Curve` (value and crossings)."""
    terms: list[tuple[float, float | None]] = []
    steps: list[tuple[float, datetime]] = []
    for rule in score.rules:
        assert isinstance(rule, IntentRule)
        state = account if rule.level == "account" else contact
        key = rule_key(score.name, rule.name)
        if rule.windowed:
            assert rule.within_days is not None
            if isinstance(state.values.get(key), WindowAvg):
                steps.extend(_interval_steps(rule.points, state.holds(key, at, rule.within_days),
                                             state.flips(key, at, rule.within_days)))
                continue
            if state.holds(key, at, rule.within_days):
                until = state.expiry(key, rule.within_days)
                assert until is not None
                steps.append((rule.points, until))
            continue
        if key in state.values:
            terms.append((rule_sum(rule, score, state, at), rule.cap))
    return Curve(at, score.decay, base, tuple(terms), tuple(steps), score.max)


def _interval_steps(points: float, held: bool, flips: list[datetime]
                    ) -> list[tuple[float, datetime]]:
    """`Curve` steps for a window that holds now (`held`) and changes at each of
    `flips`: an interval [s, u) after now is the step `points` until u minus the step
    `points` until s. The last flip always ends an interval: an empty window does not
    hold."""
    steps: list[tuple[float, datetime]] = []
    start: datetime | None = None
    for t in flips:
        if held:
            steps.append((points, t))
            if start is not None:
                steps.append((-points, start))
        else:
            start = t
        held = not held
    return steps


def days_between(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / SECONDS_PER_DAY


def state_to_dict(state: IntentState) -> dict[str, object]:
    """A JSON-ready form of `state` (for the store); `state_from_dict` reads it back.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> s = IntentState({"intent.demo": DecayedSum(40.0, t), "activity.0": RecentTimes((t,), 3)}, t)
    >>> state_from_dict(state_to_dict(s)) == s
    True
    """
    values: dict[str, object] = {}
    for key, tracked in state.values.items():
        if isinstance(tracked, DecayedSum):
            values[key] = {"sum": tracked.value, "as_of": tracked.as_of.isoformat()}
        elif isinstance(tracked, EventLog):
            values[key] = {"runs": [[a.isoformat(), b.isoformat()] for a, b in tracked.runs],
                           "as_of": tracked.as_of.isoformat()}
        elif not isinstance(tracked, RecentTimes):
            values[key] = window_to_dict(tracked)
        else:
            values[key] = {"times": [t.isoformat() for t in tracked.times], "keep": tracked.keep}
    return {"as_of": None if state.as_of is None else state.as_of.isoformat(), "values": values}


def state_from_dict(data: Mapping[str, object]) -> IntentState:
    """The `IntentState` written by `state_to_dict`."""
    values: dict[str, Tracked] = {}
    raw = data.get("values")
    assert isinstance(raw, dict)
    for key, item in raw.items():
        if "window" in item:
            values[key] = window_from_dict(item)
        elif "sum" in item:
            values[key] = DecayedSum(float(item["sum"]), datetime.fromisoformat(item["as_of"]))
        elif "runs" in item:
            values[key] = EventLog(tuple((datetime.fromisoformat(a), datetime.fromisoformat(b))
                                         for a, b in item["runs"]),
                                   datetime.fromisoformat(item["as_of"]))
        else:
            values[key] = RecentTimes(tuple(datetime.fromisoformat(t) for t in item["times"]),
                                      int(item["keep"]))
    as_of = data.get("as_of")
    return IntentState(values, None if as_of is None else datetime.fromisoformat(str(as_of)))


# -- curves of mixed half-lives, lifespans, floors and weights (issue 13) -----------------

def rule_decay(rule: IntentRule, score: Score) -> Decay:
    """The decay of one rule's points: its own, else the score's."""
    return rule.decay_in(score)


def log_rule(rule: IntentRule, score: Score) -> LogRule | None:
    """How a rule that needs its events' times counts them (None: a plain decayed sum)."""
    if not rule.logged or rule.windowed:
        return None
    life = None if rule.expires_after_days is None else rule.expires_after_days * SECONDS_PER_DAY
    return LogRule(rule.points, rule.decay_in(score), life, rule.once_per, rule.each_repeat)


def rule_sum(rule: IntentRule, score: Score, state: IntentState, at: datetime) -> float:
    """A non-windowed rule's decayed sum at `at`, before its cap."""
    tracked = state.values.get(rule_key(score.name, rule.name))
    if isinstance(tracked, EventLog):
        log = log_rule(rule, score)
        assert log is not None
        return tracked.value_at(at, log)
    if isinstance(tracked, DecayedSum):
        return tracked.value_at(at, rule.decay_in(score))
    return 0.0


def plain_curve(score: Score) -> bool:
    """Whether `intent_curve` (one half-life, closed form) describes the score exactly:
    no floor, no rule with a decay of its own or a lifespan."""
    return _plan(score)[0]


# A score's rules as `intent_part` reads them, worked out once per score (the model is
# immutable): (rule key, on the account, window days or None, points, cap, half-life in
# seconds, decay, log rule) in rule order
_Step = tuple[str, bool, float | None, float, float | None, float, Decay, LogRule | None]
_PLANS: dict[int, tuple[Score, bool, tuple[_Step, ...]]] = {}


def _plan(score: Score) -> tuple[bool, tuple[_Step, ...]]:
    found = _PLANS.get(id(score))
    if found is not None and found[0] is score:
        return found[1], found[2]
    plain = score.floor is None and all(
        isinstance(r, IntentRule) and (r.windowed or (
            r.decay_in(score) == score.decay and r.expires_after_days is None))
        for r in score.rules)
    steps: list[_Step] = []
    for rule in score.rules:
        assert isinstance(rule, IntentRule)
        decay = rule_decay(rule, score)
        steps.append((rule_key(score.name, rule.name), rule.level == "account",
                      rule.within_days if rule.windowed else None, rule.points, rule.cap,
                      decay.half_life_seconds, decay, log_rule(rule, score)))
    if len(_PLANS) > 256:  # models come and go in a long-running process
        _PLANS.clear()
    _PLANS[id(score)] = (score, plain, tuple(steps))
    return plain, tuple(steps)


def intent_part(score: Score, contact: IntentState, account: IntentState, at: datetime,
                weight: float = 1.0) -> Part:
    """The score from `at` on without new events, as one weighted `Part` of a
    `MixedCurve` (rules with their own half-lives and lifespans, max and floor)."""
    terms: list[Term] = []
    steps: list[tuple[float, datetime]] = []
    mine, theirs = contact.values, account.values
    for key, on_account, within_days, points, cap, half_life, decay, log in _plan(score)[1]:
        tracked = (theirs if on_account else mine).get(key)
        if tracked is None:  # nothing tracked: the rule adds no term and no step
            continue
        if within_days is not None:
            state = account if on_account else contact
            if state.holds(key, at, within_days):
                until = state.expiry(key, within_days)
                assert until is not None
                steps.append((points, until))
            continue
        if isinstance(tracked, EventLog) and log is not None:
            terms.append(Term(tuple(tracked.pieces(at, log)), cap, half_life))
        elif isinstance(tracked, DecayedSum):
            terms.append(Term(((tracked.value_at(at, decay), None),), cap, half_life))
    return Part(weight, tuple(terms), tuple(steps), score.max, score.floor)
