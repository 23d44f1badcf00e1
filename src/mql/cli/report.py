"""`mql report funnel|sla|cost|reasons|health|review|accounts`: the KPIs from the stored ledger, as
a table on a terminal, CSV or JSON (the JSON `GET /v1/reports/...` answers)."""

from __future__ import annotations

import csv
import json
import sys
import textwrap
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from mql.analytics.definitions import Dimension, Report, parse_bound
from mql.batch.reports import Window
from mql.cli.render import DbOpt, console, fail, store_settings
from mql.clock import SystemClock
from mql.errors import ConfigError, MQLError
from mql.ingest.formats import parse_time
from mql.service import accounts as account_service
from mql.service import reports as service
from mql.store.db import connect

CLOCK = SystemClock()
out = console()


class ReportFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


FromOpt = Annotated[str | None, typer.Option(
    "--from", help="First cohort: a month (2025-03), a day or a time; default: the start.")]
ToOpt = Annotated[str | None, typer.Option(
    "--to", help="End of the cohorts, exclusive (2025-07 = up to June); default: no end.")]
ByOpt = Annotated[str | None, typer.Option(
    "--by", help="Rows: month, week, source, channel, campaign, segment, region, "
                 "product_line, grade, score_band, model_version, owner, team, trigger or "
                 "total; several, comma-separated: month,channel.")]
FormatOpt = Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")]
AtOpt = Annotated[str | None, typer.Option(
    "--at", help="As of this time (decides which cohorts are mature); default: now.")]
LedgerOpt = Annotated[Path | None, typer.Option(
    "--ledger", help="Read a ledger export (`mql report export DIR`) instead of the store.")]
ModelOpt = Annotated[Path | None, typer.Option(
    "--model", "-m", help="With --ledger: the model file whose `reports` section applies "
                          "(default: the built-in health band and channel table).")]

# the columns a terminal table shows (CSV and JSON carry every column)
TABLE_COLUMNS: dict[str, list[str]] = {
    "funnel": ["status", "mqls", "sal", "rejected", "sql", "opportunities", "won",
               "still_open", "mql_to_sal", "mql_to_sql", "mature_mql_to_sql",
               "mql_to_pipeline", "win_rate", "median_days_to_mql", "pipeline_sourced",
               "won_sourced"],
    "health": ["mature_mqls", "mql_to_sql", "verdict", "high_intent_share", "content_share",
               "high_intent_verdict", "content_verdict"],
    "sla": ["assigned", "met", "late", "breached", "escalated", "attainment", "breaches",
            "reroutes", "median_hours_to_touch", "median_business_hours_to_touch",
            "p90_hours_to_touch", "untouched_now",
            "capacity"],
    "cost": ["spend", "mqls", "sql", "opportunities", "won", "cost_per_mql", "cost_per_sql",
             "cost_per_opportunity", "cost_per_won"],
    "reasons": ["ledger", "status", "reason", "count", "contacts", "share_of_mqls"],
    # the content before conversions is in the notes (CSV and JSON carry its column)
    "nurture": ["enrolled", "active", *(f"exit_{r}" for r in (
        "mql", "pql", "mqa", "disqualified", "unsubscribed", "completed", "no_engagement",
        "removed", "merged")), "median_days", "mql_rate", "sql_rate", "opportunity_rate",
        "won_rate", "not_enrolled_mql_rate", "not_enrolled_sql_rate"],
    "accounts": ["accounts", "mqls", "mqas", "pqls", "mqa_accounts", "mqa_opportunities",
                 "mqa_to_opportunity", "won", "mqa_first", "mqa_first_share",
                 "mqa_over_mql_days", "motions", "handoffs_saved", "opportunities",
                 "conversion"],
    "review": ["contact", "qualified_at", "outcome", "scored", "after", "sales_reason",
               "owner"],
}
_RATES = {"share", "removal_effect", "mql_to", "mqa_to", "conversion", "_rate", "sql_to",
          "opportunity_to", "attainment"}
_MONEY = {"spend", "cost_per", "pipeline_", "won_sourced", "won_influenced"}
_WORDS = {"verdict", "scored", "after", "reason"}


def _is(name: str, parts: set[str]) -> bool:
    return any(p in name for p in parts)


def cell(name: str, value: Any) -> str:
    """A value as the terminal table shows it (rates as percents, money with two
    decimals); machine formats keep the value itself."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d %H:%M"))
    if isinstance(value, float):
        if _is(name, _RATES):
            return f"{value:.1%}"
        if _is(name, _MONEY):
            return f"{value:,.2f}"
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_report(result: service.ReportResult, fmt: ReportFormat, target: Console) -> None:
    """A report as a rich table (its key columns whole, never cut), CSV (every column, the
    total last) or JSON (`ReportResult.to_json`)."""
    if fmt is ReportFormat.json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
        return
    rows = [*result.rows, *([result.total] if result.total is not None else [])]
    if fmt is ReportFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=result.columns, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        for row in result.to_json()["rows"] + (
                [result.to_json()["total"]] if result.total is not None else []):
            writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v
                             for k, v in row.items()})
        return
    shown = [c for c in result.columns
             if c in result.by or c in TABLE_COLUMNS.get(result.report, result.columns)]
    table = Table(title=f"{result.report} by {', '.join(result.by)}", title_justify="left",
                  box=box.SIMPLE_HEAD, caption="; ".join(result.notes), caption_justify="left")
    cells = [[cell(n, row.get(n)) for n in shown] for row in rows]
    for i, name in enumerate(shown):
        key = name in result.by or name == "contact"
        words = _is(name, _WORDS)
        header = textwrap.fill(name.replace("_", " "), width=12, break_long_words=False)
        # headers fold at words; keys and numbers are never broken (their column is as wide
        # as its widest value); words fold
        whole = max([len(line) for line in header.splitlines()] +
                    [len(r[i]) for r in cells])
        table.add_column(header, overflow="fold", no_wrap=not words,
                         justify="left" if key or words else "right",
                         min_width=12 if words else whole)
    for i, values in enumerate(cells):
        table.add_row(*values, end_section=result.total is not None and i == len(rows) - 2)
    # never narrower than its keys and numbers: a narrow terminal wraps the lines instead
    # of the table dropping or cutting a column
    narrowest = Measurement.get(target, target.options.update(width=100_000), table).minimum
    width = target.width
    target.width = max(width, narrowest)
    try:
        target.print(table)
    finally:
        target.width = width


def _window(start: str | None, end: str | None) -> Window:
    return Window(None if start is None else parse_bound(start, "--from"),
                  None if end is None else parse_bound(end, "--to"))


def _run(report: Report, *, by: str | None, start: str | None, end: str | None,
         fmt: ReportFormat, db: str | None, at: str | None, size: int = service.REVIEW_SIZE,
         ledger: Path | None = None, model: Path | None = None) -> None:
    try:
        now = CLOCK.now() if at is None else parse_time(at, source="--at", row=0, field="--at")
        dims = None if by is None else Dimension.parse_many(by)
        if ledger is not None:
            if db is not None:
                raise ConfigError("--ledger reads an export instead of the store: drop --db")
            result = service.run_ledger_report(ledger, report, now=now, by=dims,
                                               window=_window(start, end), model_path=model)
        else:
            if model is not None:
                raise ConfigError("--model applies to --ledger; the store's reports use its "
                                  "active model")
            settings = store_settings(db)
            result = service.run_report(
                connect(settings.database_url), report, now=now, by=dims,
                window=_window(start, end), size=size, rules=settings.identity_rules())
    except MQLError as exc:
        raise fail(exc) from None
    render_report(result, fmt, out)


def register(app: typer.Typer) -> None:
    """Add `mql report ...` to `app`."""
    reports = typer.Typer(help="KPIs from the stored ledger (docs/analytics.md): the funnel "
                          "by cohort, the health band, SLAs, cost per MQL, reasons, and the "
                          "review pack, and MQAs beside MQLs (accounts).", no_args_is_help=True)

    @reports.command()
    def funnel(by: ByOpt = None, start: FromOpt = None, end: ToOpt = None,
               fmt: FormatOpt = ReportFormat.table, db: DbOpt = None, at: AtOpt = None,
               ledger: LedgerOpt = None, model: ModelOpt = None) -> None:
        """MQLs by cohort (default: month they qualified) and what became of them: SAL,
        rejected, SQL, pipeline, won; time to MQL; rates on each cohort; still open."""
        _run(Report.FUNNEL, by=by, start=start, end=end, fmt=fmt, db=db, at=at,
             ledger=ledger, model=model)

    @reports.command()
    def health(by: ByOpt = None, start: FromOpt = None, end: ToOpt = None,
               fmt: FormatOpt = ReportFormat.table, db: DbOpt = None, at: AtOpt = None,
               ledger: LedgerOpt = None, model: ModelOpt = None) -> None:
        """Each segment's MQL->SQL (mature cohorts) against the health band, with a verdict
        in words and the trigger mix behind it (default: by segment)."""
        _run(Report.HEALTH, by=by, start=start, end=end, fmt=fmt, db=db, at=at,
             ledger=ledger, model=model)

    @reports.command()
    def sla(by: ByOpt = None, start: FromOpt = None, end: ToOpt = None,
            fmt: FormatOpt = ReportFormat.table, db: DbOpt = None, at: AtOpt = None,
            ledger: LedgerOpt = None, model: ModelOpt = None) -> None:
        """Speed to lead, SLA attainment, breaches, escalations, re-routes and the queue
        now (default: by team; --by owner adds capacity)."""
        _run(Report.SLA, by=by, start=start, end=end, fmt=fmt, db=db, at=at,
             ledger=ledger, model=model)

    @reports.command()
    def cost(by: ByOpt = None, start: FromOpt = None, end: ToOpt = None,
             fmt: FormatOpt = ReportFormat.table, db: DbOpt = None, at: AtOpt = None,
             ledger: LedgerOpt = None, model: ModelOpt = None) -> None:
        """Cost per MQL, SQL, opportunity and won deal, by month and channel (--by month or
        --by channel for one of them)."""
        _run(Report.COST, by=by, start=start, end=end, fmt=fmt, db=db, at=at,
             ledger=ledger, model=model)

    @reports.command()
    def reasons(by: ByOpt = None, start: FromOpt = None, end: ToOpt = None,
                fmt: FormatOpt = ReportFormat.table, db: DbOpt = None, at: AtOpt = None,
                ledger: LedgerOpt = None, model: ModelOpt = None) -> None:
        """Why MQLs were rejected, and every sales disposition with its reason."""
        _run(Report.REASONS, by=by, start=start, end=end, fmt=fmt, db=db, at=at,
             ledger=ledger, model=model)

    @reports.command()
    def review(size: Annotated[int, typer.Option(help="How many MQLs.")] = service.REVIEW_SIZE,
               start: FromOpt = None, end: ToOpt = None, fmt: FormatOpt = ReportFormat.table,
               db: DbOpt = None, at: AtOpt = None) -> None:
        """The pipeline-quality review pack: recent MQLs stratified by outcome, how each
        was scored when it qualified, what happened after the hand-off, the sales reason."""
        _run(Report.REVIEW, by=None, start=start, end=end, fmt=fmt, db=db, at=at, size=size)

    @reports.command("accounts")
    def accounts(
        by: Annotated[str, typer.Option(
            "--by", help="Rows: tier (ABM tier, default), month, path or total.")] = "tier",
        fmt: FormatOpt = ReportFormat.table, db: DbOpt = None, at: AtOpt = None) -> None:
        """MQA metrics beside MQL ones: MQAs fired, the MQA -> opportunity rate and how
        much earlier than the first MQL the MQA fired for won accounts, by ABM tier (or
        MQLs/MQAs/PQLs per month, each qualification path's conversion). The numbers of
        `mql accounts report`; --format json is GET /v1/reports/accounts."""
        engine = None
        try:
            now = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                            field="--at")
            if by not in account_service.ACCOUNT_REPORT_BY:
                raise ConfigError(f"the accounts report has rows by "
                                  f"{', '.join(account_service.ACCOUNT_REPORT_BY)}, got "
                                  f"--by {by!r}")
            engine = connect(store_settings(db).database_url)
            view = account_service.account_report(engine, at=now)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            if engine is not None:
                engine.dispose()
        if fmt is ReportFormat.json:
            sys.stdout.write(json.dumps(account_service.report_json(view), indent=2,
                                        ensure_ascii=False) + "\n")
            return
        render_report(account_service.report_section(view, by=by, as_of=now), fmt, out)

    @reports.command("nurture")
    def nurture(
        within: Annotated[float, typer.Option(
            "--within", help="Days after entry in which a conversion counts.")] = 90.0,
        fmt: FormatOpt = ReportFormat.table, db: DbOpt = None, at: AtOpt = None) -> None:
        """Per nurture track: enrolled, active, exits by reason, median days in the track,
        conversion to MQL/SQL/opportunity/won within --within days of entry beside the
        comparable contacts' (never enrolled, from their first eligible moment), and the
        content before conversions (docs/nurture.md); --format json is GET
        /v1/reports/nurture."""
        from mql.service.nurture import nurture_report

        engine = None
        try:
            now = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                            field="--at")
            engine = connect(store_settings(db).database_url)
            result = nurture_report(engine, at=now, within_days=within)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            if engine is not None:
                engine.dispose()
        render_report(result, fmt, out)

    @reports.command("export")
    def export(folder: Annotated[Path, typer.Argument(help="Where to write the Parquet files.")],
               db: DbOpt = None, at: AtOpt = None) -> None:
        """Write the store's ledger as the reports read it (one Parquet file per table) into
        FOLDER; `mql report ... --ledger FOLDER` then reports without the store."""
        try:
            settings = store_settings(db)
            now = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                            field="--at")
            written = service.export_ledger(connect(settings.database_url), folder, now=now)
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"wrote {len(written)} tables to {folder}", highlight=False)

    app.add_typer(reports, name="report")
