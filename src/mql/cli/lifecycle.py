"""`mql accept|reject|convert|reassign|history|worker|webhooks|outbox`: the hand-off."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.table import Table

from mql.cli.render import console
from mql.clock import SystemClock
from mql.errors import MQLError
from mql.ingest.formats import parse_time
from mql.service import lifecycle as service
from mql.service import store as store_service
from mql.settings import Settings
from mql.store.db import connect

CLOCK = SystemClock()
out = console()
err = console(stderr=True)

DbOpt = Annotated[str | None, typer.Option(
    "--db", help="Database URL; default: $MQL_DATABASE_URL, then .mql/mql.db here.")]
EmailArg = Annotated[str, typer.Argument(help="The contact's email (any of their addresses).")]
ActorOpt = Annotated[str, typer.Option("--by", help="Who does it (stored with the transition).")]


def _settings(db: str | None) -> Settings:
    return Settings(database_url=db) if db else Settings()


def _fail(exc: MQLError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _show(view: service.TransitionView) -> None:
    out.print(str(view), highlight=False)


def register(app: typer.Typer) -> None:
    """Add the hand-off commands to `app`."""

    @app.command()
    def accept(email: EmailArg, by: ActorOpt = "cli", db: DbOpt = None) -> None:
        """Sales accepts the lead (MQL -> SAL); this is its first touch for the SLA."""
        settings = _settings(db)
        try:
            _show(service.accept(connect(settings.database_url), email, actor=by,
                                 now=CLOCK.now(), identity=settings.identity_rules()))
        except MQLError as exc:
            raise _fail(exc) from None

    @app.command()
    def reject(
        email: EmailArg,
        reason: Annotated[str, typer.Option(
            "--reason", help="One of the model's lifecycle.reject_reasons, e.g. no_budget.")],
        by: ActorOpt = "cli",
        db: DbOpt = None,
    ) -> None:
        """Sales rejects the lead with a reason: back to nurture as recycled (competitor
        and student disqualify)."""
        settings = _settings(db)
        try:
            _show(service.reject(connect(settings.database_url), email, reason=reason, actor=by,
                                 now=CLOCK.now(), identity=settings.identity_rules()))
        except MQLError as exc:
            raise _fail(exc) from None

    @app.command()
    def convert(email: EmailArg, by: ActorOpt = "cli", db: DbOpt = None,
                reason: Annotated[str | None, typer.Option(help="A note.")] = None) -> None:
        """Sales moves the lead one step: SAL -> SQL -> opportunity -> customer."""
        settings = _settings(db)
        try:
            _show(service.convert(connect(settings.database_url), email, actor=by,
                                  now=CLOCK.now(), reason=reason,
                                  identity=settings.identity_rules()))
        except MQLError as exc:
            raise _fail(exc) from None

    @app.command()
    def reassign(email: EmailArg, owner: Annotated[str, typer.Option(help="The new owner.")],
                 by: ActorOpt = "cli", db: DbOpt = None) -> None:
        """Give an assigned lead to another seller."""
        settings = _settings(db)
        try:
            view = service.reassign(connect(settings.database_url), email, owner=owner,
                                    actor=by, now=CLOCK.now(),
                                    identity=settings.identity_rules())
        except MQLError as exc:
            raise _fail(exc) from None
        out.print(f"{view.email}: {view.owner} ({view.team or '-'}, SLA {view.sla or '-'})")

    @app.command()
    def history(email: EmailArg, db: DbOpt = None) -> None:
        """Every lifecycle transition of a contact: time, stages, actor, cause, reason."""
        settings = _settings(db)
        try:
            views = service.history(connect(settings.database_url), email,
                                    identity=settings.identity_rules())
        except MQLError as exc:
            raise _fail(exc) from None
        table = Table(title=f"lifecycle of {email}", title_justify="left")
        for col in ("time (UTC)", "from", "to", "by", "cause", "reason"):
            table.add_column(col)
        for v in views:
            table.add_row(f"{v.at:%Y-%m-%d %H:%M}", v.source or "-", v.target, v.actor,
                          v.cause, v.reason or "")
        out.print(table)

    @app.command()
    def worker(
        db: DbOpt = None,
        once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
        poll: Annotated[float, typer.Option(help="Seconds between looks for new work.")] = 5.0,
        simulate_until: Annotated[str | None, typer.Option(
            help="Run through simulated time up to this moment (demos, backfills).")] = None,
        step_hours: Annotated[float, typer.Option(help="Simulated step, hours.")] = 1.0,
    ) -> None:
        """Run time-based transitions (decay exits, timeouts), SLA breaches and webhook
        deliveries exactly when due."""
        engine = connect(_settings(db).database_url)
        total = service.WorkerReport()
        try:
            with httpx.Client(timeout=10) as client:
                if simulate_until is not None:
                    now = CLOCK.now()
                    end = parse_time(simulate_until, source="--simulate-until", row=0,
                                     field="--simulate-until")
                    while now <= end:
                        _add(total, _told(service.run_once(engine, client, now=now), now))
                        now += timedelta(hours=step_hours)
                else:
                    if not once:
                        err.print("worker: running transitions, SLA checks and webhook "
                                  "deliveries as they fall due; Ctrl-C to stop",
                                  highlight=False)
                    while True:
                        now = CLOCK.now()
                        _add(total, _told(service.run_once(engine, client, now=now), now))
                        if once:
                            break
                        wake = service.next_wake(engine, now=now, poll=timedelta(seconds=poll))
                        time.sleep(max(0.0, (wake - CLOCK.now()).total_seconds()))
        except MQLError as exc:
            raise _fail(exc) from None
        except KeyboardInterrupt:
            pass
        out.print(f"transitions {total.transitions}, SLA breaches {total.breaches} "
                  f"(escalated {total.escalations}), webhooks delivered {total.delivered}, "
                  f"retrying {total.retried}, failed {total.failed}")

    def _told(report: service.WorkerReport, now: datetime) -> service.WorkerReport:
        """`report`, said on stderr when the pass did something (what, and at what time)."""
        if report.busy or report.failed:
            err.print(f"{now:%Y-%m-%d %H:%M:%S} UTC: {report.transitions} transitions, "
                      f"{report.breaches} SLA breaches ({report.escalations} escalated), "
                      f"{report.delivered} webhooks delivered, {report.retried} retrying, "
                      f"{report.failed} failed", highlight=False)
        return report

    hooks = typer.Typer(help="Webhook subscriptions.", no_args_is_help=True)
    app.add_typer(hooks, name="webhooks")

    @hooks.command("add")
    def webhooks_add(
        url: Annotated[str, typer.Argument(help="Where to POST (https in production).")],
        secret: Annotated[str, typer.Option(help="Shared secret for the HMAC signature.")],
        topics: Annotated[str, typer.Option(
            help="Comma-separated: mql.qualified, lead.assigned, sla.breached, lead.recycled "
            "or *.")] = "*",
        db: DbOpt = None,
    ) -> None:
        """Subscribe a URL to notifications."""
        engine = connect(_settings(db).database_url)
        names = [t.strip() for t in topics.split(",") if t.strip()]
        hook_id = service.add_webhook(engine, url, secret=secret, topics=names, now=CLOCK.now())
        out.print(f"webhook {hook_id}: {url} <- {', '.join(names)}")

    box = typer.Typer(help="Notifications waiting, delivered or dead-lettered.",
                      no_args_is_help=True)
    app.add_typer(box, name="outbox")

    @box.command("list")
    def outbox_list(status: Annotated[str | None, typer.Option(
            help="pending, delivered, dead or refused.")] = None, db: DbOpt = None) -> None:
        """List deliveries with their attempts and last error."""
        rows = service.outbox(connect(_settings(db).database_url), status)
        table = Table(title="outbox", title_justify="left")
        for col in ("id", "topic", "subject", "status", "attempts", "next", "last error"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r["id"]), r["topic"], r["subject"] or "", r["status"],
                          str(r["attempts"]), f"{r['available_at']:%Y-%m-%d %H:%M}",
                          (r["last_error"] or "")[:60])
        out.print(table)

    @box.command("retry")
    def outbox_retry(ids: Annotated[list[int] | None, typer.Argument(
            help="Delivery ids; none: every dead or refused one.")] = None,
            db: DbOpt = None) -> None:
        """Put dead-lettered deliveries back in line."""
        n = service.retry_outbox(connect(_settings(db).database_url), ids or None,
                                 now=CLOCK.now())
        out.print(f"{n} deliveries back in line")


def register_models(app: typer.Typer) -> None:
    """Add `mql model activate|list`."""
    models = typer.Typer(help="Model versions in the store.", no_args_is_help=True)
    app.add_typer(models, name="model")

    @models.command("activate")
    def activate(
        model: Annotated[Path, typer.Argument(help="The model file (YAML).")],
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="Show what would change (decided by the DuckDB batch engine "
            "over the store's events), change nothing.")] = False,
        db: DbOpt = None,
    ) -> None:
        """Make MODEL the live version: every contact's state is re-derived from its events
        and rescored; the contacts it newly qualifies are listed first, and the transitions
        are recorded as a model change."""
        try:
            result = store_service.activate_model(connect(_settings(db).database_url), model,
                                                  now=CLOCK.now(), dry_run=dry_run)
        except MQLError as exc:
            raise _fail(exc) from None
        verb = "would" if dry_run else "did"
        out.print(f"model version {result.version_id}: {verb} cause {result.transitions} "
                  f"transitions; {len(result.newly_qualified)} newly qualified, "
                  f"{len(result.no_longer_qualified)} no longer qualified")
        for email in result.newly_qualified:
            out.print(f"  + {email}")
        for email in result.no_longer_qualified:
            out.print(f"  - {email}")
        if dry_run:
            out.print("dry run: nothing was changed")

    @models.command("list")
    def list_versions(db: DbOpt = None) -> None:
        """Every stored model version; the live one is marked."""
        table = Table(title="model versions", title_justify="left")
        for col in ("id", "name", "version", "activated", "live"):
            table.add_column(col)
        for v in store_service.model_versions(connect(_settings(db).database_url)):
            table.add_row(str(v.id), v.name, v.version,
                          "-" if v.activated_at is None else f"{v.activated_at:%Y-%m-%d %H:%M}",
                          "yes" if v.active else "")
        out.print(table)


def _add(total: service.WorkerReport, one: service.WorkerReport) -> None:
    total.transitions += one.transitions
    total.breaches += one.breaches
    total.escalations += one.escalations
    total.delivered += one.delivered
    total.retried += one.retried
    total.failed += one.failed


__all__ = ["register", "register_models"]
