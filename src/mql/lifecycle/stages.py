"""Lifecycle stages and the transitions allowed between them, as data.

A move that is not in the table is refused with `TransitionRefused`, saying why; it is
never silently ignored.

>>> allowed(Stage.MQL, Stage.SAL)
True
>>> check(Stage.NURTURE, Stage.SQL)
Traceback (most recent call last):
...
mql.errors.TransitionRefused: nurture -> sql is not allowed; from nurture a contact may go to mql, pql, disqualified, customer
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mql.errors import TransitionRefused


class Stage(StrEnum):
    CAPTURED = "captured"
    NURTURE = "nurture"
    MQL = "mql"
    PQL = "pql"
    SAL = "sal"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    CLOSED_LOST = "closed_lost"
    RECYCLED = "recycled"
    DISQUALIFIED = "disqualified"


class Cause(StrEnum):
    """Why a transition happened (stored with every transition)."""

    THRESHOLD = "threshold"
    CRITERIA = "criteria"
    FAST_TRACK = "fast_track"
    PRODUCT = "product"  # PQL milestones
    DECAY = "decay"  # the score fell under the exit line
    TIMEOUT = "timeout"  # not accepted within the model's recycle_after_days
    DISQUALIFICATION = "disqualification"
    SALES_ACTION = "sales_action"
    MODEL_CHANGE = "model_change"
    CAPTURE = "capture"
    IMPORT = "import"  # the starting stage of a contact imported from a CRM
    EXIT_CONDITION = "exit_condition"  # an exit.when rule of the model holds


S = Stage
_ALLOWED: dict[Stage, tuple[Stage, ...]] = {
    S.CAPTURED: (S.NURTURE, S.MQL, S.PQL, S.DISQUALIFIED, S.CUSTOMER),
    S.NURTURE: (S.MQL, S.PQL, S.DISQUALIFIED, S.CUSTOMER),
    S.RECYCLED: (S.NURTURE, S.MQL, S.PQL, S.DISQUALIFIED, S.CUSTOMER),
    S.MQL: (S.SAL, S.NURTURE, S.RECYCLED, S.DISQUALIFIED, S.PQL),
    S.PQL: (S.SAL, S.NURTURE, S.RECYCLED, S.DISQUALIFIED),
    S.SAL: (S.SQL, S.RECYCLED, S.DISQUALIFIED),
    S.SQL: (S.OPPORTUNITY, S.RECYCLED, S.CLOSED_LOST, S.DISQUALIFIED),
    S.OPPORTUNITY: (S.CUSTOMER, S.CLOSED_LOST),
    S.CLOSED_LOST: (S.NURTURE, S.RECYCLED),
    S.CUSTOMER: (),
    S.DISQUALIFIED: (S.NURTURE,),
}
# stages from which the MQL definition may qualify a contact
OPEN_STAGES = frozenset({S.CAPTURED, S.NURTURE, S.RECYCLED})
# stages sales owns: decay and timeouts no longer move the contact
SALES_STAGES = frozenset({S.SAL, S.SQL, S.OPPORTUNITY, S.CUSTOMER, S.CLOSED_LOST})


def allowed(source: Stage, target: Stage) -> bool:
    return target in _ALLOWED[source]


def check(source: Stage, target: Stage) -> None:
    """Raise `TransitionRefused` unless `source -> target` is in the table."""
    if not allowed(source, target):
        options = ", ".join(s.value for s in _ALLOWED[source]) or "nowhere (final stage)"
        raise TransitionRefused(
            f"{source.value} -> {target.value} is not allowed; from {source.value} a contact "
            f"may go to {options}",
            reason="not_allowed",
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """One move, with what caused it, who did it, under which model version and why."""

    contact: str
    source: Stage
    target: Stage
    at: datetime
    cause: Cause
    actor: str = "mql"
    model_version: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        check(self.source, self.target)

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (f"{self.at:%Y-%m-%d %H:%M} {self.source.value} -> {self.target.value} "
                f"by {self.actor}: {self.cause.value}{why}")
