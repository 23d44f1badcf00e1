"""Ground truth, written apart from the data: each account's hidden intent path, each
duplicate cluster and each deliberately malformed row, so identity resolution, scoring
calibration and ingestion can be measured against what really happened.

>>> from datetime import UTC, datetime
>>> m = DuplicateMember("dup-1", "contact", "Jane@Acme.example", "jane@acme.example", "case")
>>> m.member.lower() == m.canonical
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccountTruth:
    """What the world knows about an account and no file shows.

    `fit` is the hidden ICP match (0-1); `path` the hidden stages as (stage, since) pairs;
    `committee_size` counts the buying committee, `people` everyone at the account the
    world made, `contacts` those who became contacts; `missing_fields` lists the
    firmographics blanked by `--dirty`.
    """

    domain: str
    fit: float
    segment: str
    product: str
    buying_department: str
    committee_size: int
    people: int
    contacts: int
    initial_stage: str
    final_stage: str
    in_market_weeks: int
    opportunities: int
    won: bool
    missing_fields: tuple[str, ...]
    path: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True, slots=True)
class DuplicateMember:
    """One member of a duplicate cluster.

    `kind` is contact (one person under several emails), event_same_id (one event sent
    twice with its id) or event_new_id (one event sent again under a new id); `form` says
    how this member differs: canonical, case, plus_tag, subdomain, resent or copied.
    """

    cluster_id: str
    kind: str
    member: str
    canonical: str
    form: str


@dataclass(frozen=True, slots=True)
class MalformedRow:
    """A row made unusable on purpose: `file` (events or contacts), `key` (the event id or
    the intended email), `problem` (bad_email, bad_timestamp, unknown_type) and the
    `field` and `value` as written."""

    file: str
    key: str
    problem: str
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class HandoffChance:
    """The chances the world used for one hand-off to sales, one row per row of
    `dispositions` and in its order: `kind` of the person (committee, student, job_seeker,
    bystander, duplicate), the account's hidden `stage` that week, `p_accept` the chance
    sales accepted and `p_sql` the chance the hand-off became an SQL (accepted and
    converted). A report's acceptance or MQL->SQL over hand-offs has these as expectations.

    >>> from datetime import UTC
    >>> c = HandoffChance("a@x.example", "x.example", datetime(2026, 1, 5, 9, tzinfo=UTC),
    ...                   "committee", "evaluation", 0.85, 0.7225)
    >>> c.p_sql <= c.p_accept
    True
    """

    email: str
    account: str
    handed_at: datetime
    kind: str
    stage: str
    p_accept: float
    p_sql: float


@dataclass(frozen=True, slots=True)
class DealChance:
    """The chance the world gave an opportunity to be won: 0.2 + 0.4 x hidden fit when it
    came to a decision, 0 when it closed without one (no_decision), empty while open at
    the world's end. `fit` is the account's hidden fit."""

    opportunity_id: str
    account: str
    fit: float
    status: str
    p_win: float | None


@dataclass(frozen=True, slots=True)
class Driver:
    """Something that drives the world's outcomes: an attribute (`field`, as the model
    names fields) or a kind of touch (`touch`: event type, and a page's URL section).
    `strength` is how much it moves the outcome: for an attribute the log of its best over
    its worst factor in the hidden fit (fit drives starting to buy, getting an opportunity
    and winning); for a touch the log of how much more often a buyer in evaluation makes
    it than someone not in market (negative: made by people who never buy). `proxies`
    are fields a model sees the driver through (the region through the country, the
    size through the revenue)."""

    name: str
    kind: str  # attribute | touch
    strength: float
    how: str
    proxies: str = ""  # fields that carry the same information (";"-separated)


def true_drivers() -> tuple[Driver, ...]:
    """The world's true drivers, strongest first, read from the generator's own tables.

    >>> [d.name for d in true_drivers()][:3]
    ['account.industry', 'account.employees', 'account.region']
    """
    import math

    from mql.synthetic.firmographics import INDUSTRY_FIT, REGION_FIT

    industry = max(INDUSTRY_FIT.values()) / min(INDUSTRY_FIT.values())
    region = max(REGION_FIT.values()) / min(REGION_FIT.values())
    attributes = [
        Driver("account.industry", "attribute", math.log(industry),
               "industry factor of the hidden fit (software 1.0 ... nonprofit 0.15)"),
        Driver("account.employees", "attribute", math.log(1.0 / 0.2),
               "size factor of the hidden fit (< 20: 0.2 ... 1,000-9,999: 1.0)",
               "account.revenue"),
        Driver("account.region", "attribute", math.log(region),
               "region factor of the hidden fit (NA 1.0 ... LATAM 0.4)",
               "account.country;contact.region;contact.country"),
        Driver("account.technologies", "attribute", math.log(1.0 / 0.7),
               "ICP technologies factor of the hidden fit (0.7 + 0.15 per ICP technology)"),
    ]
    # weekly rates in evaluation over not in market (docs/synthetic.md, "Touches")
    touches = [
        Driver("demo_request", "touch", math.log(0.07 / 0.0004),
               "demo requests: 0.07 a week in evaluation, 0.0004 not in market"),
        Driver("trial_signup", "touch", math.log(0.04 / 0.0005),
               "trials: 0.04 a week in evaluation, 0.0005 not in market"),
        Driver("page_view /pricing", "touch", math.log(2.2 / 0.06),
               "pricing pages: viewed in consideration, evaluation and decision"),
        Driver("page_view /security", "touch", math.log(2.2 / 0.06),
               "security pages: viewed in evaluation and decision"),
        Driver("page_view /careers", "touch", -1.0,
               "careers pages: students and job seekers, who never buy"),
    ]
    return tuple(sorted(attributes, key=lambda d: -d.strength)) + tuple(touches)
