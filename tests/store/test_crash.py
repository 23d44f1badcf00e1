"""Crash safety for real: SIGKILL an ingest mid-file, run it again, lose and double nothing."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.ingest.formats import EVENT_COLUMNS
from mql.store import tables
from tests.store.oracle import event_count, mismatches

EVENTS = 40_000
TYPES = ("page_view", "content_download", "webinar_attended", "email_click", "form_submit")


def _big_file(path: Path) -> int:
    """Events of 400 people, with cookies identified later on, and resent ids."""
    written = set()
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EVENT_COLUMNS)
        writer.writeheader()
        for n in range(EVENTS):
            person = n % 400
            resend = n % 97 == 0 and n > 0
            ident = f"x{n - 1}" if resend else f"x{n}"
            known = n > 10_000 or person % 3 == 0
            writer.writerow({
                "event_id": ident, "type": TYPES[n % len(TYPES)],
                "timestamp": f"2026-0{1 + n % 3}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                "email": f"p{person}@co{person % 40}.com" if known else "",
                "anonymous_id": f"cookie-{person}",
                "account": "", "properties": '{"url": "/pricing"}'})
            written.add(ident)
    return len(written)


def _ingest(url: str, path: Path, log: Path) -> tuple[int, str]:
    """Run `ingest events` to the end: (exit code, output)."""
    env = {**os.environ, "MQL_BATCH_SIZE": "500", "COLUMNS": "200"}
    with log.open("wb") as out:
        code = subprocess.run([sys.executable, "-m", "mql.cli.store", "ingest", "events",
                               str(path), "--db", url], env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=300, check=False).returncode
    return code, log.read_text()


def _committed(engine: Engine) -> int:
    with engine.connect() as conn:
        done = conn.execute(sa.select(tables.ingest_checkpoints.c.rows_done)).scalar()
    return int(done or 0)


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_stores_every_event_exactly_once(
    store: Engine, store_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    unique = _big_file(path)
    env = {**os.environ, "MQL_BATCH_SIZE": "500"}
    with (tmp_path / "first.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "mql.cli.store", "ingest", "events",
                                 str(path), "--db", store_url], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while _committed(store) < 5_000:
            assert proc.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "the ingest made no progress"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    stored, _ = event_count(store)
    assert 0 < stored < unique  # killed mid-way
    code, out = _ingest(store_url, path, tmp_path / "second.log")
    assert code == 0, out
    assert "resumed" in out
    assert event_count(store) == (unique, unique)
    assert mismatches(store) == []
