"""Several servers and workers on one PostgreSQL (issue 20): two `mql serve` and two
`mql worker` processes share a store; load goes through both servers, and one server and
one worker are SIGKILLed (with their applier) in the middle. Every acknowledged event is
applied once and every bad one quarantined once, every contact is handed off once, round
robin stays exact, every due move is made once, every webhook is delivered at least once,
and no process meets a deadlock."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from mql.service import lifecycle
from mql.service import webhooks as webhook_service
from mql.service.store import MODEL_FILE, init_workspace
from mql.store import tables
from mql.store.db import connect
from tests.api.conftest import SECRET, T0, free_port, make_keys
from tests.notify.receivers import receivers

CONTACTS = 60  # each on an account of its own in EMEA: round robin over two sellers
PER_BATCH = 5
LEAD = timedelta(seconds=40)  # a demo request's fast track ends this long after sending


def _model() -> str:
    """The example model without its exit line: an MQL of a demo request alone leaves
    exactly when its fast track ends (30 days after the request), a due move."""
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    assert "exit:\n  below: {intent: 15}\n" in text
    return text.replace("exit:\n  below: {intent: 15}\n", "")


def _spawn(args: list[str], url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as errors:  # its own session: a SIGKILL takes its children too
        return subprocess.Popen(
            [sys.executable, "-m", "mql", *args, "--db", url],
            env={**os.environ, "MQL_SECRET_KEY": SECRET, "MQL_API_KEY_CACHE_SECONDS": "1",
                 **env}, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    server = _spawn(["serve", "--port", str(port), "--no-access-log"], url, log,
                    MQL_API_APPLY_DELAY_SECONDS="0.05")
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            _kill(server)
            raise AssertionError(f"mql serve did not start: {log.read_text()}")
        time.sleep(0.1)


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _kill(process)


def _batch(first: int, stamp: datetime) -> list[dict[str, Any]]:
    """The messages of contacts first .. first + PER_BATCH - 1: the account (EMEA), who
    they are, page views and a demo request 30 days before `stamp` + LEAD."""
    demo = (stamp - timedelta(days=30) + LEAD).isoformat()
    out: list[dict[str, Any]] = []
    for c in range(first, first + PER_BATCH):
        email, domain = f"p{c}@acct{c}.example", f"acct{c}.example"
        out += [{"type": "group", "userId": email, "groupId": domain,
                 "traits": {"website": domain, "region": "EMEA"}},
                {"type": "identify", "userId": email, "traits": {"email": email}},
                *({"type": "page", "userId": email, "name": "Docs",
                   "properties": {"path": f"/docs/{n}"}} for n in range(4)),
                {"type": "track", "userId": email, "event": "Demo Requested",
                 "timestamp": demo},
                {"type": "track", "userId": email, "event": "E" * 101}]  # quarantined
    return [{"messageId": str(uuid.uuid4()), "timestamp": stamp.isoformat(), **m}
            for m in out]


def _wait(what: Any, timeout: float, message: str) -> None:
    end = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < end, message
        time.sleep(0.2)


def test_two_servers_and_two_workers_share_one_postgresql_through_a_crash(
        pg_url: str, tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_text(_model())
    init_workspace(tmp_path, now=T0, database_url=pg_url)
    keys = make_keys(pg_url)
    engine = connect(pg_url)
    logs = [tmp_path / f"{name}.log" for name in ("serve-a", "serve-b", "work-a", "work-b")]
    ports = [free_port(), free_port()]
    with receivers({}) as (hook,):
        webhook_service.add_webhook(engine, hook.url, secret="hook-secret", topics=["*"],
                                    now=datetime.now(UTC), server_secret=SECRET)
        servers: list[subprocess.Popen[bytes]] = []
        workers: list[subprocess.Popen[bytes]] = []
        sent: set[str] = set()
        acknowledged: dict[str, bool] = {}  # message id -> is it one to be quarantined
        try:
            for port, log in zip(ports, logs[:2], strict=True):  # each stopped at the end
                servers.append(_serve(pg_url, port, log))
            for log in logs[2:]:
                workers.append(_spawn(["worker", "--poll", "0.2"], pg_url, log))
            clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30,
                                    auth=(keys["writer"], "")) for p in ports]
            for n, first in enumerate(range(0, CONTACTS, PER_BATCH)):
                if first == CONTACTS // 2:  # the middle: one server and one worker die
                    _kill(servers[0])
                    _kill(workers[0])
                target = clients[1] if servers[0].poll() is not None else clients[n % 2]
                batch = _batch(first, datetime.now(UTC))
                sent |= {m["messageId"] for m in batch}
                answer = target.post("/v1/batch", json={"batch": batch})
                assert answer.status_code == 200, answer.text
                acknowledged |= {m["messageId"]: m.get("event") == "E" * 101 for m in batch}
            for client in clients:
                client.close()
            reader = {"Authorization": f"Bearer {keys['read-only']}"}
            _wait(lambda: httpx.get(f"http://127.0.0.1:{ports[1]}/v1/inbox",
                                    headers=reader).json()["pending"] == 0, 120,
                  "the surviving server did not apply the inbox")
            with engine.connect() as conn:
                ids = Counter(conn.execute(sa.select(tables.events.c.event_id)).scalars())
            bad = {m for m, is_bad in acknowledged.items() if is_bad}
            assert len(bad) == CONTACTS and set(ids) == set(acknowledged) - bad
            assert max(ids.values()) == 1
            with engine.connect() as conn:  # each bad message held once
                held = Counter(conn.execute(sa.select(tables.quarantine.c.message_id)
                                            ).scalars())
            assert held == dict.fromkeys(bad, 1)
            # the fast tracks end LEAD after each batch: the surviving worker moves them
            moves = sa.select(sa.func.count()).select_from(tables.lifecycle_history).where(
                tables.lifecycle_history.c.from_stage == "mql")
            with engine.connect() as conn:
                _wait(lambda: conn.execute(moves).scalar_one() >= CONTACTS,
                      LEAD.total_seconds() + 120, "the due moves were not made")
            _wait(lambda: all(r["status"] == "delivered" for r in lifecycle.outbox(engine)),
                  120, "webhooks were not delivered")
            time.sleep(1.0)  # a second chance for a move or hand-off made twice to show
        finally:
            for process in [*servers, *workers]:
                _stop(process)
        delivered = Counter(h["X-MQL-Delivery"] for _, h, _ in hook.log)
    try:
        with engine.connect() as conn:
            history = conn.execute(sa.select(tables.lifecycle_history.c.contact_id,
                                             tables.lifecycle_history.c.from_stage,
                                             tables.lifecycle_history.c.to_stage)).all()
            owners = conn.execute(sa.select(tables.assignments.c.contact_id,
                                            tables.assignments.c.owner)).all()
        outbox = lifecycle.outbox(engine)
    finally:
        engine.dispose()
    contacts = {c for c, _, _ in history}
    assert len(contacts) == CONTACTS
    # one qualification and one due move out of MQL per contact: none made twice
    assert Counter(c for c, _, to in history if to == "mql") == dict.fromkeys(contacts, 1)
    assert Counter(c for c, was, _ in history if was == "mql") == dict.fromkeys(contacts, 1)
    # one hand-off per contact; the two EMEA sellers took turns, exactly
    assert Counter(c for c, _ in owners) == dict.fromkeys(contacts, 1)
    assert Counter(o for _, o in owners) == {"olu.adeyemi": CONTACTS // 2,
                                              "anna.schmidt": CONTACTS // 2}
    # every webhook at least once (the one a killed worker had in flight may come again)
    assert {r["delivery_id"] for r in outbox} == set(delivered)
    assert sum(n - 1 for n in delivered.values()) <= 3
    text = "".join(log.read_text() for log in logs)
    assert "deadlock" not in text.lower() and "Traceback" not in text, text[-3000:]
