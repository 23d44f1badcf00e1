"""A model with one extra score per rule, so that the batch engine, which reports one
column per score, reports each rule's own value and whether it fired in a period: the
audit reads every rule of every contact at each month's end from one set-based query,
computed by the same compiler that scores (no second copy of a rule).

- ``value:<score>.<rule>``: the rule alone (its points at that moment, decayed and
  capped as in its score);
- ``fired:<score>.<rule>``: for an intent rule, 1 when at least one event it counts fell
  in the last `window_days` (a windowed rule: when its own window holds); for a fit rule
  the value is read instead (it fires when it gives points);
- ``active``: 1 when the contact did anything the model reads in the last `window_days`.

>>> from mql.model.parse import parse_model
>>> m = parse_model('''
... name: tiny
... fit:
...   rules:
...     - {name: big, when: {field: account.employees, op: gte, value: 100}, points: 20}
... intent:
...   rules:
...     - {name: webinar, event: webinar_attended, points: 10}
... mql:
...   thresholds: [{fit: 10, intent: 10}]
... ''', source="tiny.yaml")
>>> probe = probe_model(m, window_days=31)
>>> [name for name in probe.model.scores][2:]
['value:fit.big', 'value:intent.webinar', 'fired:intent.webinar', 'active']
>>> probe.rules[1].fired
'fired:intent.webinar'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mql.model.spec import FitRule, IntentRule, Model, Score

ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class ProbedRule:
    """A rule of the audited model and the probe scores that report it."""

    score: str
    rule: str
    kind: str  # fit | intent
    value: str
    fired: str

    @property
    def key(self) -> str:
        return f"{self.score}.{self.rule}"


@dataclass(frozen=True, slots=True)
class Probe:
    model: Model
    rules: tuple[ProbedRule, ...]


def _fired_rule(rule: IntentRule, window_days: float) -> IntentRule:
    if rule.windowed:
        return dataclasses.replace(rule, points=1.0, cap=None)
    return IntentRule(rule.name, rule.events, 1.0, where=rule.where, min_count=1,
                      within_days=window_days, level=rule.level)


def probe_model(model: Model, *, window_days: float) -> Probe:
    """`model` with the probe scores added (its own scores, MQL definition and total are
    untouched, so its decisions are the same)."""
    scores: dict[str, Score] = dict(model.scores)
    rules: list[ProbedRule] = []
    kinds: set[str] = set()
    for score in model.scores.values():
        for rule in score.rules:
            key = f"{score.name}.{rule.name}"
            value = f"value:{key}"
            scores[value] = Score(value, score.kind, (rule,), decay=score.decay)  # type: ignore[arg-type]
            fired = value
            if isinstance(rule, IntentRule):
                fired = f"fired:{key}"
                scores[fired] = Score(fired, "intent", (_fired_rule(rule, window_days),))
                if rule.level == "contact":
                    kinds.update(rule.events)
            else:
                assert isinstance(rule, FitRule)
            rules.append(ProbedRule(score.name, rule.name, score.kind, value, fired))
    for fast in model.mql.fast_track:
        kinds.update(fast.events)
    if kinds:
        scores[ACTIVE] = Score(ACTIVE, "intent", (IntentRule(
            ACTIVE, tuple(sorted(kinds)), 1.0, min_count=1, within_days=window_days),))
    # no digest: compiled query texts are kept by digest, and this is not the model's query
    return Probe(dataclasses.replace(model, scores=scores, digest=""), tuple(rules))
