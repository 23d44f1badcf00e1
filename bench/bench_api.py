"""The HTTP API under load: events per second through `/v1/batch` (100 events a request)
and p50/p99 latency of single `/v1/track` calls at 16 concurrent connections, against the
same server's `/health` (no store, no key: the ceiling of the HTTP stack) in the same run,
into SQLite and, with `--api-postgres`, PostgreSQL. The server is `mql serve` in its own
process on 127.0.0.1 (with its applier process); the load comes from `bench/loadgen.py`,
another process, for a bounded time. The events come from 500 known contacts (created
during the warm-up): the steady state of a site's traffic; first sightings cost identity
resolution.

Two rates for batches: `batch_events_per_s` is what the server acknowledged (stored in its
inbox), `batch_applied_events_per_s` counts until the applier had applied all of them
(identity, scores, hand-off): the end-to-end rate the target is about.

The realistic world (`world_applied_events_per_s`): 50,000 contacts over 5,000 accounts
(`--api-world-contacts`), each identified once before the clock starts, then batches of
`bench.loadgen.world_message` (anonymous page views, identifies that join a visitor's
cookie to the contact, group calls, tracks) for the load time; the rate counts until the
inbox is empty again. Its baseline is plain ingest of the same messages (in-process, groups
of 5,000, no HTTP and no inbox) into a fresh store of the same kind, warmed up the same way,
in the same run: `ratio` is how much of that speed collection keeps end to end. On
PostgreSQL the world runs twice: through one server, then through two servers sharing the
store (`servers`: the load split over both; their appliers claim inbox messages of their
own and take turns on the store's rows).

    python -m bench --only api                       # 5 s per phase, SQLite
    python -m bench --only api --api-postgres        # also a throwaway PostgreSQL cluster
    python -m bench --only api --api-db postgresql+psycopg://user@host/db
    python -m bench --only api --api-postgres --api-world-only --api-world-contacts 10000
                                                     # only the world, smaller, both stores
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import WORLD_CONTACTS, request_bytes, world_contact, world_message
from mql.service.ingest import ingest_messages
from mql.service.keys import create_key
from mql.service.store import init_workspace
from mql.settings import Settings
from mql.store.db import connect

SECRET = "bench-secret"
LOADGEN = Path(__file__).with_name("loadgen.py")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("api")
    group.add_argument("--api-seconds", type=float, default=5.0,
                       help="seconds of load per phase (default 5)")
    group.add_argument("--api-concurrency", type=int, default=16,
                       help="concurrent connections (default 16)")
    group.add_argument("--api-db", default=None,
                       help="database URL (default: a fresh SQLite workspace)")
    group.add_argument("--api-world-contacts", type=int, default=WORLD_CONTACTS,
                       help=f"contacts of the realistic world (default {WORLD_CONTACTS:,}; "
                            "0 skips it)")
    group.add_argument("--api-profile", default=None, metavar="FILE",
                       help="write a cProfile of the realistic world's in-process apply (the "
                            "baseline: the applier's code without HTTP) to FILE (read it with "
                            "python -m pstats FILE)")
    group.add_argument("--api-world-only", action="store_true",
                       help="only the realistic world (skips the health, batch and track "
                            "phases)")
    group.add_argument("--api-postgres", action="store_true",
                       help="also run against a throwaway PostgreSQL cluster on 127.0.0.1 "
                            "(needs initdb and pg_ctl)")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str) -> Iterator[tuple[str, str, str]]:
    """(base URL, write key, read-only token) of `mql serve` on a free port over the store
    at `url`."""
    with tempfile.TemporaryDirectory() as folder:  # the store migrated, a model active
        init_workspace(Path(folder), now=datetime.now(UTC), database_url=url)
    engine = connect(url)
    key = create_key(engine, kind="write_key", name="bench", role=None, team=None,
                     server_secret=SECRET, actor="bench", now=datetime.now(UTC)).secret
    reader = create_key(engine, kind="token", name="bench-reader", role="read-only", team=None,
                        server_secret=SECRET, actor="bench", now=datetime.now(UTC)).secret
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "MQL_DATABASE_URL": url, "MQL_SECRET_KEY": SECRET,
           "MQL_API_RATE_PER_SECOND": "1000000", "MQL_API_RATE_BURST": "1000000",
           "MQL_API_MAX_INBOX_LAG_SECONDS": "86400"}  # measure the applier, no backpressure
    server = subprocess.Popen([sys.executable, "-m", "mql", "serve", "--host", "127.0.0.1",
                               "--port", str(port), "--no-access-log"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # a loaded machine starts it slowly
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield base, key, reader
    finally:
        server.terminate()
        server.wait(timeout=30)


def _load(base: str, kind: str, seconds: float, concurrency: int, key: str,
          contacts: int = WORLD_CONTACTS) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(LOADGEN), base, kind, str(seconds),
                          str(concurrency), key, str(contacts)], capture_output=True,
                         text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _warm_up(base: str, key: str) -> None:
    """Every known contact once (first sightings cost identity resolution)."""
    host = base.removeprefix("http://")
    with httpx.Client(base_url=base, timeout=60) as client:
        for n in range(5):
            raw = request_bytes("batch", n, host, key)
            body = raw.split(b"\r\n\r\n", 1)[1]
            client.post("/v1/batch", content=body, auth=(key, ""),
                        headers={"Content-Type": "application/json"}).raise_for_status()


def _applied(base: str, token: str) -> float:
    """Seconds until the server has applied every collected message (polling its inbox)."""
    began = time.perf_counter()
    with httpx.Client(base_url=base, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        while client.get("/v1/inbox").json()["pending"]:
            time.sleep(0.05)
    return time.perf_counter() - began


def _measure(url: str, seconds: float, concurrency: int) -> list[dict[str, Any]]:
    with _server(url) as (base, key, reader):
        _warm_up(base, key)
        _load(base, "track", 1.0, concurrency, key)
        _applied(base, reader)
        health = _load(base, "health", seconds, concurrency, key)
        batch = _load(base, "batch", seconds, concurrency, key)
        backlog = _applied(base, reader)
        track = _load(base, "track", seconds, concurrency, key)
        _applied(base, reader)
    health_rps = health["requests"] / health["seconds"]
    events = batch["requests"] * 100 / batch["seconds"]
    applied = batch["requests"] * 100 / (batch["seconds"] + backlog)
    common = {"bench": "api", "concurrency": concurrency, "seconds": seconds,
              "backend": url.split(":", 1)[0].split("+", 1)[0]}
    return [
        {**common, "metric": "health_requests_per_s", "value": round(health_rps, 1),
         "unit": "req/s", "p50_ms": round(health["p50_ms"], 2),
         "p99_ms": round(health["p99_ms"], 2)},
        {**common, "metric": "batch_events_per_s", "value": round(events, 1),
         "unit": "events/s", "failed_requests": batch["failures"],
         "p99_ms": round(batch["p99_ms"], 2), "target": 5000,
         "baseline": "health_requests_per_s", "ratio": round(events / 100 / health_rps, 4)},
        {**common, "metric": "batch_applied_events_per_s", "value": round(applied, 1),
         "unit": "events/s", "drain_seconds_after_load": round(backlog, 2),
         "baseline": "batch_events_per_s", "ratio": round(applied / events, 4)},
        {**common, "metric": "track_p99_ms", "value": round(track["p99_ms"], 2), "unit": "ms",
         "p50_ms": round(track["p50_ms"], 2), "target": 50,
         "requests_per_s": round(track["requests"] / track["seconds"], 1),
         "failed_requests": track["failures"], "baseline": "health_requests_per_s",
         "ratio": round(track["p99_ms"] / max(health["p99_ms"], 1e-9), 2)},
    ]


def _identifies(contacts: int, stamp: str) -> Iterator[list[dict[str, Any]]]:
    """The world's people, each identified once (with their account), 500 a batch."""
    for start in range(0, contacts, 500):
        batch = []
        for c in range(start, min(start + 500, contacts)):
            email, _, domain = world_contact(c)
            batch.append({"type": "identify", "messageId": f"known-{c}", "userId": email,
                          "timestamp": stamp, "traits": {"email": email, "website": domain}})
        yield batch


def _file_ingest(url: str, contacts: int, messages: list[dict[str, Any]],
                 profile: str | None = None) -> float:
    """Seconds to ingest `messages` in-process (groups of 5,000) into a fresh store at `url`
    that knows the world's people: the baseline of the end-to-end rate. With `profile`, a
    cProfile of that ingest (CPU time: a loaded machine does not skew it) goes there."""
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        init_workspace(Path(folder), now=now, database_url=url)
    engine = connect(url)
    rules = Settings(database_url=url).identity_rules()  # what the server applies with
    try:
        for batch in _identifies(contacts, now.isoformat()):
            ingest_messages(engine, batch, rules=rules, now=now, source="bench")
        profiler = cProfile.Profile(time.process_time) if profile else None
        began = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for start in range(0, len(messages), 5000):
            ingest_messages(engine, messages[start:start + 5000], rules=rules, now=now,
                            source="bench")
        took = time.perf_counter() - began
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        return took
    finally:
        engine.dispose()


def _measure_world(url: str, baseline_url: str, seconds: float, concurrency: int,
                   contacts: int, profile: str | None = None, servers: int = 1
                   ) -> list[dict[str, Any]]:
    """The realistic world through `servers` servers on the store at `url` (several: a
    PostgreSQL store they share, the load split evenly over them)."""
    with ExitStack() as stack:
        running = [stack.enter_context(_server(url)) for _ in range(servers)]
        base, key, reader = running[0]
        stamp = datetime.now(UTC).isoformat()
        with httpx.Client(base_url=base, timeout=120, auth=(key, "")) as client:
            for batch in _identifies(contacts, stamp):
                client.post("/v1/batch", json={"batch": batch}).raise_for_status()
        _applied(base, reader)
        began = time.perf_counter()
        with ThreadPoolExecutor(servers) as pool:  # each a load generator process
            loads = list(pool.map(lambda s: _load(s[0], "world", seconds,
                                                  max(1, concurrency // servers), s[1],
                                                  contacts), running))
        backlog = _applied(base, reader)
        total = time.perf_counter() - began
    sent = sum(load["requests"] for load in loads) * 100
    stamp = datetime.now(UTC).isoformat()
    ingest = _file_ingest(baseline_url, contacts, [world_message(n, stamp, contacts)
                                                   for n in range(sent)], profile)
    applied, ingested = sent / total, sent / ingest
    load_seconds = max(load["seconds"] for load in loads)
    return [{"bench": "api", "metric": "world_applied_events_per_s", "value": round(applied, 1),
             "unit": "events/s", "backend": url.split(":", 1)[0].split("+", 1)[0],
             "servers": servers, "contacts": contacts, "accounts": min(contacts, 5000),
             "events": sent, "acknowledged_events_per_s": round(sent / load_seconds, 1),
             "failed_requests": sum(load["failures"] for load in loads),
             "drain_seconds_after_load": round(backlog, 2),
             "target": 10000, "baseline": "file_ingest_events_per_s",
             "file_ingest_events_per_s": round(ingested, 1),
             "ratio": round(applied / ingested, 4)}]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        if not args.api_world_only:
            results += _measure(args.api_db or f"sqlite:///{folder}/mql.db", args.api_seconds,
                                args.api_concurrency)
        if args.api_world_contacts and not args.api_db:
            results += _measure_world(f"sqlite:///{folder}/world.db",
                                      f"sqlite:///{folder}/baseline.db", args.api_seconds,
                                      args.api_concurrency, args.api_world_contacts,
                                      args.api_profile)
    if args.api_postgres:
        from tests.postgres import Cluster, _binary

        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise SystemExit("--api-postgres needs PostgreSQL's initdb and pg_ctl")
        cluster = Cluster(initdb, pg_ctl)
        try:
            if not args.api_world_only:
                results += _measure(cluster.new_database(), args.api_seconds,
                                    args.api_concurrency)
            if args.api_world_contacts:  # one server, then two sharing the store
                for servers in (1, 2):
                    results += _measure_world(cluster.new_database(), cluster.new_database(),
                                              args.api_seconds, args.api_concurrency,
                                              args.api_world_contacts, servers=servers)
        finally:
            cluster.stop()
    return results
