"""The HTTP API under load: events per second through `/v1/batch` (100 events a request)
into SQLite, and p50/p99 latency of single `/v1/track` calls at 16 concurrent connections,
against the same server's `/health` (no store, no key: the ceiling of the HTTP stack) in
the same run. The server runs as its own process (`mql serve` equivalent on 127.0.0.1);
the load comes from an httpx async client in this process, for a bounded time. The
events come from 500 known contacts (created during the warm-up): the steady state of a
site's traffic; first sightings cost identity resolution and are slower.

    python -m bench --only api                       # 5 s per phase, SQLite
    python -m bench --only api --api-seconds 15 --api-db postgresql://user@host/db
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mql.service.keys import create_key
from mql.service.store import init_workspace
from mql.store.db import connect

SECRET = "bench-secret"
_SERVER = ("import sys, uvicorn; from mql.api.app import create_app; "
           "from mql.settings import Settings; "
           "uvicorn.run(create_app(Settings()), host='127.0.0.1', port=int(sys.argv[1]), "
           "log_level='warning', access_log=False, ws='none')")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("api")
    group.add_argument("--api-seconds", type=float, default=5.0,
                       help="seconds of load per phase (default 5)")
    group.add_argument("--api-concurrency", type=int, default=16,
                       help="concurrent connections (default 16)")
    group.add_argument("--api-db", default=None,
                       help="database URL (default: a fresh SQLite workspace)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONTACTS = 500  # known visitors: created during the warm-up, then events only


def _track(n: int) -> dict[str, Any]:
    return {"type": "track", "messageId": uuid.uuid4().hex,
            "userId": f"u{n % CONTACTS}@co{n % 100}.example",
            "event": ("Page Viewed", "Pricing Viewed", "Webinar Attended")[n % 3],
            "timestamp": datetime.now(UTC).isoformat(), "properties": {"n": n}}


async def _load(seconds: float, concurrency: int, call: Callable[[int], Awaitable[int]]
                ) -> tuple[int, list[float], int]:
    """(requests done, latencies in seconds, non-2xx answers) of `concurrency` loops."""
    counter = itertools.count()
    latencies: list[float] = []
    failures = 0
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal failures
        while time.perf_counter() < stop:
            start = time.perf_counter()
            status = await call(next(counter))
            latencies.append(time.perf_counter() - start)
            if status >= 300:
                failures += 1

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return len(latencies), latencies, failures


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


async def _measure(base: str, key: str, seconds: float, concurrency: int
                   ) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, auth=(key, ""), limits=limits,
                                 timeout=60) as client:
        async def health(_n: int) -> int:
            return (await client.get("/health")).status_code

        async def batch(n: int) -> int:
            body = {"batch": [_track(n * 100 + i) for i in range(100)]}
            return (await client.post("/v1/batch", json=body)).status_code

        async def track(n: int) -> int:
            return (await client.post("/v1/track", json=_track(10_000_000 + n))).status_code

        # warm-up: every contact once (new contacts cost identity resolution), connections
        for start in range(0, CONTACTS, 100):
            await batch(start // 100)
        await _load(1.0, concurrency, track)
        h_n, h_lat, _ = await _load(seconds, concurrency, health)
        b_n, _, b_fail = await _load(seconds, concurrency, batch)
        t_n, t_lat, t_fail = await _load(seconds, concurrency, track)
    health_rps = h_n / seconds
    events = b_n * 100 / seconds
    track_rps = t_n / seconds
    common = {"bench": "api", "concurrency": concurrency, "seconds": seconds}
    return [
        {**common, "metric": "health_requests_per_s", "value": round(health_rps, 1),
         "unit": "req/s", "p50_ms": round(_pct(h_lat, 50), 2),
         "p99_ms": round(_pct(h_lat, 99), 2)},
        {**common, "metric": "batch_events_per_s", "value": round(events, 1),
         "unit": "events/s", "failed_requests": b_fail,
         "baseline": round(health_rps * 100, 1), "ratio": round(events / (health_rps * 100), 4)},
        {**common, "metric": "track_p99_ms", "value": round(_pct(t_lat, 99), 2), "unit": "ms",
         "p50_ms": round(_pct(t_lat, 50), 2), "requests_per_s": round(track_rps, 1),
         "failed_requests": t_fail, "baseline": round(_pct(h_lat, 99), 2),
         "ratio": round(_pct(t_lat, 99) / max(_pct(h_lat, 99), 1e-9), 2)},
    ]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        now = datetime.now(UTC)
        if args.api_db:
            url = args.api_db
            engine = connect(url)
            from mql.service.store import migrate
            migrate(engine)
            engine.dispose()
        else:
            url = init_workspace(Path(folder), now=now).database_url
        engine = connect(url)
        key = create_key(engine, kind="write_key", name="bench", role=None, team=None,
                         server_secret=SECRET, actor="bench", now=now).secret
        engine.dispose()
        port = _free_port()
        env = {**os.environ, "MQL_DATABASE_URL": url, "MQL_SECRET_KEY": SECRET,
               "MQL_API_RATE_PER_SECOND": "1000000", "MQL_API_RATE_BURST": "1000000"}
        server = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the API server did not start")
                time.sleep(0.1)
            results = asyncio.run(_measure(base, key, args.api_seconds, args.api_concurrency))
        finally:
            server.terminate()
            server.wait(timeout=30)
    backend = url.split(":", 1)[0]
    return [{**r, "backend": backend} for r in results]
