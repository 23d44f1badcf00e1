"""`mql audit` and `mql synth --drift` refuse bad input in one line (exit 2, no
traceback); the audit's table, CSV and JSON faces carry the service's numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from tests.cli.test_user_errors import refused


def mql(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # an audit runs a dozen engine queries: more time than the other commands' 120 s
    return subprocess.run([sys.executable, "-m", "mql", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, check=False)


def test_audit_user_errors_are_one_line(tmp_path: Path) -> None:
    assert mql("init", ".", cwd=tmp_path).returncode == 0
    refused(mql("audit", cwd=tmp_path), "no events to audit", "mql ingest events")
    refused(mql("audit", "--since", "May", cwd=tmp_path), "--since", "2025-03")
    refused(mql("synth", "-o", "w", "-n", "2", "-m", "1", "--drift", "pricing:2025-01-01",
                cwd=tmp_path), "unknown driver 'pricing'", "webinar_attended")


def test_audit_faces_on_the_sample(tmp_path: Path) -> None:
    assert mql("init", ".", cwd=tmp_path).returncode == 0
    for kind in ("contacts", "events"):
        path = str(files("mql").joinpath(f"examples/sample/{kind}.csv"))
        assert mql("ingest", kind, path, cwd=tmp_path).returncode == 0
    # one month is nothing to compare
    refused(mql("audit", "--from", "2026-11", "--at", "2026-11-25", cwd=tmp_path),
            "compares months")
    result = mql("audit", "--from", "2026-10", "--at", "2026-12-15", "--format", "json",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [m["month"] for m in data["months"]] == ["2026-10", "2026-11", "2026-12"]
    assert {r["rule"] for r in data["rules"]} >= {"demo_request", "icp_company_size"}
    assert data["suggestions"] == []
    csv_out = mql("audit", "--from", "2026-10", "--at", "2026-12-15", "--format", "csv",
                  cwd=tmp_path)
    assert csv_out.stdout.splitlines()[0] == ("score,rule,fires_before,fires_since,worst_psi,"
                                              "lift_before,lift_since,status,verdict")
    table = mql("audit", "--from", "2026-10", "--at", "2026-12-15", cwd=tmp_path)
    assert table.returncode == 0 and "by rule" in table.stdout and "verdicts" in table.stdout
