"""Where a conversion rate sits against the health band, in words.

MQL->SQL for B2B SaaS sits between 13% and 27% (the model's `reports.health` sets its
own): below 10% the model generates noise (too loose), above 35% the threshold leaves
pipeline in the queue (too strict). High-intent triggers convert at 40-60%, content
downloads at 5-15%.

>>> from mql.model.reports import HealthBands
>>> bands = HealthBands()
>>> print(judge_mql_to_sql(0.08, 50, bands).words)  # doctest: +NORMALIZE_WHITESPACE
too loose: 8% of MQLs become SQLs, under 10%; the model qualifies noise (raise the
threshold or tighten the criteria)
>>> judge_mql_to_sql(0.2, 50, bands).position
'healthy'
>>> judge_mql_to_sql(None, 0, bands).position
'no_data'
>>> judge_trigger("content", 0.3, 20, bands).position
'above'
"""

from __future__ import annotations

from dataclasses import dataclass

from mql.model.reports import Band, HealthBands

# under this many mature MQLs a rate says little; the verdict says so
MIN_SAMPLE = 50


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rate's position against its band: `position` is one of no_data, too_loose,
    below, healthy, above, too_strict; `words` says it to a person."""

    position: str
    words: str
    rate: float | None
    band: Band

    def __str__(self) -> str:
        return self.words


def pct(rate: float) -> str:
    """A share as a whole percent (0.125 -> '12%', 0.004 -> '0.4%').

    >>> pct(0.125), pct(0.004), pct(1.0)
    ('12%', '0.4%', '100%')
    """
    value = rate * 100
    return f"{value:.1f}%" if 0 < value < 1 else f"{value:.0f}%"


def _small(n: int) -> str:
    return f" (only {n} mature MQLs: read with care)" if n < MIN_SAMPLE else ""


def judge_mql_to_sql(rate: float | None, mature: int, bands: HealthBands) -> Verdict:
    """The verdict on an MQL->SQL rate measured on `mature` MQLs."""
    band = bands.mql_to_sql
    if rate is None or mature == 0:
        return Verdict("no_data", "no mature MQLs yet: the cohorts are still open", None, band)
    said = f"{pct(rate)} of MQLs become SQLs"
    if rate < bands.too_loose:
        position, words = "too_loose", (
            f"too loose: {said}, under {pct(bands.too_loose)}; the model qualifies noise "
            "(raise the threshold or tighten the criteria)")
    elif rate < band.low:
        position, words = "below", (
            f"below the band: {said}, under {pct(band.low)}-{pct(band.high)}; watch the "
            "MQL definition for noise")
    elif rate <= band.high:
        position, words = "healthy", f"healthy: {said}, within {pct(band.low)}-{pct(band.high)}"
    elif rate <= bands.too_strict:
        position, words = "above", (
            f"above the band: {said}, over {pct(band.low)}-{pct(band.high)}; the threshold "
            "may hold back leads sales would take")
    else:
        position, words = "too_strict", (
            f"too strict: {said}, over {pct(bands.too_strict)}; the threshold leaves "
            "pipeline in the queue (lower it or add criteria)")
    return Verdict(position, words + _small(mature), rate, band)


def judge_trigger(kind: str, rate: float | None, mature: int, bands: HealthBands) -> Verdict:
    """The verdict on the MQL->SQL rate of MQLs of one trigger kind (high_intent,
    content): below, healthy or above its band."""
    band = bands.high_intent if kind == "high_intent" else bands.content
    name = "high-intent" if kind == "high_intent" else "content"
    if rate is None or mature == 0:
        return Verdict("no_data", f"no mature {name} MQLs", None, band)
    within = f"{pct(band.low)}-{pct(band.high)}"
    if rate < band.low:
        position, words = "below", f"{name} MQLs convert at {pct(rate)}, under {within}"
    elif rate <= band.high:
        position, words = "healthy", f"{name} MQLs convert at {pct(rate)}, within {within}"
    else:
        position, words = "above", f"{name} MQLs convert at {pct(rate)}, over {within}"
    return Verdict(position, words + _small(mature), rate, band)


TRIGGERS = ("high_intent", "content", "other")


def health_row(counts: dict[str, tuple[int, int, int]], bands: HealthBands) -> dict[str, object]:
    """The health of one segment from its MQLs per trigger kind (`counts`: kind ->
    (mature MQLs, of them SQLs, all MQLs)): the MQL->SQL rate on mature MQLs with its
    verdict, the trigger mix and each trigger's rate against its band.

    >>> row = health_row({"high_intent": (10, 5, 10), "content": (30, 3, 30)}, HealthBands())
    >>> row["mql_to_sql"], row["position"], row["high_intent_share"]
    (0.2, 'healthy', 0.25)
    >>> row["content_verdict"]
    'content MQLs convert at 10%, within 5%-15% (only 30 mature MQLs: read with care)'
    """
    mature = sum(c[0] for c in counts.values())
    sql = sum(c[1] for c in counts.values())
    everyone = sum(c[2] for c in counts.values())
    overall = judge_mql_to_sql(sql / mature if mature else None, mature, bands)
    out: dict[str, object] = {"mqls": everyone, "mature_mqls": mature, "mature_sql": sql,
                              "mql_to_sql": overall.rate, "position": overall.position,
                              "verdict": overall.words}
    for kind in TRIGGERS:
        m, s, n = counts.get(kind, (0, 0, 0))
        out[f"{kind}_share"] = n / everyone if everyone else None
    for kind in ("high_intent", "content"):
        m, s, _ = counts.get(kind, (0, 0, 0))
        verdict = judge_trigger(kind, s / m if m else None, m, bands)
        out[f"{kind}_mql_to_sql"] = verdict.rate
        out[f"{kind}_verdict"] = verdict.words
    return out
