"""`mql learn`: fit readable points from outcomes and write them as a model file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mql.cli.period import bound
from mql.cli.render import DbOpt, console, fail, store_settings
from mql.cli.store import DateFormatOpt, DayFirstOpt
from mql.clock import SystemClock
from mql.errors import MQLError
from mql.service import learning as service
from mql.service import scoring
from mql.store.db import connect

CLOCK = SystemClock()
out = console()
err = console(stderr=True)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _report(run: service.LearnRun, target: Path | None) -> None:
    card = run.card
    for warning in card.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    for item in run.rejected[:20]:
        err.print(f"[yellow]skipped[/yellow] {escape(str(item.error))}", highlight=False)
    if len(run.rejected) > 20:
        err.print(f"[yellow]... and {len(run.rejected) - 20} more rows skipped[/yellow]")
    if card.small_data:
        err.print(f"[yellow]small data:[/yellow] only {card.positives} leads with the outcome "
                  "(fewer than 100); the points are shrunk towards the hand model's when "
                  "--model is given, and the intervals in the file are wide", highlight=False)
    table = Table(title=f"learned from {run.source}", title_justify="left")
    for name in ("rule", "field or event", "points", "information value / lift"):
        table.add_column(name)
    for rule in card.attributes:
        table.add_row(rule.field.partition(".")[2], rule.field,
                      f"{min(rule.points)} to {max(rule.points)}",
                      f"{rule.binning.information_value:.2f}")
    for touch in card.touches:
        table.add_row(touch.kind, f"{touch.event} (half-life {touch.half_life_days:g} d)",
                      f"{touch.per_touch:g} per touch, cap {touch.cap:g}",
                      f"{touch.evidence.lift:.2f}")
    out.print(table)
    out.print(f"{card.leads} leads, {card.positives} {card.outcome} "
              f"({card.base_rate:.1%}); {len(run.rejected)} rows skipped", highlight=False)
    if target is not None:
        out.print(f"wrote {target} (check it: mql validate {target})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `mql learn` to `app`."""

    @app.command("learn")
    def learn(
        outcome: Annotated[str, typer.Option(
            "--outcome", help="What to predict: won, sql or opportunity.")],
        start: Annotated[str | None, typer.Option(
            "--from", help="Learn from leads whose MQL or hand-off moment is at or after "
                           "this month (2025-03), day or time (ISO 8601); default: the "
                           "first.")] = None,
        end: Annotated[str | None, typer.Option(
            "--to", help="... and before this month, day or time; default: now.")] = None,
        features: Annotated[list[str] | None, typer.Option(
            "--features", help="Only these fields (contact.seniority, account.employees ...) "
                               "and touches (event:demo_request, 'event:page_view /pricing'); "
                               "comma-separated or repeated. Default: every usable field and "
                               "touch.")] = None,
        out_file: Annotated[Path | None, typer.Option(
            "--out", help="Write the model file here (default: print it).")] = None,
        export: Annotated[Path | None, typer.Option(
            "--export", help="Learn from a flat lead export (CSV, JSONL or Parquet: one row "
                             "per lead with an outcome column) instead of the store.")] = None,
        outcome_column: Annotated[str | None, typer.Option(
            "--outcome-column", help="The export's outcome column (default: the outcome's "
                                     "name).")] = None,
        mapping: Annotated[str, typer.Option(
            "--mapping", help="Column mapping of the export: auto, mql, hubspot, salesforce "
                              "or a mapping file (docs/ingest.md).")] = "auto",
        model: Annotated[Path | None, typer.Option(
            "--model", "-m", help="The hand model: small data shrinks towards its points, "
                                  "and each field's rule goes in the score that reads it "
                                  "(default for the store: its live model).")
        ] = None,
        date_format: DateFormatOpt = None,
        dayfirst: DayFirstOpt = None,
        db: DbOpt = None,
    ) -> None:
        """Learn readable points from outcomes (docs/learning.md): weight-of-evidence
        bins and value tables for attributes, points per touch with a half-life for
        behaviour before the decision, a comment per rule with its evidence (leads, lift,
        95% interval) and the calibration map from score to probability. The file is a
        model: `mql validate`, `mql test` and `mql backtest` read it."""
        try:
            now = CLOCK.now()
            version = f"learned-{now:%Y-%m-%d}"
            hand = scoring.load_model_file(model) if model is not None else None
            names = _split(features)
            if export is not None:
                run = service.learn_from_file(
                    export, outcome=outcome, outcome_column=outcome_column,
                    mapping=mapping, features=names,
                    hand=hand, version=version, date_format=date_format, dayfirst=dayfirst)
            else:
                since = bound(start, "--from")
                until = bound(end, "--to") or now
                engine = connect(store_settings(db).database_url)
                try:
                    run = service.learn_from_store(engine, outcome=outcome, start=since,
                                                   end=until, features=names, hand=hand,
                                                   version=version)
                finally:
                    engine.dispose()
            if out_file is not None:
                out_file.write_text(run.text, encoding="utf-8")
        except MQLError as exc:
            raise fail(exc) from None
        except OSError as exc:
            raise fail(MQLError(f"{out_file}: {exc.strerror}")) from None
        if out_file is None:  # the file on stdout, what it says about itself on stderr
            for warning in run.card.warnings:
                err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
            for item in run.rejected:
                err.print(f"[yellow]skipped[/yellow] {escape(str(item.error))}",
                          highlight=False)
            print(run.text, end="")
            return
        _report(run, out_file)
