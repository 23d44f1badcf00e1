"""The worker's deliveries against real receivers on 127.0.0.1: a slow or dribbling
receiver delays nobody else, other commands never meet `database is locked` while
deliveries are under way, no receiver or URL crashes the worker, and after SIGKILL at most
the deliveries in flight are sent again (none after SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.records import Contact, Event
from mql.service import lifecycle
from mql.service import webhooks as service
from mql.service.ingest import ingest_records
from mql.store import handoff as handoff_store
from mql.store.tables import outbox, webhooks
from tests.notify.receivers import receivers

T = datetime(2026, 3, 3, 15, tzinfo=UTC)
sqlite_only = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def _queue(engine: Engine, n: int, at: datetime = T) -> None:
    with engine.begin() as conn:
        handoff_store.enqueue_many(conn, [handoff_store.Note("mql.qualified", f"p{i}@acme.example",
                                             {"contact": {"email": f"p{i}@acme.example"}}, at)
                                  for i in range(n)])


def _statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(s for (s,) in conn.execute(sa.select(outbox.c.status)))


def _real() -> datetime:
    return datetime.now(UTC)


@sqlite_only
def test_a_slow_receiver_delays_neither_a_healthy_one_nor_other_commands(store: Engine
                                                                         ) -> None:
    with receivers({"delay": 1.0}, {}) as (slow, healthy):
        service.add_webhook(store, slow.url, secret="s1", topics=["*"], now=T)
        service.add_webhook(store, healthy.url, secret="s2", topics=["*"], now=T)
        _queue(store, 3)
        options = service.DeliveryOptions(deadline=5, concurrency=4, claim=10)
        started = time.monotonic()
        done: list[service.DeliveryCounts] = []
        worker = threading.Thread(target=lambda: done.append(
            service.run_deliveries(store, clock=_real, options=options)))
        worker.start()
        while not slow.log:  # the slow receiver holds its first delivery
            time.sleep(0.02)
        # meanwhile another command writes: no `database is locked`, no wait
        t0 = time.monotonic()
        rules = IdentityRules()
        ingest_records(store, "contacts", [Contact("new@globex.example", "globex.example")],
                       rules=rules, now=_real(), source="test")
        ingest_records(store, "events", [Event("e-new", "page_view", _real(),
                                               contact="new@globex.example",
                                               properties={"url": "/blog"})],
                       rules=rules, now=_real(), source="test")
        wrote_in = time.monotonic() - t0
        worker.join()
        total = time.monotonic() - started
    healthy_done = max(t for t, _, _ in healthy.log) - started
    assert len(healthy.log) == 3 and len(slow.log) == 3
    assert healthy_done < 0.8  # all three before the slow receiver answered its first
    assert wrote_in < 1.0
    assert 3.0 <= total < 5.0  # the slow one's three seconds, nothing added
    assert done[0].delivered == 6
    # the deliveries of each subscription are numbered in order
    assert [b["sequence"] for b in healthy.bodies] == [1, 2, 3]


@sqlite_only
def test_no_receiver_and_no_url_crashes_the_worker(store: Engine) -> None:
    with receivers({"dribble": 0.2}, {"script": [503, 501]}, {}) as (drib, flaky, ok):
        for r in (drib, flaky, ok):
            service.add_webhook(store, r.url, secret="s", topics=["*"], now=T)
        with store.begin() as conn:  # URLs stored before they were checked
            for url in ("http://[::1/x", "not-a-url", "http://127.0.0.1:9/down"):
                handoff_store.add_webhook(conn, url, "s", ["*"], T)
        _queue(store, 2)
        options = service.DeliveryOptions(deadline=0.5, concurrency=8, claim=10)
        started = time.monotonic()
        counts = service.run_deliveries(store, clock=_real, options=options)
        took = time.monotonic() - started
    rows = lifecycle.outbox(store)
    by_hook: dict[int, list[dict]] = {}
    for r in rows:
        by_hook.setdefault(r["webhook_id"], []).append(r)
    assert [r["status"] for r in by_hook[3]] == ["delivered", "delivered"]
    assert [r["status"] for r in by_hook[2]] == ["pending", "pending"]  # 503, 501: retried
    assert [r["status"] for r in by_hook[1]] == ["pending", "pending"]  # dribbled: retried
    assert "no complete answer within 0.5 s" in by_hook[1][0]["last_error"]
    for hook in (4, 5):
        assert {r["status"] for r in by_hook[hook]} == {"refused"}
        assert "cannot send to" in by_hook[hook][0]["last_error"]
    assert "cannot reach the receiver" in by_hook[6][0]["last_error"]
    assert (counts.delivered, counts.retried, counts.failed) == (2, 6, 4)
    assert took < 2.5  # the dribbler's two cut attempts (1 s) bound the round


def test_the_cli_refuses_invalid_urls_topics_and_secrets(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mql.cli.main import app

    db = f"sqlite:///{tmp_path / 'mql.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path), "--db", db]).exit_code == 0
    for args, message in (
            (["http://[::1/x", "--secret", "s"], "is not a valid URL"),
            (["not-a-url", "--secret", "s"], "must start with http:// or https://"),
            (["http://127.0.0.1:9/x", "--secret", "s", "--topics", "mql.qualifed"],
             "did you mean 'mql.qualified'"),
            (["http://127.0.0.1:9/x", "--secret", ""], "non-empty signing secret"),
            (["http://127.0.0.1:9/x", "--secret", "s", "--topics", ","], "at least one")):
        result = runner.invoke(app, ["webhooks", "add", *args, "--db", db])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.stderr.split())
        assert "Traceback" not in result.output


# -- crashes and stops: a real `mql worker` process ------------------------------------------

def _worker(db: str, log: Path, deadline: float = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MQL_WEBHOOK_DEADLINE_SECONDS": str(deadline),
           "MQL_WEBHOOK_CLAIM": "3", "MQL_WEBHOOK_CONCURRENCY": "4"}
    with log.open("ab") as errors:  # the child keeps its own copy of the file
        return subprocess.Popen([sys.executable, "-m", "mql", "worker", "--db", db,
                                 "--poll", "0.2"], env=env, stdout=subprocess.DEVNULL,
                                stderr=errors)


def _wait(what, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@sqlite_only
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_after_a_crash_only_deliveries_in_flight_are_sent_again(
        store: Engine, store_url: str, how: signal.Signals, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with receivers({"delay": 0.15}, {"delay": 0.15}) as hooks:
        for r in hooks:
            service.add_webhook(store, r.url, secret="s", topics=["*"], now=T)
        _queue(store, 12)
        first = _worker(store_url, log)
        try:
            _wait(lambda: sum(len(r.log) for r in hooks) >= 8)
            first.send_signal(how)
            code = first.wait(timeout=15)
        finally:
            first.kill()
        if how == signal.SIGTERM:
            assert code == 0, log.read_text()
            with store.connect() as conn:  # released: nothing left claimed
                held = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(
                    outbox.c.locked_until.is_not(None))).scalar_one()
            assert held == 0
        second = _worker(store_url, log)
        try:
            _wait(lambda: _statuses(store)["delivered"] == 24, timeout=40)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=15) == 0, log.read_text()
        sent = Counter(h["X-MQL-Delivery"] for r in hooks for _, h, _ in r.log)
    assert "Traceback" not in log.read_text()
    assert set(sent) == {r["delivery_id"] for r in lifecycle.outbox(store)}
    again = sum(n - 1 for n in sent.values())
    if how == signal.SIGTERM:
        assert again == 0
    else:
        assert again <= len(hooks)  # at most the one in flight per subscription
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.max(webhooks.c.next_sequence))).scalar() == 12


def test_retry_keeps_the_attempt_history_and_outbox_list_says_what_is_next(tmp_path: Path
                                                                          ) -> None:
    from mql.cli.lifecycle import next_attempt

    now = T + timedelta(hours=1)
    assert next_attempt({"status": "dead"}, now) == "- (mql outbox retry)"
    assert next_attempt({"status": "pending", "paused": True, "hook_active": True},
                        now) == "when resumed (paused)"
    assert next_attempt({"status": "pending", "available_at": T, "locked_until": None},
                        now) == "now"
    assert next_attempt({"status": "pending", "available_at": now + timedelta(minutes=2),
                         "locked_until": None}, now) == "2026-03-03 16:02:00"


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_the_worker_outlives_a_lost_database_and_reconnects(store: Engine, store_url: str,
                                                            pg_cluster: Any,
                                                            tmp_path: Path) -> None:
    import psycopg

    log = tmp_path / "worker.log"
    database = store_url.rsplit("/", 1)[1]
    with receivers({}) as (r,), psycopg.connect(
            f"host=127.0.0.1 port={pg_cluster.port} user=mql dbname=postgres",
            autocommit=True) as admin:
        service.add_webhook(store, r.url, secret="s", topics=["*"], now=T)
        _queue(store, 2)
        worker = _worker(store_url, log)
        try:
            _wait(lambda: len(r.log) == 2)
            # the database goes away: every connection killed (AdminShutdown), none allowed
            admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (database,))
            time.sleep(2.5)
            assert worker.poll() is None  # still running, retrying
            admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
            _queue(store, 2)
            _wait(lambda: _statuses(store)["delivered"] == 4, timeout=60)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=20)
    text = log.read_text()
    assert code == 0, text
    assert "retrying" in text and "Traceback" not in text
    sent = Counter(h["X-MQL-Delivery"] for _, h, _ in r.log)
    assert len(sent) == 4
    assert sum(n - 1 for n in sent.values()) <= 1  # at most the one in flight, again


@sqlite_only
def test_sla_and_lifecycle_passes_never_wait_on_a_slow_receiver(store: Engine, store_url: str,
                                                                tmp_path: Path) -> None:
    from mql.records import Account
    from mql.store.tables import assignments

    rules = IdentityRules()
    acme = Account("acme.example", {"employees": 3000, "industry": "software",
                                    "country": "US", "region": "NA"})
    people = [Contact("ann@acme.example", "acme.example", {"country": "US"})]
    ingest_records(store, "accounts", [acme], rules=rules, now=_real(), source="test")
    ingest_records(store, "contacts", people, rules=rules, now=_real(), source="test")
    log = tmp_path / "worker.log"
    with receivers({"delay": 4.0}) as (slow,):
        service.add_webhook(store, slow.url, secret="s", topics=["mql.qualified"], now=T)
        worker = _worker(store_url, log, deadline=10)
        try:
            ingest_records(store, "events", [Event("a", "demo_request", _real(),
                                                   contact=people[0].email)],
                           rules=rules, now=_real(), source="test")
            _wait(lambda: len(slow.log) == 1)  # the worker is held by the slow receiver
            held = time.monotonic()
            # time passes: the lead's first-touch deadline is now behind us
            with store.begin() as conn:
                conn.execute(assignments.update().values(
                    sla_due_at=_real() - timedelta(minutes=1)))

            def breached() -> bool:
                with store.connect() as conn:
                    return bool(conn.execute(sa.select(sa.func.count()).select_from(
                        assignments).where(assignments.c.breaches > 0)).scalar_one())

            _wait(breached, timeout=10)
            took = time.monotonic() - held
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=20)
    assert code == 0, log.read_text()
    assert took < 2.0  # while the delivery still hung (4 s): the SLA pass did not wait


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_two_workers_on_one_postgresql_send_each_delivery_once(store: Engine) -> None:
    with receivers({"delay": 0.05}, {"delay": 0.05}, {}) as made:
        for r in made:
            service.add_webhook(store, r.url, secret="s", topics=["*"], now=T)
        _queue(store, 10)
        options = service.DeliveryOptions(deadline=5, concurrency=4, claim=3)
        results: list[service.DeliveryCounts] = []
        workers = [threading.Thread(target=lambda: results.append(
            service.run_deliveries(store, clock=_real, options=options))) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        sent = Counter(h["X-MQL-Delivery"] for r in made for _, h, _ in r.log)
    assert len(sent) == 30 and set(sent.values()) == {1}
    assert sum(c.delivered for c in results) == 30
    assert _statuses(store) == Counter({"delivered": 30})
