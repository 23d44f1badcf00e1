"""`mql attribute` and `GET /v1/reports/attribution`: multi-touch attribution of the
opportunities, pipeline and won revenue to channels (campaigns, content), at the contact
or the account level, from the stored ledger or from a paths or journey file; one model
or several side by side. One computation (`mql.attribution`) for both faces; the result is
a `ReportResult` like every report.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from mql.attribution.assemble import (
    KEYS,
    LEVELS,
    LedgerOpportunity,
    LedgerTouch,
    Person,
    assemble,
)
from mql.attribution.compare import MODELS, Attribution, attribute, model_name
from mql.attribution.journeys import Journey, Touch, parse_path
from mql.batch.reports import ALL_TIME, Window
from mql.errors import ConfigError
from mql.model.attribution import AttributionSettings, MarkovSettings
from mql.model.spec import Model
from mql.service import state as states
from mql.service.reports import ReportResult
from mql.service.scoring import load_model_file
from mql.store import attribution as store
from mql.store.db import translate_errors
from mql.store.ledger import cost_columns
from mql.store.migrate import check

MEASURES = ("opportunities", "pipeline", "won", "revenue")
SIDE_BY_SIDE = ("first", "last", "last_non_direct", "linear", "u", "w", "z", "time_decay",
                "j", "inverse_j", "markov", "shapley")


@dataclass(frozen=True)
class Query:
    """What to attribute: `models` (one: its full table; several: side by side on
    `measure`), `level`, `by` (channel, campaign or content), the window of conversions,
    and the Markov order and options (None: the model file's)."""

    models: tuple[str, ...] = ("linear",)
    level: str = "contact"
    by: str = "channel"
    measure: str = "opportunities"
    window: Window = ALL_TIME
    order: int | None = None
    allocation: str | None = None
    self_transitions: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ConfigError(f"--level {self.level!r}: expected contact or account")
        if self.by not in KEYS:
            raise ConfigError(f"--by {self.by!r}: expected channel, campaign or content")
        if self.measure not in MEASURES:
            raise ConfigError(f"--measure {self.measure!r}: expected {', '.join(MEASURES)}")
        if self.order is not None and not 1 <= self.order <= 6:
            raise ConfigError(f"--order {self.order}: expected 1 to 6")


def parse_models(text: str) -> tuple[str, ...]:
    """`linear`, `first,last,markov` or `all` as model names; `ConfigError` naming the
    choices for an unknown one."""
    if text.strip().lower() == "all":
        return SIDE_BY_SIDE
    try:
        names = tuple(model_name(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"--model: {exc}") from None
    if not names:
        raise ConfigError(f"--model: choose one of {', '.join(MODELS)} or all")
    return tuple(dict.fromkeys(names))


def _settings(base: AttributionSettings, q: Query) -> AttributionSettings:
    m = base.markov
    try:
        markov = MarkovSettings(q.order or m.order, q.allocation or m.allocation,
                                q.self_transitions or m.self_transitions)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return AttributionSettings(
        base.lookback_days, base.direct_channels, base.half_life_days, base.u, base.j,
        base.inverse_j, base.w, base.z, markov, base.shapley, base.roles,
        base.default_role_weight)


def _aware(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _run(journeys_created: list[Journey], journeys_won: list[Journey] | None,
         settings: AttributionSettings, q: Query) -> list[tuple[str, Attribution,
                                                                Attribution | None]]:
    out = []
    for m in q.models:
        try:
            created = attribute(journeys_created, m, settings)
            won = attribute(journeys_won, m, settings) if journeys_won is not None else None
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        out.append((m, created, won))
    return out


def _share(x: float, total: float) -> float | None:
    return x / total if total else None


def _result(results: list[tuple[str, Attribution, Attribution | None]], q: Query,
            as_of: datetime, notes: list[str], spend: dict[str, float] | None,
            ledger: bool) -> ReportResult:
    keys = sorted({k for _, a, w in results for k in [*a.conversions,
                                                      *(w.conversions if w else [])]})
    for _, a, w in results:
        labelled = [*a.notes, *(f"won deals: {n}" for n in (w.notes if w else ()))]
        notes.extend(n for n in labelled if n not in notes)
    if len(results) == 1:
        m, a, w = results[0]
        if ledger:
            columns = [q.by, "opportunities", "share", "pipeline", "won", "revenue"]
        else:
            columns = [q.by, "conversions", "share", "value"]
        if "removal_effect" in a.details:
            columns.append("removal_effect")
        if "conversions_ci95" in a.details:
            columns.append("conversions_ci95")
        if spend is not None:
            columns += ["spend", "cost_per_opportunity", "cost_per_won"]
        rows = []
        for k in keys:
            conv = a.conversions.get(k, 0.0)
            row: dict[str, Any] = {q.by: k}
            if ledger:
                row.update(opportunities=conv, share=_share(conv, a.total_conversions),
                           pipeline=a.value.get(k, 0.0),
                           won=w.conversions.get(k, 0.0) if w else None,
                           revenue=w.value.get(k, 0.0) if w else None)
            else:
                row.update(conversions=conv, share=_share(conv, a.total_conversions),
                           value=a.value.get(k, 0.0))
            for detail in ("removal_effect", "conversions_ci95"):
                if detail in a.details:
                    row[detail] = a.details[detail].get(k)
            if spend is not None:
                cost = spend.get(k, 0.0)
                won_k = w.conversions.get(k, 0.0) if w else 0.0
                row.update(spend=cost, cost_per_opportunity=cost / conv if conv > 0 else None,
                           cost_per_won=cost / won_k if won_k > 0 else None)
            rows.append(row)
        total: dict[str, Any] = {q.by: "total"}
        for c in columns[1:]:
            values = [r[c] for r in rows if isinstance(r.get(c), float)]
            total[c] = (math.fsum(values) if c in ("opportunities", "conversions", "pipeline",
                                                    "won", "revenue", "value", "spend", "share")
                        else None)
        if spend is not None:
            total["cost_per_opportunity"] = (total["spend"] / total["opportunities"]
                                             if total["opportunities"] else None)
            total["cost_per_won"] = (total["spend"] / total["won"] if total["won"] else None)
        report = f"attribution ({m}, {q.level} level)"
        return ReportResult(report, [q.by], as_of, q.window, columns, rows, total, notes)
    measure = q.measure if ledger else ("conversions" if q.measure in ("opportunities", "won")
                                        else "value")

    def number(a: Attribution, w: Attribution | None, k: str) -> float:
        if measure in ("opportunities", "conversions"):
            return a.conversions.get(k, 0.0)
        if measure in ("pipeline", "value"):
            return a.value.get(k, 0.0)
        assert w is not None
        return w.conversions.get(k, 0.0) if measure == "won" else w.value.get(k, 0.0)

    names = [m for m, _, _ in results]
    columns = [q.by, *names]
    has_last = "last" in names and len(names) > 1
    if has_last:
        columns.append("last_touch_gap")
    rows = []
    for k in keys:
        row = {q.by: k, **{m: number(a, w, k) for m, a, w in results}}
        if has_last:
            others = [row[m] for m in names if m != "last"]
            row["last_touch_gap"] = row["last"] - math.fsum(others) / len(others)
        rows.append(row)
    total = {q.by: "total", **{m: math.fsum(r[m] for r in rows) for m in names}}
    if has_last:
        total["last_touch_gap"] = None
        under = sorted((r for r in rows if r["last_touch_gap"] < -0.05),
                       key=lambda r: r["last_touch_gap"])[:3]
        if under:
            notes.insert(0, "last touch undervalues " + ", ".join(
                f"{r[q.by]} ({r['last_touch_gap']:+,.1f} {measure} against the other "
                "models' average)" for r in under))
    return ReportResult(f"attribution by model ({measure}, {q.level} level)", [q.by], as_of,
                        q.window, columns, rows, total, notes)


def _month_spend(window: Window, costs: dict[str, list[Any]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for month, channel, amount in zip(costs["month"], costs["channel"], costs["amount"],
                                      strict=True):
        first = datetime.strptime(str(month)[:7] + "-01", "%Y-%m-%d").replace(tzinfo=UTC)
        if window.start is not None and first < window.start.replace(
                day=1, hour=0, minute=0, second=0, microsecond=0):
            continue
        if window.end is not None and first >= window.end:
            continue
        totals[channel] = totals.get(channel, 0.0) + float(amount or 0.0)
    return totals


def read_ledger(engine: Engine, model: Model, q: Query, *, now: datetime
                ) -> tuple[list[Journey], list[Journey], list[str], dict[str, float] | None]:
    """The created and won journeys of the stored ledger as of `now`, the notes, and the
    spend per channel in the window (None unless by channel)."""
    with translate_errors("reading the ledger"), engine.connect() as conn:
        t = store.touch_columns(conn, now)
        p = store.people_columns(conn)
        o = store.opportunity_columns(conn)
        r = store.role_columns(conn)
        costs = cost_columns(conn) if q.by == "channel" else None
    touches = [LedgerTouch(*row) for row in zip(
        t["contact_id"], t["account_id"], map(_aware, t["at"]), t["channel"], t["utm_medium"],
        t["utm_source"], t["campaign"], t["content"], strict=True)]
    people = {i: Person(a, role, _aware(m)) for i, a, role, m in zip(
        p["id"], p["account_id"], p["role"], p["mql_at"], strict=True)}
    first_role: dict[int, int] = {}
    roles: dict[tuple[str, int], str] = {}
    keys = dict(zip(o["id"], o["external_id"], strict=True))
    for opp, contact, role, _primary in zip(r["opportunity_id"], r["contact_id"], r["role"],
                                            r["is_primary"], strict=True):
        first_role.setdefault(opp, contact)
        if role:
            roles[(keys.get(opp, ""), contact)] = str(role)
    opps = [LedgerOpportunity(ext, account, primary or first_role.get(i), amount,
                              str(status), _aware(opened))
            for i, ext, account, primary, amount, status, opened in zip(
                o["id"], o["external_id"], o["account_id"], o["primary_contact_id"],
                o["amount"], o["status"], o["opened_at"], strict=True)
            if _aware(opened) <= now]
    built = assemble(touches, opps, people, roles, _settings(model.attribution, q),
                     model.reports, level=q.level, by=q.by, start=q.window.start,
                     end=q.window.end)
    spend = None if costs is None else _month_spend(q.window, costs)
    return built.created, built.won, built.notes, spend


def run_attribution(engine: Engine, q: Query, *, now: datetime) -> ReportResult:
    """`q` over the stored ledger as of `now`, with the live model's attribution settings
    and channel table."""
    check(engine)
    with translate_errors("reading the model"), engine.connect() as conn:
        model = states.live_model(conn).model
    settings = _settings(model.attribution, q)
    created, won, notes, spend = read_ledger(engine, model, q, now=now)
    converted = sum(1 for j in created if j.conversions)
    if not converted:
        notes.append("no opportunity was created in the window: load them with `mql ingest "
                     "opportunities FILE` (docs/outcomes.md)")
    notes.insert(0, f"{converted} opportunities, {len(created) - converted} journeys without "
                    f"one; touches up to {settings.lookback_days:g} days before each "
                    "opportunity was created")
    return _result(_run(created, won, settings, q), q, now, notes, spend, ledger=True)


# -- files: the ChannelAttribution paths format, and one row per touch -------------------

def _number(value: str | None, where: str, name: str) -> float:
    text = (value or "").strip()
    if not text:
        return 0.0
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {text!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {text!r}")
    return number


def _pick(header: Sequence[str], *names: str) -> str | None:
    lower = {h.strip().lower(): h for h in header}
    return next((lower[n] for n in names if n in lower), None)


def read_paths(path: Path) -> tuple[list[Journey], list[str]]:
    """Journeys of a paths file (`path`, `total_conversions`, `total_null`, optional
    `total_conversion_value`; also `conversions`, `nulls`, `value`); a bad row is left out
    and named in the notes (file, row, field)."""
    notes: list[str] = []
    journeys: list[Journey] = []
    with _open(path) as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        col_path = _pick(header, "path")
        col_conv = _pick(header, "total_conversions", "conversions", "conversion")
        col_null = _pick(header, "total_null", "total_nulls", "nulls", "null")
        col_value = _pick(header, "total_conversion_value", "conversion_value", "value")
        if col_path is None or col_conv is None:
            raise ConfigError(f"{path}: a paths file needs the columns path and "
                              f"total_conversions (found {', '.join(header) or 'none'})")
        for i, row in enumerate(reader, start=2):
            where = f"{path}:{i}"
            try:
                steps = parse_path(row.get(col_path) or "")
                conv = _number(row.get(col_conv), where, col_conv)
                null = _number(row.get(col_null), where, col_null) if col_null else 0.0
                value = _number(row.get(col_value), where, col_value) if col_value else 0.0
                journeys.append(Journey(f"{where}", tuple(Touch(s) for s in steps),
                                        conversions=conv, nulls=null, value=value))
            except ValueError as exc:
                notes.append(f"{where} left out: {exc}")
    return journeys, notes


def read_journeys(path: Path) -> tuple[list[Journey], list[str]]:
    """Journeys of a journey file, one row per touch: `id`, `time`, `channel`,
    `conversion` (1 on the touch at which the journey converted; its later touches start
    a new journey of the same id), optional `value`. A bad row is left out and named."""
    from mql.ingest.formats import parse_time

    notes: list[str] = []
    rows: dict[str, list[tuple[datetime, int, str, bool, float]]] = {}
    with _open(path) as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        cols = {n: _pick(header, *alts) for n, alts in (
            ("id", ("id", "journey_id", "customer_id", "contact")),
            ("time", ("time", "at", "timestamp")), ("channel", ("channel",)),
            ("conversion", ("conversion", "converted", "total_conversions")),
            ("value", ("value", "conversion_value")))}
        missing = [n for n in ("id", "channel", "conversion") if cols[n] is None]
        if missing:
            raise ConfigError(f"{path}: a journey file needs the columns id, time, channel "
                              f"and conversion (missing {', '.join(missing)})")
        for i, row in enumerate(reader, start=2):
            where = f"{path}:{i}"
            try:
                key = (row.get(cols["id"] or "") or "").strip()
                channel = (row.get(cols["channel"] or "") or "").strip()
                if not key or not channel:
                    raise ValueError(f"{'id' if not key else 'channel'}: empty")
                at = (parse_time(row.get(cols["time"]), source=str(path), row=i,
                                 field=cols["time"]) if cols["time"] else
                      datetime(1970, 1, 1, tzinfo=UTC))
                conv = _number(row.get(cols["conversion"] or ""), where, "conversion") > 0
                value = (_number(row.get(cols["value"]), where, "value")
                         if cols["value"] else 0.0)
            except ValueError as exc:
                notes.append(f"{where} left out: {exc}")
                continue
            rows.setdefault(key, []).append((at, i, channel, conv, value))
    journeys: list[Journey] = []
    for key, touches in rows.items():
        touches.sort()
        current: list[Touch] = []
        for at, _, channel, conv, value in touches:
            current.append(Touch(channel, at))
            if conv:
                journeys.append(Journey(key, tuple(current), conversions=1.0, value=value,
                                        converted_at=at, opportunity_at=at))
                current = []
        if current:
            journeys.append(Journey(key, tuple(current), nulls=1.0))
    return journeys, notes


def _open(path: Path) -> Any:
    try:
        return path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def attribute_file(path: Path, q: Query, *, kind: str, now: datetime,
                   model_path: Path | None = None) -> ReportResult:
    """`q` over a paths file (`kind="paths"`) or a journey file (`kind="journeys"`), with
    the attribution settings of `model_path` (default: the built-in defaults)."""
    base = load_model_file(model_path).attribution if model_path else AttributionSettings()
    settings = _settings(base, q)
    timeless: list[str] = []
    if kind == "paths" and "time_decay" in q.models:
        if len(q.models) == 1:
            raise ConfigError("time decay needs the time of each touch, and a paths file has "
                              "none: use a journey file (--journeys) or another model")
        q = replace(q, models=tuple(m for m in q.models if m != "time_decay"))
        timeless.append("time_decay left out: a paths file has no touch times")
    journeys, notes = read_paths(path) if kind == "paths" else read_journeys(path)
    if not journeys:
        raise ConfigError(f"{path}: no journeys to attribute")
    if kind == "journeys":
        from datetime import timedelta
        journeys = [j.within(timedelta(days=settings.lookback_days)) for j in journeys]
    conv = math.fsum(j.conversions for j in journeys)
    notes.insert(0, f"{len(journeys)} {'paths' if kind == 'paths' else 'journeys'}, "
                    f"{conv:g} conversions from {path.name}")
    notes[1:1] = timeless
    return _result(_run(journeys, None, settings, q), q, now, notes, None, ledger=False)


