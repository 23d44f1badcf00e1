"""`mql rescore --engine spark --master URL` on a master that is not local mode: Spark's
`local-cluster[2,1,1024]` starts a master and two worker JVMs on this machine, so the query
runs on executors in other processes (shuffles and Parquet output between JVMs), and must
write what DuckDB writes, partitioned by day."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

MODEL = Path(__file__).parents[2] / "examples" / "models" / "b2b-saas.yaml"


def _rescore(world: Path, out: Path, *engine: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "mql"), "rescore", *engine, "--model", str(MODEL),
         "--events", str(world / "events.parquet"), "--contacts",
         str(world / "contacts.parquet"), "--accounts", str(world / "accounts.parquet"),
         "--daily", "2025-01-20", "2025-01-22", "--out", str(out)],
        capture_output=True, text=True, timeout=1500, check=False)


def test_a_daily_history_on_two_worker_jvms_is_duckdbs_partitioned_by_day(
        tmp_path: Path) -> None:
    from mql.service.synth import write_world

    write_world(tmp_path, accounts=3, months=1, seed=2, fmt="parquet")
    out = tmp_path / "history.parquet"
    cluster = _rescore(tmp_path, out, "--engine", "spark", "--master",
                       "local-cluster[2,1,1024]")
    assert cluster.returncode == 0, cluster.stderr[-3000:]
    duck = _rescore(tmp_path, tmp_path / "duckdb.parquet")
    assert duck.returncode == 0, duck.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "date=2025-01-20", "date=2025-01-21", "date=2025-01-22"]
    columns = ["contact", "as_of", "total", "grade", "mql", "reasons"]

    def rows(path: Path) -> list[tuple[object, ...]]:
        table = pq.read_table(path, columns=columns).to_pylist()
        return sorted((r["contact"], r["as_of"].replace(tzinfo=None), round(r["total"], 9),
                       r["grade"], r["mql"], r["reasons"]) for r in table)

    expected = rows(tmp_path / "duckdb.parquet")
    assert len(expected) == 3 * len(pq.read_table(tmp_path / "contacts.parquet"))
    assert rows(out) == expected
