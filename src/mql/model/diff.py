"""What changed between two models, in words a reviewer reads: rules added, removed and
changed (points, caps, conditions, windows, decay), thresholds, grades, exits, lifecycle,
routing and SLAs.

Rules are matched by name within their list, so a renamed rule reads as one removed and
one added. Every field of a rule is compared (a field a later version of the language
adds is compared too, by its name).

>>> from mql.model.parse import parse_model
>>> base = '''
... name: tiny
... fit:
...   rules:
...     - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
... intent:
...   decay: {half_life_days: 30}
...   rules:
...     - {name: demo, event: demo_request, points: 40}
... mql:
...   thresholds: {total: 45}
... '''
>>> new = base.replace("points: 40", "points: 50, cap: 80").replace("45}", "40}")
>>> for line in describe_changes(parse_model(base), parse_model(new)):
...     print(line)
intent rule demo changed: points 40 → 50; cap none → 80
mql threshold #1 changed: total 45 → 40
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from datetime import date, time
from typing import Any

from mql.model.handoff import BusinessHours
from mql.model.spec import Decay, Model, Score

_SIZES = re.compile(r" \(\d+ values\)")  # the repr of a NamedList
_WORDS = {"time_zone": "time zone", "where": "condition", "when": "condition",
          "events": "event types", "min_count": "min count", "within_days": "window (days)"}


def shown(value: Any) -> str:
    """A value of a model as a reviewer reads it.

    >>> shown(None), shown(Decay(45.0)), shown(("a", "b")), shown(2.0)
    ('none', 'half-life 45 days', '[a, b]', '2')
    """
    if value is None:
        return "none"
    if isinstance(value, Decay):
        return "no decay" if value.half_life_days is None else \
            f"half-life {value.half_life_days:g} days"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(shown(v) for v in value)) + "]"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def _fields(old: Any, new: Any, skip: Iterable[str] = ("name",)) -> list[str]:
    """`field old → new` for each field of two dataclasses of one kind that differs."""
    out = []
    for f in dataclasses.fields(old):
        if f.name in skip:
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        # a list's values are said once, under the list (not in every rule testing it)
        before, after = _SIZES.sub("", shown(a)), _SIZES.sub("", shown(b))
        if a != b and before != after:
            out.append(f"{_WORDS.get(f.name, f.name.replace('_', ' '))} {before} → {after}")
    return out


def _named(what: str, old: Iterable[Any], new: Iterable[Any]) -> list[str]:
    """Added, removed and changed items of two lists of named rules."""
    a = {r.name: r for r in old}
    b = {r.name: r for r in new}
    out = [f"{what} {n} removed" for n in a if n not in b]
    for name, rule in b.items():
        if name not in a:
            out.append(f"{what} {name} added: {_summary(rule)}")
        elif type(a[name]) is not type(rule):  # a score that changed kind: other fields
            out.append(f"{what} {name} changed: {_summary(a[name])} → {_summary(rule)}")
        elif a[name] != rule and (parts := _fields(a[name], rule)):
            out.append(f"{what} {name} changed: " + "; ".join(parts))
    return out


def _summary(rule: Any) -> str:
    """The main fields of a new rule, in one line."""
    parts = []
    for f in dataclasses.fields(rule):
        value = getattr(rule, f.name)
        if f.name in ("name", "description") or value in (None, (), f.default):
            continue
        parts.append(f"{_WORDS.get(f.name, f.name.replace('_', ' '))} {shown(value)}")
    return "; ".join(parts)


def _scores(old: Mapping[str, Score], new: Mapping[str, Score]) -> list[str]:
    out = [f"score {n} removed" for n in old if n not in new]
    for name, score in new.items():
        if name not in old:
            out.append(f"score {name} added ({score.kind}, {len(score.rules)} rules)")
            continue
        before = old[name]
        for line in _fields(before, score, skip=("name", "rules")):
            out.append(f"{name} score: {line}")
        out.extend(_named(f"{name} rule", before.rules, score.rules))
    return out


def _thresholds(old: Model, new: Model) -> list[str]:
    out = []
    a, b = old.mql.thresholds, new.mql.thresholds
    for i in range(max(len(a), len(b))):
        label = f"mql threshold #{i + 1}"
        if i >= len(a):
            out.append(f"{label} added: " + " and ".join(f"{n} ≥ {v:g}" for n, v in b[i]))
        elif i >= len(b):
            out.append(f"{label} removed")
        elif a[i] != b[i]:
            before, after = dict(a[i]), dict(b[i])
            parts = [f"{n} {shown(before.get(n))} → {shown(after.get(n))}"
                     for n in dict.fromkeys([*before, *after]) if before.get(n) != after.get(n)]
            out.append(f"{label} changed: " + "; ".join(parts))
    return out


def describe_changes(old: Model, new: Model) -> list[str]:
    """Every difference between `old` and `new` that changes what the model decides or
    how it hands leads off, one line each (empty: they decide alike)."""
    out: list[str] = []
    for label, a, b in (("name", old.name, new.name),):  # versions: in the heading
        if a != b:
            out.append(f"{label} {shown(a)} → {shown(b)}")
    out += _scores(old.scores, new.scores)
    out += _thresholds(old, new)
    out += _named("mql criterion", old.mql.criteria, new.mql.criteria)
    out += _named("mql fast track", old.mql.fast_track, new.mql.fast_track)
    out += _named("mql exclusion", old.mql.exclude, new.mql.exclude)
    if old.grades != new.grades:
        if old.grades is None or new.grades is None:
            out.append(f"grades {'added' if old.grades is None else 'removed'}")
        else:
            out += [f"grades: {line}" for line in _fields(old.grades, new.grades, skip=())]
    if old.exit_below != new.exit_below:
        out.append(f"exit below {shown(_pairs(old.exit_below))} → "
                   f"{shown(_pairs(new.exit_below))}")
    out += [f"lifecycle: {line}" for line in
            _fields(old.lifecycle, new.lifecycle, skip=("name", "disqualify"))]
    out += _named("lifecycle disqualification", old.lifecycle.disqualify,
                  new.lifecycle.disqualify)
    if old.routing != new.routing:
        out += _routing(old, new)
    out += _named("sla", old.sla, new.sla)
    out += _lists(old, new)
    out += _named("exit rule", old.exit_when, new.exit_when)
    out += _accounts(old, new)
    handled = {"name", "version", "description", "scores", "mql", "grades", "exit_below",
               "lifecycle", "routing", "sla", "digest", "lists", "exit_when", "accounts"}
    for f in dataclasses.fields(old):  # sections added to the language later
        if f.name not in handled and getattr(old, f.name) != getattr(new, f.name):
            out.append(f"{f.name.replace('_', ' ')} changed: {shown(getattr(old, f.name))} → "
                       f"{shown(getattr(new, f.name))}")
    return out


def _mqa_changes(a: Any, b: Any) -> list[str]:
    """`accounts.mqa`: added, removed, or what changed per tier rule."""
    if a == b:
        return []
    if a is None or b is None:
        return [f"accounts: mqa {'added' if a is None else 'removed'}"]
    out = [f"accounts: mqa {line}" for line in _fields(a, b, skip=("default", "tiers"))]
    for tier in dict.fromkeys(["default", *a.tiers, *b.tiers]):
        x = a.default if tier == "default" else a.tiers.get(tier)
        y = b.default if tier == "default" else b.tiers.get(tier)
        if x == y:
            continue
        if x is None or y is None:
            out.append(f"accounts: mqa tier {tier} {'added' if x is None else 'removed'}")
        else:
            out += [f"accounts: mqa {tier}: {line}" for line in _fields(x, y, skip=())]
    return out


def _accounts(old: Model, new: Model) -> list[str]:
    """The `accounts:` section: added, removed, or what changed in it.

    >>> from mql.model.accounts import AccountScoring
    >>> a = Model("m", {}, None, accounts=AccountScoring(line=50))  # type: ignore[arg-type]
    >>> b = dataclasses.replace(a, accounts=AccountScoring(line=60, repeat=0.25))
    >>> _accounts(a, b)
    ['accounts: repeat 0.5 → 0.25', 'accounts: line 50 → 60']
    """
    a, b = old.accounts, new.accounts
    if a == b:
        return []
    if a is None or b is None:
        return [f"accounts {'added' if a is None else 'removed'}"]
    out = [f"accounts: {line}" for line in _fields(a, b, skip=(
        "roles", "weights", "fit", "engaged", "description", "mqa", "pql"))]
    out += _mqa_changes(a.mqa, b.mqa)
    if a.pql != b.pql:
        out.append(f"accounts: pql {'added' if a.pql is None else 'removed'}"
                   if a.pql is None or b.pql is None else "accounts: pql changed: "
                   + "; ".join(_fields(a.pql, b.pql, skip=())))
    out += [f"accounts: engaged {line}" for line in _fields(a.engaged, b.engaged, skip=())]
    for role in dict.fromkeys([*a.weights, *b.weights]):
        if a.weights.get(role) != b.weights.get(role):
            out.append(f"accounts: weight of {role} {shown(a.weights.get(role))} → "
                       f"{shown(b.weights.get(role))}")
    if a.roles.override != b.roles.override:
        out.append(f"accounts: role override {shown(a.roles.override)} → "
                   f"{shown(b.roles.override)}")
    ra, rb = a.roles.rules, b.roles.rules
    for i in range(max(len(ra), len(rb))):
        label = f"accounts: role rule #{i + 1}"
        if i >= len(ra):
            out.append(f"{label} added: {_summary(rb[i])}")
        elif i >= len(rb):
            out.append(f"{label} removed")
        elif ra[i] != rb[i]:
            out.append(f"{label} changed: " + "; ".join(_fields(ra[i], rb[i], skip=())))
    if a.fit != b.fit:
        if a.fit is None or b.fit is None:
            out.append(f"accounts: fit {'added' if a.fit is None else 'removed'}")
        else:
            out += [f"accounts: fit {line}" for line in _fields(a.fit, b.fit, skip=(
                "name", "rules", "kind"))]
            out += _named("accounts: fit rule", a.fit.rules, b.fit.rules)
    return out


def _pairs(minimums: Iterable[tuple[str, float]]) -> list[str]:
    return [f"{n} {v:g}" for n, v in minimums]


def _routing(old: Model, new: Model) -> list[str]:
    if old.routing is None or new.routing is None:
        return [f"routing {'added' if old.routing is None else 'removed'}"]
    a, b = old.routing, new.routing
    out = [f"routing: {line}" for line in _fields(a, b, skip=("teams", "rules"))]
    out += _named("routing rule", a.rules, b.rules)
    out += [f"routing team {n} removed" for n in a.teams if n not in b.teams]
    for name, team in b.teams.items():
        if name not in a.teams:
            out.append(f"routing team {name} added: {len(team.members)} members")
        elif a.teams[name] != team:
            before = a.teams[name]
            out += [f"routing team {name}: {line}"
                    for line in _fields(before, team, skip=("name", "members", "hours"))]
            out += [f"routing team {name}: hours {line}"
                    for line in _hours(before.hours, team.hours)]
            out += _named(f"routing team {name} member", before.members, team.members)
    return out


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hours(old: BusinessHours, new: BusinessHours) -> list[str]:
    """A team's business hours field by field, days by name in week order."""
    out = _fields(old, new, skip=("days",))
    if old.days != new.days:
        before, after = ([_DAYS[d] for d in sorted(h.days)] for h in (old, new))
        out.insert(0, f"days {shown(before)} → {shown(after)}")
    return out


def _lists(old: Model, new: Model) -> list[str]:
    """Lists added, removed, and the values each gained or lost."""
    a = {n.name: n.values for n in old.lists}
    b = {n.name: n.values for n in new.lists}
    out = [f"list {n} removed" for n in a if n not in b]
    for name, values in b.items():
        if name not in a:
            out.append(f"list {name} added: {len(values)} values")
        elif a[name] != values:
            gained, lost = sorted(values - a[name]), sorted(a[name] - values)
            parts = [f"+{len(gained)} ({', '.join(gained[:5])}{' ...' if len(gained) > 5 else ''})"
                     ] if gained else []
            parts += [f"-{len(lost)} ({', '.join(lost[:5])}{' ...' if len(lost) > 5 else ''})"
                      ] if lost else []
            out.append(f"list {name} changed: " + ", ".join(parts))
    return out
