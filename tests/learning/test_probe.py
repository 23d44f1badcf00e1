"""The audit's probe model (mql.learning.probe), from its docstring: one extra score per
rule with the rule alone, one more per intent rule that says whether it fired in the
window (a windowed rule: its own window), and `active` over the events of the model's
contact-level rules and fast tracks; the model's own scores and MQL definition kept."""

from __future__ import annotations

from mql.learning.probe import ProbedRule, probe_model
from mql.model.parse import parse_model
from mql.model.spec import IntentRule

MODEL = parse_model("""
name: probed
fit:
  rules:
    - {name: big, when: {field: account.employees, op: gte, value: 100}, points: 20}
intent:
  decay: {half_life_days: 30}
  rules:
    - {name: pricing, event: page_view, when: {field: url, op: contains, value: /pricing},
       points: 5, cap: 15}
    - {name: surge, event: intent_surge, level: account, points: 8}
    - {name: webinars, event: webinar_attended, min_count: 2, within_days: 14, points: 12}
mql:
  thresholds: [{fit: 10, intent: 10}]
  fast_track:
    - {name: demo, event: demo_request}
""", source="probed.yaml")


def test_each_rule_alone_and_whether_it_fired() -> None:
    probe = probe_model(MODEL, window_days=31)
    assert probe.rules == (
        ProbedRule("fit", "big", "fit", "value:fit.big", "value:fit.big"),
        ProbedRule("intent", "pricing", "intent", "value:intent.pricing",
                   "fired:intent.pricing"),
        ProbedRule("intent", "surge", "intent", "value:intent.surge", "fired:intent.surge"),
        ProbedRule("intent", "webinars", "intent", "value:intent.webinars",
                   "fired:intent.webinars"))
    assert [r.key for r in probe.rules] == ["fit.big", "intent.pricing", "intent.surge",
                                            "intent.webinars"]
    scores = probe.model.scores
    intent = MODEL.scores["intent"]
    # the rule alone, decayed as in its score
    alone = scores["value:intent.pricing"]
    assert (alone.kind, alone.rules, alone.decay) == ("intent", (intent.rules[0],),
                                                      intent.decay)
    assert scores["value:fit.big"].kind == "fit"
    assert scores["value:fit.big"].rules == MODEL.scores["fit"].rules
    # fired: 1 when one event it counts fell in the last 31 days, its where and level kept
    fired = scores["fired:intent.pricing"]
    assert fired.kind == "intent"
    assert fired.rules == (IntentRule("pricing", ("page_view",), 1.0,
                                      where=intent.rules[0].where, min_count=1,
                                      within_days=31),)
    surge = scores["fired:intent.surge"].rules[0]
    assert isinstance(surge, IntentRule)
    assert (surge.level, surge.min_count, surge.within_days) == ("account", 1, 31)
    # a windowed rule fires when its own window holds: 1 point, no cap
    webinars = scores["fired:intent.webinars"].rules[0]
    assert isinstance(webinars, IntentRule)
    assert (webinars.points, webinars.cap, webinars.min_count, webinars.within_days) == (
        1.0, None, 2, 14)


def test_active_over_the_contacts_events_and_the_fast_tracks() -> None:
    probe = probe_model(MODEL, window_days=31)
    active = probe.model.scores["active"]
    # the account's intent surge is no contact's doing
    assert active.kind == "intent"
    assert active.rules == (IntentRule("active", ("demo_request", "page_view",
                                                  "webinar_attended"), 1.0, min_count=1,
                                       within_days=31),)
    # the model's own scores first, its MQL definition and total untouched, no digest
    assert list(probe.model.scores)[:2] == ["fit", "intent"]
    assert list(probe.model.scores)[-1] == "active"
    assert probe.model.mql == MODEL.mql and probe.model.total == MODEL.total
    assert probe.model.digest == ""


def test_a_model_of_fit_rules_only_has_no_active_score() -> None:
    fit_only = parse_model("""
name: fit_only
fit:
  rules:
    - {name: big, when: {field: account.employees, op: gte, value: 100}, points: 20}
intent:
  rules: []
mql:
  thresholds: [{fit: 10}]
""")
    assert "active" not in probe_model(fit_only, window_days=31).model.scores


def test_each_probe_score_is_named_as_its_column() -> None:
    scores = probe_model(MODEL, window_days=31).model.scores
    assert all(score.name == key for key, score in scores.items())
    assert len(scores) == 2 + 4 + 3 + 1  # the model's, a value per rule, fired, active
