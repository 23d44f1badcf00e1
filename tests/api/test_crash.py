"""A crash never loses an acknowledged event: `mql serve` is killed (SIGKILL) after it
acknowledged batches it had not applied yet; the next start applies every one, once."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

from mql.store.db import connect
from mql.store.inbox import open_inbox, pending
from mql.store.tables import events
from tests.api.conftest import (
    free_port,
    make_keys,
    make_workspace,
    start_serve,
    wait_applied,
)


def _serve(url: str, port: int, apply_delay: float) -> subprocess.Popen[bytes]:
    return start_serve(url, port, {"MQL_API_KEY_CACHE_SECONDS": "0",
                                   "MQL_API_APPLY_DELAY_SECONDS": str(apply_delay)})


def test_batches_acknowledged_before_a_kill_are_applied_after_the_restart(
        tmp_path: Path) -> None:
    url = make_workspace(tmp_path)
    keys = make_keys(url)
    port = free_port()
    sent: list[str] = []
    # the applier waits a minute between groups: the kill comes before it applies these
    server = _serve(url, port, apply_delay=60)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(keys["writer"], ""),
                          timeout=30) as c:
            time.sleep(0.5)  # the applier's first (empty) round is over
            for n in range(5):
                batch = [{"type": "track", "messageId": str(uuid.uuid4()),
                          "userId": f"k{n}{i}@acme.example", "event": "Pricing Viewed",
                          "timestamp": "2026-03-01T09:00:00Z"} for i in range(20)]
                answer = c.post("/v1/batch", json={"batch": batch})
                assert answer.status_code == 200, answer.text
                sent += [m["messageId"] for m in batch]
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    engine = connect(url)
    try:
        with engine.connect() as conn:
            landed = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
        with open_inbox(engine).connect() as conn:
            waiting = pending(conn).count
        # acknowledged and stored; not applied yet, but for what a slow machine's first
        # applier round (before the minute's wait) may have taken of the first batch
        assert landed + waiting == 100 and waiting >= 80, (landed, waiting)
        server = _serve(url, port, apply_delay=0)
        try:
            wait_applied(f"http://127.0.0.1:{port}", keys["read-only"])
        finally:
            server.terminate()
            server.wait(timeout=30)
        with engine.connect() as conn:
            ids = conn.execute(sa.select(events.c.event_id)).scalars().all()
        assert sorted(ids) == sorted(sent)
    finally:
        engine.dispose()
