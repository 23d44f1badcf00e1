"""Routing: the account owner first, customers to their account team, then the first
matching rule's team by weighted round robin, else the fallback queue.

`route` is pure: the caller passes the round-robin state of every team and each member's
open-lead load, and stores the returned state. Each assignment says which rule matched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mql.model.handoff import Routing
from mql.records import Account
from mql.routing.overlays import Requirement, qualified_names, restrict
from mql.routing.round_robin import RoundRobin
from mql.scoring.evaluate import Getter, compile_condition


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who owns the lead: a team (queue) and, when one is chosen, a seller. `held`: no
    seller the routing can reach has what a sector overlay requires (team and owner are
    None; the lead is held for compliance, `reason` says why)."""

    team: str | None
    owner: str | None
    rule: str
    reason: str
    held: bool = False


def route(
    routing: Routing,
    account: Account | None,
    get: Getter,
    robins: Mapping[str, RoundRobin],
    loads: Mapping[str, int],
    at: datetime,
    *,
    account_team_statuses: frozenset[str] = frozenset({"customer", "partner"}),
    requires: Requirement | None = None,
) -> tuple[Assignment, dict[str, RoundRobin]]:
    """The assignment for one qualified lead, and the round-robin states after it.

    `get` answers contact.*, account.*, score.* fields and activity leaves (see
    `Qualifier.criteria_getter`). With `requires` (the sector overlays the lead matches,
    `mql.routing.overlays.requirement`) only the sellers who qualify can get it: an
    account owner who does not is passed over, a team is left with those who do, and
    when neither the team nor the fallback has one the lead is held.
    """
    if requires is None:
        return _route(routing, account, get, dict(robins), loads, at, account_team_statuses,
                      None)
    allowed = qualified_names(routing, requires.attributes)
    a, after = _route(restrict(routing, requires.attributes), account, get, dict(robins),
                      loads, at, account_team_statuses, allowed)
    if a.held:
        return Assignment(None, None, a.rule, f"{a.reason}; {requires.words}, which nobody "
                          "the routing reaches has: held for compliance", held=True), dict(robins)
    return dataclasses.replace(a, reason=f"{a.reason}; {requires.words}"), after


def _route(routing: Routing, account: Account | None, get: Getter,
           robins: dict[str, RoundRobin], loads: Mapping[str, int], at: datetime,
           account_team_statuses: frozenset[str], allowed: frozenset[str] | None
           ) -> tuple[Assignment, dict[str, RoundRobin]]:
    attrs = account.attributes if account is not None else {}
    owner, status = attrs.get("owner"), attrs.get("status")
    passed = ""
    if owner and allowed is not None and str(owner) not in allowed:
        passed, owner = f"; the account owner {owner} lacks it", None
    if status in account_team_statuses:
        reason = f"account is a {status}: its account team, not new business{passed}"
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
            return _pick(routing, rule.team, rule.name, f"matched {rule.when}{passed}", robins,
                         loads, at)
    return _pick(routing, routing.fallback, "fallback", f"no rule matched{passed}", robins,
                 loads, at)


def _pick(routing: Routing, team_name: str, rule: str, reason: str,
          robins: dict[str, RoundRobin], loads: Mapping[str, int],
          at: datetime) -> tuple[Assignment, dict[str, RoundRobin]]:
    team = routing.teams[team_name]
    fallback = routing.teams[routing.fallback]
    if not team.members and not fallback.members:  # only under an overlay (`restrict`)
        where = team_name if team_name == routing.fallback else \
            f"{team_name} nor {routing.fallback}"
        return Assignment(None, None, rule, f"{reason}; nobody in {where} qualifies",
                          held=True), robins
    member, robins[team_name] = robins.get(team_name, RoundRobin()).pick(
        team.members, loads, at.astimezone(team.hours.zone).date())
    if member is None:
        if team_name != routing.fallback and not fallback.members:
            # under an overlay, a fallback nobody in qualifies: the team's queue waits
            # for its own (qualified) sellers
            return Assignment(team_name, None, rule, f"{reason}; everyone in {team_name} "
                              "is away or full: queued"), robins
        if team_name != routing.fallback:
            member, robins[routing.fallback] = robins.get(routing.fallback, RoundRobin()).pick(
                fallback.members, loads, at.astimezone(fallback.hours.zone).date())
            why = "is away or full" if team.members else "qualifies"
            who = "everyone" if team.members else "nobody"
            return Assignment(routing.fallback, member, rule,
                              f"{reason}; {who} in {team_name} {why}"), robins
        return Assignment(team_name, None, rule, f"{reason}; nobody available: queued"), robins
    return Assignment(team_name, member, rule, reason), robins
