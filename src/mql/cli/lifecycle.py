"""`mql accept|reject|convert|reassign|history|worker|webhooks|outbox`: the hand-off."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
import signal
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.engine import Engine

from mql.cli.loop import print_backtest
from mql.cli.render import DbOpt, Format, console, fail, store_settings
from mql.clock import SystemClock
from mql.errors import ConfigError, MQLError, StoreUnavailable
from mql.ingest.formats import parse_time
from mql.notify.webhooks import TOPICS
from mql.service import lifecycle as service
from mql.service import store as store_service
from mql.service import webhooks as webhook_service
from mql.service.audit_schedule import AuditSchedule
from mql.service.backtest import run_backtest
from mql.store.db import connect

CLOCK = SystemClock()
out = console()
err = console(stderr=True)

EmailArg = Annotated[str, typer.Argument(help="The contact's email (any of their addresses).")]
ActorOpt = Annotated[str, typer.Option("--by", help="Who does it (stored with the transition).")]
TopicsOpt = Annotated[str, typer.Option(help=f"Comma-separated: {', '.join(TOPICS)} or * (all).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
IdArg = Annotated[int, typer.Argument(help="The webhook id (`mql webhooks list`).")]


def _show(view: service.TransitionView) -> None:
    out.print(str(view), highlight=False)


def register(app: typer.Typer) -> None:
    """Add the hand-off commands to `app`."""

    @app.command()
    def accept(email: EmailArg, by: ActorOpt = "cli", db: DbOpt = None) -> None:
        """Sales accepts the lead (MQL -> SAL); this is its first touch for the SLA."""
        settings = store_settings(db)
        try:
            _show(service.accept(connect(settings.database_url), email, actor=by,
                                 now=CLOCK.now(), identity=settings.identity_rules()))
        except MQLError as exc:
            raise fail(exc) from None

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
        settings = store_settings(db)
        try:
            _show(service.reject(connect(settings.database_url), email, reason=reason, actor=by,
                                 now=CLOCK.now(), identity=settings.identity_rules()))
        except MQLError as exc:
            raise fail(exc) from None

    @app.command()
    def convert(email: EmailArg, by: ActorOpt = "cli", db: DbOpt = None,
                reason: Annotated[str | None, typer.Option(help="A note.")] = None) -> None:
        """Sales moves the lead one step: SAL -> SQL -> opportunity -> customer."""
        settings = store_settings(db)
        try:
            _show(service.convert(connect(settings.database_url), email, actor=by,
                                  now=CLOCK.now(), reason=reason,
                                  identity=settings.identity_rules()))
        except MQLError as exc:
            raise fail(exc) from None

    @app.command()
    def reassign(email: EmailArg, owner: Annotated[str, typer.Option(help="The new owner.")],
                 by: ActorOpt = "cli", db: DbOpt = None) -> None:
        """Give an assigned lead to another seller."""
        settings = store_settings(db)
        try:
            view = service.reassign(connect(settings.database_url), email, owner=owner,
                                    actor=by, now=CLOCK.now(),
                                    identity=settings.identity_rules())
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"{view.email}: {view.owner} ({view.team or '-'}, SLA {view.sla or '-'})")

    @app.command()
    def history(email: EmailArg, db: DbOpt = None) -> None:
        """Every lifecycle transition of a contact: time, stages, actor, cause, reason."""
        settings = store_settings(db)
        try:
            views = service.history(connect(settings.database_url), email,
                                    identity=settings.identity_rules())
        except MQLError as exc:
            raise fail(exc) from None
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
            help="Run the lifecycle through simulated time from now up to this later moment "
            "(demos); each move and SLA breach is decided at its simulated moment. Webhooks "
            "still go out on real time, signed with real time, after the run.")] = None,
        step_hours: Annotated[float, typer.Option(help="Simulated step, hours.")] = 1.0,
        hold_deliveries: Annotated[bool, typer.Option(
            "--hold-deliveries", help="With --simulate-until: send no webhooks; a real "
            "worker sends them later.")] = False,
    ) -> None:
        """Run time-based transitions (decay exits, timeouts), SLA breaches and webhook
        deliveries exactly when due. Stops gracefully on SIGTERM or Ctrl-C (the deliveries
        in flight finish, nothing is sent twice); a lost database is retried with
        back-off."""
        settings = store_settings(db)
        engine = connect(settings.database_url)
        options = webhook_service.DeliveryOptions.of(settings)
        schedule = AuditSchedule.of(settings)  # the drift audit (MQL_AUDIT_EVERY)
        total = service.WorkerReport()
        try:
            if simulate_until is not None:
                _simulate(engine, options, simulate_until, step_hours, hold_deliveries, total)
            elif once:
                now = CLOCK.now()
                _add(total, _told(service.run_once(engine, now=now, deliver=False,
                                                   audit=schedule), now))
                _deliver_round(engine, options, total)
            else:
                _serve(engine, options, poll, total, schedule)
        except MQLError as exc:
            raise fail(exc) from None
        drift = (f", drift alerts {total.drift_alerts}" if schedule.every != "off" else "")
        kept = (f", raw events past their retention deleted {total.retained}"
                if total.retained else "")
        out.print(f"transitions {total.transitions}, SLA breaches {total.breaches} "
                  f"(escalated {total.escalations}), webhooks delivered {total.delivered}, "
                  f"retrying {total.retried}, failed {total.failed}{drift}{kept}")

    hooks = typer.Typer(help="Webhook subscriptions: add, list, update, pause, resume, "
                        "rotate-secret, test, remove.", no_args_is_help=True)
    app.add_typer(hooks, name="webhooks")

    @hooks.command("add")
    def webhooks_add(
        url: Annotated[str, typer.Argument(help="Where to POST (https in production).")],
        secret: Annotated[str, typer.Option(help="Shared secret for the HMAC signature "
                                            "(stored encrypted with MQL_SECRET_KEY).")],
        topics: TopicsOpt = "*",
        by: ActorOpt = "cli",
        db: DbOpt = None,
    ) -> None:
        """Subscribe a URL to notifications."""
        settings = store_settings(db)
        try:
            names = topics.split(",")
            hook_id = webhook_service.add_webhook(
                connect(settings.database_url), url, secret=secret, topics=names,
                now=CLOCK.now(), server_secret=settings.secret_key, actor=by)
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"webhook {hook_id}: {url} <- {', '.join(t.strip() for t in names)}",
                  highlight=False, soft_wrap=True)

    @hooks.command("list")
    def webhooks_list(
        removed: Annotated[bool, typer.Option("--removed", help="Also removed ones.")] = False,
        fmt: FormatOpt = Format.table,
        db: DbOpt = None,
    ) -> None:
        """Subscriptions with their state and queued, delivered and dead deliveries (never
        their secrets)."""
        try:
            views = webhook_service.list_webhooks(connect(store_settings(db).database_url),
                                                  removed=removed, now=CLOCK.now())
        except MQLError as exc:
            raise fail(exc) from None
        if fmt is not Format.table:
            _machine([dataclasses.asdict(v) for v in views], fmt)
            return
        table = Table(title="webhooks", title_justify="left")
        for col in ("id", "url", "topics", "state", "pending", "delivered", "dead",
                    "refused"):
            table.add_column(col, overflow="fold")
        for v in views:
            state = "removed" if v.removed else "paused" if v.paused else "active"
            if v.rotating_until is not None:
                state += f", old secret until {v.rotating_until:%Y-%m-%d %H:%M}"
            table.add_row(str(v.id), v.url, ", ".join(v.topics), state, str(v.pending),
                          str(v.delivered), str(v.dead), str(v.refused))
        out.print(table)

    @hooks.command("remove")
    def webhooks_remove(hook_id: IdArg, by: ActorOpt = "cli", db: DbOpt = None) -> None:
        """Remove a subscription; its queued deliveries are refused, not sent."""
        try:
            n = webhook_service.remove_webhook(connect(store_settings(db).database_url), hook_id,
                                               actor=by, now=CLOCK.now())
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"webhook {hook_id} removed; {n} queued deliveries refused")

    def _pause(hook_id: int, paused: bool, by: str, db: str | None) -> None:
        try:
            v = webhook_service.pause_webhook(connect(store_settings(db).database_url), hook_id,
                                              paused=paused, actor=by, now=CLOCK.now())
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"webhook {v.id}: {'paused' if v.paused else 'active'} ({v.pending} queued)")

    @hooks.command("pause")
    def webhooks_pause(hook_id: IdArg, by: ActorOpt = "cli", db: DbOpt = None) -> None:
        """Stop sending to a subscription; notifications keep queuing."""
        _pause(hook_id, True, by, db)

    @hooks.command("resume")
    def webhooks_resume(hook_id: IdArg, by: ActorOpt = "cli", db: DbOpt = None) -> None:
        """Send again; the queued notifications go out in order."""
        _pause(hook_id, False, by, db)

    @hooks.command("update")
    def webhooks_update(
        hook_id: IdArg,
        url: Annotated[str | None, typer.Option(help="The new URL.")] = None,
        topics: Annotated[str | None, typer.Option(
            help=f"The new topics, comma-separated: {', '.join(TOPICS)} or *.")] = None,
        by: ActorOpt = "cli",
        db: DbOpt = None,
    ) -> None:
        """Change a subscription's URL or topics."""
        try:
            v = webhook_service.update_webhook(
                connect(store_settings(db).database_url), hook_id, actor=by, now=CLOCK.now(),
                url=url, topics=None if topics is None else topics.split(","))
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"webhook {v.id}: {v.url} <- {', '.join(v.topics)}", highlight=False,
                  soft_wrap=True)

    @hooks.command("rotate-secret")
    def webhooks_rotate(
        hook_id: IdArg,
        secret: Annotated[str, typer.Option(help="The new secret.")],
        grace_hours: Annotated[float | None, typer.Option(
            min=0, max=8760, help="How long deliveries also carry a signature with the old "
            "secret; default $MQL_WEBHOOK_ROTATION_GRACE_HOURS (24).")] = None,
        by: ActorOpt = "cli",
        db: DbOpt = None,
    ) -> None:
        """Sign with a new secret; during the grace period the signature header carries a
        `v1` for the new and one for the old secret."""
        settings = store_settings(db)
        hours = settings.webhook_rotation_grace_hours if grace_hours is None else grace_hours
        try:
            v = webhook_service.rotate_secret(
                connect(settings.database_url), hook_id, secret=secret,
                grace=timedelta(hours=hours), actor=by, now=CLOCK.now(),
                server_secret=settings.secret_key)
        except MQLError as exc:
            raise fail(exc) from None
        until = "" if v.rotating_until is None else \
            f"; the old secret signs too until {v.rotating_until:%Y-%m-%d %H:%M} UTC"
        out.print(f"webhook {v.id}: new secret{until}")

    @hooks.command("test")
    def webhooks_test(hook_id: IdArg, by: ActorOpt = "cli", db: DbOpt = None) -> None:
        """Send one signed `webhook.test` delivery now and show the answer (exit 1 when it
        was not accepted)."""
        settings = store_settings(db)
        try:
            attempt = webhook_service.send_test(
                connect(settings.database_url), hook_id, actor=by, clock=CLOCK.now,
                options=webhook_service.DeliveryOptions.of(settings))
        except MQLError as exc:
            raise fail(exc) from None
        if attempt.outcome == "delivered":
            out.print(f"webhook {hook_id}: delivered ({attempt.status}, "
                      f"{attempt.seconds:.2f} s)")
            return
        err.print(f"webhook {hook_id}: not delivered: {attempt.error}", highlight=False,
                  soft_wrap=True)
        raise typer.Exit(code=1)

    box = typer.Typer(help="Notifications waiting, delivered or dead-lettered.",
                      no_args_is_help=True)
    app.add_typer(box, name="outbox")

    @box.command("list")
    def outbox_list(
        status: Annotated[str | None, typer.Option(
            help="pending, delivered, dead or refused.")] = None,
        webhook: Annotated[int | None, typer.Option(help="Only this webhook's.")] = None,
        fmt: FormatOpt = Format.table,
        db: DbOpt = None,
    ) -> None:
        """List deliveries with their attempts, next attempt and last error."""
        try:
            rows = service.outbox(connect(store_settings(db).database_url), status,
                                  webhook_id=webhook)
        except MQLError as exc:
            raise fail(exc) from None
        now = CLOCK.now()
        if fmt is not Format.table:
            _machine([{k: r[k] for k in ("id", "webhook_id", "sequence", "topic", "subject",
                                         "status", "attempts", "attempts_total",
                                         "created_at", "available_at", "delivered_at",
                                         "last_error")} | {"next": next_attempt(r, now)}
                      for r in rows], fmt)
            return
        table = Table(title="outbox", title_justify="left")
        for col in ("id", "hook", "seq", "topic", "subject", "status", "attempts", "next",
                    "last error"):
            table.add_column(col, overflow="fold")
        for r in rows:
            attempts = str(r["attempts"])
            if r["attempts_total"] != r["attempts"]:
                attempts += f" ({r['attempts_total']} in all)"
            table.add_row(str(r["id"]), str(r["webhook_id"] or "-"), str(r["sequence"] or "-"),
                          r["topic"], r["subject"] or "", r["status"], attempts,
                          next_attempt(r, now), (r["last_error"] or "")[:80])
        out.print(table)

    @box.command("show")
    def outbox_show(delivery: Annotated[int, typer.Argument(help="The delivery id.")],
                    db: DbOpt = None) -> None:
        """Every attempt of one delivery: when, the answer, how long it took."""
        try:
            rows = webhook_service.attempts(connect(store_settings(db).database_url), delivery)
        except MQLError as exc:
            raise fail(exc) from None
        table = Table(title=f"attempts of delivery {delivery}", title_justify="left")
        for col in ("attempt", "at (UTC)", "outcome", "status", "seconds", "error"):
            table.add_column(col, overflow="fold")
        for a in rows:
            table.add_row(str(a["attempt"]), f"{a['at']:%Y-%m-%d %H:%M:%S}", a["outcome"],
                          str(a["http_status"] or "-"),
                          "-" if a["seconds"] is None else f"{a['seconds']:.2f}",
                          a["error"] or "")
        out.print(table)

    @box.command("retry")
    def outbox_retry(ids: Annotated[list[int] | None, typer.Argument(
            help="Delivery ids; none: every dead or refused one.")] = None,
            db: DbOpt = None) -> None:
        """Put dead-lettered deliveries back in line (their attempt history is kept)."""
        try:
            n = service.retry_outbox(connect(store_settings(db).database_url), ids or None,
                                     now=CLOCK.now())
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"{n} deliveries back in line")


def _machine(rows: list[dict[str, Any]], fmt: Format) -> None:
    """Rows as JSON lines or CSV on stdout: never wrapped or cut."""
    if fmt is Format.jsonl:
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
        return
    writer = csv.writer(sys.stdout)
    if rows:
        writer.writerow(rows[0])
    for row in rows:
        writer.writerow(", ".join(v) if isinstance(v, list) else v for v in row.values())


def next_attempt(row: dict[str, Any], now: datetime) -> str:
    """What happens next to an outbox row, in words."""
    status = row["status"]
    if status == "delivered":
        return f"- (delivered {row['delivered_at']:%Y-%m-%d %H:%M})"
    if status in ("dead", "refused"):
        return "- (mql outbox retry)"
    if row.get("hook_active") is False:
        return "- (webhook removed)"
    if row.get("paused"):
        return "when resumed (paused)"
    if row.get("locked_until") is not None and row["locked_until"] > now:
        return "sending now"
    at = row["available_at"]
    return "now" if at <= now else f"{at:%Y-%m-%d %H:%M:%S}"


def _simulate(engine: Engine, options: webhook_service.DeliveryOptions, until: str,
              step_hours: float, hold: bool, total: service.WorkerReport) -> None:
    """Lifecycle moves at simulated moments; deliveries afterwards on real time."""
    start = CLOCK.now()
    end = parse_time(until, source="--simulate-until", row=0, field="--simulate-until")
    if end < start:
        raise ConfigError(
            f"--simulate-until {end.isoformat()} is in the past; simulated time only runs "
            "forward. Moves that fell due in the past are made by any worker pass, each at "
            "its own moment: run `mql worker --once`")
    if step_hours <= 0:
        raise ConfigError("--step-hours must be more than 0")
    now = start
    while True:
        _add(total, _told(service.run_once(engine, now=now, deliver=False), now))
        if now >= end:
            break
        now = min(end, now + timedelta(hours=step_hours))
    real = CLOCK.now()
    webhook_service.bring_forward(engine, real)
    if hold:
        err.print("webhooks held (--hold-deliveries): a running `mql worker` sends them")
        return
    _deliver_round(engine, options, total)
    if total.retried:
        err.print(f"{total.retried} deliveries are waiting for a retry on real time: a running "
                  "`mql worker` sends them")


def _deliver_round(engine: Engine, options: webhook_service.DeliveryOptions,
                   total: service.WorkerReport) -> None:
    """Deliver what is due now, once; SIGTERM stops it gracefully (the attempts in flight
    finish and are recorded, the rest is released)."""
    deliverer = webhook_service.Deliverer(engine, options, clock=CLOCK.now)
    previous = signal.signal(signal.SIGTERM, lambda *_: deliverer.stop())
    try:
        counts = asyncio.run(deliverer.round())
    finally:
        signal.signal(signal.SIGTERM, previous)
    total.delivered += counts.delivered
    total.retried += counts.retried
    total.failed += counts.failed
    for note in dict.fromkeys(counts.notes):
        err.print(f"[yellow]warning:[/yellow] {note}", highlight=False, soft_wrap=True)


def _serve(engine: Engine, options: webhook_service.DeliveryOptions, poll: float,
           total: service.WorkerReport, schedule: AuditSchedule | None = None) -> None:
    """The worker loop: lifecycle and SLA passes in this thread, deliveries in their own
    (so no pass waits on HTTP); SIGTERM and Ctrl-C stop both gracefully; a lost database
    is retried with back-off (1 s, 2 s ... at most 60 s)."""
    deliverer = webhook_service.Deliverer(engine, options, clock=CLOCK.now)
    stop = deliverer.stopping
    said: set[str] = set()
    failure: list[BaseException] = []

    def note(exc: MQLError) -> None:
        text = str(exc)
        if text not in said:  # one line per distinct problem, not one per second
            said.add(text)
            err.print(f"[yellow]warning:[/yellow] {text}; retrying", highlight=False,
                      soft_wrap=True)

    def deliver() -> None:
        try:
            asyncio.run(deliverer.serve(min(poll, 1.0), on_error=note))
        except BaseException as exc:  # a bug: stop the loop and show it
            failure.append(exc)
            stop.set()

    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    thread = threading.Thread(target=deliver, name="mql-deliveries", daemon=True)
    thread.start()
    pause = 1.0
    try:
        while not stop.is_set():
            try:
                now = CLOCK.now()
                one = service.run_once(engine, now=now, deliver=False, audit=schedule)
                wake = service.next_wake(engine, now=now, poll=timedelta(seconds=poll))
            except StoreUnavailable as exc:
                note(exc)
                stop.wait(pause)
                pause = min(60.0, pause * 2)
                continue
            pause = 1.0
            said.clear()
            _add(total, _told(one, now))
            stop.wait(max(0.0, (wake - CLOCK.now()).total_seconds()))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join()
        signal.signal(signal.SIGTERM, previous)
    counts = deliverer.counts
    total.delivered, total.retried, total.failed = counts.delivered, counts.retried, \
        counts.failed
    if failure:
        raise failure[0]


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
        backtest: Annotated[bool, typer.Option(
            "--backtest", help="First show the backtest of MODEL against the live model "
            "over the last 12 months (`mql backtest`), then switch.")] = False,
        db: DbOpt = None,
    ) -> None:
        """Make MODEL the live version: every contact's state is re-derived from its events
        and rescored; the contacts it newly qualifies are listed first, and the transitions
        are recorded as a model change."""
        try:
            if backtest:
                print_backtest(run_backtest(connect(store_settings(db).database_url), model,
                                            now=CLOCK.now()), people=10)
            result = store_service.activate_model(connect(store_settings(db).database_url), model,
                                                  now=CLOCK.now(), dry_run=dry_run)
        except MQLError as exc:
            raise fail(exc) from None
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
        for v in store_service.model_versions(connect(store_settings(db).database_url)):
            table.add_row(str(v.id), v.name, v.version,
                          "-" if v.activated_at is None else f"{v.activated_at:%Y-%m-%d %H:%M}",
                          "yes" if v.active else "")
        out.print(table)


def _told(report: service.WorkerReport, now: datetime) -> service.WorkerReport:
    """`report`, said on stderr when the pass did something (what, and at what time)."""
    if report.busy or report.failed or report.drift_alerts:
        drift = f", {report.drift_alerts} drift alerts" if report.drift_alerts else ""
        err.print(f"{now:%Y-%m-%d %H:%M:%S} UTC: {report.transitions} transitions, "
                  f"{report.breaches} SLA breaches ({report.escalations} escalated){drift}",
                  highlight=False)
    return report


def _add(total: service.WorkerReport, one: service.WorkerReport) -> None:
    total.transitions += one.transitions
    total.breaches += one.breaches
    total.escalations += one.escalations
    total.delivered += one.delivered
    total.retried += one.retried
    total.failed += one.failed
    total.drift_alerts += one.drift_alerts
    total.retained += one.retained


__all__ = ["register", "register_models"]
