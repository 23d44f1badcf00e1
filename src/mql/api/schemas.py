"""Bodies of the HTTP API, one schema per direction: `...In` is read from requests,
`...Out` is written to responses. They are built from service values with `from_...`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mql.accounts.mqa import MqaDecision
from mql.accounts.score import AccountScore
from mql.scoring.qualify import Decision
from mql.service.api_reads import AccountView, Lead
from mql.service.keys import CreatedKey, KeyView
from mql.store.models import ModelVersion
from mql.store.quarantine import QuarantinedRow


class SegmentMessageIn(BaseModel):
    """One Segment message (identify, track, page, screen, group, alias); other fields of
    the Segment spec are accepted and kept. Without `messageId` the message gets one from
    a hash of its content; times are ISO 8601 or epoch milliseconds; `writeKey` may carry
    the write key (analytics.js)."""

    model_config = ConfigDict(extra="allow")

    type: str | None = None
    messageId: str | None = Field(None, max_length=200)
    userId: str | int | None = None
    anonymousId: str | int | None = None
    event: str | None = None
    name: str | None = None
    category: str | None = None
    groupId: str | int | None = None
    previousId: str | int | None = None
    timestamp: str | int | None = None
    sentAt: str | int | None = None
    writeKey: str | None = None
    traits: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    context: dict[str, Any] | None = None


class SegmentBatchIn(BaseModel):
    """A Segment batch: `batch` holds the messages (each with its `type`)."""

    model_config = ConfigDict(extra="allow")

    batch: list[dict[str, Any]] = Field(max_length=10_000)
    sentAt: str | int | None = None
    context: dict[str, Any] | None = None
    writeKey: str | None = None


class RejectedOut(BaseModel):
    """A message that was not stored as an event: its index in the request and why."""

    index: int
    field: str | None
    reason: str
    quarantined: bool


class AckOut(BaseModel):
    """The answer to a collection request, sent once its messages are committed to the
    inbox; the server applies them to leads and scores right behind (`GET /v1/inbox`)."""

    success: bool
    received: int
    accepted: int
    rejected: list[RejectedOut]


class KeyIn(BaseModel):
    """A key to create: a write key for a source, or a token with a role for a person."""

    kind: Literal["write_key", "token"]
    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "marketing", "sales", "read-only"] | None = None
    team: str | None = Field(None, max_length=100)


class KeyOut(BaseModel):
    """A stored key, without any secret."""

    key_id: str
    kind: str
    role: str
    name: str
    team: str | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_view(cls, k: KeyView) -> KeyOut:
        return cls(key_id=k.key_id, kind=k.kind, role=k.role, name=k.name, team=k.team,
                   created_at=k.created_at, revoked_at=k.revoked_at)


class CreatedKeyOut(BaseModel):
    """A new key; `secret` is the whole key, shown this once."""

    key_id: str
    kind: str
    role: str
    name: str
    team: str | None
    secret: str

    @classmethod
    def from_created(cls, k: CreatedKey) -> CreatedKeyOut:
        return cls(key_id=k.key_id, kind=k.kind, role=k.role, name=k.name, team=k.team,
                   secret=k.secret)


class DecisionOut(BaseModel):
    """A lead's scores, grade and MQL verdict at `as_of`, with the reasons."""

    contact: str
    as_of: datetime
    scores: dict[str, float]
    grade: str | None
    mql: bool
    reasons: list[str]
    because: str = Field(description="why, in a seller's words (the wording of the CLI): "
                         "\"fit 60 ≥ 50 and intent 96.8 ≥ 30; demo request 2 days ago\"")
    qualified_until: datetime | None

    @classmethod
    def from_decision(cls, d: Decision) -> DecisionOut:
        return cls(contact=d.contact, as_of=d.as_of, scores=dict(d.scores), grade=d.grade,
                   mql=d.mql, reasons=[str(r) for r in d.reasons], because=d.because(),
                   qualified_until=d.qualified_until)


class RuleLineOut(BaseModel):
    """One rule's contribution: events counted, raw points, decayed sum, capped value."""

    score: str
    rule: str
    events: int
    points: float
    decayed: float
    value: float
    note: str


class SlaOut(BaseModel):
    """The lead's open assignment: team, routing rule, SLA, when first touch is due, state."""

    team: str | None
    rule: str
    sla: str | None
    sla_due_at: datetime | None
    status: str


class ComplianceOut(BaseModel):
    """A lead's consent now (docs/compliance.md): each recorded channel's status and,
    under the model's `consent:` section, whether each channel may be used, the
    jurisdiction, and whether (and why) the hand-off is held."""

    consent: dict[str, str] = Field(description="each recorded channel's status now")
    may_contact: dict[str, bool] | None = Field(
        description="per channel (email, phone, sms, ads, sales); null without a policy")
    jurisdiction: str | None
    held: bool = Field(description="an MQL held for compliance: no seller has it")
    hold_reason: str | None = Field(
        description="why it is (or, not being an MQL, would be) held")


class LeadOut(BaseModel):
    """A lead (contact) with its current decision and its explanation."""

    id: int
    email: str
    account: str | None
    attributes: dict[str, Any]
    model: str | None
    stage: str | None
    stage_since: datetime | None
    owner: str | None
    sla: SlaOut | None
    decision: DecisionOut
    rules: list[RuleLineOut]
    changes: list[str]
    compliance: ComplianceOut | None = None


class LeadPageOut(BaseModel):
    """One page of leads; pass `next_cursor` as `cursor` for the next page (null: last)."""

    items: list[DecisionOut]
    next_cursor: str | None


# the characters YAML allows in a document (YAML 1.1 "printable")
_YAML_TEXT = r"^[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$"


class ModelIn(BaseModel):
    """A model file's text (YAML, printable characters only) and the name errors cite."""

    text: str = Field(min_length=1, max_length=1_000_000, pattern=_YAML_TEXT)
    source: str = Field("model.yaml", min_length=1, max_length=200)


class ModelCheckOut(BaseModel):
    """A valid model file: its name."""

    valid: bool
    name: str


class ModelVersionOut(BaseModel):
    """A stored model version."""

    id: int
    name: str
    version: str
    digest: str
    source: str | None
    activated_at: datetime | None
    active: bool

    @classmethod
    def from_version(cls, v: ModelVersion) -> ModelVersionOut:
        return cls(id=v.id, name=v.name, version=v.version, digest=v.digest, source=v.source,
                   activated_at=v.activated_at, active=v.active)


class ActivationOut(BaseModel):
    """What activating a version did, or would do in a dry run: contacts it newly
    qualifies (listed first), contacts it stops qualifying, transitions recorded."""

    version: ModelVersionOut
    dry_run: bool
    newly_qualified: list[str]
    no_longer_qualified: list[str]
    transitions: int


class QuarantinedOut(BaseModel):
    """A quarantined row: where it came from, the raw text and why it was held."""

    id: int
    kind: str
    source: str
    row: int
    raw: str
    field: str | None
    reason: str
    status: str
    created_at: datetime

    @classmethod
    def from_row(cls, q: QuarantinedRow) -> QuarantinedOut:
        return cls(id=q.id, kind=q.kind, source=q.source, row=q.row, raw=q.raw, field=q.field,
                   reason=q.reason, status=q.status, created_at=q.created_at)


RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a store id (a 64-bit integer)


class RetryIn(BaseModel):
    """Quarantined row ids to retry; null retries every open row."""

    ids: list[RowId] | None = Field(None, max_length=10_000)


class RetryOut(BaseModel):
    """Ids loaded by a retry, and those still failing with the reason."""

    loaded: list[int]
    failed: list[dict[str, Any]]


def lead_out(lead: Lead) -> LeadOut:
    """The response body of one lead."""
    explanation = lead.explanation
    return LeadOut(
        id=lead.id, email=lead.email, account=lead.account, attributes=lead.attributes,
        model=lead.model, stage=lead.stage, stage_since=lead.stage_since, owner=lead.owner,
        sla=None if lead.assignment is None else SlaOut.model_validate(lead.assignment),
        decision=DecisionOut.from_decision(explanation.decision),
        rules=[RuleLineOut(score=r.score, rule=r.rule, events=r.events, points=r.points,
                           decayed=r.decayed, value=r.value, note=r.note)
               for r in explanation.rules],
        changes=list(explanation.changes),
        compliance=None if lead.compliance is None else ComplianceOut.model_validate(
            lead.compliance.as_dict()))


class RejectIn(BaseModel):
    """Why sales rejects the lead: one of the model's rejection reasons."""

    reason: str = Field(min_length=1, max_length=200)


class ConvertIn(BaseModel):
    """An optional note on the conversion."""

    reason: str | None = Field(None, max_length=200)


class ReassignIn(BaseModel):
    """The new owner of the lead."""

    owner: str = Field(min_length=1, max_length=320)


class TransitionOut(BaseModel):
    """One lifecycle transition: from, to, when, why and by whom."""

    email: str
    source: str | None
    target: str
    at: datetime
    cause: str
    actor: str
    reason: str | None


class AssignmentOut(BaseModel):
    """The lead's open assignment: team, owner, rule, SLA and its state."""

    email: str
    team: str | None
    owner: str | None
    rule: str
    sla: str | None
    sla_due_at: datetime | None
    status: str


class FieldErrorOut(BaseModel):
    """One field of an invalid request: where (`body.name`, `query.limit`) and why."""

    field: str
    message: str


class ErrorOut(BaseModel):
    """Every refusal: `message` (and `detail`, the same text) names the place, the value
    and the fix; `code` is the kind. `code` and `message` are what Segment clients read."""

    detail: str
    code: str
    message: str
    problems: list[str] | None = None
    errors: list[FieldErrorOut] | None = None


_REFUSALS = {
    400: "A parameter is invalid (e.g. a cursor that is not ours)",
    401: "No key, or an unknown, wrong or revoked key",
    403: "The key's role does not allow this",
    404: "No such lead, model version, key or row",
    409: "The lead's stage or assignment does not allow this move",
    413: "The body is over its limit (4 MB by default), or a message is over 32 KB "
         "(it is quarantined; the others land and `rejected` lists it)",
    422: "The body is invalid; for a model, every problem as file:line:column",
    429: "The key sent too many requests; see Retry-After",
    503: "The store is unavailable or needs `mql migrate`; see Retry-After",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in _REFUSALS.items()}


class AccountLedgerLineOut(BaseModel):
    """One line of an account's ledger: a person (or, with `contact` null, the account's
    own events), its role, the role's weight, its rank in the role, its decayed points and
    what they count (`counted` = weight * factor * points)."""

    contact: str | None
    title: str | None
    role: str | None
    source: str = Field(description="crm (the override field), rule N (the role table's "
                        "N-th line), none, or account events")
    weight: float
    rank: int
    factor: float = Field(description="repeat ** (rank - 1): diminishing returns")
    points: float
    counted: float
    engaged: bool
    last_touch: datetime | None


class CoverageOut(BaseModel):
    """The roles to cover: engaged, known but silent, missing; the next action in words."""

    engaged: list[str]
    silent: list[str]
    missing: list[str]
    engaged_contacts: int
    complete: bool
    next_action: str


class AccountScoreOut(BaseModel):
    """An account's score at `at`: fit + intent = total against the model's line, the
    ledger, the coverage, and when the total falls below the line with no new events."""

    domain: str
    at: datetime
    tier: str | None
    owner: str | None
    fit: float
    intent: float
    total: float
    line: float | None
    above_line: bool | None
    below_at: datetime | None
    coverage: CoverageOut
    ledger: list[AccountLedgerLineOut]

    @classmethod
    def from_score(cls, s: AccountScore) -> AccountScoreOut:
        c = s.coverage
        return cls(domain=s.domain, at=s.at, tier=s.tier, owner=s.owner, fit=s.fit,
                   intent=s.intent, total=s.total, line=s.line, above_line=s.above_line,
                   below_at=s.below_at,
                   coverage=CoverageOut(engaged=list(c.engaged), silent=list(c.silent),
                                        missing=list(c.missing),
                                        engaged_contacts=c.engaged_contacts,
                                        complete=c.complete, next_action=c.next_action),
                   ledger=[AccountLedgerLineOut(**{f: getattr(x, f) for f in (
                       "contact", "title", "role", "source", "weight", "rank", "factor",
                       "points", "counted", "engaged", "last_touch")}) for x in s.ledger])


class AccountPageOut(BaseModel):
    """Account scores, highest total first."""

    items: list[AccountScoreOut]


class MqaOut(BaseModel):
    """Whether the account is an MQA now under its tier's rule (docs/accounts.md): each
    condition met or not in words, the fast-track event, the recipient and SLA deadline."""

    mqa: bool
    tier: str | None
    reason: str
    met: list[str]
    unmet: list[str]
    fast_track: str | None
    route: str | None
    due: datetime | None

    @classmethod
    def from_decision(cls, d: MqaDecision) -> MqaOut:
        return cls(mqa=d.mqa, tier=d.tier, reason=d.reason, met=list(d.met),
                   unmet=list(d.unmet), fast_track=d.fast_track, route=d.route, due=d.due)


class AccountOut(BaseModel):
    """An account with its contacts' decisions, open MQLs, aggregate engagement, its
    account score (ledger, coverage, missing roles) and its MQA decision."""

    id: int
    domain: str
    attributes: dict[str, Any]
    open_mqls: int
    engagement: float
    contacts: list[DecisionOut]
    hidden_contacts: int = Field(0, description="live contacts of the account a sales "
                                 "token does not reach (not listed in contacts)")
    score: AccountScoreOut | None = None
    mqa: MqaOut | None = None
    stage: str | None = Field(None, description="the account lifecycle stage: target, "
                              "aware, engaged, mqa, opportunity or customer")

    @classmethod
    def from_view(cls, a: AccountView, score: AccountScore | None = None,
                  mqa: MqaDecision | None = None, stage: str | None = None) -> AccountOut:
        return cls(id=a.id, domain=a.domain, attributes=a.attributes, open_mqls=a.open_mqls,
                   engagement=a.engagement,
                   contacts=[DecisionOut.from_decision(d) for d in a.contacts],
                   hidden_contacts=a.hidden,
                   score=None if score is None else AccountScoreOut.from_score(score),
                   mqa=None if mqa is None else MqaOut.from_decision(mqa), stage=stage)


class InboxOut(BaseModel):
    """Collected messages not applied to the store yet: how many, and how late."""

    pending: int
    oldest_received_at: datetime | None
    lag_seconds: float = Field(description="age of the oldest pending message (0 if none)")
    max_lag_seconds: float | None = Field(
        None, description="the server's bound on the lag (null: none); past it collection "
        "answers 503 with Retry-After")
    refusing: bool = Field(False, description="whether collection is refusing new messages "
                           "now because the lag passed its bound (backpressure)")


class DeliveryOut(BaseModel):
    """A webhook delivery of the outbox: topic, subject, status, attempts, last error."""

    id: int
    topic: str
    subject: str | None
    status: str
    attempts: int
    created_at: datetime
    available_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    webhook_id: int | None = None
    sequence: int | None = None


class DeliveryRetryIn(BaseModel):
    """Delivery ids to send again; null retries every dead or refused one."""

    ids: list[RowId] | None = Field(None, max_length=10_000)


class DeliveryRetryOut(BaseModel):
    """How many deliveries went back in line."""

    retried: int


class WebhookIn(BaseModel):
    """A new subscription: where to POST, the signing secret, the topics (`*`: all)."""

    url: str = Field(description="absolute http(s) URL")
    secret: str = Field(description="shared secret of the HMAC signature (stored encrypted)")
    topics: list[str] = Field(default_factory=lambda: ["*"])


class WebhookUpdateIn(BaseModel):
    """A new URL and/or new topics (both checked as on create)."""

    url: str | None = None
    topics: list[str] | None = None


class WebhookRotateIn(BaseModel):
    """The new secret; during `grace_hours` deliveries also carry the old signature."""

    secret: str
    grace_hours: float | None = Field(None, ge=0, le=8760,
                                      description="default: the server setting")


class WebhookOut(BaseModel):
    """A subscription, never its secret, with its deliveries counted by status."""

    id: int
    url: str
    topics: list[str]
    paused: bool
    removed: bool
    rotating_until: datetime | None
    created_at: datetime
    pending: int
    delivered: int
    dead: int
    refused: int


class WebhookTestOut(BaseModel):
    """What the receiver answered to one signed `webhook.test` delivery."""

    outcome: str
    status: int | None
    error: str | None
    seconds: float


class WebhookRemovedOut(BaseModel):
    """The removed subscription's queued deliveries, refused."""

    id: int
    pending_refused: int
