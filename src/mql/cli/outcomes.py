"""`mql outcomes show|link|dispose|dispositions`: opportunities and what sales did.

Files of opportunities, costs and dispositions load with `mql ingest` (docs/outcomes.md).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from mql.cli.render import DbOpt, console, fail, store_settings
from mql.clock import SystemClock
from mql.errors import ConfigError, MQLError
from mql.ingest.formats import parse_time
from mql.ingest.outcomes import DISPOSITIONS, DispositionRow
from mql.service import outcomes as service
from mql.store.db import connect

CLOCK = SystemClock()
out = console()
err = console(stderr=True)



def _when(value: Any) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


def register(app: typer.Typer) -> None:
    """Add the outcome commands to `app`."""
    group = typer.Typer(help="Opportunities, their hand-off credit, and sales dispositions "
                        "(load files with `mql ingest opportunities|costs|dispositions`).",
                        no_args_is_help=True)
    app.add_typer(group, name="outcomes")

    @group.command("show")
    def show(
        opportunity: Annotated[str, typer.Argument(help="The CRM's opportunity id.")],
        db: DbOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """One opportunity: its state, stage history, contacts and the hand-offs it is
        credited to, with the rule."""
        try:
            found = service.read_opportunity(connect(store_settings(db).database_url), opportunity)
        except MQLError as exc:
            raise fail(exc) from None
        if as_json:
            out.print_json(json.dumps(found, default=str))
            return
        amount = "-" if found["amount"] is None else f"{found['amount']:,.0f}" + (
            f" {found['currency']}" if found["currency"] else "")
        name = f" ({found['name']})" if found["name"] else ""
        out.print(f"{found['external_id']}{name}: {found['status']} "
                  f"({found['stage'] or '-'}), {amount}, opened "
                  f"{_when(found['opened_at'])}, closed {_when(found['closed_at'])}, as of "
                  f"{_when(found['as_of'])}", highlight=False)
        history = Table(title="stage history", title_justify="left")
        for name in ("time (UTC)", "stage", "status", "amount"):
            history.add_column(name)
        for h in found["history"]:
            history.add_row(_when(h["at"]), h["stage"] or "-", h["status"],
                            "-" if h["amount"] is None else f"{h['amount']:,.0f}")
        out.print(history)
        for c in found["contacts"]:
            role = ", ".join(([c["role"]] if c["role"] else [])
                             + (["primary"] if c["is_primary"] else [])) or "-"
            out.print(f"contact {c['email']}: {role}", highlight=False)
        for lk in found["links"]:
            out.print(f"{lk['kind']} by {lk['email']}: {lk['rule']}", highlight=False)
        if not found["links"]:
            out.print("no hand-off credited (no MQL of its contacts within the windows)",
                      highlight=False)

    @group.command("link")
    def link(db: DbOpt = None) -> None:
        """Link every opportunity again: contacts and accounts by identity resolution, the
        MQL hand-offs by the live model's windows (after contacts, MQLs or a model
        change arrived)."""
        settings = store_settings(db)
        try:
            count = service.link_all(connect(settings.database_url), now=CLOCK.now(),
                                     rules=settings.identity_rules())
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"{count:,} links added, changed or removed", highlight=False)

    @group.command("dispose")
    def dispose(
        email: Annotated[str, typer.Argument(help="The contact's email.")],
        status: Annotated[str, typer.Option(help=f"One of {', '.join(DISPOSITIONS)}.")],
        reason: Annotated[str | None, typer.Option(
            help="One of the model's lifecycle.reject_reasons, e.g. no_budget.")] = None,
        note: Annotated[str | None, typer.Option(help="A note.")] = None,
        at: Annotated[str | None, typer.Option(help="When (ISO 8601); default: now.")] = None,
        by: Annotated[str, typer.Option("--by", help="Who did it.")] = "cli",
        db: DbOpt = None,
    ) -> None:
        """Record what sales did with a lead (no stage move: `mql accept|reject|convert`
        move the lead and record theirs)."""
        settings = store_settings(db)
        try:
            when = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                             field="--at")
            row = DispositionRow(email.strip().lower(), when, _checked(status), reason, note,
                                 by)
            stored = service.save_disposition(connect(settings.database_url), [row],
                                              rules=settings.identity_rules(),
                                              now=CLOCK.now(), source="cli")
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"{email}: {status}{' (' + reason + ')' if reason else ''} at "
                  f"{_when(when)}{'' if stored else ' (recorded already)'}", highlight=False)

    @group.command("dispositions")
    def dispositions(
        email: Annotated[str | None, typer.Argument(help="Only this contact's.")] = None,
        db: DbOpt = None,
        limit: Annotated[int, typer.Option(help="At most this many, newest last.")] = 50,
    ) -> None:
        """The ledger of what sales did: time, contact, status, reason, actor, source."""
        settings = store_settings(db)
        try:
            ledger = service.dispositions(connect(settings.database_url), email,
                                          rules=settings.identity_rules())
        except MQLError as exc:
            raise fail(exc) from None
        table = Table(title=f"{len(ledger)} dispositions", title_justify="left")
        for name in ("time (UTC)", "contact", "status", "reason", "by", "source"):
            table.add_column(name)
        for d in ledger[-limit:]:
            table.add_row(_when(d["at"]), d["email"] or str(d["contact_id"]), d["status"],
                          d["reason"] or "", d["actor"] or "", d["source"] or "")
        out.print(table)


def _checked(status: str) -> str:
    if status not in DISPOSITIONS:
        raise ConfigError(f"--status {status!r}: choose one of {', '.join(DISPOSITIONS)}")
    return status
