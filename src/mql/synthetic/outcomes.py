"""What sales did: hand-offs of engaged contacts, dispositions (accepted, recycled or
rejected with a reason, and whether the contact became an SQL), and opportunities with
amount, stage history, created and closed dates, won or lost.

The vendor's current hand-off rule (the "legacy MQL" every synthetic world shares): a
contact at a prospect or competitor account (customers and partners go to their account
manager instead) goes to sales on a demo request or trial signup, or after 8 engaged
touches in 14 days. What sales then does depends on the account's hidden stage and fit,
not on the rule.

>>> accept_and_sql("evaluation", fit=0.8, has_deal=True)
(0.85, 0.85)
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mql.records import Event
from mql.synthetic.draws import chance, pick
from mql.synthetic.firmographics import Company
from mql.synthetic.journeys import WIN_RATE, Deal, Journey
from mql.synthetic.truth import DealChance, HandoffChance

ENGAGED_TYPES = frozenset({"page_view", "content_download", "webinar_attended", "email_click",
                           "form_submit"})  # fmt: skip
HANDOFF_TOUCHES = 8  # engaged touches ...
HANDOFF_DAYS = 14  # ... within this many days send a contact to sales
HAND_RAISES = ("demo_request", "trial_signup")
REHANDOFF_DAYS = 90  # a contact is not sent to sales again sooner than this
AMOUNT_MEDIAN = {"small": 9_000.0, "mid": 32_000.0, "enterprise": 140_000.0}
PRODUCT_PRICE = {"platform": 1.2, "analytics": 1.0, "governance": 0.9}
REJECT_REASONS = {
    "none": {"bad_timing": 0.35, "no_response": 0.45, "no_budget": 0.2},
    "awareness": {"bad_timing": 0.35, "no_response": 0.45, "no_budget": 0.2},
    "consideration": {"no_response": 0.4, "bad_timing": 0.3, "no_budget": 0.3},
    "evaluation": {"no_budget": 0.5, "no_response": 0.5},
    "decision": {"no_budget": 0.5, "no_response": 0.5},
    "customer": {"no_response": 0.7, "bad_timing": 0.3},
    "partner": {"no_response": 0.7, "wrong_fit": 0.3},
}
LINK_BEFORE_DAYS = 60  # an SQL this long before an opportunity opened is part of it


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A deal with an account: amount in USD, stage history as (stage, time) pairs; `status`
    is open, won or lost; `source` is marketing (a marketing SQL started it) or outbound."""

    opportunity_id: str
    account: str
    name: str
    product: str
    amount: float
    created_at: datetime
    closed_at: datetime | None
    status: str
    stage: str
    lost_reason: str | None
    primary_contact: str | None
    source: str
    stage_history: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True, slots=True)
class Disposition:
    """What sales did with a contact handed to them at `handed_at` (`trigger`: demo_request,
    trial_signup or engagement). `status` is sql, recycled (accepted, back to nurture) or
    rejected; `reason` says why for the last two; `opportunity_id` is set when the contact
    is part of an opportunity's pipeline."""

    email: str
    account: str
    handed_at: datetime
    trigger: str
    status: str
    reason: str | None
    accepted: bool
    sql: bool
    disposed_at: datetime
    sql_at: datetime | None
    opportunity_id: str | None


@dataclass(slots=True)
class _Draft:
    email: str
    handed_at: datetime
    trigger: str
    status: str
    reason: str | None
    accepted: bool
    sql: bool
    disposed: datetime
    sql_at: datetime | None
    kind: str = "committee"
    stage: str = "none"
    p_accept: float = 0.0
    p_sql: float = 0.0


def accept_and_sql(stage: str, *, fit: float, has_deal: bool) -> tuple[float, float]:
    """(chance sales accepts, chance an accepted contact becomes an SQL) at a hidden stage."""
    if stage in ("evaluation", "decision"):
        return (0.85, 0.85) if has_deal else (0.6, 0.5)
    table = {"consideration": (0.45, 0.45), "awareness": (0.15, 0.2), "none": (0.08, 0.1),
             "customer": (0.3, 0.1), "partner": (0.1, 0.0)}  # fmt: skip
    accept, sql = table[stage]
    return accept * (0.5 + fit), sql


def _deal_open(deals: Sequence[Deal], week: int) -> bool:
    return any(d.opened <= week and (d.closed is None or week < d.closed) for d in deals)


def handoffs(events: Sequence[Event]) -> list[tuple[str, datetime, str]]:
    """(email, time, trigger) for every hand-off to sales under the legacy rule, in time order.

    `events` must be sorted by time.
    """
    recent: dict[str, list[datetime]] = {}
    last: dict[str, datetime] = {}
    out = []
    window = timedelta(days=HANDOFF_DAYS)
    for event in events:
        email = event.contact
        if email is None:
            continue
        trigger = None
        if event.type in HAND_RAISES:
            trigger = event.type
        elif event.type in ENGAGED_TYPES:
            times = recent.setdefault(email, [])
            times.append(event.at)
            while times and event.at - times[0] > window:
                times.pop(0)
            if len(times) >= HANDOFF_TOUCHES:
                trigger = "engagement"
        if trigger and (email not in last or event.at - last[email] > timedelta(REHANDOFF_DAYS)):
            last[email] = event.at
            recent.pop(email, None)
            out.append((email, event.at, trigger))
    return out


def _business_delay(rng: random.Random, at: datetime, max_days: float) -> datetime:
    return at + timedelta(seconds=int(3600 * (2 + rng.random() * 24 * max_days)))


def outcomes(
    rng: random.Random,
    *,
    company: Company,
    journey: Journey,
    events: Sequence[Event],
    kinds: Mapping[str, str],
    champion: str | None,
    start: datetime,
    end: datetime,
    token: str,
) -> tuple[list[Opportunity], list[Disposition], list[HandoffChance], list[DealChance]]:
    """Opportunities and dispositions of one account, with the chances behind them (the
    ground truth a report's acceptance, MQL->SQL and win rate estimate).

    `kinds` maps each contact email to committee, student, job_seeker, bystander or
    duplicate (a second record of a known person); `champion` is the email sales attaches
    to an opportunity nobody in marketing started.
    """
    week_of = [start + timedelta(weeks=w) for w in range(len(journey.stages) + 1)]
    deals = [d for d in journey.deals if d.opened < len(journey.stages)]
    drafts: list[_Draft] = []
    handed = handoffs(events) if company.status in ("prospect", "competitor") else []
    for email, handed_at, trigger in handed:
        week = min(len(journey.stages) - 1, (handed_at - start).days // 7)
        stage = journey.stages[week]
        disposed = _business_delay(rng, handed_at, 3)
        kind = kinds.get(email, "committee")
        reason: str | None = None
        accepted = sql = False
        p_accept = p_sql = 0.0  # the chances drawn below, for truth/handoffs
        if kind == "duplicate":
            reason = "duplicate"
        elif kind == "student":
            reason = "student"
        elif company.status == "competitor":
            reason = "competitor"
        else:
            accept, sql_given = accept_and_sql(
                stage, fit=company.fit, has_deal=_deal_open(deals, week)
            )
            if kind in ("job_seeker", "bystander"):
                accept *= 0.2
            low_fit = company.fit < 0.15  # rejected as wrong fit 8 times in 10
            p_accept = accept * (0.2 if low_fit else 1.0)
            p_sql = p_accept * sql_given
            if low_fit and chance(rng, 0.8):
                reason = "wrong_fit"
            else:
                accepted = chance(rng, accept)
                sql = accepted and chance(rng, sql_given)
            if not sql and reason is None:
                reason = pick(rng, REJECT_REASONS.get(stage, REJECT_REASONS["none"]))
                if kind == "job_seeker" or (company.fit < 0.3 and chance(rng, 0.5)):
                    reason = "wrong_fit"
        sql_at = (
            min(end - timedelta(seconds=1), _business_delay(rng, disposed, 10)) if sql else None
        )
        status = "sql" if sql else ("recycled" if accepted else "rejected")
        drafts.append(
            _Draft(email, handed_at, trigger, status, reason, accepted, sql, disposed, sql_at,
                   kind, stage, p_accept, p_sql)
        )

    opportunities = []
    deal_chances = []
    linked: dict[int, str] = {}
    for k, deal in enumerate(deals):
        opp_id = f"opp-{token}-{company.index:x}-{k}"
        created = _business_delay(rng, week_of[deal.opened], 4)
        created = min(created, end - timedelta(seconds=1))
        closed = None
        if deal.closed is not None and deal.closed < len(journey.stages):
            closed = min(
                end - timedelta(seconds=1),
                max(created + timedelta(days=1), _business_delay(rng, week_of[deal.closed], 4)),
            )
        # SQL contacts from shortly before the opportunity until it closes are its pipeline
        since = created - timedelta(days=LINK_BEFORE_DAYS)
        members = [
            i
            for i, d in enumerate(drafts)
            if d.sql_at is not None and i not in linked and since <= d.sql_at <= (closed or end)
        ]
        # the first SQL is the opportunity's primary contact: the one its pipeline counts for
        first = members[0] if members else None  # drafts are in time order
        if first is not None:
            linked[first] = opp_id
        primary = drafts[first].email if first is not None else champion
        history = [("discovery", created)]
        demo = created + timedelta(seconds=int(86400 * (7 + rng.random() * 7)))
        if closed is None or demo < closed:
            history.append(("demo", min(demo, end - timedelta(seconds=1))))
        if deal.decision is not None and deal.decision < len(journey.stages):
            proposal = max(history[-1][1], _business_delay(rng, week_of[deal.decision], 3))
            if closed is None or proposal < closed:
                history.append(("proposal", proposal))
                nego = (proposal + ((closed or end) - proposal) / 2).replace(microsecond=0)
                if closed is not None:
                    history.append(("negotiation", nego))
        status = "open" if closed is None else ("won" if deal.won else "lost")
        if closed is not None:
            history.append(("closed_won" if deal.won else "closed_lost", closed))
        p_win = None if closed is None else (
            WIN_RATE[0] + WIN_RATE[1] * company.fit if deal.decision is not None else 0.0)
        deal_chances.append(DealChance(opp_id, company.account.domain, company.fit, status,
                                       p_win))
        amount = AMOUNT_MEDIAN[company.segment] * PRODUCT_PRICE[company.product]
        amount = round(amount * rng.lognormvariate(0.0, 0.5), -2)
        opportunities.append(
            Opportunity(
                opportunity_id=opp_id,
                account=company.account.domain,
                name=f"{company.account.attributes['name']} - {company.product} ({k + 1})",
                product=company.product,
                amount=amount,
                created_at=created,
                closed_at=closed,
                status=status,
                stage=history[-1][0],
                lost_reason=deal.lost_reason if status == "lost" else None,
                primary_contact=primary,
                source="marketing" if first is not None else "outbound",
                stage_history=tuple(history),
            )
        )
    kept = [d for d in drafts if d.disposed < end]
    chances = [
        HandoffChance(d.email, company.account.domain, d.handed_at, d.kind, d.stage,
                      round(d.p_accept, 6), round(d.p_sql, 6))
        for d in kept
    ]
    dispositions = [
        Disposition(
            email=d.email,
            account=company.account.domain,
            handed_at=d.handed_at,
            trigger=d.trigger,
            status=d.status,
            reason=d.reason,
            accepted=d.accepted,
            sql=d.sql,
            disposed_at=d.disposed,
            sql_at=d.sql_at,
            opportunity_id=linked.get(i),
        )
        for i, d in enumerate(drafts)
        if d.disposed < end
    ]
    return opportunities, dispositions, chances, deal_chances
