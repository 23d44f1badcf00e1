"""The pydantic schema of the model file: one class per section, unknown keys rejected.

This is the edge where YAML data is checked for shape (types, required keys, ranges).
Conditions and decay have their own small grammars and are checked in `parse.py`, which
also turns a valid document into the frozen `Model` the core computes with.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Points = Annotated[float, Field(allow_inf_nan=False, strict=True)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _listed(value: Any) -> Any:
    """One item where a list is expected becomes a list of one."""
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


EventTypes = Annotated[list[str], BeforeValidator(_listed)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- points read from a field (issue 13): value tables, bins, points per unit ------------

class PointsByDoc(Section):
    """`{field, table: {value: points, ..., default: points}}` or
    `{field, bins: [[low, high, points], ...], default: points}`; checked in build.py."""

    field: str
    table: dict[Any, Any] | None = None
    bins: list[Any] | None = None
    default: Points | None = None


class PointsPerDoc(Section):
    field: str
    each: Positive = 1.0
    points: Points
    cap: NonNegative | None = None


class FitRuleDoc(Section):
    name: Name
    description: str | None = None
    when: Any = None  # required unless points_by / points_per give the points (build.py)
    points: Points | None = None
    points_by: PointsByDoc | None = None
    points_per: PointsPerDoc | None = None


class IntentRuleDoc(Section):
    name: Name
    description: str | None = None
    event: EventTypes
    when: Any = None
    points: Points | None = None  # required unless points_per gives them (build.py)
    points_per: PointsPerDoc | None = None
    cap: NonNegative | None = None
    min_count: Annotated[int, Field(ge=1)] | None = None
    within_days: Positive | None = None
    level: Literal["contact", "account"] = "contact"
    # windowed aggregates and sequences (checked in `build.Builder.window_extras`)
    distinct: str | None = None
    sum: str | None = None
    max: str | None = None
    avg: str | None = None
    at_least: Positive | None = None
    after: Any = None
    # issue 13: the rule's own decay, a lifespan, de-duplication, diminishing returns
    decay: Any = None
    expires_after_days: Positive | None = None
    once_per: Literal["hour", "day", "session"] | None = None
    each_repeat: Annotated[float, Field(ge=0, le=0.9, allow_inf_nan=False)] | None = None


class FitDoc(Section):
    description: str | None = None
    max: Points | None = None
    floor: Points | None = None  # issue 13: the least the score can be
    rules: list[FitRuleDoc]


class IntentDoc(Section):
    description: str | None = None
    max: Points | None = None
    floor: Points | None = None  # issue 13: the least the score can be
    decay: Any = None
    rules: list[IntentRuleDoc]


class FitScoreDoc(FitDoc):
    kind: Literal["fit"]


class IntentScoreDoc(IntentDoc):
    kind: Literal["intent"]


class CriterionDoc(Section):
    name: Name
    description: str | None = None
    when: Any


class FastTrackDoc(Section):
    name: Name
    description: str | None = None
    event: EventTypes
    when: Any = None
    within_days: Positive = 30.0


class MqlDoc(Section):
    thresholds: Annotated[list[dict[str, Points]], BeforeValidator(_listed)] = []
    criteria: list[CriterionDoc] = []
    fast_track: list[FastTrackDoc] = []
    exclude: list[CriterionDoc] = []


def _text_keys(value: Any) -> Any:
    """Band names may be written unquoted (1: 60): read them as text."""
    return {_text(k): v for k, v in value.items()} if isinstance(value, dict) else value


Bands = Annotated[dict[str, Points], BeforeValidator(_text_keys)]


class GradesDoc(Section):
    fit_score: str = "fit"
    intent_score: str = "intent"
    fit: Bands
    intent: Bands


class ExitRuleDoc(Section):
    """An exit on a condition (unsubscribed, bounced, changed job, competitor)."""

    name: Name
    description: str | None = None
    reason: str
    when: Any
    to: Literal["nurture", "recycled", "disqualified"] = "nurture"


class ExitDoc(Section):
    below: dict[str, Points] = {}
    when: list[ExitRuleDoc] = []


class FieldsDoc(Section):
    contact: list[Name] = []
    account: list[Name] = []


class RuleDoc(Section):
    """A named condition (disqualification, SLA, routing)."""

    name: Name
    description: str | None = None
    when: Any


class LifecycleDoc(Section):
    recycle_after_days: Positive | None = None
    requalify: Literal["fresh_intent", "any"] = "fresh_intent"
    disqualify: list[RuleDoc] = []
    reject_reasons: list[Name] = [
        "wrong_fit", "no_budget", "bad_timing", "duplicate", "no_response", "competitor",
        "student",
    ]
    account_team_statuses: list[str] = ["customer", "partner"]


class HoursDoc(Section):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon", "tue", "wed", "thu", "fri"]
    start: str = "09:00"
    end: str = "17:00"


class MemberDoc(Section):
    name: str
    weight: Annotated[int, Field(ge=1, strict=True)] = 1
    capacity: Annotated[int, Field(ge=0, strict=True)] | None = None
    out_of_office: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = []
    attributes: list[Name] = []  # e.g. us_person, fedramp (consent.overlays require them)


class TeamDoc(Section):
    time_zone: str = "UTC"
    hours: HoursDoc = HoursDoc()
    holidays: list[str] = []
    manager: str | None = None
    members: list[MemberDoc]
    attributes: list[Name] = []  # every member has them


class RoutingRuleDoc(RuleDoc):
    team: Name


class AlertsDoc(Section):
    min_contacts: Annotated[int, Field(ge=2, strict=True)] = 3
    window_days: Positive = 7.0
    quiet_days: NonNegative = 30.0


class RoutingDoc(Section):
    account_alerts: AlertsDoc = AlertsDoc()
    account_owner_first: bool = True
    account_team: Name | None = None
    teams: dict[Name, TeamDoc]
    rules: list[RoutingRuleDoc] = []
    fallback: Name


class SlaDoc(Section):
    name: Name
    description: str | None = None
    when: Any = None
    first_touch_hours: Positive
    escalate_after_breaches: Annotated[int, Field(ge=1, strict=True)] = 2


class OutcomesDoc(Section):
    sourced_within_days: Positive = 90.0
    influenced_within_days: Positive = 180.0


Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
ShareBand = Annotated[list[Share], Field(min_length=2, max_length=2)]


class HealthDoc(Section):
    mql_to_sql: ShareBand = [0.13, 0.27]
    too_loose: Share = 0.10
    too_strict: Share = 0.35
    high_intent: ShareBand = [0.40, 0.60]
    content: ShareBand = [0.05, 0.15]
    high_intent_events: EventTypes | None = None
    content_events: EventTypes | None = None


class ChannelDoc(Section):
    channel: Name
    utm_medium: EventTypes = []
    utm_source: EventTypes = []
    names: EventTypes = []


class ReportsDoc(Section):
    maturity_days: Annotated[int, Field(ge=0, strict=True)] = 90
    pipeline_within_days: Annotated[int, Field(ge=0, strict=True)] = 90
    health: HealthDoc = HealthDoc()
    channels: list[ChannelDoc] | None = None
    other_channel: Name = "other"


# -- attribution (issue 18): shares of the rule models, Markov and Shapley options -------

class PositionDoc(Section):
    first: Share | None = None
    last: Share | None = None


class WDoc(Section):
    first: Share | None = None
    lead: Share | None = None
    opportunity: Share | None = None


class ZDoc(WDoc):
    close: Share | None = None


class MarkovDoc(Section):
    order: Annotated[int, Field(ge=1, le=6, strict=True)] = 1
    allocation: Literal["total", "journey"] = "total"
    self_transitions: Literal["keep", "drop"] = "keep"


class ShapleyDoc(Section):
    value: Literal["conversions", "rate"] = "conversions"
    exact_up_to: Annotated[int, Field(ge=1, le=22, strict=True)] = 15
    samples: Annotated[int, Field(ge=2, strict=True)] = 2000
    seed: Annotated[int, Field(strict=True)] = 7
    ordered: bool = False


class AttributionDoc(Section):
    lookback_days: Positive = 90.0
    direct_channels: list[Name] = ["direct"]
    half_life_days: Positive = 7.0
    u: PositionDoc | None = None
    j: PositionDoc | None = None
    inverse_j: PositionDoc | None = None
    w: WDoc | None = None
    z: ZDoc | None = None
    markov: MarkovDoc = MarkovDoc()
    shapley: ShapleyDoc = ShapleyDoc()
    roles: dict[Name, NonNegative] = {}


# -- accounts (issue 16): committee roles, coverage and the account score ---------------

class RoleRuleDoc(Section):
    """One line of the role table: the role of a contact whose title, department and
    seniority match (every facet given must match; the first matching line wins)."""

    role: Name
    titles: list[str] = []
    departments: list[Name] = []
    seniorities: list[Name] = []
    when: Any = None


class RolesDoc(Section):
    override: Name | None = "committee_role"
    rules: list[RoleRuleDoc] | None = None  # None: the shipped defaults


class EngagedDoc(Section):
    intent: NonNegative = 10.0
    within_days: Positive = 30.0


class AccountIntentDoc(Section):
    score: Name = "intent"
    weights: dict[Name, NonNegative] | None = None
    unknown: NonNegative = 0.1
    repeat: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.5
    account_events: NonNegative = 1.0
    max: Points | None = None


class MqaEngagedDoc(Section):
    contacts: Annotated[int, Field(ge=0)] = 0
    within_days: Positive = 30.0
    intent: NonNegative | None = None


class MqaRuleDoc(Section):
    """When an account of one ABM tier (or of any tier: `default`) is an MQA, who gets it
    and how fast (docs/accounts.md)."""

    score: Points | None = None
    engaged: MqaEngagedDoc = MqaEngagedDoc()
    roles: list[Annotated[list[Name], BeforeValidator(_listed)]] = []
    fast_track: EventTypes = []
    fast_track_days: Positive = 7.0
    route: str = "owner"
    sla_hours: Positive | None = None


class MqaDoc(Section):
    handoff: Literal["account", "contact"] = "account"
    reopen_days: Positive = 90.0
    default: MqaRuleDoc = MqaRuleDoc()
    tiers: dict[str, MqaRuleDoc] = {}


class MilestoneDoc(Section):
    name: Name
    event: str
    milestone: str | None = None
    count: Annotated[int, Field(ge=1)] = 1
    within_days: Positive | None = None
    after: str | None = None


class PqlDoc(Section):
    score: Name | None = None
    min: Points | None = None
    milestones: list[MilestoneDoc] = []
    route: str = "owner"
    sla_hours: Positive | None = None


class AccountsDoc(Section):
    description: str | None = None
    mqa: MqaDoc | None = None
    pql: PqlDoc | None = None
    roles: RolesDoc = RolesDoc()
    cover: list[Name] | None = None
    engaged: EngagedDoc = EngagedDoc()
    fit: FitDoc | None = None
    intent: AccountIntentDoc = AccountIntentDoc()
    line: Points | None = None
    tiers: dict[Name, str] = {}


# -- consent (issue 17): per jurisdiction, which bases allow which outreach -----------

class JurisdictionDoc(Section):
    allow: dict[Name, list[Name]] | None = None  # None: the shipped line's
    without_record: list[Name] | None = None
    expiry_months: dict[Name, Annotated[int, Field(ge=1, le=1200)]] | None = None


class OverlayDoc(RuleDoc):
    """A sector overlay: leads whose record matches `when` go only to sellers (or
    teams) with every attribute of `requires`."""

    requires: Annotated[list[Name], Field(min_length=1)]


class ConsentDoc(Section):
    description: str | None = None
    handoff_channels: list[Name] = ["email", "phone"]
    jurisdictions: dict[Name, JurisdictionDoc] = {}
    countries: dict[str, Name] = {}
    overlays: list[OverlayDoc] = []
    retention: dict[Name, str | int] = {}  # jurisdiction: "730d", "104w", "2y" or days


# -- nurture (issue 21): tracks for the leads that are not ready ----------------------

class TrackDoc(Section):
    """A nurture track: who enters (`when`), which wins (`priority`, 1 first), how long it
    runs (`length`: "6 touches over 3w") and what ends it (`exits`); checked in
    `mql.model.nurture`."""

    name: Name
    description: str | None = None
    when: Any = None
    priority: Annotated[int, Field(ge=1, le=1000)] = 100
    length: str
    channel: Name = "email"
    exits: list[Any] | None = None


class ReengageDoc(Section):
    """The re-engagement track: intent under `intent_below` for `for` (a duration) and in
    no track."""

    name: Name = "reengage"
    description: str | None = None
    intent_below: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    for_: str = Field(alias="for")
    length: str
    channel: Name = "email"
    exits: list[Any] | None = None


class NurtureDoc(Section):
    description: str | None = None
    tracks: list[TrackDoc] = []
    reengage: ReengageDoc | None = None


class ModelDoc(Section):
    name: Name
    version: Annotated[str, BeforeValidator(_text)] | None = None
    description: str | None = None
    fields: FieldsDoc = FieldsDoc()
    event_types: list[Name] = []
    decay: Any = None
    fit: FitDoc
    intent: IntentDoc
    scores: dict[Name, Annotated[FitScoreDoc | IntentScoreDoc, Field(discriminator="kind")]] = {}
    mql: MqlDoc
    grades: GradesDoc | None = None
    exit: ExitDoc | None = None
    lifecycle: LifecycleDoc = LifecycleDoc()
    routing: RoutingDoc | None = None
    sla: list[SlaDoc] = []
    outcomes: OutcomesDoc = OutcomesDoc()
    reports: ReportsDoc = ReportsDoc()
    # the model's own tests (read by mql.model.testcases; scoring ignores them)
    tests: Any = None
    # external lists: files beside the model (mql.model.lists), and their stored values
    lists: Any = None
    list_values: Any = None
    total: dict[str, Points] | None = None  # issue 13: weights of the scores in total
    accounts: AccountsDoc | None = None  # issue 16: roles, coverage, account score
    attribution: AttributionDoc = AttributionDoc()  # issue 18: attribution models
    consent: ConsentDoc | None = None  # issue 17: consent policy per jurisdiction
    nurture: NurtureDoc | None = None  # issue 21: nurture and re-engagement tracks
