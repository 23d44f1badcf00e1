"""`mql nurture export TRACK`: the contacts on a nurture track, for email tools that
import lists (docs/nurture.md). `mql report nurture` measures the tracks (cli.report)."""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from typing import Annotated

import typer

from mql.cli.render import DbOpt, fail, store_settings
from mql.clock import SystemClock
from mql.errors import MQLError
from mql.ingest.formats import parse_time
from mql.service import nurture as service
from mql.store.db import connect

CLOCK = SystemClock()


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add `mql nurture ...` to `app`."""
    nurture = typer.Typer(help="Nurture tracks (docs/nurture.md): who is on which track, for "
                          "the email tool; `mql report nurture` measures them.",
                          no_args_is_help=True)

    @nurture.command("export")
    def export(
        track: Annotated[str, typer.Argument(help="The track's name in the model.")],
        fmt: Annotated[ExportFormat, typer.Option("--format", "-f",
                                                  help="Output format.")] = ExportFormat.csv,
        at: Annotated[str | None, typer.Option(
            "--at", help="Who was on the track at this time; default: now.")] = None,
        db: DbOpt = None) -> None:
        """The contacts on TRACK (email, name, title, account, since, why, the channels
        their consent permits); never one whose consent forbids the track's channel."""
        engine = None
        try:
            now = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                            field="--at")
            engine = connect(store_settings(db).database_url)
            rows = service.export_track(engine, track, at=now)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            if engine is not None:
                engine.dispose()
        if fmt is ExportFormat.json:
            sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
            return
        writer = csv.DictWriter(sys.stdout, fieldnames=service.EXPORT_COLUMNS,
                                lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ";".join(v) if isinstance(v, list) else "" if v is None
                             else v for k, v in row.items()})

    app.add_typer(nurture, name="nurture")
