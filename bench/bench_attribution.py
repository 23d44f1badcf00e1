"""Markov attribution, exact, on a million journeys, against an independent exact
computation in the same run (and ChannelAttribution's Monte Carlo when that package is
installed: it is GPL-licensed, so it is never a dependency of mql, only a comparison).

The journeys: `--attr-journeys` (1,000,000) over 10 channels, lengths 1-8, generated with
a fixed seed from known channel effects: a journey converts with probability
`base + sum of the lifts of the distinct channels it touched` (about 5% convert). The true
credit of a channel is then its lift times the journeys that touched it; each model's
channel shares are compared with those true shares (the L1 distance, 0 is perfect; 2 is
the worst).

Measured in CPU seconds of the process (`time.process_time`: the shared machine's
queue for a core left out; NumPy and SciPy on one core): mql's exact removal effects (order
1..3, from the raw paths: transition counting included), the reference (transitions
counted in pure Python over the aggregated paths, the absorbing chain solved densely with
`numpy.linalg.solve`, a different algorithm from the sparse one), the largest difference
of the removal effects (required: 1e-9), and the rule models and Shapley over the same
paths.

Then a realistic store (`--attr-contacts`, 20,000 contacts with ~400,000 touches, the
store of `bench_reports`: opportunities, spend per channel): `mql attribute --model all`
at the contact and at the account level (the ledger read, the journeys assembled, every
model), against a hand-written SQL of first-touch attribution on the store in the same
run (its counts must equal mql's `first` model).

    python -m bench --only attribution --attr-journeys 1000000 --attr-contacts 20000
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from collections import Counter
from typing import Any

import numpy as np

from mql.attribution.compare import attribute
from mql.attribution.journeys import Journey, Touch
from mql.attribution.markov import PathArrays, allocate, removal_effects

CHANNELS = ("direct", "email", "events", "organic", "paid_search", "paid_social",
            "partner", "webinar", "content", "review_sites")
# conversion lift per distinct channel touched; awareness channels (events, webinar,
# content) lift more than they show up last
LIFTS = np.array([0.002, 0.006, 0.020, 0.004, 0.008, 0.003, 0.010, 0.015, 0.012, 0.005])
BASE = 0.005


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("attribution")
    group.add_argument("--attr-journeys", type=int, default=1_000_000,
                       help="journeys of the Markov benchmark (default 1,000,000)")
    group.add_argument("--attr-seed", type=int, default=18, help="seed of the journeys")
    group.add_argument("--attr-repeats", type=int, default=5,
                       help="timings are the best of this many runs (default 5)")
    group.add_argument("--attr-world", type=int, default=5000,
                       help="accounts of the channel-effects synthetic world whose known "
                       "effects each model should recover (0: skip it)")
    group.add_argument("--attr-contacts", type=int, default=20_000,
                       help="contacts of the realistic store (0: skip it)")
    group.add_argument("--attr-rules-journeys", type=int, default=100_000,
                       help="journeys the rule models and Shapley are timed on")


def journeys(n: int, seed: int) -> tuple[PathArrays, np.ndarray[Any, Any]]:
    """`n` journeys as arrays, and the true credit per channel (expected conversions
    each channel's lift adds)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, size=n)
    # awareness channels come early, direct and paid search late
    early = np.array([0.2, 0.8, 1.6, 1.0, 0.4, 1.0, 1.0, 1.5, 1.4, 1.0])
    late = np.array([1.6, 1.2, 0.3, 1.0, 1.6, 1.0, 1.0, 0.4, 0.5, 1.0])
    codes = np.full((n, 8), -1, dtype=np.int64)
    for col in range(8):
        frac = col / 7
        weights = early * (1 - frac) + late * frac
        draw = rng.choice(len(CHANNELS), size=n, p=weights / weights.sum())
        codes[:, col] = np.where(col < lengths, draw, -1)
    present = np.zeros((n, len(CHANNELS)), dtype=bool)
    for col in range(8):
        on = codes[:, col] >= 0
        present[np.flatnonzero(on), codes[on, col]] = True
    p = BASE + present @ LIFTS
    converted = rng.random(n) < p
    value = np.where(converted, rng.lognormal(9.5, 0.6, size=n), 0.0)
    truth = (present * LIFTS[None, :]).sum(axis=0)
    return PathArrays(CHANNELS, codes, lengths.astype(np.int64),
                      converted.astype(np.float64), (~converted).astype(np.float64),
                      value), truth


def reference(paths: PathArrays) -> tuple[float, list[float]]:
    """Removal effects, order 1, independently: paths aggregated and transitions counted
    in pure Python, the absorbing chain solved densely."""
    agg: Counter[tuple[int, ...]] = Counter()
    nul: Counter[tuple[int, ...]] = Counter()
    for row, length, conv in zip(paths.codes.tolist(), paths.lengths.tolist(),
                                 paths.conversions.tolist(), strict=True):
        key = tuple(row[:length])
        if conv:
            agg[key] += 1
        else:
            nul[key] += 1
    c = len(paths.channels)
    start, conv_state, null_state = c, c + 1, c + 2
    counts = np.zeros((c + 3, c + 3))
    for table, end in ((agg, conv_state), (nul, null_state)):
        for key, n in table.items():
            previous = start
            for ch in key:
                counts[previous, ch] += n
                previous = ch
            counts[previous, end] += n

    def p_conv(removed: int | None) -> float:
        transient = [s for s in [*range(c), start] if s != removed and counts[s].sum() > 0]
        probs = counts[np.ix_(transient, transient)] / counts[transient].sum(axis=1)[:, None]
        r = counts[transient, conv_state] / counts[transient].sum(axis=1)
        x = np.linalg.solve(np.eye(len(transient)) - probs, r)
        return float(x[transient.index(start)])

    base = p_conv(None)
    return base, [1 - p_conv(i) / base for i in range(c)]


def _best(work: Any, repeats: int) -> tuple[Any, float]:
    """The result of `work()` and its best CPU time over `repeats` runs."""
    best = math.inf
    result = None
    for _ in range(max(1, repeats)):
        began = time.process_time()
        result = work()
        best = min(best, time.process_time() - began)
    return result, best


def _l1(shares: dict[str, float], truth: np.ndarray[Any, Any]) -> float:
    total = sum(shares.values())
    t = truth / truth.sum()
    return float(sum(abs(shares.get(ch, 0.0) / total - t[i]) for i, ch in enumerate(CHANNELS)))


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    n = args.attr_journeys
    paths, truth = journeys(n, args.attr_seed)
    rate = float(paths.conversions.mean())
    mql_s = ref_s = math.inf
    for _ in range(max(1, args.attr_repeats)):  # alternated: both see the same machine
        exact, seconds = _best(lambda: removal_effects(paths, 1), 1)
        mql_s = min(mql_s, seconds)
        (ref_p, ref_effects), seconds = _best(lambda: reference(paths), 1)
        ref_s = min(ref_s, seconds)
    worst = max(abs(a - b) for a, b in zip(exact.effects, ref_effects, strict=True))
    results.append({"bench": "attribution", "metric": "markov_order1_seconds",
                    "value": round(mql_s, 3), "unit": "s", "baseline": round(ref_s, 3),
                    "ratio": round(ref_s / mql_s, 2), "journeys": n,
                    "conversion_rate": round(rate, 4),
                    "baseline_is": "independent exact: pure-Python counts, dense solve"})
    results.append({"bench": "attribution", "metric": "markov_max_abs_difference",
                    "value": worst, "unit": "removal effect", "required": 1e-9,
                    "ok": worst <= 1e-9,
                    "p_conversion": exact.conversion_probability, "reference_p": ref_p})
    results.append(_duckdb_counts(paths, dict(zip(exact.channels, exact.effects,
                                                  strict=True))))
    if importlib.util.find_spec("ChannelAttribution") is not None:  # optional, GPL
        results.extend(_channel_attribution(paths, exact.effects, mql_s,
                                            min(args.attr_rules_journeys, n)))
    for order in (2, 3):
        r, seconds = _best(lambda o=order: removal_effects(paths, o), args.attr_repeats)
        results.append({"bench": "attribution", "metric": f"markov_order{order}_seconds",
                        "value": round(seconds, 3), "unit": "s",
                        "states": r.states, "journeys": n})
    conv, _ = allocate(paths, exact.effects, "total")
    recovered = {"markov": _l1(dict(zip(CHANNELS, conv.tolist(), strict=True)), truth)}
    # the rule models and Shapley on the first journeys, as objects
    m = min(args.attr_rules_journeys, n)
    objects = [Journey(str(i), tuple(Touch(CHANNELS[c]) for c in paths.codes[i, :k]),
                       conversions=float(paths.conversions[i]),
                       nulls=float(paths.nulls[i]), value=float(paths.value[i]))
               for i, k in enumerate(paths.lengths[:m].tolist())]
    sub_truth = journeys(m, args.attr_seed)[1] if m < n else truth
    for model in ("first", "last", "linear", "u", "j", "inverse_j", "shapley"):
        began = time.process_time()
        a = attribute(objects, model)
        seconds = time.process_time() - began
        recovered[model] = _l1(a.conversions, sub_truth)
        results.append({"bench": "attribution", "metric": f"{model}_seconds",
                        "value": round(seconds, 3), "unit": "s", "journeys": m})
    for model, distance in recovered.items():
        results.append({"bench": "attribution", "metric": f"{model}_l1_to_true_shares",
                        "value": round(distance, 4), "unit": "L1 of shares (0 best)"})
    if getattr(args, "attr_world", 0) > 0:
        results.extend(_world_recovery(args.attr_world))
    if args.attr_contacts > 0:
        results.extend(_store(args.attr_contacts))
    return results


def _duckdb_counts(paths: PathArrays, effects: dict[str, float]) -> dict[str, Any]:
    """Order 1 with the transitions counted in DuckDB from the paths' Parquet files."""
    import tempfile
    from pathlib import Path

    from mql.batch.attribution import removal_effects as duckdb_effects
    from mql.batch.attribution import write_paths

    with tempfile.TemporaryDirectory(prefix="mql-bench-markov-") as tmp:
        began = time.perf_counter()
        write_paths(paths, Path(tmp))
        written = time.perf_counter() - began
        began = time.perf_counter()
        r = duckdb_effects(Path(tmp))
        seconds = time.perf_counter() - began
    worst = max(abs(e - effects[c]) for c, e in zip(r.channels, r.effects, strict=True))
    return {"bench": "attribution", "metric": "markov_order1_duckdb_counts_seconds",
            "value": round(seconds, 3), "unit": "s (wall)", "parquet_write": round(written, 3),
            "max_abs_difference": worst, "journeys": len(paths.lengths)}


def _world_recovery(accounts: int) -> list[dict[str, Any]]:
    """Every model at contact and account level on the channel-effects synthetic world
    (`mql synth --channel-effects`): distance of its shares to the true shares."""
    from mql.service.attribution_recovery import recover

    truth, rows = recover(accounts=accounts, months=12, seed=0)
    out: list[dict[str, Any]] = [{
        "bench": "attribution", "metric": "world_true_shares",
        "value": {r.channel: r.true_share for r in truth}, "unit": "share",
        "accounts": accounts, "opportunities": round(sum(r.opportunities for r in truth))}]
    for r in rows:
        out.append({"bench": "attribution", "metric": f"world_{r.level}_{r.model}_distance",
                    "value": round(r.distance, 4), "unit": "total variation (0 best)",
                    "web_channels": round(r.web_distance, 4)})
    return out


FIRST_TOUCH_SQL = """
WITH w AS (
  SELECT o.id, json_extract(e.properties, '$.channel') AS channel,
         row_number() OVER (PARTITION BY o.id ORDER BY e.at, e.seq) AS n
  FROM opportunities o JOIN events e ON e.contact_id = o.primary_contact_id
  WHERE e.at >= strftime('%Y-%m-%d %H:%M:%f', o.opened_at, '-90 days')
    AND e.at <= o.opened_at)
SELECT coalesce(channel, 'other'), count(*) FROM w WHERE n = 1 GROUP BY 1 ORDER BY 1
"""


def _store(contacts: int) -> list[dict[str, Any]]:
    """`mql attribute --model all` on a realistic store against hand-written SQL."""
    import random
    import tempfile
    from datetime import timedelta
    from pathlib import Path

    import sqlalchemy as sa

    from bench.bench_reports import START, _world
    from mql.service.attribution import Query, parse_models, run_attribution
    from mql.service.store import init_workspace
    from mql.store.db import connect

    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mql-bench-attribution-") as tmp:
        ws = init_workspace(Path(tmp) / "ws", now=START)
        engine = connect(ws.database_url)
        try:
            size = _world(engine, contacts, random.Random(18))
            now = START + timedelta(days=400)
            began = time.perf_counter()
            with engine.connect() as conn:
                hand = {str(c): int(n) for c, n in conn.execute(sa.text(FIRST_TOUCH_SQL))}
            hand_s = time.perf_counter() - began
            for level in ("contact", "account"):
                began = time.perf_counter()
                result = run_attribution(engine, Query(parse_models("all"), level=level),
                                         now=now)
                seconds = time.perf_counter() - began
                row: dict[str, Any] = {"bench": "attribution",
                                       "metric": f"store_all_models_{level}_seconds",
                                       "value": round(seconds, 3), "unit": "s",
                                       "baseline": round(hand_s, 3),
                                       "ratio": round(hand_s / seconds, 3),
                                       "baseline_is": "hand-written SQL of first touch",
                                       "models": len(parse_models("all")), **size}
                if level == "contact":
                    first = {r["channel"]: r["first"] for r in result.rows if r["first"]}
                    row["first_touch_agrees"] = first == {k: float(v) for k, v in
                                                          hand.items()}
                    row["opportunities"] = sum(hand.values())
                out.append(row)
        finally:
            engine.dispose()
    return out


def _frame(paths: PathArrays, m: int) -> Any:  # pragma: no cover - optional
    import pandas as pd

    rows: Counter[str] = Counter()
    conv: Counter[str] = Counter()
    for row, length, c in zip(paths.codes[:m].tolist(), paths.lengths[:m].tolist(),
                              paths.conversions[:m].tolist(), strict=True):
        key = " > ".join(CHANNELS[x] for x in row[:length])
        rows[key] += 1
        conv[key] += int(c)
    return pd.DataFrame({"path": list(rows), "conv": [conv[k] for k in rows],
                         "null": [rows[k] - conv[k] for k in rows]})


def _channel_attribution(paths: PathArrays, effects: tuple[float, ...], mql_seconds: float,
                         m: int) -> list[dict[str, Any]]:  # pragma: no cover - optional
    """ChannelAttribution (GPL; importable only when the user put it there) on the same
    paths: its Markov order 1 time and the bias of its Monte Carlo removal effects
    against mql's exact ones, and its first/last/linear heuristics against mql's rules."""
    from ChannelAttribution import heuristic_models, markov_model

    frame = _frame(paths, len(paths.lengths))
    began = time.process_time()
    out = markov_model(frame, "path", "conv", var_null="null", order=1, out_more=True,
                       verbose=0)
    seconds = time.process_time() - began
    table = out["removal_effects"].set_index("channel_name")
    column = "removal_effect" if "removal_effect" in table else table.columns[0]
    removal = table[column]
    bias = [float(removal.get(ch, math.nan)) - e for ch, e in zip(CHANNELS, effects,
                                                                   strict=True)]
    results: list[dict[str, Any]] = [
        {"bench": "attribution", "metric": "channel_attribution_order1_seconds",
         "value": round(seconds, 3), "unit": "s", "mql_exact": round(mql_seconds, 3),
         "ratio": round(seconds / mql_seconds, 2), "journeys": len(paths.lengths)},
        {"bench": "attribution", "metric": "channel_attribution_bias",
         "value": dict(zip(CHANNELS, (round(b, 4) for b in bias), strict=True)),
         "unit": "removal effect (theirs - mql exact)",
         "range": [round(min(bias), 4), round(max(bias), 4)]}]
    small = _frame(paths, m)
    theirs = heuristic_models(small, "path", "conv").set_index("channel_name")
    objects = [Journey(str(i), tuple(Touch(CHANNELS[c]) for c in paths.codes[i, :k]),
                       conversions=float(paths.conversions[i]))
               for i, k in enumerate(paths.lengths[:m].tolist())]
    for model, column in (("first", "first_touch"), ("last", "last_touch"),
                          ("linear", "linear_touch")):
        ours = attribute(objects, model).conversions
        worst = max(abs(float(theirs[column].get(ch, 0.0)) - ours.get(ch, 0.0))
                    for ch in CHANNELS)
        results.append({"bench": "attribution", "metric": f"channel_attribution_{model}_diff",
                        "value": worst, "unit": "conversions (max abs)", "journeys": m,
                        "ok": worst <= 1e-6})
    return results
