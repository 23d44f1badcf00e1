"""`write_world` writes the same bytes for the same options, in a layout the readers take."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mql.errors import ConfigError
from mql.ingest.files import Rejected, read_rows
from mql.ingest.mapping import read_records
from mql.service.synth import TABLES, write_world

FORMATS = ("csv", "parquet", "jsonl")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_same_seed_writes_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    options = {"accounts": 40, "months": 3, "seed": 5, "fmt": fmt, "dirty": 0.1}
    write_world(tmp_path / "a", **options)  # type: ignore[arg-type]
    write_world(tmp_path / "b", **options)  # type: ignore[arg-type]
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(first) == len(TABLES) + 1
    assert first == second


def test_another_seed_writes_another_world(tmp_path: Path) -> None:
    write_world(tmp_path / "a", accounts=20, months=2, seed=1)
    write_world(tmp_path / "b", accounts=20, months=2, seed=2)
    assert (tmp_path / "a/events.csv").read_bytes() != (tmp_path / "b/events.csv").read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_clean_world_reads_back_without_rejections(tmp_path: Path, fmt: str) -> None:
    summary = write_world(tmp_path, accounts=30, months=3, seed=8, fmt=fmt)
    for kind in ("accounts", "contacts", "events"):
        results = list(read_records(tmp_path / f"{kind}.{fmt}", kind))  # type: ignore[arg-type]
        assert not [r for _, r in results if isinstance(r, Rejected)]
        assert len(results) == summary.rows[f"{kind}.{fmt}"]
    manifest = json.loads((tmp_path / "world.json").read_text())
    assert manifest["rows"] == dict(summary.rows)
    assert manifest["parameters"]["start"] == "2025-01-01T00:00:00Z"


@pytest.mark.parametrize("fmt", FORMATS)
def test_malformed_rows_are_writable_and_rejected_on_reading(tmp_path: Path, fmt: str) -> None:
    write_world(tmp_path, accounts=60, months=3, seed=9, fmt=fmt, dirty=0.3)
    truth = [row for _, row in read_rows(tmp_path / f"truth/malformed.{fmt}")]
    problems = Counter(row["problem"] for row in truth if row["file"] == "events")  # type: ignore[index]
    rejected = [r for _, r in read_records(tmp_path / f"events.{fmt}", "events")
                if isinstance(r, Rejected)]
    assert len(rejected) == problems["bad_timestamp"] + problems["bad_email"] > 0


def test_jsonl_events_carry_properties_as_objects(tmp_path: Path) -> None:
    write_world(tmp_path, accounts=5, months=2, seed=3, fmt="jsonl")
    first = json.loads((tmp_path / "events.jsonl").read_text().splitlines()[0])
    assert isinstance(first["properties"], dict)


def test_progress_reports_every_account(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    write_world(tmp_path, accounts=4, months=1, seed=3, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_the_start_moves_every_time(tmp_path: Path) -> None:
    start = datetime(2023, 6, 1, tzinfo=UTC)
    write_world(tmp_path, accounts=5, months=2, seed=3, start=start)
    times = [r["timestamp"] for _, r in read_rows(tmp_path / "events.csv")]  # type: ignore[index]
    assert min(times) >= "2023-06-01" and max(times) < "2023-08-01"


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown format 'xlsx'"):
        write_world(tmp_path, accounts=1, months=1, seed=1, fmt="xlsx")
    with pytest.raises(ConfigError, match="accounts must be at least 1"):
        write_world(tmp_path, accounts=0, months=1, seed=1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot create the output folder"):
        write_world(tmp_path / "file", accounts=1, months=1, seed=1)


def test_the_bytes_do_not_depend_on_the_interpreter_hash_seed(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from mql.service.synth import write_world; "
            "write_world(Path(sys.argv[1]), accounts=30, months=2, seed=4, dirty=0.2)")
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / hash_seed)], env=env,
                       check=True)
    assert _files(tmp_path / "1") == _files(tmp_path / "2")
