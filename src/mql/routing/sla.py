"""SLAs for first touch, counted in the owning team's business hours.

>>> from datetime import datetime, time, timezone
>>> from mql.model.handoff import BusinessHours, SlaRule
>>> utc9to5 = BusinessHours("UTC", frozenset(range(5)), time(9), time(17))
>>> start = datetime(2026, 3, 2, 16, tzinfo=timezone.utc)  # Monday 16:00
>>> clock = SlaClock.start(SlaRule("default", 4), start, utc9to5)
>>> clock.due_at.isoformat()
'2026-03-03T12:00:00+00:00'
>>> clock.state(at=datetime(2026, 3, 3, 13, tzinfo=timezone.utc))
'breached'
>>> clock.state(at=datetime(2026, 3, 3, 13, tzinfo=timezone.utc),
...             touched_at=datetime(2026, 3, 3, 10, tzinfo=timezone.utc))
'met'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mql.model.handoff import BusinessHours, SlaRule
from mql.routing.calendar import add_business_hours, business_hours_between
from mql.scoring.evaluate import Getter, compile_condition

SlaState = Literal["pending", "met", "breached"]


def sla_for(rules: Sequence[SlaRule], get: Getter) -> SlaRule | None:
    """The first SLA rule whose condition holds (a rule without `when` always holds)."""
    for rule in rules:
        if rule.when is None or compile_condition(rule.when)(get):
            return rule
    return None


@dataclass(frozen=True, slots=True)
class SlaClock:
    """A first-touch deadline started at the MQL moment."""

    rule: SlaRule
    started_at: datetime
    due_at: datetime
    calendar: BusinessHours

    @classmethod
    def start(cls, rule: SlaRule, at: datetime, calendar: BusinessHours) -> SlaClock:
        return cls(rule, at, add_business_hours(at, rule.first_touch_hours, calendar), calendar)

    def state(self, *, at: datetime, touched_at: datetime | None = None) -> SlaState:
        """met (touched by the deadline), breached (not touched by it), or pending."""
        if touched_at is not None and touched_at <= self.due_at:
            return "met"
        return "breached" if at >= self.due_at or touched_at is not None else "pending"

    def speed_to_lead(self, touched_at: datetime) -> float:
        """Business hours from the MQL moment to the first touch."""
        return business_hours_between(self.started_at, touched_at, self.calendar)
