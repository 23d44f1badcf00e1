"""Every model through one door: `attribute(journeys, model)` gives the credit per
channel for the conversions and the value, and `compare` runs several models over the
same journeys for the side-by-side table ("which channels does last touch undervalue?").

>>> from mql.attribution.journeys import Journey, Touch
>>> js = [Journey("1", (Touch("events"), Touch("paid_search")), conversions=1, value=100)]
>>> a = attribute(js, "first")
>>> a.conversions, a.value
({'events': 1.0, 'paid_search': 0.0}, {'events': 100.0, 'paid_search': 0.0})
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from mql.attribution.journeys import Journey
from mql.attribution.markov import PathArrays, allocate, removal_effects
from mql.attribution.rules import RULE_MODELS, shares
from mql.attribution.shapley import shapley
from mql.model.attribution import AttributionSettings

MODELS = (*RULE_MODELS, "markov", "shapley")
ALIASES = {"time-decay": "time_decay", "last-non-direct": "last_non_direct",
           "inverse-j": "inverse_j", "full_path": "z", "full-path": "z"}


def model_name(name: str) -> str:
    """The canonical name of a model (`time-decay` is `time_decay`); raises `ValueError`
    naming the choices for an unknown one."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in MODELS:
        raise ValueError(f"unknown attribution model {name!r}; choose one of "
                         f"{', '.join(MODELS)}")
    return key


@dataclass(frozen=True)
class Attribution:
    """One model's credit: conversions and value per channel (every channel of the
    journeys, 0 when it got none), the totals it distributes, and notes (the removal
    effects of a Markov chain, a Shapley estimate's intervals)."""

    model: str
    conversions: dict[str, float]
    value: dict[str, float]
    total_conversions: float
    total_value: float
    details: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _channels(journeys: Sequence[Journey]) -> list[str]:
    return sorted({t.channel for j in journeys for t in j.touches})


def _rule(journeys: Sequence[Journey], model: str, settings: AttributionSettings,
          channels: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    conv: dict[str, list[float]] = {c: [] for c in channels}
    val: dict[str, list[float]] = {c: [] for c in conv}
    for j in journeys:
        if not j.conversions:
            continue
        for t, s in zip(j.touches, shares(model, j, settings), strict=True):
            conv[t.channel].append(s * j.conversions)
            val[t.channel].append(s * j.value)
    return ({c: math.fsum(x) for c, x in conv.items()},
            {c: math.fsum(x) for c, x in val.items()})


def attribute(journeys: Sequence[Journey], model: str,
              settings: AttributionSettings | None = None, *, order: int | None = None,
              lookback: timedelta | None = None) -> Attribution:
    """The credit of `model` (see `MODELS`) over `journeys`, with `settings`' shares and
    options (`order` overrides the Markov order; `lookback`, when given, first drops the
    touches older than that before each conversion). Journeys that converted with no
    touch left are not credited to any channel (the notes count them)."""
    settings = settings or AttributionSettings()
    model = model_name(model)
    if lookback is not None:
        journeys = [j.within(lookback) for j in journeys]
    total_conv = math.fsum(j.conversions for j in journeys if j.touches)
    total_value = math.fsum(j.value for j in journeys if j.touches)
    untouched = sum(1 for j in journeys if not j.touches and j.conversions)
    notes = ([f"{untouched} conversions without a touch in the lookback window are not "
              "credited"] if untouched else [])
    details: dict[str, dict[str, float]] = {}
    channels = _channels(journeys)
    if model in RULE_MODELS:
        conv, val = _rule(journeys, model, settings, channels)
    elif model == "markov":
        m = settings.markov
        k = order or m.order
        paths = PathArrays.of(journeys)
        if m.self_transitions == "drop":
            paths = paths.without_repeats()
        r = removal_effects(paths, k)
        c_arr, v_arr = allocate(paths, r.effects, m.allocation)
        conv = dict(zip(r.channels, map(float, c_arr), strict=True))
        val = dict(zip(r.channels, map(float, v_arr), strict=True))
        details["removal_effect"] = dict(zip(r.channels, r.effects, strict=True))
        notes.append(f"Markov order {k}, {r.states} states, P(conversion) "
                     f"{r.conversion_probability:.4f}, allocation {m.allocation}, "
                     f"self-transitions {m.self_transitions}")
    else:
        s = settings.shapley
        r2 = shapley(journeys, value=s.value, ordered=s.ordered, exact_up_to=s.exact_up_to,
                     samples=s.samples, seed=s.seed)
        conv = dict(zip(r2.channels, r2.conversions, strict=True))
        val = dict(zip(r2.channels, r2.value, strict=True))
        if r2.exact:
            notes.append(f"Shapley ({s.value}{', ordered' if s.ordered else ''}), exact over "
                         f"{len(r2.channels)} channels")
        else:
            details["conversions_ci95"] = dict(zip(r2.channels, r2.conversions_ci,
                                                   strict=True))
            notes.append(f"Shapley ({s.value}) sampled: {r2.samples} random orders, "
                         "95% interval in conversions_ci95")
    for c in channels:
        conv.setdefault(c, 0.0)
        val.setdefault(c, 0.0)
    return Attribution(model, dict(sorted(conv.items())), dict(sorted(val.items())),
                       total_conv, total_value, details, tuple(notes))


def compare(journeys: Sequence[Journey], models: Sequence[str] = MODELS,
            settings: AttributionSettings | None = None, *, order: int | None = None,
            lookback: timedelta | None = None) -> list[Attribution]:
    """`attribute` for each of `models` over the same journeys."""
    if lookback is not None:
        journeys = [j.within(lookback) for j in journeys]
    return [attribute(journeys, m, settings, order=order) for m in models]

