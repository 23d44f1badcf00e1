"""`python -m bench`: each result line is out the moment its benchmark has it, a failing
benchmark costs only its own line, and the summary comes last."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def _module(name: str, run: Any) -> ModuleType:
    module = ModuleType(f"bench_{name}")
    module.add_arguments = lambda parser: None  # type: ignore[attr-defined]
    module.run = run  # type: ignore[attr-defined]
    return module


def test_results_are_printed_as_they_come_and_a_failure_does_not_stop_the_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    seen_before_b: list[str] = []

    def run_a(args: argparse.Namespace) -> list[dict[str, Any]]:
        return [{"bench": "a", "metric": "x", "value": 1, "unit": "s"}]

    def run_b(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
        seen_before_b.extend(capsys.readouterr().out.splitlines())
        yield {"bench": "b", "metric": "y", "value": 2, "unit": "s"}
        raise RuntimeError("the store went away")

    def run_c(args: argparse.Namespace) -> list[dict[str, Any]]:
        return [{"bench": "c", "metric": "z", "value": 3, "unit": "s"}]

    status = main([], {"a": _module("a", run_a), "b": _module("b", run_b),
                       "c": _module("c", run_c)})
    # a's line was out before b started
    assert [json.loads(line)["bench"] for line in seen_before_b] == ["a"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["bench"], r["metric"]) for r in lines] == [
        ("b", "y"), ("b", "error"), ("c", "z"), ("summary", "failed")]
    assert lines[1]["ok"] is False
    assert lines[1]["error"] == "RuntimeError: the store went away"
    summary = lines[-1]
    assert (summary["value"], summary["benchmarks"], summary["results"], summary["failed"]) \
        == (1, 3, 3, ["b"])
    assert set(summary["seconds"]) == {"a", "b", "c"}
    assert status == 1


def test_a_clean_run_exits_zero_and_ends_with_the_summary(
        capsys: pytest.CaptureFixture[str]) -> None:
    def run(args: argparse.Namespace) -> list[dict[str, Any]]:
        return [{"bench": "a", "metric": "x", "value": 1, "unit": "s"}]

    assert main(["--only", "a"], {"a": _module("a", run), "b": _module("b", run)}) == 0
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert [r["bench"] for r in lines] == ["a", "summary"]
    assert lines[-1]["ok"] is True and lines[-1]["failed"] == []
    assert out.err.strip() == "bench: 1 benchmarks, 1 results, 0 failed"


@pytest.mark.slow
def test_the_real_runner_streams_a_small_benchmark() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "outcomes"], cwd=ROOT,
        capture_output=True, text=True, timeout=600, check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert lines[-1]["bench"] == "summary" and lines[-1]["failed"] == []
    assert all(r["bench"] == "outcomes" for r in lines[:-1]) and len(lines) >= 2


def test_the_batch_worlds_copies_are_other_people_mql_reads_in_full(tmp_path: Path) -> None:
    # before: copy 1 of jane@acme.com was jane@acme.com.t1, an address mql refuses, so the
    # 1M and 10M measurements scored the base world's contacts only (3,715 of 14,860)
    import duckdb

    from bench.bench_batch import _records, _tile
    from mql.identity.normalize import email_key

    base = tmp_path / "base"
    base.mkdir()
    duckdb.sql(f"""COPY (SELECT * FROM (VALUES ('jane@acme.com', 'acme.com'),
        ('joe@gmail.com', 'beta.io')) t(email, account)) TO '{base / "contacts.parquet"}'
        (FORMAT parquet)""")
    duckdb.sql(f"""COPY (SELECT * FROM (VALUES ('acme.com', 'Acme'), ('beta.io', 'Beta'))
        t(domain, name)) TO '{base / "accounts.parquet"}' (FORMAT parquet)""")
    duckdb.sql(f"""COPY (SELECT 'e1' AS event_id, 'demo_request' AS type,
        '2026-03-02T10:00:00Z' AS timestamp, 'jane@acme.com' AS email,
        NULL::VARCHAR AS anonymous_id, 'acme.com' AS account, '{{}}' AS properties)
        TO '{base / "events.parquet"}' (FORMAT parquet)""")
    world = _tile(base, tmp_path / "x3", 3)
    contacts = _records(world, "contacts")
    assert sorted((c.email, c.account) for c in contacts) == [
        ("jane@acme.com", "acme.com"), ("jane@t1-acme.com", "t1-acme.com"),
        ("jane@t2-acme.com", "t2-acme.com"), ("joe@gmail.com", "beta.io"),
        ("joe_t1@gmail.com", "t1-beta.io"), ("joe_t2@gmail.com", "t2-beta.io")]
    assert len({email_key(c.email) for c in contacts}) == 6  # nobody merges with a copy
    assert sorted(a.domain for a in _records(world, "accounts")) == [
        "acme.com", "beta.io", "t1-acme.com", "t1-beta.io", "t2-acme.com", "t2-beta.io"]
    assert sorted((e.event_id, e.contact, e.account) for e in _records(world, "events")) == [
        ("e1-0", "jane@acme.com", "acme.com"), ("e1-1", "jane@t1-acme.com", "t1-acme.com"),
        ("e1-2", "jane@t2-acme.com", "t2-acme.com")]
