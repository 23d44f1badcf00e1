"""`mql accounts list|show`: account scores, their ledger, buying-committee coverage and
the roles still missing (docs/accounts.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from mql.accounts.roles import role_words
from mql.accounts.score import AccountScore
from mql.cli.render import DbOpt, console, fail, render_motions, store_settings
from mql.clock import SystemClock
from mql.errors import MQLError
from mql.ingest.formats import parse_time
from mql.service import accounts as service
from mql.store.db import connect

CLOCK = SystemClock()
out = console()

AtOpt = Annotated[str | None, typer.Option(
    "--at", help="Score as of this time (ISO 8601, e.g. 2026-11-20T12:00Z); default: now.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _at(text: str | None) -> datetime:
    return CLOCK.now() if text is None else parse_time(text, source="--at", row=0,
                                                        field="--at")


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def as_dict(s: AccountScore) -> dict[str, Any]:
    """An account score as JSON-ready values (the CLI's --json)."""
    data = asdict(s)
    data["above_line"] = s.above_line
    found: dict[str, Any] = json.loads(json.dumps(data, default=lambda v: v.isoformat()))
    return found


def register(app: typer.Typer) -> None:
    """Add the account commands to `app`."""
    group = typer.Typer(help="Account scores, buying-committee coverage and missing roles.",
                        no_args_is_help=True)
    app.add_typer(group, name="accounts")

    @group.command("list")
    def list_(
        db: DbOpt = None,
        at: AtOpt = None,
        tier: Annotated[str | None, typer.Option(help="Only this ABM tier (1:1, 1:few, "
                                                 "1:many ...).")] = None,
        coverage: Annotated[str, typer.Option(
            help="complete (every role to cover engaged), incomplete, or any.")] = "any",
        min_score: Annotated[float | None, typer.Option(
            "--min-score", help="Only accounts with at least this total.")] = None,
        limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
        as_json: JsonOpt = False,
    ) -> None:
        """Accounts by total score (fit + intent): tier, owner, engaged contacts and the
        roles still missing."""
        engine = None
        try:
            engine = connect(store_settings(db).database_url)
            found = service.list_accounts(engine, at=_at(at), tier=tier, coverage=coverage,
                                          min_score=min_score, limit=limit)
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            if engine is not None:
                engine.dispose()
        if as_json:
            out.print_json(json.dumps([as_dict(s) for s in found]))
            return
        table = Table()
        for name in ("account", "tier", "owner", "fit", "intent", "total", "engaged",
                     "missing roles"):
            table.add_column(name, justify="right" if name in ("fit", "intent", "total",
                                                                "engaged") else "left")
        for s in found:
            gaps = s.coverage.gaps
            table.add_row(s.domain, s.tier or "-", s.owner or "-", _num(s.fit),
                          _num(s.intent), _num(s.total), str(s.coverage.engaged_contacts),
                          ", ".join(role_words(r) for r in gaps) or "none")
        out.print(table)
        if not found:
            out.print("no accounts match", highlight=False)

    @group.command("report")
    def report(
        db: DbOpt = None,
        at: AtOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """MQAs beside MQLs and PQLs: every stored account's history replayed through the
        model (MQAs per month, MQA -> opportunity rate by ABM tier, buying motions, each
        path's conversion, and how many days earlier than the first MQL the MQA fired for
        the won accounts). The same numbers as GET /v1/reports/accounts."""
        engine = None
        try:
            engine = connect(store_settings(db).database_url)
            view = service.account_report(engine, at=_at(at))
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            if engine is not None:
                engine.dispose()
        if as_json:
            out.print_json(json.dumps(service.report_json(view)))
            return
        table = Table(title="qualifications per month", title_justify="left")
        for name in ("month", "MQLs", "MQAs", "PQLs"):
            table.add_column(name, justify="left" if name == "month" else "right")
        for month, row in view.months.items():
            table.add_row(month, f"{row['mql']:,}", f"{row['mqa']:,}", f"{row['pql']:,}")
        out.print(table)
        render_motions(view, out, source="the stored history")

    @group.command("show")
    def show(
        account: Annotated[str, typer.Argument(help="The account's web domain.")],
        db: DbOpt = None,
        at: AtOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """One account: score, ledger (person -> role -> weight -> decayed points),
        coverage, missing roles, owner, when it falls below its line, and whether it is an
        MQA under its ABM tier's rule (why, to whom, by when)."""
        engine = None
        try:
            engine = connect(store_settings(db).database_url)
            view = service.show_account_mqa(engine, account, at=_at(at))
        except MQLError as exc:
            raise fail(exc) from None
        finally:
            if engine is not None:
                engine.dispose()
        s, mqa, history = view.score, view.mqa, view.history
        if as_json:
            data = as_dict(s)
            data["mqa"] = json.loads(json.dumps(asdict(mqa), default=lambda v: v.isoformat()))
            data["mqa"]["reason"] = mqa.reason
            data["stage"] = history.stage
            out.print_json(json.dumps(data))
            return
        line = "" if s.line is None else f" (line {_num(s.line)})"
        out.print(f"{s.domain}: total {_num(s.total)}{line} = fit {_num(s.fit)} + intent "
                  f"{_num(s.intent)}, tier {s.tier or '-'}, owner {s.owner or '-'}",
                  highlight=False)
        if mqa.mqa:
            due = f", due {_when(mqa.due)}" if mqa.due is not None else ""
            out.print(f"MQA: yes ({mqa.reason}); to {mqa.route or 'the owner (none set)'}"
                      f"{due}", highlight=False)
        else:
            out.print(f"MQA: no ({mqa.reason})", highlight=False)
        moved = history.moves[-1] if history.moves else None
        since = f" since {_when(moved.at)} ({moved.reason})" if moved is not None else ""
        out.print(f"account stage: {history.stage}{since}", highlight=False)
        if s.line is not None:
            when = (f"falls below its line at {_when(s.below_at)}" if s.below_at else
                    "below its line" if not s.above_line else "stays above its line")
            out.print(when, highlight=False)
        table = Table(title="ledger", title_justify="left")
        for name in ("contact", "title", "role", "from", "weight", "rank", "points",
                     "counted", "engaged"):
            table.add_column(name, justify="right" if name in (
                "weight", "rank", "points", "counted") else "left")
        for x in s.ledger:
            table.add_row(x.contact or "(account events)", x.title or "-",
                          role_words(x.role) if x.contact else "-", x.source,
                          f"{x.weight:g}", f"{x.rank} (x{x.factor:g})", _num(x.points),
                          _num(x.counted), "yes" if x.engaged else "no")
        out.print(table)
        c = s.coverage
        out.print(f"engaged roles: {', '.join(role_words(r) for r in c.engaged) or 'none'}",
                  highlight=False)
        out.print(f"known but silent: {', '.join(role_words(r) for r in c.silent) or 'none'}",
                  highlight=False)
        out.print(f"missing: {', '.join(role_words(r) for r in c.missing) or 'none'}",
                  highlight=False)
        out.print(f"next: {c.next_action}", highlight=False)
