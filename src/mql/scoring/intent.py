"""Intent state: one decayed sum or recent-time window per tracked rule, O(1) per event.

`Program` compiles a model once into trackers (intent rules of every intent score, the
activity leaves of criteria, the fast-track events) indexed by event type. `IntentState`
holds, for one contact (or one account), the value of each tracker; `add` folds in one
event, `merge` joins two states (merged contacts). Reading a score never re-reads events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from mql.model.conditions import Activity, Condition, activities
from mql.model.spec import SECONDS_PER_DAY, Decay, IntentRule, Model, Score
from mql.records import Event
from mql.scoring.decay import Curve, DecayedSum, RecentTimes, clamp
from mql.scoring.evaluate import Predicate, compile_condition

Level = Literal["contact", "account"]
Tracked = DecayedSum | RecentTimes


@dataclass(frozen=True, slots=True)
class Tracker:
    """What one rule remembers: a decayed sum of points, or the latest `keep` times."""

    key: str
    events: frozenset[str]
    where: Predicate | None
    level: Level
    points: float = 0.0
    decay: Decay = Decay(None)  # noqa: RUF009 - Decay is a frozen value
    keep: int | None = None

    def matches(self, event: Event) -> bool:
        return self.where is None or self.where(event.properties.get)


def rule_key(score: str, rule: str) -> str:
    return f"{score}.{rule}"


class Program:
    """A model compiled for streaming: trackers by event type and level.

    >>> from mql.model.parse import parse_model
    >>> from importlib.resources import files
    >>> text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    >>> len(Program(parse_model(text)).trackers)
    23
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
        for condition in conditions:
            for leaf in activities(condition):
                if leaf not in self.activity_keys:
                    key = f"activity.{len(self.activity_keys)}"
                    self.activity_keys[leaf] = key
                    trackers.append(Tracker(key, frozenset(leaf.events), _compiled(leaf.where),
                                            "contact", keep=leaf.min_count))
        for fast in model.mql.fast_track:
            trackers.append(Tracker(f"fast_track.{fast.name}", frozenset(fast.events),
                                    _compiled(fast.where), "contact", keep=1))
        self.trackers = tuple(trackers)
        self._index: dict[tuple[Level, str], tuple[Tracker, ...]] = {}
        for t in trackers:
            for kind in t.events:
                self._index[t.level, kind] = (*self._index.get((t.level, kind), ()), t)

    @staticmethod
    def _rule_tracker(score: Score, rule: IntentRule) -> Tracker:
        return Tracker(
            rule_key(score.name, rule.name), frozenset(rule.events), _compiled(rule.where),
            rule.level, rule.points, score.decay, rule.min_count,
        )

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
            if old is None:
                values[t.key] = (DecayedSum(t.points, at) if t.keep is None
                                 else RecentTimes((at,), t.keep))
            elif isinstance(old, DecayedSum):
                values[t.key] = old.add(t.points, at, t.decay)
            else:
                values[t.key] = old.add(at)
        as_of = at if self.as_of is None or at > self.as_of else self.as_of
        # the mapping is never mutated after this point: states are values
        return IntentState(values, as_of)

    def merge(self, other: IntentState, program: Program) -> IntentState:
        """Both states as one (e.g. two records of the same person)."""
        decays = {t.key: t.decay for t in program.trackers}
        values = dict(self.values)
        for key, theirs in other.values.items():
            ours = values.get(key)
            if ours is None:
                values[key] = theirs
            elif isinstance(ours, RecentTimes) and isinstance(theirs, RecentTimes):
                values[key] = ours.merge(theirs)
            elif isinstance(ours, DecayedSum) and isinstance(theirs, DecayedSum):
                values[key] = ours.merge(theirs, decays[key])
        stamps = [t for t in (self.as_of, other.as_of) if t is not None]
        return IntentState(MappingProxyType(values), max(stamps) if stamps else None)

    def holds(self, key: str, at: datetime, within_days: float) -> bool:
        tracked = self.values.get(key)
        return isinstance(tracked, RecentTimes) and tracked.holds_at(
            at, timedelta(days=within_days))

    def expiry(self, key: str, within_days: float) -> datetime | None:
        tracked = self.values.get(key)
        if not isinstance(tracked, RecentTimes):
            return None
        return tracked.expires_at(timedelta(days=within_days))


def rule_value(rule: IntentRule, score: Score, state: IntentState, at: datetime) -> float:
    """What one intent rule adds to its score at `at` (capped; windowed rules in full)."""
    key = rule_key(score.name, rule.name)
    if rule.windowed:
        assert rule.within_days is not None
        return rule.points if state.holds(key, at, rule.within_days) else 0.0
    tracked = state.values.get(key)
    if not isinstance(tracked, DecayedSum):
        return 0.0
    return clamp(tracked.value_at(at, score.decay), rule.cap)


def score_value(score: Score, values: Iterable[float]) -> float:
    """An intent score from its rules' values (`rule_value`, in rule order), capped at its
    maximum: the one summation every decision and explanation uses."""
    total = 0.0
    for value in values:
        total += value
    return total if score.max is None else min(score.max, total)


# (key, on the account, window or None, points, cap) of each intent rule of a score, by
# the score's id (the score itself is kept, so the id is never reused while cached)
_Term = tuple[str, bool, timedelta | None, float, float | None]
_TERMS: dict[int, tuple[Score, tuple[_Term, ...]]] = {}


def _terms(score: Score) -> tuple[_Term, ...]:
    found = _TERMS.get(id(score))
    if found is not None and found[0] is score:
        return found[1]
    terms = tuple((rule_key(score.name, r.name), r.level == "account",
                   timedelta(days=r.within_days) if r.windowed and r.within_days is not None
                   else None, r.points, r.cap)
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
    for key, on_account, window, points, cap in _terms(score):
        tracked = (theirs if on_account else mine).get(key)
        if tracked is None:
            continue
        if window is not None:
            if isinstance(tracked, RecentTimes) and tracked.holds_at(at, window):
                total += points
        elif isinstance(tracked, DecayedSum):
            total += clamp(tracked.value_at(at, score.decay), cap)
    return total if score.max is None else min(score.max, total)


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
            if state.holds(key, at, rule.within_days):
                until = state.expiry(key, rule.within_days)
                assert until is not None
                steps.append((rule.points, until))
            continue
        tracked = state.values.get(key)
        if isinstance(tracked, DecayedSum):
            terms.append((tracked.value_at(at, score.decay), rule.cap))
    return Curve(at, score.decay, base, tuple(terms), tuple(steps), score.max)


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
        else:
            values[key] = {"times": [t.isoformat() for t in tracked.times], "keep": tracked.keep}
    return {"as_of": None if state.as_of is None else state.as_of.isoformat(), "values": values}


def state_from_dict(data: Mapping[str, object]) -> IntentState:
    """The `IntentState` written by `state_to_dict`."""
    values: dict[str, Tracked] = {}
    raw = data.get("values")
    assert isinstance(raw, dict)
    for key, item in raw.items():
        if "sum" in item:
            values[key] = DecayedSum(float(item["sum"]), datetime.fromisoformat(item["as_of"]))
        else:
            values[key] = RecentTimes(tuple(datetime.fromisoformat(t) for t in item["times"]),
                                      int(item["keep"]))
    as_of = data.get("as_of")
    return IntentState(values, None if as_of is None else datetime.fromisoformat(str(as_of)))
