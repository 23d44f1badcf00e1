"""`mql test MODEL` and `mql diff OLD NEW`: review a model like code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from mql.cli.render import console, fail
from mql.clock import SystemClock
from mql.errors import MQLError
from mql.ingest.files import ReadOptions
from mql.ingest.formats import parse_time
from mql.service import model_diff, model_tests
from mql.service.model_diff import ModelDiff
from mql.service.model_tests import ModelTestRun
from mql.service.scoring import Inputs
from mql.settings import load_settings
from mql.store.db import connect

CLOCK = SystemClock()

out = console()
err = console(stderr=True)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def render_run(run: ModelTestRun, *, verbose: bool = False) -> None:
    """Each test as PASS or FAIL; for a failure, field by field: expected, actual."""
    for result in run.results:
        test = result.test
        if result.passed:
            if verbose:
                out.print(f"PASS  {escape(test.name)}", highlight=False)
            continue
        out.print(f"FAIL  {escape(test.name)}  ({escape(result.source)}:{test.mark.line}:"
                  f"{test.mark.column})", highlight=False)
        for outcome in result.outcomes:
            if outcome.passed:
                continue
            e = outcome.expectation
            out.print(f"      {escape(e.contact)} at {e.at:%Y-%m-%dT%H:%M:%SZ}", highlight=False)
            width = max(len(m.field) for m in outcome.mismatches)
            out.print(f"        {'field'.ljust(width)}  {'expected':<20}  actual",
                      highlight=False)
            for m in outcome.mismatches:
                out.print(f"        {m.field.ljust(width)}  {escape(_shown(m.expected)):<20}  "
                          f"{escape(_shown(m.actual))}   (line {m.line})", highlight=False)
            out.print(f"        verdict: {escape(outcome.because)}", highlight=False)
    failed = len(run.failed)
    passed = len(run.results) - failed
    word = "test" if len(run.results) == 1 else "tests"
    out.print(f"{len(run.results)} {word}: {passed} passed, {failed} failed "
              f"({', '.join(run.sources)}; model {run.model.name} "
              f"{run.model.version or ''})".replace(" )", ")"), highlight=False)


def register(app: typer.Typer) -> None:
    """Add `mql test`."""

    @app.command("test")
    def test(
        model: Annotated[Path, typer.Argument(help="The model file (YAML); its tests are "
                                              "under tests: and in MODEL.tests.yaml.")],
        verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                              help="List the tests that pass too.")] = False,
    ) -> None:
        """Run the tests of MODEL: given contacts, accounts and events, the expected
        scores, grades, MQL verdicts and reasons at a time. Exit 0: all pass; 1: some
        fail (each shown field by field); 2: a file is invalid (file:line:column)."""
        try:
            run = model_tests.run_tests(model)
        except MQLError as exc:
            raise fail(exc) from None
        render_run(run, verbose=verbose)
        if run.failed:
            raise typer.Exit(code=1)


def render_diff(diff: ModelDiff) -> None:
    """The rule changes, one per line, then who changes state."""
    old, new = diff.old, diff.new
    out.print(f"{old.name} {old.version or ''} → {new.name} {new.version or ''}".replace(
        "  ", " "), highlight=False)
    if not diff.changes:
        out.print("  no rule changed: both models decide alike", highlight=False)
    for line in diff.changes:
        out.print(f"  {escape(line)}", highlight=False)
    if diff.note:
        err.print(f"[yellow]note:[/yellow] {escape(diff.note)}", highlight=False)
    if diff.activation is not None:
        act = diff.activation
        out.print(f"activating NEW would cause {act.transitions} transitions: "
                  f"{len(act.newly_qualified)} newly qualified, {len(act.no_longer_qualified)} "
                  "no longer qualified", highlight=False)
        for email in act.newly_qualified:
            out.print(f"  + {escape(email)}", highlight=False)
        for email in act.no_longer_qualified:
            out.print(f"  - {escape(email)}", highlight=False)
        return
    if diff.at is None:
        return
    gained = sum(c.kind == "qualifies" for c in diff.states)
    lost = sum(c.kind == "no longer qualifies" for c in diff.states)
    out.print(f"{len(diff.states)} of {diff.contacts} contacts change state as of "
              f"{diff.at:%Y-%m-%dT%H:%MZ}: {gained} newly qualified, {lost} no longer "
              f"qualified, {len(diff.states) - gained - lost} change grade", highlight=False)
    marks = {"qualifies": "+", "no longer qualifies": "-", "grade": "~"}
    for change in diff.states:
        was, now = change.before, change.after
        out.print(f"  {marks[change.kind]} {escape(change.contact)}  {was.grade or '-'} → "
                  f"{now.grade or '-'}  {escape(now.because() if now.mql else was.because())}",
                  highlight=False)


def register_diff(app: typer.Typer) -> None:
    """Add `mql diff`."""

    @app.command("diff")
    def diff(
        old: Annotated[Path, typer.Argument(help="The model file as it is (YAML).")],
        new: Annotated[Path, typer.Argument(help="The model file as proposed.")],
        contacts: Annotated[Path | None, typer.Option(
            "--contacts", "-c", help="Contacts file: who changes state on these rows.")] = None,
        accounts: Annotated[Path | None, typer.Option(
            "--accounts", "-a", help="Accounts file.")] = None,
        events: Annotated[Path | None, typer.Option(
            "--events", "-e", help="Events file.")] = None,
        db: Annotated[str | None, typer.Option(
            "--db", help="A store (sqlite:///... or postgresql://...): what activating NEW "
            "would change there (the activation dry run).")] = None,
        at: Annotated[str | None, typer.Option(
            "--at", help="Decide as of this time (ISO 8601); default: now.")] = None,
    ) -> None:
        """Which rules differ between OLD and NEW, in words; with data (--contacts ...
        or --db), who changes state: newly qualified, no longer qualified, new grade."""
        try:
            when = CLOCK.now() if at is None else parse_time(at, source="--at", row=0,
                                                             field="--at")
            if db is not None:
                result = model_diff.diff_on_store(connect(load_settings(database_url=db)
                                                          .database_url), old, new, now=when)
            elif contacts is not None:
                inputs = Inputs(contacts, accounts, events, ReadOptions())
                result = model_diff.diff_on_files(old, new, inputs, at=when)
            else:
                result = model_diff.diff_models(old, new)
        except MQLError as exc:
            raise fail(exc) from None
        render_diff(result)
