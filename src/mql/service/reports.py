"""`mql report ...` and `GET /v1/reports/...`: every KPI from the stored ledger, through
one computation (`mql.batch.reports`, DuckDB over the store's tables) for both faces.

A `ReportResult` is what a face renders: its rows as plain values (JSON-ready), the
total, the columns in order, and notes in words.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mql.analytics.definitions import (
    COST_DIMENSIONS,
    SLA_DIMENSIONS,
    Dimension,
    Report,
    funnel_rates,
    per,
)
from mql.analytics.health import TRIGGERS, health_row
from mql.batch.reports import ALL_TIME, ReportEngine, Window
from mql.errors import ConfigError, NotFound
from mql.identity.merge import IdentityRules
from mql.model.reports import ReportSettings
from mql.model.spec import Model
from mql.routing.calendar import business_hours_between
from mql.service import state as states
from mql.service.scores import explain_contact
from mql.service.scoring import load_model_file
from mql.store import ledger
from mql.store.db import translate_errors
from mql.store.migrate import check

By = Dimension | Sequence[Dimension] | None

DEFAULT_BY = {Report.FUNNEL: Dimension.MONTH, Report.SLA: Dimension.TEAM,
              Report.COST: None, Report.REASONS: Dimension.TOTAL,
              Report.HEALTH: Dimension.SEGMENT, Report.REVIEW: None}
REVIEW_SIZE = 20


@dataclass(frozen=True, slots=True)
class ReportResult:
    """One report: `rows` (one per value of `by`), `total` (the same columns over every
    row; None where a total means nothing), the column order, and notes."""

    report: str
    by: list[str]
    as_of: datetime
    window: Window
    columns: list[str]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (times ISO 8601 UTC), for the API and `--format
        json`: the same numbers, never rounded."""
        return {
            "report": self.report, "by": self.by, "as_of": _iso(self.as_of),
            "from": _iso(self.window.start), "to": _iso(self.window.end),
            "columns": self.columns,
            "rows": [_plain(r) for r in self.rows],
            "total": None if self.total is None else _plain(self.total),
            "notes": self.notes,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = _iso(v)
        elif isinstance(v, float) and math.isnan(v):
            v = None
        out[k] = v
    return out


def business_hours(assigned: dict[str, list[Any]], model: Model) -> list[float | None]:
    """Business hours from each assignment to its first touch, in its team's calendar
    (None without a first touch or a team of the model): one calendar sum per touched
    assignment, the one step of the reports done in Python (the calendars' time zones and
    holidays are the routing core's)."""
    teams = model.routing.teams if model.routing is not None else {}
    out: list[float | None] = []
    for team, start, touch in zip(assigned["team"], assigned["assigned_at"],
                                  assigned["first_touch_at"], strict=True):
        calendar = teams.get(team) if team is not None else None
        out.append(None if calendar is None or touch is None or touch < start
                   else business_hours_between(start, touch, calendar.hours))
    return out


def load_ledger(conn: Connection, settings: ReportSettings, live_version: int | None,
                model: Model | None = None) -> dict[str, dict[str, list[Any]]]:
    """The store's ledger as the report engine's tables."""
    kinds = {"high_intent": settings.health.high_intent_events,
             "content": settings.health.content_events}
    assigned = ledger.assignment_columns(conn)
    if model is not None and assigned:
        assigned["business_hours_to_touch"] = business_hours(assigned, model)
    return {
        "contacts": ledger.contact_columns(conn),
        "moves": ledger.move_columns(conn),
        "first_touch": ledger.first_touch_columns(conn),
        "triggers": ledger.trigger_columns(conn, kinds),
        "assignments": assigned,
        "scores": ({} if live_version is None else ledger.score_columns(conn, live_version)),
        "versions": ledger.version_columns(conn),
        "opportunities": ledger.opportunity_columns(conn),
        "opportunity_contacts": ledger.opportunity_contact_columns(conn),
        "links": ledger.link_columns(conn),
        "costs": ledger.cost_columns(conn),
        "dispositions": ledger.disposition_columns(conn),
    }


class Reports:
    """The ledger loaded once into the report engine; each method is one report."""

    def __init__(self, engine: Engine | None, report_engine: ReportEngine,
                 model: Model | None, as_of: datetime) -> None:
        self.store = engine  # None for a ledger export: no explanations to replay
        self.engine = report_engine
        self.model = model
        self.settings = model.reports if model is not None else ReportSettings()
        self.as_of = as_of

    def run(self, report: Report, *, by: By = None, window: Window = ALL_TIME,
            size: int = REVIEW_SIZE, rules: IdentityRules | None = None) -> ReportResult:
        """`report` with rows by `by` (one dimension, or several: month and channel ...;
        default per report, `DEFAULT_BY`)."""
        dims = [by] if isinstance(by, Dimension) else list(by or [])
        if len(set(dims)) < len(dims):
            raise ConfigError("--by names a dimension twice")
        if report is Report.REVIEW:
            if dims:
                raise ConfigError("the review pack takes no --by: it samples MQLs by outcome")
            return self.review(window, size=size, rules=rules or IdentityRules())
        if report is Report.COST:
            return self.cost(dims, window)
        default = DEFAULT_BY[report]
        dims = dims or ([default] if default is not None else [Dimension.TOTAL])
        if report is Report.FUNNEL:
            return self.funnel(dims, window)
        if report is Report.HEALTH:
            return self.health(dims, window)
        if report is Report.SLA:
            return self.sla(dims, window)
        return self.reasons(dims, window)

    def _maturity_note(self) -> str:
        s = self.settings
        return (f"cohorts: MQLs of each row, followed to date; an MQL is mature "
                f"{s.maturity_days} days after it qualified (mature_* columns), pipeline is "
                f"an opportunity opened within {s.pipeline_within_days} days after the MQL")

    @staticmethod
    def _total(rows: list[dict[str, Any]], dims: Sequence[Dimension]) -> dict[str, Any] | None:
        """The one row of a `total` query, its key columns saying total."""
        if not rows:
            return None
        row = rows[0]
        row.pop(Dimension.TOTAL.value, None)
        row.update({d.value: "total" for d in dims})
        return row

    # -- funnel -----------------------------------------------------------------------

    def _funnel_rows(self, dims: Sequence[Dimension], window: Window) -> list[dict[str, Any]]:
        rows = self.engine.funnel(dims, window)
        for row in rows:
            row.update(_unpack(dims, row.pop("key")))
            row.update(funnel_rates(row))
            row["status"] = ("mature" if row["mature_mqls"] == row["mqls"] else "maturing")
        return rows

    def funnel(self, dims: Sequence[Dimension], window: Window) -> ReportResult:
        rows = self._funnel_rows(dims, window)
        total = self._total(self._funnel_rows([Dimension.TOTAL], window), dims)
        keys = [d.value for d in dims]
        columns = [*keys, *FUNNEL_COLUMNS]
        for row in [*rows, *([total] if total else [])]:
            for name in list(row):
                if name not in columns:
                    del row[name]
        return ReportResult("funnel", keys, self.as_of, window, columns, rows, total,
                            [self._maturity_note(), *_empty(rows, "MQL")])

    # -- health -----------------------------------------------------------------------

    def _health_rows(self, dims: Sequence[Dimension], window: Window) -> list[dict[str, Any]]:
        counts: dict[tuple[Any, ...], dict[str, tuple[int, int, int]]] = {}
        for r in self.engine.health(dims, window):
            counts.setdefault(r["key"], {})[r["trigger"]] = (
                r["mature_mqls"], r["mature_sql"], r["mqls"])
        return [{**_unpack(dims, key), **health_row(per_trigger, self.settings.health)}
                for key, per_trigger in counts.items()]

    def health(self, dims: Sequence[Dimension], window: Window) -> ReportResult:
        rows = self._health_rows(dims, window)
        total = self._total(self._health_rows([Dimension.TOTAL], window), dims)
        h = self.settings.health
        keys = [d.value for d in dims]
        note = (f"band: MQL->SQL {h.mql_to_sql.low:.0%}-{h.mql_to_sql.high:.0%} on mature MQLs "
                f"(under {h.too_loose:.0%} too loose, over {h.too_strict:.0%} too strict); "
                f"high-intent triggers {h.high_intent.low:.0%}-{h.high_intent.high:.0%}, content "
                f"{h.content.low:.0%}-{h.content.high:.0%} (reports.health in the model)")
        return ReportResult("health", keys, self.as_of, window, [*keys, *HEALTH_COLUMNS], rows,
                            total, [note, self._maturity_note(), *_empty(rows, "MQL")])

    # -- sla --------------------------------------------------------------------------

    def _sla_rows(self, dims: Sequence[Dimension], window: Window) -> list[dict[str, Any]]:
        capacity = self._capacity() if Dimension.OWNER in dims else {}
        rows = self.engine.sla(dims, window, as_of=self.as_of)
        for row in rows:
            row.update(_unpack(dims, row.pop("key")))
            settled = row["met"] + row["late"] + row["breached"] + row["escalated"]
            row["attainment"] = None if settled == 0 else row["met"] / settled
            if Dimension.OWNER in dims:
                row["capacity"] = capacity.get(row[Dimension.OWNER.value])
        return rows

    def _capacity(self) -> dict[str, int | None]:
        routing = self.model.routing if self.model is not None else None
        if routing is None:
            return {}
        return {m.name: m.capacity for team in routing.teams.values() for m in team.members}

    def sla(self, dims: Sequence[Dimension], window: Window) -> ReportResult:
        if any(d not in SLA_DIMENSIONS for d in dims):
            raise ConfigError(f"the sla report counts assignments: --by one of "
                              f"{', '.join(d.value for d in SLA_DIMENSIONS)}")
        rows = self._sla_rows(dims, window)
        total = self._total(self._sla_rows([Dimension.TOTAL], window), dims)
        keys = [d.value for d in dims]
        owner = Dimension.OWNER in dims
        columns = [*keys, *SLA_COLUMNS, *(["capacity"] if owner else [])]
        return ReportResult("sla", keys, self.as_of, window, columns, rows, total,
                            ["speed to lead: hours from assignment (the MQL hand-off) to "
                             "first touch, wall clock and in the team's business hours; "
                             "attainment = met / (met + late + breached + escalated)",
                             *_empty(rows, "assignment")])

    # -- cost -------------------------------------------------------------------------

    def cost(self, dims: Sequence[Dimension], window: Window) -> ReportResult:
        dims = list(dims) or [Dimension.MONTH, Dimension.CHANNEL]
        if any(d not in COST_DIMENSIONS for d in dims):
            raise ConfigError("spend is known per month and channel: --by month, channel or "
                              "total (default: both)")
        rows = [self._cost_row(r) for r in self.engine.cost(dims, window)]
        total = [self._cost_row(r) for r in self.engine.cost([Dimension.TOTAL], window)]
        notes = ["cost per MQL = spend of the month and channel / MQLs who qualified that "
                 "month with that first-touch channel (and so on for SQLs, opportunities and "
                 "won deals of the same cohort)"]
        if any(r.get("currencies", 0) > 1 for r in [*rows, *total]):
            notes.append("spend is recorded in more than one currency: amounts are added as "
                         "stored, convert the costs file to one currency")
        if not any(r["spend"] for r in total):
            notes.append("no marketing spend is stored: load it with `mql ingest costs`")
        total_row = self._total(total, dims)
        for row in [*rows, *([total_row] if total_row else [])]:
            row.pop("currencies", None)
        keys = [d.value for d in dims]
        return ReportResult("cost", keys, self.as_of, window, [*keys, *COST_COLUMNS], rows,
                            total_row, notes)

    @staticmethod
    def _cost_row(r: dict[str, Any]) -> dict[str, Any]:
        spend = float(r["spend"] or 0.0)
        return {**r, "spend": spend,
                "cost_per_mql": per(spend, r["mqls"]), "cost_per_sql": per(spend, r["sql"]),
                "cost_per_opportunity": per(spend, r["opportunities"]),
                "cost_per_won": per(spend, r["won"])}

    # -- reasons ----------------------------------------------------------------------

    def reasons(self, dims: Sequence[Dimension], window: Window) -> ReportResult:
        mqls = {r["key"]: r["mqls"] for r in self.engine.funnel(dims, window)}
        rows: list[dict[str, Any]] = []
        for r in self.engine.rejections(dims, window):
            rows.append({**_unpack(dims, r["key"]), "ledger": "lifecycle",
                         "status": "rejected", "reason": r["reason"], "count": r["rejected"],
                         "contacts": r["contacts"],
                         "share_of_mqls": per(r["rejected"], mqls.get(r["key"], 0))})
        for r in self.engine.reasons(dims, window):
            rows.append({**_unpack(dims, r["key"]), "ledger": "dispositions",
                         "status": r["status"], "reason": r["reason"],
                         "count": r["dispositions"], "contacts": r["contacts"],
                         "share_of_mqls": per(r["contacts"], mqls.get(r["key"], 0))})
        keys = [d.value for d in dims]
        columns = [*keys, "ledger", "status", "reason", "count", "contacts", "share_of_mqls"]
        return ReportResult("reasons", keys, self.as_of, window, columns, rows, None,
                            ["lifecycle: MQLs sales rejected (the move out of MQL and its "
                             "reason); dispositions: every recorded sales disposition, "
                             "matched to the MQL it followed"])

    # -- review -----------------------------------------------------------------------

    def review(self, window: Window, *, size: int, rules: IdentityRules) -> ReportResult:
        if self.store is None:
            raise ConfigError("the review pack replays each MQL's explanation from the store: "
                              "run it with --db, not --ledger")
        if size < 1:
            raise ConfigError(f"--size {size}: give at least 1")
        found = self.engine.review(window, per_outcome=size)
        # stratified: the most recent of each outcome first, then the next of each ...
        found.sort(key=lambda r: (r["rank"], _OUTCOME_ORDER.get(r["outcome"], 9)))
        picked = found[:size]
        rows = []
        for r in picked:
            rows.append({
                "contact": r["email"], "qualified_at": r["mql_at"], "cause": r["cause"],
                "rule": r["rule"], "scored": self._because(r["email"], r["mql_at"], rules,
                                         r["model_version_id"]),
                "outcome": r["outcome"], "after": r["path"] or "", "sales_reason":
                r["sales_reason"], "grade_now": r["grade"], "channel": r["channel"],
                "segment": r["segment"], "owner": r["owner"], "team": r["team"],
            })
        rows.sort(key=lambda r: (_OUTCOME_ORDER.get(r["outcome"], 9), r["qualified_at"]))
        return ReportResult("review", ["outcome"], self.as_of, window, REVIEW_COLUMNS, rows,
                            None, [f"{len(rows)} recent MQLs, stratified by outcome; 'scored'"
                                   " is the model's explanation at the moment each qualified"])

    def _because(self, email: str | None, at: datetime, rules: IdentityRules,
                 version_id: int | None) -> str:
        """The explanation at qualification time, with the model version that qualified
        the contact (the past does not change when another model is activated)."""
        if email is None or self.store is None:
            return ""
        try:
            return explain_contact(self.store, email, at=at, rules=rules,
                                   version_id=version_id).decision.because()
        except NotFound:
            return ""


def _empty(rows: list[dict[str, Any]], what: str) -> list[str]:
    return [] if rows else [f"no {what} in the window: nothing to count yet"]


def _unpack(dims: Sequence[Dimension], key: Any) -> dict[str, Any]:
    """A row's group key (a tuple of the dimensions' values) as named columns."""
    values = key if isinstance(key, tuple) else (key,)
    return {d.value: v for d, v in zip(dims, values, strict=True)}


_OUTCOME_ORDER = {o: i for i, o in enumerate(("won", "opportunity", "sql", "rejected",
                                              "exited", "open"))}

FUNNEL_COLUMNS = [
    "status", "mqls", "sal", "rejected", "sql", "opportunities", "won", "still_open",
    "mql_to_sal", "rejection_rate", "mql_to_sql", "mature_mqls", "mature_sql",
    "mature_mql_to_sql", "sql_to_opportunity", "mql_to_pipeline", "opportunity_to_won",
    "win_rate", "recycled", "recycle_rate", "requalified", "requalification_rate",
    "median_days_to_mql", "sales_cycle_days", "pipeline_sourced",
    "pipeline_influenced", "won_sourced", "won_influenced", "sql_opportunities",
    "closed_opportunities", "first_mql_at", "last_mql_at",
]
HEALTH_COLUMNS = [
    "mqls", "mature_mqls", "mature_sql", "mql_to_sql", "position", "verdict",
    *(f"{k}_share" for k in TRIGGERS), "high_intent_mql_to_sql", "high_intent_verdict",
    "content_mql_to_sql", "content_verdict",
]
SLA_COLUMNS = [
    "assigned", "touched", "met", "late", "breached", "escalated", "open", "closed",
    "attainment", "breaches", "reroutes", "median_hours_to_touch", "p90_hours_to_touch",
    "median_business_hours_to_touch", "p90_business_hours_to_touch",
    "untouched_now", "median_hours_untouched",
]
COST_COLUMNS = [
    "spend", "currency", "mqls", "sql", "opportunities", "won", "cost_per_mql",
    "cost_per_sql", "cost_per_opportunity", "cost_per_won",
]
REVIEW_COLUMNS = ["contact", "qualified_at", "outcome", "cause", "rule", "scored", "after",
                  "sales_reason", "grade_now", "channel", "segment", "owner", "team"]


@contextmanager
def open_reports(engine: Engine, *, now: datetime, threads: int | None = None
                 ) -> Iterator[Reports]:
    """The store's ledger loaded into the report engine as of `now`, with the live model's
    report settings (health band, channel table, windows)."""
    check(engine)
    with translate_errors("reading the ledger"), engine.connect() as conn:
        live = states.live_model(conn)
        tables = load_ledger(conn, live.model.reports, live.version_id, live.model)
    runner = ReportEngine(threads=threads)
    try:
        runner.load(tables)
        runner.build(live.model.reports, as_of=now)
        yield Reports(engine, runner, live.model, now)
    finally:
        runner.close()


def export_ledger(engine: Engine, folder: Path, *, now: datetime) -> list[Path]:
    """Write the store's ledger as the report engine reads it, one Parquet file per table,
    into `folder`: reports can then run without the store (`run_ledger_report`)."""
    with open_reports(engine, now=now) as reports:
        return reports.engine.export(folder)


def run_ledger_report(folder: Path, report: Report, *, now: datetime, by: By = None,
                      window: Window = ALL_TIME, model_path: Path | None = None
                      ) -> ReportResult:
    """One report from a ledger export (`export_ledger`); the health band, windows and
    channel table come from `model_path` (default: the built-in defaults). The channel of
    a touch is decided at report time, so a new channel table applies to old exports."""
    model = None if model_path is None else load_model_file(model_path)
    runner = ReportEngine()
    try:
        runner.load_parquet(folder)
        settings = model.reports if model is not None else ReportSettings()
        runner.build(settings, as_of=now)
        return Reports(None, runner, model, now).run(report, by=by, window=window)
    finally:
        runner.close()


def run_report(engine: Engine, report: Report, *, now: datetime, by: By = None,
               window: Window = ALL_TIME, size: int = REVIEW_SIZE,
               rules: IdentityRules | None = None) -> ReportResult:
    """One report from the stored ledger as of `now` (`by`: its rows; default per report,
    `DEFAULT_BY`)."""
    with open_reports(engine, now=now) as reports:
        return reports.run(report, by=by, window=window, size=size, rules=rules)


def run_reports(engine: Engine, wanted: Sequence[tuple[Report, By]], *,
                now: datetime, window: Window = ALL_TIME) -> list[ReportResult]:
    """Several reports over one load of the ledger (the demo's closing tables)."""
    with open_reports(engine, now=now) as reports:
        return [reports.run(r, by=d, window=window) for r, d in wanted]
