"""The rule-based models: each turns a journey's touches into shares that add up to 1
(the journey's conversions and value are then split by them).

- `first`, `last`: all to the first (last) touch;
- `last_non_direct`: all to the last touch not in a direct channel (the last touch when
  every touch is direct);
- `linear`: equal shares;
- `u`, `j`, `inverse_j` (position-based): `first` and `last` shares on the first and last
  touch, the rest spread evenly over the touches between; with two touches the two split
  in the ratio first:last (U: 50/50), with one touch it takes all;
- `w`, `z`: shares on anchor touches (W: the first touch, the touch of lead creation, the
  touch of opportunity creation; Z adds the last touch before the close), the rest
  spread evenly over the other touches; anchors falling on one touch add up; with no other
  touch the rest goes to the anchors in proportion; a journey of two touches splits 50/50;
- `time_decay`: a touch `d` days before the conversion weighs `2^(-d/half_life)`.

A touch's `weight` (a committee member's role weight) multiplies its share before the
shares are made to add up to 1 again.

>>> from mql.attribution.journeys import Journey, Touch
>>> j = Journey("x", tuple(Touch(c) for c in "abcd"), conversions=1)
>>> [round(s, 12) for s in shares("u", j, AttributionSettings())]
[0.4, 0.1, 0.1, 0.4]
>>> [round(s, 12) for s in shares("w", j, AttributionSettings())]  # lead: the middle touch
[0.3, 0.3, 0.1, 0.3]
"""

from __future__ import annotations

import math
from datetime import datetime

from mql.attribution.journeys import Journey
from mql.model.attribution import Anchored, AttributionSettings, Position

RULE_MODELS = ("first", "last", "last_non_direct", "linear", "u", "w", "z", "time_decay",
               "j", "inverse_j")


def _position(n: int, p: Position) -> list[float]:
    if n == 1:
        return [1.0]
    if n == 2:
        total = p.first + p.last
        return [p.first / total, p.last / total]
    middle = (1.0 - p.first - p.last) / (n - 2)
    return [p.first, *([middle] * (n - 2)), p.last]


def _last_at_or_before(j: Journey, at: datetime | None, default: int) -> int:
    """The index of the last touch at or before `at` (the first touch when every touch is
    later; `default` without a time or without touch times)."""
    if at is None or any(t.at is None for t in j.touches):
        return default
    found = 0
    for i, t in enumerate(j.touches):
        if t.at is not None and t.at <= at:
            found = i
    return found


def _anchored(j: Journey, a: Anchored) -> list[float]:
    n = len(j.touches)
    if n == 1:
        return [1.0]
    if n == 2:
        return [0.5, 0.5]
    last = n - 1
    lead = _last_at_or_before(j, j.lead_at, (n - 1) // 2)
    opportunity = _last_at_or_before(j, j.opportunity_at, last)
    anchors = [0, lead, opportunity, last][:len(a.anchors)]
    out = [0.0] * n
    for index, share in zip(anchors, a.anchors, strict=True):
        out[index] += share
    rest = 1.0 - math.fsum(a.anchors)
    others = [i for i in range(n) if i not in anchors]
    if others:
        for i in others:
            out[i] += rest / len(others)
        return out
    total = math.fsum(out)
    return [v / total for v in out]


def _time_decay(j: Journey, half_life_days: float) -> list[float]:
    times = [t.at for t in j.touches]
    if any(t is None for t in times):
        raise ValueError(f"journey {j.key}: time decay needs the time of every touch")
    end = j.converted_at or max(t for t in times if t is not None)
    return [2.0 ** (-((end - t).total_seconds() / 86400.0) / half_life_days)
            for t in times if t is not None]


def shares(model: str, j: Journey, settings: AttributionSettings) -> list[float]:
    """Each touch's share of `j` under `model` (one of `RULE_MODELS`), adding up to 1;
    empty for a journey without touches. Raises `ValueError` for an unknown model."""
    n = len(j.touches)
    if n == 0:
        return []
    if model == "first":
        raw = [1.0] + [0.0] * (n - 1)
    elif model == "last":
        raw = [0.0] * (n - 1) + [1.0]
    elif model == "last_non_direct":
        direct = set(settings.direct_channels)
        pick = next((i for i in range(n - 1, -1, -1)
                     if j.touches[i].channel not in direct), n - 1)
        raw = [1.0 if i == pick else 0.0 for i in range(n)]
    elif model == "linear":
        raw = [1.0 / n] * n
    elif model in ("u", "j", "inverse_j"):
        raw = _position(n, getattr(settings, model))
    elif model in ("w", "z"):
        raw = _anchored(j, getattr(settings, model))
    elif model == "time_decay":
        raw = _time_decay(j, settings.half_life_days)
    else:
        raise ValueError(f"unknown rule model {model!r}; choose one of {', '.join(RULE_MODELS)}")
    weights = [t.weight for t in j.touches]
    if any(w != 1.0 for w in weights):
        weighted = [r * w for r, w in zip(raw, weights, strict=True)]
        if math.fsum(weighted) > 0:
            raw = weighted
    total = math.fsum(raw)
    return [r / total for r in raw]
