"""The worker: lifecycle transitions per second when many MQLs fall due at once, against
re-deciding the same contacts without the hand-off (the scoring alone) in the same run;
and the latency from a qualifying event to its webhook reaching a receiver on 127.0.0.1.

Measured on SQLite, two cores shared with other work (compare ratios within a run; the
baseline is short and itself varies between 9,000 and 16,000 decides/s):

- move by move (one statement per history row, stage, closed assignment, outbox row):
  690-910 transitions/s at 2,000 contacts, ratio 0.06-0.08.
- batched (`store.handoff.Moves`, one flush per 500 contacts; routing reads once per
  batch): 1,200-1,950 transitions/s at 2,000 contacts, ratio 0.07-0.22 (0.13-0.15 in
  most runs); 2,650/s at 500 contacts.
- 100,000 contacts: 1,500 transitions/s, ratio 0.117; the whole run (setup ingest
  included) 4 min 21 s, peak RSS 1.4 GB (the setup: every record, event and state in
  memory at once; the worker itself holds one batch of 500).
- 1,000,000 contacts: not run; by extrapolation about 11 minutes of due transitions and
  about 45 minutes in all, with a peak near 14 GB from the setup.

The ratio stays far below 1 because `decide` is most of what is left (about 70% of a
profile): the worker decides each contact at its due moment, where it still qualifies,
so the exit crossing and `qualified_until` are solved, and a recycled contact is decided
a second time on its emptied state (`requalify: fresh_intent`); the baseline decides at
T0 + 60 days without the account, where nothing qualifies.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mql.identity.merge import IdentityRules
from mql.records import Account, Contact, Event
from mql.service import lifecycle, state
from mql.service.ingest import ingest_records
from mql.service.store import init_workspace
from mql.store import handoff
from mql.store.db import connect

T0 = datetime(2026, 3, 2, 15, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("worker")
    group.add_argument("--worker-contacts", type=int, default=2000,
                       help="MQLs that fall due together (default 2000)")
    group.add_argument("--worker-latency-samples", type=int, default=50,
                       help="qualifying events timed end to end to their webhook (default 50)")


def _world(n: int) -> tuple[list[Account], list[Contact], list[Event]]:
    firmographics = {"employees": 800, "industry": "software", "region": "NA", "country": "US"}
    accounts = [Account(f"a{i}.example", firmographics) for i in range(n // 4 + 1)]
    contacts = [Contact(f"p{i}@a{i // 4}.example", f"a{i // 4}.example",
                        {"seniority": "vp", "department": "it", "country": "US"})
                for i in range(n)]
    events = [Event(f"d{i}", "demo_request", T0, contact=c.email) for i, c in enumerate(contacts)]
    return accounts, contacts, events


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    n = args.worker_contacts
    rules = IdentityRules()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp), now=T0)
        engine = connect(ws.database_url)
        accounts, contacts, events = _world(n)
        ingest_records(engine, "accounts", accounts, rules=rules, now=T0, source="bench")
        ingest_records(engine, "contacts", contacts, rules=rules, now=T0, source="bench")
        ingest_records(engine, "events", events, rules=rules, now=T0, source="bench")
        with engine.connect() as conn:
            due = handoff.next_due(conn)
            ids = handoff.due_contacts(conn, T0 + timedelta(days=400), n)
            live = state.live_model(conn)
            states = state.contact_states(conn, live, ids)
        assert due is not None
        # baseline: re-deciding the same contacts with the scoring core alone
        start = time.perf_counter()
        for s in states.values():
            live.qualifier.decide(contacts[0], None, s, s, T0 + timedelta(days=60))
        baseline = len(states) / (time.perf_counter() - start)
        start = time.perf_counter()
        moved = 0
        while True:
            done = lifecycle.run_due(engine, now=T0 + timedelta(days=400))
            moved += done
            if done == 0:
                break
        rate = moved / (time.perf_counter() - start)
        results.append({"bench": "worker", "metric": "due_transitions", "value": round(rate),
                        "unit": "transitions/s", "baseline": round(baseline),
                        "ratio": round(rate / baseline, 3), "contacts": n,
                        "baseline_is": "decide() alone, no store"})
        engine.dispose()

        # latency: qualifying event -> webhook received on 127.0.0.1
        arrived: dict[str, float] = {}

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                del body
                arrived[self.headers["X-MQL-Delivery"]] = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ws2 = init_workspace(Path(tmp) / "lat", now=T0)
        engine = connect(ws2.database_url)
        lifecycle.add_webhook(engine, f"http://127.0.0.1:{server.server_address[1]}/",
                              secret="s", topics=["mql.qualified"], now=T0)
        ingest_records(engine, "accounts", accounts[:1], rules=rules, now=T0, source="bench")
        # a steady ingest load beside the measured events: batches of 100 page views
        stop = threading.Event()
        loaded = [0]

        def load() -> None:
            k = 0
            while not stop.is_set():
                batch = [Event(f"load{k}-{j}", "page_view", T0, contact=f"visitor{j}@a1.example",
                               properties={"url": "/blog"}) for j in range(100)]
                ingest_records(engine, "events", batch, rules=rules, now=T0, source="load")
                loaded[0] += len(batch)
                k += 1

        ingest_records(engine, "contacts", [Contact(f"visitor{j}@a1.example", "a1.example", {})
                                            for j in range(100)], rules=rules, now=T0,
                       source="bench")
        loader = threading.Thread(target=load, daemon=True)
        started = time.perf_counter()
        loader.start()
        latencies = []
        for i in range(args.worker_latency_samples):
            who = Contact(f"late{i}@a0.example", "a0.example", {"seniority": "vp"})
            ingest_records(engine, "contacts", [who], rules=rules, now=T0, source="bench")
            sent = time.perf_counter()
            ingest_records(engine, "events", [Event(f"q{i}", "demo_request", T0,
                                                    contact=who.email)],
                           rules=rules, now=T0, source="bench")
            before = len(arrived)
            lifecycle.run_deliveries(engine, clock=lambda: T0)
            if len(arrived) > before:
                latencies.append((max(arrived.values()) - sent) * 1000)
        stop.set()
        loader.join()
        load_rate = loaded[0] / (time.perf_counter() - started)
        server.shutdown()
        server.server_close()
        engine.dispose()
        if latencies:
            latencies.sort()
            results.append({
                "bench": "worker", "metric": "event_to_webhook_latency", "unit": "ms",
                "value": round(statistics.median(latencies), 2),
                "p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * .99))], 2),
                "samples": len(latencies), "background_ingest_events_per_s": round(load_rate),
                "note": "ingest transaction + one worker delivery pass, beside a steady ingest",
            })
    return results
