"""The model's optional `attribution:` section as frozen values: the lookback window, the
shares of the position-based models, the time-decay half-life, the Markov and Shapley
options and the buying-committee role weights. Every value has a default
(docs/attribution.md); `attribution_from_doc` checks that a model's shares add up.

>>> s = AttributionSettings()
>>> s.u, s.w.anchors, s.markov.order
(Position(first=0.4, last=0.4), (0.3, 0.3, 0.3), 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mql.model.document import AttributionDoc


@dataclass(frozen=True, slots=True)
class Position:
    """A position-based model: `first` and `last` of the credit on the first and the last
    touch, the rest spread evenly over the touches between (a journey of two touches
    splits in the ratio first:last; of one touch, all of it)."""

    first: float
    last: float

    def __post_init__(self) -> None:
        if min(self.first, self.last) < 0 or self.first + self.last > 1 + 1e-12:
            raise ValueError(f"first {self.first:g} + last {self.last:g}: expected shares "
                             ">= 0 adding up to at most 1")
        if self.first + self.last == 0:
            raise ValueError("first and last are both 0: no touch would get credit")


@dataclass(frozen=True, slots=True)
class Anchored:
    """W and Z: `anchors` shares on the anchor touches (W: first touch, lead creation,
    opportunity creation; Z: the same and the close), the rest spread evenly over the
    other touches."""

    anchors: tuple[float, ...]

    def __post_init__(self) -> None:
        if min(self.anchors) < 0 or math.fsum(self.anchors) > 1 + 1e-12:
            raise ValueError(f"anchor shares {list(self.anchors)}: expected shares >= 0 "
                             "adding up to at most 1")
        if math.fsum(self.anchors) == 0:
            raise ValueError("every anchor share is 0")


@dataclass(frozen=True, slots=True)
class MarkovSettings:
    """`order`: how many past channels a state remembers; `allocation`: `total` (each
    channel's share of its removal effects, times every conversion: ChannelAttribution)
    or `journey` (each converting journey split over its own channels by their removal
    effects: marketing-attribution-models); `self_transitions`: `keep` or `drop` (a
    channel repeated in a row counted once)."""

    order: int = 1
    allocation: str = "total"
    self_transitions: str = "keep"

    def __post_init__(self) -> None:
        if self.order < 1:
            raise ValueError(f"markov order must be >= 1, got {self.order}")
        if self.allocation not in ("total", "journey"):
            raise ValueError(f"markov allocation {self.allocation!r}: expected total or journey")
        if self.self_transitions not in ("keep", "drop"):
            raise ValueError(f"markov self_transitions {self.self_transitions!r}: expected "
                             "keep or drop")


@dataclass(frozen=True, slots=True)
class ShapleySettings:
    """`value`: the characteristic function (`conversions`: what the journeys using only
    a coalition's channels converted; `rate`: their conversion rate); exact enumeration
    up to `exact_up_to` channels, beyond that `samples` random orders (`seed`);
    `ordered`: the players are (channel, position of its first touch) pairs."""

    value: str = "conversions"
    exact_up_to: int = 15
    samples: int = 2000
    seed: int = 7
    ordered: bool = False

    def __post_init__(self) -> None:
        if self.value not in ("conversions", "rate"):
            raise ValueError(f"shapley value {self.value!r}: expected conversions or rate")
        if not 1 <= self.exact_up_to <= 22:
            raise ValueError(f"shapley exact_up_to must be 1..22, got {self.exact_up_to}")
        if self.samples < 2:
            raise ValueError(f"shapley samples must be >= 2, got {self.samples}")


@dataclass(frozen=True, slots=True)
class AttributionSettings:
    """`lookback_days`: touches older than this before the conversion are not credited;
    `direct_channels`: what last-non-direct skips; `half_life_days`: time decay (a touch
    this long before the conversion gets half the weight of one at it); `roles`: weight of
    a committee member's touches by buying role at the account level (`default` for the
    rest; empty: every member counts the same)."""

    lookback_days: float = 90.0
    direct_channels: tuple[str, ...] = ("direct",)
    half_life_days: float = 7.0
    u: Position = Position(0.4, 0.4)
    j: Position = Position(0.2, 0.6)
    inverse_j: Position = Position(0.6, 0.2)
    w: Anchored = Anchored((0.3, 0.3, 0.3))
    z: Anchored = Anchored((0.225, 0.225, 0.225, 0.225))
    markov: MarkovSettings = field(default_factory=MarkovSettings)
    shapley: ShapleySettings = field(default_factory=ShapleySettings)
    roles: tuple[tuple[str, float], ...] = ()
    default_role_weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.lookback_days > 0 or not self.half_life_days > 0:
            raise ValueError("lookback_days and half_life_days must be > 0")

    def role_weight(self, role: str | None) -> float:
        """The weight of a touch by a member in `role` (None: no known role)."""
        for name, weight in self.roles:
            if name == role:
                return weight
        return self.default_role_weight


def attribution_from_doc(doc: AttributionDoc) -> AttributionSettings:
    """The frozen settings of a checked `attribution` section; raises `ValueError` naming
    the part whose shares do not add up."""
    d = AttributionSettings()

    def part(name: str, make: Any) -> Any:
        try:
            return make()
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None

    def position(name: str, given: Any, default: Position) -> Position:
        if given is None:
            return default
        made: Position = part(name, lambda: Position(
            default.first if given.first is None else given.first,
            default.last if given.last is None else given.last))
        return made

    def anchored(name: str, given: Any, keys: tuple[str, ...], default: Anchored) -> Anchored:
        if given is None:
            return default
        values = tuple(default.anchors[i] if getattr(given, k) is None else getattr(given, k)
                       for i, k in enumerate(keys))
        made: Anchored = part(name, lambda: Anchored(values))
        return made

    m = doc.markov
    s = doc.shapley
    return AttributionSettings(
        lookback_days=doc.lookback_days, direct_channels=tuple(doc.direct_channels),
        half_life_days=doc.half_life_days,
        u=position("u", doc.u, d.u), j=position("j", doc.j, d.j),
        inverse_j=position("inverse_j", doc.inverse_j, d.inverse_j),
        w=anchored("w", doc.w, ("first", "lead", "opportunity"), d.w),
        z=anchored("z", doc.z, ("first", "lead", "opportunity", "close"), d.z),
        markov=part("markov", lambda: MarkovSettings(m.order, m.allocation,
                                                     m.self_transitions)),
        shapley=part("shapley", lambda: ShapleySettings(s.value, s.exact_up_to, s.samples,
                                                        s.seed, s.ordered)),
        roles=tuple((k, v) for k, v in doc.roles.items() if k != "default"),
        default_role_weight=doc.roles.get("default", 1.0))


def attribution_data(settings: AttributionSettings) -> dict[str, Any]:
    """The `attribution` section for `settings` (`attribution_from_doc` reads it back)."""
    w, z = settings.w.anchors, settings.z.anchors
    roles = dict(settings.roles)
    if settings.default_role_weight != 1.0:
        roles["default"] = settings.default_role_weight
    return {
        "lookback_days": settings.lookback_days,
        "direct_channels": list(settings.direct_channels),
        "half_life_days": settings.half_life_days,
        "u": {"first": settings.u.first, "last": settings.u.last},
        "j": {"first": settings.j.first, "last": settings.j.last},
        "inverse_j": {"first": settings.inverse_j.first, "last": settings.inverse_j.last},
        "w": {"first": w[0], "lead": w[1], "opportunity": w[2]},
        "z": {"first": z[0], "lead": z[1], "opportunity": z[2], "close": z[3]},
        "markov": {"order": settings.markov.order, "allocation": settings.markov.allocation,
                   "self_transitions": settings.markov.self_transitions},
        "shapley": {"value": settings.shapley.value,
                    "exact_up_to": settings.shapley.exact_up_to,
                    "samples": settings.shapley.samples, "seed": settings.shapley.seed,
                    "ordered": settings.shapley.ordered},
        **({"roles": roles} if roles else {}),
    }
