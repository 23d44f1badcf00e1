"""The account lifecycle, separate from the contact lifecycle: target -> aware -> engaged
-> mqa -> opportunity -> customer, kept as a history of moves with reasons, and refusals
in words (a move back, a move into the past, a move to the stage it is in).

The history is a value: `move` returns a new one (or the same one and the refusal), and
`stage_at(t)` answers for any past moment from the moves up to `t`, so an answer about
the past does not change when later moves are recorded. An account may go back only when
an opportunity is lost (to engaged) or a customer churns (to target).

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2026, 3, 2, tzinfo=UTC)
>>> h = AccountHistory("acme.example")
>>> h, _ = h.move("aware", t, "first touch")
>>> h, _ = h.move("mqa", t + timedelta(days=9), "account score 72 (line 60)")
>>> h, no = h.move("engaged", t + timedelta(days=10), "engaged contacts")
>>> no[:52]
'acme.example is mqa; it cannot go back to engaged (o'
>>> h.stage_at(t + timedelta(days=5)), h.stage
('aware', 'mqa')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

ACCOUNT_STAGES: tuple[str, ...] = ("target", "aware", "engaged", "mqa", "opportunity",
                                   "customer")  # fmt: skip
_BACK = {("opportunity", "engaged"), ("customer", "target")}


@dataclass(frozen=True, slots=True)
class Move:
    stage: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class AccountHistory:
    """An account's moves in time order; before the first it is a target."""

    domain: str
    moves: tuple[Move, ...] = ()

    @property
    def stage(self) -> str:
        return self.moves[-1].stage if self.moves else "target"

    def stage_at(self, at: datetime) -> str:
        """The stage at `at` from the moves up to `at`."""
        stage = "target"
        for m in self.moves:
            if m.at > at:
                break
            stage = m.stage
        return stage

    def refusal(self, stage: str, at: datetime) -> str | None:
        """Why the account cannot move to `stage` at `at` (None: it can)."""
        if stage not in ACCOUNT_STAGES:
            return f"unknown account stage {stage!r}; stages are {', '.join(ACCOUNT_STAGES)}"
        if self.moves and at < self.moves[-1].at:
            return (f"{self.domain} moved to {self.stage} at {self.moves[-1].at.isoformat()}; "
                    "the past does not change (a move is at or after the last one)")
        now = self.stage
        if stage == now:
            return f"{self.domain} is {now} already"
        if ACCOUNT_STAGES.index(stage) < ACCOUNT_STAGES.index(now) and (now, stage) not in _BACK:
            return (f"{self.domain} is {now}; it cannot go back to {stage} (only a lost "
                    "opportunity goes back to engaged, a churned customer to target)")
        return None

    def move(self, stage: str, at: datetime, reason: str) -> tuple[AccountHistory, str | None]:
        """The history with the move added, or unchanged and the refusal."""
        why = self.refusal(stage, at)
        if why is not None:
            return self, why
        return replace(self, moves=(*self.moves, Move(stage, at, reason))), None

    def advance(self, stage: str, at: datetime, reason: str) -> AccountHistory:
        """Move forward to `stage` when it is ahead of the current one; otherwise keep the
        history as is (for facts that arrive in order: engaged, then MQA ...)."""
        if ACCOUNT_STAGES.index(stage) <= ACCOUNT_STAGES.index(self.stage):
            return self
        return self.move(stage, at, reason)[0]


def history_from_facts(domain: str, at: datetime, *, first_touch: datetime | None,
                       engaged: bool, mqas: list[tuple[datetime, str]],
                       opportunities: list[tuple[datetime, datetime | None, str]],
                       mqa_now: str | None = None,
                       moves: Sequence[tuple[datetime, str, str]] = ()) -> AccountHistory:
    """The account's lifecycle at `at` from the facts up to `at`: its first touch (aware),
    its recorded MQA hand-offs (time, reason), its opportunities (opened, closed, status:
    open, won or lost; a lost one goes back to engaged, a won one makes a customer),
    whether it is engaged now and, `mqa_now`, the reason it is an MQA now; `moves`, the
    account's stored moves (time, stage, reason: aware, engaged, mqa as ingestion saw
    them). Facts after `at` are not read, and "engaged now" and `mqa_now` only count when
    no stored move says so already, so the answer about a past moment does not change.

    >>> from datetime import UTC, datetime, timedelta
    >>> t = datetime(2026, 3, 2, tzinfo=UTC)
    >>> stored = [(t, "aware", "first touch"), (t + timedelta(days=2), "engaged", "x")]
    >>> h = history_from_facts("a.example", t + timedelta(days=9), first_touch=t,
    ...                        engaged=True, mqas=[], opportunities=[], moves=stored)
    >>> [(m.stage, m.at.day) for m in h.moves]
    [('aware', 2), ('engaged', 4)]
    """
    facts: list[tuple[datetime, int, str, str]] = []
    order = {"aware": 0, "engaged": 1, "mqa": 2, "opportunity": 3, "customer": 4}
    facts += [(t, order.get(stage, 1), stage, why) for t, stage, why in moves
              if t <= at and stage in order]
    if first_touch is not None and first_touch <= at:
        facts.append((first_touch, 0, "aware", "first touch"))
    facts += [(t, 2, "mqa", why) for t, why in mqas if t <= at]
    for opened, closed, status in opportunities:
        if opened <= at:
            facts.append((opened, 3, "opportunity", "opportunity created"))
        if closed is not None and closed <= at and status in ("won", "lost"):
            facts.append((closed, 4, "customer" if status == "won" else "engaged",
                          f"opportunity {status}"))
    h = AccountHistory(domain)
    for t, _, stage, why in sorted(facts):
        if why == "opportunity lost" and h.stage == "opportunity":
            h = h.move(stage, t, why)[0]
        else:
            h = h.advance(stage, t, why)
    if engaged:
        h = h.advance("engaged", at, "engaged contacts now")
    if mqa_now is not None:
        h = h.advance("mqa", at, mqa_now)
    return h
