"""Checks and builds the hand-off sections of a model: lifecycle, routing, sla."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mql.model import document as d
from mql.model.build import Builder, as_yaml
from mql.model.handoff import (
    AlertPolicy,
    BusinessHours,
    Lifecycle,
    Member,
    NamedRule,
    Routing,
    RoutingRule,
    SlaRule,
    Team,
)
from mql.model.yaml_marks import Path

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def lifecycle(b: Builder, doc: d.LifecycleDoc) -> Lifecycle:
    b.unique([r.name for r in doc.disqualify], ("lifecycle", "disqualify"), "rule")
    rules = tuple(
        NamedRule(r.name, b.condition(r.when, ("lifecycle", "disqualify", i, "when"),
                                      "criteria"), r.description)
        for i, r in enumerate(doc.disqualify)
    )
    if not doc.reject_reasons:
        b.problem(("lifecycle", "reject_reasons"), "name at least one reject reason")
    return Lifecycle(doc.recycle_after_days, doc.requalify == "fresh_intent", rules,
                     tuple(doc.reject_reasons), frozenset(doc.account_team_statuses))


def _date(b: Builder, text: str, path: Path) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        b.problem(path, f"expected a date like 2026-12-25, got {as_yaml(text)}")
        return date.min


def _time(b: Builder, text: str, path: Path) -> time:
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        b.problem(path, f"expected a time like 09:00, got {as_yaml(text)}")
        return time(0)


def _hours(b: Builder, doc: d.TeamDoc, path: Path) -> BusinessHours:
    try:
        ZoneInfo(doc.time_zone)
        zone = doc.time_zone
    except (ZoneInfoNotFoundError, ValueError):
        b.problem((*path, "time_zone"), f"unknown time zone {as_yaml(doc.time_zone)} (use an "
                  "IANA name such as Europe/Berlin or America/New_York)")
        zone = "UTC"
    start = _time(b, doc.hours.start, (*path, "hours", "start"))
    end = _time(b, doc.hours.end, (*path, "hours", "end"))
    if end <= start:
        b.problem((*path, "hours"), "end must be after start (hours within one day)")
    holidays = frozenset(_date(b, h, (*path, "holidays", i)) for i, h in enumerate(doc.holidays))
    days = frozenset(_DAYS.index(day) for day in doc.hours.days)
    if not days:
        b.problem((*path, "hours", "days"), "name at least one working day")
    return BusinessHours(zone, days, start, end, holidays)


def routing(b: Builder, doc: d.RoutingDoc | None) -> Routing | None:
    if doc is None:
        return None
    teams: dict[str, Team] = {}
    for name, team in doc.teams.items():
        path: Path = ("routing", "teams", name)
        b.unique([m.name for m in team.members], (*path, "members"), "member")
        members = []
        for i, m in enumerate(team.members):
            away = tuple(
                (_date(b, first, (*path, "members", i, "out_of_office", j, 0)),
                 _date(b, last, (*path, "members", i, "out_of_office", j, 1)))
                for j, (first, last) in enumerate(m.out_of_office)
            )
            members.append(Member(m.name, m.weight, m.capacity, away,
                                  frozenset(m.attributes)))
        if not members:
            b.problem((*path, "members"), "a team needs at least one member (or use it as a "
                      "queue with one member named after the queue)")
        teams[name] = Team(name, tuple(members), _hours(b, team, path), team.manager,
                           frozenset(team.attributes))
    known = sorted(teams)

    def check_team(team: str, where: Path) -> None:
        if team not in teams:
            b.problem(where, f'unknown team "{team}"; teams are {", ".join(known)}')

    check_team(doc.fallback, ("routing", "fallback"))
    if doc.account_team is not None:
        check_team(doc.account_team, ("routing", "account_team"))
    b.unique([r.name for r in doc.rules], ("routing", "rules"), "rule")
    rules = []
    for i, r in enumerate(doc.rules):
        check_team(r.team, ("routing", "rules", i, "team"))
        rules.append(RoutingRule(
            r.name, b.condition(r.when, ("routing", "rules", i, "when"), "criteria"), r.team,
            r.description))
    a = doc.account_alerts
    return Routing(teams, tuple(rules), doc.fallback, doc.account_owner_first, doc.account_team,
                   AlertPolicy(a.min_contacts, a.window_days, a.quiet_days))


def sla(b: Builder, docs: list[d.SlaDoc]) -> tuple[SlaRule, ...]:
    b.unique([s.name for s in docs], ("sla",), "SLA")
    out = []
    for i, s in enumerate(docs):
        when = None if s.when is None else b.condition(s.when, ("sla", i, "when"), "criteria")
        out.append(SlaRule(s.name, s.first_touch_hours, when, s.escalate_after_breaches,
                           s.description))
    if docs and docs[-1].when is not None:
        b.problem(("sla", len(docs) - 1), "the last SLA should have no `when`, so every lead "
                  "gets one (e.g. 24 business hours)")
    return tuple(out)
