"""Store commands: `mql init`, `mql migrate`, `mql ingest`, `mql quarantine`, `mql contact`,
`mql scores`, `mql unmerge`. The main app adds them with ``register(app)``.

`--db URL` falls back to `MQL_DATABASE_URL`, then to the workspace database in the current
folder (`.mql/mql.db`, created by `mql init`).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from mql.cli.render import (
    DbOpt,
    Format,
    console,
    fail,
    render_decisions,
    render_explanation,
    store_settings,
)
from mql.clock import SystemClock
from mql.errors import MQLError
from mql.ingest.files import ReadOptions
from mql.ingest.formats import parse_time
from mql.ingest.outcomes import OUTCOME_KINDS
from mql.service import consent as consent_service
from mql.service import ingest as ingest_service
from mql.service import outcomes as outcome_service
from mql.service import scores as score_service
from mql.service import store as store_service
from mql.service.lead_words import lead_card
from mql.settings import load_settings
from mql.store.db import connect

CLOCK = SystemClock()


class IngestKind(str, Enum):
    """What a file to ingest holds."""

    contacts = "contacts"
    accounts = "accounts"
    events = "events"
    opportunities = "opportunities"
    costs = "costs"
    dispositions = "dispositions"
    consent = "consent"


MappingOpt = Annotated[str, typer.Option(
    "--mapping", help="Column mapping: auto (detects HubSpot and Salesforce exports), mql, "
    "hubspot, salesforce, salesforce_contact_roles (Salesforce OpportunityContactRole, for "
    "opportunities), or a mapping file (YAML, see docs/ingest.md).")]
DateFormatOpt = Annotated[str | None, typer.Option(
    "--date-format", help="strptime format of the file's dates when not ISO 8601, e.g. "
    "'%d.%m.%Y %H:%M' (over the mapping's).")]
DayFirstOpt = Annotated[bool | None, typer.Option(
    "--dayfirst/--monthfirst", help="Read 03/04/2025 as 3 April (--dayfirst) or 4 March "
    "(--monthfirst); default: decided by the file's other dates, refused if none does.")]




def _summary_table(summary: ingest_service.IngestSummary) -> Table:
    table = Table(title=f"{summary.kind} from {summary.source} (mapping {summary.mapping})",
                  title_justify="left")
    table.add_column("rows")
    table.add_column("count", justify="right")
    table.add_row("read", f"{summary.rows:,}")
    table.add_row("loaded", f"{summary.loaded:,}")
    table.add_row("duplicates skipped", f"{summary.duplicates:,}")
    before = (f" ({summary.quarantined_before:,} held already)"
              if summary.quarantined_before else "")
    table.add_row("quarantined", f"{summary.quarantined:,}{before}")
    if summary.resolved:
        table.add_row("earlier quarantined rows resolved", f"{summary.resolved:,}")
    if summary.fields_dropped:
        table.add_row("fields dropped (row kept; see mql quarantine list)",
                      f"{summary.fields_dropped:,}")
    if summary.resumed:
        table.add_row("already committed (resumed)", f"{summary.resumed:,}")
    if summary.merges or summary.merges_refused:
        table.add_row("contacts merged", f"{summary.merges:,}")
        table.add_row("merges refused by guardrails", f"{summary.merges_refused:,}")
    return table


def register(app: typer.Typer) -> None:
    """Add the store commands to `app`."""
    quarantine = typer.Typer(help="Rows that could not be loaded, with the reason.",
                             no_args_is_help=True)
    app.add_typer(quarantine, name="quarantine")
    out = console()

    @app.command()
    def init(
        folder: Annotated[Path, typer.Argument(help="Workspace folder.")] = Path("."),
        db: DbOpt = None,
        activate: Annotated[bool, typer.Option(
            "--activate", help="On a workspace that already has a live model, make the "
            "model file live again (re-derives and rescores every contact, records the "
            "transitions as a model change).")] = False,
    ) -> None:
        """Create a workspace: the database and a copy of the example model, activated.

        On an existing workspace it only completes what is missing (schema, model file):
        the live model, scores and stages are kept unless --activate is given."""
        # like every command: --db, else MQL_DATABASE_URL, else the folder's own database
        settings = load_settings()
        url = db or (settings.database_url if "database_url" in settings.model_fields_set
                     else None)
        try:
            ws = store_service.init_workspace(folder, now=CLOCK.now(), database_url=url,
                                              activate=activate)
        except MQLError as exc:
            raise fail(exc) from None
        if ws.activated:
            out.print(f"workspace {ws.folder}: database "
                      f"{store_service.describe(ws.database_url)}, model {ws.model_path} "
                      f"(version {ws.model_version_id}, active)", highlight=False)
        else:
            out.print(f"workspace {ws.folder}: database "
                      f"{store_service.describe(ws.database_url)} already has a live model "
                      f"(version {ws.model_version_id}); nothing was changed. To make "
                      f"{ws.model_path} live: mql model activate {ws.model_path} "
                      "(or mql init --activate)", highlight=False, soft_wrap=True)

    @app.command()
    def migrate(db: DbOpt = None) -> None:
        """Upgrade the database schema to this mql's newest revision."""
        settings = store_settings(db)
        engine = connect(settings.database_url)
        try:
            before, after = store_service.migrate(engine)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        out.print(f"{store_service.describe(settings.database_url)}: schema "
                  f"{before or 'empty'} -> {after}", highlight=False)

    @app.command()
    def ingest(
        kind: Annotated[IngestKind, typer.Argument(help="What the file holds.")],
        file: Annotated[Path, typer.Argument(help="CSV, JSONL or Parquet file.")],
        db: DbOpt = None,
        source: Annotated[str | None, typer.Option(help="Source name; default: file name.")]
        = None,
        mapping: MappingOpt = "auto",
        date_format: DateFormatOpt = None,
        dayfirst: DayFirstOpt = None,
        encoding: Annotated[str, typer.Option(
            help="Text encoding of a CSV or JSONL file (latin-1, cp1252, utf-16 ...); a row "
                 "with bytes it cannot decode is quarantined.")] = "utf-8",
        max_field_bytes: Annotated[int | None, typer.Option(
            "--max-field-bytes", help="Largest value in bytes; a row with a larger one is "
            "quarantined. Default: $MQL_MAX_FIELD_BYTES, else 131072.")] = None,
        delimiter: Annotated[str | None, typer.Option(
            help="CSV delimiter; default: detected (comma, semicolon, tab or |).")] = None,
        strict: Annotated[bool, typer.Option(
            "--strict", help="Exit with code 1 when any row was quarantined.")] = False,
    ) -> None:
        """Load a file into the store; rows already stored are skipped, bad rows quarantined.

        Opportunities (stage changes over time are kept), marketing costs and sales
        dispositions load the same way (docs/outcomes.md); so do consent changes (every
        change kept as history, docs/compliance.md).

        Exit codes: 0 done, 1 rows were quarantined and --strict was given, 2 the file or
        an option cannot be used (nothing of the file was read).
        """
        settings = store_settings(db)
        engine = connect(settings.database_url)
        err = console(stderr=True)
        try:
            options = ReadOptions(
                encoding=encoding, delimiter=delimiter,
                max_field_bytes=(settings.max_field_bytes if max_field_bytes is None
                                 else max_field_bytes))
            with Progress(TextColumn(f"ingesting {kind.value}"), BarColumn(),
                          TextColumn("{task.fields[rows]:,} rows"), TimeElapsedColumn(),
                          TextColumn("ETA"), TimeRemainingColumn(), console=err,
                          transient=True, disable=not err.is_terminal) as bar:
                task = bar.add_task(kind.value, total=None, rows=0)

                def show(rows: int, done: int, total: int | None) -> None:
                    bar.update(task, completed=done, total=total, rows=rows)

                if kind.value == "consent":
                    summary = consent_service.ingest_consent(
                        engine, file, rules=settings.identity_rules(), now=CLOCK.now(),
                        mapping=mapping, source=source, batch_size=settings.batch_size,
                        options=options, date_format=date_format, dayfirst=dayfirst,
                        progress=show)
                elif kind.value in OUTCOME_KINDS:
                    summary = outcome_service.ingest_outcomes(
                        engine, file, kind.value, rules=settings.identity_rules(),
                        now=CLOCK.now(), mapping=mapping, source=source,
                        batch_size=settings.batch_size, options=options,
                        date_format=date_format, dayfirst=dayfirst, progress=show)
                else:
                    summary = ingest_service.ingest_file(
                        engine, file, kind.value, rules=settings.identity_rules(),
                        now=CLOCK.now(), mapping=mapping, source=source,
                        batch_size=settings.batch_size, options=options,
                        future_skew=settings.future_skew, date_format=date_format,
                        dayfirst=dayfirst, progress=show)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        out.print(_summary_table(summary))
        for note in summary.notes:
            out.print(f"note: {note}", highlight=False)
        out.print(f"{summary.seconds:.1f} s, {summary.rate:,.0f} rows/s", highlight=False)
        if summary.quarantined:
            out.print(f"{summary.quarantined:,} rows quarantined: `mql quarantine list` shows "
                      "why", highlight=False)
            if strict:
                raise typer.Exit(code=1)

    @quarantine.command("list")
    def quarantine_list(
        db: DbOpt = None,
        all_rows: Annotated[bool, typer.Option(
            "--all", help="Resolved and dismissed rows too.")] = False,
        source: Annotated[str | None, typer.Option(
            help="Only the rows of this source (the file path as ingested).")] = None,
        limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    ) -> None:
        """List quarantined rows (the open ones unless --all): id, source:row, field, reason."""
        engine = connect(store_settings(db).database_url)
        try:
            rows = store_service.quarantined(engine, status=None if all_rows else "open",
                                             limit=limit, source=source)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        table = Table(title=f"{len(rows)} quarantined rows", title_justify="left")
        for name in ("id", "kind", "where", "field", "reason", "status"):
            table.add_column(name)
        for q in rows:
            table.add_row(str(q.id), q.kind, f"{q.source}:{q.row}", q.field or "-", q.reason,
                          q.status)
        out.print(table)

    @quarantine.command("show")
    def quarantine_show(row_id: Annotated[int, typer.Argument(help="Quarantine id.")],
                        db: DbOpt = None) -> None:
        """Show one quarantined row: where it came from, why, and its raw content."""
        engine = connect(store_settings(db).database_url)
        try:
            q = store_service.quarantined_row(engine, row_id)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        out.print(f"#{q.id} {q.kind} {q.source}:{q.row} ({q.status}, mapping {q.mapping})",
                  highlight=False)
        out.print(f"reason: {q.field + ' ' if q.field else ''}{q.reason}", highlight=False)
        if q.note:
            out.print(f"note: {q.note}", highlight=False)
        try:
            out.print_json(json.dumps(json.loads(q.raw)))
        except ValueError:
            out.print(q.raw, highlight=False, markup=False)

    @quarantine.command("retry")
    def quarantine_retry(
        row_id: Annotated[int | None, typer.Argument(help="Quarantine id; all open rows "
                                                          "if omitted.")] = None,
        db: DbOpt = None,
        mapping: Annotated[str | None, typer.Option(
            help="Parse with this mapping (a name or a mapping file).")] = None,
    ) -> None:
        """Parse quarantined rows again and load those that pass now."""
        settings = store_settings(db)
        engine = connect(settings.database_url)
        try:
            result = ingest_service.retry_quarantined(
                engine, None if row_id is None else [row_id], rules=settings.identity_rules(),
                now=CLOCK.now(), mapping=mapping)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        out.print(f"{len(result.loaded)} loaded, {len(result.failed)} still quarantined",
                  highlight=False)
        for qid, reason in result.failed[:20]:
            out.print(f"  #{qid}: {reason}", highlight=False)

    @quarantine.command("dismiss")
    def quarantine_dismiss(
        row_ids: Annotated[list[int] | None, typer.Argument(help="Quarantine ids.")] = None,
        reason: Annotated[str, typer.Option(
            "--reason", help="Why nobody will load these rows (kept with them).")] = "",
        source: Annotated[str | None, typer.Option(
            help="Every open row of this source (the file path as ingested).")] = None,
        db: DbOpt = None,
    ) -> None:
        """Close quarantined rows that will not be loaded, with the reason."""
        if not reason.strip():
            raise fail(MQLError("say why with --reason (it is kept with the rows)"))
        if not row_ids and source is None:
            raise fail(MQLError("name the rows: quarantine ids, or --source FILE for all "
                                 "open rows of a file"))
        engine = connect(store_settings(db).database_url)
        try:
            count = store_service.dismiss_quarantined(
                engine, ids=row_ids or None, source=None if row_ids else source,
                note=reason.strip(), now=CLOCK.now())
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        out.print(f"{count} quarantined rows dismissed", highlight=False)

    @app.command()
    def contact(email: Annotated[str, typer.Argument(
            help="Any email of the contact, or its CRM id as salesforce:ID / hubspot:ID.")],
                db: DbOpt = None,
                at: Annotated[str | None, typer.Option(
                    "--at", help="As of this time (ISO 8601); default: now.")] = None) -> None:
        """Show a contact from the store: stage, owner, team, SLA, scores, grade, MQL and
        why, identities, merges, then the explanation (every event, rule, decay and cap)."""
        settings = store_settings(db)
        engine = connect(settings.database_url)
        try:
            when = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                              field="--at")
            view = store_service.find_contact(engine, email, rules=settings.identity_rules())
            card = lead_card(engine, view.email, at=when, rules=settings.identity_rules())
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        table = Table(title=f"{view.email} (contact {view.id})", title_justify="left",
                      show_header=False)
        table.add_column("field", no_wrap=True)
        table.add_column("value", overflow="fold")
        for name, words in card.lines:
            table.add_row(name, words)
        table.add_row("account", f"{view.account or '-'} ({view.match_method or 'none'}"
                      f"{f', {view.match_confidence:.2f}' if view.match_confidence else ''})")
        s = view.scores
        if s is not None:
            table.add_row("fit / intent / total",
                          f"{s['fit']:.1f} / {s['intent']:.1f} / {s['total']:.1f}")
            table.add_row("grade", str(s["grade"] or "-"))
            table.add_row("scored at", f"{s['scored_at']:%Y-%m-%d %H:%M} UTC, model {view.model}")
        for ident in view.identities:
            if ident["namespace"] == "registered":
                continue  # the lookup key on the registrable domain, not an identity
            kind = ident["namespace"] or ident["kind"]
            table.add_row(f"identity ({kind})", str(ident["raw"] or ident["value"]))
        for channel, status in sorted(view.consent.items()):
            table.add_row(f"consent ({channel})", status)
        for m in view.merges:
            undone = f", undone {m['undone_at']:%Y-%m-%d}" if m["undone_at"] else ""
            table.add_row(f"merge #{m['id']}", f"{m['merged_id']} -> {m['survivor_id']}: "
                          f"{m['reason']}{undone}")
        out.print(table)
        render_explanation(card.lead.explanation, out)

    @app.command()
    def scores(
        db: DbOpt = None,
        at: Annotated[str | None, typer.Option(
            "--at", help="As of this time (ISO 8601); default: now.")] = None,
        mql_only: Annotated[bool, typer.Option("--mql-only", help="MQLs only.")] = False,
        limit: Annotated[int | None, typer.Option(
            help="At most this many rows; default: 50 in a table, every row in csv and "
            "jsonl.")] = None,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
        = Format.table,
    ) -> None:
        """Current scores of every contact in the store (MQLs first), as of now or --at."""
        engine = connect(store_settings(db).database_url)
        try:
            when = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                              field="--at")
            decisions = score_service.list_scores(engine, at=when, mql_only=mql_only)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        if limit is None and fmt is Format.table:
            limit = 50
        render_decisions(decisions, fmt, out, limit=limit,
                         title=f"{len(decisions)} contacts as of {when:%Y-%m-%d %H:%M} UTC")

    @app.command()
    def unmerge(merge_id: Annotated[int, typer.Argument(help="Merge id (see mql contact).")],
                db: DbOpt = None) -> None:
        """Undo a contact merge: both contacts get their own history and scores back."""
        engine = connect(store_settings(db).database_url)
        try:
            store_service.undo_merge(engine, merge_id, now=CLOCK.now())
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
        out.print(f"merge {merge_id} undone")


def _standalone() -> typer.Typer:
    """The store commands alone (`python -m mql.cli.store`), for scripts and tests."""
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                      add_completion=False)
    register(app)
    return app


if __name__ == "__main__":
    _standalone()()
