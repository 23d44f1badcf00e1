"""`mql calibrate` and `mql backtest`: the MQL definition judged on the store's own
outcomes, as a table on a terminal, CSV (calibrate's curve) or JSON (every number)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from mql.cli.period import OutputFormat, day
from mql.cli.render import DbOpt, console, fail, store_settings
from mql.clock import SystemClock
from mql.errors import ConfigError, MQLError
from mql.learning.backtest import Summary
from mql.service import backtest as backtest_service
from mql.service import calibration as calibration_service
from mql.store.db import connect

CLOCK = SystemClock()
out = console()


FromOpt = Annotated[str | None, typer.Option(
    "--from", help="First day of the history (2025-03-01); default: 12 months before --to, "
                   "or the first event.")]
ToOpt = Annotated[str | None, typer.Option(
    "--to", help="Last day of the history (inclusive); default: yesterday.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


CURVE_COLUMNS = ["threshold", "above", "converted_above", "rate_above", "below",
                 "converted_below", "rate_below", "lift", "fitted", "mqls", "mqls_per_week"]


def _print_calibration(run: calibration_service.CalibrationRun) -> None:
    r = run.result
    data = run.to_json()
    out.print(f"calibration of {run.model.name} on {run.score} for {run.outcome}, "
              f"{run.period.first} to {run.period.last} ({run.outreaches} outreaches)",
              highlight=False)
    table = Table(box=box.SIMPLE, title="trade-off curve", title_justify="left")
    for col in ("threshold", "above", f"{run.outcome} above", "below", f"{run.outcome} below",
                "lift", "isotonic", "MQLs/week"):
        table.add_column(col, justify="right")
    for p in r.points:
        mark = " *" if p.threshold == r.recommended else ""
        table.add_row(f"{p.threshold:g}{mark}", str(p.above), _pct(p.rate_above), str(p.below),
                      _pct(p.rate_below), _num(p.lift, 2), _pct(p.fitted),
                      _num(p.mqls_per_week))
    out.print(table)
    if r.recommended is None or r.chosen is None:
        out.print("no recommendation", highlight=False)
    else:
        c = r.chosen
        out.print(f"recommended threshold: {r.recommended:g} (change point: {run.outcome} "
                  f"{_pct(c.rate_above)} at or above, {_pct(c.rate_below)} below; "
                  f"{_num(c.mqls_per_week)} MQLs a week)", highlight=False)
        if r.interval is not None:
            out.print(f"80% interval: {r.interval[0]:g} to {r.interval[1]:g} (where the change "
                      "point falls when the outreaches are drawn again)", highlight=False)
        if r.health is not None:
            out.print(f"health: {r.health.words}", highlight=False)
        for load in c.loads:
            cap = ("no capacity set" if load.capacity_per_seller is None
                   else f"capacity {load.capacity_per_seller:g} open leads a seller")
            flag = " OVER CAPACITY" if load.over_capacity else ""
            out.print(f"  {load.team}: {_num(load.mqls_per_week)} MQLs a week, "
                      f"{_num(load.per_seller_per_week)} a seller ({cap}){flag}",
                      highlight=False)
        q = r.last_quarter
        if q is not None:
            out.print(f"last quarter at {r.recommended:g}: {q.mqls} MQLs "
                      f"({_num(q.mqls_per_week)} a week); of {q.above} outreaches at or "
                      f"above it {_pct(q.rate_above)} became {run.outcome}", highlight=False)
    for note in data["notes"]:
        out.print(f"note: {note}", highlight=False)


def _summary_rows(s: Summary) -> dict[str, str]:
    rows = {"MQLs (people)": str(s.mqls), "MQLs a week": _num(s.mqls_per_week)}
    for kind, rate in s.rates.items():
        rows[f"MQL to {kind}"] = _pct(rate.rate)
        rows[f"recall of {kind}"] = _pct(rate.recall)
    rows["revenue captured"] = _num(s.revenue, 0)
    rows["top decile lift (sql)"] = _num(s.deciles[0].lift if s.deciles else None, 2)
    return rows


def print_backtest(run: backtest_service.BacktestRun, *, people: int | None = 20) -> None:
    """The backtest's summary as tables (`people`: how many newly qualified and dropped
    people to list; None: all)."""
    c = run.comparison
    out.print(f"backtest of {run.candidate.name} against {run.baseline_name}, "
              f"{run.period.first} to {run.period.last}", highlight=False)
    table = Table(box=box.SIMPLE)
    for col in ("", "candidate", "against"):
        table.add_column(col, justify="right" if col else "left")
    new, old = _summary_rows(c.candidate), _summary_rows(c.baseline)
    for key in new:
        table.add_row(key, new[key], old[key])
    out.print(table)
    deciles = Table(box=box.SIMPLE, title="lift per decile (sql)", title_justify="left")
    for col in ("decile", "candidate rate", "candidate lift", "against rate", "against lift"):
        deciles.add_column(col, justify="right")
    for a, b in zip(c.candidate.deciles, c.baseline.deciles, strict=True):
        deciles.add_row(str(a.decile), _pct(a.rate), _num(a.lift, 2), _pct(b.rate),
                        _num(b.lift, 2))
    out.print(deciles)
    teams = sorted(set(c.candidate.teams) | set(c.baseline.teams))
    if teams:
        load = Table(box=box.SIMPLE, title="SLA load: new MQLs a week per team",
                     title_justify="left")
        for col in ("team", "candidate", "a seller", "against", "a seller",
                    "capacity a seller"):
            load.add_column(col, justify="right" if col != "team" else "left")
        for t in teams:
            new_load = run.load(t, c.candidate.teams.get(t, 0.0))
            old_load = run.load(t, c.baseline.teams.get(t, 0.0))
            cap = new_load["capacity_per_seller"]
            flag = " over" if new_load["over_capacity"] else ""
            load.add_row(t, _num(new_load["mqls_per_week"]),
                         _num(new_load["per_seller_per_week"]) + flag,
                         _num(old_load["mqls_per_week"]), _num(old_load["per_seller_per_week"]),
                         "-" if cap is None else f"{cap:g}")
        out.print(load)
    for label, group in (("newly qualified", c.newly_qualified), ("dropped out", c.dropped)):
        converted = sum(1 for p in group if p.sql is not None)
        out.print(f"{label}: {len(group)} people, {converted} of them became SQLs",
                  highlight=False)
        for p in group[:people] if people is not None else group:
            fate = ("won" if p.won else "opportunity" if p.opportunity else
                    "sql" if p.sql else "no outcome")
            out.print(f"  {p.contact} (first MQL {p.first_mql}): {fate}", highlight=False)
        if people is not None and len(group) > people:
            out.print(f"  ... {len(group) - people} more (--format json lists all)",
                      highlight=False)
    if c.identical:
        out.print("the two models decide every day alike", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `mql calibrate` and `mql backtest`."""

    @app.command("calibrate")
    def calibrate(
        model: Annotated[Path | None, typer.Option(
            "--model", "-m", help="The model file to calibrate; default: the live model.")
        ] = None,
        start: FromOpt = None,
        end: ToOpt = None,
        outcome: Annotated[str, typer.Option(
            "--outcome", help="What counts as converting: sql, opportunity or won.")] = "sql",
        score: Annotated[str, typer.Option(
            "--score", help="The score to set the line on: total (default), fit, intent or "
                            "a named score.")] = "total",
        step: Annotated[float | None, typer.Option(
            "--step", help="Points between candidate thresholds; default: a round step "
                           "giving about 50.")] = None,
        fmt: FormatOpt = OutputFormat.table,
        db: DbOpt = None,
    ) -> None:
        """Calibrate the MQL threshold on the store's outcomes: for each candidate threshold,
        the score every contact had at the moment sales first reached it (the batch engine's
        daily series: only the events before that day), conversion at or above and below,
        MQLs per week and load per seller. Recommends the change point of the conversion
        curve, checks it against the health band, and says what it would have produced last
        quarter (docs/learning.md, "Calibrate")."""
        try:
            run = calibration_service.run_calibration(
                connect(store_settings(db).database_url), now=CLOCK.now(), model_path=model,
                start=day(start, "--from"), end=day(end, "--to"), outcome=outcome,
                score=score, step=step)
        except MQLError as exc:
            raise fail(exc) from None
        if fmt is OutputFormat.json:
            sys.stdout.write(json.dumps(run.to_json(), indent=2) + "\n")
        elif fmt is OutputFormat.csv:
            writer = csv.DictWriter(sys.stdout, fieldnames=CURVE_COLUMNS, extrasaction="ignore",
                                    lineterminator="\n")
            writer.writeheader()
            for point in run.to_json()["curve"]:
                writer.writerow(_csv(point))
        else:
            _print_calibration(run)

    @app.command("backtest")
    def backtest(
        candidate: Annotated[Path, typer.Argument(help="The candidate model file (YAML).")],
        against: Annotated[str, typer.Option(
            "--against", help="What to compare with: live (the live model) or a model "
                              "file.")] = "live",
        start: FromOpt = None,
        end: ToOpt = None,
        fmt: Annotated[OutputFormat, typer.Option(
            "--format", "-f", help="Output format: table or json.")] = OutputFormat.table,
        db: DbOpt = None,
    ) -> None:
        """Replay the store's history under CANDIDATE and under --against with no look-ahead
        (each day decided on the events before it) and compare MQLs per week, conversion to
        SQL, opportunity and won, revenue captured, precision and recall at the MQL line,
        lift per decile, the people who would newly qualify or drop out with their outcomes,
        and MQLs per team (docs/learning.md, "Backtest")."""
        try:
            if fmt is OutputFormat.csv:
                raise ConfigError("--format csv: a backtest is several tables; use table or "
                                  "json")
            run = backtest_service.run_backtest(
                connect(store_settings(db).database_url), candidate, now=CLOCK.now(),
                against=against if against == backtest_service.LIVE else Path(against),
                start=day(start, "--from"), end=day(end, "--to"))
        except MQLError as exc:
            raise fail(exc) from None
        if fmt is OutputFormat.json:
            sys.stdout.write(json.dumps(run.to_json(), indent=2) + "\n")
        else:
            print_backtest(run)


def _csv(point: dict[str, Any]) -> dict[str, Any]:
    return {k: ("" if v is None else v) for k, v in point.items()}
