"""`mql synth`: write a seeded synthetic B2B world to a folder, with a progress bar.

The main app adds the command with ``register(app)``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mql.cli.render import console, fail
from mql.errors import MQLError
from mql.ingest.formats import parse_time
from mql.service.synth import SynthSummary, write_world

DEFAULT_START_TEXT = "2025-01-01T00:00Z"


class SynthFormat(str, Enum):
    """File formats `mql synth` writes."""

    csv = "csv"
    parquet = "parquet"
    jsonl = "jsonl"


AccountsOpt = Annotated[
    int, typer.Option("--accounts", "-n", min=1, help="Number of accounts (companies) to generate.")
]
MonthsOpt = Annotated[
    int, typer.Option("--months", "-m", min=1, max=120, help="Months of event history (1-120).")
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed", "-s", help="Random seed; the same seed and options give the same bytes."
    ),
]
OutOpt = Annotated[
    Path,
    typer.Option("--out", "-o", help="Folder to write; created if missing, files overwritten."),
]
FormatOpt = Annotated[
    SynthFormat, typer.Option("--format", "-f", help="File format of every table.")
]
DirtyOpt = Annotated[
    float,
    typer.Option(
        "--dirty",
        min=0.0,
        max=0.5,
        help="Rate of messiness, 0-0.5: duplicate people and events, malformed rows, missing "
        "firmographics (all listed in truth/).",
    ),
]
DriftOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--drift",
        help="DRIVER:DATE, e.g. webinar_attended:2025-05-01: from that date the driver "
        "(webinar_attended or content_download) stops following the buying stage, so "
        "`mql audit` has a drift to find; may be repeated.",
    ),
]
UsageOpt = Annotated[
    bool,
    typer.Option(
        "--usage",
        help="Add product usage after each trial signup (signed_up, workspace, active days, "
        "features, integrations, teammates invited, the seat limit); every other row stays "
        "as without it.",
    ),
]
ChannelEffectsOpt = Annotated[
    bool,
    typer.Option(
        "--channel-effects",
        help="Known channel effects: each account's web sessions come through the channels "
        "it is exposed to, and those set its chance of an opportunity; the truth is in "
        "truth/channel_effects (for `mql attribute` to recover). Off by default.",
    ),
]
StartOpt = Annotated[
    str, typer.Option("--start", help="First instant of the world (ISO 8601; no offset means UTC).")
]


def _caption(summary: SynthSummary) -> str:
    return (
        f"seed {summary.seed} · {summary.accounts:,} accounts · {summary.months} months from "
        f"{summary.start:%Y-%m-%d} · dirty {summary.dirty:g} · {summary.seconds:.1f} s · "
        f"{summary.events_per_second:,.0f} events/s"
    )


def _table(summary: SynthSummary) -> Table:
    table = Table(title=f"synthetic world in {summary.out_dir}", title_justify="left")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    return table


def register(app: typer.Typer) -> None:
    """Add the `synth` command to `app`."""

    @app.command()
    def synth(
        out: OutOpt,
        accounts: AccountsOpt = 1000,
        months: MonthsOpt = 12,
        seed: SeedOpt = 0,
        fmt: FormatOpt = SynthFormat.csv,
        dirty: DirtyOpt = 0.0,
        start: StartOpt = DEFAULT_START_TEXT,
        drift: DriftOpt = None,
        usage: UsageOpt = False,
        channel_effects: ChannelEffectsOpt = False,
    ) -> None:
        """Write a seeded synthetic B2B world to a folder (see docs/synthetic.md).

        Accounts, contacts, events, opportunities, costs, consent, sales dispositions and,
        in truth/, the hidden intent path of every account, the duplicate clusters and the
        rows broken on purpose by --dirty.
        """
        shown = console()
        errors = console(stderr=True)
        try:
            first = parse_time(start, source="--start", row=0, field="--start")
            with Progress(
                TextColumn("generating accounts"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=errors,
                transient=True,
            ) as bar:
                task = bar.add_task("accounts", total=accounts)
                summary = write_world(
                    out,
                    accounts=accounts,
                    months=months,
                    seed=seed,
                    fmt=fmt.value,
                    dirty=dirty,
                    start=first,
                    drift=tuple(drift or ()),
                    usage=usage,
                    channel_effects=channel_effects,
                    progress=lambda done, total: bar.update(task, completed=done),
                )
        except MQLError as exc:
            raise fail(exc) from None
        shown.print(_table(summary))
        shown.print(_caption(summary), highlight=False, soft_wrap=True)
