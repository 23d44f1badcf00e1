"""`mql test MODEL` and `mql diff OLD NEW`: review a model like code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from mql.cli.render import console
from mql.errors import MQLError
from mql.service import model_tests
from mql.service.model_tests import TestRun

out = console()
err = console(stderr=True)


def _fail(exc: MQLError) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


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


def render_run(run: TestRun, *, verbose: bool = False) -> None:
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
            raise _fail(exc) from None
        render_run(run, verbose=verbose)
        if run.failed:
            raise typer.Exit(code=1)
