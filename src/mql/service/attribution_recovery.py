"""How well each attribution model recovers the known channel effects of a synthetic world
(`mql synth --channel-effects`, `mql.synthetic.channel_effects`): the world is generated in
memory, its touches and opportunities are assembled into journeys exactly as the stored
ledger's are (`mql.attribution.assemble`), every model runs at contact and account level,
and each model's conversion shares are compared with the true shares.

Two distances (total variation, 0 = the truth, 1 = nothing in common): over every channel
the models see (email, events and untagged touches have a true share of 0, so credit they
get is misplaced), and over the web channels alone, renormalised (how well the model ranks
the channels that do have an effect).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mql.attribution.assemble import LedgerOpportunity, LedgerTouch, assemble
from mql.attribution.compare import MODELS, compare
from mql.model.attribution import AttributionSettings
from mql.model.reports import ReportSettings
from mql.synthetic import World, WorldParameters
from mql.synthetic.channel_effects import CHANNEL_EFFECTS, ChannelEffect, true_shares


@dataclass(frozen=True)
class Recovery:
    """One model at one level: its conversion shares and its two distances to the truth."""

    level: str
    model: str
    shares: dict[str, float]
    distance: float
    web_distance: float


def distance(shares: Mapping[str, float], truth: Mapping[str, float]) -> float:
    """Total variation distance between two share tables (missing keys count as 0).

    >>> distance({"a": 0.5, "b": 0.5}, {"a": 1.0})
    0.5
    """
    keys = set(shares) | set(truth)
    return 0.5 * math.fsum(abs(shares.get(k, 0.0) - truth.get(k, 0.0)) for k in keys)


def _normalised(values: Mapping[str, float], keys: Sequence[str]) -> dict[str, float]:
    total = math.fsum(values.get(k, 0.0) for k in keys)
    return {k: (values.get(k, 0.0) / total if total else 0.0) for k in keys}


def ledger(world: World
           ) -> tuple[list[LedgerTouch], list[LedgerOpportunity], list[tuple[str, ...]]]:
    """The world's clean touches and opportunities as the ledger's rows (contacts and
    accounts numbered in order of appearance), and each opportunity's exposed channels."""
    ids: dict[str, int] = {}
    touches: list[LedgerTouch] = []
    opportunities: list[LedgerOpportunity] = []
    exposures: list[tuple[str, ...]] = []
    for piece in world.accounts():
        account = ids.setdefault(piece.account.domain, len(ids) + 1)
        for e in piece.clean_events:
            p = e.properties
            contact = ids.setdefault(e.contact, len(ids) + 1) if e.contact else None
            touches.append(LedgerTouch(
                contact, account, e.at, p.get("channel"), p.get("utm_medium"),
                p.get("utm_source"), p.get("utm_campaign") or p.get("campaign"),
                p.get("utm_content") or p.get("asset")))
        for o in piece.opportunities:
            primary = ids.get(o.primary_contact) if o.primary_contact else None
            opportunities.append(LedgerOpportunity(o.opportunity_id, account, primary,
                                                   o.amount, o.status, o.created_at))
            exposures.append(piece.exposed)
    return touches, opportunities, exposures


def recover(*, accounts: int, months: int, seed: int, models: Sequence[str] = MODELS,
            levels: Sequence[str] = ("contact", "account"),
            settings: AttributionSettings | None = None,
            reports: ReportSettings | None = None
            ) -> tuple[list[ChannelEffect], list[Recovery]]:
    """The truth table of the channel-effects world of `seed` and each model's recovery."""
    settings = settings or AttributionSettings()
    reports = reports or ReportSettings()
    world = World(WorldParameters(accounts=accounts, months=months, channel_effects=True),
                  random.Random(seed))
    touches, opportunities, exposures = ledger(world)
    truth_rows = true_shares(exposures)
    truth = {r.channel: r.true_share for r in truth_rows}
    web = list(CHANNEL_EFFECTS)
    out: list[Recovery] = []
    for level in levels:
        built = assemble(touches, opportunities, {}, {}, settings, reports, level=level)
        for a in compare(built.created, models, settings):
            total = a.total_conversions
            shares = {c: (x / total if total else 0.0) for c, x in a.conversions.items()}
            out.append(Recovery(level, a.model, shares, distance(shares, truth),
                                distance(_normalised(shares, web), _normalised(truth, web))))
    return truth_rows, out
