"""The hidden buying intent of an account, week by week.

A prospect sits in `none` until something starts a buying journey, then moves through
awareness → consideration → evaluation → decision, or drops back to `none`. Entering
evaluation opens an opportunity when sales accepts the account (more likely at good fit);
decision ends with a win (the account becomes `customer`) or a loss, after which
engagement fades and a new journey is unlikely for half a year. Customers, partners and
competitors keep their own steady behaviour.

>>> import random
>>> j = journey(random.Random(4), fit=0.9, status="prospect", weeks=52)
>>> len(j.stages)
52
>>> set(j.stages) <= set(STAGES)
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mql.synthetic.draws import chance, pick

STAGES = ("none", "awareness", "consideration", "evaluation", "decision", "customer",
          "partner", "competitor")  # fmt: skip
BUYING_STAGES = ("awareness", "consideration", "evaluation", "decision")

START_HAZARD = 0.008  # weekly chance a prospect starts a journey, times (0.15 + 1.85 fit^2)
COOLDOWN_WEEKS = 26  # after a lost deal ...
COOLDOWN_FACTOR = 0.2  # ... the start hazard is this much smaller
FADE_HALF_LIFE_WEEKS = 3.0  # engagement left over after a lost deal halves this fast
# initial state: share of prospects already in a journey at the start, 0.1 + 0.3 fit
INITIAL_IN_MARKET = (0.1, 0.3)
INITIAL_STAGE = {"awareness": 0.6, "consideration": 0.4}
# weekly moves: (advance base, advance per unit of fit, drop back to none)
ADVANCE = {
    "awareness": (0.05, 0.10, 0.05),
    "consideration": (0.03, 0.08, 0.05),
    "evaluation": (0.15, 0.0, 0.05),  # with an opportunity; without one it drops at 0.15
    "decision": (0.25, 0.0, 0.0),  # weekly chance the decision is made
}
UNQUALIFIED_DROP = 0.15
OPPORTUNITY_ACCEPT = (0.2, 0.4)  # sales opens an opportunity: 0.2 + 0.4 fit
WIN_RATE = (0.2, 0.4)  # a decision is a win: 0.2 + 0.4 fit


@dataclass(frozen=True, slots=True)
class Deal:
    """An opportunity in weeks: opened, reached decision (or not), closed (or still open)."""

    opened: int
    decision: int | None
    closed: int | None
    won: bool | None
    lost_reason: str | None


@dataclass(frozen=True, slots=True)
class Journey:
    """An account's hidden path: its stage each week, the leftover engagement after a lost
    deal each week (0-1), and its deals."""

    stages: tuple[str, ...]
    fade: tuple[float, ...]
    deals: tuple[Deal, ...]

    def changes(self) -> list[tuple[int, str]]:
        """(week, stage) for the first week and every week the stage changes.

        >>> Journey(("none", "none", "awareness"), (0.0,) * 3, ()).changes()
        [(0, 'none'), (2, 'awareness')]
        """
        out = []
        previous = None
        for week, stage in enumerate(self.stages):
            if stage != previous:
                out.append((week, stage))
                previous = stage
        return out


def journey(rng: random.Random, *, fit: float, status: str, weeks: int,
            accept: float | None = None) -> Journey:
    """The week-by-week stages of one account over `weeks` weeks. `accept`, when given,
    replaces the chance sales open an opportunity on entering evaluation (0.2 + 0.4 fit):
    the known channel effects of `mql.synthetic.channel_effects`."""
    if status != "prospect":
        return Journey((status,) * weeks, (0.0,) * weeks, ())
    stage = "none"
    low, per_fit = INITIAL_IN_MARKET
    if chance(rng, low + per_fit * fit):
        stage = pick(rng, INITIAL_STAGE)
    stages: list[str] = []
    fade: list[float] = []
    deals: list[Deal] = []
    open_deal: tuple[int, int | None] | None = None  # (opened, decision week)
    cooldown_until = -1
    last_loss = None
    for week in range(weeks):
        stages.append(stage)
        fade.append(
            0.0 if last_loss is None else 0.5 ** ((week - last_loss) / FADE_HALF_LIFE_WEEKS)
        )
        if stage == "customer":
            continue
        next_stage = stage
        if stage == "none":
            hazard = START_HAZARD * (0.15 + 1.85 * fit * fit)
            if week < cooldown_until:
                hazard *= COOLDOWN_FACTOR
            if chance(rng, hazard):
                next_stage = "awareness"
        elif stage in ("awareness", "consideration"):
            base, per_fit, drop = ADVANCE[stage]
            roll = rng.random()
            if roll < base + per_fit * fit:
                next_stage = BUYING_STAGES[BUYING_STAGES.index(stage) + 1]
            elif roll < base + per_fit * fit + drop:
                next_stage = "none"
            if next_stage == "evaluation":
                accept_base, accept_fit = OPPORTUNITY_ACCEPT
                p_open = accept_base + accept_fit * fit if accept is None else accept
                if chance(rng, p_open):
                    open_deal = (week + 1, None)
        elif stage == "evaluation":
            if open_deal is None:
                if chance(rng, UNQUALIFIED_DROP):
                    next_stage = "none"
            else:
                advance, _, drop = ADVANCE["evaluation"]
                roll = rng.random()
                if roll < advance:
                    next_stage = "decision"
                    open_deal = (open_deal[0], week + 1)
                elif roll < advance + drop:
                    next_stage = "none"
                    deals.append(Deal(open_deal[0], None, week + 1, False, "no_decision"))
                    open_deal, last_loss, cooldown_until = None, week + 1, week + 1 + COOLDOWN_WEEKS
        elif stage == "decision" and open_deal is not None and chance(rng, ADVANCE["decision"][0]):
            win_base, win_fit = WIN_RATE
            won = chance(rng, win_base + win_fit * fit)
            reason = None if won else pick(rng, {"competitor": 0.4, "price": 0.3, "timing": 0.3})
            deals.append(Deal(open_deal[0], open_deal[1], week + 1, won, reason))
            open_deal = None
            if won:
                next_stage = "customer"
            else:
                next_stage, last_loss = "none", week + 1
                cooldown_until = week + 1 + COOLDOWN_WEEKS
        stage = next_stage
    if open_deal is not None:
        deals.append(Deal(open_deal[0], open_deal[1], None, None, None))
    return Journey(tuple(stages), tuple(fade), tuple(deals))
