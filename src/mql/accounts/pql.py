"""PQL: a contact is a product-qualified lead when its product score (an intent-kind score
of the model over product-usage events, e.g. `scores.product`) is at least the model's
line, or when it reaches a milestone ("3 teammates invited within 14 days of signup");
an account is a PQL when one of its contacts is. `Milestones` is the streaming form: it
folds a contact's events one at a time, in O(count) per event.

>>> from datetime import UTC, datetime, timedelta
>>> from mql.model.mqa import Milestone
>>> from mql.records import Event
>>> t = datetime(2026, 3, 2, tzinfo=UTC)
>>> m = Milestone("team", "teammate_invited", count=3, within_days=14, after="signed_up")
>>> ev = [Event("s", "signed_up", t, contact="a@x.example")] + [
...     Event(f"i{d}", "teammate_invited", t + timedelta(days=d), contact="a@x.example")
...     for d in (1, 5, 13, 20)]
>>> reached(m, ev)  # the third invite, 13 days after signup
datetime.datetime(2026, 3, 15, 0, 0, tzinfo=datetime.timezone.utc)
>>> reached(m, ev[:3] + ev[4:])  # the third invite comes 20 days after: too late
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mql.model.mqa import Milestone, PqlSpec
from mql.model.spec import Model
from mql.records import Event
from mql.scoring.intent import IntentState, intent_value


def _matches(m: Milestone, event: Event) -> bool:
    if event.type != m.event:
        return False
    return m.milestone is None or str(event.properties.get("milestone")) == m.milestone


@dataclass(slots=True)
class _Progress:
    start: datetime | None = None
    times: list[datetime] = field(default_factory=list)
    reached: datetime | None = None


class Milestones:
    """Streaming milestone progress per contact; events in time order per contact."""

    def __init__(self, spec: PqlSpec) -> None:
        self.spec = spec
        self.progress: dict[tuple[str, str], _Progress] = {}

    def add(self, event: Event) -> list[tuple[str, datetime]]:
        """Fold one event of a contact; the milestones it completes now, (name, time)."""
        if event.contact is None:
            return []
        done = []
        for m in self.spec.milestones:
            if event.type != m.after and not _matches(m, event):
                continue
            p = self.progress.setdefault((event.contact, m.name), _Progress())
            if p.reached is not None:
                continue
            if m.after is not None and event.type == m.after and p.start is None:
                p.start = event.at
            if not _matches(m, event):
                continue
            if m.after is not None and p.start is None:
                continue
            if p.start is None:
                p.start = event.at
            if m.within_days is not None and event.at - p.start > timedelta(
                    days=m.within_days):
                continue
            p.times.append(event.at)
            if len(p.times) >= m.count:
                p.reached = event.at
                done.append((m.name, event.at))
        return done

    def reached(self, contact: str) -> dict[str, datetime]:
        """The milestones the contact has reached, with when."""
        return {m.name: p.reached for m in self.spec.milestones
                if (p := self.progress.get((contact, m.name))) is not None
                and p.reached is not None}


def reached(m: Milestone, events: Iterable[Event]) -> datetime | None:
    """When one contact's events (any order) first complete the milestone (None: never)."""
    spec = PqlSpec(milestones=(m,))
    book = Milestones(spec)
    for e in sorted(events, key=lambda e: (e.at, e.event_id)):
        for _name, at in book.add(e):
            return at
    return None


def is_pql(spec: PqlSpec, product: float | None, milestones: dict[str, datetime]
           ) -> tuple[bool, str]:
    """Whether a contact is a PQL from its product score (None: the model has none) and
    the milestones it reached; the reason in words."""
    if milestones:
        name = min(milestones, key=lambda n: (milestones[n], n))
        return True, f"milestone {name}"
    if spec.min is not None and product is not None and product >= spec.min:
        return True, f"product score {product:g} (line {spec.min:g})"
    if spec.min is not None and product is not None:
        return False, f"product score {product:g} (line {spec.min:g}); no milestone reached"
    return False, "no milestone reached"


def account_product(model: Model, score: str, states: dict[str, IntentState], at: datetime
                    ) -> tuple[float, dict[str, float]]:
    """An account's product usage at `at`: the sum of its contacts' product scores (each
    from the contact's own state, decayed exactly as the score says, never below 0) and
    each contact's part, for the contacts with product activity."""
    empty = IntentState.empty()
    parts = {email: max(0.0, intent_value(model.scores[score], state, empty, at))
             for email, state in states.items()}
    parts = {e: v for e, v in parts.items() if v > 0}
    return sum(parts.values()), parts
