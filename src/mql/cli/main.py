"""`mql`: score, explain and qualify B2B leads from the command line."""

from __future__ import annotations

import sys
import tempfile
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import exc as sa_exc

from mql import __version__
from mql.cli import accounts as accounts_cli
from mql.cli import api, learn, lifecycle, loop, modeltest, report, store, synth
from mql.cli import attribution as attribution_cli
from mql.cli import audit as audit_cli
from mql.cli import compliance as compliance_cli
from mql.cli import nurture as nurture_cli
from mql.cli import outcomes as outcomes_cli
from mql.cli import rescore as rescore_cli
from mql.cli.render import (
    Format,
    console,
    fail,
    render_decisions,
    render_demo,
    render_explanation,
)
from mql.clock import SystemClock
from mql.errors import MQLError
from mql.ingest.files import ReadOptions
from mql.ingest.formats import parse_time
from mql.model.portability import batch_limits
from mql.service import demo as demo_service
from mql.service import scoring
from mql.service import store as store_service
from mql.store.db import connect

app = typer.Typer(
    rich_markup_mode="markdown",
    help="mql decides, continuously and explainably, which B2B leads and accounts are ready "
    "for sales.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
CLOCK = SystemClock()
out = console()
err = console(stderr=True)

ModelArg = Annotated[Path, typer.Argument(help="The model file (YAML), see docs/model.md.")]
ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="The model file (YAML).")]
ContactsOpt = Annotated[Path, typer.Option("--contacts", "-c",
                                           help="Contacts file: CSV, JSONL or Parquet.")]
AccountsOpt = Annotated[Path | None, typer.Option("--accounts", "-a",
                                                  help="Accounts file: CSV, JSONL or Parquet.")]
EventsOpt = Annotated[Path | None, typer.Option("--events", "-e",
                                                help="Events file: CSV, JSONL or Parquet.")]
AtOpt = Annotated[str | None, typer.Option(
    "--at", help="Score as of this time (ISO 8601, e.g. 2026-11-20T12:00Z); default: now.")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
EncodingOpt = Annotated[str, typer.Option(
    help="Text encoding of CSV and JSONL inputs (latin-1, cp1252 ...); a row with bytes it "
         "cannot decode is reported and skipped.")]
MappingOpt = store.MappingOpt
DateFormatOpt = store.DateFormatOpt
DayFirstOpt = store.DayFirstOpt


def _at(text: str | None) -> datetime:
    if text is None:
        return CLOCK.now()
    return parse_time(text, source="--at", row=0, field="--at")


def _version(value: bool) -> None:
    if value:
        out.print(f"mql {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """mql decides, continuously and explainably, which B2B leads and accounts are ready
    for sales."""


@app.command()
def validate(model: ModelArg) -> None:
    """Check MODEL; print every problem as file:line:column field: message."""
    try:
        loaded = scoring.load_model_file(model)
    except MQLError as exc:
        raise fail(exc) from None
    rules = sum(len(s.rules) for s in loaded.scores.values())
    out.print(f"{model}: ok — model {loaded.name!r} version {loaded.version or '-'}, "
              f"scores {', '.join(loaded.scores)}, {rules} rules")
    for line in batch_limits(loaded):
        err.print(f"[yellow]warning:[/yellow] {escape(line)}; mql score runs it",
                  highlight=False)


def _report_rejected(run: scoring.ScoreRun) -> None:
    for item in run.rejected[:20]:
        err.print(f"[yellow]skipped[/yellow] {item.error}", highlight=False)
    if len(run.rejected) > 20:
        err.print(f"[yellow]... and {len(run.rejected) - 20} more rows skipped[/yellow]")
    for warning in run.warnings[:20]:
        err.print(f"[yellow]field dropped[/yellow] {warning}", highlight=False)
    if len(run.warnings) > 20:
        err.print(f"[yellow]... and {len(run.warnings) - 20} more fields dropped[/yellow]")


def _summary(run: scoring.ScoreRun) -> None:
    mqls = sum(d.mql for d in run.decisions)
    later = f", {run.events_after_at} after --at ignored" if run.events_after_at else ""
    later += f", {run.duplicates} duplicate event ids ignored" if run.duplicates else ""
    err.print(f"{len(run.decisions)} contacts scored, {mqls} MQL, {run.events_read} events read"
              f"{later}, {len(run.rejected)} rows skipped; as of "
              f"{run.at.strftime('%Y-%m-%dT%H:%M:%SZ')} with model {run.model.name} "
              f"{run.model.version or ''}", highlight=False)
    if run.uncounted:
        kinds = ", ".join(f"{kind} ({n:,})" for kind, n in list(run.uncounted.items())[:8])
        err.print(f"[yellow]warning:[/yellow] {sum(run.uncounted.values()):,} events of types "
                  f"no rule of the model counts: {escape(kinds)}", highlight=False)
    if mqls == 0 and run.latest_event is not None and run.at - run.latest_event > timedelta(
            days=30):
        err.print(f"[yellow]hint:[/yellow] 0 MQLs, and the newest event is "
                  f"{(run.at - run.latest_event).days} days before {run.at:%Y-%m-%d}: intent "
                  f"has decayed since; to score the data as of its end, pass --at "
                  f"{run.latest_event:%Y-%m-%dT%H:%MZ}", highlight=False)


@app.command()
def score(
    model: ModelOpt,
    contacts: ContactsOpt,
    accounts: AccountsOpt = None,
    events: EventsOpt = None,
    at: AtOpt = None,
    fmt: FormatOpt = Format.table,
    mql_only: Annotated[bool, typer.Option("--mql-only", help="Show MQLs only.")] = False,
    limit: Annotated[int | None, typer.Option(help="Show at most this many rows.")] = None,
    encoding: EncodingOpt = "utf-8",
    mapping: MappingOpt = "auto",
    date_format: DateFormatOpt = None,
    dayfirst: DayFirstOpt = None,
) -> None:
    """Score every contact with MODEL; MQLs first, then by total score.

    Rows that cannot be read are reported on stderr with file, row and reason; the
    other rows are scored.
    """
    try:
        loaded = scoring.load_model_file(model)
        with err.status("scoring ...") as status:
            run = scoring.score_files(
                loaded, scoring.Inputs(contacts, accounts, events, ReadOptions(encoding),
                                       mapping, date_format, dayfirst), at=_at(at),
                progress=lambda what, n: status.update(f"reading {what}: {n:,} rows"))
    except MQLError as exc:
        raise fail(exc) from None
    _report_rejected(run)
    decisions = [d for d in run.decisions if d.mql] if mql_only else run.decisions
    render_decisions(decisions, fmt, out, limit=limit)
    if fmt is Format.table:
        _summary(run)


@app.command()
def explain(
    contact: Annotated[str, typer.Argument(help="The contact's email.")],
    model: ModelOpt,
    contacts: ContactsOpt,
    accounts: AccountsOpt = None,
    events: EventsOpt = None,
    at: AtOpt = None,
    encoding: EncodingOpt = "utf-8",
    mapping: MappingOpt = "auto",
    date_format: DateFormatOpt = None,
    dayfirst: DayFirstOpt = None,
) -> None:
    """Explain CONTACT's scores and verdict: every event, rule, decay and cap."""
    try:
        loaded = scoring.load_model_file(model)
        inputs = scoring.Inputs(contacts, accounts, events, ReadOptions(encoding), mapping,
                                date_format, dayfirst)
        result = scoring.explain_contact(loaded, inputs, contact, at=_at(at))
    except MQLError as exc:
        raise fail(exc) from None
    render_explanation(result, out)


@app.command()
def demo(
    sample: Annotated[bool, typer.Option(
        "--sample", help="Only score the small bundled sample (seconds) and explain a lead.")]
    = False,
    accounts: Annotated[int, typer.Option(help="Companies in the synthetic world.")] = 200,
    months: Annotated[int, typer.Option(help="Months of simulated time.")] = 6,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic world.")] = 7,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Keep the workspace here (default: a temporary folder).")] = None,
    top: Annotated[int, typer.Option(help="How many contacts to show.")] = 10,
    fmt: FormatOpt = Format.table,
) -> None:
    """The main job end to end: a synthetic world is generated, ingested day by day into
    SQLite, scored, qualified and routed; simulated sellers act and the worker runs
    through simulated time. Prints MQLs per month, the funnel, SLA attainment, the routing
    split and the top current MQLs with their reasons."""
    if sample:
        _sample_demo(top, fmt)
        return
    with tempfile.TemporaryDirectory(prefix="mql-demo-") as scratch:
        folder = out_dir or Path(scratch)
        try:
            ws = store_service.init_workspace(folder, now=CLOCK.now())
            engine = connect(ws.database_url)
            with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[day]}"),
                          TimeElapsedColumn(), console=err, transient=True) as bar:
                task = bar.add_task("days", total=None, day="generating the world")
                report = demo_service.run_demo(
                    engine, accounts=accounts, months=months, seed=seed, usage=True,
                    progress=lambda done, total: bar.update(
                        task, completed=done, total=total, day=f"day {done:,} of {total:,}"))
            engine.dispose()
        except MQLError as exc:
            raise fail(exc) from None
        render_demo(report, out, top=top)
        if out_dir is not None:
            out.print(f"\nworkspace kept in {out_dir} (database {ws.database_url})")


def _sample_demo(top: int, fmt: Format) -> None:
    model_path, inputs = scoring.sample_inputs()
    try:
        loaded = scoring.load_model_file(model_path)
        at = scoring.latest_event_time(inputs)
        run = scoring.score_files(loaded, inputs, at=at)
    except MQLError as exc:
        raise fail(exc) from None
    render_decisions(run.decisions, fmt, out, limit=top,
                     title=f"Top {top} of {len(run.decisions)} contacts, model "
                     f"{loaded.name} {loaded.version}, as of {at:%Y-%m-%d %H:%M} UTC")
    if fmt is Format.table:
        _report_rejected(run)
        _summary(run)
        first = next((d for d in run.decisions if d.mql), None)
        if first is not None:
            out.print(f"\nWhy? mql explain {first.contact} --model {model_path.name} ... ; "
                      "the breakdown:")
            render_explanation(scoring.explain_contact(loaded, inputs, first.contact, at=at), out)


# the other families of commands, after the scoring ones in --help
store.register(app)
lifecycle.register(app)
lifecycle.register_models(app)
rescore_cli.register(app)
api.register(app)
synth.register(app)
outcomes_cli.register(app)
report.register(app)
loop.register(app)
modeltest.register(app)
accounts_cli.register(app)
learn.register(app)
modeltest.register_diff(app)
audit_cli.register(app)
attribution_cli.register(app)
compliance_cli.register(app)
nurture_cli.register(app)


def user_error(exc: BaseException) -> str | None:
    """The one-line message of an error the user can fix (None: a bug in mql).

    Errors mql raises on purpose, files that are missing, folders given for files,
    permissions, and database URLs or servers that cannot be used are the user's; any
    other exception is a bug.
    """
    if isinstance(exc, MQLError):
        return str(exc)
    if isinstance(exc, IsADirectoryError):
        return f"{exc.filename}: is a folder; give a file"
    if isinstance(exc, NotADirectoryError):
        return f"{exc.filename}: a part of this path is a file, not a folder"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror.lower()}"
    if isinstance(exc, sa_exc.ArgumentError | sa_exc.NoSuchModuleError):
        return f"the database URL cannot be used ({exc}); use sqlite:///path/to/mql.db " \
               "or postgresql://user@host/db"
    if isinstance(exc, sa_exc.OperationalError):
        return f"the database cannot be reached or used: {exc.orig}"
    return None


def run() -> None:
    """The `mql` script: every command, and one handler for what escapes them. A user
    error is one line on stderr (exit 2); a bug prints its traceback and asks for a report
    (exit 70); ^C exits 130."""
    try:
        app(prog_name="mql")
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        sys.exit(130)
    except Exception as exc:
        message = user_error(exc)
        if message is not None:
            err.print(f"[red]error:[/red] {escape(message)}", highlight=False, markup=True,
                      soft_wrap=True)
            sys.exit(2)
        traceback.print_exc()
        print(f"mql {__version__}: this is a bug in mql, not in your input; please report it "
              "with the command you ran and the traceback above.", file=sys.stderr)
        sys.exit(70)
