"""The `consent:` section of a model: per jurisdiction, which legal bases allow which
outreach channel, which channels need no record (opt-out), when an implied consent
lapses, and which channels a seller may use for a hand-off.

The values are frozen; `build_consent` turns the checked document into them (problems
name file, line and column like the rest of the model language). The computation (the
consent state as of a time, the verdict) lives in `mql.compliance`; the shipped
defaults are documented in docs/compliance.md.

>>> DEFAULT_POLICY.rule("gdpr").allow["email"]
('consent',)
>>> DEFAULT_POLICY.rule("casl").expiry["implied_inquiry"]
6
>>> DEFAULT_POLICY.rule("nowhere").name
'default'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from mql.model.conditions import Condition
from mql.model.document import ConsentDoc

if TYPE_CHECKING:
    from mql.model.build import Builder

# outreach channels; "all" in a consent record (a global do-not-contact) covers every one
CHANNELS: tuple[str, ...] = ("email", "phone", "sms", "ads", "sales")
ALL = "all"
STATUSES: tuple[str, ...] = ("granted", "denied", "withdrawn", "unknown")
BASES: tuple[str, ...] = ("consent", "legitimate_interest", "existing_business_relationship",
                          "implied_inquiry", "implied_purchase", "none")  # fmt: skip
JURISDICTIONS: tuple[str, ...] = ("gdpr", "uk", "casl", "can_spam", "default")


@dataclass(frozen=True, slots=True)
class JurisdictionRule:
    """What one jurisdiction permits: `allow` maps a channel to the legal bases under
    which a granted record permits it (a channel not named: no basis does);
    `without_record` are the channels a contact with no record for them may be reached
    on (opt-out); `expiry` maps a basis to the months after which a consent given on it
    lapses (CASL's implied consent)."""

    name: str
    allow: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    without_record: tuple[str, ...] = ()
    expiry: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Overlay:
    """A sector overlay (ITAR, FedRAMP, a regulated industry): a lead whose record
    matches `when` (contact.* and account.* fields) goes only to a seller who, or whose
    team, has every attribute of `requires`; none: the lead is held for compliance
    (`mql.routing.overlays`)."""

    name: str
    when: Condition
    requires: tuple[str, ...]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """The rules per jurisdiction, the country (or ``CC-RR`` region) to jurisdiction
    table over the shipped one, and the channels a hand-off to a seller may use (the
    lead is held for compliance when none of them is permitted)."""

    rules: Mapping[str, JurisdictionRule]
    countries: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    handoff_channels: tuple[str, ...] = ("email", "phone")
    overlays: tuple[Overlay, ...] = ()
    # days of raw events kept per jurisdiction (`mql privacy retain`, the worker); the
    # contacts of a jurisdiction not named keep theirs
    retention: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def rule(self, jurisdiction: str) -> JurisdictionRule:
        """The rule of `jurisdiction`, else of ``default``."""
        return self.rules.get(jurisdiction) or self.rules["default"]


_EVERY = tuple(BASES[:-1])  # every basis but "none"
_OPT_OUT = JurisdictionRule("", MappingProxyType({c: _EVERY for c in CHANNELS}), CHANNELS)
# The shipped defaults (docs/compliance.md says why each line is as it is). A starting
# point, not legal advice: the model's `consent:` section replaces any line.
DEFAULT_RULES: Mapping[str, JurisdictionRule] = MappingProxyType({
    # EU/EEA GDPR with the ePrivacy rules: marketing email, SMS and ads need consent;
    # B2B calls may rest on a documented legitimate interest
    "gdpr": JurisdictionRule("gdpr", MappingProxyType({
        "email": ("consent",), "sms": ("consent",), "ads": ("consent",),
        "phone": ("consent", "legitimate_interest"),
        "sales": ("consent", "legitimate_interest")})),
    # UK GDPR and PECR: email to corporate subscribers may rest on legitimate interest;
    # live B2B calls are allowed unless the person objected (no record needed)
    "uk": JurisdictionRule("uk", MappingProxyType({
        "email": ("consent", "legitimate_interest"), "sms": ("consent",),
        "ads": ("consent",), "phone": ("consent", "legitimate_interest"),
        "sales": ("consent", "legitimate_interest")}), ("phone",)),
    # CASL: commercial electronic messages need express or implied consent; implied
    # consent lapses 6 months after an inquiry and 2 years after a purchase; CASL does
    # not cover voice calls
    "casl": JurisdictionRule("casl", MappingProxyType({
        "email": ("consent", "implied_inquiry", "implied_purchase",
                  "existing_business_relationship"),
        "sms": ("consent", "implied_inquiry", "implied_purchase",
                "existing_business_relationship"),
        "ads": _EVERY, "phone": _EVERY, "sales": _EVERY}), ("phone",),
        MappingProxyType({"implied_inquiry": 6, "implied_purchase": 24,
                          "existing_business_relationship": 24})),
    # US CAN-SPAM: opt-out; an opt-out is honoured at once
    "can_spam": JurisdictionRule("can_spam", _OPT_OUT.allow, CHANNELS),
    "default": JurisdictionRule("default", _OPT_OUT.allow, CHANNELS),
})
DEFAULT_POLICY = ConsentPolicy(DEFAULT_RULES)


# -- the document -----------------------------------------------------------------------

def _known(b: Builder, values: Any, choices: tuple[str, ...], path: tuple[Any, ...],
           what: str, *, key: bool = False) -> None:
    for i, value in enumerate(values):
        if value not in choices:
            b.problem((*path, value if key else i), f'unknown {what} "{value}"; {what}s are '
                      f'{", ".join(choices)}', key=key)


def build_consent(b: Builder, doc: ConsentDoc | None) -> ConsentPolicy | None:
    """The checked `consent:` section (None when the model has none: nothing is gated);
    problems go to `b.problems` with their file, line and column."""
    if doc is None:
        return None
    path: tuple[Any, ...] = ("consent",)
    _known(b, doc.handoff_channels, CHANNELS, (*path, "handoff_channels"), "channel")
    rules = dict(DEFAULT_RULES)
    for name, j in doc.jurisdictions.items():
        where = (*path, "jurisdictions", name)
        base = rules.get(name, JurisdictionRule(name))
        allow = dict(base.allow)
        if j.allow is not None:
            _known(b, j.allow, CHANNELS, (*where, "allow"), "channel", key=True)
            for channel, bases in j.allow.items():
                _known(b, bases, BASES, (*where, "allow", channel), "basis")
            allow = {c: tuple(v) for c, v in j.allow.items()}
        without = base.without_record
        if j.without_record is not None:
            _known(b, j.without_record, CHANNELS, (*where, "without_record"), "channel")
            without = tuple(j.without_record)
        expiry = dict(base.expiry)
        if j.expiry_months is not None:
            _known(b, j.expiry_months, BASES, (*where, "expiry_months"), "basis", key=True)
            expiry = dict(j.expiry_months)
        rules[name] = JurisdictionRule(name, MappingProxyType(allow), without,
                                       MappingProxyType(expiry))
    for country, name in doc.countries.items():
        if name not in rules:
            b.problem((*path, "countries", country), f'unknown jurisdiction "{name}"; '
                      f'jurisdictions are {", ".join(sorted(rules))}')
    b.unique([o.name for o in doc.overlays], (*path, "overlays"), "overlay")
    overlays = []
    for n, o in enumerate(doc.overlays):
        at: tuple[Any, ...] = (*path, "overlays", n)
        overlays.append(Overlay(o.name, b.condition(o.when, (*at, "when"), "fit"),
                                tuple(dict.fromkeys(o.requires)), o.description))
        held = _attributes(b)
        for k, wanted in enumerate(o.requires):
            if held is not None and wanted not in held:
                b.problem((*at, "requires", k), "no seller or team has the attribute "
                          f'"{wanted}" (routing.teams.<team>.attributes or a member\'s '
                          f'attributes): every lead under {o.name} would be held; attributes '
                          f'are {", ".join(sorted(held)) or "none yet"}')
    retention: dict[str, int] = {}
    for name, value in doc.retention.items():
        where = (*path, "retention", name)
        if name not in rules:
            b.problem(where, f'unknown jurisdiction "{name}"; jurisdictions are '
                      f'{", ".join(sorted(rules))}', key=True)
            continue
        days = retention_days(value)
        if days is None:
            b.problem(where, f"expected a duration such as 730d, 104w or 2y (days, weeks, "
                      f"years of 365 days; at least 1 day), got {value!r}")
        else:
            retention[name] = days
    return ConsentPolicy(MappingProxyType(rules),
                         MappingProxyType({c.upper(): n for c, n in doc.countries.items()}),
                         tuple(dict.fromkeys(doc.handoff_channels)), tuple(overlays),
                         MappingProxyType(retention))


def retention_days(value: object) -> int | None:
    """Days of a retention bound: ``730d``, ``104w``, ``2y`` (365 days) or a number of
    days; None when it is not one (or under a day, or over 100 years).

    >>> retention_days("730d"), retention_days("2y"), retention_days(90), retention_days("0d")
    (730, 730, 90, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        days = value
    else:
        text = str(value).strip().lower()
        unit = {"d": 1, "w": 7, "y": 365}.get(text[-1:]) if text else None
        if unit is None or not text[:-1].isdigit():
            return None
        days = int(text[:-1]) * unit
    return days if 1 <= days <= 36500 else None


def _attributes(b: Builder) -> set[str] | None:
    """Every attribute a team or seller of the model's routing has (None: no routing)."""
    if not b.teams:
        return None
    return {a for team in b.teams.values() for a in
            [*team.attributes, *(x for m in team.members for x in m.attributes)]}
