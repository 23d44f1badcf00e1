"""`mql audit`: whether the live model (or a model file) still describes the company's
leads and deals. Per month, from the store's ledger, through the DuckDB batch engine:

- each contact's score and each rule's value at the end of the month, with whether the
  rule fired during it (`mql.learning.probe`: one extra score per rule, computed by the
  compiler that scores, so a rule has one definition);
- the month's population: contacts that did something the model reads in it;
- PSI of the score and of each rule's firing rate against the months before the split
  (`since`: when the model was made, its activation; `mql.learning.drift`);
- each rule's lift on closed deals before and since the split: a deal's contacts judged
  by the rule's value at the start of the month the deal opened (known before it opened:
  no look-ahead);
- threshold health over time: the health report by month (`service.reports`, the same
  numbers `mql report health --by month` prints).

The numbers are the same on SQLite and PostgreSQL: the store hands the engine the same
ledger either way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.engine import Connection, Engine

from mql.analytics.definitions import Dimension, Report
from mql.batch.asof import AsOf
from mql.batch.conditions import EngineUnsupported
from mql.batch.engines import Inputs, connect
from mql.batch.plan import Plan
from mql.batch.reports import Window
from mql.errors import ConfigError
from mql.learning.drift import (
    SCORE_BINS,
    Bounds,
    Lift,
    RuleDrift,
    Verdict,
    month_psis,
    noise_bound,
    psi,
    quantile_edges,
    shares,
)
from mql.learning.probe import ACTIVE, Probe, probe_model
from mql.model.spec import TOTAL, Model
from mql.records import Account, Contact
from mql.service import reports as report_service
from mql.service import state as states
from mql.service.engine_inputs import write_events
from mql.service.scoring import load_model_file
from mql.store import contacts as contact_store
from mql.store import export, ledger
from mql.store import models as model_store
from mql.store.db import translate_errors
from mql.store.migrate import check

FALLBACK_BASELINE_MONTHS = 3  # the baseline when the model's activation splits nothing


def month_start(t: datetime | date) -> date:
    return date(t.year, t.month, 1)


def next_month(m: date) -> date:
    return date(m.year + m.month // 12, m.month % 12 + 1, 1)


def _instant(m: date) -> datetime:
    return datetime(m.year, m.month, m.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AuditResult:
    """The audit of `model` over `months` (first days), split at `since`."""

    model: str
    version: str | None
    months: tuple[date, ...]
    since: date
    since_from: str  # what set the split: --since, the activation, or the first months
    active: tuple[int, ...]  # contacts active in each month
    mean_score: tuple[float | None, ...]
    mql_share: tuple[float | None, ...]  # of the active contacts, MQLs at the month's end
    score_psi: tuple[float | None, ...]
    score_noise: tuple[float, ...]  # the PSI each month reaches by chance (`noise_bound`)
    rules: tuple[RuleDrift, ...]
    verdicts: tuple[Verdict, ...]
    health: tuple[dict[str, Any], ...]  # the health report by month
    bounds: Bounds
    notes: tuple[str, ...] = field(default=())

    @property
    def flagged(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.flagged)

    @property
    def score_drifted_since(self) -> date | None:
        return next((m for m, p, noise in zip(self.months, self.score_psi, self.score_noise,
                                              strict=True)
                     if m >= self.since and p is not None and p > max(self.bounds.psi, noise)),
                    None)

    @property
    def drifted(self) -> bool:
        """Whether drift passes a bound: a flagged rule or a drifted score."""
        return bool(self.flagged) or self.score_drifted_since is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "version": self.version,
            "since": self.since.isoformat(), "since_from": self.since_from,
            "drifted": self.drifted,
            "bounds": {"psi": self.bounds.psi, "lift_fall": self.bounds.lift_fall,
                       "separates": self.bounds.separates,
                       "min_outcomes": self.bounds.min_outcomes},
            "score_drifted_since": (None if self.score_drifted_since is None
                                    else f"{self.score_drifted_since:%Y-%m}"),
            "months": month_table(self),
            "rules": [{"rule": r.rule, "score": r.score, "status": v.status,
                       "verdict": v.words, "rate_before": r.rate_before,
                       "rate_since": r.rate_after, "worst_psi": r.worst_psi,
                       "lift_before": r.before.value, "lift_since": r.after.value,
                       "outcomes_before": r.before.total, "outcomes_since": r.after.total,
                       "rates": {f"{m:%Y-%m}": x for m, x in zip(r.months, r.rates,
                                                                  strict=True)}}
                      for r, v in zip(self.rules, self.verdicts, strict=True)],
            "health": [dict(h) for h in self.health],
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class _Month:
    """The engine's rows of one snapshot, reduced to what the audit reads."""

    values: dict[str, dict[str, float]]  # contact email -> probe column -> value
    active: list[str]


@dataclass(frozen=True, slots=True)
class _Outcome:
    email: str
    opened: date  # the month the deal opened in
    won: bool


def _months(first: date, end: date) -> list[date]:
    out, m = [], first
    while m < end:
        out.append(m)
        m = next_month(m)
    return out


def audit(engine: Engine, *, now: datetime, start: date | None = None,
          end: date | None = None, since: date | None = None,
          model_path: Path | None = None, bounds: Bounds | None = None) -> AuditResult:
    """The audit of the live model (or of `model_path`) over the months from `start`
    (default: the first event's) to `end` (exclusive; default: through the current
    month, up to `now`), split at `since` (default: the month after the live version's
    activation, when months lie on both sides of it; else after the first three)."""
    bounds = bounds or Bounds()
    check(engine)
    with translate_errors("reading the ledger for the audit"), engine.connect() as conn:
        live = states.live_model(conn)
        version = model_store.active_version(conn)
        model = load_model_file(model_path) if model_path is not None else live.model
        probe = probe_model(model, window_days=31)
        with _inputs(conn, probe) as (inputs, first_event):
            if first_event is None:
                raise ConfigError("the store has no events to audit: ingest events first "
                                  "(`mql ingest events FILE`)")
            first = month_start(start or first_event)
            last = end or next_month(month_start(now))
            months = [m for m in _months(first, last) if _instant(m) < now]
            if len(months) < 2:
                raise ConfigError(f"the audit compares months: {first:%Y-%m} to {last:%Y-%m} "
                                  f"holds {len(months)}; widen --from/--to")
            split, since_from = _split(months, since, version.activated_at if version
                                       else None, model_path is not None)
            snapshots = _snapshots(model, inputs, months, now)
            outcomes = _outcomes(conn, months)
    health = report_service.run_report(
        engine, Report.HEALTH, now=now, by=Dimension.MONTH,
        window=Window(_instant(months[0]), _instant(next_month(months[-1])))).rows
    return _result(model, probe, months, split, since_from, snapshots, outcomes,
                   tuple(health), bounds)


def _split(months: Sequence[date], since: date | None, activated: datetime | None,
           from_file: bool) -> tuple[date, str]:
    if since is not None:
        split = month_start(since)
        if not months[0] < split <= months[-1]:
            raise ConfigError(f"--since {split:%Y-%m} leaves no month on one side of it "
                              f"({months[0]:%Y-%m} to {months[-1]:%Y-%m})")
        return split, "--since"
    if activated is not None and not from_file:
        split = month_start(activated)
        if activated > _instant(split):  # activated during the month: judged from the next
            split = next_month(split)
        if months[0] < split <= months[-1]:
            return split, "activation"
    n = min(FALLBACK_BASELINE_MONTHS, len(months) - 1)
    return months[n], "first months"


@contextmanager
def _inputs(conn: Connection, probe: Probe) -> Iterator[tuple[Inputs, datetime | None]]:
    """The store's contacts, accounts and the events the probe reads, as the engine's
    inputs (events in a temporary Parquet file), with the first event's time."""
    ids = contact_store.live_contact_ids(conn)
    contacts: list[Contact] = [c.record for c in contact_store.load_contacts(conn, ids).values()]
    accounts: list[Account] = export.all_accounts(conn)
    types = Plan(probe.model).event_types
    with tempfile.TemporaryDirectory(prefix="mql-audit-") as scratch:
        path = Path(scratch) / "events.parquet"
        first = write_events(conn, path, types=types)
        yield Inputs(contacts, accounts, path), first


def _snapshots(model: Model, inputs: Inputs, months: Sequence[date], now: datetime
               ) -> list[_Month]:
    """The engine's rows at the start of each month and at the end of the last (or
    `now`, if sooner): snapshot k+1 holds month k's firing and population."""
    times = [_instant(m) for m in months] + [min(_instant(next_month(months[-1])), now)]
    engine = connect("duckdb")
    out = []
    try:
        for k, at in enumerate(times):
            days = 31.0 if k == 0 else (at - times[k - 1]) / timedelta(days=1)
            probe = probe_model(model, window_days=days)
            table = engine.rescore(probe.model, inputs, AsOf.at(at))
            out.append(_reduce(table, probe))
    except EngineUnsupported as exc:  # the audit is set-based only: say what it cannot do
        raise ConfigError(f"the audit runs on the batch engine, which cannot compute this "
                          f"model: {exc}") from None
    finally:
        engine.close()
    return out


def _reduce(table: pa.Table, probe: Probe) -> _Month:
    names = sorted({TOTAL, "mql", *(r.value for r in probe.rules),
                    *(r.fired for r in probe.rules)})
    columns = {n: table.column(n).to_pylist() for n in names}
    emails: list[str] = [str(e) for e in table.column("contact").to_pylist()]
    actives = (table.column(ACTIVE).to_pylist() if ACTIVE in table.column_names
               else [0.0] * len(emails))
    values: dict[str, dict[str, float]] = {}
    active = []
    for i, email in enumerate(emails):
        values[email] = {n: float(columns[n][i] or 0.0) for n in names}
        if actives[i]:
            active.append(email)
    return _Month(values, active)


def _outcomes(conn: Connection, months: Sequence[date]) -> list[_Outcome]:
    """Each contact of each won or lost deal opened in the audited months (the primary
    contact and the deal's contacts, survivors of merges), once per deal."""
    opps = ledger.opportunity_columns(conn)
    members: dict[int, set[int]] = {}
    roles = ledger.opportunity_contact_columns(conn)
    for oid, cid in zip(roles["opportunity_id"], roles["contact_id"], strict=True):
        members.setdefault(int(oid), set()).add(int(cid))
    wanted: dict[int, tuple[date, bool, set[int]]] = {}
    first, end = months[0], next_month(months[-1])
    for oid, primary, opened, status in zip(opps["id"], opps["primary_contact_id"],
                                            opps["opened_at"], opps["status"], strict=True):
        if status not in ("won", "lost") or opened is None:
            continue
        month = month_start(opened)
        if not first <= month < end:
            continue
        people = set(members.get(int(oid), set()))
        if primary is not None:
            people.add(int(primary))
        wanted[int(oid)] = (month, status == "won", people)
    ids = {c for _, _, people in wanted.values() for c in people}
    records = contact_store.load_contacts(conn, ids)
    return [_Outcome(records[c].record.email, month, won)
            for _, (month, won, people) in sorted(wanted.items())
            for c in sorted(people) if c in records]


def _lift(samples: Sequence[tuple[bool, bool]]) -> Lift:
    """(fired, won) pairs as a `Lift`."""
    return Lift(fired=sum(f for f, _ in samples), fired_won=sum(f and w for f, w in samples),
                total=len(samples), won=sum(w for _, w in samples))


def _result(model: Model, probe: Probe, months: Sequence[date], since: date,
            since_from: str, snapshots: Sequence[_Month], outcomes: Sequence[_Outcome],
            health: tuple[dict[str, Any], ...], bounds: Bounds) -> AuditResult:
    index = {m: k for k, m in enumerate(months)}
    ends = snapshots[1:]  # ends[k]: the end of month k
    before = [k for k, m in enumerate(months) if m < since]
    scores = [[ends[k].values[e][TOTAL] for e in ends[k].active] for k in range(len(months))]
    baseline = [s for k in before for s in scores[k]]
    # deciles, but at least ten contacts per bin in the smallest month (the PSI of bins of
    # a few contacts is noise)
    smallest = min((len(s) for s in scores if s), default=0)
    edges = quantile_edges(baseline, bins=max(2, min(SCORE_BINS, smallest // 10)))
    expected = shares(baseline, edges)
    score_psi = tuple(psi(expected, shares(s, edges)) if s and baseline else None
                      for s in scores)
    noise = tuple(noise_bound(len(edges) + 1, len(baseline), len(s)) for s in scores)
    rules: list[RuleDrift] = []
    for r in probe.rules:
        fired = [sum(1 for e in ends[k].active if ends[k].values[e][r.fired] != 0.0)
                 for k in range(len(months))]
        active = [len(ends[k].active) for k in range(len(months))]
        rates = tuple(f / a if a else None for f, a in zip(fired, active, strict=True))
        pooled = sum(active[k] for k in before)
        rate_before = sum(fired[k] for k in before) / pooled if pooled else None
        samples: dict[bool, list[tuple[bool, bool]]] = {False: [], True: []}
        for o in outcomes:
            row = snapshots[index[o.opened]].values.get(o.email)
            if row is not None:
                samples[o.opened >= since].append((row[r.value] != 0.0, o.won))
        rules.append(RuleDrift(r.rule, r.score, tuple(months), rates, rate_before,
                               month_psis(rates, rate_before), _lift(samples[False]),
                               _lift(samples[True]), since, tuple(active), pooled))
    notes = []
    if since_from == "first months":
        notes.append(f"the live version's activation splits no audited months: the first "
                     f"{len(before)} months are the baseline (set one with --since)")
    mean = tuple(sum(s) / len(s) if s else None for s in scores)
    mql = tuple(sum(1 for e in ends[k].active if ends[k].values[e]["mql"]) / len(ends[k].active)
                if ends[k].active else None for k in range(len(months)))
    return AuditResult(model.name, model.version, tuple(months), since, since_from,
                       tuple(len(ends[k].active) for k in range(len(months))), mean, mql,
                       score_psi, noise, tuple(rules), tuple(r.judge(bounds) for r in rules),
                       health, bounds, tuple(notes))


def rule_table(result: AuditResult) -> list[dict[str, Any]]:
    """One row per rule for a table: score, rule, firing before and since, worst PSI,
    lifts, status and the verdict in words."""
    return [{"score": r.score, "rule": r.rule, "fires_before": r.rate_before,
             "fires_since": r.rate_after, "worst_psi": r.worst_psi,
             "lift_before": r.before.value, "lift_since": r.after.value,
             "status": v.status, "verdict": v.words}
            for r, v in zip(result.rules, result.verdicts, strict=True)]


def month_table(result: AuditResult, health: Mapping[str, Mapping[str, Any]] | None = None
                ) -> list[dict[str, Any]]:
    """One row per month: active contacts, mean score, MQL share, score PSI, and the
    health report's MQL->SQL and verdict for the MQLs of that month."""
    by_month = health if health is not None else {
        str(h.get("month")): h for h in result.health}
    out = []
    for m, a, s, q, p, noise in zip(result.months, result.active, result.mean_score,
                                    result.mql_share, result.score_psi, result.score_noise,
                                    strict=True):
        h = by_month.get(f"{m:%Y-%m}", {})
        out.append({"month": f"{m:%Y-%m}", "period": "before" if m < result.since else "since",
                    "active": a, "mean_score": s, "mql_share": q, "score_psi": p,
                    "score_noise": None if noise == float("inf") else noise,
                    "mature_mqls": h.get("mature_mqls"), "mql_to_sql": h.get("mql_to_sql"),
                    "health": h.get("verdict")})
    return out
