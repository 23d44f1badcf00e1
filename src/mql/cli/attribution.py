"""`mql attribute`: which channels (campaigns, content) get the credit for the
opportunities, pipeline and won revenue, by one attribution model or all of them side by
side, from the stored ledger or from a paths or journey file (docs/attribution.md)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from mql.batch.reports import Window
from mql.cli.render import DbOpt, console, fail, store_settings
from mql.cli.report import AtOpt, FormatOpt, FromOpt, ReportFormat, ToOpt, render_report
from mql.clock import SystemClock
from mql.errors import ConfigError, MQLError
from mql.ingest.formats import parse_time
from mql.service import attribution as service
from mql.store.db import connect

CLOCK = SystemClock()
out = console()


class Level(str, Enum):
    contact = "contact"
    account = "account"


class By(str, Enum):
    channel = "channel"
    campaign = "campaign"
    content = "content"


class Measure(str, Enum):
    opportunities = "opportunities"
    pipeline = "pipeline"
    won = "won"
    revenue = "revenue"


class Allocation(str, Enum):
    total = "total"
    journey = "journey"


class SelfTransitions(str, Enum):
    keep = "keep"
    drop = "drop"


def register(app: typer.Typer) -> None:
    """Add `mql attribute` to `app`."""

    @app.command("attribute")
    def attribute(
        model: Annotated[str, typer.Option(
            "--model", help="first, last, last_non_direct, linear, u, w, z (full path), "
                            "time_decay, j, inverse_j, markov, shapley; several "
                            "comma-separated, or all: side by side.")] = "linear",
        order: Annotated[int | None, typer.Option(
            "--order", help="Markov order (how many past channels a state remembers); "
                            "default: the model file's (1).")] = None,
        allocation: Annotated[Allocation | None, typer.Option(
            "--allocation", help="Markov: total (every conversion by the removal "
                                 "effects, as ChannelAttribution) or journey (each "
                                 "journey over its own channels).")] = None,
        self_transitions: Annotated[SelfTransitions | None, typer.Option(
            "--self-transitions", help="Markov: keep or drop a channel repeated in a "
                                       "row.")] = None,
        level: Annotated[Level, typer.Option(
            "--level", help="contact: a person's touches; account: every committee "
                            "member's.")] = Level.contact,
        by: Annotated[By, typer.Option("--by", help="What is credited.")] = By.channel,
        measure: Annotated[Measure, typer.Option(
            "--measure", help="Side by side: the number compared.")] = Measure.opportunities,
        start: FromOpt = None, end: ToOpt = None,
        fmt: FormatOpt = ReportFormat.table, db: DbOpt = None, at: AtOpt = None,
        paths: Annotated[Path | None, typer.Option(
            "--paths", help="Attribute a paths file (path \"a > b\", total_conversions, "
                            "total_null, total_conversion_value) instead of the store.")
                         ] = None,
        journeys: Annotated[Path | None, typer.Option(
            "--journeys", help="Attribute a journey file (id, time, channel, conversion, "
                               "value: one row per touch) instead of the store.")] = None,
        model_file: Annotated[Path | None, typer.Option(
            "--model-file", help="With --paths or --journeys: the model file whose "
                                 "attribution section applies.")] = None,
    ) -> None:
        """Credit for the opportunities, pipeline and won revenue by channel, campaign or
        content, under one attribution model or several side by side."""
        from mql.analytics.definitions import parse_bound

        try:
            now = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                            field="--at")
            window = Window(None if start is None else parse_bound(start, "--from"),
                            None if end is None else parse_bound(end, "--to"))
            q = service.Query(
                service.parse_models(model), level.value, by.value, measure.value, window,
                order, allocation.value if allocation else None,
                self_transitions.value if self_transitions else None)
            if paths is not None and journeys is not None:
                raise ConfigError("--paths and --journeys: give one file")
            source = paths or journeys
            if source is not None:
                if db is not None:
                    raise ConfigError("--paths and --journeys read a file instead of the "
                                      "store: drop --db")
                result = service.attribute_file(
                    source, q, kind="paths" if paths is not None else "journeys", now=now,
                    model_path=model_file)
            else:
                if model_file is not None:
                    raise ConfigError("--model-file applies to --paths and --journeys; the "
                                      "store uses its active model")
                settings = store_settings(db)
                result = service.run_attribution(connect(settings.database_url), q,
                                                 now=now)
        except MQLError as exc:
            raise fail(exc) from None
        render_report(result, fmt, out)
