"""`Model` -> model file text, the inverse of `parse_model`.

Used to store and show model versions in a canonical form. Decay is written per intent
score as a half-life (a `loss_per_quarter` reads back as the same exact half-life).

>>> from mql.model.parse import parse_model
>>> m = parse_model("name: t\\nfit: {rules: []}\\nintent:\\n  rules: []\\n"
...                 "mql: {thresholds: {fit: 10}}\\n")
>>> parse_model(dump_model(m)) == m
True
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from mql.model.accounts import AccountScoring
from mql.model.attribution import AttributionSettings, attribution_data
from mql.model.conditions import Activity, After, All, AnyOf, Compare, Condition, Measure, Not
from mql.model.consent import ConsentPolicy
from mql.model.handoff import Lifecycle, Routing, SlaRule
from mql.model.mqa import MqaRule
from mql.model.reports import ReportSettings, reports_data
from mql.model.spec import (
    ALWAYS,
    DEFAULT_TOTAL,
    Decay,
    FitRule,
    IntentRule,
    Model,
    Outcomes,
    PointsPer,
    Score,
)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def condition_data(cond: Condition) -> dict[str, Any]:
    """A condition as model-file data."""
    if isinstance(cond, Compare):
        out: dict[str, Any] = {"field": cond.field, "op": cond.op}
        if cond.op in ("in_list", "not_in_list"):
            out["value"] = cond.value.name
        elif cond.op not in ("exists", "missing"):
            out["value"] = list(cond.value) if isinstance(cond.value, tuple) else cond.value
        if cond.case_sensitive:
            out["case_sensitive"] = True
        return out
    if isinstance(cond, All):
        return {"all": [condition_data(c) for c in cond.items]}
    if isinstance(cond, AnyOf):
        return {"any": [condition_data(c) for c in cond.items]}
    if isinstance(cond, Not):
        return {"not": condition_data(cond.item)}
    assert isinstance(cond, Activity)
    act: dict[str, Any] = {"activity": list(cond.events), "min_count": cond.min_count,
                           "within_days": cond.within_days}
    if cond.calendar is not None:  # a calendar window instead of days (mql.model.windows)
        del act["within_days"]
        window = cond.calendar
        if window.kind == "business_days":
            act["within_business_days"] = window.days
        else:
            act["within"] = f"this_{window.kind}"
        if window.team is not None:
            act["calendar"] = window.team
    if cond.where is not None:
        act["where"] = condition_data(cond.where)
    if cond.measure is not None and cond.measure.kind != "distinct":
        del act["min_count"]  # a sum or max has its line in at_least
    return {**act, **window_data(cond.measure, cond.after, "activity", "where")}


def window_data(measure: Measure | None, after: After | None, event_key: str,
                where_key: str) -> dict[str, Any]:
    """The measure and sequence keys of a window (none for a plain count)."""
    out: dict[str, Any] = {}
    if measure is not None:
        out[measure.kind] = measure.field
        if measure.kind != "distinct":
            out["at_least"] = measure.at_least
    if after is not None:
        out["after"] = _drop_none({
            event_key: list(after.events), "min_count": after.min_count,
            where_key: None if after.where is None else condition_data(after.where),
            "within_days": after.within_days})
    return out


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _decay(decay: Decay) -> Any:
    return "none" if decay.half_life_days is None else {"half_life_days": decay.half_life_days}


def _score(score: Score) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    for rule in score.rules:
        if isinstance(rule, FitRule):
            rules.append(_fit_rule(rule))
        else:
            assert isinstance(rule, IntentRule)
            rules.append(_drop_none({
                "name": rule.name, "description": rule.description, "event": list(rule.events),
                "when": None if rule.where is None else condition_data(rule.where),
                "points": None if rule.points_per is not None else rule.points,
                "points_per": None if rule.points_per is None else _per(rule.points_per),
                "cap": rule.cap, "min_count": rule.min_count,
                "within_days": rule.within_days, "level": rule.level,
                "decay": None if rule.decay is None else _decay(rule.decay),
                "expires_after_days": rule.expires_after_days, "once_per": rule.once_per,
                "each_repeat": rule.each_repeat,
            }))
            if rule.measure is not None or rule.after is not None:
                if rule.measure is not None and rule.measure.kind != "distinct":
                    del rules[-1]["min_count"]  # a sum or max has its line in at_least
                rules[-1].update(window_data(rule.measure, rule.after, "event", "when"))
    out = _drop_none({"description": score.description, "max": score.max,
                      "floor": score.floor})
    if score.kind == "intent":
        out["decay"] = _decay(score.decay)
    out["rules"] = rules
    return out


# -- points read from a field (issue 13) ------------------------------------------------

def _fit_rule(rule: FitRule) -> dict[str, Any]:
    valued = rule.points_by is not None or rule.points_per is not None
    out = _drop_none({"name": rule.name, "description": rule.description,
                      "when": None if valued and rule.when == ALWAYS
                      else condition_data(rule.when),
                      "points": None if valued else rule.points})
    if rule.points_by is not None:
        by = rule.points_by
        if by.table:
            out["points_by"] = {"field": by.field,
                                "table": {**dict(by.table), "default": by.default}}
        else:
            out["points_by"] = {"field": by.field, "bins": [
                [None if math.isinf(low) else low, None if math.isinf(high) else high, points]
                for low, high, points in by.bins], "default": by.default}
    if rule.points_per is not None:
        out["points_per"] = _per(rule.points_per)
    return out


def _per(per: PointsPer) -> dict[str, Any]:
    return _drop_none({"field": per.field, "each": per.each, "points": per.points,
                       "cap": per.cap})


def _named(rules: Any) -> list[dict[str, Any]]:
    return [_drop_none({"name": r.name, "description": r.description,
                        "when": condition_data(r.when)}) for r in rules]


def _lifecycle(life: Lifecycle) -> dict[str, Any]:
    return _drop_none({
        "recycle_after_days": life.recycle_after_days,
        "requalify": "fresh_intent" if life.requalify_fresh_intent else "any",
        "disqualify": _named(life.disqualify),
        "reject_reasons": list(life.reject_reasons),
        "account_team_statuses": sorted(life.account_team_statuses),
    })


def _routing(routing: Routing) -> dict[str, Any]:
    teams = {}
    for name, team in routing.teams.items():
        hours = team.hours
        teams[name] = _drop_none({
            "time_zone": hours.time_zone,
            "hours": {"days": [_DAYS[d] for d in sorted(hours.days)],
                      "start": hours.start.strftime("%H:%M"), "end": hours.end.strftime("%H:%M")},
            "holidays": sorted(d.isoformat() for d in hours.holidays),
            "manager": team.manager,
            "members": [_drop_none({
                "name": m.name, "weight": m.weight, "capacity": m.capacity,
                "out_of_office": [[a.isoformat(), b.isoformat()] for a, b in m.away],
                "attributes": sorted(m.attributes) or None,
            }) for m in team.members],
            "attributes": sorted(team.attributes) or None,
        })
    return _drop_none({
        "account_alerts": {"min_contacts": routing.alerts.min_contacts,
                           "window_days": routing.alerts.window_days,
                           "quiet_days": routing.alerts.quiet_days},
        "account_owner_first": routing.account_owner_first,
        "account_team": routing.account_team,
        "teams": teams,
        "rules": [_drop_none({"name": r.name, "description": r.description,
                              "when": condition_data(r.when), "team": r.team})
                  for r in routing.rules],
        "fallback": routing.fallback,
    })


def _sla(rule: SlaRule) -> dict[str, Any]:
    return _drop_none({"name": rule.name, "description": rule.description,
                       "when": None if rule.when is None else condition_data(rule.when),
                       "first_touch_hours": rule.first_touch_hours,
                       "escalate_after_breaches": rule.escalate_after_breaches})


def model_data(model: Model) -> dict[str, Any]:
    """The model as plain data, in the model file's layout."""
    data: dict[str, Any] = _drop_none({"name": model.name, "version": model.version,
                                       "description": model.description})
    if model.contact_fields or model.account_fields:
        data["fields"] = {"contact": sorted(model.contact_fields),
                          "account": sorted(model.account_fields)}
    if model.event_types:
        data["event_types"] = sorted(model.event_types)
    data["fit"] = _score(model.fit)
    data["intent"] = _score(model.intent)
    named = {n: {"kind": s.kind, **_score(s)} for n, s in model.scores.items()
             if n not in ("fit", "intent")}
    if named:
        data["scores"] = named
    mql = model.mql
    data["mql"] = {
        "thresholds": [dict(m) for m in mql.thresholds],
        "criteria": _named(mql.criteria),
        "fast_track": [_drop_none({
            "name": f.name, "description": f.description, "event": list(f.events),
            "when": None if f.where is None else condition_data(f.where),
            "within_days": f.within_days}) for f in mql.fast_track],
        "exclude": _named(mql.exclude),
    }
    if model.total != DEFAULT_TOTAL:
        data["total"] = dict(model.total)
    if model.grades is not None:
        g = model.grades
        data["grades"] = {"fit_score": g.fit_score, "intent_score": g.intent_score,
                          "fit": dict(g.fit_bands), "intent": dict(g.intent_bands)}
    if model.exit_below:
        data["exit"] = {"below": dict(model.exit_below)}
    if model.exit_when:
        data.setdefault("exit", {})["when"] = [_drop_none({
            "name": r.name, "description": r.description, "reason": r.reason,
            "when": condition_data(r.when), "to": r.to}) for r in model.exit_when]
    data["lifecycle"] = _lifecycle(model.lifecycle)
    if model.routing is not None:
        data["routing"] = _routing(model.routing)
    if model.sla:
        data["sla"] = [_sla(s) for s in model.sla]
    if model.outcomes != Outcomes():
        data["outcomes"] = {"sourced_within_days": model.outcomes.sourced_within_days,
                            "influenced_within_days": model.outcomes.influenced_within_days}
    if model.reports != ReportSettings():
        data["reports"] = reports_data(model.reports)
    if model.attribution != AttributionSettings():
        data["attribution"] = attribution_data(model.attribution)
    if model.lists:
        data["list_values"] = {n.name: sorted(n.values) for n in model.lists}
    if model.accounts is not None:
        data["accounts"] = _accounts(model.accounts)
    if model.consent is not None:
        data["consent"] = _consent(model.consent)
    if model.nurture is not None:
        from mql.model.nurture import nurture_data

        data["nurture"] = nurture_data(model.nurture, condition_data)
    return data


def _consent(policy: ConsentPolicy) -> dict[str, Any]:
    """The `consent:` section (docs/compliance.md) as model-file data: every
    jurisdiction line in full, so the dump reads back as the same policy."""
    return {
        "handoff_channels": list(policy.handoff_channels),
        "jurisdictions": {name: {
            "allow": {c: list(b) for c, b in rule.allow.items()},
            "without_record": list(rule.without_record),
            "expiry_months": dict(rule.expiry)} for name, rule in policy.rules.items()},
        "countries": dict(policy.countries),
        **({"overlays": [_drop_none({
            "name": o.name, "description": o.description, "when": condition_data(o.when),
            "requires": list(o.requires)}) for o in policy.overlays]}
           if policy.overlays else {}),
        **({"retention": {n: f"{d}d" for n, d in policy.retention.items()}}
           if policy.retention else {}),
    }


def _accounts(spec: AccountScoring) -> dict[str, Any]:
    """The `accounts:` section (docs/accounts.md) as model-file data."""
    rules = [_drop_none({
        "role": r.role, "titles": list(r.titles) or None,
        "departments": list(r.departments) or None,
        "seniorities": list(r.seniorities) or None,
        "when": None if r.when is None else condition_data(r.when)}) for r in spec.roles.rules]
    out: dict[str, Any] = _drop_none({"description": spec.description, "line": spec.line})
    if spec.tiers:
        out["tiers"] = dict(spec.tiers)
    out["cover"] = list(spec.cover)
    out["engaged"] = {"intent": spec.engaged.intent, "within_days": spec.engaged.within_days}
    if spec.fit is not None:
        out["fit"] = _score(spec.fit)
    out["intent"] = _drop_none({
        "score": spec.intent_score, "weights": dict(spec.weights),
        "unknown": spec.unknown_weight, "repeat": spec.repeat,
        "account_events": spec.account_events, "max": spec.intent_max})
    out["roles"] = {"override": spec.roles.override, "rules": rules}
    if spec.mqa is not None:
        out["mqa"] = {"handoff": spec.mqa.handoff, "reopen_days": spec.mqa.reopen_days,
                      "default": _mqa_rule(spec.mqa.default),
                      "tiers": {t: _mqa_rule(r) for t, r in spec.mqa.tiers.items()}}
    if spec.pql is not None:
        p = spec.pql
        out["pql"] = _drop_none({"score": p.score, "min": p.min, "route": p.route,
                                 "sla_hours": p.sla_hours, "milestones": [_drop_none({
                                     "name": m.name, "event": m.event,
                                     "milestone": m.milestone, "count": m.count,
                                     "within_days": m.within_days, "after": m.after})
                                     for m in p.milestones]})
    return out


def _mqa_rule(r: MqaRule) -> dict[str, Any]:
    """One rule of `accounts.mqa` (docs/accounts.md) as model-file data."""
    return _drop_none({
        "score": r.score, "engaged": _drop_none({"contacts": r.contacts,
                                                 "within_days": r.within_days,
                                                 "intent": r.intent}),
        "roles": [list(g) for g in r.roles], "fast_track": list(r.fast_track),
        "fast_track_days": r.fast_track_days, "route": r.route, "sla_hours": r.sla_hours})


def dump_model(model: Model) -> str:
    """The model file text of `model` (canonical: parsing it gives an equal model)."""
    return yaml.safe_dump(model_data(model), sort_keys=False, allow_unicode=True, width=100)
