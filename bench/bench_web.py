"""Server time of the web pages against the JSON API for the same data, in the same run.

A SQLite store is filled through the ingest path (accounts, contacts, events: states,
decisions and hand-offs as for any ingest): `--web-contacts` contacts at companies of ten
each, with a demo request from one in fifty (MQLs routed to sales teams) and page views
from the rest. Then `mql serve` runs on 127.0.0.1 and each page is asked `--web-rounds`
times, signed in as an admin (every MQL in the queue), against the API calls that return
the same data:

- the queue (`GET /queue`) against `GET /v1/leads?stage=mql&limit=500`;
- a lead page (`GET /leads/{email}`) against `GET /v1/leads/{email}`, its `/scores` and its
  `/history` (what the page shows: decision, ledger, score history, lifecycle).

`*_ms` is the median time to the whole answer (server time: the client is on the same
machine); `ratio` = page / API.

    python -m bench --only web --web-contacts 100000   # the issue's size (slow to build)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from mql.identity.merge import IdentityRules
from mql.records import Account, Contact, Event
from mql.service.ingest import ingest_records
from mql.service.keys import create_key
from mql.service.store import init_workspace
from mql.store.db import connect

SECRET = "bench-web-secret"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("web")
    group.add_argument("--web-contacts", type=int, default=20_000,
                       help="contacts of the store (default 20,000; the issue asks 100,000)")
    group.add_argument("--web-rounds", type=int, default=15,
                       help="requests per page and API call (the median is reported)")


def _records(contacts: int, now: datetime) -> tuple[list[Account], list[Contact], list[Event]]:
    accounts = [Account(f"co{a}.example", {"employees": 3000 if a % 3 else 200,
                                           "industry": "software", "country": "US",
                                           "region": ("NA", "EMEA", "APAC")[a % 3]})
                for a in range((contacts + 9) // 10)]
    people, events = [], []
    for c in range(contacts):
        email = f"p{c}@co{c // 10}.example"
        hand_raiser = c % 50 == 0
        people.append(Contact(email, f"co{c // 10}.example", {
            "title": "VP Marketing" if hand_raiser else "Engineer",
            "department": "marketing" if hand_raiser else "engineering", "country": "US"}))
        at = now - timedelta(hours=1 + c % 40)
        kind = "demo_request" if hand_raiser else "page_view"
        events.append(Event(uuid.uuid4().hex, kind, at, email, None,
                            {} if hand_raiser else {"path": f"/docs/{c % 7}"}))
    return accounts, people, events


def _chunks(items: list[Any], size: int = 5_000) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _build(folder: Path, contacts: int, now: datetime) -> tuple[str, float]:
    url = init_workspace(folder, now=now).database_url
    engine = connect(url)
    started = time.perf_counter()
    try:
        rules = IdentityRules()
        accounts, people, events = _records(contacts, now)
        for kind, rows in (("accounts", accounts), ("contacts", people), ("events", events)):
            for part in _chunks(rows):
                ingest_records(engine, kind, part, rules=rules, now=now,  # type: ignore[arg-type]
                               source="bench")
    finally:
        engine.dispose()
    return url, time.perf_counter() - started


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MQL_DATABASE_URL": url, "MQL_SECRET_KEY": SECRET,
           "MQL_API_RATE_PER_SECOND": "1000000", "MQL_API_RATE_BURST": "1000000"}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "mql", "serve", "--port", str(port),
                                   "--no-access-log"], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("mql serve did not start: "
                               + log.read_text(errors="replace")[-2000:])
        time.sleep(0.1)


def _median_ms(call: Callable[[], None], rounds: int) -> float:
    call()  # warm: caches, compiled model
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def _get(client: httpx.Client, path: str) -> None:
    answer = client.get(path)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    import socket

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="mql-bench-web-") as folder:
        url, build_s = _build(Path(folder), args.web_contacts, now)
        engine = connect(url)
        token = create_key(engine, kind="token", name="bench-admin", role="admin", team=None,
                           server_secret=SECRET, actor="bench", now=now).secret
        engine.dispose()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = _serve(url, port, Path(folder) / "serve.log")
        base = f"http://127.0.0.1:{port}"
        try:
            api = httpx.Client(base_url=base, timeout=300,
                               headers={"Authorization": f"Bearer {token}"})
            web = httpx.Client(base_url=base, timeout=300)
            form = web.get("/signin").text
            marker = 'name="csrf" value="'
            start = form.index(marker) + len(marker)
            web.post("/signin", data={"token": token, "csrf": form[start:form.index('"', start)]})
            queue = web.get("/queue").text
            mqls = queue.count('data-stage="mql"')
            lead = "p0@co0.example"
            rounds = args.web_rounds
            queue_ms = _median_ms(lambda: _get(web, "/queue"), rounds)
            queue_api_ms = _median_ms(lambda: _get(api, "/v1/leads?stage=mql&limit=500"), rounds)
            lead_ms = _median_ms(lambda: _get(web, f"/leads/{lead}"), rounds)

            def lead_api() -> None:
                for path in ("", "/scores", "/history"):
                    _get(api, f"/v1/leads/{lead}{path}")

            lead_api_ms = _median_ms(lead_api, rounds)
            api.close()
            web.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    size = {"contacts": args.web_contacts, "mqls_in_queue": mqls,
            "build_seconds": round(build_s, 1)}
    return [
        {"bench": "web", "metric": "queue_ms", "value": round(queue_ms, 1), "unit": "ms",
         "baseline": round(queue_api_ms, 1), "ratio": round(queue_ms / queue_api_ms, 2),
         **size},
        {"bench": "web", "metric": "lead_page_ms", "value": round(lead_ms, 1), "unit": "ms",
         "baseline": round(lead_api_ms, 1), "ratio": round(lead_ms / lead_api_ms, 2), **size},
    ]
