"""Weighted round robin with capacity limits and out-of-office, as a value.

Smooth weighted round robin: every eligible member gains its weight, the member with the
most credit is chosen and pays the total. Over any window, shares follow the weights and
no member gets two in a row unless its weight says so.

>>> from datetime import date
>>> from mql.model.handoff import Member
>>> team = (Member("ana", weight=2), Member("ben"))
>>> rr, picks = RoundRobin(), []
>>> for _ in range(6):
...     name, rr = rr.pick(team, {}, date(2026, 3, 2))
...     picks.append(name)
>>> picks
['ana', 'ben', 'ana', 'ana', 'ben', 'ana']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from mql.model.handoff import Member


@dataclass(frozen=True, slots=True)
class RoundRobin:
    """Each member's current credit; `pick` returns the chosen name and the next state."""

    credit: Mapping[str, int] = field(default_factory=dict)

    def pick(
        self, members: Sequence[Member], loads: Mapping[str, int], day: date
    ) -> tuple[str | None, RoundRobin]:
        """The next member who is in on `day` and under capacity (None: nobody is)."""
        eligible = [
            m for m in members
            if not m.is_away(day) and (m.capacity is None or loads.get(m.name, 0) < m.capacity)
        ]
        if not eligible:
            return None, self
        credit = dict(self.credit)
        for m in eligible:
            credit[m.name] = credit.get(m.name, 0) + m.weight
        chosen = max(eligible, key=lambda m: credit[m.name])  # first listed wins ties
        credit[chosen.name] -= sum(m.weight for m in eligible)
        return chosen.name, RoundRobin(credit)
