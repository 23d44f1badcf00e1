"""Merge plans: when two contact records are one person, and the guardrails that say no.

An identifier is an email key, an anonymous id (a cookie) or an external id (a CRM record
id, namespaced: `hubspot`, `salesforce`, `segment`). Rules, all configurable
(`IdentityRules`, built from `Settings`):

- blocked values never identify anybody (`null`, `anonymous`, `0`, `-1`, `test@test.com` ...);
- at most `max_per_kind[kind]` identifiers of one kind per contact (external ids per
  namespace): an office's shared cookie cannot fuse 40 people, a merge that would exceed
  the limit is refused;
- only `merge_on` kinds (external ids and emails) fuse two contacts; an anonymous id only
  ever attaches to one contact (Segment semantics: it counts for the first person it is
  identified with);
- when one record's identifiers point at several contacts, the contact found by the kind
  earliest in `priority` survives (then the oldest).

>>> rules = IdentityRules()
>>> rules.usable(Identifier("email", "test@test.com")), rules.usable(Identifier("external", "0"))
(False, False)
>>> a = (1, frozenset({Identifier("email", "jane@acme.com")}))
>>> b = (2, frozenset({Identifier("external", "003A", "salesforce")}))
>>> plan_merge(a, b, reason="same salesforce id", rules=rules)
MergePlan(survivor=1, merged=2, reason='same salesforce id')
>>> stricter_consent("granted", "withdrawn")
'withdrawn'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mql.errors import ConfigError, MergeRefused

KINDS = ("external", "email", "anonymous_id")
DEFAULT_PRIORITY = ("external", "email", "anonymous_id")
DEFAULT_BLOCKED = (
    "", "null", "none", "nil", "undefined", "nan", "n/a", "na", "-", "0", "-1", "1",
    "anonymous", "unknown", "test", "guest", "user", "admin", "true", "false",
    "00000000-0000-0000-0000-000000000000", "test@test.com", "test@example.com",
    "noreply@example.com", "email@example.com", "user@example.com", "a@a.com",
)
_BLOCKED_LOCAL_PARTS = frozenset({"noreply", "no-reply", "donotreply", "do-not-reply"})
_CONSENT_STRICTNESS = {"granted": 0, "unknown": 1, "denied": 2, "withdrawn": 3}


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    """One way to recognise a contact: kind, value and (external ids) namespace."""

    kind: str
    value: str
    namespace: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"identifier kind {self.kind!r}: expected one of {KINDS}")


@dataclass(frozen=True, slots=True)
class IdentityRules:
    """The guardrails of identity resolution (see the module docstring)."""

    blocked: frozenset[str] = frozenset(DEFAULT_BLOCKED)
    max_per_kind: Mapping[str, int] = field(
        default_factory=lambda: {"email": 5, "anonymous_id": 20, "external": 3})
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    merge_on: frozenset[str] = frozenset({"external", "email"})
    collapse_subdomains: bool = True

    def __post_init__(self) -> None:
        unknown = [k for k in (*self.priority, *self.max_per_kind, *self.merge_on)
                   if k not in KINDS]
        if unknown:
            raise ConfigError(f"identity rules name unknown identifier kinds {unknown}; "
                              f"use {', '.join(KINDS)}")
        if "anonymous_id" in self.merge_on:
            raise ConfigError("anonymous ids cannot merge contacts (a shared cookie would "
                              "fuse everybody behind it); remove it from merge_on")

    def usable(self, ident: Identifier) -> bool:
        """False for blocked values: they identify nobody and are never stored."""
        value = ident.value.strip().lower()
        if value in self.blocked:
            return False
        if ident.kind == "email":
            return value.partition("@")[0] not in _BLOCKED_LOCAL_PARTS
        return True

    def limit(self, kind: str) -> int:
        return self.max_per_kind.get(kind, 1_000_000)

    def rank(self, kind: str) -> int:
        return self.priority.index(kind) if kind in self.priority else len(self.priority)


ContactIds = tuple[int, frozenset[Identifier]]


@dataclass(frozen=True, slots=True)
class MergePlan:
    """Fold contact `merged` into `survivor`; `reason` says why (stored with the merge)."""

    survivor: int
    merged: int
    reason: str

    def __repr__(self) -> str:
        return f"MergePlan(survivor={self.survivor}, merged={self.merged}, reason={self.reason!r})"


def _counts(identifiers: Iterable[Identifier]) -> Counter[tuple[str, str]]:
    return Counter((i.kind, i.namespace if i.kind == "external" else "") for i in identifiers)


def over_limit(identifiers: Iterable[Identifier], rules: IdentityRules) -> str | None:
    """The first kind with more identifiers than the rules allow, in words, or None.

    >>> ids = [Identifier("anonymous_id", f"a{n}") for n in range(3)]
    >>> over_limit(ids, IdentityRules(max_per_kind={"anonymous_id": 2}))
    '3 anonymous_id identifiers (at most 2 per contact)'
    """
    for (kind, namespace), count in sorted(_counts(identifiers).items()):
        if count > rules.limit(kind):
            name = f"{namespace} {kind}" if namespace else kind
            return f"{count} {name} identifiers (at most {rules.limit(kind)} per contact)"
    return None


def plan_merge(first: ContactIds, second: ContactIds, *, reason: str,
               rules: IdentityRules) -> MergePlan:
    """The plan to merge two contacts (the older survives); `MergeRefused` if a guardrail
    forbids it: the same contact twice, two different CRM ids of one namespace where one is
    allowed per contact, or the union over a per-kind limit."""
    (a, ids_a), (b, ids_b) = sorted((first, second), key=lambda c: c[0])
    if a == b:
        raise MergeRefused(f"contact {a} cannot be merged with itself")
    # the specific conflict first: with one CRM id allowed per contact, two different ids
    # in one namespace are two CRM records, which is what the operator must be told
    # (the union is over the limit too, but "3 over a limit of 1" does not say why)
    external_a = {i.namespace: i.value for i in ids_a if i.kind == "external"}
    for ident in sorted(ids_b):
        other = external_a.get(ident.namespace) if ident.kind == "external" else None
        if other is not None and other != ident.value and rules.limit("external") == 1:
            raise MergeRefused(f"contacts {a} and {b} have different {ident.namespace} ids "
                               f"({other}, {ident.value})")
    too_many = over_limit(ids_a | ids_b, rules)
    if too_many:
        raise MergeRefused(f"merging contacts {a} and {b} would give {too_many}")
    return MergePlan(a, b, reason)


def choose_survivor(found: Iterable[tuple[int, Identifier]], rules: IdentityRules) -> int:
    """Of the contacts found by a record's identifiers, the one that survives a merge.

    >>> choose_survivor([(7, Identifier("email", "j@a.com")),
    ...                  (9, Identifier("external", "42", "hubspot"))], IdentityRules())
    9
    """
    return min(found, key=lambda f: (rules.rank(f[1].kind), f[0]))[0]


def stricter_consent(a: str, b: str) -> str:
    """Of two consent statuses for one channel, the stricter: consent never flows from
    one merged person to another (withdrawn > denied > unknown > granted)."""
    return max(a, b, key=lambda s: _CONSENT_STRICTNESS.get(s, 1))
