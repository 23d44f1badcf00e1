"""Routing: the account owner first, customers to their account team, then the first
matching rule's team by weighted round robin, else the fallback queue.

`route` is pure: the caller passes the round-robin state of every team and each member's
open-lead load, and stores the returned state. Each assignment says which rule matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mql.model.handoff import Routing
from mql.records import Account
from mql.routing.round_robin import RoundRobin
from mql.scoring.evaluate import Getter, compile_condition


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who owns the lead: a team (queue) and, when one is chosen, a seller."""

    team: str | None
    owner: str | None
    rule: str
    reason: str


def route(
    routing: Routing,
    account: Account | None,
    get: Getter,
    robins: Mapping[str, RoundRobin],
    loads: Mapping[str, int],
    at: datetime,
    *,
    account_team_statuses: frozenset[str] = frozenset({"customer", "partner"}),
) -> tuple[Assignment, dict[str, RoundRobin]]:
    """The assignment for one qualified lead, and the round-robin states after it.

    `get` answers contact.*, account.*, score.* fields and activity leaves (see
    `Qualifier.criteria_getter`).
    """
    robins = dict(robins)
    attrs = account.attributes if account is not None else {}
    owner, status = attrs.get("owner"), attrs.get("status")
    if status in account_team_statuses:
        reason = f"account is a {status}: its account team, not new business"
        if owner:
            return Assignment(routing.account_team, str(owner), "account_team", reason), robins
        if routing.account_team is not None:
            return _pick(routing, routing.account_team, "account_team", reason, robins, loads,
                         at)
    if routing.account_owner_first and owner:
        return Assignment(None, str(owner), "account_owner",
                          "the account already has an owner"), robins
    for rule in routing.rules:
        if compile_condition(rule.when)(get):
            return _pick(routing, rule.team, rule.name, f"matched {rule.when}", robins, loads, at)
    return _pick(routing, routing.fallback, "fallback", "no rule matched", robins, loads, at)


def _pick(routing: Routing, team_name: str, rule: str, reason: str,
          robins: dict[str, RoundRobin], loads: Mapping[str, int],
          at: datetime) -> tuple[Assignment, dict[str, RoundRobin]]:
    team = routing.teams[team_name]
    member, robins[team_name] = robins.get(team_name, RoundRobin()).pick(
        team.members, loads, at.astimezone(team.hours.zone).date())
    if member is None:
        if team_name != routing.fallback:
            fallback = routing.teams[routing.fallback]
            member, robins[routing.fallback] = robins.get(routing.fallback, RoundRobin()).pick(
                fallback.members, loads, at.astimezone(fallback.hours.zone).date())
            return Assignment(routing.fallback, member, rule,
                              f"{reason}; everyone in {team_name} is away or full"), robins
        return Assignment(team_name, None, rule, f"{reason}; nobody available: queued"), robins
    return Assignment(team_name, member, rule, reason), robins
