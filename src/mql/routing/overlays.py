"""Sector overlays (issue 17), the routing gate: a lead whose record matches an overlay
of the model's `consent.overlays` (a defence account: ITAR; a government one: FedRAMP)
goes only to a seller who, or whose team, has every attribute the overlays require;
when nobody the routing could reach has them, the lead is held for compliance instead.

Pure: the caller passes the overlays and the lead's field getter, and `route` takes the
`Requirement`; the data (the account's fields, the sellers' attributes) is the model's
and the store's.

>>> from mql.model.conditions import Compare
>>> from mql.model.consent import Overlay
>>> itar = Overlay("itar", Compare("account.sector", "eq", "defence"), ("us_person",))
>>> need = requirement((itar,), {"account.sector": "defence"}.get)
>>> need.attributes, need.words
(frozenset({'us_person'}), 'itar: needs a seller with us_person')
>>> requirement((itar,), {"account.sector": "retail"}.get) is None
True
>>> qualifies(Member("ana", attributes=frozenset({"us_person"})), None, need.attributes)
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from mql.model.consent import Overlay
from mql.model.handoff import Member, Routing, Team
from mql.scoring.evaluate import Getter, compile_condition


@dataclass(frozen=True, slots=True)
class Requirement:
    """What the overlays a lead matches ask of its seller: every attribute of
    `attributes`; `overlays` are their names (in the model's order)."""

    attributes: frozenset[str]
    overlays: tuple[str, ...]

    @property
    def words(self) -> str:
        return (f"{', '.join(self.overlays)}: needs a seller with "
                f"{', '.join(sorted(self.attributes))}")


def requirement(overlays: Iterable[Overlay], get: Getter) -> Requirement | None:
    """The requirement of the overlays whose `when` the lead matches (None: none does)."""
    matched = [o for o in overlays if compile_condition(o.when)(get)]
    if not matched:
        return None
    return Requirement(frozenset(a for o in matched for a in o.requires),
                       tuple(o.name for o in matched))


def qualifies(member: Member, team: Team | None, attributes: frozenset[str]) -> bool:
    """The seller has every attribute, of its own or of its team."""
    held = member.attributes | (team.attributes if team is not None else frozenset())
    return attributes <= held


def restrict(routing: Routing, attributes: frozenset[str]) -> Routing:
    """The routing with only the sellers who qualify (a team may be left empty)."""
    return dataclasses.replace(routing, teams={
        name: dataclasses.replace(team, members=tuple(
            m for m in team.members if qualifies(m, team, attributes)))
        for name, team in routing.teams.items()})


def qualified_names(routing: Routing, attributes: frozenset[str]) -> frozenset[str]:
    """The sellers, by name, who qualify in some team of `routing`."""
    return frozenset(m.name for team in routing.teams.values() for m in team.members
                     if qualifies(m, team, attributes))
