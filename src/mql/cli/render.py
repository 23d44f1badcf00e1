"""Rendering results: rich tables on a terminal, CSV or JSON lines for programs."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mql.errors import MQLError
from mql.scoring.explain import Explanation
from mql.scoring.qualify import Decision
from mql.service.accounts import MotionSummary
from mql.service.consent import HoldSummary
from mql.service.demo import DemoReport
from mql.settings import Settings, load_settings

# the --db option of every command that reads the store
DbOpt = Annotated[str | None, typer.Option(
    "--db", help="Database URL; default: $MQL_DATABASE_URL, then .mql/mql.db here.")]


class Format(str, Enum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"


REDIRECTED_WIDTH = 200


def console(*, stderr: bool = False) -> Console:
    """A console that never hard-wraps printed lines (a redirected stream gets them whole,
    not cut at 80 columns); tables fold long cells instead of cutting them, and are laid
    out for a wide page when the stream is not a terminal ($COLUMNS still wins)."""
    stream = sys.stderr if stderr else sys.stdout
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, soft_wrap=True, width=REDIRECTED_WIDTH if wide else None)


def fail(exc: MQLError) -> typer.Exit:
    """A user error as one line on stderr (its text as written, never read as markup);
    the command exits with code 2."""
    console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", highlight=False,
                               soft_wrap=True)
    return typer.Exit(code=2)


def store_settings(db: str | None) -> Settings:
    """The settings, with `--db` over MQL_DATABASE_URL when it is given."""
    return load_settings(database_url=db) if db else load_settings()


def _num(value: float) -> str:
    return f"{value:.1f}"


def _time(value: Any) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def decision_row(d: Decision) -> dict[str, Any]:
    """One flat, JSON-ready row for a decision: the columns of `mql rescore`, in its order
    and at full precision (contact, as_of, every score, total, grade, mql, reasons,
    excluded_by), then what only streaming scoring knows (because, qualified_until,
    exit_at, unknown_fields)."""
    return {
        "contact": d.contact,
        "as_of": _time(d.as_of),
        **dict(d.scores),
        "grade": d.grade,
        "mql": d.mql,
        "reasons": [r.short for r in d.reasons],
        "excluded_by": list(d.excluded_by),
        "because": d.because(),
        "qualified_until": _time(d.qualified_until),
        "exit_at": _time(d.exit_at),
        "unknown_fields": list(d.unknown_fields),
    }


def _csv_value(value: Any) -> Any:
    """CSV as `mql rescore` writes it: booleans true/false, lists "; "-joined, floats whole."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, float):
        return repr(value)
    return value


def render_decisions(decisions: Sequence[Decision], fmt: Format, console: Console,
                     *, limit: int | None = None, title: str | None = None) -> None:
    """Decisions as a table (at most `limit` rows, the title saying how many of how many)
    or, for programs, every decision as CSV or JSON lines (`limit` applies only when
    given; machine formats are never cut, wrapped or rounded)."""
    shown = decisions if limit is None else decisions[:limit]
    if fmt is Format.jsonl:
        for d in shown:
            sys.stdout.write(json.dumps(decision_row(d)) + "\n")
        return
    if fmt is Format.csv:
        rows = [decision_row(d) for d in shown]
        if not rows:
            return
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
        return
    names = ["fit", "intent", "total"]
    if title is not None and len(shown) < len(decisions):
        title += f" (the first {len(shown):,} shown; --limit N for more, --format csv for all)"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("contact", overflow="fold", min_width=12)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True, min_width=5)
    table.add_column("grade", no_wrap=True)
    table.add_column("MQL because", overflow="fold", min_width=12)
    for d in shown:
        table.add_row(d.contact, *(_num(d.scores[n]) for n in names), d.grade or "-",
                      d.because() if d.mql or d.excluded_by or d.exits else "no")
    console.print(table)


def render_explanation(x: Explanation, console: Console) -> None:
    d = x.decision
    verdict = "MQL" if d.mql else "not an MQL"
    scores = ", ".join(f"{n} {v:.1f}" for n, v in d.scores.items())
    console.print(f"[bold]{d.contact}[/bold] at {_time(d.as_of)}: [bold]{verdict}[/bold], "
                  f"grade {d.grade or '-'} ({scores})")
    for reason in d.reasons:
        console.print(f"  qualified by {reason.short}: {reason.words(d.as_of)}",
                      highlight=False)
    for name in d.excluded_by:
        console.print(f"  excluded by {name}: never an MQL while this holds")
    for name in d.exits:
        console.print(f"  exit rule {name} holds: an MQL leaves at once, none while it holds",
                      highlight=False)
    table = Table(title="score contributions", title_justify="left", box=box.SIMPLE_HEAD)
    for col, justify in (("score", "left"), ("rule", "left"), ("events", "right"),
                         ("points", "right"), ("decayed", "right"), ("counted", "right"),
                         ("note", "left")):
        table.add_column(col, justify=justify, no_wrap=col == "rule")  # type: ignore[arg-type]
    for name, lines in x.fit.items():
        for line in lines:
            if line.matched:
                table.add_row(name, line.rule, "-", _num(line.points), "-", _num(line.points),
                              f"fit: {line.note}" if line.note else "fit")
    for r in x.rules:
        table.add_row(r.score, r.rule, str(r.events), _num(r.points), _num(r.decayed),
                      _num(r.value), r.note)
    console.print(table)
    if x.weights and x.weights != (("fit", 1.0), ("intent", 1.0)):
        console.print(f"  {x.total_words()}", highlight=False)
    for name, score in d.scores.items():
        summed = x.score_total(name) if name != "total" else None
        if summed is not None and abs(summed - score) > 1e-9:
            console.print(f"  {name}: lines add up to {summed:.1f}, capped at the score's max "
                          f"{score:.1f}")
    if x.ledger:
        ledger = Table(title="events counted (before caps)", title_justify="left",
                       box=box.SIMPLE_HEAD)
        for col in ("date", "event", "rule", "points", "x decay", "now"):
            ledger.add_column(col, no_wrap=True, justify="right" if col in (
                "points", "x decay", "now") else "left")
        for entry in sorted(x.ledger, key=lambda e: e.at, reverse=True):
            rule = entry.rule if entry.score == "intent" else f"{entry.score}.{entry.rule}"
            ledger.add_row(f"{entry.at:%Y-%m-%d %H:%M}", entry.event_type, rule,
                           _num(entry.points), f"{entry.factor:.3f}", _num(entry.value))
        console.print(ledger)
    for check in x.criteria:
        mark = "matched" if check.matched else "not matched"
        console.print(f"criterion [bold]{check.name}[/bold]: {mark}")
        for text, ok in check.leaves:
            console.print(f"  {'✓' if ok else '✗'} {text}")
    if x.changes:
        console.print("[bold]what would change it[/bold]")
        for change in x.changes:
            console.print(f"  - {change}")


def render_demo(report: DemoReport, console: Console, *, top: int = 10) -> None:
    """The end-to-end demo's report: months, funnel, SLAs, routing, top MQLs."""
    console.print(f"[bold]{report.accounts} accounts, {report.contacts:,} contacts, "
                  f"{report.events:,} events[/bold] from {report.start:%Y-%m-%d} to "
                  f"{report.end:%Y-%m-%d}, ingested day by day into SQLite")
    months = Table(title="transitions per month (a contact may qualify again after recycling)",
                   title_justify="left", box=box.SIMPLE_HEAD)
    stages = ("mql", "sal", "sql", "recycled", "nurture", "disqualified")
    months.add_column("month")
    for stage in stages:
        months.add_column(stage, justify="right")
    for month, counts in report.by_month.items():
        months.add_row(month, *(str(counts.get(s, 0)) for s in stages))
    console.print(months)
    split = Table(title="routing split", title_justify="left", box=box.SIMPLE_HEAD)
    split.add_column("team")
    split.add_column("leads", justify="right")
    for team, n in sorted(report.teams.items(), key=lambda kv: -kv[1]):
        split.add_row("account owner" if team == "-" else team, str(n))
    console.print(split)
    render_decisions(report.top, Format.table, console, limit=top,
                     title=f"Sales queue (MQL or accepted) as of {report.end:%Y-%m-%d} "
                     "with the reason each qualified")
    if report.held is not None and report.held.leads:
        render_holds(report.held, console)
    # the closing reports come from the stored ledger (mql report ...), not from the demo
    from mql.cli.report import ReportFormat, render_report

    for result in report.reports:
        render_report(result, ReportFormat.table, console)
    if report.accounts_view is not None:
        render_motions(report.accounts_view, console)
    if report.nurture is not None:  # issue 21: the tracks and whether they convert
        console.print(f"nurture tracks: {report.nurture_facts.get('enrolled', 0):,} "
                      f"enrollments, {report.nurture_facts.get('unenrolled', 0):,} exits, "
                      "each at its moment (mql report nurture)", highlight=False)
        render_report(report.nurture, ReportFormat.table, console)


def render_holds(held: HoldSummary, console: Console) -> None:
    """The hand-offs held for consent: MQLs no seller got, by jurisdiction and why."""
    table = Table(title=f"hand-offs held for consent: {held.leads:,} MQLs no seller got "
                  "(scored and qualified, but no permitted hand-off channel)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (("jurisdiction", "left"), ("why", "left"), ("leads", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for (where, why), n in held.by_reason.items():
        table.add_row(where, why, f"{n:,}")
    console.print(table)
    for email, where, reason in held.examples:
        console.print(f"  {email} ({where}): {reason}", highlight=False, soft_wrap=True)


def render_motions(view: MotionSummary, console: Console, *,
                   source: str = "the world's history") -> None:
    """MQAs and PQLs beside MQLs: signals, buying motions, each path's conversion, and how
    much earlier the MQA fired than the first MQL (docs/accounts.md)."""
    q = view.qualifications
    console.print(f"\n[bold]MQLs, MQAs and PQLs[/bold] (replayed on {source}): "
                  f"{q['mql']:,} MQLs, {q['mqa']:,} MQAs, {q['pql']:,} PQLs made "
                  f"{view.motions:,} buying motions, one hand-off each "
                  f"({view.handoffs_saved:,} second hand-offs avoided)")
    table = Table(title="each path's conversion (a motion counted once, under its path)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (("path", "left"), ("motions", "right"),
                          ("opportunities", "right"), ("won", "right"),
                          ("conversion", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in view.paths:
        rate = "-" if row.conversion is None else f"{row.conversion:.1%}"
        table.add_row(row.path, f"{row.motions:,}", f"{row.opportunities:,}",
                      f"{row.won:,}", rate)
    console.print(table)
    stages = ", ".join(f"{k} {v}" for k, v in sorted(view.stages.items(),
                                                       key=lambda kv: -kv[1]))
    console.print(f"account stages: {stages}")
    render_tiers(view, console)
    console.print(view.timing.words())


def render_tiers(view: MotionSummary, console: Console) -> None:
    """MQA metrics per ABM tier: MQAs, the accounts that reached MQA and how many of them
    had an opportunity within 90 days, and how often the MQA came before the first MQL
    of a won account."""
    table = Table(title="MQAs by ABM tier", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("tier", "accounts", "MQAs", "MQA accounts", "MQA -> opportunity",
                 "won", "MQA first", "MQA earlier by"):
        table.add_column(name, justify="left" if name == "tier" else "right")
    for row in view.tiers:
        rate = row.mqa_to_opportunity
        t = row.timing
        lead = "-" if t.mqa_over_mql_days is None else f"{t.mqa_over_mql_days:.1f} days"
        table.add_row(row.tier, f"{row.accounts:,}", f"{row.mqas:,}", f"{row.mqa_accounts:,}",
                      "-" if rate is None else f"{rate:.1%}", f"{t.won:,}",
                      f"{t.mqa_first:,}" + (f" ({t.mqa_first_share:.0%})" if t.won else ""),
                      lead)
    console.print(table)
