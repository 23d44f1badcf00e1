"""The `accounts:` section of a model: the buying-committee role table, what counts as an
engaged contact, which roles an account should cover, and the account score (fit on the
account's records, intent rolled up from its people and its own events).

The values are frozen; `build_accounts` turns the checked document into them (with the
`Builder` of `mql.model.build`, so conditions and fit rules use the one grammar and every
mistake names its file, line and column). The computation lives in `mql.accounts`.

>>> DEFAULT_ROLES.rules[0].role, DEFAULT_ROLES.override
('procurement', 'committee_role')
>>> sorted(DEFAULT_WEIGHTS)[:3]
['champion', 'decision_maker', 'economic_buyer']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from mql.model.conditions import Condition
from mql.model.mqa import MqaSpec, PqlSpec, build_mqa, build_pql
from mql.model.spec import FitRule, Score

if TYPE_CHECKING:
    from mql.model import document as d
    from mql.model.build import Builder

ROLES: tuple[str, ...] = ("decision_maker", "economic_buyer", "champion",
                          "technical_evaluator", "security", "procurement", "user",
                          "influencer")  # fmt: skip
SENIORITY_LEVELS: tuple[str, ...] = ("c_level", "vp", "director", "manager",
                                     "individual_contributor", "student")  # fmt: skip
DEPARTMENT_NAMES: tuple[str, ...] = ("it", "security", "engineering", "marketing", "sales",
                                     "finance", "operations", "hr", "legal", "procurement",
                                     "executive", "other")  # fmt: skip


@dataclass(frozen=True, slots=True)
class RoleRule:
    """A line of the role table: every facet given must match (a title phrase, one of
    the departments, one of the seniorities, the condition); an empty facet matches all."""

    role: str
    titles: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    seniorities: tuple[str, ...] = ()
    when: Condition | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role rule: unknown role {self.role!r}; roles are "
                             f"{', '.join(ROLES)}")


@dataclass(frozen=True, slots=True)
class RoleTable:
    """The role rules in order (first match wins) and the contact field from the CRM
    whose value, when it names a role, wins over every rule."""

    rules: tuple[RoleRule, ...]
    override: str | None = "committee_role"


_PEOPLE = ("it", "security", "engineering", "marketing", "sales", "operations", "legal",
           "procurement")  # fmt: skip
# The shipped table. Order matters: procurement and finance are read from the department
# before seniority, and so are executive-office VPs and directors (they hold the budget);
# risk and compliance titles review security; the C-level and VPs decide; architects,
# technical leads and senior engineers evaluate; heads of a department decide; elsewhere
# directors and managers champion and individual contributors use. HR, "other" and
# students are not on the committee unless the CRM says so. Measured against the
# synthetic world in docs/accounts.md. The words that say a security reviewer (risk,
# governance, compliance) and a technical evaluator (architecture, technical leadership,
# senior engineering):
_SECURITY_WORDS = ("information security", "governance risk compliance", "risk",
                   "security architect", "security officer", "security compliance")
_ARCHITECT_WORDS = ("architect", "architecture", "staff engineer", "principal engineer",
                    "staff software engineer", "technical lead", "tech lead", "lead engineer",
                    "engineering lead", "senior software engineer", "senior engineer",
                    "senior devops engineer", "site reliability engineer")
DEFAULT_ROLES = RoleTable((
    RoleRule("procurement", departments=("procurement",)),
    RoleRule("procurement", titles=("procurement", "purchasing", "sourcing", "buyer")),
    RoleRule("economic_buyer", departments=("finance",), seniorities=("c_level", "vp",
                                                                      "director")),
    RoleRule("economic_buyer", departments=("executive",), seniorities=("vp", "director")),
    RoleRule("economic_buyer", titles=("strategy",), seniorities=("c_level",)),
    RoleRule("security", titles=_SECURITY_WORDS,
             seniorities=("director", "manager", "individual_contributor")),
    RoleRule("decision_maker", seniorities=("c_level", "vp"),
             departments=(*_PEOPLE, "executive")),
    RoleRule("technical_evaluator", titles=_ARCHITECT_WORDS,
             seniorities=("director", "manager", "individual_contributor")),
    RoleRule("decision_maker", titles=("head", "senior director", "global head"),
             departments=tuple(d for d in _PEOPLE if d != "security"),
             seniorities=("director",)),
    RoleRule("decision_maker", titles=tuple(f"{who} {what}security operations"
                                            for who in ("head of", "senior director",
                                                        "senior director of")
                                            for what in ("", "cyber ")),
             seniorities=("director",)),
    RoleRule("champion", titles=("security operations",), seniorities=("director", "manager")),
    RoleRule("user", titles=("security operations", "soc analyst", "threat analyst"),
             seniorities=("individual_contributor",)),
    RoleRule("security", departments=("security",), seniorities=("director", "manager")),
    RoleRule("champion", departments=_PEOPLE, seniorities=("director", "manager")),
    RoleRule("user", departments=_PEOPLE, seniorities=("individual_contributor",)),
))
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({
    "decision_maker": 1.0, "economic_buyer": 1.0, "champion": 0.8,
    "technical_evaluator": 0.6, "security": 0.4, "procurement": 0.4, "user": 0.3,
    "influencer": 0.3})  # fmt: skip
DEFAULT_COVER: tuple[str, ...] = ("decision_maker", "economic_buyer", "champion",
                                  "technical_evaluator")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Engaged:
    """A contact is engaged when its intent is at least `intent` and it was active within
    the last `within_days` days."""

    intent: float = 10.0
    within_days: float = 30.0


@dataclass(frozen=True, slots=True)
class AccountScoring:
    """The whole `accounts:` section.

    Account intent = sum over roles of ``weight(role) * sum_k repeat**(k-1) * x_k`` (x_k:
    the k-th largest decayed intent of the role's people: diminishing returns) plus
    ``account_events * (the intent of the account's own events)``, at most `intent_max`;
    account score = fit + intent.
    """

    roles: RoleTable = DEFAULT_ROLES
    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    unknown_weight: float = 0.1
    repeat: float = 0.5
    account_events: float = 1.0
    intent_score: str = "intent"
    intent_max: float | None = None
    cover: tuple[str, ...] = DEFAULT_COVER
    engaged: Engaged = Engaged()
    fit: Score | None = None
    line: float | None = None
    tiers: tuple[tuple[str, str], ...] = ()  # (list name, tier), first listed wins
    mqa: MqaSpec | None = None  # mql.model.mqa: when an account is an MQA (issue 16)
    pql: PqlSpec | None = None  # mql.model.mqa: when a contact or account is a PQL
    description: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        if not 0.0 <= self.repeat <= 1.0:
            raise ValueError(f"accounts.intent.repeat must be within 0..1, got {self.repeat}")

    def weight(self, role: str | None) -> float:
        """The weight of a role (of a contact with no role: `unknown_weight`)."""
        if role is None:
            return self.unknown_weight
        return self.weights.get(role, self.unknown_weight)


DEFAULT_ACCOUNTS = AccountScoring()


def build_accounts(b: Builder, doc: d.AccountsDoc | None, score_kinds: Mapping[str, str]
                   ) -> AccountScoring | None:
    """The checked `accounts:` section (None when the model has none); problems go to
    `b.problems` with their file, line and column."""
    if doc is None:
        return None
    path = ("accounts",)
    rules = DEFAULT_ROLES.rules
    if doc.roles.rules is not None:
        rules = tuple(_role_rule(b, r, (*path, "roles", "rules", i))
                      for i, r in enumerate(doc.roles.rules))
    override = doc.roles.override
    if override is not None and override not in b.contact_fields:
        b.problem((*path, "roles", "override"),
                  f'unknown contact field "{override}"; declare custom ones under fields.contact')
    weights = dict(DEFAULT_WEIGHTS)
    if doc.intent.weights is not None:
        for name in doc.intent.weights:
            if name not in ROLES:
                b.problem((*path, "intent", "weights", name),
                          f'unknown role "{name}"; roles are {", ".join(ROLES)}', key=True)
        weights = {r: doc.intent.weights.get(r, 0.0) for r in ROLES}
    cover = DEFAULT_COVER
    if doc.cover is not None:
        for i, name in enumerate(doc.cover):
            if name not in ROLES:
                b.problem((*path, "cover", i), f'unknown role "{name}"; roles are '
                          f'{", ".join(ROLES)}')
        cover = tuple(dict.fromkeys(doc.cover))
    if score_kinds.get(doc.intent.score) != "intent":
        known = ", ".join(n for n, k in score_kinds.items() if k == "intent")
        b.problem((*path, "intent", "score"),
                  f'"{doc.intent.score}" is not an intent score of this model; intent scores '
                  f"are {known}")
    fit = b.fit_score("account_fit", doc.fit, (*path, "fit")) if doc.fit else None
    if fit is not None:
        for i, rule in enumerate(fit.rules):
            if isinstance(rule, FitRule) and any(f.startswith("contact.")
                                                 for f in rule.when.fields()):
                b.problem((*path, "fit", "rules", i, "when"),
                          "account fit reads account fields only (account.<name>); "
                          "contact fields belong in the contact fit")
    lists = set(b.lists)
    tiers = []
    for list_name, tier in doc.tiers.items():
        if list_name not in lists:
            known = ", ".join(sorted(lists)) or "none; declare them under lists:"
            b.problem((*path, "tiers", list_name), f'unknown list "{list_name}"; lists are '
                      f"{known}", key=True)
        tiers.append((list_name, tier))
    return AccountScoring(
        roles=RoleTable(rules, override), weights=weights, unknown_weight=doc.intent.unknown,
        repeat=doc.intent.repeat, account_events=doc.intent.account_events,
        intent_score=doc.intent.score, intent_max=doc.intent.max, cover=cover,
        engaged=Engaged(doc.engaged.intent, doc.engaged.within_days), fit=fit,
        line=doc.line, tiers=tuple(tiers), mqa=build_mqa(b, doc.mqa),
        pql=build_pql(b, doc.pql, score_kinds), description=doc.description)


def _role_rule(b: Builder, r: d.RoleRuleDoc, path: tuple[str | int, ...]) -> RoleRule:
    role = r.role
    if role not in ROLES:
        b.problem((*path, "role"), f'unknown role "{role}"; roles are {", ".join(ROLES)}')
        role = ROLES[-1]
    for i, dept in enumerate(r.departments):
        if dept not in DEPARTMENT_NAMES:
            b.problem((*path, "departments", i), f'unknown department "{dept}"; departments '
                      f'are {", ".join(DEPARTMENT_NAMES)}')
    for i, level in enumerate(r.seniorities):
        if level not in SENIORITY_LEVELS:
            b.problem((*path, "seniorities", i), f'unknown seniority "{level}"; seniorities '
                      f'are {", ".join(SENIORITY_LEVELS)}')
    when = b.condition(r.when, (*path, "when"), "fit") if r.when is not None else None
    if not (r.titles or r.departments or r.seniorities or when is not None):
        b.problem(path, "a role rule needs at least one of titles, departments, seniorities "
                  "or when (otherwise it matches everyone)")
    return RoleRule(role, tuple(t.strip().lower() for t in r.titles if t.strip()),
                    tuple(r.departments), tuple(r.seniorities), when)
