"""The `mqa:` and `pql:` parts of the model's `accounts:` section (issue 16): when an
account is a marketing-qualified account (per ABM tier: score, engaged contacts within
days, roles covered, fast-track events; who gets it and how fast), which of an MQL and an
MQA wins the one hand-off of a buying motion, and when a contact or account is a
product-qualified lead (a `product` score and milestone rules).

The values are frozen; `build_mqa` and `build_pql` turn the checked document into them and
report every mistake with its file, line and column. The computation is
`mql.accounts.mqa` and `mql.accounts.pql`.

>>> MqaRule(roles=(("economic_buyer", "decision_maker"), ("technical_evaluator",))).roles[0]
('economic_buyer', 'decision_maker')
>>> MqaSpec().rule_for("1:1") == MqaSpec().default
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mql.model import document as d
    from mql.model.build import Builder

Handoff = Literal["account", "contact"]
ACCOUNT_INTENT = "account_intent"  # fast_track: an event the account's own intent scores
ABM_TIERS: tuple[str, ...] = ("1:1", "1:few", "1:many")
PRODUCT_EVENTS: tuple[str, ...] = ("signed_up", "workspace_created", "teammate_invited",
                                   "usage_milestone", "integration_connected",
                                   "limit_reached")  # fmt: skip


@dataclass(frozen=True, slots=True)
class MqaRule:
    """An account is an MQA under this rule when every condition given holds: its account
    score is at least `score`; at least `contacts` of its contacts are engaged (their own
    intent at least `intent`, else the `accounts.engaged` line) and were active within
    `within_days`; each group of `roles` has an engaged contact in one of
    its roles (a group is "any of"). A `fast_track` event of the account (of any of its
    contacts, or the account's own) within `fast_track_days` makes it an MQA at once.
    `route`: `owner` (the account owner, else the tier's team is unknown: unassigned) or
    `team:<name>`; `sla_hours`: the first touch is due within these hours."""

    score: float | None = None
    contacts: int = 0
    within_days: float = 30.0
    intent: float | None = None
    roles: tuple[tuple[str, ...], ...] = ()
    fast_track: tuple[str, ...] = ()
    fast_track_days: float = 7.0
    route: str = "owner"
    sla_hours: float | None = None

    @property
    def empty(self) -> bool:
        """True when the rule asks for nothing (it never qualifies an account)."""
        return self.score is None and self.contacts == 0 and not self.roles


@dataclass(frozen=True, slots=True)
class MqaSpec:
    """The `mqa:` part: the rule per ABM tier (`default` for accounts of no listed tier),
    which qualification wins the hand-off (`account`: the account goes to its owner with
    its MQLs attached; `contact`: the MQL is routed as usual and the MQA attached to it),
    and how many quiet days close a buying motion (a later qualification opens a new
    one)."""

    handoff: Handoff = "account"
    reopen_days: float = 90.0
    default: MqaRule = MqaRule()
    tiers: Mapping[str, MqaRule] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", MappingProxyType(dict(self.tiers)))

    def rule_for(self, tier: str | None) -> MqaRule:
        return self.tiers.get(tier or "", self.default)


@dataclass(frozen=True, slots=True)
class Milestone:
    """"`count` `event`s (with property milestone = `milestone` when given) within
    `within_days` of the first `after` event" (without `after`: of the first of them)."""

    name: str
    event: str
    milestone: str | None = None
    count: int = 1
    within_days: float | None = None
    after: str | None = None


@dataclass(frozen=True, slots=True)
class PqlSpec:
    """The `pql:` part: a contact is a PQL when its `score` (the model's product score)
    is at least `min`, or when it reaches any milestone; an account is a PQL when one of
    its contacts is."""

    score: str | None = None
    min: float | None = None
    milestones: tuple[Milestone, ...] = ()
    route: str = "owner"
    sla_hours: float | None = None


# What a model without `accounts.mqa` / `accounts.pql` gets (measured on the synthetic
# world in docs/accounts.md): two contacts with 4 points of their own intent within 30
# days make an MQA (a download of the last two weeks each); in the 1:1 and 1:few tiers
# one contact with 5 is enough; in every tier an event the account's own intent scores
# (an intent surge over the model's line) fast-tracks the account. A PQL reaches two
# product milestones within 14 days of its trial signup, or invites three teammates
# within 14 days of signing up.
DEFAULT_MQA = MqaSpec(
    default=MqaRule(contacts=2, within_days=30.0, intent=4.0, fast_track=(ACCOUNT_INTENT,),
                    sla_hours=48.0),
    tiers={"1:1": MqaRule(contacts=1, within_days=30.0, intent=5.0,
                          fast_track=(ACCOUNT_INTENT,), sla_hours=4.0),
           "1:few": MqaRule(contacts=1, within_days=30.0, intent=5.0,
                            fast_track=(ACCOUNT_INTENT,), sla_hours=24.0)})
DEFAULT_PQL = PqlSpec(milestones=(
    Milestone("activated", "product_milestone", count=2, within_days=14.0,
              after="trial_signup"),
    # product telemetry (`mql synth --usage`): three teammates invited in the trial
    Milestone("team_formed", "teammate_invited", count=3, within_days=14.0,
              after="signed_up")))


def _route(b: Builder, route: str, path: tuple[str | int, ...]) -> None:
    if route == "owner":
        return
    team = route.removeprefix("team:")
    if not route.startswith("team:") or not team:
        b.problem(path, f'route must be "owner" or "team:<name>", got "{route}"')
    elif b.teams and team not in b.teams:  # checked when the model declares teams
        b.problem(path, f'unknown team "{team}"; teams are {", ".join(sorted(b.teams))}')


def _rule(b: Builder, r: d.MqaRuleDoc, path: tuple[str | int, ...]) -> MqaRule:
    from mql.model.accounts import ROLES

    for i, group in enumerate(r.roles):
        for j, role in enumerate(group):
            if role not in ROLES:
                b.problem((*path, "roles", i, j), f'unknown role "{role}"; roles are '
                          f'{", ".join(ROLES)}')
    for i, name in enumerate(r.fast_track):
        if (name not in b.event_types and name not in b.intent_rules
                and name != ACCOUNT_INTENT):
            b.problem((*path, "fast_track", i), f'unknown event or intent rule "{name}"; '
                      "name an event type (declare custom types under event_types), an "
                      f"intent rule of the model, or {ACCOUNT_INTENT}")
    _route(b, r.route, (*path, "route"))
    return MqaRule(r.score, r.engaged.contacts, r.engaged.within_days, r.engaged.intent,
                   tuple(tuple(g) for g in r.roles if g), tuple(r.fast_track),
                   r.fast_track_days, r.route, r.sla_hours)


def build_mqa(b: Builder, doc: d.MqaDoc | None) -> MqaSpec | None:
    """The checked `accounts.mqa` part (None when absent)."""
    if doc is None:
        return None
    path: tuple[str | int, ...] = ("accounts", "mqa")
    tiers = {}
    for tier, r in doc.tiers.items():
        if tier not in ABM_TIERS:
            b.problem((*path, "tiers", tier), f'unknown ABM tier "{tier}"; tiers are '
                      f'{", ".join(ABM_TIERS)}', key=True)
        tiers[tier] = _rule(b, r, (*path, "tiers", tier))
    default = _rule(b, doc.default, (*path, "default"))
    if default.empty and not default.fast_track and not tiers:
        b.problem(path, "an mqa section needs a rule: default or tiers with a score, "
                  "engaged contacts, roles or fast_track events")
    return MqaSpec(doc.handoff, doc.reopen_days, default, tiers)


def build_pql(b: Builder, doc: d.PqlDoc | None, score_kinds: Mapping[str, str]
              ) -> PqlSpec | None:
    """The checked `accounts.pql` part (None when absent)."""
    if doc is None:
        return None
    path: tuple[str | int, ...] = ("accounts", "pql")
    if doc.score is not None and score_kinds.get(doc.score) != "intent":
        known = ", ".join(n for n, k in score_kinds.items() if k == "intent")
        b.problem((*path, "score"), f'"{doc.score}" is not an intent-kind score of this '
                  f"model (declare it under scores: with kind: intent); they are {known}")
    if (doc.score is None) != (doc.min is None):
        b.problem(path, "pql: score and min go together (the product score and its line)")
    if doc.min is None and not doc.milestones:
        b.problem(path, "a pql section needs a score with its min, or milestones")
    for i, m in enumerate(doc.milestones):
        for key in ("event", "after"):
            name = getattr(m, key)
            if name is not None and name not in b.event_types:
                b.problem((*path, "milestones", i, key), f'unknown event "{name}"; declare '
                          "custom types under event_types")
    _route(b, doc.route, (*path, "route"))
    return PqlSpec(doc.score, doc.min, tuple(Milestone(m.name, m.event, m.milestone,
                                                       m.count, m.within_days, m.after)
                                             for m in doc.milestones),
                   doc.route, doc.sla_hours)
