"""`mql audit`: drift of the live model on the store's own leads and deals, a verdict per
rule in words, and fit-rule suggestions from the reasons sales gives when it rejects."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mql.cli.period import OutputFormat, bound, month
from mql.cli.render import DbOpt, console, fail, store_settings
from mql.cli.report import cell
from mql.clock import SystemClock
from mql.errors import MQLError
from mql.service import audit as service
from mql.service import rule_suggestions
from mql.store.db import connect

CLOCK = SystemClock()


ModelOpt = Annotated[Path | None, typer.Option(
    "--model", "-m", help="Audit this model file instead of the live model.")]
FromOpt = Annotated[str | None, typer.Option(
    "--from", help="First month (2025-03); default: the month of the first event.")]
ToOpt = Annotated[str | None, typer.Option(
    "--to", help="End month, exclusive (2025-07 = up to June); default: through now.")]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="Split: the months before it are the baseline (when the model was "
                    "made); default: the live version's activation, else after the first "
                    "three months.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
CandidateOpt = Annotated[Path | None, typer.Option(
    "--candidate", help="Write the model with the first rule suggestion applied to this "
                        "file (compare it with `mql diff`, backtest it before activating).")]
RepeatOpt = Annotated[int, typer.Option(
    "--min-rejections", min=2, help="A rejection reason becomes a suggestion once sales "
                                    "gave it this many times.")]
AtOpt = Annotated[str | None, typer.Option("--at", help="As of this time; default: now.")]

RULE_COLUMNS = ["score", "rule", "fires_before", "fires_since", "worst_psi", "lift_before",
                "lift_since", "status"]
MONTH_COLUMNS = ["month", "period", "active", "mean_score", "score_psi", "mql_share",
                 "mature_mqls", "mql_to_sql", "health"]


def _fmt(name: str, value: Any) -> str:
    if isinstance(value, float) and ("psi" in name or "lift" in name or "score" in name):
        return f"{value:.2f}"
    if isinstance(value, float) and ("fires" in name or "share" in name):
        return f"{value:.1%}"
    return cell(name, value)


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c, justify="left" if c in ("score", "rule", "month", "period",
                                                   "status", "health") else "right")
    for row in rows:
        table.add_row(*[_fmt(c, row.get(c)) for c in columns])
    return table


def register(app: typer.Typer) -> None:
    """Add the `audit` command to `app`."""

    @app.command()
    def audit(db: DbOpt = None, model: ModelOpt = None, start: FromOpt = None,
              end: ToOpt = None, since: SinceOpt = None, fmt: FormatOpt = OutputFormat.table,
              candidate: CandidateOpt = None, min_rejections: RepeatOpt = 5,
              at: AtOpt = None) -> None:
        """Audit the live model on the store's own history: PSI of the score and of each
        rule's firing rate by month, each rule's lift on won and lost deals before and
        since the split, threshold health by month, and a verdict per rule in words
        ("webinar_attended: lift fell from 2.1 to 1.1 since May 2026"). Repeated sales
        rejection reasons become fit-rule suggestions (docs/learning.md, "Audit")."""
        out = console()
        try:
            now = bound(at, "--at") or CLOCK.now()
            engine = connect(store_settings(db).database_url)
            result = service.audit(engine, now=now, start=month(start, "--from"),
                                   end=month(end, "--to"), since=month(since, "--since"),
                                   model_path=model)
            ideas = rule_suggestions.suggest(engine, model_path=model,
                                             min_rejections=min_rejections)
            if candidate is not None and ideas.items:
                rule_suggestions.write_candidate(ideas, candidate)
        except MQLError as exc:
            raise fail(exc) from None
        if fmt is OutputFormat.json:
            sys.stdout.write(json.dumps({**result.to_json(),
                                         "suggestions": [s.to_json() for s in
                                                         (*ideas.items, *ideas.skipped)]},
                                        indent=2, ensure_ascii=False) + "\n")
            return
        rules = service.rule_table(result)
        if fmt is OutputFormat.csv:
            writer = csv.DictWriter(sys.stdout, fieldnames=[*RULE_COLUMNS, "verdict"],
                                    lineterminator="\n", extrasaction="ignore")
            writer.writeheader()
            for row in rules:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
            return
        since_words = f"{result.since:%Y-%m} ({result.since_from})"
        out.print(f"audit of {result.model} {result.version or ''}: "
                  f"{result.months[0]:%Y-%m} to {result.months[-1]:%Y-%m}, "
                  f"baseline before {since_words}", highlight=False)
        out.print(_table("by month", service.month_table(result), MONTH_COLUMNS))
        out.print(_table("by rule", rules, RULE_COLUMNS))
        flagged = result.flagged
        out.print("verdicts" if flagged else "verdicts: no rule drifted", highlight=False)
        for v in result.verdicts:
            if v.flagged:
                out.print(f"  {v.words}", highlight=False)
        if result.score_drifted_since is not None:
            out.print(f"  the score's distribution moved since "
                      f"{result.score_drifted_since:%Y-%m} (PSI over {result.bounds.psi})",
                      highlight=False)
        for note in result.notes:
            out.print(f"note: {note}", highlight=False)
        if ideas.items or ideas.skipped:
            out.print("suggestions from sales reasons", highlight=False)
            for s in (*ideas.items, *ideas.skipped):
                out.print(f"  {s.words}", highlight=False)
        else:
            out.print(f"suggestions: no rejection reason given {min_rejections} times or more",
                      highlight=False)
        if candidate is not None:
            out.print(f"wrote {candidate}: compare with `mql diff`, backtest before activating"
                      if ideas.items else f"no suggestion: {candidate} not written",
                      highlight=False)
