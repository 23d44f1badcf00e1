"""`mql rescore` and `mql compile`: the batch engine from the command line."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mql.batch.asof import AsOf
from mql.cli.render import console, fail
from mql.cli.store import DateFormatOpt, DayFirstOpt, MappingOpt
from mql.clock import SystemClock
from mql.errors import ConfigError, MQLError
from mql.ingest.formats import parse_time
from mql.service import rescore as service


class EngineName(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


class OutFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"


ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="The model file (YAML).")]
EngineOpt = Annotated[EngineName, typer.Option("--engine", help="The batch engine.")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Score as of this time (ISO 8601); default: now.")]
DailyOpt = Annotated[tuple[str, str] | None, typer.Option(
    "--daily", help="Score at midnight UTC of every day FROM TO (inclusive): a score history.",
    metavar="FROM TO")]


def _as_of(as_of: str | None, daily: tuple[str, str] | None) -> AsOf:
    if as_of is not None and daily is not None:
        raise ConfigError("give --as-of or --daily, not both")
    if daily is not None:
        first, last = (_day(text, "--daily") for text in daily)
        return AsOf.daily(first, last)
    if as_of is None:
        return AsOf.at(SystemClock().now())
    return AsOf.at(parse_time(as_of, source="--as-of", row=0, field="--as-of"))


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def register(app: typer.Typer) -> None:
    """Add the `rescore` and `compile` commands to `app`."""

    @app.command()
    def rescore(
        out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the scores "
                                                               "(Spark: a folder).")],
        model: Annotated[Path | None, typer.Option(
            "--model", "-m", help="The model file (YAML); with --db, default: the store's "
            "active model.")] = None,
        events: Annotated[Path | None, typer.Option(
            "--events", "-e", help="Events: CSV, JSONL or Parquet.")] = None,
        contacts: Annotated[Path | None, typer.Option(
            "--contacts", "-c", help="Contacts file.")] = None,
        db: Annotated[str | None, typer.Option(
            "--db", help="Read contacts, accounts and events from this store instead of "
            "files (e.g. sqlite:///.mql/mql.db or postgresql://...).")] = None,
        accounts: Annotated[Path | None, typer.Option("--accounts", "-a",
                                                      help="Accounts file.")] = None,
        engine: EngineOpt = EngineName.duckdb,
        master: Annotated[str | None, typer.Option(
            "--master", help="With --engine spark: the Spark master URL (spark://host:7077, "
            "yarn, k8s://..., local[N]); default local[2].")] = None,
        as_of: AsOfOpt = None,
        daily: DailyOpt = None,
        fmt: Annotated[OutFormat | None, typer.Option(
            "--format", "-f", help="Output file format; default: from the --out extension "
            "(.csv or .parquet), else Parquet.")] = None,
        mapping: MappingOpt = "auto",
        date_format: DateFormatOpt = None,
        dayfirst: DayFirstOpt = None,
    ) -> None:
        """Rescore every contact with MODEL in one set-based query (DuckDB or Spark) and
        write one row per contact (and per day with --daily): scores, grade, MQL, reasons."""
        err = console(stderr=True)
        try:
            times = _as_of(as_of, daily)
            kind = service.output_format(out, None if fmt is None else fmt.value)
            options = service.engine_options(engine.value, master)
            with err.status("rescoring ...") as status:
                tell = lambda step: status.update(f"{step} ...")  # noqa: E731
                if db is not None:
                    run = service.rescore_store(db, out=out, as_of=times, model_path=model,
                                                engine=engine.value, fmt=kind,
                                                progress=tell, engine_options=options)
                elif model is None or events is None or contacts is None:
                    raise ConfigError("give --model, --events and --contacts, or --db to "
                                      "read a store")
                else:
                    run = service.rescore_files(
                        model, events=events, contacts=contacts, accounts=accounts, out=out,
                        as_of=times, engine=engine.value, fmt=kind, progress=tell,
                        engine_options=options, mapping=mapping, date_format=date_format,
                        dayfirst=dayfirst)
        except MQLError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        for item in run.rejected[:10]:
            err.print(f"[yellow]skipped[/yellow] {item.error}", highlight=False)
        if len(run.rejected) > 10:
            err.print(f"[yellow]... and {len(run.rejected) - 10} more rows skipped[/yellow]")
        for warning in run.warnings[:10]:
            err.print(f"[yellow]field dropped[/yellow] {warning}", highlight=False)
        table = Table(title=f"rescore with {run.model.name} {run.model.version or ''}".strip())
        for name in ("engine", "as of", "contacts", "rows", "MQLs", "events", "seconds",
                     "events/s"):
            table.add_column(name, justify="left" if name in ("engine", "as of") else "right",
                             overflow="fold")
        first, last = times.times()[0], times.times()[-1]
        when = _stamp(first) if times.count == 1 else f"{_stamp(first)} .. {_stamp(last)}"
        s = run.summary
        table.add_row(s.engine, when, f"{s.contacts:,}", f"{s.rows:,}", f"{s.mqls:,}",
                      f"{s.events:,}", f"{run.seconds:.2f}", f"{run.events_per_second:,.0f}")
        console().print(table)
        err.print(f"wrote {out}", highlight=False)
        if s.mqls == 0 and s.contacts and as_of is None and daily is None:
            err.print(f"[yellow]hint:[/yellow] 0 MQLs as of now ({_stamp(first)}): intent "
                      "decays, so an older export or a synthetic world scores near 0 today; "
                      "pass --as-of with the time of its newest events (mql synth prints it)",
                      highlight=False)

    @app.command("compile")
    def compile_(
        model: ModelOpt,
        engine: EngineOpt = EngineName.duckdb,
        as_of: AsOfOpt = None,
        daily: DailyOpt = None,
    ) -> None:
        """Print the SQL the batch engine runs for MODEL (tables events_raw, contacts,
        accounts)."""
        try:
            sql = service.compiled_sql(model, engine=engine.value, as_of=_as_of(as_of, daily))
        except MQLError as exc:
            raise fail(exc) from None
        typer.echo(sql)
