"""Which move the model makes next for a contact, and when it is due.

Entry is the MQL definition; exit is the model's exit rule (once no path qualifies the
contact and the decayed score is under its line, computed in closed form), a timeout
without acceptance, or a disqualification rule. Sales actions (accept, reject with a
reason, convert) are separate functions. `fresh_since` says which of a contact's own
events count at a time under `requalify: fresh_intent`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta

from mql.errors import TransitionRefused
from mql.lifecycle.stages import OPEN_STAGES, Cause, Stage, Transition
from mql.model.spec import Model
from mql.scoring.qualify import Decision

_CAUSES = {"thresholds": Cause.THRESHOLD, "criteria": Cause.CRITERIA,
           "fast_track": Cause.FAST_TRACK}


def _exits(model: Model, decision: Decision) -> bool:
    """Whether an unaccepted MQL leaves now: once no path qualifies it any more and, with
    an exit rule, once a score is also under its exit line (the exit line is hysteresis,
    never a reason to drop a lead that still qualifies: a lead that qualified by criteria
    or fast track with little intent stays until that path ends, so it cannot flap)."""
    if decision.mql:
        return False
    if model.exit_below:
        return any(decision.scores[name] < low for name, low in model.exit_below)
    return True


def next_move(model: Model, stage: Stage, since: datetime, decision: Decision,
              *, model_version: str | None = None) -> Transition | None:
    """The transition the model makes now (at `decision.as_of`), or None.

    `since` is when the contact entered `stage`. Contacts in sales' hands (SAL and later)
    are never moved by the model.

    >>> from datetime import timezone
    >>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> from mql.scoring.qualify import Reason
    >>> d = Decision("jo@acme.example", t, {"fit": 60, "intent": 40, "total": 100}, "A2",
    ...              True, (Reason("fast_track", "demo_request", "demo at ..."),))
    >>> from mql.model.spec import MqlDefinition
    >>> str(next_move(Model("m", {}, MqlDefinition()), Stage.NURTURE, t, d))
    '2026-03-02 00:00 nurture -> mql by mql: fast_track (demo_request)'
    """
    at = decision.as_of
    life = model.lifecycle

    def move(target: Stage, cause: Cause, reason: str | None) -> Transition:
        return Transition(decision.contact, stage, target, at, cause, "mql", model_version,
                          reason)

    if decision.disqualified_by and stage in OPEN_STAGES | {Stage.MQL, Stage.PQL}:
        return move(Stage.DISQUALIFIED, Cause.DISQUALIFICATION, ", ".join(decision.disqualified_by))
    if stage in OPEN_STAGES and decision.mql:
        first = decision.reasons[0]
        return move(Stage.MQL, _CAUSES[first.kind], first.name)
    if stage is Stage.MQL:
        if decision.exits:  # an exit on a condition: at once, with the rule's reason
            rule = next(r for r in model.exit_when if r.name == decision.exits[0])
            return move(Stage(rule.to), Cause.EXIT_CONDITION, rule.reason)
        if _exits(model, decision):
            below = ", ".join(f"{n} < {v:g}" for n, v in model.exit_below) or "no longer qualifies"
            return move(Stage.NURTURE, Cause.DECAY, below)
        if life.recycle_after_days is not None and at >= since + timedelta(
                days=life.recycle_after_days):
            return move(Stage.RECYCLED, Cause.TIMEOUT,
                        f"not accepted within {life.recycle_after_days:g} days")
    return None


def due_at(model: Model, stage: Stage, since: datetime, decision: Decision) -> datetime | None:
    """When the model's next time-based move for this contact is due (None: none).

    An MQL leaves on the earlier of its exit (the later of the moment it stops
    qualifying and its exit crossing, see `next_move`) and its acceptance timeout; the
    worker schedules exactly this moment instead of polling every contact.
    """
    if stage is not Stage.MQL:
        return None
    stops = decision.qualified_until if decision.mql else decision.as_of
    exit_at = decision.exit_at if model.exit_below else stops
    times = [None if stops is None or exit_at is None else max(stops, exit_at)]
    if model.lifecycle.recycle_after_days is not None:
        times.append(since + timedelta(days=model.lifecycle.recycle_after_days))
    found = [t for t in times if t is not None]
    return min(found) if found else None


def fresh_since(resets: Sequence[datetime], at: datetime | None = None) -> datetime | None:
    """The latest of a contact's intent resets at or before `at` (`at` None: the latest of
    all); None when there is none. Under `requalify: fresh_intent` a recycle or rejection
    is a reset: at any later time only the contact's own events after it count.

    >>> from datetime import timezone
    >>> t = [datetime(2026, 3, d, tzinfo=timezone.utc) for d in (2, 9)]
    >>> fresh_since(t, datetime(2026, 3, 5, tzinfo=timezone.utc)).day, fresh_since(t).day
    (2, 9)
    >>> fresh_since(t, datetime(2026, 3, 1, tzinfo=timezone.utc)) is None
    True
    """
    if at is None:
        return max(resets) if resets else None
    ordered = sorted(resets)
    i = bisect.bisect_right(ordered, at)
    return ordered[i - 1] if i else None


def counts_after(event_at: datetime, since: datetime | None) -> bool:
    """Whether a contact's own event at `event_at` counts after the reset `since`."""
    return since is None or event_at > since


def accept(contact: str, stage: Stage, at: datetime, actor: str) -> Transition:
    """Sales accepts the lead: MQL or PQL -> SAL."""
    return Transition(contact, stage, Stage.SAL, at, Cause.SALES_ACTION, actor, reason="accepted")


def reject(model: Model, contact: str, stage: Stage, at: datetime, actor: str,
           reason: str) -> Transition:
    """Sales rejects the lead with one of the model's reject reasons: back to nurture as
    recycled (or disqualified for a competitor or a student)."""
    reasons = model.lifecycle.reject_reasons
    if reason not in reasons:
        raise TransitionRefused(
            f"unknown reject reason {reason!r}; choose one of {', '.join(reasons)}",
            reason="unknown_reason")
    target = Stage.DISQUALIFIED if reason in ("competitor", "student") else Stage.RECYCLED
    return Transition(contact, stage, target, at, Cause.SALES_ACTION, actor, reason=reason)


_NEXT = {Stage.SAL: Stage.SQL, Stage.SQL: Stage.OPPORTUNITY, Stage.OPPORTUNITY: Stage.CUSTOMER}


def convert(contact: str, stage: Stage, at: datetime, actor: str,
            reason: str | None = None) -> Transition:
    """Sales moves the lead one step down the funnel: SAL -> SQL -> opportunity -> customer."""
    if stage not in _NEXT:
        raise TransitionRefused(
            f"cannot convert a contact in {stage.value}; accept it first (SAL)",
            reason="not_accepted")
    return Transition(contact, stage, _NEXT[stage], at, Cause.SALES_ACTION, actor, reason=reason)
